// The `caprisk run` pipeline: simulate, reduce, report.
#pragma once

#include <cstdint>
#include <string>

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
  bool allow_no_supply = false;
  bool quiet = false;
  std::string command_line;
};

/// Runs the scenario end to end and returns the process exit code.
int run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace caprisk
