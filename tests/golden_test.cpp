// Golden regression: configs/minimal.yaml at its own seed and path count must reproduce the
// tables in tests/golden/minimal/ within per-column tolerances (regenerate deliberately with
// scripts/update-golden after a model change, and say why in the commit).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace caprisk {
namespace {

using testing::read_text;
using testing::source_path;

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::string field;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.push_back(field);
        field.clear();
      } else {
        field += c;
      }
    }
    fields.push_back(field);
    rows.push_back(fields);
  }
  return rows;
}

bool is_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

/// Text columns (site, month, metric) must match exactly; numbers within an absolute 1e-9
/// plus a relative 1e-6 (different libm builds may differ in the last bits of exp, log,
/// lgamma).
void expect_tables_match(const std::string& name, const std::string& actual_text,
                         const std::string& expected_text) {
  const auto actual = parse_csv(actual_text);
  const auto expected = parse_csv(expected_text);
  ASSERT_EQ(actual.size(), expected.size()) << name << ": row count";
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(actual[0], expected[0]) << name << ": header";
  for (std::size_t r = 1; r < expected.size(); ++r) {
    ASSERT_EQ(actual[r].size(), expected[r].size()) << name << " row " << r;
    for (std::size_t c = 0; c < expected[r].size(); ++c) {
      double a = 0, e = 0;
      const std::string where = name + " row " + std::to_string(r) + " column " + expected[0][c];
      if (is_number(expected[r][c], e)) {
        ASSERT_TRUE(is_number(actual[r][c], a)) << where << ": '" << actual[r][c] << "'";
        EXPECT_NEAR(a, e, 1e-9 + 1e-6 * std::fabs(e)) << where;
      } else {
        EXPECT_EQ(actual[r][c], expected[r][c]) << where;
      }
    }
  }
}

TEST(Golden, MinimalScenarioReproducesItsTables) {
  testing::TempDir dir;
  const auto r = testing::run_caprisk("run " + source_path("configs/minimal.yaml") +
                                      " --quiet --out " + dir.path);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* file : {"percentiles.csv", "attribution.csv"}) {
    const std::string expected =
        read_text(source_path(std::string("tests/golden/minimal/") + file));
    ASSERT_FALSE(expected.empty()) << "missing golden file " << file;
    expect_tables_match(file, read_text(dir.file(file)), expected);
  }
}

}  // namespace
}  // namespace caprisk

namespace caprisk {
namespace {

/// One way of running that must write exactly the bytes of a golden folder under
/// tests/golden/bytes/ (captured before the run pipeline was restructured; regenerate only
/// after a deliberate change to the numbers, with scripts/update-golden).
struct ByteCase {
  std::string name;
  std::string golden;
  std::string config;
  std::string options;  ///< after "--paths N", e.g. "--threads 1"
  enum Kind { run, shards, mpi } kind = run;
  std::string command = "run";  ///< or "stress", "sensitivity"
};

/// The stresses of the stress goldens (scripts/update-golden runs the same).
const std::string stress_selection = "--only hynix_and_oracle_late --only nvidia_loi_lapses ";

/// Every file of a golden folder but its headline, relative to it.
std::vector<std::string> golden_files(const std::string& folder) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
    if (entry.is_regular_file() && entry.path().filename() != "headline.txt")
      files.push_back(std::filesystem::relative(entry.path(), folder).string());
  std::sort(files.begin(), files.end());
  return files;
}

void PrintTo(const ByteCase& c, std::ostream* os) {
  *os << c.name;
}

/// The headline as printed on stdout, without the line of timings.
std::string headline_of(const std::string& output) {
  std::istringstream lines(output);
  std::string line, kept;
  while (std::getline(lines, line))
    if (line.find(" paths in ") == std::string::npos && line.rfind("caprisk: ", 0) != 0 &&
        line.find("caprisk trace --from ") == std::string::npos)  // names the --out folder
      kept += line + "\n";
  return kept;
}

class ByteIdentical : public ::testing::TestWithParam<ByteCase> {};

TEST_P(ByteIdentical, EveryModeWritesTheGoldenBytes) {
  const ByteCase& c = GetParam();
  const std::string golden = source_path("tests/golden/bytes/" + c.golden);
  const std::string paths = c.golden.substr(c.golden.rfind('-') + 1);
  const std::string config = source_path("configs/" + c.config + ".yaml");
  testing::TempDir dir;
  const std::string out = dir.file("out");
  std::string options = c.options;
  if (const auto at = options.find("{dir}"); at != std::string::npos)
    options.replace(at, 5, dir.path);
  const std::string run = c.command + " " + config + " --paths " + paths + " " +
                          (c.command == "stress" ? stress_selection : "") + options;
  std::string output;
  if (c.kind == ByteCase::run) {
    const auto r = testing::run_caprisk(run + " --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    output = r.output;
  } else if (c.kind == ByteCase::shards) {
    for (int k = 0; k < 3; ++k)
      ASSERT_EQ(testing::run_caprisk(run + " --quiet --shard " + std::to_string(k) + "/3 --out " +
                                     dir.file("shards"))
                    .exit_code,
                0);
    const auto r = testing::run_caprisk("merge " + dir.file("shards") + " --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    output = r.output;
  } else {
#ifndef CAPRISK_MPIEXEC
    GTEST_SKIP() << "this build has no MPI";
#else
    const auto r = testing::run_shell("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 " +
                                      std::string(CAPRISK_MPIEXEC) +
                                      " --allow-run-as-root --oversubscribe -np 3 " +
                                      CAPRISK_BINARY + " " + run + " --out " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    output = r.output;
#endif
  }
  const std::vector<std::string> files = golden_files(golden);
  ASSERT_GE(files.size(), c.command == "stress" ? 7u : c.command == "sensitivity" ? 1u : 2u);
  for (const std::string& file : files)
    EXPECT_EQ(read_text(out + "/" + file), read_text(golden + "/" + file)) << file;
  EXPECT_EQ(headline_of(output), read_text(golden + "/headline.txt"));
}

INSTANTIATE_TEST_SUITE_P(
    Modes, ByteIdentical,
    ::testing::Values(
        ByteCase{"StargateOneThread", "stargate-20000", "stargate", "--threads 1"},
        ByteCase{"StargateSmallChunks", "stargate-20000", "stargate",
                 "--threads 2 --chunk-paths 1000"},
        // Streamed (regenerating every path), and kept whole in memory (one simulation).
        ByteCase{"StargateTwoPasses", "stargate-150000", "stargate", "--memory-budget 0"},
        ByteCase{"StargateInMemory", "stargate-150000", "stargate", "--memory-budget 2G"},
        ByteCase{"StargateCheckpointed", "stargate-150000", "stargate",
                 "--checkpoint-every 2 --chunk-paths 8192 --checkpoint {dir}/run.ckpt"},
        ByteCase{"StargateShards", "stargate-150000", "stargate", "", ByteCase::shards},
        ByteCase{"StargateMpiRanks", "stargate-150000", "stargate", "--threads 1", ByteCase::mpi},
        ByteCase{"MinimalOneSimulation", "minimal-100000", "minimal", ""},
        ByteCase{"MinimalTwoPasses", "minimal-700000", "minimal",
                 "--chunk-paths 5000 --memory-budget 0"},
        ByteCase{"StressOneThread", "stargate-stress-30000", "stargate", "--threads 1",
                 ByteCase::run, "stress"},
        ByteCase{"StressSmallChunks", "stargate-stress-30000", "stargate",
                 "--threads 2 --chunk-paths 3000", ByteCase::run, "stress"},
        ByteCase{"StressCheckpointed", "stargate-stress-30000", "stargate",
                 "--checkpoint-every 1 --chunk-paths 4096 --checkpoint {dir}/run.ckpt",
                 ByteCase::run, "stress"},
        ByteCase{"StressShards", "stargate-stress-30000", "stargate", "", ByteCase::shards,
                 "stress"},
        ByteCase{"StressMpiRanks", "stargate-stress-30000", "stargate", "--threads 1",
                 ByteCase::mpi, "stress"},
        ByteCase{"SensitivityOneThread", "minimal-sensitivity-4000", "minimal", "--threads 1",
                 ByteCase::run, "sensitivity"},
        ByteCase{"SensitivitySmallChunks", "minimal-sensitivity-4000", "minimal",
                 "--threads 2 --chunk-paths 300", ByteCase::run, "sensitivity"},
        ByteCase{"SensitivityCheckpointed", "minimal-sensitivity-4000", "minimal",
                 "--checkpoint-every 1 --chunk-paths 700 --checkpoint {dir}/run.ckpt",
                 ByteCase::run, "sensitivity"},
        ByteCase{"SensitivityShards", "minimal-sensitivity-4000", "minimal", "",
                 ByteCase::shards, "sensitivity"},
        ByteCase{"SensitivityMpiRanks", "minimal-sensitivity-4000", "minimal", "--threads 1",
                 ByteCase::mpi, "sensitivity"}),
    [](const auto& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace caprisk
