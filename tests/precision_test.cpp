// --target-ci REL --max-paths N: a run grown in blocks until ALL's mean and P95 shortfall are
// precise enough, equal to a fresh run of the paths it ended with.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"

namespace caprisk {
namespace {

using testing::read_text;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

using testing::contains;

TEST(TargetCi, GrowsUntilMetAndEqualsAFreshRunOfItsPathCount) {
  TempDir dir;
  const std::string config = source_path("configs/minimal.yaml");
  const auto r = run_caprisk("run " + config + " --paths 5000 --target-ci 0.02 --max-paths 400000 "
                             "--chunk-paths 4096 --out " + dir.file("grown"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Precision: ALL's mean and P95 shortfall")) << r.output;
  const auto summary = nlohmann::json::parse(read_text(dir.file("grown/summary.json")));
  const auto& precision = summary["precision"];
  EXPECT_TRUE(precision["met"].get<bool>());
  EXPECT_GE(precision["blocks"].get<int>(), 2);
  const auto paths = summary["paths"].get<std::uint64_t>();
  EXPECT_GT(paths, 5000u);
  EXPECT_LE(paths, 400000u);
  EXPECT_EQ(precision["half_widths"].size(), 2u * 5u);  // mean and P95 at 5 report months
  for (const auto& cell : precision["half_widths"]) {
    EXPECT_LE(cell["half_width"].get<double>(), cell["limit"].get<double>()) << cell.dump();
    EXPECT_GE(cell["limit"].get<double>(),
              std::max(0.02 * std::fabs(cell["value"].get<double>()), 1e-3) - 1e-15);
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("grown/.caprisk")))
    EXPECT_FALSE(contains(entry.path().filename().string(), "target-ci")) << "left behind";
  // The same tables as one fresh run of that many paths.
  ASSERT_EQ(run_caprisk("run " + config + " --paths " + std::to_string(paths) +
                        " --quiet --out " + dir.file("fresh"))
                .exit_code,
            0);
  for (const char* file : {"percentiles.csv", "attribution.csv", "tail_paths.csv", "drivers.csv"})
    EXPECT_EQ(read_text(dir.file(std::string("grown/") + file)),
              read_text(dir.file(std::string("fresh/") + file)))
        << file;
}

TEST(TargetCi, StopsAtMaxPathsAndNamesTheCellsStillTooWide) {
  TempDir dir;
  const auto r = run_caprisk("run " + source_path("configs/minimal.yaml") +
                             " --paths 4000 --target-ci 0.0005 --max-paths 9000 --out " +
                             dir.file("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "caprisk: warning: Precision NOT met at --max-paths 9000"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "ALL 2026-12 mean")) << r.output;
  const auto summary = nlohmann::json::parse(read_text(dir.file("out/summary.json")));
  EXPECT_FALSE(summary["precision"]["met"].get<bool>());
  EXPECT_EQ(summary["paths"], 9000);
}

class BadTargetCi : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(BadTargetCi, ExitsTwoWithAClearMessageAndWritesNothing) {
  TempDir dir;
  const auto& [options, message] = GetParam();
  const auto r = run_caprisk(options.substr(0, options.find(' ')) + " " +
                             source_path("configs/minimal.yaml") + " --paths 5000 " +
                             options.substr(options.find(' ') + 1) + " --out " + dir.file("out"));
  EXPECT_EQ(r.exit_code, 2) << options << ": " << r.output;
  EXPECT_TRUE(contains(r.output, message)) << options << ": " << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/percentiles.csv")));
}

INSTANTIATE_TEST_SUITE_P(
    Options, BadTargetCi,
    ::testing::Values(
        std::pair{std::string("run --target-ci 0 --max-paths 9000"), std::string("strictly between 0 and 1")},
        std::pair{std::string("run --target-ci 1 --max-paths 9000"), std::string("strictly between 0 and 1")},
        std::pair{std::string("run --target-ci -0.1 --max-paths 9000"), std::string("strictly between 0 and 1")},
        std::pair{std::string("run --target-ci 1% --max-paths 9000"), std::string("got '1%'")},
        std::pair{std::string("run --target-ci 0.01"), std::string("needs --max-paths")},
        std::pair{std::string("run --max-paths 9000"), std::string("goes with --target-ci")},
        std::pair{std::string("run --target-ci 0.01 --max-paths 4000"),
                  std::string("--max-paths 4000 is below the paths the run starts with (5000")},
        std::pair{std::string("stress --target-ci 0.01 --max-paths 9000"),
                  std::string("unrecognised option '--target-ci' (see caprisk stress --help)")},
        std::pair{std::string("sensitivity --target-ci 0.01 --max-paths 9000"),
                  std::string("unrecognised option '--target-ci'")},
        std::pair{std::string("run --target-ci 0.01 --max-paths 9000 --shard 0/2"),
                  std::string("works only with caprisk run in one process, not with run --shard")},
        std::pair{std::string("run --target-ci 0.01 --max-paths 9000 --set scenario.percentiles=[50]"),
                  std::string("must include 95")}));

}  // namespace
}  // namespace caprisk
