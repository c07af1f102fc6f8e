// The run history (docs/HISTORY.md): every finished run's provenance and tables in one SQLite
// database, so that `caprisk history` lists them and `caprisk diff` says what changed since
// last night, and whether it is more than sampling noise.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/config/scenario.h"
#include "host/reduce/results.h"

struct sqlite3;

namespace caprisk {

/// The schema version this caprisk writes (PRAGMA user_version; migrations from every older
/// one are applied on open).
inline constexpr int history_schema_version = 1;

/// One variant's tables to record: the base ("") or a stress (its name).
struct RecordedTables {
  std::string variant;
  const Scenario* scenario;
  const RunResults* results;
};

/// A run as `caprisk history` lists it.
struct HistoryRun {
  std::int64_t id = 0;
  std::string finished_at, scenario, kind, config_sha256, out_dir, command_line;
  std::uint64_t seed = 0, paths = 0;
  std::string overrides;  ///< JSON array of the --set/--shift arguments
  double all_gw_months_mean = 0;
};

class RunHistory {
 public:
  /// Opens the database (creating it, and migrating an older schema), in WAL mode with a busy
  /// timeout so that runs finishing at once all land. UserError naming `path` when it cannot.
  explicit RunHistory(const std::string& path);
  ~RunHistory();
  RunHistory(const RunHistory&) = delete;
  RunHistory& operator=(const RunHistory&) = delete;

  /// Records a finished run in one transaction (a run killed at any moment leaves no row):
  /// `summary` is its summary.json, `config_text` the config's bytes. Returns its ID.
  std::int64_t record(const nlohmann::json& summary, const std::string& config_text,
                      const std::string& kind, const std::string& out_dir,
                      const std::vector<RecordedTables>& tables);

  /// The latest `limit` runs, newest first; of one scenario when `scenario` is not empty.
  std::vector<HistoryRun> runs(int limit, const std::string& scenario) const;

  /// `caprisk diff`'s report of run `b` against run `a` (what changed, cell by cell, flagged
  /// where it exceeds the combined sampling error). UserError for an unknown ID.
  std::string diff(std::int64_t a, std::int64_t b) const;

  /// The two most recent runs of one scenario (the newest's when `scenario` is empty).
  std::pair<std::int64_t, std::int64_t> last_two(const std::string& scenario) const;

  const std::string& path() const { return path_; }

 private:
  void execute(const std::string& sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

/// The database a run records into: --db, else caprisk-runs.sqlite beside the output folder
/// (in its parent), unless --no-db or CAPRISK_NO_DB=1 (the tests' default). Empty: none.
std::string history_path(const std::string& db_option, bool no_db, const std::string& out_dir);

}  // namespace caprisk
