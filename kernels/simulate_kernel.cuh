// The CUDA kernels over the model (nvcc only): the per-path work is kernels/model.h, these are
// the __global__ entry points, and host/cuda/backend_cuda.cu launches them (CUB's split of
// agent, kernel and dispatch). The scenario lives in __constant__ memory, set by the launch
// layer through set_constant_scenario().
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/model.h"
#include "kernels/rng.h"
#include "kernels/scenario_view.h"

namespace caprisk::kernels {

/// The scenario's parameters, read by every thread; its arrays live in global memory. Raw
/// storage, because ScenarioView's members have default initialisers, which __constant__
/// variables cannot run. One copy per translation unit that includes this header: include it
/// from one .cu file only (host/cuda/backend_cuda.cu).
__constant__ alignas(ScenarioView) unsigned char scenario_constant[sizeof(ScenarioView)];

__device__ inline const ScenarioView& constant_scenario() {
  return *reinterpret_cast<const ScenarioView*>(scenario_constant);
}

/// Copies the view (pointers already into device memory) to constant memory.
inline cudaError_t set_constant_scenario(const ScenarioView& view) {
  return cudaMemcpyToSymbol(scenario_constant, &view, sizeof view);
}

/// Simulates paths [first, first + count): path first + i writes its outputs at column offset
/// `offset + i` with the output's stride. Grid-stride over 64-bit indices; nothing random is
/// stored: every draw is generated where it is used.
__global__ void simulate_paths_kernel(std::uint64_t seed, std::uint64_t first, std::uint64_t count,
                                      std::uint64_t offset, PathOutput out) {
  const std::uint64_t step = static_cast<std::uint64_t>(blockDim.x) * gridDim.x;
  for (std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < count; i += step) {
    simulate_path(constant_scenario(), seed, first + i,
                  PathOutput{out.values + offset + i, out.codes + offset + i, out.stride,
                             out.statics != nullptr ? out.statics + offset + i : nullptr});
  }
}

/// Writes the first `count` 32-bit outputs of one Philox stream (one thread: a reference for
/// comparing the device's streams with the host's).
__global__ void philox_outputs_kernel(std::uint64_t key, std::uint64_t subsequence,
                                      std::size_t count, std::uint32_t* out) {
  RandomStream stream(key, subsequence);
  for (std::size_t i = 0; i < count; ++i) out[i] = stream.bits();
}

}  // namespace caprisk::kernels
