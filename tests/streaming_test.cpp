// The bounded-memory reduction against the full sort: exact order statistics (bit for bit),
// independence of chunking and threads, checkpoint round trips, and the memory bound.
#include "host/reduce/streaming.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sstream>

#include "test_support.h"

namespace caprisk {
namespace {

/// Feeds the simulation's outputs to a reducer in chunks of `chunk` paths until it finishes;
/// returns the number of passes.
int stream(testing::Simulation& sim, StreamingReducer& reducer, std::uint64_t chunk, int threads) {
  const PathLayout layout = sim.layout();
  const std::uint64_t n = sim.scenario.paths;
  std::vector<double> values(static_cast<std::size_t>(layout.value_count()) * chunk);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()) * chunk);
  for (;;) {
    for (std::uint64_t first = 0; first < n; first += chunk) {
      const std::uint64_t count = std::min(chunk, n - first);
      // Re-pack the stored samples as the backend would hand over a chunk.
      for (int c = 0; c < layout.value_count(); ++c)
        for (std::uint64_t p = 0; p < count; ++p)
          values[c * count + p] = sim.samples.column(c)[first + p];
      for (int c = 0; c < layout.code_count(); ++c)
        for (std::uint64_t p = 0; p < count; ++p)
          codes[c * count + p] = sim.samples.codes(c)[first + p];
      reducer.add_chunk(values.data(), codes.data(), count, count, threads);
    }
    if (reducer.finish_pass()) return reducer.pass();
  }
}

void expect_same_tables(const RunResults& a, const RunResults& b, double moment_tolerance) {
  ASSERT_EQ(a.cells.size(), b.cells.size());
  for (std::size_t cell = 0; cell < a.cells.size(); ++cell) {
    const CellStatistics& x = a.cells[cell];
    const CellStatistics& y = b.cells[cell];
    ASSERT_EQ(x.percentiles.size(), y.percentiles.size());
    for (std::size_t q = 0; q < x.percentiles.size(); ++q) {
      EXPECT_EQ(x.percentiles[q].value, y.percentiles[q].value) << "cell " << cell << " q " << q;
      EXPECT_EQ(x.percentiles[q].ci_low, y.percentiles[q].ci_low) << "cell " << cell;
      EXPECT_EQ(x.percentiles[q].ci_high, y.percentiles[q].ci_high) << "cell " << cell;
    }
    EXPECT_EQ(x.p50, y.p50);
    EXPECT_EQ(x.p95, y.p95);
    EXPECT_EQ(x.p_positive, y.p_positive);
    EXPECT_NEAR(x.mean, y.mean, moment_tolerance * (1 + std::fabs(y.mean))) << "cell " << cell;
    EXPECT_NEAR(x.sd, y.sd, 1e3 * moment_tolerance * (1 + y.sd)) << "cell " << cell;
    EXPECT_NEAR(x.cvar95, y.cvar95, moment_tolerance * (1 + y.cvar95)) << "cell " << cell;
    EXPECT_GE(x.cvar95, x.p95);
    EXPECT_NEAR(x.cvar95_ci_low, y.cvar95_ci_low, 1e3 * moment_tolerance * (1 + y.cvar95))
        << "cell " << cell;
    EXPECT_NEAR(x.cvar95_ci_high, y.cvar95_ci_high, 1e3 * moment_tolerance * (1 + y.cvar95))
        << "cell " << cell;
  }
  EXPECT_EQ(a.binding_counts, b.binding_counts);
  EXPECT_EQ(a.censored_counts, b.censored_counts);
}

Scenario default_scenario(std::uint64_t paths) {
  Scenario s = load_scenario(testing::source_path("configs/stargate.yaml"));
  s.paths = paths;
  s.percentiles = {0, 1, 2.5, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100};
  return s;
}

/// The first `count` paths of a simulation, cell-major: a pilot sample.
std::vector<double> first_paths(testing::Simulation& sim, std::uint64_t count) {
  const PathLayout layout = sim.layout();
  std::vector<double> values(static_cast<std::size_t>(layout.value_count()) * count);
  for (int c = 0; c < layout.value_count(); ++c)
    std::copy(sim.samples.column(c), sim.samples.column(c) + count, values.begin() + c * count);
  return values;
}

/// The tables of a full sort of the scenario's paths: what every streamed run must equal. (On a
/// simulation of its own, since reduce() sorts the samples it is given.)
RunResults full_sort(const Scenario& scenario, int threads) {
  testing::Simulation sim(scenario, threads);
  return reduce(sim.samples, scenario.percentiles, threads);
}

TEST(HistogramEdges, BinIsTheNumberOfEdgesAtOrBelowTheValue) {
  // Sparse edges, a dense cluster (many edges per lookup slot) and an atom's pair of edges.
  std::vector<double> edges = {-3.0, 0.0, std::nextafter(0.0, 1.0), 10.0, 1e6};
  for (int i = 0; i < 2000; ++i) edges.push_back(5.0 + i * 1e-9);
  std::sort(edges.begin(), edges.end());
  const HistogramNode node(edges, 1.0, 1.0);
  ASSERT_EQ(node.bins, static_cast<int>(edges.size()) + 1);
  std::mt19937_64 engine(3);
  std::vector<double> probes = {-1e300, -3.0, 0.0, -0.0, 1e-320, 1e6, 2e6, 5.0, 5.0 + 1999e-9};
  for (double e : edges) {
    probes.push_back(e);
    probes.push_back(std::nextafter(e, -1e308));
    probes.push_back(std::nextafter(e, 1e308));
  }
  for (int i = 0; i < 20000; ++i) {
    probes.push_back(std::uniform_real_distribution<double>(-5, 12)(engine));
    probes.push_back(std::uniform_real_distribution<double>(5.0, 5.0 + 2e-6)(engine));
  }
  for (double v : probes) {
    const auto expected = std::upper_bound(edges.begin(), edges.end(), v) - edges.begin();
    ASSERT_EQ(node.bin_of(v), expected) << "value " << v;
  }
}

TEST(Streaming, PilotPlacedBinsAreExactAndNeedOneRefiningPass) {
  const RunResults expected = full_sort(default_scenario(30011), 2);
  testing::Simulation sim(default_scenario(30011), 2);
  StreamingReducer reducer(sim.flat->reduction_spec(), sim.scenario.paths);
  const std::vector<double> pilot = first_paths(sim, 4096);
  reducer.place_root_bins(pilot.data(), 4096, 4096);
  for (int c = 0; c < sim.layout().value_count(); ++c)
    EXPECT_LE(reducer.root(c).bins, reducer.limits().root_bins / 2 + 1) << "cell " << c;
  EXPECT_EQ(stream(sim, reducer, 7000, 2), 2);
  expect_same_tables(reducer.results(), expected, 1e-12);
}

TEST(Streaming, PilotPlacedBinsAreExactForTinyRuns) {
  // A run smaller than the pilot is its own pilot; a handful of paths, where every rank is an
  // extreme, must still give the full sort's tables (the minimal scenario and the default).
  for (const char* config : {"configs/minimal.yaml", "configs/stargate.yaml"}) {
    for (std::uint64_t paths : {1ULL, 2ULL, 3ULL, 17ULL, 1000ULL}) {
      Scenario s = load_scenario(testing::source_path(config));
      s.paths = paths;
      s.percentiles = {0, 1, 50, 99, 100};
      const RunResults expected = full_sort(s, 1);
      testing::Simulation sim(s, 1);
      StreamingReducer reducer(sim.flat->reduction_spec(), paths);
      const std::vector<double> pilot = first_paths(sim, paths);
      reducer.place_root_bins(pilot.data(), paths, paths);
      EXPECT_LE(stream(sim, reducer, 7, 1), 2) << config << ", " << paths << " paths";
      SCOPED_TRACE(std::string(config) + ", " + std::to_string(paths) + " paths");
      expect_same_tables(reducer.results(), expected, 1e-12);
    }
  }
}

TEST(Streaming, AWrongPilotCostsPassesNotExactness) {
  // Bins placed from a pilot of another scenario's values (every value halved): the wanted
  // ranks land in the wrong bins, refinements follow, the tables stay the full sort's.
  const RunResults expected = full_sort(default_scenario(8000), 2);
  testing::Simulation sim(default_scenario(8000), 2);
  StreamingReducer reducer(sim.flat->reduction_spec(), sim.scenario.paths, {512, 16, 32});
  std::vector<double> pilot = first_paths(sim, 2000);
  for (double& v : pilot) v *= 0.5;
  reducer.place_root_bins(pilot.data(), 2000, 2000);
  EXPECT_GE(stream(sim, reducer, 3000, 2), 3);
  expect_same_tables(reducer.results(), expected, 1e-12);
}

TEST(Streaming, APilotLargerThanTheBinBudgetStillPlacesBinsAndStaysExact) {
  // A whole run as its pilot (--memory-budget) with few root bins: the pilot's own coarse
  // edges alone used to exceed the budget, leaving no room, and a lone gap in a wanted
  // rank's window then divided by zero. Now they take at most half the budget.
  const RunResults expected = full_sort(default_scenario(30000), 2);
  testing::Simulation sim(default_scenario(30000), 2);
  StreamingReducer reducer(sim.flat->reduction_spec(), sim.scenario.paths, {64, 16, 32});
  const std::vector<double> pilot = first_paths(sim, 30000);
  reducer.place_root_bins(pilot.data(), 30000, 30000);
  for (int c = 0; c < sim.layout().value_count(); ++c) EXPECT_LE(reducer.root(c).bins, 64);
  stream(sim, reducer, 30000, 2);
  expect_same_tables(reducer.results(), expected, 1e-12);
}

TEST(Streaming, AWholeRunPilotIsSampledForItsBinsAndStaysExact) {
  // A pilot larger than limits.sorted_pilot (a whole run kept in memory) places the bins from
  // an even sample of itself: the tables are still the full sort's, in one refining pass, and
  // the bins are not those of the whole pilot.
  const RunResults expected = full_sort(default_scenario(12000), 2);
  testing::Simulation sim(default_scenario(12000), 2);
  const std::vector<double> pilot = first_paths(sim, 12000);
  StreamingLimits sampled_limits;
  sampled_limits.sorted_pilot = 1500;
  StreamingReducer sampled(sim.flat->reduction_spec(), sim.scenario.paths, sampled_limits);
  sampled.place_root_bins(pilot.data(), 12000, 12000, 2);
  StreamingReducer whole(sim.flat->reduction_spec(), sim.scenario.paths);
  whole.place_root_bins(pilot.data(), 12000, 12000, 1);
  int differ = 0;
  for (int c = 0; c < sim.layout().value_count(); ++c)
    differ += sampled.root(c).edges != whole.root(c).edges ? 1 : 0;
  EXPECT_GT(differ, 0);
  EXPECT_EQ(stream(sim, sampled, 12000, 2), 2);
  expect_same_tables(sampled.results(), expected, 1e-12);
  // The sample does not depend on the thread count.
  StreamingReducer again(sim.flat->reduction_spec(), sim.scenario.paths, sampled_limits);
  again.place_root_bins(pilot.data(), 12000, 12000, 1);
  for (int c = 0; c < sim.layout().value_count(); ++c)
    EXPECT_EQ(again.root(c).edges, sampled.root(c).edges) << "cell " << c;
}

TEST(Streaming, AValueThePilotSawTwiceGetsABinOfItsOwn) {
  testing::Simulation sim(default_scenario(20000), 2);
  StreamingReducer reducer(sim.flat->reduction_spec(), sim.scenario.paths);
  const std::vector<double> pilot = first_paths(sim, 16384);
  reducer.place_root_bins(pilot.data(), 16384, 16384);
  stream(sim, reducer, 20000, 2);
  const PathLayout layout = sim.layout();
  int atoms = 0;
  for (int c = 0; c < layout.value_count(); ++c) {
    std::vector<double> sorted(pilot.begin() + c * 16384, pilot.begin() + (c + 1) * 16384);
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t j = 0; j + 1 < sorted.size(); ++j) {
      if (sorted[j] != sorted[j + 1] || (j > 0 && sorted[j - 1] == sorted[j])) continue;
      const HistogramNode& root = reducer.root(c);
      const int bin = root.bin_of(sorted[j]);
      ASSERT_GT(root.counts[bin], 1u) << "cell " << c;
      EXPECT_EQ(root.minimum[bin], sorted[j]) << "cell " << c;
      EXPECT_EQ(root.maximum[bin], sorted[j]) << "cell " << c;
      ++atoms;
    }
  }
  // Exact zeros (met targets), integer months late, a site's whole target: plenty of them.
  EXPECT_GE(atoms, layout.value_count());
}

TEST(Streaming, PilotBinsSurviveACheckpointAndMustMatchToMerge) {
  testing::Simulation sim(default_scenario(5000), 2);
  const PathLayout layout = sim.layout();
  const std::vector<double> pilot = first_paths(sim, 1000);
  StreamingReducer whole(sim.flat->reduction_spec(), 5000);
  whole.place_root_bins(pilot.data(), 1000, 1000);
  stream(sim, whole, 5000, 2);

  StreamingReducer placed(sim.flat->reduction_spec(), 5000);
  placed.place_root_bins(pilot.data(), 1000, 1000);
  std::unique_ptr<StreamingReducer> loaded =
      StreamingReducer::deserialized(placed.serialized(), sim.flat->reduction_spec(), "state");
  for (int c = 0; c < layout.value_count(); ++c)
    ASSERT_EQ(loaded->root(c).edges, placed.root(c).edges) << "cell " << c;
  stream(sim, *loaded, 1234, 1);
  expect_same_tables(loaded->results(), whole.results(), 0.0);

  StreamingReducer other(sim.flat->reduction_spec(), 5000);
  const std::vector<double> another = first_paths(sim, 999);
  other.place_root_bins(another.data(), 999, 999);
  StreamingReducer again(sim.flat->reduction_spec(), 5000);
  again.place_root_bins(pilot.data(), 1000, 1000);
  EXPECT_THROW(again.merge_first_pass(other), UserError);
}

TEST(Streaming, EqualsTheFullSortBitForBit) {
  const RunResults expected = full_sort(default_scenario(20011), 2);
  testing::Simulation again(default_scenario(20011), 2);
  StreamingReducer reducer(again.flat->reduction_spec(), again.scenario.paths);
  stream(again, reducer, 4096, 2);
  expect_same_tables(reducer.results(), expected, 1e-12);
}

TEST(Streaming, RefiningPassesStayExactWithTinyLimits) {
  // 16 root bins, 4 bins per refinement and at most 8 kept values per bin force many passes.
  const RunResults expected = full_sort(default_scenario(3001), 1);
  testing::Simulation again(default_scenario(3001), 1);
  StreamingReducer reducer(again.flat->reduction_spec(), again.scenario.paths, {16, 4, 8});
  const int passes = stream(again, reducer, 1000, 2);
  EXPECT_GE(passes, 3);
  expect_same_tables(reducer.results(), expected, 1e-12);
}

TEST(Streaming, ChunkSizeAndThreadsDoNotChangeAnyBit) {
  testing::Simulation sim(default_scenario(5000), 2);
  StreamingReducer a(sim.flat->reduction_spec(), 5000, {64, 8, 32});
  StreamingReducer b(sim.flat->reduction_spec(), 5000, {64, 8, 32});
  stream(sim, a, 5000, 1);
  stream(sim, b, 333, 2);
  const RunResults x = a.results(), y = b.results();
  expect_same_tables(x, y, 0.0);
  for (std::size_t cell = 0; cell < x.cells.size(); ++cell) {
    EXPECT_EQ(x.cells[cell].mean, y.cells[cell].mean);
    EXPECT_EQ(x.cells[cell].sd, y.cells[cell].sd);
    EXPECT_EQ(x.cells[cell].cvar95, y.cells[cell].cvar95);
  }
}

TEST(Streaming, CheckpointRoundTripMidPass) {
  testing::Simulation sim(default_scenario(4000), 2);
  StreamingReducer whole(sim.flat->reduction_spec(), 4000, {32, 8, 16});
  stream(sim, whole, 500, 2);

  // Run a pass and a half, save, load into a new reducer, finish there.
  StreamingReducer first(sim.flat->reduction_spec(), 4000, {32, 8, 16});
  const PathLayout layout = sim.layout();
  std::vector<double> values(static_cast<std::size_t>(layout.value_count()) * 4000);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()) * 4000);
  for (int c = 0; c < layout.value_count(); ++c)
    std::copy(sim.samples.column(c), sim.samples.column(c) + 4000, values.begin() + c * 4000);
  for (int c = 0; c < layout.code_count(); ++c)
    std::copy(sim.samples.codes(c), sim.samples.codes(c) + 4000, codes.begin() + c * 4000);
  first.add_chunk(values.data(), codes.data(), 4000, 4000, 1);
  ASSERT_FALSE(first.finish_pass());
  std::unique_ptr<StreamingReducer> loaded =
      StreamingReducer::deserialized(first.serialized(), sim.flat->reduction_spec(), "state");
  while (true) {
    loaded->add_chunk(values.data(), codes.data(), 4000, 4000, 1);
    if (loaded->finish_pass()) break;
  }
  expect_same_tables(loaded->results(), whole.results(), 0.0);
}

TEST(Streaming, RootHistogramsStayWithinTheirMemoryBudget) {
  EXPECT_EQ(limits_for(PathLayout{11, 5}).root_bins, 16384);  // the default scenario: 83 cells
  // 64 sites reported every month of 1200 months: 78k cells would need 40 GB at 16384 bins.
  const StreamingLimits huge = limits_for(PathLayout{64, 1200});
  EXPECT_EQ(huge.root_bins, 256);
  const double bytes = 65.0 * 1200 * huge.root_bins * 32;
  EXPECT_LT(bytes, 1.0 * 1024 * 1024 * 1024);
}

TEST(Streaming, MergingPassesOfTwoHalvesEqualsOneReducer) {
  // What MPI ranks do: each half of the paths through each pass, merged, planned, shared.
  testing::Simulation sim(default_scenario(6000), 2);
  StreamingReducer whole(sim.flat->reduction_spec(), 6000, {64, 8, 32});
  stream(sim, whole, 6000, 2);
  const PathLayout layout = sim.layout();
  auto chunk_of = [&](std::uint64_t first, std::uint64_t count, std::vector<double>& values,
                      std::vector<std::uint8_t>& codes) {
    values.resize(static_cast<std::size_t>(layout.value_count()) * count);
    codes.resize(static_cast<std::size_t>(layout.code_count()) * count);
    for (int c = 0; c < layout.value_count(); ++c)
      std::copy(sim.samples.column(c) + first, sim.samples.column(c) + first + count,
                values.begin() + c * count);
    for (int c = 0; c < layout.code_count(); ++c)
      std::copy(sim.samples.codes(c) + first, sim.samples.codes(c) + first + count,
                codes.begin() + c * count);
  };
  auto a =
      std::make_unique<StreamingReducer>(sim.flat->reduction_spec(), 6000, StreamingLimits{64, 8, 32});
  auto b =
      std::make_unique<StreamingReducer>(sim.flat->reduction_spec(), 6000, StreamingLimits{64, 8, 32});
  std::vector<double> values;
  std::vector<std::uint8_t> codes;
  for (;;) {
    chunk_of(0, 2500, values, codes);
    a->add_chunk(values.data(), codes.data(), 2500, 2500, 1);
    chunk_of(2500, 3500, values, codes);
    b->add_chunk(values.data(), codes.data(), 3500, 3500, 2);
    a->merge_pass(*b);
    if (a->finish_pass()) break;
    b = StreamingReducer::deserialized(a->serialized(), sim.flat->reduction_spec(), "state");
  }
  expect_same_tables(a->results(), whole.results(), 0.0);
}

TEST(Streaming, SpareValuesKeepBinsJustOverTheCapAndSaveAPass) {
  // Bins of up to 4 x 16 values are kept while the pass's spare values last, instead of being
  // refined (which costs another pass); the tables are the same either way. The sizes are
  // tuned to the default scenario's sites and ALL: its groups' sums over many sites need a
  // third pass at these tiny limits whatever the spare values, so they are left out here.
  Scenario scenario = default_scenario(20000);
  scenario.groups.clear();
  testing::Simulation sim(scenario, 2);
  const std::vector<double> pilot = first_paths(sim, 2000);
  auto passes = [&](std::uint64_t spare, RunResults& results) {
    StreamingReducer reducer(sim.flat->reduction_spec(), 20000, {4096, 16, 16, spare});
    reducer.place_root_bins(pilot.data(), 2000, 2000);
    const int count = stream(sim, reducer, 20000, 2);
    results = reducer.results();
    return count;
  };
  RunResults without, with, tiny;
  const int passes_without = passes(0, without);
  EXPECT_LT(passes(1 << 20, with), passes_without);
  expect_same_tables(with, without, 0.0);
  // A spare budget too small for any such bin changes nothing.
  EXPECT_EQ(passes(5, tiny), passes_without);
}

TEST(Streaming, ConstantCellsHaveExactlyZeroSd) {
  // Found by the independent NumPy reference: sd must be 0, not rounding noise, when every
  // path has the same value (here: a scenario where everything is fixed).
  Scenario s = testing::scenario_from(testing::hand_scenario);  // every input fixed
  s.paths = 1000;

  testing::Simulation sim(s, 2);
  StreamingReducer reducer(sim.flat->reduction_spec(), s.paths);
  stream(sim, reducer, 1000, 2);
  for (const CellStatistics& cell : reducer.results().cells) EXPECT_EQ(cell.sd, 0.0);
}

TEST(Streaming, MinusZeroCountsAsZero) {
  // -0 and +0 in one bin: its extremes are +0 whichever came first (the device's first pass,
  // which adds a bin's values in no fixed order, must give the host's bytes).
  testing::Simulation sim(default_scenario(4), 1);
  const ReductionSpec spec = sim.flat->reduction_spec();
  const int columns = spec.value_cells();
  for (const bool minus_first : {true, false}) {
    StreamingReducer reducer(spec, 4);
    std::vector<double> values(static_cast<std::size_t>(columns) * 4, 0.0);
    values[minus_first ? 0 : 1] = -0.0;
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(spec.code_cells()) * 4, 0);
    reducer.add_chunk(values.data(), codes.data(), 4, 4, 1);
    const HistogramNode& root = reducer.root(0);
    const int bin = root.bin_of(0.0);
    EXPECT_EQ(root.counts[bin], 4u);
    EXPECT_FALSE(std::signbit(root.minimum[bin])) << (minus_first ? "-0 first" : "+0 first");
    EXPECT_FALSE(std::signbit(root.maximum[bin])) << (minus_first ? "-0 first" : "+0 first");
  }
}

TEST(Streaming, TheSavedSizesKeepTheFormatsLayout) {
  // Version 3 of the sealed format begins with the four sizes as int, int, uint64, uint64 (24
  // bytes), then the path count: a new field of StreamingLimits must not move them, or every
  // checkpoint and shard an earlier build wrote would read 8 bytes out of step.
  testing::Simulation sim(default_scenario(1000), 1);
  StreamingLimits limits{512, 16, 32, 7};
  limits.sorted_pilot = 99;
  const StreamingReducer reducer(sim.flat->reduction_spec(), 1000, limits);
  const std::string bytes = reducer.serialized();
  ASSERT_GE(bytes.size(), 32u);
  int root_bins = 0, refine_bins = 0;
  std::uint64_t collect_cap = 0, spare = 0, paths = 0;
  std::memcpy(&root_bins, bytes.data(), 4);
  std::memcpy(&refine_bins, bytes.data() + 4, 4);
  std::memcpy(&collect_cap, bytes.data() + 8, 8);
  std::memcpy(&spare, bytes.data() + 16, 8);
  std::memcpy(&paths, bytes.data() + 24, 8);
  EXPECT_EQ(root_bins, 512);
  EXPECT_EQ(refine_bins, 16);
  EXPECT_EQ(collect_cap, 32u);
  EXPECT_EQ(spare, 7u);
  EXPECT_EQ(paths, 1000u);
  const auto loaded = StreamingReducer::deserialized(bytes, sim.flat->reduction_spec(), "a state");
  EXPECT_EQ(loaded->limits().root_bins, 512);
  EXPECT_EQ(loaded->limits().spare_values, 7u);
}

TEST(Streaming, CorruptCheckpointsAreRefused) {
  const Scenario s = default_scenario(100);
  const FlatScenario flat(s);
  EXPECT_THROW(StreamingReducer::deserialized("", flat.reduction_spec(), "state"), UserError);
  StreamingReducer reducer(flat.reduction_spec(), 100);
  const std::string bytes = reducer.serialized();
  EXPECT_THROW(
      StreamingReducer::deserialized(bytes.substr(0, bytes.size() / 2), flat.reduction_spec(), "state"),
      UserError);
}

TEST(Streaming, KeptValuesAreBoundedWhateverThePathCount) {
  // Values kept at any time are at most cells x needed ranks x collect_cap, and in practice far
  // fewer; the same bound holds for 10x the paths.
  for (std::uint64_t paths : {2000ULL, 20000ULL}) {
    testing::Simulation sim(default_scenario(paths), 2);
    StreamingReducer reducer(sim.flat->reduction_spec(), paths, {256, 16, 64, 0});
    std::uint64_t most = 0;
    const std::uint64_t n = paths;
    const PathLayout layout = sim.layout();
    for (;;) {
      std::vector<double> values(static_cast<std::size_t>(layout.value_count()) * n);
      std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()) * n);
      for (int c = 0; c < layout.value_count(); ++c)
        std::copy(sim.samples.column(c), sim.samples.column(c) + n, values.begin() + c * n);
      reducer.add_chunk(values.data(), codes.data(), n, n, 2);
      most = std::max(most, reducer.kept_values());
      if (reducer.finish_pass()) break;
    }
    const std::uint64_t ranks_per_cell = 4 * 13 + 5;
    EXPECT_LE(most, static_cast<std::uint64_t>(layout.value_count()) * ranks_per_cell * 64)
        << paths << " paths";
  }
}

}  // namespace
}  // namespace caprisk
