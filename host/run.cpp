// `caprisk run`: checks, simulation on the chosen backend, reduction, atomic report files.
#include "host/run.h"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "host/backend_cpu.h"
#include "host/backend_cuda.h"
#include "host/batch.h"
#include "host/devices.h"
#include "host/errors.h"
#include "host/flatten.h"
#include "host/output_files.h"
#include "host/report.h"
#include "host/results.h"
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

}  // namespace

int run_scenario(const Scenario& scenario, const RunOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  if (const std::string reason = why_no_supply(scenario);
      !reason.empty() && !options.allow_no_supply)
    throw UserError(scenario.source_path + ": no supply can ever reach the sites: " + reason +
                    " (every path would be a full shortfall; pass --allow-no-supply to run "
                    "it anyway)");
  for (const std::string& note : sites_that_cannot_build(scenario))
    std::cerr << "caprisk: warning: " << note << ": it will be short in every path\n";

  const FlatScenario flat(scenario);
  const std::string backend = choose_backend(options.backend, options.device, options.quiet);
  OutputDirectory out(options.out_dir);  // fails early when the directory is not writable
  const std::string config_sha256 = sha256_hex(read_file(scenario.source_path));
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();

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
    // Default chunks: 16384 paths on the CPU, 1M on a GPU, but never more than 256 MB of
    // per-path outputs (a scenario may report thousands of cells per path).
    const double bytes_per_path = static_cast<double>(flat.layout().value_count() * sizeof(double) +
                                                      flat.layout().code_count());
    const auto chunk_cap =
        std::max<std::uint64_t>(64, static_cast<std::uint64_t>(268435456.0 / bytes_per_path));
    batch.chunk_paths =
        options.chunk_paths > 0
            ? options.chunk_paths
            : std::min<std::uint64_t>(backend == "cuda" ? 1 << 20 : 16384, chunk_cap);
    batch.checkpoint_path = options.checkpoint_path;
    batch.checkpoint_every = options.checkpoint_every;
    batch.resume = options.resume;
    batch.quiet = options.quiet;
    batch.config_sha256 = config_sha256;
    batch.resume_hint =
        options.command_line +
        (options.command_line.find("--resume") == std::string::npos ? " --resume" : "");
    if (const char* crash = std::getenv("CAPRISK_TEST_CRASH_CHECKPOINT_BYTES"))
      batch.crash_after_bytes = std::atoll(crash);
    std::string device_name;
    const ChunkSimulator simulate =
        backend == "cuda"
            ? ChunkSimulator(make_cuda_chunk_simulator(flat, scenario.seed, batch.chunk_paths,
                                                       options.device, device_name))
            : ChunkSimulator(
                  [&](std::uint64_t first, std::uint64_t count, const PathOutput& chunk) {
                    simulate_cpu(flat, scenario.seed, first, count, chunk, threads, nullptr);
                  });
    BatchReport report;
    results = run_batch(scenario, flat, batch, simulate, report);
    simulation_seconds = seconds_since(simulation_start);
    backend_details = {{"passes", report.passes},
                       {"chunk_paths", batch.chunk_paths},
                       {"peak_kept_values", report.peak_kept_values}};
    if (backend == "cuda") {
      backend_details["device"] = options.device;
      backend_details["device_name"] = device_name;
      backend_details["reduced_on_device"] = false;
    }
  }
  const double wall_seconds = seconds_since(started);

  nlohmann::json summary = {
      {"caprisk_version", CAPRISK_VERSION},
      {"caprisk_commit", CAPRISK_GIT_COMMIT},
      {"config", scenario.source_path},
      {"config_sha256", config_sha256},
      {"scenario", scenario.name},
      {"seed", scenario.seed},
      {"paths", scenario.paths},
      {"backend", backend},
      {"threads", backend == "cpu" ? threads : 0},
      {"backend_details", backend_details},
      {"command_line", options.command_line},
      {"start", scenario.start.str()},
      {"horizon_months", scenario.horizon_months},
      {"simulation_seconds", simulation_seconds},
      {"wall_seconds", wall_seconds},
      {"paths_per_second",
       static_cast<double>(scenario.paths) / std::max(simulation_seconds, 1e-9)},
      {"headline", headline_json(scenario, results)},
  };
  out.stage("percentiles.csv", percentiles_csv(scenario, results));
  out.stage("attribution.csv", attribution_csv(scenario, results));
  out.stage("summary.json", summary.dump(2) + "\n");
  out.commit();

  if (!options.quiet) {
    std::cout << headline_table(scenario, results);
    std::printf("%llu paths in %.2f s (%.0f paths/s on %d threads); results in %s/\n",
                static_cast<unsigned long long>(scenario.paths), wall_seconds,
                static_cast<double>(scenario.paths) / std::max(simulation_seconds, 1e-9), threads,
                out.path().c_str());
  }
  return 0;
}

}  // namespace caprisk
