#include "host/run/pipeline.h"
#include "host/run/simd_batch.h"

#include <omp.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "host/config/checks.h"
#include "host/config/config.h"
#include "host/cuda/backend_cuda.h"
#include "host/cuda/devices.h"
#include "host/errors.h"
#include "host/report/drivers.h"
#include "host/report/report_page.h"
#include "host/report/report.h"
#include "host/config/overrides.h"
#include "host/config/yaml_reader.h"
#include "host/report/compare.h"
#include "host/report/tornado.h"
#include "host/run/backend_cpu.h"
#include "host/run/variants.h"
#include "host/version.h"

namespace caprisk {
namespace {

/// Picks the backend: "cpu" or "cuda"; `auto` takes a usable GPU and says why when it cannot.
std::string choose_backend(const std::string& requested, int device, bool announce) {
  if (requested == "cpu") return "cpu";
  const DeviceReport devices = query_devices();
  if (requested == "cuda") {
    if (!devices.cuda_built || devices.devices.empty())
      throw UserError("--backend cuda: no usable CUDA device: " + devices.why_none);
    if (device < 0 || device >= static_cast<int>(devices.devices.size()))
      throw UserError("--device " + std::to_string(device) + ": this machine has " +
                      std::to_string(devices.devices.size()) + " CUDA device(s), numbered from 0");
    return "cuda";
  }
  if (devices.cuda_built && device >= 0 && device < static_cast<int>(devices.devices.size())) {
    if (announce)
      std::cerr << "caprisk: backend cuda (device " << device << ": "
                << devices.devices[device].name << ")\n";
    return "cuda";
  }
  if (announce) {
    const SimdTarget simd = simd_target();
    std::cerr << "caprisk: backend cpu, SIMD " << simd.name << " (" << simd.lanes << " lane"
              << (simd.lanes == 1 ? "" : "s") << "; "
              << (devices.devices.empty()
                      ? "no usable CUDA device: " + devices.why_none
                      : "--device " + std::to_string(device) + " does not exist")
              << ")\n";
  }
  return "cpu";
}

/// Most memory the buffers of one chunk may take (`--chunk-paths` beyond it is refused).
constexpr double max_chunk_bytes = 1024.0 * 1024 * 1024;

}  // namespace

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ConfigSource read_config(const std::string& path) {
  ConfigSource source;
  source.path = path;
  source.text = read_config_file(path);
  source.sha256 = sha256_hex(source.text);
  return source;
}

std::uint64_t chunk_size(const ReductionSpec& spec, const std::string& backend,
                         std::uint64_t requested, std::uint64_t paths) {
  const double bytes_per_path = spec.bytes_per_path();
  if (requested > 0) {
    const std::uint64_t chunk = std::min(requested, paths);
    if (static_cast<double>(chunk) * bytes_per_path > max_chunk_bytes)
      throw UserError("--chunk-paths " + std::to_string(requested) + " needs " +
                      std::to_string(static_cast<std::uint64_t>(
                          static_cast<double>(chunk) * bytes_per_path / 1048576.0)) +
                      " MB of buffers for one chunk (" +
                      std::to_string(static_cast<std::uint64_t>(bytes_per_path)) +
                      " bytes per path); at most " +
                      std::to_string(static_cast<std::uint64_t>(max_chunk_bytes / bytes_per_path)) +
                      " paths fit in the 1 GiB a chunk may take");
    return chunk;
  }
  const auto cap =
      std::max<std::uint64_t>(64, static_cast<std::uint64_t>(268435456.0 / bytes_per_path));
  return std::max<std::uint64_t>(
      1, std::min({std::uint64_t{backend == "cuda" ? 1u << 20 : 16384u}, cap, paths}));
}

void RunDetails::take(const BatchReport& report) {
  passes = report.passes;
  peak_kept_values = report.peak_kept_values;
  pilot_paths = report.pilot_paths;
  passes_read_the_pilot = report.pilot_was_whole_run;
}

RunSetup::RunSetup(const RunOptions& options, int device, bool announce)
    : options_(options), config_(read_config(options.config_path)), device_(device) {
  scenario_ = parse_scenario(config_.text, config_.path, options_.overrides);
  if (options_.paths) scenario_.paths = *options_.paths;
  else if (options_.sensitivity) scenario_.paths = std::min(scenario_.paths, default_sensitivity_paths);
  if (options_.seed) scenario_.seed = *options_.seed;
  refuse_if_no_supply(scenario_, options_.allow_no_supply);
  if (options_.target_ci > 0) {
    if (options_.stress || options_.sensitivity || options_.shard_count > 0)
      throw UserError("--target-ci works only with caprisk run in one process, not with " +
                      std::string(options_.stress        ? "caprisk stress"
                                  : options_.sensitivity ? "caprisk sensitivity"
                                                         : "run --shard"));
    if (std::find(scenario_.percentiles.begin(), scenario_.percentiles.end(), 95.0) ==
        scenario_.percentiles.end())
      throw UserError("--target-ci measures the P95's interval: scenario.percentiles of " +
                      config_.path + " must include 95");
    if (options_.max_paths < scenario_.paths)
      throw UserError("--max-paths " + std::to_string(options_.max_paths) +
                      " is below the paths the run starts with (" +
                      std::to_string(scenario_.paths) + ", from --paths or scenario.paths)");
  }
  if (announce)  // even with --quiet: a warning is not progress
    for (const std::string& warning : scenario_warnings(scenario_))
      std::cerr << "caprisk: warning: " << warning << "\n";
  finish_setup(announce);
}

RunSetup::RunSetup(const RunOptions& options, const std::string& expected_identity,
                   std::uint64_t seed, std::uint64_t paths)
    : options_(options), config_(read_config(options.config_path)) {
  scenario_ = parse_scenario(config_.text, config_.path, options_.overrides);
  scenario_.seed = seed;
  scenario_.paths = paths;
  options_.backend = "cpu";  // the refining passes run on the CPU
  finish_setup(false);
  if (identity_ != expected_identity)
    throw UserError(config_.path +
                    ": this config is not the one the shards were run with (its SHA-256, with "
                    "the shards' overrides and stresses, differs); pass the original with "
                    "--config");
}

void RunSetup::finish_setup(bool announce) {
  config_sha256_ = options_.overrides.empty()
                       ? config_.sha256
                       : sha256_hex(config_.text + "\n# caprisk overrides\n" +
                                    overrides_text(options_.overrides));
  identity_ = config_sha256_;
  flat_ = std::make_unique<FlatScenario>(scenario_);
  spec_ = flat_->reduction_spec();
  if (options_.stress) set_up_stresses(announce);
  if (options_.sensitivity) set_up_sensitivity();
  else {
    spec_.tail_paths = tail_path_count;  // the base's worst paths, for tail_paths.csv
    spec_.static_bounds = static_bounds(scenario_);  // and its tail drivers, for drivers.csv
  }
  chunk_size(spec_, "cpu", options_.chunk_paths, scenario_.paths);  // refuses before any output
  if (options_.report)  // before anything is simulated
    if (const std::string missing = report_unavailable(); !missing.empty())
      throw UserError("--report: " + missing);
  backend_ = choose_backend(options_.backend, device_, announce && !options_.quiet);
  threads_ = options_.threads > 0 ? options_.threads : omp_get_max_threads();
  chunk_ = chunk_size(spec_, backend_, options_.chunk_paths, scenario_.paths);
}

void RunSetup::set_up_stresses(bool announce) {
  const std::vector<Stress>& all = scenario_.stresses;
  if (all.empty())
    throw UserError(config_.path +
                    ": no stresses to run: the config has no `stresses:` list "
                    "(docs/ANALYSIS.md shows how to write one)");
  std::vector<std::string> names;
  for (const Stress& stress : all) names.push_back(stress.name);
  std::string listing;
  for (const std::string& name : names) listing += (listing.empty() ? "" : ", ") + name;
  std::vector<bool> chosen(all.size(), options_.only.empty());
  for (const std::string& name : options_.only) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end())
      throw UserError("--only " + name + ": " + config_.path + " has no stress of that name" +
                      did_you_mean(name, names) + "; its stresses: " + listing);
    chosen[static_cast<std::size_t>(it - names.begin())] = true;
  }
  std::string selection;
  const std::vector<std::string> base_warnings = scenario_warnings(scenario_);
  for (std::size_t k = 0; k < all.size(); ++k) {
    if (!chosen[k]) continue;
    stresses_.push_back(all[k]);
    Scenario variant = stressed(config_.text, config_.path, scenario_, all[k]);
    variant.paths = scenario_.paths;
    variant.seed = scenario_.seed;
    if (announce)  // what the stress adds to the base's warnings
      for (const std::string& warning : scenario_warnings(variant))
        if (std::find(base_warnings.begin(), base_warnings.end(), warning) == base_warnings.end())
          std::cerr << "caprisk: warning: stress " << all[k].name << ": " << warning << "\n";
    stressed_.push_back(std::move(variant));
    selection += "\n" + all[k].name;
  }
  for (const Scenario& variant : stressed_)
    stressed_flats_.push_back(std::make_unique<FlatScenario>(variant));
  std::vector<const FlatScenario*> variants{flat_.get()};
  for (const auto& flat : stressed_flats_) variants.push_back(flat.get());
  spec_ = stacked_spec(variants);
  identity_ = sha256_hex(config_sha256_ + "\n# caprisk stress" + selection);
}

void RunSetup::set_up_sensitivity() {
  inputs_ = static_inputs(scenario_);
  if (inputs_.empty())
    throw UserError(config_.path +
                    (options_.overrides.empty()
                         ? std::string()
                         : " with its " + std::to_string(options_.overrides.size()) +
                               " --set/--shift override(s)") +
                    ": no static uncertain input to pin: every distribution drawn once per path "
                    "is fixed, and no event has a probability strictly between 0 and 1; leave "
                    "one uncertain, or use caprisk run for a fixed scenario");
  for (std::size_t i = 0; i < inputs_.size(); ++i)
    for (double value : {inputs_[i].low, inputs_[i].high})
      pinned_flats_.push_back(std::make_unique<FlatScenario>(pinned(scenario_, i, value)));
  spec_ = sensitivity_spec(*flat_, inputs_.size());
  identity_ = sha256_hex(config_sha256_ + "\n# caprisk sensitivity");
}

namespace {

/// Now, as 2026-12-01T09:30:00Z.
std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace

void RunSetup::open_history() const {
  const std::string path = history_path(options_.db_path, options_.no_db, out_dir());
  if (!path.empty()) history_ = std::make_unique<RunHistory>(path);
}

void RunSetup::refuse_other_results(const OutputDirectory& out, bool force) const {
  const std::string text = out.current_summary();
  if (text.empty() || force) return;
  const nlohmann::json before = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> differences;
  const auto text_of = [&](const char* key) {
    return before.is_object() && before.contains(key) && before[key].is_string()
               ? before[key].get<std::string>()
               : std::string();
  };
  const auto number_of = [&](const char* key, std::uint64_t& value) {
    if (!before.is_object() || !before.contains(key) || !before[key].is_number_unsigned())
      return false;
    value = before[key].get<std::uint64_t>();
    return true;
  };
  const std::string identity = text_of("run_identity");
  if (identity.empty()) {
    differences.push_back("they were written by a caprisk that did not record its run identity");
  } else if (identity != identity_) {
    const std::string config = text_of("config_sha256");
    differences.push_back(config != config_sha256_
                              ? "another config or other --set/--shift overrides (config_sha256 " +
                                    config.substr(0, 12) + "..., this run's " +
                                    config_sha256_.substr(0, 12) + "...)"
                              : "another kind of run (plain, stress with other stresses, or "
                                "sensitivity) of the same config");
  }
  std::uint64_t seed = 0, paths = 0;
  if (number_of("seed", seed) && seed != scenario_.seed)
    differences.push_back("seed " + std::to_string(seed) + ", this run's " +
                          std::to_string(scenario_.seed));
  // A resumed run may grow its paths (its checkpoint checks that it is the same run).
  if (!options_.resume && (number_of("requested_paths", paths) || number_of("paths", paths)) &&
      paths != scenario_.paths)
    differences.push_back(std::to_string(paths) + " paths, this run's " +
                          std::to_string(scenario_.paths));
  if (differences.empty()) return;
  std::string why;
  for (const std::string& d : differences) why += "\n  - " + d;
  const std::string finished = text_of("finished_at");
  throw UserError(out.path() + " holds the results of another run (scenario " +
                  text_of("scenario") + (finished.empty() ? "" : ", finished " + finished) +
                  "):" + why +
                  "\nnothing was changed; pass --force to replace them, or choose another --out");
}

std::string RunSetup::out_dir() const {
  return options_.out_dir.empty() ? default_output_folder(scenario_.name) : options_.out_dir;
}

namespace {

/// CAPRISK_CUDA_FIRST_PASS: who bins a streamed GPU run's first pass (the runner compares).
bool cuda_first_pass_on_device() {
  const char* text = std::getenv("CAPRISK_CUDA_FIRST_PASS");
  if (text == nullptr || *text == '\0' || std::string(text) == "device") return true;
  if (std::string(text) == "host") return false;
  throw UserError("CAPRISK_CUDA_FIRST_PASS='" + std::string(text) +
                  "': expected 'device' (the default: the GPU fills the first pass's root "
                  "histograms) or 'host' (every value copied back and binned on the CPU)");
}

}  // namespace

ChunkSimulator RunSetup::simulator(const FlatScenario& flat, std::string& device_name) const {
  if (backend_ == "cuda")
    return make_cuda_chunk_simulator(flat, scenario_.seed, chunk_, device_, device_name);
  return [&flat, seed = scenario_.seed, threads = threads_](
             std::uint64_t first, std::uint64_t count, const PathOutput& out) {
    simulate_cpu(flat, seed, first, count, out, threads, nullptr);
  };
}

PathSource RunSetup::path_source(std::string& device_name) const {
  if (!inputs_.empty()) {
    std::vector<ChunkSimulator> pinned;
    for (const auto& flat : pinned_flats_) pinned.push_back(simulator(*flat, device_name));
    PathSource source;
    source.spec = spec_;
    // A sensitivity spec has no percentiles, so no pilot: nothing calls this with paths.
    source.pilot = [](std::uint64_t, std::uint64_t count, const PathOutput&) {
      CAPRISK_EXPECTS(count == 0, "a sensitivity run has no pilot");
    };
    if (backend_ == "cpu") {  // one draw of each path's statics for every variant
      std::vector<const FlatScenario*> flats;
      for (const auto& flat : pinned_flats_) flats.push_back(flat.get());
      source.simulate = shared_draw_sensitivity_simulator(*flat_, std::move(flats), inputs_,
                                                          scenario_.seed, threads_, spec_);
    } else {
      source.simulate =
          sensitivity_simulator(simulator(*flat_, device_name), std::move(pinned), spec_);
    }
    return source;
  }
  if (stresses_.empty()) {
    // A GPU run's device bins the first pass itself (one device state for both functions).
    CudaChunkSource cuda;
    if (backend_ == "cuda" && cuda_first_pass_on_device())
      cuda = make_cuda_chunk_source(*flat_, scenario_.seed, chunk_, device_, device_name);
    PathSource source = single_source(*flat_, scenario_.seed, threads_,
                                      cuda.simulate ? cuda.simulate : simulator(*flat_, device_name));
    source.spec = spec_;  // the scenario's own, with the worst paths to keep
    source.whole_run_bytes = whole_run_bytes();
    source.reduce = cuda.reduce;
    return source;
  }
  std::vector<ChunkSimulator> pilots;
  std::vector<ChunkSimulator> backends;
  std::vector<const FlatScenario*> variants{flat_.get()};
  for (const auto& flat : stressed_flats_) variants.push_back(flat.get());
  for (const FlatScenario* flat : variants) {
    pilots.push_back(single_source(*flat, scenario_.seed, threads_, nullptr).pilot);
    backends.push_back(simulator(*flat, device_name));
  }
  PathSource source;
  source.spec = spec_;
  source.pilot = stacked_simulator(std::move(pilots), spec_);
  source.simulate = stacked_simulator(std::move(backends), spec_);
  source.whole_run_bytes = whole_run_bytes();
  return source;
}

std::uint64_t RunSetup::whole_run_bytes() const {
  // The pilot is the CPU model in this process: only a CPU run in one process gains by
  // keeping its whole run (ranks and shards would have rank 0 simulate it all alone; the GPU
  // would simulate it again).
  // A checkpointed run streams: its pilot is not checkpointed, so a whole run simulated as
  // the pilot would lose everything to a kill before the first checkpoint.
  if (backend_ != "cpu" || options_.shard_count > 0 || !options_.checkpoint_path.empty())
    return PathSource{}.whole_run_bytes;
  return options_.memory_budget.value_or(default_memory_budget());
}

BatchOptions RunSetup::batch_options() const {
  BatchOptions batch;
  batch.threads = threads_;
  batch.chunk_paths = chunk_;
  batch.checkpoint_path = options_.checkpoint_path;
  batch.checkpoint_every = options_.checkpoint_every;
  batch.resume = options_.resume;
  batch.quiet = options_.quiet;
  batch.progress_every = options_.progress_every;
  batch.reuse_pilot = backend_ == "cpu";
  batch.config_sha256 = identity_;
  batch.resume_hint =
      options_.command_line +
      (options_.command_line.find("--resume") == std::string::npos ? " --resume" : "");
  if (const char* crash = std::getenv("CAPRISK_TEST_CRASH_CHECKPOINT_BYTES"))
    batch.crash_after_bytes = std::atoll(crash);
  return batch;
}

void RunSetup::write_outputs(OutputDirectory& out, const RunResults& all_results,
                             const RunDetails& details, double wall_seconds) const {
  const Scenario& s = scenario_;
  // A stress run's results hold every variant: the base's tables are block 0.
  const bool stress_run = !stresses_.empty();
  const bool sensitivity_run = !inputs_.empty();
  const RunResults results =
      stress_run || sensitivity_run ? variant_results(all_results, spec_, 0) : all_results;
  std::vector<TornadoRow> tornado;
  if (sensitivity_run) {
    std::vector<PinnedDifferences> differences;
    for (std::size_t i = 0; i < inputs_.size(); ++i)
      differences.push_back({difference_block(all_results, spec_, sensitivity_block(i, 0)),
                             difference_block(all_results, spec_, sensitivity_block(i, 1)),
                             difference_block(all_results, spec_, sensitivity_block(i, 2))});
    tornado = tornado_rows(s, results, differences);
  }
  std::vector<StressOutcome> outcomes;
  for (std::size_t k = 0; k < stresses_.size(); ++k) {
    const int v = static_cast<int>(k) + 1;
    outcomes.push_back(StressOutcome{&stresses_[k], &stressed_[k],
                                     variant_results(all_results, spec_, v),
                                     paired_differences(all_results, spec_, v)});
  }
  nlohmann::json overrides = nlohmann::json::array();
  for (const Override& o : options_.overrides) overrides.push_back(o.origin);
  const nlohmann::json summary = {
      {"caprisk_version", CAPRISK_VERSION},
      {"caprisk_commit", CAPRISK_GIT_COMMIT},
      {"config", config_.path},
      {"config_sha256", config_sha256_},
      {"config_file_sha256", config_.sha256},
      {"run_identity", identity_},
      {"finished_at", utc_timestamp()},
      {"overrides", overrides},
      {"scenario", s.name},
      {"seed", s.seed},
      {"paths", all_results.paths},
      {"requested_paths", s.paths},
      {"command_line", options_.command_line},
      {"start", s.start.str()},
      {"horizon_months", s.horizon_months},
      {"backend", backend_},
      {"threads", backend_ == "cpu" ? threads_ : 0},
      {"mpi_ranks", details.mpi_ranks},
      {"rank_devices", details.rank_devices},
      {"merged_shards", details.merged_shards},
      {"backend_details",
       {{"passes", details.passes},
        {"chunk_paths", details.chunk_paths},
        {"peak_kept_values", details.peak_kept_values},
        {"pilot_paths", details.pilot_paths},
        {"passes_read_the_pilot", details.passes_read_the_pilot},
        {"memory_budget_bytes", whole_run_bytes()},
        {"device", details.device},
        {"device_name", details.device_name},
        {"reduced_on_device", details.reduced_on_device},
        {"kernel_seconds", details.kernel_seconds},
        {"reduce_seconds", details.reduce_seconds},
        {"cuda_launch", details.cuda_launch},
        {"first_pass_on_device", details.first_pass_on_device}}},
      {"simulation_seconds", details.simulation_seconds},
      {"wall_seconds", wall_seconds},
      {"paths_per_second",
       static_cast<double>(all_results.paths) / std::max(details.simulation_seconds, 1e-9)},
      // A sensitivity run reduces means only: no percentiles to put in a headline.
      {"headline", sensitivity_run ? nlohmann::json::object() : headline_json(s, results)},
      {"outlook", sensitivity_run ? nlohmann::json::object() : outlook_json(s, results)},
      {"stresses", stresses_json(s, outcomes)},
      {"sensitivity", sensitivity_json(inputs_, tornado)},
      {"precision", precision_json(details.precision)}};
  if (sensitivity_run) {
    // Means only: the tables of the base are `caprisk run`'s.
    out.stage("tornado.csv", tornado_csv(s, inputs_, tornado, all_results.paths));
  } else {
    out.stage("percentiles.csv", percentiles_csv(s, results));
    out.stage("attribution.csv", attribution_csv(s, results));
    out.stage("targets.csv", targets_csv(s, results));
    if (!results.drivers.empty()) out.stage("drivers.csv", drivers_csv(s, results));
    if (!results.worst_paths.empty())
      out.stage("tail_paths.csv", tail_paths_csv(s, results));
    else if (!options_.quiet)
      std::cerr << "caprisk: warning: the in-memory GPU reduction keeps no path IDs, so this run "
                   "writes no tail_paths.csv nor drivers.csv (a run with --checkpoint streams, "
                   "and keeps them)\n";
  }
  for (const StressOutcome& o : outcomes) {
    const std::string folder = "stress/" + o.stress->name + "/";
    out.stage(folder + "percentiles.csv", percentiles_csv(*o.scenario, o.results));
    out.stage(folder + "attribution.csv", attribution_csv(*o.scenario, o.results));
    out.stage(folder + "targets.csv", targets_csv(*o.scenario, o.results));
  }
  if (stress_run) out.stage("stress_compare.csv", stress_compare_csv(s, results, outcomes));
  // Invalid UTF-8 (a command-line path, say) is replaced, never a failure after the run.
  out.stage("summary.json",
            summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  // The page is drawn from the staged files alone, as caprisk report draws a folder later.
  if (options_.report) out.stage("report.html", draw_report(out.staged_folder()));
  out.commit();
  if (history_) {
    std::vector<RecordedTables> tables;
    if (!sensitivity_run) tables.push_back({"", &s, &results});
    for (const StressOutcome& o : outcomes)
      tables.push_back({o.stress->name, o.scenario, &o.results});
    const char* kind = sensitivity_run ? "sensitivity" : stress_run ? "stress" : "run";
    try {
      const std::int64_t id = history_->record(summary, config_.text, kind,
                                               std::filesystem::absolute(out.path()).string(),
                                               tables);
      if (!options_.quiet)
        std::cerr << "caprisk: recorded as run " << id << " in " << history_->path() << "\n";
    } catch (const std::exception& e) {
      throw RuntimeFailure(std::string("the results are in ") + out.path() +
                           ", but recording the run in its history failed: " + e.what());
    }
  }
  if (!options_.quiet) {
    if (!options_.overrides.empty()) {
      std::cout << "With";
      for (const Override& o : options_.overrides) std::cout << " " << o.origin;
      std::cout << "\n";
    }
    if (sensitivity_run)
      std::cout << tornado_table(s, inputs_, tornado);
    else
      std::cout << headline_table(s, results);
    if (stress_run) std::cout << stress_table(s, results, outcomes);
    // (not met: the warning on stderr already said which cells, and what to do)
    if (details.precision.met) std::cout << precision_text(details.precision, all_results.paths);
    if (!sensitivity_run) std::cout << drivers_text(s, results);
    const std::size_t all = static_cast<std::size_t>(s.sites.size());
    if (results.worst_paths.size() > all && !results.worst_paths[all].empty() &&
        results.worst_paths[all].front().value > 0) {
      const std::vector<TailPath>& tail = results.worst_paths[all];
      const TailPath& worst = tail.front();
      const bool tied = tail.size() > 1 && tail.back().value == worst.value;
      std::printf("Worst path of ALL: %llu, short %.1f GW-months in total%s; the 20 worst of "
                  "each site in tail_paths.csv\n",
                  static_cast<unsigned long long>(worst.path), worst.value,
                  tied ? " (at least 20 paths tie at that value: the smallest IDs are listed)"
                       : "");
      std::printf("  replay it: caprisk trace --from %s --path %llu\n", out.path().c_str(),
                  static_cast<unsigned long long>(worst.path));
    }
    std::printf("%llu paths in %.2f s on %s; results in %s/\n",
                static_cast<unsigned long long>(all_results.paths), wall_seconds, backend_.c_str(),
                out.path().c_str());
  }
}

}  // namespace caprisk
