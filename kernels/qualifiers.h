// Function qualifiers for code shared by the CPU (g++) and CUDA (nvcc) backends.
#pragma once

#if defined(__CUDACC__)
// Callable from host and device: pure math with no cuRAND call inside.
#define CAPRISK_HD __host__ __device__
// The per-path model that only kernels call on a GPU (sampling, the monthly loop): device-only
// under nvcc, so nvcc does not also compile a host copy that nothing would call (the CPU
// backend compiles the same functions with g++).
#define CAPRISK_DEVICE __device__
#else
#define CAPRISK_HD
#define CAPRISK_DEVICE
#endif
