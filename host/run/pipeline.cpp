#include "host/run/pipeline.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "host/config/checks.h"
#include "host/config/config.h"
#include "host/cuda/backend_cuda.h"
#include "host/cuda/devices.h"
#include "host/errors.h"
#include "host/report/report.h"
#include "host/run/backend_cpu.h"
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
  if (announce)
    std::cerr << "caprisk: backend cpu ("
              << (devices.devices.empty()
                      ? "no usable CUDA device: " + devices.why_none
                      : "--device " + std::to_string(device) + " does not exist")
              << ")\n";
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

std::uint64_t chunk_size(const FlatScenario& flat, const std::string& backend,
                         std::uint64_t requested, std::uint64_t paths) {
  const double bytes_per_path = static_cast<double>(flat.layout().value_count() * sizeof(double) +
                                                    flat.layout().code_count());
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
  scenario_ = parse_scenario(config_.text, config_.path);
  if (options_.paths) scenario_.paths = *options_.paths;
  if (options_.seed) scenario_.seed = *options_.seed;
  refuse_if_no_supply(scenario_, options_.allow_no_supply);
  if (announce)  // even with --quiet: a warning is not progress
    for (const std::string& warning : scenario_warnings(scenario_))
      std::cerr << "caprisk: warning: " << warning << "\n";
  finish_setup(announce && !options_.quiet);
}

RunSetup::RunSetup(const RunOptions& options, const std::string& expected_sha256,
                   std::uint64_t seed, std::uint64_t paths)
    : options_(options), config_(read_config(options.config_path)) {
  if (config_.sha256 != expected_sha256)
    throw UserError(config_.path +
                    ": this config is not the one the shards were run with "
                    "(SHA-256 differs); pass the original with --config");
  scenario_ = parse_scenario(config_.text, config_.path);
  scenario_.seed = seed;
  scenario_.paths = paths;
  options_.backend = "cpu";  // the refining passes run on the CPU
  finish_setup(false);
}

void RunSetup::finish_setup(bool announce) {
  flat_ = std::make_unique<FlatScenario>(scenario_);
  chunk_size(*flat_, "cpu", options_.chunk_paths, scenario_.paths);  // refuses before any output
  backend_ = choose_backend(options_.backend, device_, announce);
  threads_ = options_.threads > 0 ? options_.threads : omp_get_max_threads();
  chunk_ = chunk_size(*flat_, backend_, options_.chunk_paths, scenario_.paths);
}

std::string RunSetup::out_dir() const {
  return options_.out_dir.empty() ? default_output_folder(scenario_.name) : options_.out_dir;
}

ChunkSimulator RunSetup::simulator(const FlatScenario& flat, std::string& device_name) const {
  if (backend_ == "cuda")
    return make_cuda_chunk_simulator(flat, scenario_.seed, chunk_, device_, device_name);
  return [&flat, seed = scenario_.seed, threads = threads_](
             std::uint64_t first, std::uint64_t count, const PathOutput& out) {
    simulate_cpu(flat, seed, first, count, out, threads, nullptr);
  };
}

BatchOptions RunSetup::batch_options() const {
  BatchOptions batch;
  batch.threads = threads_;
  batch.chunk_paths = chunk_;
  batch.checkpoint_path = options_.checkpoint_path;
  batch.checkpoint_every = options_.checkpoint_every;
  batch.resume = options_.resume;
  batch.quiet = options_.quiet;
  batch.reuse_pilot = backend_ == "cpu";
  batch.config_sha256 = config_.sha256;
  batch.resume_hint =
      options_.command_line +
      (options_.command_line.find("--resume") == std::string::npos ? " --resume" : "");
  if (const char* crash = std::getenv("CAPRISK_TEST_CRASH_CHECKPOINT_BYTES"))
    batch.crash_after_bytes = std::atoll(crash);
  return batch;
}

void RunSetup::write_outputs(OutputDirectory& out, const RunResults& results,
                             const RunDetails& details, double wall_seconds) const {
  const Scenario& s = scenario_;
  const nlohmann::json summary = {
      {"caprisk_version", CAPRISK_VERSION},
      {"caprisk_commit", CAPRISK_GIT_COMMIT},
      {"config", config_.path},
      {"config_sha256", config_.sha256},
      {"scenario", s.name},
      {"seed", s.seed},
      {"paths", s.paths},
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
        {"device", details.device},
        {"device_name", details.device_name},
        {"reduced_on_device", details.reduced_on_device},
        {"kernel_seconds", details.kernel_seconds},
        {"reduce_seconds", details.reduce_seconds}}},
      {"simulation_seconds", details.simulation_seconds},
      {"wall_seconds", wall_seconds},
      {"paths_per_second",
       static_cast<double>(s.paths) / std::max(details.simulation_seconds, 1e-9)},
      {"headline", headline_json(s, results)},
      {"outlook", outlook_json(s, results)}};
  out.stage("percentiles.csv", percentiles_csv(s, results));
  out.stage("attribution.csv", attribution_csv(s, results));
  out.stage("targets.csv", targets_csv(s, results));
  // Invalid UTF-8 (a command-line path, say) is replaced, never a failure after the run.
  out.stage("summary.json",
            summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  out.commit();
  if (!options_.quiet) {
    std::cout << headline_table(s, results);
    std::printf("%llu paths in %.2f s on %s; results in %s/\n",
                static_cast<unsigned long long>(s.paths), wall_seconds, backend_.c_str(),
                out.path().c_str());
  }
}

}  // namespace caprisk
