// The lane-generic model (kernels/lanes.h): every SIMD target's batch writes bit for bit what
// one path at a time writes, and the lane math it rests on (exp, schedules, Philox) matches
// its scalar form on every lane.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/run/simd_batch.h"
#include "kernels/lanes.h"
#include "kernels/model.h"
#include "kernels/rng.h"
#include "kernels/schedule.h"
#include "tests/test_support.h"

namespace caprisk {
namespace {

std::uint64_t bits_of_double(double x) {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

/// Distance in units in the last place between two finite doubles of the same sign.
std::uint64_t ulps_apart(double a, double b) {
  const std::uint64_t x = bits_of_double(a), y = bits_of_double(b);
  return x > y ? x - y : y - x;
}

template <int W>
Real<W> lanes_from(const double* x) {
  Real<W> r;
  for (int l = 0; l < W; ++l) r.v[l] = x[l];
  return r;
}

TEST(LaneMath, ExpIsWithinOneUlpOfLibmOverItsRange) {
  std::mt19937_64 engine(2026);
  std::uniform_real_distribution<double> wide(-745.0, 709.0), near_zero(-2.0, 2.0);
  std::vector<double> xs = {0.0, -0.0, 1e-300, -1e-300, 1e-17, -1e-17, 0.5, -0.5, 1.0, -1.0,
                            M_LN2, -M_LN2, 0.5 * M_LN2, -0.5 * M_LN2, -708.0, 709.0, -700.5};
  for (int i = 0; i < 400000; ++i) xs.push_back(wide(engine));
  for (int i = 0; i < 400000; ++i) xs.push_back(near_zero(engine));
  // The model's own arguments: -t / tau for months t and time constants of 1 to 60 months.
  for (int t = 0; t <= 1200; ++t)
    for (double tau : {0.7, 1.0, 3.3, 9.0, 15.0, 60.0}) xs.push_back(-t / tau);
  std::uint64_t worst = 0;
  double worst_x = 0.0;
  for (double x : xs) {
    const std::uint64_t apart = ulps_apart(model_exp(x), std::exp(x));
    if (apart > worst) {
      worst = apart;
      worst_x = x;
    }
  }
  EXPECT_LE(worst, 1u) << "at x = " << worst_x;
}

TEST(LaneMath, ExpEdgesAreZeroInfinityAndNan) {
  EXPECT_EQ(model_exp(-747.0), 0.0);
  EXPECT_GT(model_exp(-745.0), 0.0);  // the smallest subnormals
  EXPECT_EQ(model_exp(-std::numeric_limits<double>::infinity()), 0.0);
  EXPECT_TRUE(std::isinf(model_exp(710.0)));
  EXPECT_TRUE(std::isnan(model_exp(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(model_exp(0.0), 1.0);
}

TEST(LaneMath, ExpOnEveryLaneIsTheScalarExp) {
  std::mt19937_64 engine(7);
  std::uniform_real_distribution<double> wide(-720.0, 720.0);
  for (int i = 0; i < 20000; ++i) {
    double x[8];
    for (double& value : x) value = wide(engine);
    const Real<8> eight = exp_of(lanes_from<8>(x));
    const Real<4> four = exp_of(lanes_from<4>(x));
    const Real<2> two = exp_of(lanes_from<2>(x));
    for (int l = 0; l < 8; ++l) {
      ASSERT_EQ(bits_of_double(eight.v[l]), bits_of_double(model_exp(x[l]))) << x[l];
      if (l < 4) {
        ASSERT_EQ(bits_of_double(four.v[l]), bits_of_double(model_exp(x[l])));
      }
      if (l < 2) {
        ASSERT_EQ(bits_of_double(two.v[l]), bits_of_double(model_exp(x[l])));
      }
    }
  }
}

TEST(LaneMath, SchedulesWithSlopesAreTheScheduleToRounding) {
  // schedule_at multiplies by a slope where schedule_value divides: the same line, within a
  // few ulps of the values it joins.
  std::vector<SchedulePoint> points = {{0.0, 0.25}, {5.0, 0.75}, {11.0, 1.15}, {11.0, 2.0},
                                       {30.0, 2.0}, {47.0, 0.1}};
  set_slopes(points.data(), static_cast<int>(points.size()));
  EXPECT_EQ(points[2].slope, 0.0);  // a step
  EXPECT_EQ(points.back().slope, 0.0);
  for (double t = -2.0; t < 50.0; t += 0.173) {
    const double divided = schedule_value(points.data(), static_cast<int>(points.size()), t);
    const double multiplied = schedule_at(points.data(), static_cast<int>(points.size()), t);
    EXPECT_NEAR(multiplied, divided, 4e-16 * 2.0) << "t = " << t;
  }
}

TEST(LaneMath, SchedulesOnEveryLaneAreTheScalarSchedule) {
  // Schedules of 1 to 6 points, some with steps (two points at one month); t on the points, a
  // hair either side of them, between them and outside them.
  std::mt19937_64 engine(11);
  std::uniform_real_distribution<double> value(0.0, 5.0);
  std::uniform_int_distribution<int> month_step(0, 4);
  for (int trial = 0; trial < 2000; ++trial) {
    const int count = 1 + trial % 6;
    std::vector<SchedulePoint> points;
    double month = -3.0 + month_step(engine);
    for (int i = 0; i < count; ++i) {
      points.push_back({month, value(engine)});
      month += month_step(engine);
    }
    set_slopes(points.data(), count);
    std::vector<double> ts = {-100.0, 100.0};
    for (const SchedulePoint& p : points)
      for (double offset : {-0.5, -1e-12, 0.0, 1e-12, 0.37})
        ts.push_back(p.month + offset);
    while (ts.size() % 8 != 0) ts.push_back(ts[ts.size() % 3]);
    const ScheduleRef ref{0, count};
    for (std::size_t at = 0; at < ts.size(); at += 8) {
      const Real<8> got = schedule_lanes(points.data(), ref, lanes_from<8>(ts.data() + at));
      for (int l = 0; l < 8; ++l)
        ASSERT_EQ(bits_of_double(got.v[l]),
                  bits_of_double(schedule_at(points.data(), count, ts[at + l])))
            << "t = " << ts[at + l] << ", " << count << " points from month " << points[0].month
            << " to " << points.back().month;
    }
  }
}

TEST(LaneMath, PhiloxOnEveryLaneIsPhiloxBlock) {
  std::mt19937_64 engine(5);
  for (int trial = 0; trial < 5000; ++trial) {
    const std::uint64_t key = engine();
    Pack<std::uint64_t, 8> path, block;
    for (int l = 0; l < 8; ++l) {
      path.v[l] = trial % 2 == 0 ? engine() : engine() % 1000;
      block.v[l] = trial % 3 == 0 ? engine() : engine() % 1200;
    }
    const PhiloxLanes<8> lanes = philox_lanes<8>(key, path, block);
    const Real<8> u = uniforms(lanes.word[0]);
    for (int l = 0; l < 8; ++l) {
      const PhiloxBlock expected = philox_block(key, path.v[l], block.v[l]);
      for (int w = 0; w < 4; ++w) ASSERT_EQ(lanes.word[w].v[l], expected.word[w]);
      ASSERT_EQ(bits_of_double(u.v[l]), bits_of_double(bits_to_uniform(expected.word[0])));
    }
  }
}

/// A scenario's paths through the batch of every SIMD target this CPU has, against
/// simulate_from_statics one path at a time: every value, code and static column, bit for bit.
void expect_every_target_matches_one_path_at_a_time(const Scenario& scenario,
                                                    std::uint64_t paths) {
  const FlatScenario flat(scenario);
  const ScenarioView& view = flat.view();
  const PathLayout layout = flat.layout();
  const StaticColumns columns{view.supplier_count, view.deal_count, view.site_count};
  const auto values = static_cast<std::size_t>(layout.value_count());
  const auto codes = static_cast<std::size_t>(layout.code_count());
  const auto statics = static_cast<std::size_t>(columns.count());
  std::vector<double> want_values(values * paths), want_statics(statics * paths);
  std::vector<std::uint8_t> want_codes(codes * paths);
  std::vector<PathStatics> draws(paths);
  for (std::uint64_t p = 0; p < paths; ++p) {
    FactorUniforms factors;
    sample_statics(view, scenario.seed, p, factors, draws[p]);
    simulate_from_statics(view, scenario.seed, p, draws[p],
                          PathOutput{want_values.data() + p, want_codes.data() + p, paths,
                                     want_statics.data() + p});
  }
  const std::vector<std::string> targets = available_simd_targets();
  ASSERT_FALSE(targets.empty());
  // Back to the best target however this returns (an ASSERT returns early).
  struct RestoreBest {
    ~RestoreBest() { select_simd_target("best"); }
  } restore;
  for (const std::string& target : targets) {
    select_simd_target(target);
    const SimdTarget chosen = simd_target();
    ASSERT_EQ(chosen.name, target);
    const auto lanes = static_cast<std::uint64_t>(chosen.lanes);
    std::vector<double> got_values(values * paths, -1.0), got_statics(statics * paths, -1.0);
    std::vector<std::uint8_t> got_codes(codes * paths, 255);
    // Batches from path 1, where the backend's start at multiples of the width: each path has
    // other neighbours in its batch than in a run.
    const std::uint64_t covered = 1 + (paths - 1) / lanes * lanes;
    for (std::uint64_t first = 1; first < covered; first += lanes)
      simulate_batch(view, scenario.seed, first, draws.data() + first,
                     PathOutput{got_values.data() + first, got_codes.data() + first, paths,
                                got_statics.data() + first});
    for (std::uint64_t p = 1; p < covered; ++p) {
      for (std::size_t c = 0; c < values; ++c)
        ASSERT_EQ(bits_of_double(got_values[c * paths + p]),
                  bits_of_double(want_values[c * paths + p]))
            << target << ": path " << p << ", value cell " << c;
      for (std::size_t c = 0; c < codes; ++c)
        ASSERT_EQ(got_codes[c * paths + p], want_codes[c * paths + p])
            << target << ": path " << p << ", code cell " << c;
      for (std::size_t c = 0; c < statics; ++c)
        ASSERT_EQ(bits_of_double(got_statics[c * paths + p]),
                  bits_of_double(want_statics[c * paths + p]))
            << target << ": path " << p << ", static column " << c;
    }
  }
}

TEST(SimdTargets, EveryTargetMatchesOnePathAtATimeOnTheDefaultScenario) {
  expect_every_target_matches_one_path_at_a_time(
      load_scenario(testing::source_path("configs/stargate.yaml")), 801);
}

TEST(SimdTargets, EveryTargetMatchesOnePathAtATimeOnMinimal) {
  expect_every_target_matches_one_path_at_a_time(
      load_scenario(testing::source_path("configs/minimal.yaml")), 801);
}

TEST(SimdTargets, EveryTargetMatchesOnePathAtATimeWhenEventsAreFrequent) {
  // Disruptions and cancellations most months, so that the lanes' rare-event branches (an
  // event on some lanes and not others, overlapping disruptions) run thousands of times.
  std::string yaml = testing::read_text(testing::source_path("configs/minimal.yaml"));
  const auto replace = [&yaml](const std::string& from, const std::string& to) {
    const std::size_t at = yaml.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    yaml.replace(at, from.size(), to);
  };
  replace("rate_per_year: 0.15", "rate_per_year: 6.0");
  replace("cancel_hazard_per_year: 0.03", "cancel_hazard_per_year: 1.5");
  replace("close_probability: 0.95", "close_probability: 0.6");
  expect_every_target_matches_one_path_at_a_time(testing::scenario_from(yaml), 801);
}

TEST(SimdTargets, AnUnknownTargetIsRefusedWithTheAvailableOnes) {
  try {
    select_simd_target("avx1024");
    FAIL() << "accepted an unknown target";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(testing::contains(e.what(), "avx1024")) << e.what();
    EXPECT_TRUE(testing::contains(e.what(), "available: ")) << e.what();
  }
  const std::vector<std::string> targets = available_simd_targets();
  if (std::find(targets.begin(), targets.end(), "AVX3") != targets.end()) {
    select_simd_target("Avx512");  // any case; avx512 names AVX3
    EXPECT_EQ(simd_target().name, "AVX3");
  }
  select_simd_target("best");
  EXPECT_GE(simd_target().lanes, 1);
}

}  // namespace
}  // namespace caprisk

namespace caprisk {
namespace {

TEST(SimdTargets, AnUnknownTargetInTheEnvironmentIsAUsageError) {
  const testing::CommandResult bad =
      testing::run_shell("CAPRISK_SIMD=avx1024 " + std::string(CAPRISK_BINARY) + " devices");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_TRUE(testing::contains(bad.output, "CAPRISK_SIMD: SIMD target 'avx1024'")) << bad.output;
  EXPECT_TRUE(testing::contains(bad.output, "available: ")) << bad.output;
  const testing::CommandResult forced =
      testing::run_shell("CAPRISK_SIMD=scalar " + std::string(CAPRISK_BINARY) + " devices");
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_TRUE(testing::contains(forced.output, "cpu: SIMD SCALAR, 1 lane ")) << forced.output;
}

}  // namespace
}  // namespace caprisk
