#include "host/run/sensitivity.h"

#include <omp.h>

#include <cstdint>
#include <utility>

#include "host/errors.h"
#include "host/run/variants.h"
#include "kernels/model.h"

namespace caprisk {

ReductionSpec sensitivity_spec(const FlatScenario& base, std::size_t inputs) {
  const ReductionSpec& own = base.reduction_spec();
  ReductionSpec spec;
  spec.layout = own.layout;
  spec.percentiles = own.percentiles;
  spec.variants = 1;
  spec.difference_blocks = static_cast<int>(inputs) * 3;
  spec.moments_only = true;
  spec.upper = own.upper;
  // Pinning an input changes no target, horizon or report month, so every variant's cells
  // have the base's bounds U: a difference d lies in [-U, U], and U + d in [0, 2U].
  for (std::size_t k = 0; k < inputs * 3; ++k)
    for (double u : own.upper) spec.upper.push_back(2 * u);
  return spec;
}

ChunkSimulator sensitivity_simulator(ChunkSimulator base, std::vector<ChunkSimulator> pinned,
                                     const ReductionSpec& spec) {
  CAPRISK_EXPECTS(spec.variants == 1 && spec.moments_only &&
                      spec.difference_blocks == static_cast<int>(pinned.size() / 2) * 3 &&
                      pinned.size() % 2 == 0,
                  "a sensitivity simulator needs a low and a high variant per input");
  const PathLayout layout = spec.layout;
  std::vector<double> offsets(spec.upper.begin(), spec.upper.begin() + layout.value_count());
  return [base = std::move(base), pinned = std::move(pinned), layout,
          offsets = std::move(offsets)](std::uint64_t first, std::uint64_t count,
                                        const PathOutput& out) {
    const auto cells = static_cast<std::size_t>(layout.value_count());
    const std::uint64_t block = cells * out.stride;
    base(first, count, out);
    // The pinned variants' own outputs are scratch: only their differences are reduced.
    std::vector<double> low(cells * count), high(cells * count);
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()) * count + 1);
    for (std::size_t i = 0; i < pinned.size() / 2; ++i) {
      pinned[2 * i](first, count, PathOutput{low.data(), codes.data(), count});
      pinned[2 * i + 1](first, count, PathOutput{high.data(), codes.data(), count});
      double* at_low = out.values + (1 + 3 * i) * block;
      write_differences(low.data(), count, out.values, out.stride, at_low, out.stride, count,
                        offsets);
      write_differences(high.data(), count, out.values, out.stride, at_low + block, out.stride,
                        count, offsets);
      write_differences(high.data(), count, low.data(), count, at_low + 2 * block, out.stride,
                        count, offsets);
    }
  };
}

ChunkSimulator shared_draw_sensitivity_simulator(const FlatScenario& base,
                                                 std::vector<const FlatScenario*> pinned,
                                                 const std::vector<PinnedInput>& inputs,
                                                 std::uint64_t seed, int threads,
                                                 const ReductionSpec& spec) {
  CAPRISK_EXPECTS(pinned.size() == 2 * inputs.size() &&
                      spec.difference_blocks == static_cast<int>(inputs.size()) * 3,
                  "a sensitivity simulator needs a low and a high variant per input");
  const PathLayout layout = spec.layout;
  std::vector<double> offsets(spec.upper.begin(), spec.upper.begin() + layout.value_count());
  std::vector<int> columns;
  for (const PinnedInput& input : inputs) columns.push_back(input.column);
  return [&base, pinned = std::move(pinned), columns = std::move(columns), layout, seed, threads,
          offsets = std::move(offsets)](std::uint64_t first, std::uint64_t count,
                                        const PathOutput& out) {
    const auto cells = static_cast<std::size_t>(layout.value_count());
    const std::uint64_t block = cells * out.stride;
    const ScenarioView& view = base.view();
    const int thread_count = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel num_threads(thread_count)
    {
      // Per thread: one variant's outputs of one path (stride 1), scratch.
      std::vector<double> low(cells), high(cells);
      std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()) + 1);
#pragma omp for schedule(dynamic, 16)
      for (std::int64_t o = 0; o < static_cast<std::int64_t>(count); ++o) {
        const auto p = static_cast<std::uint64_t>(o);
        const std::uint64_t path = first + p;
        FactorUniforms factors;
        PathStatics draws;
        sample_statics(view, seed, path, factors, draws);
        simulate_from_statics(view, seed, path, draws,
                              PathOutput{out.values + p, out.codes + p, out.stride});
        for (std::size_t i = 0; i < columns.size(); ++i) {
          for (int side = 0; side < 2; ++side) {
            const ScenarioView& varied = pinned[2 * i + side]->view();
            PathStatics redrawn = draws;
            redraw_part(varied, seed, path, factors, columns[i], redrawn);
            simulate_from_statics(varied, seed, path, redrawn,
                                  PathOutput{side == 0 ? low.data() : high.data(), codes.data(), 1});
          }
          double* at_low = out.values + (1 + 3 * i) * block + p;
          write_differences(low.data(), 1, out.values + p, out.stride, at_low, out.stride, 1,
                            offsets);
          write_differences(high.data(), 1, out.values + p, out.stride, at_low + block,
                            out.stride, 1, offsets);
          write_differences(high.data(), 1, low.data(), 1, at_low + 2 * block, out.stride, 1,
                            offsets);
        }
      }
    }
  };
}

}  // namespace caprisk
