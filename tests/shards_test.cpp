// `caprisk run --shard k/n` + `caprisk merge`: the merged files equal the whole run's, and
// merge refuses shards that do not belong together, naming the file and the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace caprisk {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

std::string run_shard(const std::string& out, int k, int n, const std::string& extra = "") {
  return "run " + source_path("configs/minimal.yaml") + " --paths 5000 --quiet --shard " +
         std::to_string(k) + "/" + std::to_string(n) + " --out " + out + extra;
}

using testing::contains;

TEST(Shards, MergedShardsEqualTheWholeRunByteForByte) {
  TempDir dir;
  const std::string whole = dir.file("whole");
  ASSERT_EQ(run_caprisk("run " + source_path("configs/minimal.yaml") +
                        " --paths 5000 --quiet --out " + whole)
                .exit_code,
            0);
  for (int n : {1, 2, 3}) {
    const std::string shards = dir.file("shards-" + std::to_string(n));
    for (int k = 0; k < n; ++k) {
      const auto r = run_caprisk(run_shard(shards, k, n));
      ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    const std::string merged = dir.file("merged-" + std::to_string(n));
    const auto r = run_caprisk("merge " + shards + " --quiet --out " + merged);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const char* name : {"percentiles.csv", "attribution.csv"})
      EXPECT_EQ(read_text(merged + "/" + name), read_text(whole + "/" + name))
          << name << " with " << n << " shards";
  }
}

class ShardsRefused : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int k = 0; k < 3; ++k) ASSERT_EQ(run_caprisk(run_shard(dir.path, k, 3)).exit_code, 0);
  }
  std::string shard(int k) const {
    return dir.file("shard-" + std::to_string(k) + "-of-3.caprisk");
  }
  void expect_refused(const std::string& arguments, const std::string& message) {
    const auto r = run_caprisk("merge " + arguments + " --quiet --out " + out.path);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, message)) << r.output;
    EXPECT_FALSE(fs::exists(out.path + "/percentiles.csv"));
  }
  TempDir dir, out, other;
};

TEST_F(ShardsRefused, MissingShard) {
  expect_refused(shard(0) + " " + shard(2), "missing shard(s) 1 of 3");
}

TEST_F(ShardsRefused, DuplicateShard) {
  const std::string copy = other.file("copy.caprisk");
  fs::copy_file(shard(1), copy);
  expect_refused(shard(0) + " " + shard(1) + " " + shard(2) + " " + copy,
                 "shard 1 of 3 is given twice");
}

TEST_F(ShardsRefused, ShardOfAnotherSeed) {
  ASSERT_EQ(run_caprisk(run_shard(other.path, 1, 3, " --seed 7")).exit_code, 0);
  expect_refused(shard(0) + " " + other.file("shard-1-of-3.caprisk") + " " + shard(2),
                 "the seed differs");
}

TEST_F(ShardsRefused, ShardOfAnotherPathCount) {
  ASSERT_EQ(run_caprisk("run " + source_path("configs/minimal.yaml") +
                        " --paths 6000 --quiet --shard 1/3 --out " + other.path)
                .exit_code,
            0);
  expect_refused(shard(0) + " " + other.file("shard-1-of-3.caprisk") + " " + shard(2),
                 "the path count differs");
}

TEST_F(ShardsRefused, ShardOfAnotherConfig) {
  ASSERT_EQ(run_caprisk("run " + source_path("configs/stargate.yaml") +
                        " --paths 5000 --quiet --seed 42 --shard 1/3 --out " + other.path)
                .exit_code,
            0);
  expect_refused(shard(0) + " " + other.file("shard-1-of-3.caprisk") + " " + shard(2),
                 "the config (SHA-256) differs");
}

TEST_F(ShardsRefused, TruncatedShard) {
  const std::string bytes = read_text(shard(2));
  std::ofstream(shard(2), std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 3);
  expect_refused(dir.path, "shard-2-of-3.caprisk is truncated");
}

TEST_F(ShardsRefused, NotAShardFile) {
  const std::string garbage = other.write("garbage.caprisk", "hello, not a shard");
  expect_refused(shard(0) + " " + garbage, "garbage.caprisk: not a caprisk shard file");
  expect_refused(other.file("nothing-here.caprisk"), "nothing-here.caprisk: cannot read it");
}

TEST(Shards, BadShardOptionIsAUserError) {
  for (const char* bad : {"3/3", "1/0", "x/2", "1", "-1/2"}) {
    const auto r = run_caprisk("run " + source_path("configs/minimal.yaml") + " --shard " + bad);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_TRUE(contains(r.output, "--shard expects k/n")) << r.output;
  }
}

}  // namespace
}  // namespace caprisk
