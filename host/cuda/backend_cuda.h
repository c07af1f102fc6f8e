// CUDA backend, declared without CUDA types so host code can call it (built only with CUDA;
// host/backend_cuda_none.cpp stands in otherwise).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "host/config/flatten.h"
#include "host/reduce/results.h"

namespace caprisk {

class StreamingReducer;

struct CudaRunOptions {
  int device = 0;
  std::uint64_t chunk_paths = 0;  ///< 0: sized from free device memory
};

/// What the CUDA run did, for summary.json.
struct CudaRunInfo {
  std::string device_name;
  std::uint64_t chunk_paths = 0;
  bool reduced_on_device = false;  ///< false: outputs were copied to the host and reduced there
  double kernel_seconds = 0;
  double reduce_seconds = 0;  ///< the device reduction (0 when reduced on the host)
  std::string launch;         ///< the kernel's launch shape ("block 128", "occupancy block N")
};

/// True when this binary has the CUDA backend.
bool cuda_backend_built();

/// True when every path's outputs (and the sort's scratch) fit in the device's free memory.
bool fits_on_device(const FlatScenario& scenario, std::uint64_t paths, int device);

/// Simulates `paths` paths on a GPU with every path's outputs in device memory and reduces
/// them there with Thrust (use fits_on_device first; larger runs stream through host/batch).
/// Throws UserError for a bad --device, CudaError otherwise.
RunResults run_cuda(const FlatScenario& scenario, std::uint64_t seed, std::uint64_t paths,
                    const std::vector<double>& percentiles, const CudaRunOptions& options,
                    CudaRunInfo& info);

/// A chunk simulator for host/batch's streaming reducer: the scenario uploaded once, each call
/// launches the fused kernel for a chunk and copies its outputs back (bounded memory,
/// checkpoints). `max_chunk` is the largest chunk it will be asked for.
std::function<void(std::uint64_t, std::uint64_t, const PathOutput&)> make_cuda_chunk_simulator(
    const FlatScenario& scenario, std::uint64_t seed, std::uint64_t max_chunk, int device,
    std::string& device_name);

/// Adds a chunk of paths to a streaming reducer from the GPU. In the first pass the device
/// fills the root histograms of the cells with percentiles itself (reduce_thrust.h,
/// first_pass_bins_with_policy), and only the tail cells' and the moments' columns, the static
/// draws and the codes are copied back; later passes, which keep a few values per bin, copy
/// the chunk back whole. `out` is the host chunk (stride `count`) that add_chunk then reads.
using CudaChunkReducer = std::function<void(StreamingReducer& reducer, std::uint64_t first,
                                            std::uint64_t count, const PathOutput& out,
                                            int threads)>;
/// The chunk simulator and the chunk reducer of one scenario, sharing its device state (the
/// uploaded scenario and one chunk's buffers).
struct CudaChunkSource {
  std::function<void(std::uint64_t, std::uint64_t, const PathOutput&)> simulate;
  CudaChunkReducer reduce;
};
CudaChunkSource make_cuda_chunk_source(const FlatScenario& scenario, std::uint64_t seed,
                                       std::uint64_t max_chunk, int device,
                                       std::string& device_name);

/// Per-path outputs of paths [first, first + count) computed on the GPU, copied to `out`
/// (stride `count`), for the agreement tests.
void simulate_cuda_outputs(const FlatScenario& scenario, std::uint64_t seed, std::uint64_t first,
                           std::uint64_t count, std::vector<double>& values,
                           std::vector<std::uint8_t>& codes, int device);

/// The first `count` 32-bit outputs of the Philox stream (key, subsequence) drawn on the GPU,
/// for comparing the two backends' streams.
std::vector<std::uint32_t> philox_outputs_cuda(std::uint64_t key, std::uint64_t subsequence,
                                               std::size_t count, int device);

}  // namespace caprisk
