// Long batches as an operator sees them: byte-identical tables for any threads and chunk
// size, checkpoints that survive SIGKILL (also during their own write), SIGINT/SIGTERM, and
// resuming with more paths.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace caprisk {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

const char* const tables[] = {"percentiles.csv", "attribution.csv"};

std::string base_run(std::uint64_t paths) {
  return "run " + source_path("configs/stargate.yaml") + " --quiet --paths " +
         std::to_string(paths);
}

void expect_same_tables(const std::string& a, const std::string& b) {
  for (const char* name : tables) {
    const std::string x = read_text(a + "/" + name);
    ASSERT_FALSE(x.empty()) << a << "/" << name;
    EXPECT_EQ(x, read_text(b + "/" + name)) << name << " differs between " << a << " and " << b;
  }
}

TEST(Batch, TablesAreByteIdenticalForAnyThreadsAndChunkSize) {
  TempDir dir;
  const std::string reference = dir.file("t1-c16384");
  ASSERT_EQ(run_caprisk(base_run(9000) + " --threads 1 --out " + reference).exit_code, 0);
  for (const std::string threads : {"1", "2"}) {
    for (const std::string chunk : {"1000", "4097"}) {
      const std::string out = dir.file("t" + threads + "-c" + chunk);
      const auto r = run_caprisk(base_run(9000) + " --threads " + threads + " --chunk-paths " +
                                 chunk + " --out " + out);
      ASSERT_EQ(r.exit_code, 0) << r.output;
      expect_same_tables(reference, out);
    }
  }
  const std::string repeat = dir.file("repeat");
  ASSERT_EQ(run_caprisk(base_run(9000) + " --threads 1 --out " + repeat).exit_code, 0);
  expect_same_tables(reference, repeat);
}

TEST(Batch, ARunThatFitsThePilotSimulatesEveryPathOnce) {
  // 9000 paths of the default scenario (7 MB of outputs) are their own pilot: one pass for the
  // tables and one for the tail drivers, both read from memory. 100000 paths (160 MB) are not,
  // under a 64 MB --memory-budget: a 16384-path pilot, then two passes, the second finding the
  // tables' ranks and the tails.
  TempDir dir;
  const std::string small = dir.file("small"), large = dir.file("large");
  ASSERT_EQ(run_caprisk(base_run(9000) + " --out " + small).exit_code, 0);
  const std::string s = read_text(small + "/summary.json");
  EXPECT_NE(s.find("\"passes\": 2,"), std::string::npos) << s;
  EXPECT_NE(s.find("\"passes_read_the_pilot\": true"), std::string::npos) << s;
  EXPECT_NE(s.find("\"pilot_paths\": 9000"), std::string::npos) << s;
  ASSERT_EQ(run_caprisk(base_run(100000) + " --memory-budget 64M --out " + large).exit_code, 0);
  const std::string l = read_text(large + "/summary.json");
  EXPECT_NE(l.find("\"passes\": 2,"), std::string::npos) << l;
  EXPECT_NE(l.find("\"passes_read_the_pilot\": false"), std::string::npos) << l;
  EXPECT_NE(l.find("\"pilot_paths\": 16384"), std::string::npos) << l;
  // Under the default budget (a quarter of RAM) the same run is kept whole: one simulation,
  // the same bytes.
  const std::string whole = dir.file("whole");
  ASSERT_EQ(run_caprisk(base_run(100000) + " --out " + whole).exit_code, 0);
  const std::string w = read_text(whole + "/summary.json");
  EXPECT_NE(w.find("\"passes_read_the_pilot\": true"), std::string::npos) << w;
  EXPECT_NE(w.find("\"pilot_paths\": 100000"), std::string::npos) << w;
  EXPECT_EQ(read_text(whole + "/percentiles.csv"), read_text(large + "/percentiles.csv"));
  EXPECT_EQ(read_text(whole + "/drivers.csv"), read_text(large + "/drivers.csv"));
  for (const char* bad : {"--memory-budget -1", "--memory-budget 4X", "--memory-budget lots"}) {
    const auto r = run_caprisk(base_run(1000) + " " + bad + " --out " + dir.file("bad"));
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.output.find("--memory-budget expects a size in bytes"), std::string::npos) << r.output;
  }
}

/// Starts `caprisk ARGS` in the background (stdout and stderr to /dev/null); returns its pid.
pid_t spawn(const std::vector<std::string>& arguments, const std::string& environment = "") {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!environment.empty()) putenv(const_cast<char*>(environment.c_str()));
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(CAPRISK_BINARY));
    for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(CAPRISK_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

/// Waits (up to 30 s) until `path` exists: a run has written its first checkpoint.
bool wait_until_exists(const std::string& path) {
  for (int i = 0; i < 3000 && !fs::exists(path); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return fs::exists(path);
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> checkpointed_run(const std::string& checkpoint, const std::string& out) {
  return {"run",
          source_path("configs/stargate.yaml"),
          "--paths",
          "6000",
          "--chunk-paths",
          "500",
          "--checkpoint",
          checkpoint,
          "--checkpoint-every",
          "1",
          "--resume",
          "--quiet",
          "--threads",
          "1",
          "--out",
          out};
}

TEST(Batch, SigkillAtAnyPointThenResumeGivesTheSameBytes) {
  TempDir dir;
  const std::string reference = dir.file("reference");
  ASSERT_EQ(run_caprisk(base_run(6000) + " --threads 1 --out " + reference).exit_code, 0);
  for (int delay_ms : {40, 150, 400, 900}) {
    const std::string checkpoint = dir.file("ck-" + std::to_string(delay_ms));
    const std::string out = dir.file("out-" + std::to_string(delay_ms));
    const pid_t pid = spawn(checkpointed_run(checkpoint, out));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    wait_for(pid);
    // The scheduler re-runs the same command line until it succeeds.
    int attempts = 0, code = -1;
    while (code != 0 && attempts++ < 3) code = wait_for(spawn(checkpointed_run(checkpoint, out)));
    ASSERT_EQ(code, 0) << "delay " << delay_ms;
    expect_same_tables(reference, out);
  }
}

TEST(Batch, SigkillDuringACheckpointWriteLeavesTheLastOneIntact) {
  TempDir dir;
  const std::string reference = dir.file("reference");
  ASSERT_EQ(run_caprisk(base_run(6000) + " --threads 1 --out " + reference).exit_code, 0);
  const std::string checkpoint = dir.file("ck");
  const std::string out = dir.file("out");
  // First run: some checkpoints complete, then one write is killed halfway through.
  const pid_t first = spawn(checkpointed_run(checkpoint, out));
  ASSERT_TRUE(wait_until_exists(checkpoint));
  kill(first, SIGKILL);
  wait_for(first);
  const pid_t crashing =
      spawn(checkpointed_run(checkpoint, out), "CAPRISK_TEST_CRASH_CHECKPOINT_BYTES=2000");
  EXPECT_EQ(wait_for(crashing), 128 + SIGKILL);
  EXPECT_FALSE(fs::exists(out + "/percentiles.csv"));
  ASSERT_EQ(wait_for(spawn(checkpointed_run(checkpoint, out))), 0);
  expect_same_tables(reference, out);
}

TEST(Batch, SigintAndSigtermSaveACheckpointAndSayHowToResume) {
  TempDir dir;
  for (int signal : {SIGINT, SIGTERM}) {
    const std::string checkpoint = dir.file("ck-" + std::to_string(signal));
    const std::string out = dir.file("out-" + std::to_string(signal));
    const std::string log = dir.file("log-" + std::to_string(signal));
    const std::string command = std::string(CAPRISK_BINARY) + " run " +
                                source_path("configs/stargate.yaml") +
                                " --paths 200000 --threads 1 --chunk-paths 2000"
                                " --checkpoint-every 1 --checkpoint " +
                                checkpoint + " --out " + out + " > " + log + " 2>&1";
    const pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_TRUE(wait_until_exists(checkpoint));  // the handlers are installed by then
    kill(pid, signal);
    EXPECT_EQ(wait_for(pid), 128 + signal);
    const std::string message = read_text(log);
    EXPECT_NE(message.find(signal == SIGINT ? "interrupted by SIGINT" : "interrupted by SIGTERM"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("--resume"), std::string::npos) << message;
    EXPECT_TRUE(fs::exists(checkpoint));
    EXPECT_FALSE(fs::exists(out + "/percentiles.csv"));
  }
}

TEST(Batch, ARunKeptInMemoryStopsCleanlyWhileItSimulatesThePilot) {
  // A run that fits the memory budget simulates every path as its pilot before pass 1; a
  // SIGINT then must still end it with the message and exit status, and write nothing.
  TempDir dir;
  const std::string out = dir.file("out");
  const std::string log = dir.file("log");
  const std::string command = std::string(CAPRISK_BINARY) + " run " +
                              source_path("configs/stargate.yaml") +
                              " --paths 600000 --threads 1 --progress-every 0.000001 --out " +
                              out + " > " + log + " 2>&1";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // The first progress line comes after one slice: the handlers are installed by then.
  bool started = false;
  for (int i = 0; i < 6000 && !started; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    started = read_text(log).find(
        "caprisk: simulating the paths it keeps in memory: 65536 / 600000 paths") != std::string::npos;
  }
  ASSERT_TRUE(started) << read_text(log);
  kill(pid, SIGINT);
  EXPECT_EQ(wait_for(pid), 128 + SIGINT);
  const std::string message = read_text(log);
  EXPECT_NE(message.find("interrupted by SIGINT while simulating the paths it keeps in memory (path "),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("caprisk: pass 1"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(out + "/percentiles.csv"));
}

TEST(Batch, ResumeWithoutACheckpointStartsAfreshAndSaysSo) {
  TempDir dir;
  const auto r =
      run_caprisk("run " + source_path("configs/minimal.yaml") + " --paths 2000 --checkpoint " +
                  dir.file("none") + " --resume --out " + dir.file("out"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("starting from the beginning"), std::string::npos) << r.output;
  EXPECT_EQ(run_caprisk("run " + source_path("configs/minimal.yaml") + " --resume").exit_code, 2);
}

TEST(Batch, RefusesACheckpointFromAnotherSeedOrConfig) {
  TempDir dir;
  const std::string checkpoint = dir.file("ck");
  const std::string common = " --paths 2000 --quiet --checkpoint " + checkpoint;
  ASSERT_EQ(
      run_caprisk("run " + source_path("configs/minimal.yaml") + common + " --out " + dir.file("a"))
          .exit_code,
      0);
  const auto other_seed = run_caprisk("run " + source_path("configs/minimal.yaml") + common +
                                      " --seed 5 --resume --out " + dir.file("b"));
  EXPECT_EQ(other_seed.exit_code, 2);
  EXPECT_NE(other_seed.output.find("written for seed 42, this run has seed 5"), std::string::npos)
      << other_seed.output;
  const auto other_config = run_caprisk("run " + source_path("configs/stargate.yaml") + common +
                                        " --resume --out " + dir.file("c"));
  EXPECT_EQ(other_config.exit_code, 2);
  EXPECT_NE(other_config.output.find("written for another config"), std::string::npos)
      << other_config.output;
  const auto fewer = run_caprisk("run " + source_path("configs/minimal.yaml") +
                                 " --paths 1000 --quiet --resume --checkpoint " + checkpoint +
                                 " --out " + dir.file("d"));
  EXPECT_EQ(fewer.exit_code, 2);
  EXPECT_NE(fewer.output.find("--paths can only grow"), std::string::npos) << fewer.output;
  const std::string garbage = dir.write("garbage", "not a checkpoint at all");
  const auto corrupt =
      run_caprisk("run " + source_path("configs/minimal.yaml") +
                  " --paths 2000 --resume --checkpoint " + garbage + " --out " + dir.file("e"));
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_NE(corrupt.output.find("not a caprisk checkpoint"), std::string::npos) << corrupt.output;
}

TEST(Batch, RaisingPathsOnResumeEqualsAFreshLargerRun) {
  TempDir dir;
  const std::string checkpoint = dir.file("ck");
  ASSERT_EQ(run_caprisk(base_run(3000) + " --checkpoint " + checkpoint + " --out " + dir.file("a"))
                .exit_code,
            0);
  const auto grown = run_caprisk(base_run(7000) + " --checkpoint " + checkpoint +
                                 " --resume --out " + dir.file("grown"));
  ASSERT_EQ(grown.exit_code, 0) << grown.output;
  ASSERT_EQ(run_caprisk(base_run(7000) + " --out " + dir.file("fresh")).exit_code, 0);
  expect_same_tables(dir.file("fresh"), dir.file("grown"));
}

}  // namespace
}  // namespace caprisk
