// The lane type the model is written over (kernels/model.h): W paths in lock-step, one per
// lane, with branches as masks. W = 1 is the GPU's one path per thread and the CPU's scalar
// path; the CPU's SIMD batches (host/run/simd_batch.cpp) instantiate the same model with W =
// the vector width of the target Highway dispatches to.
//
// A Pack is a plain array and every operation a loop over its lanes: in the CPU's per-target
// code, which is compiled with that target's instructions and has the model inlined into it,
// g++ turns the loops into vector instructions. Every lane does exactly the IEEE operations the
// scalar model does, in the same order, so a path's outputs do not depend on W (the SIMD code
// is compiled with -ffp-contract=off, so no multiply-add is fused in one and not the other).
// What does not vectorise (a libm exp, a schedule's gather, a rare event) is the same scalar
// call per lane.
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
