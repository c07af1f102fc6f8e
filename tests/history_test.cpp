// The run history (docs/HISTORY.md): every finished run lands in one transaction, runs
// finishing at once both land, and diff tells a config change from sampling noise.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_support.h"

namespace caprisk {
namespace {

using testing::contains;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

/// The single number a query returns.
long long query(const std::string& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(handle, sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sql;
  long long value = -1;
  if (sqlite3_step(statement) == SQLITE_ROW) value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return value;
}

std::string run(const TempDir& dir, const std::string& extra) {
  return "run " + source_path("configs/minimal.yaml") + " --paths 4000 --quiet --force --db " +
         dir.file("runs.sqlite") + " --out " + dir.file("out") + extra;
}

TEST(History, RecordsEveryRunAndTellsAChangeFromNoise) {
  TempDir dir;
  ASSERT_EQ(run_caprisk(run(dir, "")).exit_code, 0);
  ASSERT_EQ(run_caprisk(run(dir, " --seed 7")).exit_code, 0);
  ASSERT_EQ(run_caprisk(run(dir, " --seed 7 --set 'funding.deals[Oracle].close_probability=0.5'"))
                .exit_code,
            0);
  const std::string db = dir.file("runs.sqlite");
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs"), 3);
  EXPECT_EQ(query(db, "PRAGMA user_version"), 1);
  // Every row of percentiles.csv, and its percentiles.
  const long long cells = query(db, "SELECT count(*) FROM cells WHERE run_id = 1");
  EXPECT_EQ(cells, static_cast<long long>(
                       testing::parse_csv(testing::read_text(dir.file("out/percentiles.csv"))).rows.size()));
  EXPECT_EQ(query(db, "SELECT count(*) FROM percentiles WHERE run_id = 1"), cells * 9);
  const auto history = run_caprisk("history --db " + db);
  ASSERT_EQ(history.exit_code, 0) << history.output;
  EXPECT_TRUE(contains(history.output, "close_probability=0.5")) << history.output;
  // Same config, other seed: noise, and says so.
  const auto noise = run_caprisk("diff 1 2 --db " + db);
  ASSERT_EQ(noise.exit_code, 0) << noise.output;
  EXPECT_TRUE(contains(noise.output, "another seed: every difference below is sampling noise"))
      << noise.output;
  // A config change: named, and its cells flagged far beyond the noise.
  const auto change = run_caprisk("diff --last --db " + db);
  ASSERT_EQ(change.exit_code, 0) << change.output;
  EXPECT_TRUE(contains(change.output, "From run 2")) << change.output;
  EXPECT_TRUE(contains(change.output, "The inputs differ in 1 setting(s)")) << change.output;
  EXPECT_TRUE(contains(change.output, "funding.deals[Oracle].close_probability=0.5")) << change.output;
  EXPECT_TRUE(contains(change.output, ")*")) << change.output;
  // Bad requests.
  EXPECT_EQ(run_caprisk("diff 1 99 --db " + db).exit_code, 2);
  EXPECT_EQ(run_caprisk("diff 1 --db " + db).exit_code, 2);
  EXPECT_EQ(run_caprisk("history --db " + dir.file("nowhere.sqlite")).exit_code, 2);
}

TEST(History, AConfigEditIsNamedByItsKey) {
  TempDir dir;
  std::string yaml = testing::read_text(source_path("configs/minimal.yaml"));
  const std::string config = dir.write("c.yaml", yaml);
  const std::string base = "run " + config + " --paths 2000 --quiet --force --db " +
                           dir.file("runs.sqlite") + " --out " + dir.file("out");
  ASSERT_EQ(run_caprisk(base).exit_code, 0);
  const std::string from = "build_rate_gw: 0.15", to = "build_rate_gw: 0.10";
  ASSERT_NE(yaml.find(from), std::string::npos);
  yaml.replace(yaml.find(from), from.size(), to);
  dir.write("c.yaml", yaml);
  ASSERT_EQ(run_caprisk(base).exit_code, 0);
  const auto d = run_caprisk("diff --last --db " + dir.file("runs.sqlite"));
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_TRUE(contains(d.output, "sites[Abilene TX].build_rate_gw: 0.15 -> 0.10")) << d.output;
}

TEST(History, RunsFinishingAtOnceBothLandAndAKilledOneLeavesNoRow) {
  TempDir dir;
  const std::string db = dir.file("runs.sqlite");
  std::vector<pid_t> children;
  for (int k = 0; k < 2; ++k) {
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string command = std::string(CAPRISK_BINARY) + " run " +
                                  source_path("configs/minimal.yaml") +
                                  " --paths 3000 --quiet --db " + db + " --out " +
                                  dir.file("out" + std::to_string(k)) + " >/dev/null 2>&1";
      _exit(std::system(command.c_str()) == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs"), 2);
  // Killed inside the transaction, after writing its rows: nothing of it remains.
  const long long cells = query(db, "SELECT count(*) FROM cells");
  const auto killed = testing::run_shell("CAPRISK_TEST_KILL_IN_HISTORY=1 " +
                                         std::string(CAPRISK_BINARY) + " run " +
                                         source_path("configs/minimal.yaml") +
                                         " --paths 3000 --quiet --db " + db + " --out " +
                                         dir.file("out2"));
  EXPECT_NE(killed.exit_code, 0);
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(query(db, "SELECT count(*) FROM cells"), cells);
}

TEST(History, AnUnusableDatabaseIsRefusedBeforeTheRun) {
  TempDir dir;
  const std::string bad = dir.write("bad.sqlite", "this is not a database, it is a note\n");
  const auto r = run_caprisk("run " + source_path("configs/minimal.yaml") +
                             " --paths 2000 --quiet --db " + bad + " --out " + dir.file("out"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, bad)) << r.output;
  EXPECT_TRUE(contains(r.output, "--no-db")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/percentiles.csv")));
  EXPECT_EQ(testing::read_text(bad), "this is not a database, it is a note\n");
  EXPECT_EQ(run_caprisk("run " + source_path("configs/minimal.yaml") + " --db x --no-db").exit_code, 2);
}

}  // namespace
}  // namespace caprisk
