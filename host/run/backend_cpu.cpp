#include "host/run/backend_cpu.h"

#include <omp.h>

#include <algorithm>

#include "host/run/simd_batch.h"
#include "kernels/model.h"

namespace caprisk {

void simulate_cpu(const FlatScenario& scenario, std::uint64_t seed, std::uint64_t first,
                  std::uint64_t count, const PathOutput& out, int threads,
                  const ProgressCallback& progress) {
  const ScenarioView& view = scenario.view();
  const int thread_count = threads > 0 ? threads : omp_get_max_threads();
  const auto lanes = static_cast<std::uint64_t>(simd_target().lanes);
  constexpr std::uint64_t block = 1 << 16;  // progress granularity, a multiple of every width
  for (std::uint64_t begin = 0; begin < count; begin += block) {
    const std::uint64_t end = std::min(count, begin + block);
    const auto batches = static_cast<std::int64_t>((end - begin + lanes - 1) / lanes);
#pragma omp parallel num_threads(thread_count)
    {
      // Per thread: one batch's static draws, drawn path by path (the scalar part), then the
      // months of every lane at once.
      PathStatics draws[max_batch_lanes];
      FactorUniforms factors;
#pragma omp for schedule(dynamic, 32)
      for (std::int64_t b = 0; b < batches; ++b) {
        const std::uint64_t o = begin + static_cast<std::uint64_t>(b) * lanes;
        const PathOutput at{out.values + o, out.codes + o, out.stride,
                            out.statics != nullptr ? out.statics + o : nullptr};
        if (o + lanes <= end) {
          for (std::uint64_t l = 0; l < lanes; ++l)
            sample_statics(view, seed, first + o + l, factors, draws[l]);
          simulate_batch(view, seed, first + o, draws, at);
        } else {
          for (std::uint64_t p = o; p < end; ++p)
            simulate_path(view, seed, first + p,
                          PathOutput{out.values + p, out.codes + p, out.stride,
                                     out.statics != nullptr ? out.statics + p : nullptr});
        }
      }
    }
    if (progress) progress(end);
  }
}

}  // namespace caprisk
