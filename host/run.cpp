// `caprisk run`: checks, simulation on the chosen backend, reduction, atomic report files.
#include "host/run.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "host/backend_cpu.h"
#include "host/backend_cuda.h"
#include "host/batch.h"
#include "host/config.h"
#include "host/devices.h"
#include "host/errors.h"
#include "host/flatten.h"
#include "host/mpi_run.h"
#include "host/output_files.h"
#include "host/report.h"
#include "host/results.h"
#include "host/shards.h"
#include "host/version.h"

namespace caprisk {
namespace {

bool all_zero(const Schedule& schedule) {
  for (const auto& point : schedule)
    if (point.value > 0) return false;
  return true;
}

/// The reasons no supply can ever reach any site within the horizon, from the supports of the
/// inputs alone; empty when some path can deliver.
std::string why_no_supply(const Scenario& s) {
  const Supply& supply = s.supply;
  const int shortest_lead = static_cast<int>(std::round(supply.lead_time_months.lower));
  if (shortest_lead >= s.horizon_months)
    return "supply.lead_time_months: the shortest lead time (" + std::to_string(shortest_lead) +
           " months) is not shorter than the horizon (" + std::to_string(s.horizon_months) +
           " months), so nothing produced can arrive";
  if (supply.program_share.upper <= 0) return "supply.program_share is 0";
  if (supply.stacks_per_wafer.upper <= 0) return "supply.stacks_per_wafer is 0";
  if (supply.kw_per_accelerator.upper <= 0) return "supply.kw_per_accelerator is 0";
  if (supply.package_yield.initial.upper <= 0 && supply.package_yield.mature.upper <= 0)
    return "supply.package_yield is 0";
  if (!supply.packaging_cap_gw.empty() && all_zero(supply.packaging_cap_gw))
    return "supply.packaging_cap_gw is 0 throughout";
  for (const Supplier& supplier : supply.suppliers) {
    const YieldCurve& y = supplier.hbm_yield.value_or(supply.hbm_yield);
    if (!all_zero(supplier.wafers_per_month) && supplier.capacity_factor.upper > 0 &&
        (y.initial.upper > 0 || y.mature.upper > 0))
      return "";
  }
  return "supply.suppliers: every supplier has zero wafers, a zero capacity factor or a zero "
         "HBM yield";
}

/// A scenario in which no supply can ever arrive is almost always a mistake: refuse it unless
/// the user asked for it (--allow-no-supply).
void refuse_if_no_supply(const Scenario& scenario, bool allowed) {
  const std::string reason = why_no_supply(scenario);
  if (!reason.empty() && !allowed)
    throw UserError(scenario.source_path + ": no supply can ever reach the sites: " + reason +
                    " (every path would be a full shortfall; pass --allow-no-supply to run "
                    "it anyway)");
}

/// Sites that can never install anything, whatever the paths; reported as warnings.
std::vector<std::string> sites_that_cannot_build(const Scenario& s) {
  std::vector<std::string> notes;
  for (const Site& site : s.sites) {
    if (all_zero(site.target_gw)) continue;
    if (all_zero(site.power_schedule) || site.power_availability.upper <= 0)
      notes.push_back("site '" + site.name + "' has no power in any month");
    else if (site.build_rate_gw.upper <= 0)
      notes.push_back("site '" + site.name + "' has build_rate_gw 0");
  }
  return notes;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Picks the backend: "cpu" or "cuda"; `auto` takes a usable GPU and says why when it cannot.
std::string choose_backend(const std::string& requested, int device, bool quiet) {
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
    if (!quiet)
      std::cerr << "caprisk: backend cuda (device " << device << ": "
                << devices.devices[device].name << ")\n";
    return "cuda";
  }
  if (!quiet)
    std::cerr << "caprisk: backend cpu ("
              << (devices.devices.empty()
                      ? "no usable CUDA device: " + devices.why_none
                      : "--device " + std::to_string(device) + " does not exist")
              << ")\n";
  return "cpu";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// The summary.json fields every run and merge shares.
nlohmann::json run_summary(const Scenario& scenario, const std::string& config_sha256,
                           const std::string& command_line) {
  return {{"caprisk_version", CAPRISK_VERSION},
          {"caprisk_commit", CAPRISK_GIT_COMMIT},
          {"config", scenario.source_path},
          {"config_sha256", config_sha256},
          {"scenario", scenario.name},
          {"seed", scenario.seed},
          {"paths", scenario.paths},
          {"command_line", command_line},
          {"start", scenario.start.str()},
          {"horizon_months", scenario.horizon_months}};
}

/// Writes the three result files (atomically, all or none) and prints the headline table.
void write_outputs(OutputDirectory& out, const Scenario& scenario, const RunResults& results,
                   nlohmann::json summary, bool quiet) {
  summary["headline"] = headline_json(scenario, results);
  out.stage("percentiles.csv", percentiles_csv(scenario, results));
  out.stage("attribution.csv", attribution_csv(scenario, results));
  // Invalid UTF-8 (a command-line path, say) is replaced, never a failure after the run.
  out.stage("summary.json",
            summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  out.commit();
  if (!quiet) {
    std::cout << headline_table(scenario, results);
    std::printf("%llu paths in %.2f s on %s; results in %s/\n",
                static_cast<unsigned long long>(scenario.paths), summary.value("wall_seconds", 0.0),
                summary.value("backend", std::string("cpu")).c_str(), out.path().c_str());
  }
}

/// Most memory the buffers of one chunk may take (`--chunk-paths` beyond it is refused).
constexpr double max_chunk_bytes = 1024.0 * 1024 * 1024;

/// Paths per chunk: `requested`, or 16384 on the CPU and 1M on a GPU, never more than 256 MB
/// of outputs; never more than the run's paths, since buffers follow the chunk size.
std::uint64_t default_chunk(const FlatScenario& flat, const std::string& backend,
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

/// The backend as a chunk simulator for the streaming passes.
ChunkSimulator chunk_simulator(const FlatScenario& flat, const Scenario& scenario,
                               const std::string& backend, int threads, std::uint64_t chunk,
                               int device, std::string& device_name) {
  if (backend == "cuda")
    return make_cuda_chunk_simulator(flat, scenario.seed, chunk, device, device_name);
  return [&flat, seed = scenario.seed, threads](std::uint64_t first, std::uint64_t count,
                                                const PathOutput& out) {
    simulate_cpu(flat, seed, first, count, out, threads, nullptr);
  };
}

/// `caprisk run --shard k/n`: the first pass over this shard's paths, saved for `merge`.
int run_shard(const Scenario& scenario, const FlatScenario& flat, const std::string& backend,
              int threads, const RunOptions& options, const std::string& config_sha256) {
  const auto [begin, end] = shard_range(scenario.paths, options.shard_index, options.shard_count);
  const std::uint64_t chunk = default_chunk(flat, backend, options.chunk_paths, scenario.paths);
  std::string device_name;
  const ChunkSimulator simulate =
      chunk_simulator(flat, scenario, backend, threads, chunk, options.device, device_name);
  const auto started = std::chrono::steady_clock::now();
  const auto reducer = first_pass_slice(scenario, flat, begin, end, chunk, threads, simulate);
  const ShardHeader header{CAPRISK_VERSION_TEXT, config_sha256,  scenario.source_path,
                           scenario.seed,        scenario.paths, options.shard_index,
                           options.shard_count};
  const std::string path =
      options.out_dir + "/" + shard_file_name(options.shard_index, options.shard_count);
  write_shard(path, header, *reducer);
  if (!options.quiet)
    std::printf("shard %llu/%llu: paths %llu..%llu in %.2f s; partial result in %s\n",
                static_cast<unsigned long long>(options.shard_index),
                static_cast<unsigned long long>(options.shard_count),
                static_cast<unsigned long long>(begin), static_cast<unsigned long long>(end),
                seconds_since(started), path.c_str());
  return 0;
}

}  // namespace

namespace {

/// `mpirun -np R caprisk run ...`: every rank takes its range of paths through every pass;
/// rank 0 writes the outputs. Any rank's error ends the whole job with that rank's message.
int run_scenario_mpi(const Scenario& scenario, const RunOptions& options) {
  const MpiWorld world;
  const bool root = world.rank() == 0;
  try {
    if (!options.checkpoint_path.empty() || options.shard_count > 0)
      throw UserError("--checkpoint and --shard do not combine with MPI ranks");
    refuse_if_no_supply(scenario, options.allow_no_supply);
    const auto started = std::chrono::steady_clock::now();
    const FlatScenario flat(scenario);
    default_chunk(flat, "cpu", options.chunk_paths, scenario.paths);  // refuses before any output
    const DeviceReport devices = query_devices();
    const int device =
        devices.devices.empty() ? 0 : world.local_rank() % static_cast<int>(devices.devices.size());
    const std::string backend = choose_backend(options.backend, device, !root || options.quiet);
    std::unique_ptr<OutputDirectory> out;
    std::string config_sha256;
    if (root) {
      out = std::make_unique<OutputDirectory>(options.out_dir);
      config_sha256 = sha256_hex(read_file(scenario.source_path));
    }
    const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
    const std::uint64_t chunk = default_chunk(flat, backend, options.chunk_paths, scenario.paths);
    std::string device_name;
    const ChunkSimulator simulate =
        chunk_simulator(flat, scenario, backend, threads, chunk, device, device_name);
    const std::vector<std::string> rank_devices =
        gather_to_root(backend == "cuda" ? "cuda:" + std::to_string(device) + " " + device_name
                                         : "cpu:" + std::to_string(threads) + " threads",
                       world);
    BatchReport report;
    const RunResults results =
        run_mpi_batch(scenario, flat, chunk, threads, simulate, world, report);
    if (!root) return 0;
    nlohmann::json summary = run_summary(scenario, config_sha256, options.command_line);
    summary["backend"] = backend;
    summary["threads"] = backend == "cpu" ? threads : 0;
    summary["mpi_ranks"] = world.size();
    summary["rank_devices"] = rank_devices;
    summary["backend_details"] = {{"passes", report.passes},
                                  {"chunk_paths", chunk},
                                  {"peak_kept_values", report.peak_kept_values},
                                  {"pilot_paths", report.pilot_paths},
                                  {"passes_read_the_pilot", report.pilot_was_whole_run}};
    summary["wall_seconds"] = seconds_since(started);
    write_outputs(*out, scenario, results, summary, options.quiet);
    return 0;
  } catch (const UserError& error) {
    std::cerr << "caprisk: rank " << world.rank() << " of " << world.size()
              << ": error: " << error.what() << "\n";
    world.abort(2);
  } catch (const std::exception& error) {
    std::cerr << "caprisk: rank " << world.rank() << " of " << world.size()
              << ": error: " << error.what() << "\n";
    world.abort(1);
  }
}

}  // namespace

int run_scenario(const Scenario& scenario, const RunOptions& options) {
  if (launched_with_mpi_ranks()) return run_scenario_mpi(scenario, options);
  const auto started = std::chrono::steady_clock::now();
  refuse_if_no_supply(scenario, options.allow_no_supply);
  for (const std::string& note : sites_that_cannot_build(scenario))
    std::cerr << "caprisk: warning: " << note << ": it will be short in every path\n";

  const FlatScenario flat(scenario);
  default_chunk(flat, "cpu", options.chunk_paths, scenario.paths);  // refuses before any output
  const std::string backend = choose_backend(options.backend, options.device, options.quiet);
  const std::string config_sha256 = sha256_hex(read_file(scenario.source_path));
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  if (options.shard_count > 0) {
    // Shards of one run are often written into one folder at once (a job array): each file is
    // written atomically on its own, and the folder is not locked.
    if (!options.checkpoint_path.empty())
      throw UserError("--checkpoint does not combine with --shard: a failed shard is re-run whole");
    check_folder_can_be_written(options.out_dir, "--out");
    return run_shard(scenario, flat, backend, threads, options, config_sha256);
  }
  if (!options.checkpoint_path.empty())
    check_file_can_be_written(options.checkpoint_path, "--checkpoint");
  OutputDirectory out(options.out_dir);  // locked for the whole run; refused early if unusable

  nlohmann::json backend_details = nlohmann::json::object();
  const auto simulation_start = std::chrono::steady_clock::now();
  RunResults results;  // CPU: streamed in bounded memory; CUDA: kept in memory (issue 5 for CUDA)
  double simulation_seconds = 0;
  const bool whole_run_on_device = backend == "cuda" && options.checkpoint_path.empty() &&
                                   fits_on_device(flat, scenario.paths, options.device);
  if (whole_run_on_device) {
    // Every path's outputs in device memory, reduced there (the fast path).
    CudaRunInfo info;
    results = run_cuda(flat, scenario.seed, scenario.paths, scenario.percentiles,
                       CudaRunOptions{options.device, options.chunk_paths}, info);
    simulation_seconds = info.kernel_seconds;
    backend_details = {{"device", options.device},
                       {"device_name", info.device_name},
                       {"chunk_paths", info.chunk_paths},
                       {"reduced_on_device", true},
                       {"kernel_seconds", info.kernel_seconds},
                       {"reduce_seconds", info.reduce_seconds}};
  } else {
    // Streaming: bounded memory, checkpoints; chunks simulated on the CPU or on the GPU.
    BatchOptions batch;
    batch.threads = threads;
    batch.chunk_paths = default_chunk(flat, backend, options.chunk_paths, scenario.paths);
    batch.checkpoint_path = options.checkpoint_path;
    batch.checkpoint_every = options.checkpoint_every;
    batch.resume = options.resume;
    batch.quiet = options.quiet;
    batch.reuse_pilot = backend == "cpu";
    batch.config_sha256 = config_sha256;
    batch.resume_hint =
        options.command_line +
        (options.command_line.find("--resume") == std::string::npos ? " --resume" : "");
    if (const char* crash = std::getenv("CAPRISK_TEST_CRASH_CHECKPOINT_BYTES"))
      batch.crash_after_bytes = std::atoll(crash);
    std::string device_name;
    const ChunkSimulator simulate = chunk_simulator(flat, scenario, backend, threads,
                                                    batch.chunk_paths, options.device, device_name);
    BatchReport report;
    results = run_batch(scenario, flat, batch, simulate, report);
    simulation_seconds = seconds_since(simulation_start);
    backend_details = {{"passes", report.passes},
                       {"chunk_paths", batch.chunk_paths},
                       {"peak_kept_values", report.peak_kept_values},
                       {"pilot_paths", report.pilot_paths},
                       {"passes_read_the_pilot", report.pilot_was_whole_run}};
    if (backend == "cuda") {
      backend_details["device"] = options.device;
      backend_details["device_name"] = device_name;
      backend_details["reduced_on_device"] = false;
    }
  }
  const double wall_seconds = seconds_since(started);

  nlohmann::json summary = run_summary(scenario, config_sha256, options.command_line);
  summary["backend"] = backend;
  summary["threads"] = backend == "cpu" ? threads : 0;
  summary["backend_details"] = backend_details;
  summary["simulation_seconds"] = simulation_seconds;
  summary["wall_seconds"] = wall_seconds;
  summary["paths_per_second"] =
      static_cast<double>(scenario.paths) / std::max(simulation_seconds, 1e-9);
  write_outputs(out, scenario, results, summary, options.quiet);
  return 0;
}

namespace {

/// The shard files named by `inputs`: files as given, directories searched for shard-*.caprisk.
std::vector<std::string> shard_files(const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code error;
    if (fs::is_directory(input, error)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(input, error)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("shard-", 0) == 0 && entry.path().extension() == ".caprisk")
          found.push_back(entry.path().string());
      }
      if (found.empty()) throw UserError(input + ": no shard-*.caprisk files in this directory");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(input);
    }
  }
  if (files.empty()) throw UserError("merge: no shard files given");
  return files;
}

}  // namespace

int merge_shards(const MergeOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const std::vector<std::string> files = shard_files(options.inputs);
  std::vector<ShardHeader> headers;
  for (const std::string& file : files) headers.push_back(read_shard_header(file));
  const ShardHeader& first = headers[0];
  if (first.version != CAPRISK_VERSION_TEXT)
    throw UserError(files[0] + ": made by caprisk " + first.version + ", this is caprisk " +
                    CAPRISK_VERSION_TEXT + "; re-run the shards with this version");
  std::vector<std::string> by_index(first.count);  // at most 1e6: read_shard_header checks
  for (std::size_t i = 0; i < files.size(); ++i) {
    const ShardHeader& h = headers[i];
    auto differs = [&](const std::string& what) {
      throw UserError(files[i] + ": " + what + " differs from " + files[0] +
                      "'s: shards of different runs cannot be merged");
    };
    if (h.version != first.version) differs("the caprisk version");
    if (h.config_sha256 != first.config_sha256) differs("the config (SHA-256)");
    if (h.seed != first.seed) differs("the seed");
    if (h.paths != first.paths) differs("the path count");
    if (h.count != first.count) differs("the shard count");
    if (!by_index[h.index].empty())
      throw UserError(files[i] + ": shard " + std::to_string(h.index) + " of " +
                      std::to_string(h.count) + " is given twice (also " + by_index[h.index] + ")");
    by_index[h.index] = files[i];
  }
  std::string missing;
  std::uint64_t missing_count = 0;
  for (std::uint64_t k = 0; k < first.count; ++k) {
    if (!by_index[k].empty()) continue;
    if (++missing_count <= 10) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
  }
  if (missing_count > 10) missing += " and " + std::to_string(missing_count - 10) + " more";
  if (!missing.empty())
    throw UserError("merge: missing shard(s) " + missing + " of " + std::to_string(first.count));

  const std::string config_path =
      options.config_path.empty() ? first.config_path : options.config_path;
  Scenario scenario = load_scenario(config_path);
  const std::string config_sha256 = sha256_hex(read_file(config_path));
  if (config_sha256 != first.config_sha256)
    throw UserError(config_path +
                    ": this config is not the one the shards were run with "
                    "(SHA-256 differs); pass the original with --config");
  scenario.seed = first.seed;
  scenario.paths = first.paths;
  const FlatScenario flat(scenario);
  OutputDirectory out(options.out_dir.empty() ? default_output_folder(scenario.name)
                                              : options.out_dir);

  auto reducer = read_shard_state(by_index[0], scenario, flat.layout());
  for (std::uint64_t k = 1; k < first.count; ++k)
    reducer->merge_first_pass(*read_shard_state(by_index[k], scenario, flat.layout()));
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  const std::uint64_t chunk = default_chunk(flat, "cpu", 0, scenario.paths);
  std::string device_name;
  const ChunkSimulator simulate =
      chunk_simulator(flat, scenario, "cpu", threads, chunk, 0, device_name);
  BatchReport report;
  const RunResults results =
      finish_after_first_pass(scenario, flat, *reducer, chunk, threads, simulate, report);

  nlohmann::json summary = run_summary(scenario, config_sha256, options.command_line);
  summary["backend"] = "cpu";
  summary["threads"] = threads;
  summary["merged_shards"] = first.count;
  summary["backend_details"] = {{"passes", report.passes},
                                {"chunk_paths", chunk},
                                {"peak_kept_values", report.peak_kept_values}};
  summary["wall_seconds"] = seconds_since(started);
  write_outputs(out, scenario, results, summary, options.quiet);
  return 0;
}

}  // namespace caprisk
