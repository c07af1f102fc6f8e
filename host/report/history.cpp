#include "host/report/history.h"

#include <sqlite3.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "host/errors.h"
#include "host/report/report.h"

namespace caprisk {
namespace {

/// Every migration, from user_version i to i + 1, applied in one transaction on open.
const char* const migrations[] = {
    // 0 -> 1: runs, one row each; their cells (every row of percentiles.csv, per variant:
    // "" the base, else the stress), and every requested percentile of each cell.
    R"(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  finished_at TEXT NOT NULL,
  scenario TEXT NOT NULL,
  kind TEXT NOT NULL,
  config_path TEXT NOT NULL,
  config_sha256 TEXT NOT NULL,
  run_identity TEXT NOT NULL,
  config_text TEXT NOT NULL,
  overrides TEXT NOT NULL,
  stresses TEXT NOT NULL,
  seed INTEGER NOT NULL,
  paths INTEGER NOT NULL,
  backend TEXT NOT NULL,
  device TEXT NOT NULL,
  caprisk_version TEXT NOT NULL,
  caprisk_commit TEXT NOT NULL,
  wall_seconds REAL NOT NULL,
  out_dir TEXT NOT NULL,
  command_line TEXT NOT NULL,
  summary TEXT NOT NULL
);
CREATE INDEX runs_by_scenario ON runs (scenario, id);
CREATE TABLE cells (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  variant TEXT NOT NULL,
  site TEXT NOT NULL,
  month TEXT NOT NULL,
  metric TEXT NOT NULL,
  paths INTEGER NOT NULL,
  mean REAL NOT NULL,
  sd REAL NOT NULL,
  p50 REAL NOT NULL,
  p95 REAL NOT NULL,
  cvar95 REAL NOT NULL,
  cvar95_ci_low REAL NOT NULL,
  cvar95_ci_high REAL NOT NULL,
  p_positive REAL NOT NULL,
  PRIMARY KEY (run_id, variant, site, month, metric)
);
CREATE TABLE percentiles (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  variant TEXT NOT NULL,
  site TEXT NOT NULL,
  month TEXT NOT NULL,
  metric TEXT NOT NULL,
  q REAL NOT NULL,
  value REAL NOT NULL,
  ci_low REAL NOT NULL,
  ci_high REAL NOT NULL,
  PRIMARY KEY (run_id, variant, site, month, metric, q)
);
)"};

/// A prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK)
      throw RuntimeFailure(path + ": " + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& bind(int i, const std::string& text) {
    check(sqlite3_bind_text(statement_, i, text.c_str(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(int i, double value) {
    check(sqlite3_bind_double(statement_, i, value));
    return *this;
  }
  Statement& bind_integer(int i, std::int64_t value) {
    check(sqlite3_bind_int64(statement_, i, value));
    return *this;
  }
  /// Steps once: true while a row is there.
  bool step() {
    const int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw RuntimeFailure(path_ + ": " + sqlite3_errmsg(db_));
    return false;
  }
  void run_once() {
    step();
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  std::string text(int i) const {
    const auto* p = sqlite3_column_text(statement_, i);
    return p != nullptr ? reinterpret_cast<const char*>(p) : "";
  }
  double real(int i) const { return sqlite3_column_double(statement_, i); }
  std::int64_t integer(int i) const { return sqlite3_column_int64(statement_, i); }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) throw RuntimeFailure(path_ + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  std::string path_;
  sqlite3_stmt* statement_ = nullptr;
};

std::string json_text(const nlohmann::json& summary, const char* key) {
  return summary.contains(key) && summary[key].is_string() ? summary[key].get<std::string>() : "";
}

/// The config's settings as path -> value ("sites[Abilene TX].power.delay_months.median": "3"),
/// for naming what two runs' configs differ in.
void flatten_yaml(const YAML::Node& node, const std::string& at,
                  std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& item : node)
      flatten_yaml(item.second, at.empty() ? item.first.as<std::string>()
                                           : at + "." + item.first.as<std::string>(),
                   out);
  } else if (node.IsSequence()) {
    std::size_t i = 0;
    for (const auto& item : node) {
      const bool named = item.IsMap() && item["name"] && item["name"].IsScalar();
      flatten_yaml(item, at + "[" + (named ? item["name"].as<std::string>() : std::to_string(i)) + "]",
                   out);
      ++i;
    }
  } else if (node.IsScalar()) {
    out[at] = node.Scalar();
  } else {
    out[at] = "~";
  }
}

std::map<std::string, std::string> settings_of(const std::string& text) {
  std::map<std::string, std::string> out;
  try {
    flatten_yaml(YAML::Load(text), "", out);
  } catch (const YAML::Exception&) {
    out["(config)"] = "unreadable";
  }
  return out;
}

struct CellRow {
  std::uint64_t paths = 0;
  double mean = 0, sd = 0, p50 = 0, p95 = 0;
  double p50_se = std::nan(""), p95_se = std::nan("");
};

using CellKey = std::tuple<std::string, std::string, std::string>;  // site, month, metric

}  // namespace

std::string history_path(const std::string& db_option, bool no_db, const std::string& out_dir) {
  if (no_db) return "";
  if (!db_option.empty()) return db_option;
  if (const char* off = std::getenv("CAPRISK_NO_DB"); off != nullptr && std::string(off) == "1")
    return "";
  const std::filesystem::path parent = std::filesystem::path(out_dir).lexically_normal().parent_path();
  return (parent.empty() ? std::filesystem::path(".") : parent).string() + "/caprisk-runs.sqlite";
}

RunHistory::RunHistory(const std::string& path) : path_(path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw UserError("--db " + path + " is a folder; give the database file");
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw UserError("cannot open the run history " + path + ": " + why + " (--no-db runs without it)");
  }
  sqlite3_busy_timeout(db_, 30000);  // two runs finishing at once: the second waits its turn
  try {
    execute("PRAGMA journal_mode = WAL");
    execute("PRAGMA foreign_keys = ON");
    int version = 0;
    {
      Statement s(db_, "PRAGMA user_version", path_);
      if (s.step()) version = static_cast<int>(s.integer(0));
    }
    if (version > history_schema_version)
      throw UserError(path + " is a run history of schema version " + std::to_string(version) +
                      ", written by a newer caprisk; this one reads up to version " +
                      std::to_string(history_schema_version));
    if (version < history_schema_version) {
      execute("BEGIN IMMEDIATE");
      try {
        // Read again inside the write lock: another run may have migrated meanwhile.
        Statement s(db_, "PRAGMA user_version", path_);
        if (s.step()) version = static_cast<int>(s.integer(0));
        for (int v = version; v < history_schema_version; ++v) execute(migrations[v]);
        execute("PRAGMA user_version = " + std::to_string(history_schema_version));
        execute("COMMIT");
      } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
  } catch (const RuntimeFailure& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw UserError(std::string("the run history ") + e.what() +
                    " (is it a caprisk run history? --no-db runs without it)");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

RunHistory::~RunHistory() { sqlite3_close(db_); }

void RunHistory::execute(const std::string& sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string why = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw RuntimeFailure(path_ + ": " + why);
  }
}

std::int64_t RunHistory::record(const nlohmann::json& summary, const std::string& config_text,
                                const std::string& kind, const std::string& out_dir,
                                const std::vector<RecordedTables>& tables) {
  execute("BEGIN IMMEDIATE");
  try {
    Statement run(db_,
                  "INSERT INTO runs (finished_at, scenario, kind, config_path, config_sha256, "
                  "run_identity, config_text, overrides, stresses, seed, paths, backend, device, "
                  "caprisk_version, caprisk_commit, wall_seconds, out_dir, command_line, summary) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                  "?17, ?18, ?19)",
                  path_);
    const auto& details = summary.value("backend_details", nlohmann::json::object());
    run.bind(1, json_text(summary, "finished_at"))
        .bind(2, json_text(summary, "scenario"))
        .bind(3, kind)
        .bind(4, json_text(summary, "config"))
        .bind(5, json_text(summary, "config_sha256"))
        .bind(6, json_text(summary, "run_identity"))
        .bind(7, config_text)
        .bind(8, summary.value("overrides", nlohmann::json::array()).dump())
        .bind(9, summary.value("stresses", nlohmann::json::object()).dump())
        .bind_integer(10, static_cast<std::int64_t>(summary.value("seed", std::uint64_t{0})))
        .bind_integer(11, static_cast<std::int64_t>(summary.value("paths", std::uint64_t{0})))
        .bind(12, json_text(summary, "backend"))
        .bind(13, details.value("device_name", std::string()))
        .bind(14, json_text(summary, "caprisk_version"))
        .bind(15, json_text(summary, "caprisk_commit"))
        .bind(16, summary.value("wall_seconds", 0.0))
        .bind(17, out_dir)
        .bind(18, json_text(summary, "command_line"))
        .bind(19, summary.dump());
    run.run_once();
    const std::int64_t id = sqlite3_last_insert_rowid(db_);
    Statement cell(db_,
                   "INSERT INTO cells VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                   "?13, ?14)",
                   path_);
    Statement percentile(db_, "INSERT INTO percentiles VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                         path_);
    for (const RecordedTables& t : tables) {
      for (const TableRow& row : table_rows(*t.scenario, t.results->layout)) {
        const CellStatistics& c = t.results->cells[static_cast<std::size_t>(row.cell)];
        const std::string site = entity_name(*t.scenario, row.entity);
        cell.bind_integer(1, id).bind(2, t.variant).bind(3, site).bind(4, row.month)
            .bind(5, std::string(row.metric)).bind_integer(6, static_cast<std::int64_t>(c.paths))
            .bind(7, c.mean).bind(8, c.sd).bind(9, c.p50).bind(10, c.p95).bind(11, c.cvar95)
            .bind(12, c.cvar95_ci_low).bind(13, c.cvar95_ci_high).bind(14, c.p_positive);
        cell.run_once();
        for (const PercentileEstimate& p : c.percentiles) {
          percentile.bind_integer(1, id).bind(2, t.variant).bind(3, site).bind(4, row.month)
              .bind(5, std::string(row.metric)).bind(6, p.q).bind(7, p.value).bind(8, p.ci_low)
              .bind(9, p.ci_high);
          percentile.run_once();
        }
      }
    }
    if (const char* hook = std::getenv("CAPRISK_TEST_KILL_IN_HISTORY"); hook && *hook == '1')
      std::abort();  // test hook: killed with the rows written but not committed
    execute("COMMIT");
    return id;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<HistoryRun> RunHistory::runs(int limit, const std::string& scenario) const {
  Statement s(db_,
              "SELECT r.id, r.finished_at, r.scenario, r.kind, r.config_sha256, r.seed, r.paths, "
              "r.overrides, r.out_dir, r.command_line, "
              "(SELECT c.mean FROM cells c WHERE c.run_id = r.id AND c.variant = '' AND "
              "c.site = 'ALL' AND c.metric = 'shortfall_gw_months') "
              "FROM runs r WHERE ?1 = '' OR r.scenario = ?1 ORDER BY r.id DESC LIMIT ?2",
              path_);
  s.bind(1, scenario).bind_integer(2, limit);
  std::vector<HistoryRun> out;
  while (s.step()) {
    HistoryRun r;
    r.id = s.integer(0);
    r.finished_at = s.text(1);
    r.scenario = s.text(2);
    r.kind = s.text(3);
    r.config_sha256 = s.text(4);
    r.seed = static_cast<std::uint64_t>(s.integer(5));
    r.paths = static_cast<std::uint64_t>(s.integer(6));
    r.overrides = s.text(7);
    r.out_dir = s.text(8);
    r.command_line = s.text(9);
    r.all_gw_months_mean = s.real(10);
    out.push_back(r);
  }
  return out;
}

std::pair<std::int64_t, std::int64_t> RunHistory::last_two(const std::string& scenario) const {
  std::string name = scenario;
  if (name.empty()) {
    const std::vector<HistoryRun> newest = runs(1, "");
    if (newest.empty()) throw UserError(path_ + " records no run yet");
    name = newest.front().scenario;
  }
  const std::vector<HistoryRun> two = runs(2, name);
  if (two.size() < 2)
    throw UserError(path_ + " records " + std::to_string(two.size()) + " run(s) of scenario " +
                    name + ": diff --last needs two");
  return {two[1].id, two[0].id};
}

std::string RunHistory::diff(std::int64_t a, std::int64_t b) const {
  struct Run {
    std::string finished_at, scenario, config_sha256, config_text, overrides, kind;
    std::uint64_t seed = 0, paths = 0;
    std::map<CellKey, CellRow> cells;
    std::vector<CellKey> order;
  };
  const auto load = [&](std::int64_t id) {
    Run r;
    Statement s(db_,
                "SELECT finished_at, scenario, config_sha256, config_text, overrides, seed, "
                "paths, kind FROM runs WHERE id = ?1",
                path_);
    s.bind_integer(1, id);
    if (!s.step()) throw UserError(path_ + " records no run " + std::to_string(id) +
                                   " (caprisk history lists them)");
    r.finished_at = s.text(0);
    r.scenario = s.text(1);
    r.config_sha256 = s.text(2);
    r.config_text = s.text(3);
    r.overrides = s.text(4);
    r.seed = static_cast<std::uint64_t>(s.integer(5));
    r.paths = static_cast<std::uint64_t>(s.integer(6));
    r.kind = s.text(7);
    Statement c(db_,
                "SELECT site, month, metric, paths, mean, sd, p50, p95 FROM cells WHERE run_id = ?1 "
                "AND variant = '' AND metric IN ('shortfall_gw', 'shortfall_gw_months') "
                "ORDER BY rowid",
                path_);
    c.bind_integer(1, id);
    while (c.step()) {
      const CellKey key{c.text(0), c.text(1), c.text(2)};
      CellRow row;
      row.paths = static_cast<std::uint64_t>(c.integer(3));
      row.mean = c.real(4);
      row.sd = c.real(5);
      row.p50 = c.real(6);
      row.p95 = c.real(7);
      r.cells[key] = row;
      r.order.push_back(key);
    }
    Statement p(db_,
                "SELECT site, month, metric, q, ci_low, ci_high FROM percentiles WHERE run_id = ?1 "
                "AND variant = '' AND q IN (50, 95)",
                path_);
    p.bind_integer(1, id);
    while (p.step()) {
      const auto it = r.cells.find(CellKey{p.text(0), p.text(1), p.text(2)});
      if (it == r.cells.end()) continue;
      const double se = (p.real(5) - p.real(4)) / 3.92;  // a 95% interval's width
      (p.real(3) == 50 ? it->second.p50_se : it->second.p95_se) = se;
    }
    return r;
  };
  const Run ra = load(a), rb = load(b);
  std::ostringstream out;
  char line[512];
  const auto describe = [&](std::int64_t id, const Run& r) {
    std::snprintf(line, sizeof line, "run %lld: %s %s, seed %llu, %llu paths, finished %s",
                  static_cast<long long>(id), r.scenario.c_str(), r.kind.c_str(),
                  static_cast<unsigned long long>(r.seed), static_cast<unsigned long long>(r.paths),
                  r.finished_at.c_str());
    return std::string(line);
  };
  out << "From " << describe(a, ra) << "\n  to " << describe(b, rb) << "\n";
  // What differs in the inputs.
  std::vector<std::string> changes;
  const auto sa = settings_of(ra.config_text), sb = settings_of(rb.config_text);
  for (const auto& [key, value] : sa) {
    const auto it = sb.find(key);
    if (it == sb.end()) changes.push_back(key + ": " + value + " -> (removed)");
    else if (it->second != value) changes.push_back(key + ": " + value + " -> " + it->second);
  }
  for (const auto& [key, value] : sb)
    if (sa.find(key) == sa.end()) changes.push_back(key + ": (absent) -> " + value);
  if (ra.overrides != rb.overrides)
    changes.push_back("overrides: " + ra.overrides + " -> " + rb.overrides);
  const bool same_inputs = changes.empty() && ra.config_sha256 == rb.config_sha256;
  if (same_inputs) {
    out << (ra.seed != rb.seed
                ? "Same config and overrides, another seed: every difference below is sampling "
                  "noise.\n"
                : ra.paths != rb.paths
                      ? "Same config, overrides and seed, other path counts: the differences are "
                        "sampling noise of the paths one run has and the other has not.\n"
                      : "Same config, overrides, seed and paths: the tables should be identical.\n");
  } else {
    out << "The inputs differ in " << changes.size() << " setting(s):\n";
    for (const std::string& c : changes) out << "  " << c << "\n";
    if (ra.seed != rb.seed) out << "  (and the seed: " << ra.seed << " -> " << rb.seed << ")\n";
  }
  // Cell by cell: the change and its z against the combined sampling error.
  int flagged = 0, compared = 0;
  std::ostringstream rows;
  std::snprintf(line, sizeof line, "%-22s %-8s %-9s %26s %26s %26s\n", "site", "month", "metric",
                "mean A -> B (z)", "P50 A -> B (z)", "P95 A -> B (z)");
  rows << line;
  const auto change = [&](double x, double y, double se, bool& flag) {
    const double d = y - x;
    const double z = se > 0 ? d / se : (d == 0 ? 0.0 : INFINITY);
    const bool big = std::fabs(z) > 3;
    flag = flag || big;
    char text[64];
    if (std::isnan(se))
      std::snprintf(text, sizeof text, "%8.3f -> %8.3f (  - )", x, y);
    else
      std::snprintf(text, sizeof text, "%8.3f -> %8.3f (%+5.1f)%s", x, y, std::isinf(z) ? 99.9 : z,
                    big ? "*" : " ");
    return std::string(text);
  };
  for (const CellKey& key : ra.order) {
    const auto it = rb.cells.find(key);
    if (it == rb.cells.end()) continue;
    const CellRow& x = ra.cells.at(key);
    const CellRow& y = it->second;
    bool flag = false;
    const double mean_se = std::sqrt(x.sd * x.sd / static_cast<double>(x.paths) +
                                     y.sd * y.sd / static_cast<double>(y.paths));
    const std::string mean = change(x.mean, y.mean, mean_se, flag);
    const std::string p50 = change(x.p50, y.p50, std::hypot(x.p50_se, y.p50_se), flag);
    const std::string p95 = change(x.p95, y.p95, std::hypot(x.p95_se, y.p95_se), flag);
    ++compared;
    flagged += flag ? 1 : 0;
    const std::string metric = std::get<2>(key) == "shortfall_gw" ? "GW" : "GW-months";
    std::snprintf(line, sizeof line, "%-22.22s %-8s %-9s %s %s %s\n", std::get<0>(key).c_str(),
                  std::get<1>(key).c_str(), metric.c_str(), mean.c_str(), p50.c_str(),
                  p95.c_str());
    rows << line;
  }
  out << rows.str();
  std::snprintf(line, sizeof line,
                "%d of %d cells changed by more than 3 combined standard errors (*)", flagged,
                compared);
  out << line;
  if (same_inputs) {
    std::snprintf(line, sizeof line, "; about %.1f expected by chance (3 tests a cell)",
                  compared * 3 * 0.0027);
    out << line;
  }
  out << ".\nz: the change over the two runs' combined standard error (mean: sd/sqrt(n); P50, "
         "P95: their 95% intervals' widths / 3.92).\n";
  return out.str();
}

}  // namespace caprisk
