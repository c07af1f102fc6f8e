// The tail drivers (drivers.csv): exact against a brute-force tail of every path, in the
// passes the tables take, and naming a dominant input first.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "host/config/config.h"
#include "host/config/flatten.h"
#include "host/config/pinned_inputs.h"
#include "host/reduce/streaming.h"
#include "host/run/backend_cpu.h"
#include "host/run/batch.h"
#include "test_support.h"

namespace caprisk {
namespace {

/// Every path's outputs, values then static draws, as one chunk.
struct AllPaths {
  AllPaths(const FlatScenario& flat, const ReductionSpec& run_spec, std::uint64_t seed,
           std::uint64_t paths)
      : spec(run_spec), n(paths),
        values(static_cast<std::size_t>(output_columns(run_spec)) * paths),
        codes(static_cast<std::size_t>(run_spec.code_cells()) * paths) {
    simulate_cpu(flat, seed, 0, n, chunk_output(spec, values.data(), codes.data(), n), 2,
                 nullptr);
  }
  double value(int cell, std::uint64_t p) const { return values[cell * n + p]; }
  double draw(int column, std::uint64_t p) const {
    return values[(static_cast<std::uint64_t>(spec.value_cells()) + column) * n + p];
  }
  /// Streams the paths through `reducer` in chunks of `chunk`, every pass.
  int stream(StreamingReducer& reducer, std::uint64_t chunk) const {
    const int columns = output_columns(spec);
    std::vector<double> v(static_cast<std::size_t>(columns) * chunk);
    std::vector<std::uint8_t> c(static_cast<std::size_t>(spec.code_cells()) * chunk);
    for (;;) {
      for (std::uint64_t first = 0; first < n; first += chunk) {
        const std::uint64_t count = std::min(chunk, n - first);
        for (int k = 0; k < columns; ++k)
          std::copy_n(values.data() + k * n + first, count, v.data() + k * count);
        for (int k = 0; k < spec.code_cells(); ++k)
          std::copy_n(codes.data() + k * n + first, count, c.data() + k * count);
        reducer.add_chunk(v.data(), c.data(), count, count, 2, first);
      }
      if (reducer.finish_pass()) return reducer.pass();
    }
  }
  const ReductionSpec& spec;
  std::uint64_t n;
  std::vector<double> values;
  std::vector<std::uint8_t> codes;
};

ReductionSpec driver_spec(const Scenario& s, const FlatScenario& flat) {
  ReductionSpec spec = flat.reduction_spec();
  spec.tail_paths = 20;
  spec.static_bounds = static_bounds(s);
  return spec;
}

/// The tail of tail cell k by a full sort: its paths, the static means and binding counts.
void expect_brute_force(const AllPaths& all, const RunResults& r) {
  const ReductionSpec& spec = all.spec;
  const std::vector<int> cells = spec.tail_cells();
  ASSERT_EQ(r.drivers.size(), cells.size());
  const std::uint64_t n = all.n;
  for (std::size_t k = 0; k < cells.size(); ++k) {
    std::vector<double> sorted(n);
    for (std::uint64_t p = 0; p < n; ++p) sorted[p] = all.value(cells[k], p);
    std::sort(sorted.begin(), sorted.end());
    const double t = sorted[n - cvar_tail_count(n)];
    std::vector<std::uint64_t> tail;
    for (std::uint64_t p = 0; p < n; ++p)
      if (all.value(cells[k], p) >= t && all.value(cells[k], p) > 0) tail.push_back(p);
    const TailDrivers& d = r.drivers[k];
    EXPECT_EQ(d.threshold, t) << "tail " << k;
    ASSERT_EQ(d.paths, tail.size()) << "tail " << k;
    for (int j = 0; j < spec.static_columns(); ++j) {
      long double sum = 0;
      for (std::uint64_t p : tail) sum += all.draw(j, p);
      const double expected = tail.empty() ? 0.0 : static_cast<double>(sum / tail.size());
      // Fixed point: each draw within bound * 2^-41 of its quantum.
      EXPECT_NEAR(d.mean[static_cast<std::size_t>(j)], expected,
                  spec.static_bounds[static_cast<std::size_t>(j)] * 0x1p-39)
          << "tail " << k << " column " << j;
    }
    BindingCounts expected{};
    for (std::uint64_t p : tail)
      for (int site : spec.tail_sites(static_cast<int>(k)))
        for (int report = 0; report < spec.layout.report_count; ++report) {
          const int code = all.codes[spec.layout.binding(site, report) * n + p];
          if (code != binding_none) ++expected[code];
        }
    EXPECT_EQ(d.binding, expected) << "tail " << k;
  }
  // Every path's means and sds.
  for (int j = 0; j < spec.static_columns(); ++j) {
    long double sum = 0, squares = 0;
    for (std::uint64_t p = 0; p < n; ++p) sum += all.draw(j, p);
    const long double mean = sum / n;
    for (std::uint64_t p = 0; p < n; ++p) squares += (all.draw(j, p) - mean) * (all.draw(j, p) - mean);
    const double bound = spec.static_bounds[static_cast<std::size_t>(j)];
    EXPECT_NEAR(r.static_mean[static_cast<std::size_t>(j)], static_cast<double>(mean), bound * 0x1p-39);
    EXPECT_NEAR(r.static_sd[static_cast<std::size_t>(j)],
                static_cast<double>(std::sqrt(squares / (n - 1))), bound * 0x1p-30);
  }
}

TEST(TailDrivers, MatchABruteForceTailOfEveryEntityWhateverThePlan) {
  Scenario s = load_scenario(testing::source_path("configs/stargate.yaml"));
  s.paths = 12000;
  const FlatScenario flat(s);
  const ReductionSpec spec = driver_spec(s, flat);
  ASSERT_GT(spec.static_columns(), 0);
  const AllPaths all(flat, spec, s.seed, s.paths);
  // Tiny limits refine bins level after level, so the tails wait for their bins' children;
  // equal bins without a pilot; and the run's own pilot-placed bins.
  StreamingReducer tiny(spec, s.paths, {512, 16, 16, 0});
  const int tiny_passes = all.stream(tiny, 1000);
  EXPECT_GT(tiny_passes, 2);
  expect_brute_force(all, tiny.results());
  StreamingReducer equal(spec, s.paths, limits_for(spec));
  all.stream(equal, 4096);
  expect_brute_force(all, equal.results());
  StreamingReducer placed(spec, s.paths, limits_for(spec));
  placed.place_root_bins(all.values.data(), 3000, s.paths);
  all.stream(placed, 5000);
  expect_brute_force(all, placed.results());
  // The same sums whichever way: the integers do not depend on the plan.
  for (std::size_t k = 0; k < tiny.results().drivers.size(); ++k)
    EXPECT_EQ(tiny.results().drivers[k].mean, placed.results().drivers[k].mean);
}

TEST(TailDrivers, SurviveSavingMergingAndExtending) {
  Scenario s = load_scenario(testing::source_path("configs/minimal.yaml"));
  s.paths = 8000;
  const FlatScenario flat(s);
  const ReductionSpec spec = driver_spec(s, flat);
  const AllPaths all(flat, spec, s.seed, s.paths);
  StreamingReducer whole(spec, s.paths, {512, 16, 16, 0});
  all.stream(whole, 1000);
  // The same, saved and loaded after every chunk.
  auto reducer = std::make_unique<StreamingReducer>(spec, s.paths, StreamingLimits{512, 16, 16, 0});
  const int columns = output_columns(spec);
  const std::uint64_t chunk = 700;
  std::vector<double> v(static_cast<std::size_t>(columns) * chunk);
  std::vector<std::uint8_t> c(static_cast<std::size_t>(spec.code_cells()) * chunk);
  for (bool done = false; !done;) {
    for (std::uint64_t first = 0; first < s.paths; first += chunk) {
      const std::uint64_t count = std::min(chunk, s.paths - first);
      for (int k = 0; k < columns; ++k)
        std::copy_n(all.values.data() + k * s.paths + first, count, v.data() + k * count);
      for (int k = 0; k < spec.code_cells(); ++k)
        std::copy_n(all.codes.data() + k * s.paths + first, count, c.data() + k * count);
      reducer->add_chunk(v.data(), c.data(), count, count, 1, first);
      reducer = StreamingReducer::deserialized(reducer->serialized(), spec, "a test state");
    }
    done = reducer->finish_pass();
  }
  const RunResults a = whole.results(), b = reducer->results();
  ASSERT_EQ(a.drivers.size(), b.drivers.size());
  for (std::size_t k = 0; k < a.drivers.size(); ++k) {
    EXPECT_EQ(a.drivers[k].paths, b.drivers[k].paths);
    EXPECT_EQ(a.drivers[k].mean, b.drivers[k].mean);
    EXPECT_EQ(a.drivers[k].binding, b.drivers[k].binding);
  }
  EXPECT_EQ(a.static_mean, b.static_mean);
  EXPECT_EQ(a.static_sd, b.static_sd);
}

TEST(TailDrivers, ADominantInputIsNamedFirst) {
  // The minimal scenario with its one site's power delay wide (0 to 36 months) and the two
  // events that dominate it otherwise (Oracle failing to close, the power failing) switched
  // off: ALL's worst paths are the late ones, and drivers.csv says so first, far out.
  testing::TempDir dir;
  const auto run = testing::run_caprisk(
      "run " + testing::source_path("configs/minimal.yaml") +
      " --paths 20000 --quiet --out " + dir.file("out") +
      " --set 'sites[Abilene TX].power.delay_months={dist: uniform, min: 0, max: 36}'"
      " --set 'funding.deals[Oracle].close_probability=1'"
      " --set 'sites[Abilene TX].power.failure_probability=0'");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const testing::CsvTable t = testing::parse_csv(testing::read_text(dir.file("out/drivers.csv")));
  const std::size_t first = t.find({{"site", "ALL"}, {"kind", "input"}});
  EXPECT_EQ(t.text(first, "input"), "sites[Abilene TX].power.delay_months");
  EXPECT_GT(std::stod(t.text(first, "shift_sd")), 1.0);
  // The tail is the worst 5% (ties at its start included): at least ceil(0.05 n) paths.
  EXPECT_GE(std::stoull(t.text(first, "tail_paths")), 1000u);
  // Uniform(0, 36): mean 18, sd 36 / sqrt(12) over every path, within 5 standard errors.
  const double se = 36 / std::sqrt(12.0) / std::sqrt(20000.0);
  ASSERT_LT(se, 0.08);
  EXPECT_NEAR(std::stod(t.text(first, "mean_all")), 18.0, 5 * se);
  EXPECT_NEAR(std::stod(t.text(first, "sd_all")), 36 / std::sqrt(12.0), 0.05);
}

}  // namespace
}  // namespace caprisk
