// The worst paths of a cell (tail_paths.csv): a bounded set whose contents do not depend on
// the order the paths arrive in, so that threads, chunks, shards and resumed runs agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace caprisk {

struct TailPath {
  double value = 0;
  std::uint64_t path = 0;
};

/// a is worse than b: a larger value, or the same value and a smaller path ID. A total order,
/// so the k worst of any set of paths are one set.
inline bool worse(const TailPath& a, const TailPath& b) {
  return a.value > b.value || (a.value == b.value && a.path < b.path);
}

/// The `capacity` worst paths seen, worst first.
class WorstPaths {
 public:
  explicit WorstPaths(std::size_t capacity = 0) : capacity_(capacity) { kept_.reserve(capacity); }
  void add(double value, std::uint64_t path);
  void merge(const WorstPaths& other);
  const std::vector<TailPath>& worst_first() const { return kept_; }
  std::size_t capacity() const { return capacity_; }
  /// For a state file's loader: replaces the contents (must be sorted, distinct, at most the
  /// capacity; checked by the caller).
  void assign(std::vector<TailPath> kept) { kept_ = std::move(kept); }

 private:
  std::size_t capacity_;
  std::vector<TailPath> kept_;
};

}  // namespace caprisk
