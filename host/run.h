// The `caprisk run` pipeline: simulate, reduce, report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/scenario.h"

namespace caprisk {

struct RunOptions {
  int threads = 0;  ///< 0: all cores
  std::string out_dir;
  std::string backend = "auto";
  int device = 0;                 ///< CUDA device index
  std::uint64_t chunk_paths = 0;  ///< paths per chunk; 0 = default (CPU 16384, CUDA from memory)
  std::string checkpoint_path;    ///< CPU: checkpoint file, empty for none
  int checkpoint_every = 32;      ///< chunks between checkpoints
  bool resume = false;
  std::uint64_t shard_index = 0;  ///< --shard k/n: this run computes slice k of n
  std::uint64_t shard_count = 0;  ///< 0: not sharded
  bool allow_no_supply = false;
  bool quiet = false;
  std::string command_line;
};

/// Runs the scenario end to end and returns the process exit code.
int run_scenario(const Scenario& scenario, const RunOptions& options);

struct MergeOptions {
  std::vector<std::string> inputs;  ///< shard files, or directories holding them
  std::string config_path;          ///< empty: the path recorded in the shards
  std::string out_dir;              ///< empty: out/<scenario name>
  int threads = 0;
  bool quiet = false;
  std::string command_line;
};

/// Combines the partial results of `caprisk run --shard k/n` into the whole run's files.
int merge_shards(const MergeOptions& options);

}  // namespace caprisk
