// The lane type the model is written over (kernels/model.h): W paths in lock-step, one per
// lane, with branches as masks. W = 1 is the GPU's one path per thread and the CPU's scalar
// path; the CPU's SIMD batches (host/run/simd_batch.cpp) instantiate the same model with W =
// the vector width of the target Highway dispatches to.
//
// On the host a Pack with W > 1 is a GCC vector, whose operations g++ compiles to the
// instructions of the target the code is compiled for: kernels/lanes-inl.h is included again
// inside each target's namespace for that (see there). Every lane does exactly the IEEE
// operations the scalar model does, in the same order, so on the CPU a path's outputs do not
// depend on W (the CPU code is compiled with -ffp-contract=off, so no multiply-add is fused in
// one and not the other; nvcc fuses them on the GPU, whose tables agree within their
// intervals). What does not vectorise (a gather, a rare event) is the same scalar code per
// lane.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/min_max.h"
#include "kernels/qualifiers.h"
#include "kernels/rng.h"
#include "kernels/schedule.h"

/// Pack operations: always inlined, so that g++ compiles their vector code in the per-target
/// function that calls them (host/run/simd_batch.cpp) and not for the baseline they are defined
/// under, which would split an 8-lane comparison into scalar ones before inlining.
#if defined(__CUDACC__)
#define CAPRISK_LANE __host__ __device__ __forceinline__
#else
#define CAPRISK_LANE __attribute__((always_inline)) inline
#endif

namespace caprisk {

#include "kernels/lanes-inl.h"

/// exp_of for one value: the model's exp on the host and the device.
CAPRISK_HD inline double model_exp(double x) {
  Real<1> lane;
  lane.v[0] = x;
  return exp_of(lane).v[0];
}

}  // namespace caprisk
