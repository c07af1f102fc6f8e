// The CPU's SIMD batches: the kernels' simulate_lanes over W paths at once, compiled once per
// x86 target (SSE4, AVX2, AVX-512 and a portable baseline) with Google Highway, which picks the
// best one the machine has at run time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/model.h"

namespace caprisk {

/// The most lanes any target's batch has (AVX-512: 8 doubles).
constexpr int max_batch_lanes = 8;

/// The target in use and its lanes, named as Highway names them: "AVX3" (AVX-512), "AVX2",
/// "SSE4", "SSSE3", or the portable baseline ("SCALAR": one lane, simulate_path's own code
/// compiled as a batch; "EMU128" where the compiler's baseline allows it).
struct SimdTarget {
  std::string name;
  int lanes = 1;
};

/// The target batches run on: the best this CPU supports, unless select_simd_target or the
/// environment variable CAPRISK_SIMD chose another.
SimdTarget simd_target();

/// The targets this binary holds code for and this CPU can run, best first.
std::vector<std::string> available_simd_targets();

/// Makes batches run on target `name` (case-insensitive; "avx512" names AVX3; "best" the best
/// available): for comparing targets in one process, and for CAPRISK_SIMD. Throws
/// std::invalid_argument naming the available targets when this CPU cannot run `name`. Not
/// thread-safe: call it before simulating.
void select_simd_target(const std::string& name);

/// Simulates the simd_target().lanes paths first, first + 1, ... from their static draws
/// (`draws[l]`, sample_statics) into columns 0 .. lanes - 1 of `out`. Bit for bit what
/// simulate_from_statics writes for each path alone.
void simulate_batch(const ScenarioView& s, std::uint64_t seed, std::uint64_t first,
                    const PathStatics* draws, const PathOutput& out);

}  // namespace caprisk
