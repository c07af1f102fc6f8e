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
  std::uint64_t chunk_paths = 0;  ///< CUDA: paths per launch; 0 = from free device memory
  bool allow_no_supply = false;
  bool quiet = false;
  std::string command_line;
};

/// Runs the scenario end to end and returns the process exit code.
int run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace caprisk
