// What-if analysis (docs/ANALYSIS.md): --set/--shift overrides, site groups, and stress runs
// with their paired differences, checked against the model itself path by path.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "host/config/overrides.h"
#include "host/io/output_files.h"
#include "host/run/variants.h"
#include "test_support.h"

namespace caprisk {
namespace {

namespace fs = std::filesystem;
using testing::parse_csv;
using testing::read_text;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

using testing::contains;

/// Two sites on one supplier and two deals, every input uncertain enough that stresses move
/// numbers; a group of both; three stresses: a fractional shift, one that changes nothing,
/// and a set of an event probability.
const std::string two_sites = R"(scenario: {name: two, start: 2026-01, horizon_months: 24, seed: 11, paths: 3000,
           report_months: [2026-06, 2026-12, 2027-12]}
supply:
  program_share: {dist: uniform, min: 0.5, max: 1}
  stacks_per_wafer: 1
  stacks_per_accelerator: 1
  kw_per_accelerator: 1000
  hbm_yield: {initial: 1, mature: 1, tau_months: 1}
  suppliers:
    - name: S
      wafers_per_month: [[2026-01, 60], [2027-01, 120]]
      ramp_delay_months: {dist: uniform, min: 0, max: 6}
funding:
  capex_per_gw: {dist: uniform, min: 8, max: 12}
  deals:
    - {name: D, kind: schedule, tranches: [[2026-01, 5], [2026-07, 10]], close_probability: 0.9}
    - {name: E, kind: schedule, tranches: [[2026-03, 8]],
       delay_months: {dist: uniform, min: 0, max: 4}}
sites:
  - name: A
    funded_by: [D]
    target_gw: [[2026-01, 0.2], [2027-01, 1.0]]
    build_rate_gw: 0.2
    power: {schedule: [[2026-01, 0.3], [2026-10, 1.2]],
            delay_months: {dist: uniform, min: 0, max: 6}}
  - name: B
    priority: 1
    funded_by: [E, D]
    target_gw: [[2026-06, 0.1], [2027-06, 0.8]]
    build_rate_gw: 0.1
    power: {schedule: [[2026-04, 0.2], [2027-03, 1.0]],
            availability: {dist: uniform, min: 0.7, max: 1}}
groups:
  Both: [A, B]
stresses:
  - name: late_wafers
    description: the wafers four and a half months late
    shift: {"supply.suppliers[S].wafers_per_month": 4.5}
  - name: no_change
    set: {"sites[A].build_rate_gw": 0.2}
  - name: d_closes_less
    set: {"funding.deals[D].close_probability": 0.5}
)";

Override set(const std::string& argument) {
  return parse_override(Override::Kind::set, argument);
}
Override shift(const std::string& argument) {
  return parse_override(Override::Kind::shift, argument);
}

Scenario with(const std::vector<Override>& overrides) {
  return parse_scenario(two_sites, "two.yaml", overrides);
}

// --- overrides --------------------------------------------------------------------------

TEST(Overrides, SetPicksListItemsByNameOrByIndex) {
  const Scenario by_name = with({set("supply.suppliers[S].capacity_factor=0.5")});
  const Scenario by_index = with({set("sites[1].build_rate_gw=0.05")});
  EXPECT_EQ(by_name.supply.suppliers[0].capacity_factor.kind, DistKind::fixed);
  EXPECT_EQ(by_name.supply.suppliers[0].capacity_factor.param[0], 0.5);
  EXPECT_EQ(by_index.sites[1].build_rate_gw.param[0], 0.05);
  EXPECT_EQ(by_index.sites[0].build_rate_gw.param[0], 0.2);  // the other site untouched
}

TEST(Overrides, SetAddsAKeyTheFileLeftOutAndTakesAnyYamlValue) {
  const Scenario s = with({set("sites[A].power.failure_probability=0.25"),
                           set("scenario.report_months=[2026-03, 2027-06]"),
                           set("supply.lead_time_months={dist: uniform, min: 1, max: 3}")});
  EXPECT_EQ(s.sites[0].power_fails.kind, DistKind::bernoulli);
  EXPECT_EQ(s.report_months, (std::vector<int>{2, 17}));
  EXPECT_EQ(s.supply.lead_time_months.kind, DistKind::uniform);
  ASSERT_EQ(s.overrides.size(), 3u);
  EXPECT_EQ(s.overrides[1].origin, "--set scenario.report_months=[2026-03, 2027-06]");
}

TEST(Overrides, ALaterSetAtTheSamePathWins) {
  const Scenario s = with({set("sites[B].priority=5"), set("sites[B].priority=-3")});
  EXPECT_EQ(s.sites[1].priority, -3);
}

TEST(Overrides, ShiftMovesEveryPointOfEachKindOfSchedule) {
  const Scenario base = with({});
  // Sets come first: the packaging cap exists only once set, and is then shifted.
  const Scenario s = with({shift("supply.suppliers[S].wafers_per_month=4.5"),
                           shift("funding.deals[E].tranches=-2"),
                           shift("sites[A].target_gw=12"), shift("sites[B].power.schedule=0.25"),
                           shift("supply.packaging_cap_gw=3"),
                           set("supply.packaging_cap_gw=[[2026-01, 0.5], [2026-12, 1]]")});
  auto moved = [](const Schedule& a, const Schedule& b, double months) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (b[i].month != a[i].month + months || b[i].value != a[i].value) return false;
    return true;
  };
  EXPECT_TRUE(moved(base.supply.suppliers[0].wafers_per_month, s.supply.suppliers[0].wafers_per_month, 4.5));
  EXPECT_TRUE(moved(base.funding.deals[1].tranches, s.funding.deals[1].tranches, -2));
  EXPECT_TRUE(moved(base.sites[0].target_gw, s.sites[0].target_gw, 12));
  EXPECT_TRUE(moved(base.sites[1].power_schedule, s.sites[1].power_schedule, 0.25));
  EXPECT_TRUE(moved(Schedule{{0, 0.5}, {11, 1}}, s.supply.packaging_cap_gw, 3));
  EXPECT_TRUE(moved(base.sites[1].target_gw, s.sites[1].target_gw, 0));  // only what was named
}

TEST(Overrides, AFractionalTargetShiftPutsTheLastTargetMonthAtTheNextWholeMonth) {
  // The target's last point, month 12 (2027-01), moved by 2.5 lies at 14.5: months_late counts
  // from month 15, so a site on target by then is 0 months late.
  const FlatScenario flat(with({shift("sites[A].target_gw=2.5")}));
  EXPECT_EQ(flat.sites()[0].target_last_month, 15);
  const FlatScenario whole(with({shift("sites[A].target_gw=3")}));
  EXPECT_EQ(whole.sites()[0].target_last_month, 15);
}

struct BadOverride {
  std::string name;
  std::string options;
  std::vector<std::string> says;
};

void PrintTo(const BadOverride& c, std::ostream* os) {
  *os << c.name;
}

class BadOverrides : public ::testing::TestWithParam<BadOverride> {};

TEST_P(BadOverrides, ExitTwoNamingTheOverrideAndWriteNothing) {
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  const auto r = run_caprisk("run " + config + " --paths 100 --quiet --out " + dir.file("out") +
                             " " + GetParam().options);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  for (const std::string& part : GetParam().says) EXPECT_TRUE(contains(r.output, part)) << r.output;
  EXPECT_FALSE(fs::exists(dir.file("out/percentiles.csv")));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadOverrides,
    ::testing::Values(
        BadOverride{"UnknownKey", "--set 'sites[A].power.availabilty=0.9'",
                    {"--set sites[A].power.availabilty=0.9", "did you mean 'availability'"}},
        BadOverride{"UnknownSection", "--set 'suply.program_share=0.5'",
                    {"--set suply.program_share=0.5", "did you mean 'supply'"}},
        BadOverride{"NoItemOfThatName", "--set 'sites[C].priority=1'",
                    {"--set sites[C].priority=1", "no item named 'C'", "its names: A, B"}},
        BadOverride{"IndexOutOfRange", "--set 'sites[2].priority=1'",
                    {"sites has 2 items, numbered from 0; there is no [2]"}},
        BadOverride{"ValueOutOfRange", "--set 'sites[B].power.availability=1.5'",
                    {"--set sites[B].power.availability=1.5: sites[1].power.availability",
                     "must be in [0, 1]"}},
        BadOverride{"NotYaml", "--set 'supply.program_share={dist: uniform'",
                    {"--set supply.program_share={dist: uniform"}},
        BadOverride{"NoEquals", "--set supply.program_share", {"--set expects PATH=VALUE"}},
        BadOverride{"ShiftOfAValue", "--shift 'sites[A].build_rate_gw=3'",
                    {"--shift sites[A].build_rate_gw=3", "not a schedule"}},
        BadOverride{"ShiftByText", "--shift 'sites[A].target_gw=soon'",
                    {"--shift sites[A].target_gw=soon", "number of months"}},
        BadOverride{"ShiftTooFar", "--shift 'sites[A].target_gw=5000'",
                    {"[-1200, 1200]"}}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(Overrides, SummaryRecordsThemAndTheConfigHashCoversThem) {
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  const std::string run = "run " + config + " --paths 500 --quiet --out ";
  ASSERT_EQ(run_caprisk(run + dir.file("plain")).exit_code, 0);
  const auto r = run_caprisk(run + dir.file("edited") +
                             " --set 'sites[A].build_rate_gw=0.1' --shift 'sites[B].target_gw=1'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto plain = nlohmann::json::parse(read_text(dir.file("plain/summary.json")));
  const auto edited = nlohmann::json::parse(read_text(dir.file("edited/summary.json")));
  const std::string file_hash = sha256_hex(two_sites);
  EXPECT_EQ(plain["config_sha256"], file_hash);
  EXPECT_EQ(plain["config_file_sha256"], file_hash);
  EXPECT_EQ(plain["overrides"], nlohmann::json::array());
  EXPECT_EQ(edited["config_file_sha256"], file_hash);
  EXPECT_NE(edited["config_sha256"], file_hash);
  EXPECT_EQ(edited["overrides"], nlohmann::json::array({"--set sites[A].build_rate_gw=0.1",
                                                       "--shift sites[B].target_gw=1"}));
  EXPECT_NE(read_text(dir.file("plain/percentiles.csv")),
            read_text(dir.file("edited/percentiles.csv")));
}

TEST(Overrides, ACheckpointBelongsToItsOverrides) {
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  const std::string run = "run " + config + " --paths 2000 --quiet --checkpoint " +
                          dir.file("ck") + " --out " + dir.file("out");
  ASSERT_EQ(run_caprisk(run).exit_code, 0);
  // (--force: past the folder's own refusal of another run, to the checkpoint's)
  const auto r = run_caprisk(run + " --resume --force --set 'sites[A].build_rate_gw=0.1'");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.output, "written for another config")) << r.output;
}

TEST(Overrides, AnErrorElsewhereInTheFileKeepsItsLineAndColumn) {
  // The sets are applied to the YAML; a mistake the override did not touch is still reported
  // where it is in the file, as without the override.
  TempDir dir;
  std::string text = two_sites;
  text.replace(text.find("wafers_per_month: [[2026-01, 60], [2027-01, 120]]"), 49,
               "wafers_per_month: 60");
  const std::string config = dir.write("two.yaml", text);
  const auto plain = run_caprisk("validate " + config);
  const auto edited = run_caprisk("validate " + config + " --set 'sites[A].build_rate_gw=0.3'");
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_EQ(edited.exit_code, 2);
  EXPECT_TRUE(contains(plain.output, "two.yaml:11:25: supply.suppliers[0].wafers_per_month"))
      << plain.output;
  EXPECT_EQ(edited.output, plain.output);
}

TEST(Overrides, ValidateAppliesAndListsThem) {
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  const auto good = run_caprisk("validate " + config + " --set 'scenario.paths=777'");
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_TRUE(contains(good.output, "paths:      777, seed 11")) << good.output;
  EXPECT_TRUE(contains(good.output, "--set scenario.paths=777"));
  const auto bad = run_caprisk("validate " + config + " --set 'scenario.horizon_months=0'");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.output, "--set scenario.horizon_months=0")) << bad.output;
}

// --- groups -----------------------------------------------------------------------------

TEST(Groups, CellsAreThePerPathSumsAndTheJointShortIndicator) {
  Scenario s = with({});
  s.paths = 400;
  testing::Simulation sim(s);
  const PathLayout layout = sim.layout();
  ASSERT_EQ(layout.group_count, 1);
  int joint = 0;
  for (std::uint64_t p = 0; p < s.paths; ++p) {
    for (int report = 0; report < layout.report_count; ++report) {
      const double a = sim.value(layout.shortfall(0, report), p);
      const double b = sim.value(layout.shortfall(1, report), p);
      EXPECT_EQ(sim.value(layout.group_shortfall(0, report), p), a + b);
      const double all_short = sim.value(layout.group_all_short(0, report), p);
      EXPECT_EQ(all_short, a > 0 && b > 0 ? 1.0 : 0.0);
      joint += all_short > 0 ? 1 : 0;
    }
    EXPECT_EQ(sim.value(layout.group_gw_months(0), p),
              sim.value(layout.gw_months(0), p) + sim.value(layout.gw_months(1), p));
  }
  EXPECT_GT(joint, 0);  // the indicator is not always 0, so the test above can fail
}

TEST(Groups, EveryTableHasTheGroupsRows) {
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  ASSERT_EQ(run_caprisk("run " + config + " --quiet --out " + dir.path).exit_code, 0);
  const auto pct = parse_csv(read_text(dir.file("percentiles.csv")));
  // Per site: 3 shortfall + gw-months + months_late; ALL: 3 + 1; Both: 3 + 1 + 3 all-short.
  EXPECT_EQ(pct.rows.size(), 2u * 5 + 4 + 7);
  const auto joint = pct.find({{"site", "Both"}, {"month", "2027-12"}, {"metric", "all_sites_short"}});
  const auto a = pct.find({{"site", "A"}, {"month", "2027-12"}, {"metric", "shortfall_gw"}});
  const auto b = pct.find({{"site", "B"}, {"month", "2027-12"}, {"metric", "shortfall_gw"}});
  const auto both = pct.find({{"site", "Both"}, {"month", "2027-12"}, {"metric", "shortfall_gw"}});
  EXPECT_NEAR(pct.number(both, "mean"), pct.number(a, "mean") + pct.number(b, "mean"), 1e-12);
  // The joint probability lies within the Fréchet bounds of the two marginal ones.
  const double pa = pct.number(a, "p_positive"), pb = pct.number(b, "p_positive");
  EXPECT_LE(pct.number(joint, "mean"), std::min(pa, pb));
  EXPECT_GE(pct.number(joint, "mean"), std::max(0.0, pa + pb - 1));
  EXPECT_EQ(pct.number(joint, "mean"), pct.number(joint, "p_positive"));
  const auto attribution = parse_csv(read_text(dir.file("attribution.csv")));
  const auto group_row = attribution.find({{"site", "Both"}, {"month", "2026-12"}});
  const auto all_row = attribution.find({{"site", "ALL"}, {"month", "2026-12"}});
  for (const char* share : {"none", "power", "supply", "funding"})  // both sites: ALL's shares
    EXPECT_EQ(attribution.text(group_row, share), attribution.text(all_row, share)) << share;
  const auto targets = parse_csv(read_text(dir.file("targets.csv")));
  EXPECT_EQ(targets.text(targets.find({{"site", "Both"}, {"month", "2027-12"}}), "target_gw"),
            "1.8");
  EXPECT_TRUE(contains(read_text(dir.file("summary.json")), "\"Both\""));
}

TEST(Groups, ACheckpointedRunResumesToTheSameTables) {
  // A group's all-sites-short indicator sits at its cell's upper bound (1) on many paths: the
  // pilot's bins around it must stay within the cell, or the saved state could not be read.
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  const std::string run = "run " + config + " --paths 3000 --quiet --out ";
  ASSERT_EQ(run_caprisk(run + dir.file("plain")).exit_code, 0);
  const std::string checkpointed = run + dir.file("ckpt") + " --checkpoint " + dir.file("ck");
  ASSERT_EQ(run_caprisk(checkpointed).exit_code, 0);
  const auto resumed = run_caprisk(checkpointed + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(read_text(dir.file("ckpt/percentiles.csv")), read_text(dir.file("plain/percentiles.csv")));
}

struct BadConfig {
  std::string name;
  std::string from;  ///< replaced in two_sites...
  std::string to;    ///< ...by this
  std::vector<std::string> says;
};

void PrintTo(const BadConfig& c, std::ostream* os) {
  *os << c.name;
}

class BadAnalysisConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadAnalysisConfig, ExitsTwoNamingFileLineAndField) {
  std::string text = two_sites;
  const auto at = text.find(GetParam().from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, GetParam().from.size(), GetParam().to);
  TempDir dir;
  const std::string config = dir.write("bad.yaml", text);
  const auto r = run_caprisk("validate " + config);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  for (const std::string& part : GetParam().says) EXPECT_TRUE(contains(r.output, part)) << r.output;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadAnalysisConfig,
    ::testing::Values(
        BadConfig{"GroupOfAnUnknownSite", "Both: [A, B]", "Both: [A, Bee]",
                  {"bad.yaml:34:", "groups.Both[1]", "unknown site 'Bee'"}},
        BadConfig{"GroupWithASiteTwice", "Both: [A, B]", "Both: [A, A]", {"groups.Both[1]"}},
        BadConfig{"GroupNamedAll", "Both: [A, B]", "ALL: [A, B]", {"bad.yaml:34:", "ALL"}},
        BadConfig{"GroupNamedLikeASite", "Both: [A, B]", "A: [A, B]", {"bad.yaml:34:"}},
        BadConfig{"EmptyGroup", "Both: [A, B]", "Both: []", {"groups.Both", "at least one site"}},
        BadConfig{"DuplicateStressName", "name: no_change", "name: late_wafers",
                  {"bad.yaml:39:", "stresses[1].name", "duplicate stress name 'late_wafers'"}},
        BadConfig{"UnknownStressKey", "    set: {\"sites[A].build_rate_gw\": 0.2}",
                  "    sett: {\"sites[A].build_rate_gw\": 0.2}",
                  {"bad.yaml:40:", "stresses[1].sett", "did you mean 'set'"}},
        BadConfig{"StressWithoutEdits", "    set: {\"sites[A].build_rate_gw\": 0.2}\n", "",
                  {"stresses[1]"}},
        BadConfig{"StressOfAnUnknownKey", "sites[A].build_rate_gw\": 0.2", "sites[A].build_rat\": 0.2",
                  {"bad.yaml:40:", "stresses[1].set.sites[A].build_rat",
                   "did you mean 'build_rate_gw'"}},
        BadConfig{"StressValueOutOfRange", "close_probability\": 0.5", "close_probability\": 2",
                  {"stresses[2].set.funding.deals[D].close_probability", "[0, 1]"}},
        BadConfig{"StressShiftOfAValue", "shift: {\"supply.suppliers[S].wafers_per_month\": 4.5}",
                  "shift: {\"supply.suppliers[S].capacity_factor\": 4.5}",
                  {"stresses[0].shift.supply.suppliers[S].capacity_factor", "not a schedule"}},
        BadConfig{"StressChangingTheReportMonths", "set: {\"sites[A].build_rate_gw\": 0.2}",
                  "set: {\"scenario.report_months\": [2026-06]}",
                  {"stress 'no_change' changes the scenario's sites, groups, report months"}},
        BadConfig{"StressSettingTheSeed", "set: {\"sites[A].build_rate_gw\": 0.2}",
                  "set: {\"scenario.seed\": 3}", {"cannot set scenario.seed"}},
        BadConfig{"StressNameWithASlash", "name: no_change", "name: no/change",
                  {"stresses[1].name"}}),
    [](const auto& test_case) { return test_case.param.name; });

// --- stress runs ------------------------------------------------------------------------

/// `caprisk stress` of the two-site config into a fresh folder.
class StressRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = new TempDir;
    config = dir->write("two.yaml", two_sites);
    const auto r = run_caprisk("stress " + config + " --out " + dir->file("out"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    output = r.output;
  }
  static void TearDownTestSuite() { delete dir; }
  static std::string out(const std::string& name) { return dir->file("out/" + name); }
  static TempDir* dir;
  static std::string config;
  static std::string output;
};

TempDir* StressRun::dir = nullptr;
std::string StressRun::config;
std::string StressRun::output;

TEST_F(StressRun, PairedDifferencesAreThePerPathDifferencesOfTheModel) {
  // The base and the stressed scenario simulated separately, path by path, give the
  // differences that stress_compare.csv reduces: same paths, same random numbers.
  const Scenario base = parse_scenario(two_sites, config);
  const Scenario late = stressed(two_sites, config, base, base.stresses[0]);
  testing::Simulation b(base), s(late);
  const auto compare = parse_csv(read_text(out("stress_compare.csv")));
  const PathLayout layout = b.layout();
  const double n = static_cast<double>(base.paths);
  int moved = 0;
  for (const auto& [site, cell] : {std::pair{"A", layout.shortfall(0, 1)},
                                   std::pair{"B", layout.shortfall(1, 2)},
                                   std::pair{"ALL", layout.gw_months(2)},
                                   std::pair{"Both", layout.group_shortfall(0, 1)}}) {
    double sum = 0, positive = 0;
    for (std::uint64_t p = 0; p < base.paths; ++p) {
      const double d = s.value(cell, p) - b.value(cell, p);
      sum += d;
      positive += d > kNoChange ? 1 : 0;
    }
    const double mean = sum / n;
    double squares = 0;
    for (std::uint64_t p = 0; p < base.paths; ++p) {
      const double d = s.value(cell, p) - b.value(cell, p) - mean;
      squares += d * d;
    }
    const double sd = std::sqrt(squares / (n - 1));
    const std::string metric = std::string(site) == "ALL" ? "shortfall_gw_months" : "shortfall_gw";
    const std::string month = std::string(site) == "ALL" ? "2027-12"
                              : std::string(site) == "B" ? "2027-12"
                                                         : "2026-12";
    const auto row = compare.find({{"stress", "late_wafers"}, {"site", site}, {"month", month},
                                   {"metric", metric}});
    EXPECT_NEAR(compare.number(row, "diff_mean"), mean, 1e-9 * (1 + std::fabs(mean))) << site;
    EXPECT_NEAR(compare.number(row, "diff_sd"), sd, 1e-6 * (1 + sd)) << site;
    EXPECT_NEAR(compare.number(row, "p_diff_positive"), positive / n, 2 / n) << site;
    const double half = 1.959963984540054 * compare.number(row, "diff_sd") / std::sqrt(n);
    EXPECT_NEAR(compare.number(row, "diff_ci_low"), compare.number(row, "diff_mean") - half, 1e-12);
    EXPECT_NEAR(compare.number(row, "diff_ci_high"), compare.number(row, "diff_mean") + half, 1e-12);
    EXPECT_NEAR(compare.number(row, "diff_mean"),
                compare.number(row, "stress_mean") - compare.number(row, "base_mean"), 1e-9);
    moved += mean != 0 ? 1 : 0;
  }
  EXPECT_GT(moved, 0);
}

TEST(StackedSimulator, RoundingNoiseIsNoChangeAndARealChangeIsKept) {
  // A stress that moves capacity between pools changes untouched sums by rounding alone; the
  // difference block must hold exactly U there (no change), and U + d for a real change.
  ReductionSpec spec;
  spec.layout = PathLayout{1, 1, 0};
  spec.percentiles = {50};
  spec.variants = 2;
  spec.difference_blocks = 1;
  const int cells = spec.layout.value_count();
  spec.upper.assign(static_cast<std::size_t>(cells * 3), 7.0);
  const double changes[] = {0.0, 1e-15, -3e-13, 9e-10, 2e-9, -0.25};
  const std::uint64_t count = std::size(changes);
  auto base = [](std::uint64_t, std::uint64_t n, const PathOutput& out) {
    for (std::uint64_t p = 0; p < n; ++p) out.values[p] = 0.1 + 0.2;  // a value with rounding
  };
  auto stressed = [&](std::uint64_t, std::uint64_t n, const PathOutput& out) {
    for (std::uint64_t p = 0; p < n; ++p) out.values[p] = 0.1 + 0.2 + changes[p];
  };
  std::vector<double> values(static_cast<std::size_t>(spec.value_cells()) * count, -1.0);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(spec.code_cells()) * count + 1, 0);
  const ChunkSimulator simulate = stacked_simulator({base, stressed}, spec);
  simulate(0, count, PathOutput{values.data(), codes.data(), count});
  const double* difference = values.data() + 2 * static_cast<std::size_t>(cells) * count;
  for (std::uint64_t p = 0; p < count; ++p) {
    const double d = (0.1 + 0.2 + changes[p]) - (0.1 + 0.2);
    EXPECT_EQ(difference[p], std::fabs(d) <= kNoChange ? 7.0 : 7.0 + d) << "path " << p;
  }
  EXPECT_EQ(difference[1], 7.0);
  EXPECT_GT(difference[4], 7.0);
  EXPECT_LT(difference[5], 7.0);
}

TEST_F(StressRun, AStressThatChangesNothingHasExactlyZeroDifferences) {
  const auto compare = parse_csv(read_text(out("stress_compare.csv")));
  int rows = 0;
  for (std::size_t r = 0; r < compare.rows.size(); ++r) {
    if (compare.text(r, "stress") != "no_change") continue;
    ++rows;
    for (const char* column : {"diff_mean", "diff_sd", "diff_ci_low", "diff_ci_high",
                               "p_diff_positive", "diff_p50", "diff_p95"})
      EXPECT_EQ(compare.text(r, column), "0") << column << " row " << r;
  }
  EXPECT_EQ(rows, 21);  // every row of percentiles.csv
  EXPECT_TRUE(contains(output, "Stress no_change\n")) << output;
  EXPECT_TRUE(contains(output, "no change")) << output;
}

TEST_F(StressRun, EachStressHasTheTablesOfARunWithItsEdits) {
  // The stress's own tables are the bytes of a plain run with the stress's edits as
  // overrides, and the base's those of a plain run.
  const std::string run = "run " + config + " --quiet --out ";
  ASSERT_EQ(run_caprisk(run + dir->file("plain")).exit_code, 0);
  ASSERT_EQ(run_caprisk(run + dir->file("late") +
                        " --shift 'supply.suppliers[S].wafers_per_month=4.5'")
                .exit_code,
            0);
  ASSERT_EQ(run_caprisk(run + dir->file("less") +
                        " --set 'funding.deals[D].close_probability=0.5'")
                .exit_code,
            0);
  for (const char* table : {"percentiles.csv", "attribution.csv", "targets.csv"}) {
    EXPECT_EQ(read_text(out(table)), read_text(dir->file("plain/") + table)) << table;
    EXPECT_EQ(read_text(out("stress/late_wafers/") + table), read_text(dir->file("late/") + table))
        << table;
    EXPECT_EQ(read_text(out("stress/d_closes_less/") + table),
              read_text(dir->file("less/") + table))
        << table;
  }
  EXPECT_NE(read_text(out("percentiles.csv")), read_text(out("stress/late_wafers/percentiles.csv")));
}

TEST_F(StressRun, SummaryListsTheStressesAndTheirChanges) {
  const auto summary = nlohmann::json::parse(read_text(out("summary.json")));
  ASSERT_EQ(summary["stresses"].size(), 3u);
  const auto& late = summary["stresses"][0];
  EXPECT_EQ(late["name"], "late_wafers");
  EXPECT_EQ(late["description"], "the wafers four and a half months late");
  EXPECT_EQ(late["edits"], nlohmann::json::array({"shift supply.suppliers[S].wafers_per_month=4.5"}));
  // Per entity (A, B, ALL, Both) and report month.
  EXPECT_EQ(late["shortfall_gw_change"].size(), 4u * 3);
  const auto compare = parse_csv(read_text(out("stress_compare.csv")));
  const auto row = compare.find({{"stress", "late_wafers"}, {"site", "ALL"}, {"month", "2027-12"},
                                 {"metric", "shortfall_gw"}});
  const auto& change = late["shortfall_gw_change"][2 * 3 + 2];
  EXPECT_EQ(change["site"], "ALL");
  EXPECT_EQ(change["month"], "2027-12");
  EXPECT_EQ(change["diff_mean"].get<double>(), compare.number(row, "diff_mean"));
}

TEST_F(StressRun, TheTerminalAnswerReadsAsGwWithItsInterval) {
  EXPECT_TRUE(contains(output, "Stress late_wafers: the wafers four and a half months late"))
      << output;
  const auto compare = parse_csv(read_text(out("stress_compare.csv")));
  const auto row = compare.find({{"stress", "late_wafers"}, {"site", "ALL"}, {"month", "2027-12"},
                                 {"metric", "shortfall_gw"}});
  char expected[128];
  std::snprintf(expected, sizeof expected, "%+.3f GW (95%% CI %+.3f to %+.3f)",
                compare.number(row, "diff_mean"), compare.number(row, "diff_ci_low"),
                compare.number(row, "diff_ci_high"));
  EXPECT_TRUE(contains(output, expected)) << expected << "\n" << output;
}

TEST(Stress, OnlyRunsTheNamedStresses) {
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  const auto r = run_caprisk("stress " + config + " --paths 500 --quiet --only d_closes_less --out " +
                             dir.file("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto compare = parse_csv(read_text(dir.file("out/stress_compare.csv")));
  for (std::size_t row = 0; row < compare.rows.size(); ++row)
    EXPECT_EQ(compare.text(row, "stress"), "d_closes_less");
  EXPECT_TRUE(fs::exists(dir.file("out/stress/d_closes_less/percentiles.csv")));
  EXPECT_FALSE(fs::exists(dir.file("out/stress/late_wafers")));
  // A later plain run into the folder (another kind of run: --force) shows only its own files.
  ASSERT_EQ(run_caprisk("run " + config + " --paths 500 --quiet --force --out " + dir.file("out"))
                .exit_code,
            0);
  EXPECT_FALSE(fs::exists(dir.file("out/stress_compare.csv")));
  EXPECT_FALSE(fs::exists(dir.file("out/stress")));
}

TEST(Stress, ACheckpointBelongsToItsSelectionOfStresses) {
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  const std::string stress = "stress " + config + " --paths 2000 --quiet --checkpoint " +
                             dir.file("ck") + " --out " + dir.file("out");
  ASSERT_EQ(run_caprisk(stress + " --only late_wafers").exit_code, 0);
  // (--force: past the folder's own refusal of another run, to the checkpoint's)
  for (const std::string& other : {stress + " --only no_change --resume --force",
                                   "run " + config + " --paths 2000 --quiet --checkpoint " +
                                       dir.file("ck") + " --resume --out " + dir.file("o2")}) {
    const auto r = run_caprisk(other);
    EXPECT_EQ(r.exit_code, 2) << other;
    EXPECT_TRUE(contains(r.output, "written for another config")) << r.output;
  }
  EXPECT_EQ(run_caprisk(stress + " --only late_wafers --resume").exit_code, 0);
}

TEST(Stress, BadRequestsExitTwo) {
  TempDir dir;
  const std::string config = dir.write("two.yaml", two_sites);
  const auto unknown = run_caprisk("stress " + config + " --only late_wafer --out " + dir.file("o"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.output, "--only late_wafer: ")) << unknown.output;
  EXPECT_TRUE(contains(unknown.output, "did you mean 'late_wafers'")) << unknown.output;
  const auto none = run_caprisk("stress " + source_path("configs/minimal.yaml") + " --out " +
                                dir.file("o"));
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(contains(none.output, "no stresses to run")) << none.output;
  EXPECT_FALSE(fs::exists(dir.file("o/percentiles.csv")));
}

// --- the default scenario's stresses ----------------------------------------------------

TEST(DefaultStresses, EachRaisesTheProgramsShortfall) {
  // Each shipped stress must make things worse for the program: ALL's shortfall GW-months
  // rise by more than three standard errors of the paired difference, with that error capped
  // at a fifth of the change (so that the test can fail both ways).
  TempDir dir;
  const auto r = run_caprisk("stress " + source_path("configs/stargate.yaml") +
                             " --paths 4000 --quiet --out " + dir.path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto compare = parse_csv(read_text(dir.file("stress_compare.csv")));
  const std::vector<std::string> expected = {
      "hynix_late",       "samsung_disrupted",     "hbm_yield_short",    "oracle_never_closes",
      "oracle_year_late", "hynix_and_oracle_late", "abilene_power_late", "nvidia_loi_lapses"};
  for (const std::string& stress : expected) {
    const auto row = compare.find({{"stress", stress}, {"site", "ALL"},
                                   {"metric", "shortfall_gw_months"}});
    const double change = compare.number(row, "diff_mean");
    const double error = compare.number(row, "diff_sd") / std::sqrt(compare.number(row, "paths"));
    EXPECT_GT(change, 3 * error) << stress;
    EXPECT_LT(error, 0.2 * change) << stress;
  }
  // The combined question moves the numbers at least as much as either of its halves.
  const auto at = [&](const std::string& stress) {
    return compare.number(compare.find({{"stress", stress}, {"site", "ALL"},
                                        {"metric", "shortfall_gw_months"}}),
                          "diff_mean");
  };
  EXPECT_GE(at("hynix_and_oracle_late"), at("hynix_late"));
  EXPECT_GE(at("hynix_and_oracle_late"), at("oracle_year_late"));
}

}  // namespace
}  // namespace caprisk
