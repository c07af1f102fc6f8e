// The device reduction (host/reduce/reduce_thrust.h) run under thrust::omp::par must give the same
// tables as the host reduction: the CUDA backend runs this very code with thrust::cuda::par.
#include <gtest/gtest.h>
#include <thrust/gather.h>
#include <thrust/system/omp/execution_policy.h>

#include "host/reduce/reduce_thrust.h"
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

}  // namespace
}  // namespace caprisk
