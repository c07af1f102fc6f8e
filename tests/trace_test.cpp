// caprisk trace: a replayed path is the path the run computed, and its month-by-month CSV
// adds up to the run's outputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "host/config/config.h"
#include "host/run/trace.h"
#include "test_support.h"

namespace caprisk {
namespace {

using testing::parse_csv;
using testing::read_text;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

Scenario stargate(std::uint64_t paths) {
  const std::string path = source_path("configs/stargate.yaml");
  Scenario s = parse_scenario(read_text(path), path);
  s.paths = paths;
  return s;
}

TEST(Trace, AReplayedPathIsThePathTheRunComputed) {
  const Scenario s = stargate(3000);
  testing::Simulation run(s);
  const PathLayout layout = run.layout();
  for (std::uint64_t path : {0u, 17u, 1234u, 2999u}) {
    const PathReplay r = replay_path(*run.flat, s.seed, path);
    for (int c = 0; c < layout.value_count(); ++c)
      ASSERT_EQ(r.values[static_cast<std::size_t>(c)], run.value(c, path))
          << "path " << path << " cell " << c;
    for (int c = 0; c < layout.code_count(); ++c)
      ASSERT_EQ(r.codes[static_cast<std::size_t>(c)], run.code(c, path))
          << "path " << path << " code " << c;
  }
}

TEST(Trace, ItsMonthsAddUpToThePathsOutputs) {
  const Scenario s = stargate(100);
  const FlatScenario flat(s);
  const PathLayout layout = flat.layout();
  const auto T = static_cast<std::size_t>(s.horizon_months);
  for (std::uint64_t path : {3u, 42u}) {
    const PathReplay r = replay_path(flat, s.seed, path);
    double all = 0;
    for (std::size_t i = 0; i < s.sites.size(); ++i) {
      double gw_months = 0, installed = 0;
      for (std::size_t t = 0; t < T; ++t) {
        gw_months += r.shortfall[i * T + t];
        installed += r.allocated[i * T + t];
        EXPECT_NEAR(r.installed[i * T + t], installed, 1e-9) << s.sites[i].name << " " << t;
        EXPECT_LE(r.allocated[i * T + t], std::max(0.0, r.room[i * T + t]) + 1e-12);
        EXPECT_LE(r.allocated[i * T + t], r.funds[i * T + t] + 1e-12);
      }
      EXPECT_NEAR(gw_months, r.values[static_cast<std::size_t>(layout.gw_months(int(i)))], 1e-9);
      all += gw_months;
    }
    EXPECT_NEAR(all, r.values[static_cast<std::size_t>(layout.gw_months(layout.site_count))], 1e-9);
    // Supply: what arrives in month t was produced lead-time months before.
    const int lead = r.statics.program.lead_time_months;
    for (std::size_t t = static_cast<std::size_t>(lead); t < T; ++t)
      EXPECT_EQ(r.arrived[t], r.produced[t - static_cast<std::size_t>(lead)]);
  }
}

TEST(Trace, TheCommandWritesTheCsvAndPrintsThePath) {
  TempDir dir;
  const std::string config = source_path("configs/stargate.yaml");
  const auto r = run_caprisk("trace " + config + " --path 48213 --csv " + dir.file("t.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Path 48213 of stargate-base"), std::string::npos) << r.output;
  const testing::CsvTable t = parse_csv(read_text(dir.file("t.csv")));
  // The CSV's monthly shortfalls of every site add up to the run's ALL GW-months of that path.
  const PathReplay replay = replay_path(FlatScenario(stargate(500000)), 20251001, 48213);
  double all = 0;
  int binding_rows = 0;
  for (std::size_t row = 0; row < t.rows.size(); ++row) {
    if (t.text(row, "kind") != "site") continue;
    if (t.text(row, "quantity") == "shortfall_gw") all += t.number(row, "value");
    binding_rows += t.text(row, "quantity") == "binding" ? 1 : 0;
  }
  const FlatScenario flat(stargate(1));
  EXPECT_NEAR(all, replay.values[static_cast<std::size_t>(flat.layout().gw_months(11))], 1e-9);
  EXPECT_EQ(binding_rows, 11 * 60);
  EXPECT_EQ(t.text(t.find({{"month", "static"}, {"name", "Oracle"}, {"quantity", "closes"}}),
                   "value"),
            replay.statics.deals[0].closes ? "1" : "0");
}

TEST(TailPaths, AreTheWorstPathsOfEachSiteAndAllAndTheTraceReplaysThem) {
  // tail_paths.csv against a full sort of every path's GW-months (ties: smaller ID first).
  TempDir dir;
  const std::string config = source_path("configs/stargate.yaml");
  const auto r = run_caprisk("run " + config + " --paths 3000 --quiet --chunk-paths 700 --out " +
                             dir.file("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const testing::CsvTable t = parse_csv(read_text(dir.file("out/tail_paths.csv")));
  const Scenario s = stargate(3000);
  testing::Simulation run(s);
  const PathLayout layout = run.layout();
  std::size_t checked = 0;
  for (int entity = 0; entity <= layout.site_count; ++entity) {
    const std::string name = entity == layout.site_count ? "ALL" : s.sites[entity].name;
    std::vector<TailPath> all;
    for (std::uint64_t p = 0; p < s.paths; ++p)
      all.push_back({run.value(layout.gw_months(entity), p), p});
    std::sort(all.begin(), all.end(), worse);
    std::size_t listed = 0;
    for (std::size_t row = 0; row < t.rows.size(); ++row) {
      if (t.text(row, "site") != name) continue;
      ASSERT_LT(listed, 20u);
      EXPECT_EQ(std::stoull(t.text(row, "path")), all[listed].path) << name << " " << listed;
      EXPECT_EQ(t.number(row, "shortfall_gw_months"), all[listed].value) << name;
      EXPECT_EQ(std::stoi(t.text(row, "rank")), static_cast<int>(listed) + 1);
      ++listed;
    }
    // Twenty, or every path that is short at all when fewer are.
    std::size_t short_paths = 0;
    while (short_paths < all.size() && all[short_paths].value > 0) ++short_paths;
    EXPECT_EQ(listed, std::min<std::size_t>(20, short_paths)) << name;
    checked += listed;
  }
  EXPECT_GT(checked, 100u);
  // The worst path of ALL, replayed, is short by what the table says.
  const std::size_t worst = t.find({{"site", "ALL"}, {"rank", "1"}});
  const PathReplay replay = replay_path(*run.flat, s.seed, std::stoull(t.text(worst, "path")));
  EXPECT_EQ(replay.values[static_cast<std::size_t>(layout.gw_months(layout.site_count))],
            t.number(worst, "shortfall_gw_months"));
}

TEST(Trace, FromARunsFolderReplaysThatRunsPathAndRefusesAnother) {
  TempDir dir;
  const std::string config = dir.write("minimal.yaml", read_text(source_path("configs/minimal.yaml")));
  const auto run = run_caprisk("run " + config + " --paths 4000 --seed 7 --set "
                               "'funding.deals[Oracle].close_probability=0.99' --out " +
                               dir.file("out"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const testing::CsvTable t = parse_csv(read_text(dir.file("out/tail_paths.csv")));
  const std::string worst = t.text(t.find({{"site", "ALL"}, {"rank", "1"}}), "path");
  EXPECT_NE(run.output.find("replay it: caprisk trace --from " + dir.file("out") + " --path " +
                            worst),
            std::string::npos)
      << run.output;
  const auto r = run_caprisk("trace --from " + dir.file("out") + " --path " + worst + " --csv " +
                             dir.file("t.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("(seed 7)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("with --set funding.deals[Oracle].close_probability=0.99"),
            std::string::npos)
      << r.output;
  // Another seed on top is another path: tail_paths.csv says so.
  const auto other = run_caprisk("trace --from " + dir.file("out") + " --path " + worst +
                                 " --seed 8 --quiet --csv " + dir.file("t2.csv"));
  EXPECT_EQ(other.exit_code, 1) << other.output;
  EXPECT_NE(other.output.find("this is not the run's path"), std::string::npos) << other.output;
  // An edited config is not the one the run read.
  dir.write("minimal.yaml", read_text(config) + "\n# edited\n");
  const auto edited = run_caprisk("trace --from " + dir.file("out") + " --path 1 --quiet --csv " +
                                  dir.file("t3.csv"));
  EXPECT_EQ(edited.exit_code, 2) << edited.output;
  EXPECT_NE(edited.output.find("is not the file that run read"), std::string::npos)
      << edited.output;
}

TEST(Trace, BadPathsExitTwoAndWriteNothing) {
  TempDir dir;
  const std::string config = source_path("configs/minimal.yaml");
  for (const std::string& options :
       {std::string("--path 20000"), std::string("--path -1"), std::string("--path 1.5"),
        std::string("--path x"), std::string(""), std::string("--path 5 --paths 5")}) {
    const auto r = run_caprisk("trace " + config + " " + options + " --csv " + dir.file("t.csv"));
    EXPECT_EQ(r.exit_code, 2) << options << ": " << r.output;
    EXPECT_NE(r.output.find("--path"), std::string::npos) << options << ": " << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("t.csv"))) << options;
  }
  // Within a larger run's paths it is fine.
  EXPECT_EQ(run_caprisk("trace " + config + " --path 20000 --paths 30000 --quiet --csv " +
                        dir.file("t.csv"))
                .exit_code,
            0);
}

}  // namespace
}  // namespace caprisk
