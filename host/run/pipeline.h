// The run pipeline: a run is set up once (the config read once and hashed from those bytes,
// the scenario and its flat form, the backend, threads, chunk, the simulator, provenance), and
// every mode (one process, MPI ranks, a shard, a merge; later stresses and sensitivities) is a
// short function over it (docs/ARCHITECTURE.md, "The run pipeline").
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/config/flatten.h"
#include "host/config/scenario.h"
#include "host/io/output_files.h"
#include "host/report/history.h"
#include "host/reduce/results.h"
#include "host/run/batch.h"
#include "host/run/precision.h"
#include "host/run/sensitivity.h"

namespace caprisk {

/// What the command line asks of a run (caprisk run, and merge's refining passes).
struct RunOptions {
  std::string config_path;
  std::optional<std::uint64_t> paths;  ///< --paths: overrides scenario.paths
  std::optional<std::uint64_t> seed;   ///< --seed: overrides scenario.seed
  int threads = 0;                     ///< 0: all cores
  std::string out_dir;                 ///< empty: out/<scenario name>
  std::string backend = "auto";
  int device = 0;                 ///< CUDA device index
  std::uint64_t chunk_paths = 0;  ///< paths per chunk; 0 = default (CPU 16384, CUDA 1M)
  std::string checkpoint_path;    ///< checkpoint file, empty for none
  int checkpoint_every = 32;      ///< chunks between checkpoints
  bool resume = false;
  std::uint64_t shard_index = 0;  ///< --shard k/n: this run computes slice k of n
  std::uint64_t shard_count = 0;  ///< 0: not sharded
  bool allow_no_supply = false;
  bool quiet = false;
  std::string command_line;
  std::vector<Override> overrides;  ///< --set / --shift, in the order given
  bool stress = false;              ///< caprisk stress: the base and its stresses, paired
  std::vector<std::string> only;    ///< --only: these stresses (every one when empty)
  bool sensitivity = false;         ///< caprisk sensitivity: each static input pinned, paired
  bool force = false;               ///< --force: replace another run's results in --out
  double progress_every = 30;       ///< --progress-every: seconds between log lines (0: none)
  bool report = false;              ///< --report: also write report.html
  /// --memory-budget: a run whose outputs fit is kept in memory and simulated once (CPU, one
  /// process); 0: default_memory_budget().
  std::optional<std::uint64_t> memory_budget;
  std::string db_path;              ///< --db: the run history (empty: beside --out)
  bool no_db = false;               ///< --no-db: record nothing
  double target_ci = 0;             ///< --target-ci: relative half-width wanted (0: none)
  std::uint64_t max_paths = 0;      ///< --max-paths: the most paths --target-ci may run
};

/// Paths of a sensitivity run without --paths (docs/ANALYSIS.md, "Sensitivity": paired
/// differences are precise at far fewer paths than a table needs).
inline constexpr std::uint64_t default_sensitivity_paths = 20000;

/// Worst paths per site, ALL and group that a run lists in tail_paths.csv.
inline constexpr int tail_path_count = 20;

/// A config file read once: its bytes and their SHA-256 (what checkpoints, shards and
/// summaries name the config by).
struct ConfigSource {
  std::string path;
  std::string text;
  std::string sha256;
};

ConfigSource read_config(const std::string& path);

/// How a mode ran, for summary.json; every mode writes every key (0, false or "" when a key
/// does not apply), so that scripts reading summaries need no case per mode.
struct RunDetails {
  int passes = 0;  ///< passes over the paths (0: reduced in memory)
  std::uint64_t chunk_paths = 0;
  std::uint64_t peak_kept_values = 0;
  std::uint64_t pilot_paths = 0;
  bool passes_read_the_pilot = false;
  int device = -1;  ///< CUDA device, -1 on the CPU
  std::string device_name;
  bool reduced_on_device = false;
  double kernel_seconds = 0;
  double reduce_seconds = 0;
  std::string cuda_launch;  ///< the kernel launch shape of a GPU run (CudaRunInfo::launch)
  /// A streamed GPU run: the device filled the first pass's root bins (else the host did).
  bool first_pass_on_device = false;
  double simulation_seconds = 0;
  int mpi_ranks = 1;
  std::vector<std::string> rank_devices;  ///< one entry per rank
  std::uint64_t merged_shards = 0;
  PrecisionReport precision;  ///< --target-ci's blocks and final half-widths

  void take(const BatchReport& report);
};

/// A run, set up once.
class RunSetup {
 public:
  /// Reads and checks the config (UserError before anything is written when it cannot run),
  /// applies --paths and --seed, prints the scenario's warnings (unless `quiet`), and picks
  /// the backend for `device`. `announce` prints the backend choice (rank 0 only).
  RunSetup(const RunOptions& options, int device, bool announce);
  /// For merge: the config the shards name (with the overrides and stresses in `options`),
  /// with their seed and path count; UserError unless its run identity is `expected_identity`.
  RunSetup(const RunOptions& options, const std::string& expected_identity, std::uint64_t seed,
           std::uint64_t paths);

  /// Refuses (UserError, exit 2) an output folder that holds the results of another run:
  /// another run identity (config bytes, overrides, stresses, mode), seed or requested path
  /// count, unless `force`. Called before anything is simulated; a rerun of the same run, or a
  /// resumed one, replaces its own results.
  void refuse_other_results(const OutputDirectory& out, bool force) const;
  /// Opens the run history the run will record into (--db, or beside --out; none with
  /// --no-db), before anything is simulated, so that an unusable one is refused first.
  void open_history() const;
  /// The most bytes of outputs a run keeps in memory to simulate once (PathSource).
  std::uint64_t whole_run_bytes() const;

  const RunOptions& options() const { return options_; }
  const ConfigSource& config() const { return config_; }
  const Scenario& scenario() const { return scenario_; }
  const FlatScenario& flat() const { return *flat_; }
  /// SHA-256 of the config's bytes and, when there are any, of the overrides (summary.json's
  /// config_sha256).
  const std::string& config_sha256() const { return config_sha256_; }
  /// What checkpoints and shards name the run by: config_sha256(), and which stresses a
  /// stress run holds.
  const std::string& run_identity() const { return identity_; }
  /// The stresses of a stress run, in the config's order, and their scenarios (empty else).
  const std::vector<Stress>& stresses() const { return stresses_; }
  const std::vector<Scenario>& stressed_scenarios() const { return stressed_; }
  /// The pinned inputs of a sensitivity run (empty else).
  const std::vector<PinnedInput>& pinned_inputs() const { return inputs_; }
  /// The run's reduction: the scenario's own, or the stacked variants of a stress run.
  const ReductionSpec& spec() const { return spec_; }
  const std::string& backend() const { return backend_; }
  int device() const { return device_; }
  int threads() const { return threads_; }
  std::uint64_t chunk_paths() const { return chunk_; }
  /// The output folder of the run: --out, or out/<scenario name>.
  std::string out_dir() const;

  /// The chosen backend as a chunk simulator of a flattened scenario (this run's, or a
  /// variant of it over the same paths); `device_name` receives the GPU's name.
  ChunkSimulator simulator(const FlatScenario& flat, std::string& device_name) const;
  /// The run's paths as the batch streams them (spec(): one scenario, or the stacked
  /// variants), from the chosen backend.
  PathSource path_source(std::string& device_name) const;
  /// The batch options of a streamed run of this setup.
  BatchOptions batch_options() const;

  /// Writes the result files and summary.json (one atomic step) and prints the headline.
  void write_outputs(OutputDirectory& out, const RunResults& results, const RunDetails& details,
                     double wall_seconds) const;

 private:
  void finish_setup(bool announce);
  /// The stresses `options_` asks for (stress runs), their scenarios and the stacked spec.
  void set_up_stresses(bool announce);
  /// The static inputs of a sensitivity run, their pinned scenarios and the spec.
  void set_up_sensitivity();

  RunOptions options_;
  ConfigSource config_;
  std::string config_sha256_;
  std::string identity_;
  mutable std::unique_ptr<RunHistory> history_;
  Scenario scenario_;
  std::unique_ptr<FlatScenario> flat_;
  std::vector<Stress> stresses_;
  std::vector<Scenario> stressed_;
  std::vector<std::unique_ptr<FlatScenario>> stressed_flats_;
  std::vector<PinnedInput> inputs_;                          ///< of a sensitivity run
  std::vector<std::unique_ptr<FlatScenario>> pinned_flats_;  ///< low0, high0, low1, ...
  ReductionSpec spec_;
  std::string backend_ = "cpu";
  int device_ = 0;
  int threads_ = 1;
  std::uint64_t chunk_ = 1;
};

/// Paths per chunk: `requested`, or 16384 on the CPU and 1M on a GPU, never more than 256 MB
/// of outputs and never more than the run's paths; UserError above 1 GiB of buffers.
std::uint64_t chunk_size(const ReductionSpec& spec, const std::string& backend,
                         std::uint64_t requested, std::uint64_t paths);

double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace caprisk
