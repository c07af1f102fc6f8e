// Function qualifiers for code shared by the CPU (g++) and CUDA (nvcc) backends.
#pragma once

#if defined(__CUDACC__)
// Callable from host and device: pure math with no cuRAND call inside.
#define CAPRISK_HD __host__ __device__
// cuRAND's device API is __device__ only under nvcc, so code that draws is device-only there.
#define CAPRISK_DEVICE __device__
#else
#define CAPRISK_HD
#define CAPRISK_DEVICE
#endif
