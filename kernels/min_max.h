// Minimum and maximum for the model's hot loops. g++ may not inline std::fmin/std::fmax
// without -ffinite-math-only (they must treat NaN and signed zeros specially), so the CPU
// backend paid a libm call for each; these compile to one minsd/maxsd (and to fmin/fmax on the
// device). For numbers they equal fmin/fmax; a NaN in `a` gives `b`, as fmin/fmax do.
#pragma once

#include "kernels/qualifiers.h"

namespace caprisk {

CAPRISK_HD inline double min_of(double a, double b) {
#if defined(__CUDA_ARCH__)
  return fmin(a, b);
#else
  return a < b ? a : b;
#endif
}

CAPRISK_HD inline double max_of(double a, double b) {
#if defined(__CUDA_ARCH__)
  return fmax(a, b);
#else
  return a > b ? a : b;
#endif
}

}  // namespace caprisk
