// Output folders as users and schedulers treat them: a run killed at any step of its commit
// leaves the previous results or the new ones, never a mix; a second run into the same folder
// is refused; what caprisk did not write is never touched; SHA-256 is OpenSSL's.
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "host/errors.h"
#include "host/io/output_files.h"
#include "test_support.h"

namespace caprisk {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_caprisk;
using testing::run_shell;
using testing::source_path;
using testing::TempDir;

const std::array<const char*, 3> result_files = {"percentiles.csv", "attribution.csv",
                                                 "summary.json"};

TEST(Sha256, MatchesThePublishedTestVectors) {
  // FIPS 180-2, appendix B, and the empty message.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

std::string minimal_run(const std::string& out, int seed, const std::string& prefix = "") {
  return prefix + " " + std::string(CAPRISK_BINARY) + " run " +
         source_path("configs/minimal.yaml") + " --paths 2000 --quiet --seed " +
         std::to_string(seed) + " --force --out " + out;  // each seed replaces the last
}

/// What a folder shows: its tables as bytes and its summary's seed (the summary also holds
/// timings and the folder's path, which differ between any two runs); "" when unreadable.
struct ResultSet {
  std::string percentiles, attribution, seed;
  bool operator==(const ResultSet&) const = default;
  std::string describe() const {
    return std::string("percentiles ") + (percentiles.empty() ? "absent" : "present") +
           ", attribution " + (attribution.empty() ? "absent" : "present") + ", summary seed '" +
           seed + "'";
  }
};

ResultSet readable_results(const std::string& dir) {
  ResultSet set;
  auto read = [&](const char* name) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    return in ? read_text(dir + "/" + name) : std::string();
  };
  set.percentiles = read("percentiles.csv");
  set.attribution = read("attribution.csv");
  const std::string summary = read("summary.json");
  if (!summary.empty()) set.seed = nlohmann::json::parse(summary).at("seed").dump();
  return set;
}

/// Run folders under .caprisk/runs.
std::size_t run_folders(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir + "/.caprisk/runs")) ++n;
  return n;
}

class KilledCommit : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(run_shell(minimal_run(old_dir.path, 1)).exit_code, 0);
    ASSERT_EQ(run_shell(minimal_run(new_dir.path, 2)).exit_code, 0);
    old_set = readable_results(old_dir.path);
    new_set = readable_results(new_dir.path);
    ASSERT_EQ(old_set.seed, "1");
    ASSERT_NE(old_set.percentiles, new_set.percentiles);
  }

  /// After a kill: the folder shows the whole old set or the whole new set.
  void expect_whole_set(const std::string& dir, const std::string& when) {
    const auto seen = readable_results(dir);
    EXPECT_TRUE(seen == old_set || seen == new_set)
        << when << ": the folder holds a mix: " << seen.describe();
  }

  /// Then a clean run finishes and leaves only its own results behind.
  void expect_next_run_cleans_up(const std::string& dir) {
    ASSERT_EQ(run_shell(minimal_run(dir, 2)).exit_code, 0);
    EXPECT_TRUE(readable_results(dir) == new_set);
    EXPECT_EQ(run_folders(dir), 1u);
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename();
      EXPECT_TRUE(name == ".caprisk" || name == "percentiles.csv" || name == "attribution.csv" ||
                  name == "targets.csv" || name == "tail_paths.csv" || name == "drivers.csv" ||
                  name == "summary.json")
          << "left behind: " << name;
    }
  }

  TempDir old_dir, new_dir;
  ResultSet old_set, new_set;
};

TEST_F(KilledCommit, AtEveryRenameAndFsyncLeavesTheOldOrTheNewSet) {
  // Into a folder holding a previous run (its links exist: sync the run folder, sync the
  // folder, swap, sync), and into an empty one (a link per result file is made first).
  for (const bool previous_run : {true, false}) {
    int kills = 0;
    for (int step = 1; step < 64; ++step) {
      TempDir dir;
      if (previous_run) {
        ASSERT_EQ(run_shell(minimal_run(dir.path, 1)).exit_code, 0);
      }
      const auto r = run_shell(minimal_run(
          dir.path, 2, "CAPRISK_TEST_KILL_AT_COMMIT_STEP=" + std::to_string(step)));
      if (r.exit_code == 0) break;  // past the last step: the run committed
      ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.output;
      ++kills;
      const ResultSet seen = readable_results(dir.path);
      EXPECT_TRUE(seen == new_set || seen == (previous_run ? old_set : ResultSet{}))
          << "killed at commit step " << step << ": the folder holds a mix: " << seen.describe();
      expect_next_run_cleans_up(dir.path);
    }
    EXPECT_EQ(kills, previous_run ? 4 : 10) << "renames and fsyncs of the commit (6 links when new)";
  }
}

TEST_F(KilledCommit, AtEverySyscallThatStraceInjectsASignalInto) {
  // The reproduction: strace kills the run at the n-th rename or fsync it makes.
  if (run_shell("strace -f -qq -o /dev/null true").exit_code != 0)
    GTEST_SKIP() << "strace is missing or may not trace here (scripts/setup installs it)";
  for (const char* call : {"rename", "fsync"}) {
    int kills = 0;
    for (int when = 1; when < 64; ++when) {
      TempDir dir;
      ASSERT_EQ(run_shell(minimal_run(dir.path, 1)).exit_code, 0);
      const std::string strace = std::string("strace -f -qq -o /dev/null -e trace=") + call +
                                 " -e inject=" + call + ":signal=KILL:when=" +
                                 std::to_string(when);
      const auto r = run_shell(minimal_run(dir.path, 2, strace));
      if (r.exit_code == 0) break;
      ++kills;
      expect_whole_set(dir.path, std::string("killed at ") + call + " " + std::to_string(when));
      expect_next_run_cleans_up(dir.path);
    }
    EXPECT_GE(kills, std::string(call) == "rename" ? 1 : 2) << call;
  }
}

TEST(OutputFolder, AFolderOfAnOutputNameIsRefusedBeforeAnythingIsReplaced) {
  TempDir dir;
  ASSERT_EQ(run_shell(minimal_run(dir.path, 1)).exit_code, 0);
  const ResultSet before = readable_results(dir.path);
  fs::remove(dir.file("attribution.csv"));
  fs::create_directory(dir.file("attribution.csv"));
  const auto r = run_shell(minimal_run(dir.path, 2));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("holds 'attribution.csv', which caprisk did not write"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(read_text(dir.file("percentiles.csv")), before.percentiles);
  EXPECT_TRUE(fs::is_directory(dir.file("attribution.csv")));
}

TEST(OutputFolder, AUsersOwnFilesAreNeverTouched) {
  TempDir dir;
  dir.write("percentiles.csv", "my own table\n");
  auto r = run_shell(minimal_run(dir.path, 1));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(read_text(dir.file("percentiles.csv")), "my own table\n");

  TempDir other;
  other.write("notes.txt", "keep me\n");
  fs::create_directory(other.file("plots"));
  r = run_shell(minimal_run(other.path, 1));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_shell(minimal_run(other.path, 2));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_text(other.file("notes.txt")), "keep me\n");
  EXPECT_TRUE(fs::is_directory(other.file("plots")));
}

TEST(OutputFolder, ASecondRunIntoTheSameFolderIsRefusedAtOnce) {
  TempDir dir;
  // A run long enough to be caught holding the lock; grown until it is.
  for (int paths = 200000; paths <= 3200000; paths *= 2) {
    const std::string first =
        std::string(CAPRISK_BINARY) + " run " + source_path("configs/minimal.yaml") +
        " --quiet --seed 1 --threads 1 --paths " + std::to_string(paths) + " --out " + dir.path;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + first + " >/dev/null 2>&1").c_str(), nullptr);
      _exit(127);
    }
    // Wait until the first run holds the lock (our own flock attempt fails), or has ended.
    bool held = false;
    int status = 0;
    for (int i = 0; i < 2000 && !held; ++i) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;
      const int fd = ::open(dir.file(".caprisk/lock").c_str(), O_RDWR | O_CLOEXEC);
      if (fd >= 0) {
        held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        ::close(fd);  // releases ours when we got it
      }
      if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!held) {
      waitpid(pid, &status, 0);
      continue;  // too fast: try a longer run
    }
    const auto started = std::chrono::steady_clock::now();
    const auto second = run_shell(minimal_run(dir.path, 2));
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(second.exit_code, 2) << second.output;
    EXPECT_NE(second.output.find("another caprisk run (pid " + std::to_string(pid)),
              std::string::npos)
        << second.output;
    EXPECT_LT(waited, 5.0) << "the second run must be refused, not wait";
    // The folder holds the first run's results, summary included.
    EXPECT_NE(read_text(dir.file("summary.json")).find("\"seed\": 1,"), std::string::npos);
    return;
  }
  FAIL() << "never caught the first run holding the lock";
}

TEST(OutputFolder, WhatKilledRunsLeftBehindIsRemoved) {
  TempDir dir;
  ASSERT_EQ(run_shell(minimal_run(dir.path, 1)).exit_code, 0);
  // A process id that has just ended, so that nothing runs under it.
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string stale_run = dir.file(".caprisk/runs/20260101T000000Z-1");
  fs::create_directories(stale_run);
  std::ofstream(stale_run + "/percentiles.csv") << std::string(1 << 20, 'x');
  const std::string old_temporary = dir.file(".percentiles.csv.tmp-" + std::to_string(dead));
  std::ofstream(old_temporary) << "half a table";
  const std::string stale_link = dir.file(".summary.json.link-" + std::to_string(dead));
  fs::create_symlink(".caprisk/current/summary.json", stale_link);

  ASSERT_EQ(run_shell(minimal_run(dir.path, 2)).exit_code, 0);
  EXPECT_FALSE(fs::exists(stale_run));
  EXPECT_FALSE(fs::exists(old_temporary));
  EXPECT_FALSE(fs::is_symlink(stale_link));
  EXPECT_EQ(run_folders(dir.path), 1u);
}

TEST(OutputFolder, ResultsOfTheOldPlainLayoutAreAdoptedNotRefused) {
  TempDir dir, old_layout;
  ASSERT_EQ(run_shell(minimal_run(dir.path, 1)).exit_code, 0);
  // A folder as caprisk wrote it before the run folders: plain files.
  for (const char* name : result_files)
    fs::copy_file(dir.file(name), old_layout.file(name));
  const std::string before = read_text(old_layout.file("percentiles.csv"));
  {
    OutputDirectory out(old_layout.path);  // adopts, then holds the lock
    EXPECT_TRUE(fs::is_symlink(old_layout.file("percentiles.csv")));
    EXPECT_EQ(read_text(old_layout.file("percentiles.csv")), before);
    EXPECT_NE(out.current_summary().find("caprisk_version"), std::string::npos);
  }
  ASSERT_EQ(run_shell(minimal_run(old_layout.path, 2)).exit_code, 0);
  EXPECT_EQ(run_folders(old_layout.path), 1u);
}

TEST(OutputFolder, DefaultFoldersOfScenarioNamesStayUnderOut) {
  EXPECT_EQ(default_output_folder("stargate-base"), "out/stargate-base");
  EXPECT_EQ(default_output_folder(".."), "out/_..");
  EXPECT_EQ(default_output_folder("."), "out/_.");
  EXPECT_EQ(default_output_folder("../../x"), "out/_.._.._x");
  EXPECT_EQ(default_output_folder("a\\b"), "out/a_b");
  EXPECT_EQ(default_output_folder(".hidden"), "out/_.hidden");
}

TEST(OutputFolder, AScenarioNamedDotDotWritesUnderOutOfTheCurrentFolder) {
  for (const char* name : {"..", "../../x"}) {
    TempDir dir;
    std::string config = read_text(source_path("configs/minimal.yaml"));
    config.replace(config.find("name: minimal"), 13, std::string("name: \"") + name + "\"");
    const std::string path = dir.write("named.yaml", config);
    fs::create_directories(dir.file("a/b"));
    const auto r = run_shell("cd " + dir.file("a/b") + " && " + CAPRISK_BINARY + " run " + path +
                             " --paths 1000 --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string expected = dir.file("a/b/" + default_output_folder(name));
    EXPECT_TRUE(fs::exists(expected + "/percentiles.csv")) << expected;
    // Where out/<name> would have led: a/b itself for "..", a/x for "../../x".
    EXPECT_FALSE(fs::exists(dir.file("a/b/percentiles.csv")));
    EXPECT_FALSE(fs::exists(dir.file("a/x")));
  }
}

TEST(OutputFolder, ACheckpointPathThatIsAFolderIsRefusedBeforeTheRun) {
  TempDir dir;
  fs::create_directory(dir.file("ckpt"));
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_caprisk("run " + source_path("configs/stargate.yaml") +
                             " --paths 200000 --quiet --checkpoint " + dir.file("ckpt") +
                             " --out " + dir.file("out"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is a folder; give the path of a file"), std::string::npos) << r.output;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 3.0);
  EXPECT_FALSE(fs::exists(dir.file("out/percentiles.csv")));
}

}  // namespace
}  // namespace caprisk
