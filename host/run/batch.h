// The CPU batch: paths in chunks through the streaming reducer's passes, with checkpoints
// that a crashed or interrupted run resumes from (same final bytes as an uninterrupted run).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/config/flatten.h"
#include "host/reduce/results.h"
#include "host/config/scenario.h"
#include "host/reduce/streaming.h"

namespace caprisk {

struct BatchOptions {
  int threads = 0;
  std::uint64_t chunk_paths = 16384;  ///< paths per chunk; the results do not depend on it
  std::string checkpoint_path;        ///< empty: no checkpoints
  int checkpoint_every = 32;          ///< chunks between checkpoints
  bool resume = false;
  bool quiet = false;
  std::string config_sha256;
  std::string resume_hint;           ///< the command line to print when interrupted
  long long crash_after_bytes = -1;  ///< test hook, see write_file_atomically
  /// The chunks come from the CPU model, as the pilot's do: when the pilot simulated the whole
  /// run, the passes read its outputs instead of simulating again.
  bool reuse_pilot = false;
  bool announce_resume = true;  ///< say so on stderr when resuming from a checkpoint
  /// Progress when stderr is not a terminal (a log): one line at most this often, in seconds;
  /// 0: none. On a terminal, one line rewritten in place.
  double progress_every = 30;
};

/// What the batch did, for summary.json.
struct BatchReport {
  int passes = 0;                      ///< passes over the paths (1 + refining passes)
  std::uint64_t peak_kept_values = 0;  ///< most values held for exact order statistics
  std::uint64_t pilot_paths = 0;       ///< paths of the pilot that placed the bins (0: resumed)
  bool pilot_was_whole_run = false;    ///< the passes read the pilot's outputs: one simulation
};

/// What a checkpoint holds (docs/ARCHITECTURE.md, "Checkpoints").
struct CheckpointContents {
  std::string version;  ///< caprisk version and commit that wrote it
  std::string config_sha256;
  std::uint64_t seed = 0;
  std::uint64_t next_path = 0;  ///< of the current pass
  bool finished = false;
  std::unique_ptr<StreamingReducer> reducer;
};

/// Parses a checkpoint's payload (after binary::unseal), checking its structure against the
/// reduction spec. `check_identity`, when given, sees the version, config hash and seed before the
/// state is parsed and throws when the checkpoint is not the run's.
CheckpointContents parse_checkpoint(
    binary::Reader& in, const ReductionSpec& spec,
    const std::function<void(const CheckpointContents&)>& check_identity = {});

/// Simulates paths [first, first + count) into `out` (stride count): a backend.
using ChunkSimulator =
    std::function<void(std::uint64_t first, std::uint64_t count, const PathOutput& out)>;

/// Adds a chunk to the reducer itself, simulating it into `out` (stride count) as far as the
/// reducer then reads it: the CUDA backend, whose device fills the first pass's root bins.
using ChunkReducer = std::function<void(StreamingReducer& reducer, std::uint64_t first,
                                        std::uint64_t count, const PathOutput& out, int threads)>;

/// What a batch streams: every path's outputs, laid out as `spec` says (one scenario's, or
/// the stacked variants of a stress run, host/run/variants.h).
struct PathSource {
  ReductionSpec spec;
  /// The CPU model, for the pilot: every backend, rank and shard places the same bins.
  ChunkSimulator pilot;
  /// The run's backend (the CPU model, or the CUDA backend copying chunks back).
  ChunkSimulator simulate;
  /// When set, run_batch adds its chunks through this instead of simulate and add_chunk.
  ChunkReducer reduce;
  /// A run whose outputs fit in this many bytes is its own pilot: every path simulated once
  /// and kept in memory, the passes reading them there (--memory-budget on the CPU backend in
  /// one process; ranks, shards and the GPU keep the 64 MB that costs nothing).
  std::uint64_t whole_run_bytes = std::uint64_t{64} << 20;
  /// CPU threads for placing the root bins from the pilot (0: all cores).
  int threads = 0;
};

/// --memory-budget's default: a quarter of the machine's physical memory (docs/PERFORMANCE.md).
std::uint64_t default_memory_budget();

/// The source of one flattened scenario: its own spec, the CPU model with `threads` for the
/// pilot, and `simulate` for the chunks.
PathSource single_source(const FlatScenario& flat, std::uint64_t seed, int threads,
                         ChunkSimulator simulate);

/// Runs the scenario's paths (scenario.paths, scenario.seed) through the streaming reducer,
/// chunk by chunk from `source`, and returns its tables; throws Interrupted on SIGINT/SIGTERM
/// after saving a checkpoint (when there is a checkpoint path).
RunResults run_batch(const Scenario& scenario, const PathSource& source,
                     const BatchOptions& options, BatchReport& report);

/// Paths of the pilot that places the reducer's root bins: the run's first paths, simulated by
/// the CPU model whatever the backend, so that every backend, rank and shard places the same
/// bins. With 16384 pilot paths, 1M to 16M paths of the default scenario take two passes
/// (docs/PERFORMANCE.md).
constexpr std::uint64_t pilot_paths = 16384;

/// Columns of doubles in a chunk's buffer: the value cells, then the base's static draws
/// when the spec has tail drivers (StreamingReducer::add_chunk reads them there).
inline int output_columns(const ReductionSpec& spec) {
  return spec.value_cells() + spec.static_columns();
}

/// The PathOutput of a chunk buffer of `count` paths (output_columns(spec) x count doubles).
inline PathOutput chunk_output(const ReductionSpec& spec, double* values, std::uint8_t* codes,
                               std::uint64_t count) {
  return PathOutput{values, codes, count,
                    spec.static_columns() > 0
                        ? values + static_cast<std::uint64_t>(spec.value_cells()) * count
                        : nullptr};
}

/// Outputs of paths [0, count) of a run, cell-major with stride count (values: every
/// output_columns(spec) column).
struct PathOutputs {
  std::uint64_t count = 0;
  std::vector<double> values;
  std::vector<std::uint8_t> codes;
};

/// A reducer for a fresh run of `paths` paths, its root bins placed by the pilot; the pilot's
/// outputs are handed to `pilot` when it is given. The pilot is simulated in slices of
/// pilot_slice_paths, and `after_slice(done, of)`, when given, is called after each (progress,
/// and a stop signal: it may throw).
std::unique_ptr<StreamingReducer> fresh_reducer(
    std::uint64_t paths, const PathSource& source, PathOutputs* pilot = nullptr,
    const std::function<void(std::uint64_t done, std::uint64_t of)>& after_slice = {});
constexpr std::uint64_t pilot_slice_paths = 65536;

/// One pass of `reducer` over paths [begin, end), in chunks (no checkpoints).
void pass_over_range(StreamingReducer& reducer, std::uint64_t begin, std::uint64_t end,
                     std::uint64_t chunk_paths, int threads, const ChunkSimulator& simulate);

/// The first pass over paths [begin, end) only (a shard of a run of `paths` paths).
std::unique_ptr<StreamingReducer> first_pass_slice(std::uint64_t paths, const PathSource& source,
                                                   std::uint64_t begin, std::uint64_t end,
                                                   std::uint64_t chunk_paths, int threads);

/// Finishes a reducer whose first pass covers every path (merged shards) through the refining
/// passes, and returns the tables.
RunResults finish_after_first_pass(StreamingReducer& reducer, const PathSource& source,
                                   std::uint64_t chunk_paths, int threads, BatchReport& report);

}  // namespace caprisk
