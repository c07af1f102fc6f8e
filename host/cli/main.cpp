// caprisk command line: run, stress, sensitivity, trace, validate, merge, devices. Exit codes: 0 success, 1 runtime failure,
// 2 usage or config error.
#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/config/checks.h"
#include "host/config/config.h"
#include "host/config/overrides.h"
#include "host/config/yaml_reader.h"
#include "host/run/pipeline.h"
#include "host/cuda/devices.h"
#include "host/io/output_files.h"
#include "host/run/run.h"
#include "host/run/shards.h"
#include "host/run/simd_batch.h"
#include "host/report/report.h"
#include "host/report/history.h"
#include "host/report/report_page.h"
#include "host/run/trace.h"
#include "host/version.h"

namespace po = boost::program_options;

namespace caprisk {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

const char* const usage_text =
    "usage: caprisk <command> [options]\n"
    "\n"
    "commands:\n"
    "  run CONFIG [options]   simulate the scenario and write percentile tables\n"
    "  stress CONFIG [--only NAME]...\n"
    "                         run the base and the config's stresses over the same paths,\n"
    "                         with paired differences and their confidence intervals\n"
    "  sensitivity CONFIG     pin each static uncertain input at its P10 and P90 over the\n"
    "                         same paths: a tornado of the mean shortfall (tornado.csv)\n"
    "  trace CONFIG --path N  replay one path month by month (its ID from tail_paths.csv)\n"
    "  validate CONFIG        check a scenario config and print a summary\n"
    "  merge SHARDS...        combine the partial results of run --shard k/n\n"
    "  report DIR             draw DIR's tables and charts as one page, DIR/report.html\n"
    "  history                list the runs in the run history (caprisk-runs.sqlite)\n"
    "  diff A B | --last      what changed between two recorded runs, against their noise\n"
    "  devices                list CUDA devices, or say why there are none\n"
    "\n"
    "  caprisk --version      version and git commit\n"
    "  caprisk <command> --help\n";

std::string version_line() {
  return std::string("caprisk ") + CAPRISK_VERSION + " (commit " + CAPRISK_GIT_COMMIT + ")";
}

/// Parses a positive whole number, also written as 1e6; `what` names the option.
std::uint64_t parse_count(const std::string& text, const std::string& what, std::uint64_t max) {
  const std::string expected =
      what + " expects a whole number in [1, " + std::to_string(max) + "], got '" + text + "'";
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && ptr == text.data() + text.size() && !text.empty()) {
    if (value < 1 || value > max) throw UserError(expected);
    return value;
  }
  double real = 0;
  const auto [rptr, rec] = std::from_chars(text.data(), text.data() + text.size(), real);
  if (rec != std::errc() || rptr != text.data() + text.size() || !(real >= 1) ||
      real != std::floor(real) || real > static_cast<double>(max))
    throw UserError(expected);
  return static_cast<std::uint64_t>(real);
}

/// --threads: at most 16 per hardware thread of this machine (and 4096), so that a typo cannot
/// ask the OpenMP runtime for more threads than it can create.
int parse_threads(const std::string& text) {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const std::uint64_t most = std::min<std::uint64_t>(4096, 16ULL * hardware);
  try {
    return static_cast<int>(parse_count(text, "--threads", most));
  } catch (const UserError& error) {
    throw UserError(std::string(error.what()) + " (at most 16 per hardware thread; this machine has " +
                    std::to_string(hardware) + ")");
  }
}

void print_validate_summary(const Scenario& s) {
  std::cout << "config:     " << s.source_path << " (valid)\n";
  std::cout << "scenario:   " << s.name << "\n";
  std::cout << "start:      " << s.start.str() << ", horizon " << s.horizon_months << " months (to "
            << s.start.plus(s.horizon_months - 1).str() << ")\n";
  std::cout << "paths:      " << s.paths << ", seed " << s.seed << "\n";
  std::cout << "reports:    " << s.report_months.size() << " month(s), " << s.percentiles.size()
            << " percentile(s)\n";
  const Correlation& c = s.correlation;
  std::cout << "factors:    ";
  if (c.factors.empty()) std::cout << "(none: all inputs independent)";
  for (std::size_t i = 0; i < c.factors.size(); ++i) std::cout << (i ? ", " : "") << c.factors[i];
  if (!c.factors.empty())
    std::cout << " (" << (c.copula == CopulaKind::gaussian ? "gaussian" : "student_t")
              << (c.copula == CopulaKind::student_t ? ", df " + std::to_string(c.df) : "")
              << " copula)";
  std::cout << "\nsuppliers:  " << s.supply.suppliers.size() << "\n";
  for (const auto& supplier : s.supply.suppliers)
    std::cout << "  - " << supplier.name << (supplier.hbm_yield ? " (own HBM yield curve)" : "")
              << "\n";
  std::cout << "deals:      " << s.funding.deals.size() << "\n";
  for (const auto& deal : s.funding.deals)
    std::cout << "  - " << deal.name << " ("
              << (deal.kind == DealKind::schedule ? "schedule" : "per_gw") << ")\n";
  std::cout << "sites:      " << s.sites.size() << "\n";
  for (const auto& site : s.sites) {
    std::cout << "  - " << site.name << " (priority " << site.priority << ", funded by ";
    for (std::size_t i = 0; i < site.funded_by.size(); ++i)
      std::cout << (i ? ", " : "") << s.funding.deals[site.funded_by[i]].name;
    std::cout << ")\n";
  }
  if (!s.groups.empty()) {
    std::cout << "groups:     " << s.groups.size() << "\n";
    for (const auto& group : s.groups) {
      std::cout << "  - " << group.name << ": ";
      for (std::size_t i = 0; i < group.sites.size(); ++i)
        std::cout << (i ? ", " : "") << s.sites[group.sites[i]].name;
      std::cout << "\n";
    }
  }
  if (!s.stresses.empty()) {
    std::cout << "stresses:   " << s.stresses.size() << " (each checked; run with caprisk stress)\n";
    for (const auto& stress : s.stresses)
      std::cout << "  - " << stress.name
                << (stress.description.empty() ? "" : ": " + stress.description) << "\n";
  }
  if (!s.overrides.empty()) {
    std::cout << "overrides:  " << s.overrides.size() << "\n";
    for (const auto& o : s.overrides) std::cout << "  " << o.origin << "\n";
  }
}

/// --set and --shift options: repeatable, PATH=VALUE / PATH=MONTHS.
void add_override_options(po::options_description& options) {
  options.add_options()(
      "set", po::value<std::vector<std::string>>()->composing(),
      "PATH=VALUE: put a YAML value at a config path, e.g. "
      "'supply.suppliers[SK hynix].ramp_delay_months=6' (repeatable)")(
      "shift", po::value<std::vector<std::string>>()->composing(),
      "PATH=MONTHS: move every point of a schedule, e.g. 'funding.deals[Oracle].tranches=12' "
      "(repeatable)");
}

/// The overrides of the command line: every --set in the order given, then every --shift
/// (sets edit the config's values, shifts then move the schedules: docs/ANALYSIS.md).
std::vector<Override> parse_overrides(const po::variables_map& vm) {
  std::vector<Override> overrides;
  for (const auto& [name, kind] : {std::pair{"set", Override::Kind::set},
                                   std::pair{"shift", Override::Kind::shift}})
    if (vm.count(name))
      for (const std::string& argument : vm[name].as<std::vector<std::string>>())
        overrides.push_back(parse_override(kind, argument));
  if (overrides.size() > max_overrides)
    throw UserError("at most " + std::to_string(max_overrides) +
                    " --set/--shift options per run; put larger edits in a config file");
  return overrides;
}

/// Parses a command's arguments: `options`, plus positional arguments under `positional_name`
/// (`positional_count` of them, -1 for any number). Returns false when --help was asked for
/// (the help is printed).
/// The command being run ("run", "trace", ...), for messages that point to its --help.
std::string current_command;

bool parse_arguments(const std::vector<std::string>& args, const po::options_description& options,
                     const char* positional_name, int positional_count, po::variables_map& vm) {
  po::options_description hidden;
  if (positional_count == 1)
    hidden.add_options()(positional_name, po::value<std::string>(), "");
  else
    hidden.add_options()(positional_name, po::value<std::vector<std::string>>(), "");
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add(positional_name, positional_count);
  const std::string command = "caprisk " + current_command;
  try {
    // No prefix guessing: `--path 1000` must not be taken for `--paths 1000` (a mistyped
    // option of `trace` would otherwise rerun a night's batch at another size).
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(args).options(all).positional(positional).style(style).run(),
              vm);
  } catch (const po::unknown_option& e) {
    std::vector<std::string> names;
    for (const auto& option : options.options()) names.push_back("--" + option->long_name());
    throw UserError("unrecognised option '" + e.get_option_name() + "'" +
                    did_you_mean(e.get_option_name(), names) + " (see " + command + " --help)");
  } catch (const po::error& e) {
    throw UserError(std::string(e.what()) + " (see " + command + " --help)");
  }
  if (vm.count("help")) {
    std::cout << options;
    return false;
  }
  return true;
}

int command_validate(const std::vector<std::string>& args) {
  po::options_description options("caprisk validate CONFIG [--set PATH=VALUE]... [--shift PATH=MONTHS]...");
  options.add_options()("help,h", "show this help");
  add_override_options(options);
  po::variables_map vm;
  if (!parse_arguments(args, options, "config", 1, vm)) return exit_ok;
  if (!vm.count("config")) throw UserError("validate: missing CONFIG (a scenario YAML file)");
  const std::string path = vm["config"].as<std::string>();
  const Scenario scenario = parse_scenario(read_config_file(path), path, parse_overrides(vm));
  print_validate_summary(scenario);
  for (const std::string& warning : scenario_warnings(scenario))
    std::cerr << "caprisk: warning: " << warning << "\n";
  return exit_ok;
}

int command_devices(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "caprisk devices: the CPU's SIMD target, and the CUDA devices (name, SMs, "
                 "memory, driver/runtime)\n";
    return exit_ok;
  }
  if (!args.empty()) throw UserError("devices: unexpected argument '" + args[0] + "'");
  const DeviceReport report = query_devices();
  auto version = [](int v) {
    return v == 0 ? std::string("none")
                  : std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
  };
  const SimdTarget simd = simd_target();
  std::cout << "cpu: SIMD " << simd.name << ", " << simd.lanes << " lane"
            << (simd.lanes == 1 ? "" : "s") << " (available:";
  for (const std::string& name : available_simd_targets()) std::cout << " " << name;
  std::cout << "; CAPRISK_SIMD chooses one)\n";
  if (report.cuda_built)
    std::cout << "CUDA driver " << version(report.driver_version) << ", runtime "
              << version(report.runtime_version) << "\n";
  if (report.devices.empty()) {
    std::cout << "no usable CUDA device: " << report.why_none << "\n";
    return exit_ok;
  }
  for (const auto& d : report.devices) {
    std::printf("device %d: %s, compute %d.%d, %d SMs, %.1f GiB\n", d.index, d.name.c_str(),
                d.compute_major, d.compute_minor, d.multiprocessors,
                static_cast<double>(d.memory_bytes) / (1024.0 * 1024.0 * 1024.0));
  }
  return exit_ok;
}

po::options_description run_options(const char* title = "caprisk run CONFIG [options]") {
  po::options_description options(title);
  options.add_options()("help,h", "show this help")("paths", po::value<std::string>(),
                                                    "number of paths (overrides scenario.paths)")(
      "seed", po::value<std::string>(), "random seed (overrides scenario.seed)")(
      "threads", po::value<std::string>(), "CPU threads (default: all cores)")(
      "out", po::value<std::string>(), "output directory (default: out/<scenario name>)")(
      "backend", po::value<std::string>()->default_value("auto"), "auto, cpu or cuda")(
      "device", po::value<std::string>(), "CUDA device index (default 0)")(
      "chunk-paths", po::value<std::string>(),
      "paths per chunk (CPU default 16384; CUDA: from free memory)")(
      "checkpoint", po::value<std::string>(), "save the run's state to FILE as it goes")(
      "checkpoint-every", po::value<std::string>(), "chunks between checkpoints (default 32)")(
      "resume", "continue from --checkpoint FILE if it exists (else start afresh)")(
      "shard", po::value<std::string>(), "k/n: compute slice k (from 0) of n for `caprisk merge`")(
      "allow-no-supply", "run even when no supply can ever reach the sites")(
      "force", "replace the results of another run (other config, overrides, seed or paths) in --out")(
      "report", "also write report.html: charts and tables on one page (docs/REPORT.md)")(
      "memory-budget", po::value<std::string>(),
      "keep a run whose outputs fit in BYTES (4G, 512M, ...) in memory: one simulation "
      "(default: a quarter of RAM; 0: always stream)")(
      "db", po::value<std::string>(),
      "record the run in this SQLite run history (default: caprisk-runs.sqlite beside --out)")(
      "no-db", "record nothing in a run history")(
      "progress-every", po::value<std::string>(),
      "when stderr is not a terminal, a progress line at most every SECONDS (default 30; 0: none)")(
      "quiet,q", "no headline table and no progress");
  add_override_options(options);
  return options;
}

/// A size in bytes: a whole number with an optional K, M, G or T (powers of 1024).
std::uint64_t parse_bytes(const std::string& text, const std::string& what) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  int shift = 0;
  if (ec == std::errc() && ptr + 1 == end) {
    const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(*ptr)));
    shift = unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : unit == 'T' ? 40 : -1;
  } else if (ec != std::errc() || ptr != end) {
    shift = -1;
  }
  if (shift < 0 || text.empty() || (shift > 0 && value > (std::uint64_t{1} << (63 - shift))))
    throw UserError(what + " expects a size in bytes, such as 8G, 512M or 1000000 (0: always "
                    "stream), got '" + text + "'");
  return value << shift;
}

/// --seed: any whole number in [0, 2^64 - 1].
std::uint64_t parse_seed(const std::string& text) {
  std::uint64_t seed = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty())
    throw UserError("--seed expects a whole number >= 0, got '" + text + "'");
  return seed;
}

/// The run's options from the parsed command line; UserError for a value it cannot take.
RunOptions parse_run_options(const po::variables_map& vm) {
  RunOptions run;
  run.config_path = vm["config"].as<std::string>();
  if (vm.count("paths"))
    run.paths = parse_count(vm["paths"].as<std::string>(), "--paths", ModelLimits::max_paths);
  if (vm.count("seed")) run.seed = parse_seed(vm["seed"].as<std::string>());
  if (vm.count("threads")) run.threads = parse_threads(vm["threads"].as<std::string>());
  if (vm.count("out")) run.out_dir = vm["out"].as<std::string>();
  run.backend = vm["backend"].as<std::string>();
  if (run.backend != "auto" && run.backend != "cpu" && run.backend != "cuda")
    throw UserError("--backend expects auto, cpu or cuda, got '" + run.backend + "'");
  if (vm.count("device")) {
    const std::string text = vm["device"].as<std::string>();
    int device = -1;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), device);
    if (ec != std::errc() || ptr != text.data() + text.size() || device < 0)
      throw UserError("--device expects a device index >= 0, got '" + text + "'");
    run.device = device;
  }
  if (vm.count("chunk-paths"))
    run.chunk_paths =
        parse_count(vm["chunk-paths"].as<std::string>(), "--chunk-paths", ModelLimits::max_paths);
  if (vm.count("checkpoint")) run.checkpoint_path = vm["checkpoint"].as<std::string>();
  if (vm.count("checkpoint-every"))
    run.checkpoint_every = static_cast<int>(
        parse_count(vm["checkpoint-every"].as<std::string>(), "--checkpoint-every", 1000000));
  run.resume = vm.count("resume") > 0;
  if (run.resume && run.checkpoint_path.empty())
    throw UserError("--resume needs --checkpoint FILE (the checkpoint to continue from)");
  if (vm.count("shard")) {
    const auto [index, count] = parse_shard(vm["shard"].as<std::string>());
    run.shard_index = index;
    run.shard_count = count;
  }
  run.allow_no_supply = vm.count("allow-no-supply") > 0;
  run.force = vm.count("force") > 0;
  run.report = vm.count("report") > 0;
  if (vm.count("memory-budget")) run.memory_budget = parse_bytes(vm["memory-budget"].as<std::string>(), "--memory-budget");
  if (vm.count("db")) run.db_path = vm["db"].as<std::string>();
  run.no_db = vm.count("no-db") > 0;
  if (run.no_db && !run.db_path.empty()) throw UserError("--db and --no-db contradict each other");
  if (vm.count("progress-every")) {
    const std::string text = vm["progress-every"].as<std::string>();
    double seconds = -1;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || ptr != text.data() + text.size() || !(seconds >= 0) ||
        !(seconds <= 86400))
      throw UserError("--progress-every expects seconds between 0 and 86400 (0: no progress "
                      "lines), got '" + text + "'");
    run.progress_every = seconds;
  }
  run.quiet = vm.count("quiet") > 0;
  run.overrides = parse_overrides(vm);
  if (vm.count("target-ci")) {
    const std::string text = vm["target-ci"].as<std::string>();
    double target = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), target);
    if (ec != std::errc() || ptr != text.data() + text.size() || !(target > 0 && target < 1))
      throw UserError("--target-ci expects a relative half-width strictly between 0 and 1 "
                      "(0.01 for +-1%), got '" + text + "'");
    if (!vm.count("max-paths"))
      throw UserError("--target-ci needs --max-paths N: the most paths it may run");
    run.target_ci = target;
  }
  if (vm.count("max-paths")) {
    if (!vm.count("target-ci"))
      throw UserError("--max-paths goes with --target-ci REL (use --paths for a fixed count)");
    run.max_paths =
        parse_count(vm["max-paths"].as<std::string>(), "--max-paths", ModelLimits::max_paths);
  }
  return run;
}

int command_run(const std::vector<std::string>& args) {
  po::options_description options = run_options();
  options.add_options()(
      "target-ci", po::value<std::string>(),
      "REL: add paths in blocks until ALL's mean and P95 shortfall at every report month have "
      "95% intervals within +-REL of their value (or 0.001 GW)")(
      "max-paths", po::value<std::string>(), "with --target-ci: the most paths to run");
  po::variables_map vm;
  if (!parse_arguments(args, options, "config", 1, vm)) return exit_ok;
  if (!vm.count("config")) throw UserError("run: missing CONFIG (a scenario YAML file)");
  RunOptions run = parse_run_options(vm);
  run.command_line = "caprisk run";
  for (const auto& a : args) run.command_line += " " + a;
  return run_scenario(run);
}

int command_stress(const std::vector<std::string>& args) {
  po::options_description options = run_options("caprisk stress CONFIG [options]");
  options.add_options()("only", po::value<std::vector<std::string>>()->composing(),
                        "run only this stress (repeatable; default: every stress of the config)");
  po::variables_map vm;
  if (!parse_arguments(args, options, "config", 1, vm)) return exit_ok;
  if (!vm.count("config")) throw UserError("stress: missing CONFIG (a scenario YAML file)");
  RunOptions run = parse_run_options(vm);
  run.stress = true;
  if (vm.count("only")) run.only = vm["only"].as<std::vector<std::string>>();
  run.command_line = "caprisk stress";
  for (const auto& a : args) run.command_line += " " + a;
  return run_scenario(run);
}

int command_sensitivity(const std::vector<std::string>& args) {
  po::options_description options = run_options("caprisk sensitivity CONFIG [options]");
  po::variables_map vm;
  if (!parse_arguments(args, options, "config", 1, vm)) return exit_ok;
  if (!vm.count("config")) throw UserError("sensitivity: missing CONFIG (a scenario YAML file)");
  RunOptions run = parse_run_options(vm);
  run.sensitivity = true;
  run.command_line = "caprisk sensitivity";
  for (const auto& a : args) run.command_line += " " + a;
  return run_scenario(run);
}

/// What `trace --from DIR` takes of a run: its summary.json's config, seed, paths, overrides.
struct RunRecord {
  std::string config;
  std::string config_file_sha256;
  std::uint64_t seed = 0;
  std::uint64_t paths = 0;
  std::vector<Override> overrides;
};

RunRecord read_run_record(const std::string& dir) {
  const std::string file = dir + "/summary.json";
  std::ifstream in(file);
  if (!in) throw UserError("--from " + dir + ": no summary.json there (give a run's --out folder)");
  RunRecord record;
  try {
    const nlohmann::json summary = nlohmann::json::parse(in);
    record.config = summary.at("config").get<std::string>();
    record.config_file_sha256 = summary.at("config_file_sha256").get<std::string>();
    record.seed = summary.at("seed").get<std::uint64_t>();
    record.paths = summary.at("paths").get<std::uint64_t>();
    for (const auto& origin : summary.at("overrides")) {
      const std::string text = origin.get<std::string>();
      const bool shift = text.rfind("--shift ", 0) == 0;
      if (!shift && text.rfind("--set ", 0) != 0)
        throw UserError("--from " + dir + ": summary.json lists an override it cannot replay: " +
                        text);
      record.overrides.push_back(parse_override(shift ? Override::Kind::shift : Override::Kind::set,
                                                text.substr(shift ? 8 : 6)));
    }
  } catch (const nlohmann::json::exception& e) {
    throw UserError(file + ": not a caprisk summary (" + e.what() + ")");
  }
  return record;
}

/// The replayed path against the run's tail_paths.csv, where it is listed: a replay of
/// another run's path (another seed or override) must not pass as this one.
void check_against_tail_paths(const std::string& dir, const Scenario& s, const FlatScenario& flat,
                              const PathReplay& replay) {
  std::ifstream in(dir + "/tail_paths.csv");
  std::string line;
  std::getline(in, line);  // header: site,rank,path,shortfall_gw_months
  const PathLayout layout = flat.layout();
  while (std::getline(in, line)) {
    const auto last = line.rfind(',');
    const auto before = line.rfind(',', last - 1);
    if (last == std::string::npos || before == std::string::npos) continue;
    if (line.substr(before + 1, last - before - 1) != std::to_string(replay.path)) continue;
    const std::string site = line.substr(0, line.rfind(',', before - 1));
    for (int entity = 0; entity <= layout.site_count; ++entity) {
      const std::string name = entity == layout.site_count ? "ALL" : s.sites[entity].name;
      if (csv_field(name) != site) continue;
      const double listed = std::stod(line.substr(last + 1));
      const double replayed = replay.values[static_cast<std::size_t>(layout.gw_months(entity))];
      if (format_number(replayed) != format_number(listed))
        throw RuntimeFailure("path " + std::to_string(replay.path) + " replays to " +
                             format_number(replayed) + " GW-months for " + name + ", but " + dir +
                             "/tail_paths.csv lists " + format_number(listed) +
                             ": this is not the run's path (was the build or the config changed?)");
    }
  }
}

int command_trace(const std::vector<std::string>& args) {
  po::options_description options("caprisk trace CONFIG --path N [options]");
  options.add_options()("help,h", "show this help")(
      "path", po::value<std::string>(), "the path to replay: its ID, from 0 (tail_paths.csv)")(
      "from", po::value<std::string>(),
      "DIR: a run's --out folder; its summary.json gives the config, seed, paths and "
      "--set/--shift (CONFIG may then be left out)")(
      "paths", po::value<std::string>(), "the run's path count (default scenario.paths)")(
      "seed", po::value<std::string>(), "random seed (default scenario.seed)")(
      "csv", po::value<std::string>(),
      "write the month-by-month CSV here (default out/<scenario name>/trace-path-N.csv)")(
      "quiet,q", "write the CSV only");
  add_override_options(options);
  po::variables_map vm;
  if (!parse_arguments(args, options, "config", 1, vm)) return exit_ok;
  if (!vm.count("config") && !vm.count("from"))
    throw UserError("trace: missing CONFIG (a scenario YAML file), or --from DIR (a run's folder)");
  if (!vm.count("path")) throw UserError("trace: missing --path N (the ID of the path to replay)");
  const std::string path_text = vm["path"].as<std::string>();
  std::uint64_t path = 0;
  const auto [ptr, ec] =
      std::from_chars(path_text.data(), path_text.data() + path_text.size(), path);
  if (ec != std::errc() || ptr != path_text.data() + path_text.size() || path_text.empty())
    throw UserError("--path expects a path ID, a whole number >= 0, got '" + path_text + "'");
  // --from DIR: what the run was given, from its summary.json; the command line adds to it.
  std::string config = vm.count("config") ? vm["config"].as<std::string>() : "";
  std::vector<Override> overrides;
  std::optional<std::uint64_t> run_paths, run_seed;
  std::string from;
  if (vm.count("from")) {
    from = vm["from"].as<std::string>();
    const RunRecord record = read_run_record(from);
    if (config.empty()) config = record.config;
    if (read_config(config).sha256 != record.config_file_sha256)
      throw UserError("--from " + from + ": " + config +
                      " is not the file that run read (its SHA-256 differs): the config "
                      "changed since, or give the run's CONFIG");
    overrides = record.overrides;
    run_paths = record.paths;
    run_seed = record.seed;
  }
  for (const Override& o : parse_overrides(vm)) overrides.push_back(o);
  Scenario scenario = parse_scenario(read_config_file(config), config, overrides);
  if (run_paths) scenario.paths = *run_paths;
  if (run_seed) scenario.seed = *run_seed;
  if (vm.count("paths"))
    scenario.paths = parse_count(vm["paths"].as<std::string>(), "--paths", ModelLimits::max_paths);
  if (vm.count("seed")) scenario.seed = parse_seed(vm["seed"].as<std::string>());
  if (path >= scenario.paths)
    throw UserError("--path " + path_text + " is beyond the run's " +
                    std::to_string(scenario.paths) + " paths (IDs 0 to " +
                    std::to_string(scenario.paths - 1) + ")" +
                    (vm.count("paths") || vm.count("from")
                         ? ""
                         : "; give the run's --paths if it ran more than scenario.paths, or "
                           "--from its folder"));
  const std::string csv = vm.count("csv") ? vm["csv"].as<std::string>()
                                          : default_output_folder(scenario.name) +
                                                "/trace-path-" + std::to_string(path) + ".csv";
  if (!vm.count("csv")) check_folder_can_be_written(default_output_folder(scenario.name), "--csv");
  check_file_can_be_written(csv, "--csv");
  const FlatScenario flat(scenario);
  const PathReplay replay = replay_path(flat, scenario.seed, path);
  if (!from.empty()) check_against_tail_paths(from, scenario, flat, replay);
  write_file_atomically(csv, trace_csv(scenario, replay));
  if (!vm.count("quiet")) {
    std::cout << trace_text(scenario, replay);
    for (const Override& o : overrides) std::cout << "  with " << o.origin << "\n";
    std::cout << "month by month: " << csv << "\n";
  }
  return exit_ok;
}

int command_merge(const std::vector<std::string>& args) {
  po::options_description options("caprisk merge SHARDS... [options]");
  options.add_options()("help,h", "show this help")(
      "out", po::value<std::string>(), "output directory (default: out/<scenario name>)")(
      "config", po::value<std::string>(), "the scenario file (default: the one the shards name)")(
      "threads", po::value<std::string>(), "CPU threads for the refining passes")(
      "force", "replace the results of another run in --out")(
      "db", po::value<std::string>(), "the run history (default: caprisk-runs.sqlite beside --out)")(
      "no-db", "record nothing in a run history")(
      "quiet,q", "no headline table");
  po::variables_map vm;
  if (!parse_arguments(args, options, "inputs", -1, vm)) return exit_ok;
  MergeOptions merge;
  if (vm.count("inputs")) merge.inputs = vm["inputs"].as<std::vector<std::string>>();
  if (merge.inputs.empty())
    throw UserError("merge: give the shard files (or directories) written by run --shard k/n");
  if (vm.count("out")) merge.out_dir = vm["out"].as<std::string>();
  if (vm.count("config")) merge.config_path = vm["config"].as<std::string>();
  if (vm.count("threads")) merge.threads = parse_threads(vm["threads"].as<std::string>());
  merge.quiet = vm.count("quiet") > 0;
  merge.force = vm.count("force") > 0;
  if (vm.count("db")) merge.db_path = vm["db"].as<std::string>();
  merge.no_db = vm.count("no-db") > 0;
  merge.command_line = "caprisk merge";
  for (const auto& a : args) merge.command_line += " " + a;
  return merge_shards(merge);
}

/// caprisk report DIR: the folder's results again, with report.html drawn from them, as one
/// new version of the folder (committed atomically, like a run's files).
int command_report(const std::vector<std::string>& args) {
  po::options_description options("caprisk report DIR (an output folder of run, stress or sensitivity)");
  options.add_options()("help,h", "show this help")("quiet,q", "print nothing on success");
  po::variables_map vm;
  if (!parse_arguments(args, options, "dir", 1, vm)) return exit_ok;
  if (!vm.count("dir")) throw UserError("report: missing DIR (a run's --out folder)");
  const std::string dir = vm["dir"].as<std::string>();
  if (!std::filesystem::is_directory(dir))
    throw UserError("report: " + dir + " is not a folder (give a run's --out folder)");
  // Before taking the folder (which makes DIR/.caprisk): a user's own folder stays untouched.
  if (!std::filesystem::exists(dir + "/summary.json"))
    throw UserError("report: " + dir + " holds no caprisk results (no summary.json)");
  if (const std::string missing = report_unavailable(); !missing.empty())
    throw UserError("report: " + missing);
  const auto started = std::chrono::steady_clock::now();
  OutputDirectory out(dir);
  if (out.current_summary().empty())
    throw UserError("report: " + dir + " holds no caprisk results (no summary.json)");
  out.stage_current_files({"report.html"});
  out.stage("report.html", draw_report(out.staged_folder()));
  out.commit();
  if (!vm.count("quiet"))
    std::printf("report: %s/report.html (%.1f s)\n", dir.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return exit_ok;
}

/// The run history of history and diff: --db, else the default output folders' one.
std::string history_file(const po::variables_map& vm) {
  const std::string path =
      vm.count("db") ? vm["db"].as<std::string>() : std::string("out/caprisk-runs.sqlite");
  if (!std::filesystem::exists(path))
    throw UserError("no run history at " + path +
                    " (runs record into caprisk-runs.sqlite beside their --out folder; give "
                    "--db FILE)");
  return path;
}

int command_history(const std::vector<std::string>& args) {
  po::options_description options("caprisk history [--db FILE] [--scenario NAME] [--limit N]");
  options.add_options()("help,h", "show this help")(
      "db", po::value<std::string>(), "the run history (default: out/caprisk-runs.sqlite)")(
      "scenario", po::value<std::string>(), "only this scenario's runs")(
      "limit", po::value<std::string>(), "the latest N runs (default 20)");
  po::variables_map vm;
  if (!parse_arguments(args, options, "none", 0, vm)) return exit_ok;
  const int limit = vm.count("limit")
                        ? static_cast<int>(parse_count(vm["limit"].as<std::string>(), "--limit", 1000000))
                        : 20;
  const RunHistory history(history_file(vm));
  const auto runs =
      history.runs(limit, vm.count("scenario") ? vm["scenario"].as<std::string>() : "");
  std::printf("%5s  %-20s  %-22s %-11s %10s %12s  %-12s  %s\n", "run", "finished", "scenario",
              "kind", "paths", "ALL GW-mo", "config", "overrides");
  for (const HistoryRun& r : runs)
    std::printf("%5lld  %-20s  %-22.22s %-11s %10llu %12.2f  %-12.12s  %s\n",
                static_cast<long long>(r.id), r.finished_at.c_str(), r.scenario.c_str(),
                r.kind.c_str(), static_cast<unsigned long long>(r.paths), r.all_gw_months_mean,
                r.config_sha256.c_str(), r.overrides == "[]" ? "" : r.overrides.c_str());
  if (runs.empty()) std::printf("(no runs recorded)\n");
  return exit_ok;
}

int command_diff(const std::vector<std::string>& args) {
  po::options_description options("caprisk diff RUN_A RUN_B | --last [--scenario NAME] [--db FILE]");
  options.add_options()("help,h", "show this help")(
      "db", po::value<std::string>(), "the run history (default: out/caprisk-runs.sqlite)")(
      "last", "the two most recent runs of one scenario: what changed since last night")(
      "scenario", po::value<std::string>(), "with --last: this scenario (default: the newest run's)");
  po::variables_map vm;
  if (!parse_arguments(args, options, "runs", -1, vm)) return exit_ok;
  const std::vector<std::string> ids =
      vm.count("runs") ? vm["runs"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const RunHistory history(history_file(vm));
  std::pair<std::int64_t, std::int64_t> pair;
  if (vm.count("last")) {
    if (!ids.empty()) throw UserError("diff: give two run IDs or --last, not both");
    pair = history.last_two(vm.count("scenario") ? vm["scenario"].as<std::string>() : "");
  } else {
    if (ids.size() != 2)
      throw UserError("diff: give two run IDs (caprisk history lists them), or --last");
    pair = {static_cast<std::int64_t>(parse_count(ids[0], "a run ID", 1ULL << 62)),
            static_cast<std::int64_t>(parse_count(ids[1], "a run ID", 1ULL << 62))};
  }
  std::cout << history.diff(pair.first, pair.second);
  return exit_ok;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage_text;
    return exit_usage;
  }
  const std::string command = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  current_command = command;
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << usage_text;
    return exit_ok;
  }
  if (command == "--version" || command == "version") {
    std::cout << version_line() << "\n";
    return exit_ok;
  }
  if (command == "run") return command_run(rest);
  if (command == "validate") return command_validate(rest);
  if (command == "devices") return command_devices(rest);
  if (command == "merge") return command_merge(rest);
  if (command == "stress") return command_stress(rest);
  if (command == "sensitivity") return command_sensitivity(rest);
  if (command == "trace") return command_trace(rest);
  if (command == "report") return command_report(rest);
  if (command == "history") return command_history(rest);
  if (command == "diff") return command_diff(rest);
  throw UserError("unknown command '" + command +
                  "' (expected run, stress, sensitivity, trace, report, history, diff, validate, "
                  "merge or devices)");
}

}  // namespace
}  // namespace caprisk

int main(int argc, char** argv) {
  using namespace caprisk;
  try {
    // A CAPRISK_SIMD this CPU cannot honour is a usage error, before anything runs.
    try {
      simd_target();
    } catch (const std::invalid_argument& e) {
      throw UserError(std::string("CAPRISK_SIMD: ") + e.what());
    }
    return dispatch(argc, argv);
  } catch (const Interrupted& e) {
    std::cerr << "caprisk: " << e.what() << "\n";
    return e.exit_code();
  } catch (const UserError& e) {
    std::cerr << "caprisk: error: " << e.what() << "\n";
    return exit_usage;
  } catch (const po::error& e) {
    std::cerr << "caprisk: error: " << e.what() << " (see caprisk --help)\n";
    return exit_usage;
  } catch (const std::bad_alloc&) {
    std::cerr << "caprisk: error: out of memory (try fewer --paths or fewer report months)\n";
    return exit_runtime;
  } catch (const std::exception& e) {
    std::cerr << "caprisk: error: " << e.what() << "\n";
    return exit_runtime;
  }
}
