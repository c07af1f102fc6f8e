// The run modes: `caprisk run` (one process, MPI ranks, or one shard) and `caprisk merge`.
#pragma once

#include <string>
#include <vector>

#include "host/run/pipeline.h"

namespace caprisk {

/// Runs the scenario end to end (MPI ranks when started by mpirun or srun, a shard with
/// --shard) and returns the process exit code.
int run_scenario(const RunOptions& options);

struct MergeOptions {
  std::vector<std::string> inputs;  ///< shard files, or directories holding them
  std::string config_path;          ///< empty: the path recorded in the shards
  std::string out_dir;              ///< empty: out/<scenario name>
  int threads = 0;
  bool quiet = false;
  bool force = false;  ///< replace another run's results in --out
  std::string db_path;  ///< --db (empty: beside --out)
  bool no_db = false;
  std::string command_line;
};

/// Combines the partial results of `caprisk run --shard k/n` into the whole run's files.
int merge_shards(const MergeOptions& options);

}  // namespace caprisk
