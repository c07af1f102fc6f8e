// The device reduction (host/reduce/reduce_thrust.h) run under thrust::omp::par must give the same
// tables as the host reduction: the CUDA backend runs this very code with thrust::cuda::par.
#include <gtest/gtest.h>
#include <thrust/gather.h>
#include <thrust/system/omp/execution_policy.h>

#include "host/config/flatten.h"
#include "host/config/pinned_inputs.h"
#include "host/reduce/reduce_thrust.h"
#include "host/reduce/streaming.h"
#include "host/run/backend_cpu.h"
#include "host/run/batch.h"
#include "test_support.h"

namespace caprisk {
namespace {

TEST(ReduceThrust, MatchesTheHostReductionOnTheDefaultScenario) {
  Scenario scenario = load_scenario(testing::source_path("configs/stargate.yaml"));
  scenario.paths = 5001;  // odd: exercises the interpolation and the tail count
  scenario.percentiles = {0, 1, 2.5, 50, 95, 99.9, 100};
  testing::Simulation host_run(scenario, 2);
  testing::Simulation thrust_run(scenario, 2);
  const PathLayout layout = host_run.layout();
  const RunResults expected = reduce(host_run.samples, scenario.percentiles, 2);
  const RunResults actual = reduce_with_policy(
      thrust::omp::par, thrust_run.samples.column(0), thrust_run.samples.codes(0), layout,
      scenario.paths, scenario.percentiles, [&](const double* column, std::vector<double>& out) {
        // As the CUDA backend gathers them: one thrust::gather of every needed rank.
        const std::vector<std::uint64_t> ranks = needed_ranks(scenario.paths, scenario.percentiles);
        thrust::gather(thrust::omp::par, ranks.begin(), ranks.end(), column, out.begin());
      });

  ASSERT_EQ(actual.cells.size(), expected.cells.size());
  for (std::size_t cell = 0; cell < expected.cells.size(); ++cell) {
    const CellStatistics& a = actual.cells[cell];
    const CellStatistics& e = expected.cells[cell];
    // Order statistics come from the same sorted values: identical bits.
    for (std::size_t q = 0; q < e.percentiles.size(); ++q) {
      EXPECT_EQ(a.percentiles[q].value, e.percentiles[q].value) << "cell " << cell;
      EXPECT_EQ(a.percentiles[q].ci_low, e.percentiles[q].ci_low);
      EXPECT_EQ(a.percentiles[q].ci_high, e.percentiles[q].ci_high);
    }
    EXPECT_EQ(a.p_positive, e.p_positive);
    // Sums are taken in a different order: equal to rounding.
    EXPECT_NEAR(a.mean, e.mean, 1e-12 * (1 + std::fabs(e.mean))) << "cell " << cell;
    EXPECT_NEAR(a.sd, e.sd, 1e-9 * (1 + e.sd)) << "cell " << cell;
    EXPECT_NEAR(a.cvar95, e.cvar95, 1e-12 * (1 + e.cvar95)) << "cell " << cell;
    EXPECT_NEAR(a.cvar95_ci_high, e.cvar95_ci_high, 1e-9 * (1 + e.cvar95)) << "cell " << cell;
  }
  EXPECT_EQ(actual.binding_counts, expected.binding_counts);
  EXPECT_EQ(actual.censored_counts, expected.censored_counts);
}

/// Every path's outputs (values, static draws, codes) of a run that keeps worst paths and
/// tail drivers, as the pipeline's spec has them.
struct RunOutputs {
  explicit RunOutputs(std::uint64_t paths)
      : scenario(load_scenario(testing::source_path("configs/stargate.yaml"))),
        flat((scenario.paths = paths, scenario)),
        spec(flat.reduction_spec()) {
    spec.tail_paths = 20;
    spec.static_bounds = static_bounds(scenario);
    values.resize(static_cast<std::size_t>(output_columns(spec)) * paths);
    codes.resize(static_cast<std::size_t>(spec.code_cells()) * paths);
    simulate_cpu(flat, scenario.seed, 0, paths,
                 chunk_output(spec, values.data(), codes.data(), paths), 2, nullptr);
  }
  /// Paths [first, first + count) as a chunk (stride count).
  void chunk(std::uint64_t first, std::uint64_t count, std::vector<double>& v,
             std::vector<std::uint8_t>& c) const {
    const std::uint64_t n = scenario.paths;
    v.resize(static_cast<std::size_t>(output_columns(spec)) * count);
    c.resize(static_cast<std::size_t>(spec.code_cells()) * count);
    for (int k = 0; k < output_columns(spec); ++k)
      std::copy_n(values.data() + k * n + first, count, v.data() + k * count);
    for (int k = 0; k < spec.code_cells(); ++k)
      std::copy_n(codes.data() + k * n + first, count, c.data() + k * count);
  }
  Scenario scenario;
  FlatScenario flat;
  ReductionSpec spec;
  std::vector<double> values;
  std::vector<std::uint8_t> codes;
};

/// The first pass of one chunk as the CUDA backend adds it: the root bins through
/// first_pass_bins_with_policy (here under OpenMP), the rest through add_chunk with the
/// columns of the cells with percentiles, other than the tail cells, left as NaN.
void add_filled_chunk(StreamingReducer& reducer, const ReductionSpec& spec, std::vector<double> v,
                      const std::vector<std::uint8_t>& c, std::uint64_t count,
                      std::uint64_t first) {
  const FirstPassTable table = reducer.first_pass_table();
  const int cells = static_cast<int>(table.cells.size());
  std::vector<double> consumed(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(cells * count));
  std::vector<std::uint32_t> keys(consumed.size());
  const std::size_t room = std::min<std::size_t>(consumed.size(), cells * (table.stride + 1ULL));
  std::vector<std::uint32_t> keys_out(room);
  std::vector<BinSums> sums_out(room);
  const std::size_t k = first_pass_bins_with_policy(
      thrust::omp::par, consumed.data(), count, cells, table.cells.data(), table.edges.data(),
      table.stride, keys.data(), keys_out.data(), sums_out.data());
  reducer.add_first_pass_bins(keys_out.data(), sums_out.data(), k);
  const std::vector<int> tails = spec.tail_cells();
  for (int cell = 0; cell < cells; ++cell)
    if (std::find(tails.begin(), tails.end(), cell) == tails.end())
      std::fill_n(v.begin() + cell * count, count, std::nan(""));
  reducer.add_chunk(v.data(), c.data(), count, count, 2, first, true);
}

TEST(ReduceThrust, RootBinsFilledByThePolicyLeaveTheReducerAsTheHostDoes) {
  const RunOutputs run(9000);
  const std::uint64_t n = run.scenario.paths;
  std::vector<double> v;
  std::vector<std::uint8_t> c;
  for (const bool placed : {true, false}) {  // bins from a pilot, and the equal bins
    SCOPED_TRACE(placed ? "pilot-placed bins" : "equal bins");
    StreamingReducer host(run.spec, n, limits_for(run.spec));
    StreamingReducer filled(run.spec, n, limits_for(run.spec));
    if (placed) {
      host.place_root_bins(run.values.data(), 2000, n);
      filled.place_root_bins(run.values.data(), 2000, n);
    }
    for (std::uint64_t first = 0; first < n; first += 4000) {
      const std::uint64_t count = std::min<std::uint64_t>(4000, n - first);
      run.chunk(first, count, v, c);
      host.add_chunk(v.data(), c.data(), count, count, 2, first);
      add_filled_chunk(filled, run.spec, v, c, count, first);
    }
    EXPECT_FALSE(host.finish_pass());
    EXPECT_FALSE(filled.finish_pass());
    // The whole state, byte for byte: counts, extremes, fixed-point sums, worst paths, plan.
    ASSERT_TRUE(host.serialized() == filled.serialized());  // (not printed: megabytes)
    for (StreamingReducer* reducer : {&host, &filled}) {
      bool done = false;
      while (!done) {
        for (std::uint64_t first = 0; first < n; first += 4000) {
          const std::uint64_t count = std::min<std::uint64_t>(4000, n - first);
          run.chunk(first, count, v, c);
          reducer->add_chunk(v.data(), c.data(), count, count, 2, first);
        }
        done = reducer->finish_pass();
      }
    }
    EXPECT_TRUE(host.serialized() == filled.serialized());
    const RunResults a = host.results(), b = filled.results();
    ASSERT_EQ(a.cells.size(), b.cells.size());
    for (std::size_t cell = 0; cell < a.cells.size(); ++cell) {
      EXPECT_EQ(a.cells[cell].mean, b.cells[cell].mean);
      EXPECT_EQ(a.cells[cell].p95, b.cells[cell].p95);
      EXPECT_EQ(a.cells[cell].cvar95_ci_high, b.cells[cell].cvar95_ci_high);
    }
  }
}

TEST(ReduceThrust, AFilledValueOutsideItsCellsRangeIsRefused) {
  const RunOutputs run(500);
  std::vector<double> v;
  std::vector<std::uint8_t> c;
  run.chunk(0, 500, v, c);
  v[3 * 500 + 17] = -1.0;  // cell 3
  StreamingReducer reducer(run.spec, 500, limits_for(run.spec));
  try {
    add_filled_chunk(reducer, run.spec, v, c, 500, 0);
    FAIL() << "a negative value was binned";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("value cell 3 received a value outside"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace caprisk
