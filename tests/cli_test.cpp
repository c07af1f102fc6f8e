// `caprisk run` as a user runs it: output files, reproducibility, bad input, exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "test_support.h"

namespace caprisk {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::read_text;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

std::string minimal_config() {
  return source_path("configs/minimal.yaml");
}

using testing::contains;

/// Files the run left in `dir`, hidden temporaries included.
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(CliRun, WritesItsResultFiles) {
  TempDir dir;
  const CommandResult r =
      run_caprisk("run " + minimal_config() + " --paths 3000 --quiet --out " + dir.path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The results, each a link into .caprisk/current (the run's own folder), and nothing else.
  EXPECT_EQ(files_in(dir.path),
            (std::vector<std::string>{".caprisk", "attribution.csv", "drivers.csv",
                                      "percentiles.csv", "summary.json", "tail_paths.csv",
                                      "targets.csv"}));
  for (const char* name : {"attribution.csv", "percentiles.csv", "summary.json", "targets.csv"})
    EXPECT_EQ(fs::read_symlink(dir.file(name)), fs::path(".caprisk/current") / name) << name;
  EXPECT_EQ(files_in(dir.file(".caprisk")), (std::vector<std::string>{"current", "lock", "runs"}));
  const std::string csv = read_text(dir.file("percentiles.csv"));
  EXPECT_EQ(csv.rfind("site,month,metric,paths,mean,sd,p1,p1_ci_low,p1_ci_high,", 0), 0u);
  EXPECT_TRUE(contains(csv, "\nAbilene TX,2026-06,shortfall_gw,3000,"));
  EXPECT_TRUE(contains(csv, "\nALL,2028-12,shortfall_gw_months,3000,"));
  EXPECT_TRUE(contains(csv, "\nAbilene TX,2028-12,months_late,3000,"));
  // 2 entities x (5 report months + gw-months) + 1 months_late row + header.
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2 * 6 + 1 + 1);

  const auto summary = nlohmann::json::parse(read_text(dir.file("summary.json")));
  EXPECT_EQ(summary["paths"], 3000);
  EXPECT_EQ(summary["seed"], 42);
  EXPECT_EQ(summary["backend"], "cpu");
  EXPECT_EQ(summary["config_sha256"].get<std::string>().size(), 64u);
  EXPECT_GT(summary["paths_per_second"].get<double>(), 0.0);
  EXPECT_TRUE(summary["headline"].contains("ALL"));

  const std::string attribution = read_text(dir.file("attribution.csv"));
  EXPECT_EQ(attribution.rfind("site,month,paths,none,power,supply,funding\n", 0), 0u);
}

std::vector<std::vector<std::string>> split_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) fields.push_back(cell);
    if (!line.empty() && line.back() == ',') fields.push_back("");
    rows.push_back(fields);
  }
  return rows;
}

TEST(CliRun, ReportInvariantsHoldOnTheDefaultScenario) {
  TempDir dir;
  const CommandResult r = run_caprisk("run " + source_path("configs/stargate.yaml") +
                                      " --paths 4000 --quiet --out " + dir.path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = split_csv(read_text(dir.file("percentiles.csv")));
  const auto& header = rows[0];
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const std::vector<std::string> qs = {"p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"};
  // (11 sites + ALL) x 6 rows + months_late, then 4 groups x (6 rows + 5 all_sites_short).
  ASSERT_EQ(rows.size(), 1u + 12u * 6u + 11u + 4u * 11u);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    ASSERT_EQ(row.size(), header.size()) << "row " << i;
    double previous = -1e300;
    for (const auto& q : qs) {
      const double value = std::stod(row[column(q)]);
      EXPECT_GE(value, previous) << row[0] << " " << row[1] << " " << q;
      EXPECT_LE(std::stod(row[column(q + "_ci_low")]), value);
      EXPECT_GE(std::stod(row[column(q + "_ci_high")]), value);
      previous = value;
    }
    EXPECT_GE(std::stod(row[column("cvar95")]), std::stod(row[column("p95")]));
    const double share = std::stod(row[column("p_positive")]);
    EXPECT_GE(share, 0.0);
    EXPECT_LE(share, 1.0);
    EXPECT_EQ(row[column("censored_share")].empty(), row[2] != "months_late");
  }
  // ALL and each group: the shares of their site-paths, the mean of their sites' shares.
  const std::map<std::string, std::vector<std::string>> groups = {
      {"Texas", {"Abilene TX", "Shackelford County TX", "Milam County TX"}},
      {"US", {"Abilene TX", "Shackelford County TX", "Milam County TX", "Dona Ana County NM",
              "Port Washington WI", "Saline Township MI", "Lordstown OH"}},
      {"Korea", {"Pohang KR", "South Jeolla KR"}},
      {"Outside US", {"Stargate UAE", "Stargate Norway", "Pohang KR", "South Jeolla KR"}}};
  const auto attribution = split_csv(read_text(dir.file("attribution.csv")));
  ASSERT_EQ(attribution.size(), 1u + 16u * 5u);  // (11 sites + ALL + 4 groups) x 5 months
  std::map<std::string, std::map<std::string, std::array<double, 4>>> shares;  // site, month
  for (std::size_t i = 1; i < attribution.size(); ++i) {
    double sum = 0;
    for (std::size_t c = 3; c < 7; ++c) sum += std::stod(attribution[i][c]);
    EXPECT_NEAR(sum, 1.0, 1e-12) << attribution[i][0] << " " << attribution[i][1];
    for (std::size_t c = 3; c < 7; ++c)
      shares[attribution[i][0]][attribution[i][1]][c - 3] = std::stod(attribution[i][c]);
  }
  for (const auto& [name, members] : groups) {
    for (const auto& [month, group_shares] : shares[name]) {
      for (std::size_t k = 0; k < 4; ++k) {
        double mean = 0;
        for (const std::string& site : members) mean += shares.at(site).at(month)[k];
        EXPECT_NEAR(group_shares[k], mean / static_cast<double>(members.size()), 1e-12) << name;
      }
    }
  }
  for (const auto& [month, all_shares] : shares["ALL"])
    for (std::size_t k = 0; k < 4; ++k) {
      double mean = 0;
      for (const auto& [site, by_month] : shares)
        if (site != "ALL" && groups.count(site) == 0) mean += by_month.at(month)[k];
      EXPECT_NEAR(all_shares[k], mean / 11, 1e-12) << month;
    }
  EXPECT_EQ(attribution.back()[0], "Outside US");
  // targets.csv: every site, ALL and group at every report month; ALL and groups the sums.
  const auto targets = split_csv(read_text(dir.file("targets.csv")));
  ASSERT_EQ(targets.size(), 1u + 16u * 5u);
  EXPECT_EQ(targets[0], (std::vector<std::string>{"site", "month", "target_gw"}));
  std::map<std::string, std::map<std::string, double>> target;  // site, month
  for (std::size_t i = 1; i < targets.size(); ++i)
    target[targets[i][0]][targets[i][1]] = std::stod(targets[i][2]);
  for (const auto& [month, value] : target["ALL"]) {
    double sum = 0;
    for (const auto& [site, by_month] : target)
      if (site != "ALL" && groups.count(site) == 0) sum += by_month.at(month);
    EXPECT_NEAR(value, sum, 1e-12) << month;
  }
  for (const auto& [name, members] : groups)
    for (const auto& [month, value] : target[name]) {
      double sum = 0;
      for (const std::string& site : members) sum += target.at(site).at(month);
      EXPECT_NEAR(value, sum, 1e-12) << name << " " << month;
    }
  EXPECT_EQ(targets[1], (std::vector<std::string>{"Abilene TX", "2026-12", "0.75"}));
}

TEST(CliRun, SameSeedGivesByteIdenticalTablesForAnyThreadCount) {
  TempDir one, two;
  const std::string common = "run " + minimal_config() + " --paths 5000 --quiet --seed 99";
  ASSERT_EQ(run_caprisk(common + " --threads 1 --out " + one.path).exit_code, 0);
  ASSERT_EQ(run_caprisk(common + " --threads 2 --out " + two.path).exit_code, 0);
  for (const char* name : {"percentiles.csv", "attribution.csv"})
    EXPECT_EQ(read_text(one.file(name)), read_text(two.file(name))) << name;
  // A different seed gives different tables (the comparison above can fail).
  TempDir other;
  ASSERT_EQ(run_caprisk("run " + minimal_config() + " --paths 5000 --quiet --seed 100 --out " +
                        other.path)
                .exit_code,
            0);
  EXPECT_NE(read_text(one.file("percentiles.csv")), read_text(other.file("percentiles.csv")));
}

TEST(CliRun, PrintsTheHeadlineTable) {
  TempDir dir;
  const CommandResult r =
      run_caprisk("run " + minimal_config() + " --paths 2000 --out " + dir.path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "P50 / P95"));
  EXPECT_TRUE(contains(r.output, "backend cpu"));
  // Each site's target, P(short), the share that reaches the target and what binds most.
  EXPECT_TRUE(contains(r.output, "target P(short)  reach  binds most")) << r.output;
  std::istringstream lines(r.output);
  std::string line, abilene;
  while (std::getline(lines, line))
    if (line.rfind("Abilene TX", 0) == 0) abilene = line;
  std::istringstream fields(abilene.substr(10));
  std::string target, p_short, reach, cause;
  fields >> target >> p_short >> reach >> cause;
  EXPECT_EQ(target, "1.20") << abilene;
  EXPECT_EQ(p_short.back(), '%') << abilene;
  EXPECT_EQ(reach.back(), '%') << abilene;
  EXPECT_TRUE(cause == "power" || cause == "supply" || cause == "funding") << abilene;
  const auto outlook = nlohmann::json::parse(read_text(dir.file("summary.json")))["outlook"];
  EXPECT_EQ(outlook["Abilene TX"]["target_gw"], 1.2);
  EXPECT_TRUE(outlook["ALL"]["reach_share"].is_null());
}

TEST(CliValidate, WarnsOfTheStructuralTrapsWithTheirNumbers) {
  // Every value allowed, every trap of docs/CONFIG.md "Warnings" at once: a report month
  // after the horizon, power that cannot reach the target, deals that cannot pay for it, and
  // supply so ample it can never bind.
  TempDir dir;
  std::string yaml = testing::hand_scenario;
  auto edit = [&yaml](const std::string& from, const std::string& to) {
    ASSERT_NE(yaml.find(from), std::string::npos) << from;
    yaml.replace(yaml.find(from), from.size(), to);
  };
  edit("report_months: [2026-01, 2026-05, 2026-12]", "report_months: [2026-01, 2026-05, 2027-03]");
  edit("[[2026-01, 100]]", "[[2026-01, 1000]]");
  const std::string config = dir.write("traps.yaml", yaml);
  for (const std::string& command : {"validate " + config,
                                    "run " + config + " --quiet --out " + dir.file("out")}) {
    const CommandResult r = run_caprisk(command);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const char* expected :
         {"caprisk: warning: " , "scenario.report_months[2]: 2027-03 is after the horizon's "
          "last month 2026-12 and is not reported",
          "site 'A': its deals (D) can pay for at most 0.5 GW ($5B at the lowest capex of $10B "
          "per GW), below its 1 GW target",
          "supply: even with every input at its worst, at least 1 GW arrive every month, "
          "more than all sites can install at once (0.3 GW a month)"})
      EXPECT_TRUE(contains(r.output, expected)) << expected << "\n" << r.output;
  }
  const auto targets = split_csv(read_text(dir.file("out/targets.csv")));
  EXPECT_EQ(targets.size(), 1u + 2u * 2u);  // the month after the horizon is not reported
  // Power below target, and the shipped configs: no warning.
  edit("power: {schedule: [[2026-01, 0.25], [2026-04, 1.0]]}",
       "power: {schedule: [[2026-01, 0.25], [2026-04, 0.9]]}");
  EXPECT_TRUE(contains(run_caprisk("validate " + dir.write("power.yaml", yaml)).output,
                       "site 'A': its best-case power, 1 availability x 0.9 GW planned = 0.9 GW, "
                       "stays below 98% of its 1 GW target"));
  for (const char* shipped : {"configs/stargate.yaml", "configs/minimal.yaml"})
    EXPECT_FALSE(contains(run_caprisk("validate " + source_path(shipped)).output, "warning"))
        << shipped;
}

struct BadRun {
  std::string name;
  std::string arguments;  ///< after "run CONFIG"
  std::string message;
};

class CliBadRun : public ::testing::TestWithParam<BadRun> {};

TEST_P(CliBadRun, ExitsTwoWithAClearMessageAndWritesNothing) {
  TempDir dir;
  const std::string out = dir.file("out");
  const CommandResult r =
      run_caprisk("run " + minimal_config() + " " + GetParam().arguments + " --out " + out);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, GetParam().message)) << r.output;
  EXPECT_EQ(r.output.rfind("caprisk: error: ", 0), 0u) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

INSTANTIATE_TEST_SUITE_P(
    Options, CliBadRun,
    ::testing::Values(BadRun{"ZeroPaths", "--paths 0", "--paths expects a whole number in [1, "},
                      BadRun{"NegativePaths", "--paths -5", "--paths expects a whole number"},
                      BadRun{"FractionalPaths", "--paths 2.5", "got '2.5'"},
                      BadRun{"TextPaths", "--paths many", "got 'many'"},
                      BadRun{"AbsurdPaths", "--paths 1e19", "--paths expects a whole number"},
                      BadRun{"ZeroThreads", "--threads 0", "--threads expects"},
                      BadRun{"NegativeSeed", "--seed -1", "--seed expects a whole number >= 0"},
                      BadRun{"UnknownBackend", "--backend tpu",
                             "--backend expects auto, cpu or cuda"},
                      BadRun{"UnknownOption", "--pahts 10", "unrecognised option '--pahts'"},
                      // Not a prefix of --paths taken silently (Boost's guessing is off).
                      BadRun{"AbbreviatedOption", "--path 1000",
                             "unrecognised option '--path' (did you mean '--paths'?)"},
                      BadRun{"AbbreviatedThreads", "--thread 2", "(did you mean '--threads'?)"},
                      BadRun{"CudaWithoutGpu", "--backend cuda", "--backend cuda"},
                      BadRun{"ThreadsBeyondTheMachine", "--threads 4096",
                             "at most 16 per hardware thread"},
                      BadRun{"ChunkTooLargeForMemory",
                             "--paths 100000000 --chunk-paths 50000000",
                             "paths fit in the 1 GiB a chunk may take"}),
    [](const auto& test_case) { return test_case.param.name; });

TEST(CliRun, AChunkLargerThanTheRunTakesOnlyTheRunsPaths) {
  // Buffers follow the chunk: a chunk of 5e7 paths for a run of 2000 must not allocate 5e7.
  TempDir dir;
  const CommandResult r = run_caprisk("run " + minimal_config() +
                                      " --paths 2000 --chunk-paths 5e7 --quiet --out " + dir.path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto summary = nlohmann::json::parse(read_text(dir.file("summary.json")));
  EXPECT_EQ(summary["backend_details"]["chunk_paths"], 2000);
}

TEST(CliRun, InputsAtEverySizeLimitGiveFiniteTables) {
  // The largest (and smallest) values every key accepts: nothing in the tables may become inf
  // or nan (docs/CONFIG.md, "Limits").
  std::string huge = testing::hand_scenario;
  auto set = [&huge](const std::string& from, const std::string& to) {
    const std::size_t at = huge.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    huge.replace(at, from.size(), to);
  };
  set("program_share: 1", "program_share: 1");
  set("stacks_per_wafer: 1", "stacks_per_wafer: 10000");
  set("stacks_per_accelerator: 1", "stacks_per_accelerator: 0.01");
  set("kw_per_accelerator: 1000", "kw_per_accelerator: 100000");
  set("wafers_per_month: [[2026-01, 100]]", "wafers_per_month: [[2026-01, 1e9]]");
  set("capex_per_gw: 10", "capex_per_gw: 0.001");
  set("tranches: [[2026-01, 5]]", "tranches: [[2026-01, 1e7], [2026-02, 1e7]]");
  set("target_gw: [[2026-01, 1.0]]", "target_gw: [[2026-01, 100000]]");
  set("build_rate_gw: 0.3", "build_rate_gw: 100000");
  // Power on time (every limit meets every other in the sums), and delayed by a lognormal
  // that draws up to 3e7 months.
  for (const char* delay : {"0", "{dist: lognormal, median: 1e6, p90: 2e6}"}) {
    std::string config_text = huge;
    const std::string power = "power: {schedule: [[2026-01, 0.25], [2026-04, 1.0]]}";
    config_text.replace(config_text.find(power), power.size(),
                        std::string("power: {schedule: [[2026-01, 100000]], delay_months: ") +
                            delay + "}");
    TempDir dir;
    const std::string config = dir.write("huge.yaml", config_text);
    const CommandResult r =
        run_caprisk("run " + config + " --paths 200 --quiet --out " + dir.path);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const char* file : {"percentiles.csv", "attribution.csv", "summary.json"}) {
      const std::string text = read_text(dir.file(file));
      EXPECT_FALSE(contains(text, "inf") || contains(text, "nan")) << file << ":\n" << text;
    }
  }
}

TEST(CliRun, UnwritableOutputDirectoryIsAUserError) {
  TempDir dir;
  const std::string blocker = dir.write("not-a-directory", "x");
  const CommandResult r =
      run_caprisk("run " + minimal_config() + " --paths 100 --out " + blocker + "/sub");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot create the output directory")) << r.output;

  if (geteuid() != 0) {  // root ignores permission bits
    const std::string locked = dir.file("locked");
    fs::create_directory(locked);
    fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
    const CommandResult denied =
        run_caprisk("run " + minimal_config() + " --paths 100 --out " + locked);
    EXPECT_EQ(denied.exit_code, 2) << denied.output;
    EXPECT_TRUE(contains(denied.output, "not writable")) << denied.output;
  }
}

TEST(CliRun, ScenarioThatCanNeverReceiveSupplyIsRefusedUnlessAllowed) {
  TempDir dir;
  std::string yaml = read_text(minimal_config());
  const std::string lead = "lead_time_months: {dist: triangular, min: 3, mode: 5, max: 8}";
  ASSERT_NE(yaml.find(lead), std::string::npos);
  yaml.replace(yaml.find(lead), lead.size(), "lead_time_months: 40");
  const std::string config = dir.write("late.yaml", yaml);
  const std::string out = dir.file("out");
  const CommandResult r = run_caprisk("run " + config + " --paths 100 --out " + out);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "no supply can ever reach the sites")) << r.output;
  EXPECT_TRUE(contains(r.output, "supply.lead_time_months")) << r.output;
  EXPECT_TRUE(files_in(out).empty());

  const CommandResult allowed =
      run_caprisk("run " + config + " --paths 100 --quiet --allow-no-supply --out " + out);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.output;
  // Every path is then short by the whole target: P(shortfall > 0) = 1 at every report month.
  const std::string csv = read_text(out + "/percentiles.csv");
  EXPECT_TRUE(contains(csv, "\nAbilene TX,2026-06,shortfall_gw,100,"));
}

TEST(CliRun, ConfigErrorsExitTwoBeforeAnythingIsWritten) {
  TempDir dir;
  const std::string config = dir.write("bad.yaml", "scenario: {name: x}\n");
  const std::string out = dir.file("out");
  const CommandResult r = run_caprisk("run " + config + " --out " + out);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.output, "bad.yaml:1:")) << r.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(Cli, VersionHelpAndUsage) {
  const CommandResult version = run_caprisk("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output.rfind("caprisk 0.", 0), 0u) << version.output;
  EXPECT_TRUE(contains(version.output, "commit"));
  EXPECT_EQ(run_caprisk("--help").exit_code, 0);
  EXPECT_EQ(run_caprisk("run --help").exit_code, 0);
  EXPECT_EQ(run_caprisk("").exit_code, 2);
  const CommandResult unknown = run_caprisk("simulate x.yaml");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.output, "unknown command 'simulate'"));
  EXPECT_EQ(run_caprisk("run").exit_code, 2);
}

TEST(Cli, DevicesSaysWhyThereIsNoneAndExitsZero) {
  const CommandResult r = run_caprisk("devices");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "device")) << r.output;
}

}  // namespace
}  // namespace caprisk

namespace caprisk {
namespace {

/// Every key path of a JSON document ("backend_details.passes", ...), without the values.
std::set<std::string> key_paths(const nlohmann::json& j, const std::string& prefix = "") {
  std::set<std::string> keys;
  if (!j.is_object()) return keys;
  for (const auto& [key, value] : j.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    keys.insert(path);
    if (key != "headline" && key != "outlook")  // their keys are the sites and months
      for (const std::string& inner : key_paths(value, path)) keys.insert(inner);
  }
  return keys;
}

TEST(Summary, EveryModeWritesTheSameKeys) {
  TempDir dir;
  const std::string run = "run " + minimal_config() + " --paths 3000 --quiet ";
  ASSERT_EQ(run_caprisk(run + "--out " + dir.file("single")).exit_code, 0);
  ASSERT_EQ(run_caprisk(run + "--checkpoint " + dir.file("ck") + " --out " + dir.file("ckpt"))
                .exit_code,
            0);
  for (int k = 0; k < 2; ++k)
    ASSERT_EQ(run_caprisk(run + "--shard " + std::to_string(k) + "/2 --out " + dir.file("shards"))
                  .exit_code,
              0);
  ASSERT_EQ(run_caprisk("merge " + dir.file("shards") + " --quiet --out " + dir.file("merged"))
                .exit_code,
            0);
  const std::string stressed = dir.write(
      "stressed.yaml", read_text(minimal_config()) +
                           "stresses:\n  - name: late\n    shift: {\"sites[0].target_gw\": -3}\n");
  ASSERT_EQ(run_caprisk("stress " + stressed + " --paths 3000 --quiet --out " + dir.file("stress"))
                .exit_code,
            0);
  ASSERT_EQ(run_caprisk("sensitivity " + minimal_config() + " --paths 2000 --quiet --out " +
                        dir.file("sensitivity"))
                .exit_code,
            0);
  const auto keys = [&](const std::string& folder) {
    return key_paths(nlohmann::json::parse(read_text(dir.file(folder + "/summary.json"))));
  };
  const std::set<std::string> single = keys("single");
  EXPECT_TRUE(single.count("backend_details.pilot_paths"));
  EXPECT_TRUE(single.count("mpi_ranks"));
  EXPECT_EQ(keys("ckpt"), single);
  EXPECT_EQ(keys("merged"), single);
  EXPECT_EQ(keys("stress"), single);
  EXPECT_EQ(keys("sensitivity"), single);
  EXPECT_TRUE(single.count("sensitivity.top_gw_months"));
}

TEST(CliRun, TheConfigFileIsOpenedOnce) {
  // Its hash and its scenario come from the same bytes: a config edited during a run cannot
  // be hashed as one file and simulated as another.
  if (testing::run_shell("strace -f -qq -o /dev/null true").exit_code != 0)
    GTEST_SKIP() << "strace is missing or may not trace here (scripts/setup installs it)";
  TempDir dir;
  const std::string config = dir.write("scenario.yaml", read_text(minimal_config()));
  const std::string trace = dir.file("trace.txt");
  // LeakSanitizer cannot run under ptrace, so a sanitizer build traces without it.
  const CommandResult r = testing::run_shell(
      "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -f -qq -e "
      "trace=open,openat -o " + trace + " " + CAPRISK_BINARY + " run " + config +
                                             " --paths 2000 --quiet --out " + dir.file("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(read_text(trace));
  std::string line;
  int opened = 0;
  while (std::getline(lines, line))
    if (contains(line, "\"" + config + "\"") && !contains(line, "ENOENT")) ++opened;
  EXPECT_EQ(opened, 1) << read_text(trace);
}

}  // namespace
}  // namespace caprisk

namespace caprisk {
namespace {

TEST(CliRun, ALogGetsWholeProgressLinesWithTheWholeRunsEta) {
  // stderr is a pipe here, as under Slurm or cron: whole lines, pass k of the expected passes.
  testing::TempDir dir;
  const std::string run = "run " + testing::source_path("configs/minimal.yaml") +
                          " --paths 120000 --chunk-paths 4096 --out " + dir.path;
  const testing::CommandResult r = testing::run_caprisk(run + " --progress-every 0.000001");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(testing::contains(r.output, "caprisk: pass 1 of 2: 4096 / 120000 paths, ")) << r.output;
  EXPECT_TRUE(testing::contains(r.output, "caprisk: pass 2 of 2: ")) << r.output;
  EXPECT_TRUE(testing::contains(r.output, "paths/s, run ETA ")) << r.output;
  // The run fits the memory budget: its pilot is every path, and says how far it is.
  EXPECT_TRUE(testing::contains(
      r.output, "caprisk: simulating the paths it keeps in memory: 65536 / 120000 paths, "))
      << r.output;
  EXPECT_TRUE(testing::contains(
      r.output, "caprisk: simulating the paths it keeps in memory: 120000 / 120000 paths, "))
      << r.output;
  EXPECT_FALSE(testing::contains(r.output, "\r")) << "a log gets no carriage returns";
  // Never more often than asked: none in a run shorter than the interval, none when quiet.
  for (const std::string& quiet : {std::string(" --progress-every 3600 --force"),
                                   std::string(" --progress-every 0 --force"),
                                   std::string(" --progress-every 0.000001 --quiet --force")}) {
    const testing::CommandResult q = testing::run_caprisk(run + quiet);
    ASSERT_EQ(q.exit_code, 0) << q.output;
    EXPECT_FALSE(testing::contains(q.output, "caprisk: pass ")) << quiet << ": " << q.output;
    EXPECT_FALSE(testing::contains(q.output, "caprisk: simulating")) << quiet << ": " << q.output;
  }
}

TEST(CliRun, RefusesToReplaceAnotherRunsResultsWithoutForce) {
  // A mistyped rerun into last night's folder must not silently replace its results.
  testing::TempDir dir;
  const std::string base = "run " + testing::source_path("configs/minimal.yaml") + " --quiet --out " + dir.path;
  ASSERT_EQ(testing::run_caprisk(base + " --paths 2000").exit_code, 0);
  const std::string before = testing::read_text(dir.file("percentiles.csv"));
  for (const std::string& other : {std::string(" --paths 3000"), std::string(" --paths 2000 --seed 7"),
                                   std::string(" --paths 2000 --set scenario.percentiles=[50,95]")}) {
    const testing::CommandResult r = testing::run_caprisk(base + other);
    EXPECT_EQ(r.exit_code, 2) << other << ": " << r.output;
    EXPECT_TRUE(testing::contains(r.output, "holds the results of another run")) << r.output;
    EXPECT_TRUE(testing::contains(r.output, "pass --force to replace them")) << r.output;
    EXPECT_EQ(testing::read_text(dir.file("percentiles.csv")), before) << other;
  }
  // A stress run is another kind of run of the same config.
  const testing::CommandResult stress = testing::run_caprisk(
      "stress " + testing::source_path("configs/stargate.yaml") + " --paths 2000 --quiet --out " + dir.path);
  EXPECT_EQ(stress.exit_code, 2) << stress.output;
  // The same run again replaces its own results; --force replaces another's.
  EXPECT_EQ(testing::run_caprisk(base + " --paths 2000").exit_code, 0);
  EXPECT_EQ(testing::read_text(dir.file("percentiles.csv")), before);
  ASSERT_EQ(testing::run_caprisk(base + " --paths 3000 --force").exit_code, 0);
  EXPECT_NE(testing::read_text(dir.file("percentiles.csv")), before);
}

}  // namespace
}  // namespace caprisk
