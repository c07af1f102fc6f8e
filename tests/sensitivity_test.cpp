// caprisk sensitivity (docs/ANALYSIS.md, "Sensitivity"): the inputs it pins, known answers
// of the tornado, its determinism, and its refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "host/config/config.h"
#include "host/config/pinned_inputs.h"
#include "test_support.h"

namespace caprisk {
namespace {

using testing::parse_csv;
using testing::read_text;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

using testing::contains;

/// One site whose power delay is the only static uncertain input; a second deal that funds
/// no site, with an uncertain delay of its own; disruptions (drawn per event, so not pinned).
std::string one_delay(const std::string& extra_deal) {
  return R"(scenario: {name: delay, start: 2026-01, horizon_months: 24, seed: 5, paths: 4000,
           report_months: [2026-06, 2026-12, 2027-12]}
supply:
  program_share: 1
  stacks_per_wafer: 1
  stacks_per_accelerator: 1
  kw_per_accelerator: 1000
  hbm_yield: {initial: 1, mature: 1, tau_months: 1}
  suppliers:
    - name: S
      wafers_per_month: [[2026-01, 2000]]
      disruption: {rate_per_year: 0.5, loss: {dist: uniform, min: 0.1, max: 0.3},
                   recovery_months: {dist: uniform, min: 1, max: 3}}
funding:
  capex_per_gw: 10
  deals:
    - {name: D, kind: schedule, tranches: [[2026-01, 100]]}
)" + extra_deal + R"(sites:
  - name: A
    funded_by: [D]
    target_gw: [[2026-01, 0.5], [2027-01, 1.5]]
    build_rate_gw: 0.2
    power: {schedule: [[2026-01, 0.6], [2026-07, 2.0]],
            delay_months: {dist: uniform, min: 0, max: 12}}
groups:
  Just A: [A]
)";
}

const std::string unused_deal =
    "    - {name: Unused, kind: schedule, tranches: [[2026-01, 5]], close_probability: 0.5,\n"
    "       delay_months: {dist: uniform, min: 0, max: 6}}\n";

TEST(StaticInputs, AreTheUncertainDrawsInConfigOrderWithTheirP10AndP90) {
  const Scenario s = parse_scenario(one_delay(unused_deal), "delay.yaml");
  const std::vector<PinnedInput> inputs = static_inputs(s);
  ASSERT_EQ(inputs.size(), 3u);  // not the disruption's loss and recovery: drawn per event
  EXPECT_EQ(inputs[0].path, "funding.deals[Unused].delay_months");
  EXPECT_FALSE(inputs[0].event);
  EXPECT_NEAR(inputs[0].low, 0.6, 1e-12);
  EXPECT_NEAR(inputs[0].high, 5.4, 1e-12);
  EXPECT_EQ(inputs[1].path, "funding.deals[Unused].close_probability");
  EXPECT_TRUE(inputs[1].event);
  EXPECT_EQ(inputs[1].low, 0.0);
  EXPECT_EQ(inputs[1].high, 1.0);
  EXPECT_EQ(inputs[2].path, "sites[A].power.delay_months");
  EXPECT_NEAR(inputs[2].low, 1.2, 1e-12);
  EXPECT_NEAR(inputs[2].high, 10.8, 1e-12);
  // Pinning fixes that input only.
  const Scenario at_high = pinned(s, 2, inputs[2].high);
  EXPECT_EQ(static_inputs(at_high).size(), 2u);
  EXPECT_EQ(at_high.sites[0].power_delay_months.kind, DistKind::fixed);
  EXPECT_EQ(at_high.sites[0].power_delay_months.param[0], inputs[2].high);
  EXPECT_EQ(pinned(s, 1, 0.0).funding.deals[1].closes.param[0], 0.0);
}

/// `caprisk sensitivity` of `config` into `out`; the tornado's rows.
testing::CsvTable sensitivity(const TempDir& dir, const std::string& config,
                              const std::string& out, const std::string& options = "") {
  const auto r = run_caprisk("sensitivity " + config + " --quiet --out " + dir.file(out) + " " +
                             options);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return parse_csv(read_text(dir.file(out + "/tornado.csv")));
}

TEST(Sensitivity, AnInputTheModelIgnoresHasASwingOfExactlyZero) {
  // The unused deal funds no site: under common random numbers, pinning it changes no path.
  TempDir dir;
  const std::string config = dir.write("delay.yaml", one_delay(unused_deal));
  const testing::CsvTable t = sensitivity(dir, config, "out");
  int rows = 0;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    if (!contains(t.text(r, "input"), "Unused")) continue;
    ++rows;
    for (const char* column : {"change_at_low", "change_at_low_ci_low", "change_at_low_ci_high",
                               "change_at_high", "change_at_high_ci_low",
                               "change_at_high_ci_high", "swing", "swing_ci_low", "swing_ci_high"})
      EXPECT_EQ(t.text(r, column), "0") << column << " row " << r;
    EXPECT_EQ(t.text(r, "mean_at_low"), t.text(r, "base_mean"));
    EXPECT_EQ(t.text(r, "mean_at_high"), t.text(r, "base_mean"));
  }
  EXPECT_EQ(rows, 2 * 2 * 4);  // 2 inputs x (ALL, Just A) x (horizon + 3 report months)
}

TEST(Sensitivity, ASinglePowerDelayFollowsFromItsDistribution) {
  // Everything else fixed: pinned at P10 = 1.2 or P90 = 10.8 months, every path is the same
  // deterministic path, so the means at low and high are those of a run with that delay, and
  // the paired change has the base's own sd.
  TempDir dir;
  const std::string config = dir.write("delay.yaml", one_delay(""));
  const testing::CsvTable t = sensitivity(dir, config, "out");
  ASSERT_EQ(t.rows.size(), 2u * 4u);
  const auto run_mean = [&](const std::string& folder, const std::string& set,
                            const std::string& month, const char* what) {
    const auto r = run_caprisk("run " + config + " --quiet --out " + dir.file(folder) + set);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    const testing::CsvTable p = parse_csv(read_text(dir.file(folder + "/percentiles.csv")));
    const std::string metric = month == "horizon" ? "shortfall_gw_months" : "shortfall_gw";
    const std::string m = month == "horizon" ? "2027-12" : month;
    return p.number(p.find({{"site", "ALL"}, {"month", m}, {"metric", metric}}), what);
  };
  int positive_swings = 0;
  for (const std::string month : {"horizon", "2026-12", "2027-12"}) {
    const std::size_t r = t.find({{"site", "ALL"}, {"month", month}});
    EXPECT_EQ(t.text(r, "input"), "sites[A].power.delay_months");
    EXPECT_NEAR(t.number(r, "low"), 1.2, 1e-12);
    EXPECT_NEAR(t.number(r, "high"), 10.8, 1e-12);
    const double base = run_mean("base-" + month, "", month, "mean");
    const double sd = run_mean("base-" + month, "", month, "sd");
    EXPECT_NEAR(t.number(r, "base_mean"), base, 1e-9 * (1 + base));
    const double at_low =
        run_mean("low-" + month, " --set 'sites[A].power.delay_months=1.2'", month, "mean");
    const double at_high =
        run_mean("high-" + month, " --set 'sites[A].power.delay_months=10.8'", month, "mean");
    EXPECT_NEAR(t.number(r, "mean_at_low"), at_low, 1e-6 * (1 + at_low)) << month;
    EXPECT_NEAR(t.number(r, "mean_at_high"), at_high, 1e-6 * (1 + at_high)) << month;
    EXPECT_NEAR(t.number(r, "swing"), std::fabs(at_high - at_low), 1e-6 * (1 + at_high));
    // d = constant - base: sd(d) = sd(base), so the interval's half-width is 1.96 sd / sqrt(n).
    const double half = 1.959963984540054 * sd / std::sqrt(4000.0);
    EXPECT_NEAR(t.number(r, "change_at_low_ci_high") - t.number(r, "change_at_low"), half,
                1e-6 * (1 + half));
    // The pinned variants are constant, so high - low is too: an interval of zero width.
    EXPECT_NEAR(t.number(r, "swing_ci_high") - t.number(r, "swing_ci_low"), 0, 1e-9);
    // A later power date never lowers the shortfall here, and raises the GW-months.
    EXPECT_GE(t.number(r, "mean_at_high"), t.number(r, "mean_at_low")) << month;
    positive_swings += t.number(r, "mean_at_high") > t.number(r, "mean_at_low") ? 1 : 0;
    if (month == "horizon") {
      EXPECT_GT(t.number(r, "swing"), 0);
    }
  }
  EXPECT_GE(positive_swings, 2);
}

TEST(Sensitivity, TheDominantInputRanksFirstAndRowsAreSortedBySwing) {
  TempDir dir;
  const std::string config = dir.write(
      "delay.yaml",
      one_delay("    - {name: Big, kind: schedule, tranches: [[2026-01, 1]], close_probability: "
                "0.5}\n"));
  // The site is also funded by the uncertain deal Big; D's 100 B covers it, so give D less.
  const std::string text = read_text(config);
  std::string edited = text;
  edited.replace(edited.find("funded_by: [D]"), 14, "funded_by: [Big, D]");
  edited.replace(edited.find("[[2026-01, 100]]"), 16, "[[2026-01, 2]]");
  dir.write("delay.yaml", edited);
  const testing::CsvTable t = sensitivity(dir, config, "out");
  const std::size_t top = t.find({{"site", "ALL"}, {"month", "horizon"}, {"rank", "1"}});
  EXPECT_EQ(t.text(top, "input"), "funding.deals[Big].close_probability");
  EXPECT_EQ(t.text(top, "low"), "0");
  EXPECT_EQ(t.text(top, "high"), "1");
  for (std::size_t r = 1; r < t.rows.size(); ++r)
    if (t.text(r, "rank") != "1") {
      EXPECT_LE(t.number(r, "swing"), t.number(r - 1, "swing")) << "row " << r;
      EXPECT_EQ(std::stoi(t.text(r, "rank")), std::stoi(t.text(r - 1, "rank")) + 1);
    }
}

TEST(Sensitivity, TheTornadoIsByteIdenticalAcrossThreadsChunksAndResumes) {
  TempDir dir;
  const std::string config = source_path("configs/minimal.yaml");
  const std::string options = " --paths 3000 --quiet";
  ASSERT_EQ(run_caprisk("sensitivity " + config + options + " --threads 1 --out " +
                        dir.file("one"))
                .exit_code,
            0);
  ASSERT_EQ(run_caprisk("sensitivity " + config + options +
                        " --threads 2 --chunk-paths 97 --out " + dir.file("chunks"))
                .exit_code,
            0);
  // 1500 paths checkpointed, then grown to 3000 from the checkpoint.
  const std::string checkpointed = "sensitivity " + config + " --quiet --chunk-paths 500 "
                                   "--checkpoint " + dir.file("ck") + " --out " +
                                   dir.file("resumed");
  ASSERT_EQ(run_caprisk(checkpointed + " --paths 1500").exit_code, 0);
  const auto resumed = run_caprisk(checkpointed + " --paths 3000 --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const std::string expected = read_text(dir.file("one/tornado.csv"));
  EXPECT_GT(expected.size(), 1000u);
  EXPECT_EQ(read_text(dir.file("chunks/tornado.csv")), expected);
  EXPECT_EQ(read_text(dir.file("resumed/tornado.csv")), expected);
}

TEST(Sensitivity, TakesOverridesAndRecordsThem) {
  // Fixing an input with --set takes it off the tornado; the summary names the override.
  TempDir dir;
  const std::string config = dir.write("delay.yaml", one_delay(unused_deal));
  const testing::CsvTable t = sensitivity(dir, config, "out",
                                          "--set 'funding.deals[Unused].close_probability=1'");
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    EXPECT_NE(t.text(r, "input"), "funding.deals[Unused].close_probability");
  EXPECT_EQ(t.rows.size(), 2u * 2u * 4u);
  const auto summary = nlohmann::json::parse(read_text(dir.file("out/summary.json")));
  EXPECT_EQ(summary["overrides"][0], "--set funding.deals[Unused].close_probability=1");
  EXPECT_EQ(summary["sensitivity"]["inputs"].size(), 2u);
  EXPECT_EQ(summary["paths"], 4000);  // scenario.paths, below the default of 20000
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/percentiles.csv")));
}

TEST(Sensitivity, RefusesAScenarioWithNothingToPin) {
  TempDir dir;
  const std::string config = dir.write("delay.yaml", one_delay(""));
  const auto r = run_caprisk("sensitivity " + config + " --quiet --out " + dir.file("out") +
                             " --set 'sites[A].power.delay_months=3'");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "no static uncertain input to pin")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/tornado.csv")));
}

TEST(Sensitivity, TheTerminalShowsTheTopTenWithTheirIntervals) {
  TempDir dir;
  const auto r = run_caprisk("sensitivity " + source_path("configs/minimal.yaml") +
                             " --paths 2000 --out " + dir.file("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Sensitivity of ALL's shortfall GW-months")) << r.output;
  EXPECT_TRUE(contains(r.output, "funding.deals[Oracle].close_probability       off -> on"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "    10  ")) << r.output;
  EXPECT_FALSE(contains(r.output, "    11  ")) << r.output;
  EXPECT_TRUE(contains(r.output, "15 inputs ranked;")) << r.output;
}

}  // namespace
}  // namespace caprisk
