#include "host/run/backend_cpu.h"

#include <omp.h>

#include <algorithm>

#include "kernels/model.h"

namespace caprisk {

void simulate_cpu(const FlatScenario& scenario, std::uint64_t seed, std::uint64_t first,
                  std::uint64_t count, const PathOutput& out, int threads,
                  const ProgressCallback& progress) {
  const ScenarioView& view = scenario.view();
  const int thread_count = threads > 0 ? threads : omp_get_max_threads();
  constexpr std::uint64_t block = 1 << 16;  // progress granularity
  for (std::uint64_t begin = 0; begin < count; begin += block) {
    const auto end = static_cast<std::int64_t>(std::min(count, begin + block));
#pragma omp parallel for num_threads(thread_count) schedule(dynamic, 256)
    for (auto offset = static_cast<std::int64_t>(begin); offset < end; ++offset) {
      const auto o = static_cast<std::uint64_t>(offset);
      simulate_path(view, seed, first + o, PathOutput{out.values + o, out.codes + o, out.stride,
                                                    out.statics != nullptr ? out.statics + o : nullptr});
    }
    if (progress) progress(static_cast<std::uint64_t>(end));
  }
}

}  // namespace caprisk
