// One macro checks every CUDA runtime call and launch, and throws a typed error with the file,
// line and CUDA error name.
#pragma once

#include <cuda_runtime.h>

#include <cassert>
#include <cstdio>
#include <string>

#include "host/errors.h"

namespace caprisk {

/// A failed CUDA call; `out_of_memory()` lets callers retry with a smaller chunk.
class CudaError : public RuntimeFailure {
 public:
  CudaError(cudaError_t status, const char* call, const char* file, int line)
      : RuntimeFailure(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " +
                       cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")"),
        status_(status) {}
  cudaError_t status() const noexcept { return status_; }
  bool out_of_memory() const noexcept { return status_ == cudaErrorMemoryAllocation; }

 private:
  cudaError_t status_;
};

}  // namespace caprisk

#define CAPRISK_CUDA_TRY(call)                                                \
  do {                                                                        \
    const cudaError_t caprisk_status_ = (call);                               \
    if (caprisk_status_ != cudaSuccess) {                                     \
      cudaGetLastError(); /* clear a non-sticky error before reporting it */  \
      throw ::caprisk::CudaError(caprisk_status_, #call, __FILE__, __LINE__); \
    }                                                                         \
  } while (0)

/// Checks a kernel launch (configuration errors) right after the <<<...>>>.
#define CAPRISK_CUDA_CHECK_LAUNCH() CAPRISK_CUDA_TRY(cudaGetLastError())

/// For destructors and other noexcept code (rmm's RMM_ASSERT_CUDA_SUCCESS): runs the call and,
/// when it fails, says so on stderr with the file, line and CUDA error name (and stops a debug
/// build) instead of throwing.
#define CAPRISK_ASSERT_CUDA_SUCCESS(call)                                                   \
  do {                                                                                      \
    const cudaError_t caprisk_status_ = (call);                                             \
    if (caprisk_status_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "caprisk: internal: %s failed at %s:%d: %s\n", #call, __FILE__,  \
                   __LINE__, cudaGetErrorName(caprisk_status_));                            \
      assert(caprisk_status_ == cudaSuccess);                                               \
    }                                                                                       \
  } while (0)
