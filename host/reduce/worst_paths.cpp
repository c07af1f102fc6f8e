#include "host/reduce/worst_paths.h"

#include <algorithm>

namespace caprisk {

void WorstPaths::add(double value, std::uint64_t path) {
  const TailPath candidate{value, path};
  if (capacity_ == 0) return;
  if (kept_.size() == capacity_ && !worse(candidate, kept_.back())) return;
  kept_.insert(std::upper_bound(kept_.begin(), kept_.end(), candidate, worse), candidate);
  if (kept_.size() > capacity_) kept_.pop_back();
}

void WorstPaths::merge(const WorstPaths& other) {
  for (const TailPath& t : other.kept_) add(t.value, t.path);
}

}  // namespace caprisk
