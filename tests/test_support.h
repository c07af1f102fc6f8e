// Shared helpers for the tests: scenarios from YAML text, simulations, traces, the CLI.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "host/run/backend_cpu.h"
#include "host/config/config.h"
#include "host/config/flatten.h"
#include "host/reduce/results.h"
#include "kernels/model.h"

namespace caprisk::testing {

inline Scenario scenario_from(const std::string& yaml) {
  return parse_scenario(yaml, "test.yaml");
}

/// Whether `text` holds `part` (messages and outputs in the tests' expectations).
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// The source tree the tests read configs and goldens from: $CAPRISK_SOURCE_DIR when set (a
/// bundle run elsewhere, such as the GPU host), else the tree the tests were built from.
inline std::string source_root() {
  const char* chosen = std::getenv("CAPRISK_SOURCE_DIR");
  return chosen != nullptr && *chosen != '\0' ? chosen : CAPRISK_SOURCE_DIR;
}

inline std::string source_path(const std::string& relative) {
  return source_root() + "/" + relative;
}

/// CAPRISK_REQUIRE_GPU=1 (the GPU host's check): a test that would be skipped for want of a
/// GPU fails instead, so that a missing driver cannot look green.
inline bool gpu_required() {
  const char* required = std::getenv("CAPRISK_REQUIRE_GPU");
  return required != nullptr && std::string(required) == "1";
}

/// All paths of a scenario simulated on the CPU, kept for inspection.
struct Simulation {
  explicit Simulation(const Scenario& s, int threads = 1)
      : scenario(s),
        flat(std::make_unique<FlatScenario>(scenario)),
        samples(flat->layout(), scenario.paths) {
    simulate_cpu(*flat, scenario.seed, 0, scenario.paths, samples.output(), threads, nullptr);
  }
  PathLayout layout() const { return flat->layout(); }
  double value(int cell, std::uint64_t path) { return samples.column(cell)[path]; }
  std::uint8_t code(int cell, std::uint64_t path) const { return samples.codes(cell)[path]; }

  Scenario scenario;
  std::unique_ptr<FlatScenario> flat;
  SampleStore samples;
};

/// The month-by-month trace of one path.
struct Trace {
  Trace(const Scenario& scenario, std::uint64_t path) : flat(scenario) {
    const ScenarioView& v = flat.view();
    const std::size_t site_months = static_cast<std::size_t>(v.site_count * v.horizon_months);
    installed.resize(site_months);
    shortfall.resize(site_months);
    power.resize(site_months);
    binding.resize(site_months);
    arrived.resize(static_cast<std::size_t>(v.horizon_months));
    inventory.resize(static_cast<std::size_t>(v.horizon_months));
    received.resize(static_cast<std::size_t>(v.deal_count * v.horizon_months));
    values.resize(static_cast<std::size_t>(flat.layout().value_count()));
    codes.resize(static_cast<std::size_t>(flat.layout().code_count()));
    PathTrace t{installed.data(), shortfall.data(), power.data(),   binding.data(),
                arrived.data(),   inventory.data(), received.data()};
    simulate_path(v, scenario.seed, path, PathOutput{values.data(), codes.data(), 1}, &t);
  }
  double installed_at(int site, int t) const { return installed[at(site, t)]; }
  double shortfall_at(int site, int t) const { return shortfall[at(site, t)]; }
  int binding_at(int site, int t) const { return binding[at(site, t)]; }
  std::size_t at(int index, int t) const {
    return static_cast<std::size_t>(index * flat.view().horizon_months + t);
  }

  FlatScenario flat;
  std::vector<double> installed, shortfall, power, arrived, inventory, received, values;
  std::vector<std::uint8_t> binding, codes;
};

/// Everything fixed: 100 wafers/month = 0.1 GW/month of supply (1 wafer = 1 stack =
/// 1 accelerator = 1000 kW), no lead time, one deal paying 5 USD B at capex 10 = 0.5 GW,
/// power ramping 0.25 -> 1.0 GW over months 0..3, build rate 0.3 GW/month, target 1 GW.
inline const std::string hand_scenario = R"(
scenario: {name: hand, start: 2026-01, horizon_months: 12, seed: 7, paths: 4,
           report_months: [2026-01, 2026-05, 2026-12]}
supply:
  program_share: 1
  stacks_per_wafer: 1
  stacks_per_accelerator: 1
  kw_per_accelerator: 1000
  hbm_yield: {initial: 1, mature: 1, tau_months: 1}
  suppliers:
    - name: S
      wafers_per_month: [[2026-01, 100]]
funding:
  capex_per_gw: 10
  deals:
    - {name: D, kind: schedule, tranches: [[2026-01, 5]]}
sites:
  - name: A
    funded_by: [D]
    target_gw: [[2026-01, 1.0]]
    build_rate_gw: 0.3
    power: {schedule: [[2026-01, 0.25], [2026-04, 1.0]]}
)";

/// A CSV file's rows (fields unquoted), with column lookup by header name.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  std::size_t column(const std::string& name) const {
    for (std::size_t c = 0; c < header.size(); ++c)
      if (header[c] == name) return c;
    throw std::runtime_error("no column " + name);
  }
  const std::string& text(std::size_t row, const std::string& name) const {
    return rows.at(row).at(column(name));
  }
  double number(std::size_t row, const std::string& name) const {
    return std::stod(text(row, name));
  }
  /// The first row whose columns have the given values ({"site", "ALL"}, ...); throws if none.
  std::size_t find(const std::vector<std::pair<std::string, std::string>>& where) const {
    for (std::size_t r = 0; r < rows.size(); ++r) {
      bool all = true;
      for (const auto& [name, value] : where) all = all && text(r, name) == value;
      if (all) return r;
    }
    throw std::runtime_error("no such row");
  }
};

/// Parses CSV text as caprisk writes it (RFC 4180 quoting, "\n" line ends).
inline CsvTable parse_csv(const std::string& csv) {
  CsvTable table;
  std::vector<std::string> fields(1);
  bool quoted = false;
  bool first = true;
  for (std::size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted) {
      if (c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      (first ? table.header : table.rows.emplace_back()) = fields;
      first = false;
      fields.assign(1, "");
    } else {
      fields.back() += c;
    }
  }
  return table;
}

/// Result of running the caprisk binary.
struct CommandResult {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs a shell command, capturing stdout and stderr together.
inline CommandResult run_shell(const std::string& command_line) {
  const std::string command = command_line + " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

inline CommandResult run_caprisk(const std::string& arguments) {
  return run_shell(std::string(CAPRISK_BINARY) + " " + arguments);
}

/// A fresh empty directory under the system temp dir, removed by the destructor.
struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "caprisk-test-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
    return file(name);
  }
  std::string path;
};

}  // namespace caprisk::testing
