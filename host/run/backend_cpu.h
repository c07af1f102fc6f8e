// CPU backend: the kernels' simulate_path over paths with OpenMP.
#pragma once

#include <cstdint>
#include <functional>

#include "host/config/flatten.h"

namespace caprisk {

/// Called between blocks of paths with the number of paths done so far.
using ProgressCallback = std::function<void(std::uint64_t done)>;

/// Simulates paths [first, first + count) into `out` (path p at offset p - first).
/// Results do not depend on `threads` (0: all cores): each path is a pure function.
void simulate_cpu(const FlatScenario& scenario, std::uint64_t seed, std::uint64_t first,
                  std::uint64_t count, const PathOutput& out, int threads,
                  const ProgressCallback& progress);

}  // namespace caprisk
