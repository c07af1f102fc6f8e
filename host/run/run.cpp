// The run modes, each a short function over a RunSetup (host/run/pipeline.h): one process,
// MPI ranks, one shard, and the merge of shards.
#include "host/run/run.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <unistd.h>

#include "host/cuda/backend_cuda.h"
#include "host/cuda/devices.h"
#include "host/errors.h"
#include "host/io/output_files.h"
#include "host/run/batch.h"
#include "host/run/mpi_run.h"
#include "host/run/pipeline.h"
#include "host/run/shards.h"
#include "host/version.h"

namespace caprisk {
namespace {

/// `caprisk run --shard k/n`: the first pass over this shard's paths, saved for `merge`.
/// Shards of one run are often written into one folder at once (a job array): each file is
/// written atomically on its own, and the folder is not locked.
int run_shard(const RunSetup& setup) {
  const RunOptions& options = setup.options();
  const Scenario& scenario = setup.scenario();
  if (!options.checkpoint_path.empty())
    throw UserError("--checkpoint does not combine with --shard: a failed shard is re-run whole");
  const std::string folder = setup.out_dir();
  check_folder_can_be_written(folder, "--out");
  const auto [begin, end] = shard_range(scenario.paths, options.shard_index, options.shard_count);
  std::string device_name;
  const PathSource source = setup.path_source(device_name);
  const auto started = std::chrono::steady_clock::now();
  const auto reducer =
      first_pass_slice(scenario.paths, source, begin, end, setup.chunk_paths(), setup.threads());
  ShardHeader header;
  header.version = CAPRISK_VERSION_TEXT;
  header.config_sha256 = setup.run_identity();
  header.config_path = setup.config().path;
  header.seed = scenario.seed;
  header.paths = scenario.paths;
  header.index = options.shard_index;
  header.count = options.shard_count;
  header.overrides = options.overrides;
  header.stress = options.stress;
  header.sensitivity = options.sensitivity;
  for (const Stress& stress : setup.stresses()) header.stresses.push_back(stress.name);
  const std::string path =
      folder + "/" + shard_file_name(options.shard_index, options.shard_count);
  write_shard(path, header, *reducer);
  if (!options.quiet)
    std::printf("shard %llu/%llu: paths %llu..%llu in %.2f s; partial result in %s\n",
                static_cast<unsigned long long>(options.shard_index),
                static_cast<unsigned long long>(options.shard_count),
                static_cast<unsigned long long>(begin), static_cast<unsigned long long>(end),
                seconds_since(started), path.c_str());
  return 0;
}

/// `mpirun -np R caprisk run ...`: every rank takes its range of paths through every pass;
/// rank 0 writes the outputs and alone prints. Any rank's error ends the whole job with that
/// rank's message.
int run_mpi(const RunOptions& options) {
  const MpiWorld world;
  const bool root = world.rank() == 0;
  const auto started = std::chrono::steady_clock::now();
  // The setup, which every rank does alike: its errors (a config error, most often) are
  // agreed on and printed once, and every rank ends cleanly.
  std::unique_ptr<RunSetup> made;
  std::unique_ptr<OutputDirectory> out;
  int device = 0;
  {
    int code = 0;
    std::string message;
    try {
      if (!options.checkpoint_path.empty() || options.shard_count > 0)
        throw UserError("--checkpoint and --shard do not combine with MPI ranks");
      const DeviceReport devices = query_devices();
      device = devices.devices.empty()
                   ? 0
                   : world.local_rank() % static_cast<int>(devices.devices.size());
      made = std::make_unique<RunSetup>(options, device, root);
      if (root) {
        out = std::make_unique<OutputDirectory>(made->out_dir());
        made->refuse_other_results(*out, options.force);
        made->open_history();
      }
    } catch (const UserError& error) {
      code = 2;
      message = error.what();
    } catch (const std::exception& error) {
      code = 1;
      message = error.what();
    }
    if (const int worst = agree_on_failure(world, code, message); worst != 0) return worst;
  }
  const RunSetup& setup = *made;
  try {
    RunDetails details;
    std::string device_name;
    PathSource source = setup.path_source(device_name);
    source.whole_run_bytes = PathSource{}.whole_run_bytes;  // rank 0 must not simulate it all
    details.rank_devices = gather_to_root(
        setup.backend() == "cuda" ? "cuda:" + std::to_string(device) + " " + device_name
                                  : "cpu:" + std::to_string(setup.threads()) + " threads",
        world);
    BatchReport report;
    const auto simulation_started = std::chrono::steady_clock::now();
    const RunResults results = run_mpi_batch(setup.scenario().paths, source, setup.chunk_paths(),
                                             !options.quiet && options.progress_every > 0,
                                             setup.threads(), world, report);
    if (!root) return 0;
    details.take(report);
    details.chunk_paths = setup.chunk_paths();
    details.mpi_ranks = world.size();
    details.simulation_seconds = seconds_since(simulation_started);
    if (setup.backend() == "cuda") {
      details.device = device;
      details.device_name = device_name;
    }
    setup.write_outputs(*out, results, details, seconds_since(started));
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

/// Every path's outputs in device memory, reduced there (the fast path of a GPU run).
RunResults run_whole_on_device(const RunSetup& setup, RunDetails& details) {
  CudaRunInfo info;
  const Scenario& s = setup.scenario();
  RunResults results =
      run_cuda(setup.flat(), s.seed, s.paths, s.percentiles,
               CudaRunOptions{setup.device(), setup.options().chunk_paths}, info);
  details.device = setup.device();
  details.device_name = info.device_name;
  details.chunk_paths = info.chunk_paths;
  details.reduced_on_device = true;
  details.kernel_seconds = info.kernel_seconds;
  details.reduce_seconds = info.reduce_seconds;
  details.cuda_launch = info.launch;
  details.simulation_seconds = info.kernel_seconds;
  return results;
}

/// A streamed run: bounded memory and checkpoints, chunks simulated on the CPU or the GPU.
RunResults run_streamed(const RunSetup& setup, RunDetails& details) {
  const auto started = std::chrono::steady_clock::now();
  std::string device_name;
  const PathSource source = setup.path_source(device_name);
  BatchReport report;
  RunResults results = run_batch(setup.scenario(), source, setup.batch_options(), report);
  details.take(report);
  details.chunk_paths = setup.chunk_paths();
  details.simulation_seconds = seconds_since(started);
  details.first_pass_on_device = static_cast<bool>(source.reduce);
  if (setup.backend() == "cuda") {
    details.device = setup.device();
    details.device_name = device_name;
  }
  return results;
}

/// A streamed run grown in blocks over the same streams (--target-ci): each block resumes
/// the previous one's finished checkpoint with more paths, which is what --resume with a
/// larger --paths does, so the tables equal a fresh run of the final path count.
RunResults run_to_precision(const RunSetup& setup, RunDetails& details) {
  const auto started = std::chrono::steady_clock::now();
  const RunOptions& options = setup.options();
  std::string device_name;
  const PathSource source = setup.path_source(device_name);
  BatchOptions batch = setup.batch_options();
  const bool own_checkpoint = batch.checkpoint_path.empty();
  if (own_checkpoint)  // in the output folder's own state folder, removed at the end
    batch.checkpoint_path =
        setup.out_dir() + "/.caprisk/target-ci-" + std::to_string(::getpid()) + ".checkpoint";
  Scenario block = setup.scenario();
  PrecisionReport& precision = details.precision;
  precision.target = options.target_ci;
  precision.max_paths = options.max_paths;
  RunResults results;
  details.first_pass_on_device = static_cast<bool>(source.reduce);
  for (;;) {
    BatchReport report;
    results = run_batch(block, source, batch, report);
    details.take(report);
    ++precision.blocks;
    precision.cells = precision_cells(block, results, options.target_ci);
    precision.met = std::all_of(precision.cells.begin(), precision.cells.end(),
                                [](const PrecisionCell& c) { return c.met(); });
    if (precision.met || block.paths >= options.max_paths) break;
    const std::uint64_t next = next_path_count(block.paths, precision.cells, options.max_paths);
    if (!options.quiet) {
      const auto widest = std::max_element(
          precision.cells.begin(), precision.cells.end(),
          [](const PrecisionCell& a, const PrecisionCell& b) {
            return a.half_width / a.limit < b.half_width / b.limit;
          });
      std::fprintf(stderr,
                   "caprisk: --target-ci %g: at %llu paths ALL %s %s is +-%.3g GW (wanted "
                   "+-%.3g): adding paths up to %llu\n",
                   options.target_ci, static_cast<unsigned long long>(block.paths),
                   widest->month.c_str(), widest->statistic.c_str(), widest->half_width,
                   widest->limit, static_cast<unsigned long long>(next));
    }
    block.paths = next;
    batch.resume = true;
    batch.announce_resume = false;  // its own checkpoint: not news to the user
  }
  if (own_checkpoint) std::filesystem::remove(batch.checkpoint_path);
  if (!precision.met)
    std::cerr << "caprisk: warning: " << precision_text(precision, results.paths);
  details.chunk_paths = setup.chunk_paths();
  details.simulation_seconds = seconds_since(started);
  if (setup.backend() == "cuda") {
    details.device = setup.device();
    details.device_name = device_name;
  }
  return results;
}

/// `caprisk run` in one process.
int run_single(const RunOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const RunSetup setup(options, options.device, true);
  if (options.shard_count > 0) return run_shard(setup);
  if (!options.checkpoint_path.empty())
    check_file_can_be_written(options.checkpoint_path, "--checkpoint");
  OutputDirectory out(setup.out_dir());  // locked for the whole run; refused early if unusable
  setup.refuse_other_results(out, options.force);
  setup.open_history();
  RunDetails details;
  details.rank_devices = {setup.backend() == "cuda"
                              ? "cuda:" + std::to_string(setup.device())
                              : "cpu:" + std::to_string(setup.threads()) + " threads"};
  const bool whole_run_on_device =
      setup.backend() == "cuda" && options.checkpoint_path.empty() && setup.stresses().empty() &&
      setup.pinned_inputs().empty() && options.target_ci == 0 &&
      fits_on_device(setup.flat(), setup.scenario().paths, setup.device());
  const RunResults results = options.target_ci > 0 ? run_to_precision(setup, details)
                             : whole_run_on_device  ? run_whole_on_device(setup, details)
                                                    : run_streamed(setup, details);
  setup.write_outputs(out, results, details, seconds_since(started));
  return 0;
}

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

/// The shard files, each read once for its header, in index order; UserError when they are
/// not the whole of one run.
std::vector<std::string> shards_of_one_run(const std::vector<std::string>& files,
                                           ShardHeader& first) {
  std::vector<ShardHeader> headers;
  for (const std::string& file : files) headers.push_back(read_shard_header(file));
  first = headers[0];
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
  return by_index;
}

}  // namespace

int run_scenario(const RunOptions& options) {
  if (launched_with_mpi_ranks() && options.target_ci > 0)
    throw UserError("--target-ci works only with caprisk run in one process, not under MPI ranks");
  return launched_with_mpi_ranks() ? run_mpi(options) : run_single(options);
}

int merge_shards(const MergeOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  ShardHeader first;
  const std::vector<std::string> by_index = shards_of_one_run(shard_files(options.inputs), first);
  RunOptions run;
  run.config_path = options.config_path.empty() ? first.config_path : options.config_path;
  run.threads = options.threads;
  run.out_dir = options.out_dir;
  run.quiet = options.quiet;
  run.command_line = options.command_line;
  run.overrides = first.overrides;
  run.stress = first.stress;
  run.sensitivity = first.sensitivity;
  run.only = first.stresses;
  run.force = options.force;
  run.db_path = options.db_path;
  run.no_db = options.no_db;
  const RunSetup setup(run, first.config_sha256, first.seed, first.paths);
  OutputDirectory out(setup.out_dir());
  setup.refuse_other_results(out, options.force);
  setup.open_history();

  const ReductionSpec& spec = setup.spec();
  auto reducer = read_shard_state(by_index[0], spec);
  for (std::uint64_t k = 1; k < first.count; ++k)
    reducer->merge_first_pass(*read_shard_state(by_index[k], spec));
  std::string device_name;
  const PathSource source = setup.path_source(device_name);
  BatchReport report;
  const auto refining = std::chrono::steady_clock::now();
  const RunResults results =
      finish_after_first_pass(*reducer, source, setup.chunk_paths(), setup.threads(), report);
  RunDetails details;
  details.take(report);
  details.chunk_paths = setup.chunk_paths();
  details.merged_shards = first.count;
  details.simulation_seconds = seconds_since(refining);
  details.rank_devices = {"cpu:" + std::to_string(setup.threads()) + " threads"};
  setup.write_outputs(out, results, details, seconds_since(started));
  return 0;
}

}  // namespace caprisk
