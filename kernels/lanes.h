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

namespace caprisk {

namespace detail {
/// A pack's storage: on the host with W > 1 a GCC vector (vector_size), whose arithmetic,
/// comparisons and ?: g++ compiles to the instructions of the target the code is compiled for;
/// on the device and with one lane a plain array. Both are indexed v[l].
#if defined(__CUDACC__)
template <typename T, int W>
struct PackStorage {
  using type = T[W];
};
#else
template <typename T, int W>
struct PackStorage {
  typedef T type __attribute__((vector_size(sizeof(T) * W)));
};
template <typename T>
struct PackStorage<T, 1> {
  using type = T[1];
};
#endif
}  // namespace detail

/// True where a pack's operations are single vector operations (host, W > 1).
template <int W>
constexpr bool vector_pack = W > 1
#if defined(__CUDACC__)
                             && false
#endif
    ;

/// W values of one type, lane l belonging to path l of the batch.
template <typename T, int W>
struct Pack {
  typename detail::PackStorage<T, W>::type v;
};

template <int W>
using Real = Pack<double, W>;
/// A lane mask: all ones (-1) where the condition holds, else 0, 64-bit so that it sits lane
/// for lane beside the doubles it selects (a GCC vector comparison's own result).
template <int W>
using Mask = Pack<std::int64_t, W>;

template <int W>
CAPRISK_HD inline Real<W> splat(double x) {
  Real<W> r;
  if constexpr (vector_pack<W>) {
    r.v = decltype(r.v){} + x;  // a broadcast
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = x;
  }
  return r;
}

template <int W>
CAPRISK_HD inline Mask<W> splat_mask(bool x) {
  Mask<W> r;
  for (int l = 0; l < W; ++l) r.v[l] = x ? -1 : 0;
  return r;
}

#define CAPRISK_PACK_ARITHMETIC(op)                                                  \
  template <int W>                                                                   \
  CAPRISK_HD inline Real<W> operator op(const Real<W>& a, const Real<W>& b) {        \
    Real<W> r;                                                                       \
    if constexpr (vector_pack<W>) {                                                  \
      r.v = a.v op b.v;                                                              \
    } else {                                                                         \
      for (int l = 0; l < W; ++l) r.v[l] = a.v[l] op b.v[l];                         \
    }                                                                                \
    return r;                                                                        \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_HD inline Real<W> operator op(const Real<W>& a, double b) {                \
    return a op splat<W>(b);                                                         \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_HD inline Real<W> operator op(double a, const Real<W>& b) {                \
    return splat<W>(a) op b;                                                         \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_HD inline Real<W>& operator op##=(Real<W>& a, const Real<W>& b) {          \
    a = a op b;                                                                      \
    return a;                                                                        \
  }
CAPRISK_PACK_ARITHMETIC(+)
CAPRISK_PACK_ARITHMETIC(-)
CAPRISK_PACK_ARITHMETIC(*)
CAPRISK_PACK_ARITHMETIC(/)
#undef CAPRISK_PACK_ARITHMETIC

template <int W>
CAPRISK_HD inline Real<W> operator-(const Real<W>& a) {
  Real<W> r;
  if constexpr (vector_pack<W>) {
    r.v = -a.v;
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = -a.v[l];
  }
  return r;
}

#define CAPRISK_PACK_COMPARISON(op)                                                  \
  template <int W>                                                                   \
  CAPRISK_HD inline Mask<W> operator op(const Real<W>& a, const Real<W>& b) {        \
    Mask<W> r;                                                                       \
    if constexpr (vector_pack<W>) {                                                  \
      r.v = a.v op b.v;                                                              \
    } else {                                                                         \
      for (int l = 0; l < W; ++l) r.v[l] = a.v[l] op b.v[l] ? -1 : 0;                \
    }                                                                                \
    return r;                                                                        \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_HD inline Mask<W> operator op(const Real<W>& a, double b) {                \
    return a op splat<W>(b);                                                         \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_HD inline Mask<W> operator op(double a, const Real<W>& b) {                \
    return splat<W>(a) op b;                                                         \
  }
CAPRISK_PACK_COMPARISON(<)
CAPRISK_PACK_COMPARISON(<=)
CAPRISK_PACK_COMPARISON(>)
CAPRISK_PACK_COMPARISON(>=)
#undef CAPRISK_PACK_COMPARISON

template <int W>
CAPRISK_HD inline Mask<W> operator&(const Mask<W>& a, const Mask<W>& b) {
  Mask<W> r;
  if constexpr (vector_pack<W>) {
    r.v = a.v & b.v;
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] & b.v[l];
  }
  return r;
}
template <int W>
CAPRISK_HD inline Mask<W> operator|(const Mask<W>& a, const Mask<W>& b) {
  Mask<W> r;
  if constexpr (vector_pack<W>) {
    r.v = a.v | b.v;
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] | b.v[l];
  }
  return r;
}
template <int W>
CAPRISK_HD inline Mask<W> operator!(const Mask<W>& a) {
  Mask<W> r;
  if constexpr (vector_pack<W>) {
    r.v = ~a.v;
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = ~a.v[l];
  }
  return r;
}

/// True when any lane's mask is set (W = 1: the scalar branch).
namespace detail {
/// The OR of a vector's lanes, by folding halves (a few shuffles, not W extractions).
template <typename V>
CAPRISK_HD inline std::int64_t or_lanes(V v, std::integral_constant<int, 1>) {
  return v[0];
}
#if !defined(__CUDACC__)
template <typename V, int W>
inline std::int64_t or_lanes(V v, std::integral_constant<int, W>) {
  if constexpr (W == 8) {
    return or_lanes(__builtin_shufflevector(v, v, 0, 1, 2, 3) | __builtin_shufflevector(v, v, 4, 5, 6, 7),
                    std::integral_constant<int, 4>{});
  } else if constexpr (W == 4) {
    return or_lanes(__builtin_shufflevector(v, v, 0, 1) | __builtin_shufflevector(v, v, 2, 3),
                    std::integral_constant<int, 2>{});
  } else {
    static_assert(W == 2, "a pack of 2, 4 or 8 lanes");
    return v[0] | v[1];
  }
}
#endif
}  // namespace detail

/// True when any lane's mask is set (W = 1: the scalar branch).
template <int W>
CAPRISK_HD inline bool any(const Mask<W>& m) {
  if constexpr (vector_pack<W>) {
    return detail::or_lanes(m.v, std::integral_constant<int, W>{}) != 0;
  } else {
    std::int64_t set = 0;
    for (int l = 0; l < W; ++l) set |= m.v[l];
    return set != 0;
  }
}

/// m ? a : b, lane by lane.
template <int W>
CAPRISK_HD inline Real<W> select(const Mask<W>& m, const Real<W>& a, const Real<W>& b) {
  Real<W> r;
  if constexpr (vector_pack<W>) {
    r.v = m.v != 0 ? a.v : b.v;
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = m.v[l] != 0 ? a.v[l] : b.v[l];
  }
  return r;
}

/// kernels/min_max.h's min_of and max_of, lane by lane (the same NaN rule).
template <int W>
CAPRISK_HD inline Real<W> min_of(const Real<W>& a, const Real<W>& b) {
  if constexpr (vector_pack<W>) {
    Real<W> r;
    r.v = a.v < b.v ? a.v : b.v;  // min_of's own rule: a < b ? a : b
    return r;
  } else {
    Real<W> r;
    for (int l = 0; l < W; ++l) r.v[l] = min_of(a.v[l], b.v[l]);
    return r;
  }
}
template <int W>
CAPRISK_HD inline Real<W> max_of(const Real<W>& a, const Real<W>& b) {
  if constexpr (vector_pack<W>) {
    Real<W> r;
    r.v = a.v > b.v ? a.v : b.v;
    return r;
  } else {
    Real<W> r;
    for (int l = 0; l < W; ++l) r.v[l] = max_of(a.v[l], b.v[l]);
    return r;
  }
}
template <int W>
CAPRISK_HD inline Real<W> min_of(const Real<W>& a, double b) {
  return min_of(a, splat<W>(b));
}
template <int W>
CAPRISK_HD inline Real<W> max_of(double a, const Real<W>& b) {
  return max_of(splat<W>(a), b);
}

template <int W>
CAPRISK_HD inline Real<W> floor_of(const Real<W>& a) {
  Real<W> r;
  for (int l = 0; l < W; ++l) r.v[l] = floor(a.v[l]);
  return r;
}
template <int W>
CAPRISK_HD inline Real<W> ceil_of(const Real<W>& a) {
  Real<W> r;
  for (int l = 0; l < W; ++l) r.v[l] = ceil(a.v[l]);
  return r;
}
/// The bits of each lane's double, as a 64-bit integer.
template <int W>
CAPRISK_HD inline Mask<W> bits_of(const Real<W>& a) {
  Mask<W> r;
  if constexpr (vector_pack<W>) {
    r.v = (decltype(r.v))a.v;  // a GCC vector cast: the same bits
  } else {
    for (int l = 0; l < W; ++l) {
#if defined(__CUDA_ARCH__)
      r.v[l] = __double_as_longlong(a.v[l]);
#else
      __builtin_memcpy(&r.v[l], &a.v[l], sizeof(double));
#endif
    }
  }
  return r;
}

template <int W>
CAPRISK_HD inline Real<W> double_of_bits(const Mask<W>& a) {
  Real<W> r;
  if constexpr (vector_pack<W>) {
    r.v = (decltype(r.v))a.v;
  } else {
    for (int l = 0; l < W; ++l) {
#if defined(__CUDA_ARCH__)
      r.v[l] = __longlong_as_double(a.v[l]);
#else
      __builtin_memcpy(&r.v[l], &a.v[l], sizeof(double));
#endif
    }
  }
  return r;
}

/// e^x on every lane, by the same operations whatever W is: libm's exp cannot be vectorised
/// bit for bit, so the model uses this one everywhere (the yield curves), scalar or not.
/// Cody-Waite reduction x = n ln 2 + r with |r| <= ln 2 / 2 (ln 2 split so that n * ln2_hi
/// is exact), e^r by its Taylor series to r^13 (truncation below 5e-18 relative), and 2^n
/// made from its exponent bits. Within 1 ulp of the correctly rounded value
/// (tests/lanes_test.cpp), subnormal results included; 0 below -746, infinity above 709.
template <int W>
CAPRISK_HD inline Real<W> exp_of(const Real<W>& x) {
  constexpr double log2_e = 1.4426950408889634;
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double shifter = 6755399441055744.0;  // 1.5 * 2^52: x + shifter rounds x to a whole number
  const Real<W> lowest = splat<W>(-746.0), highest = splat<W>(709.0);
  const Real<W> clamped = select(x < lowest, lowest, select(x > highest, highest, x));
  const Real<W> shifted = clamped * log2_e + shifter;
  const Real<W> n = shifted - shifter;
  const Real<W> r = (clamped - n * ln2_hi) - n * ln2_lo;
  // 1/k! for k = 13 .. 2
  constexpr double coefficient[12] = {
      1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
      1.0 / 362880.0,     1.0 / 40320.0,     1.0 / 5040.0,      1.0 / 720.0,
      1.0 / 120.0,        1.0 / 24.0,        1.0 / 6.0,         0.5};
  Real<W> p = splat<W>(coefficient[0]);
  for (int k = 1; k < 12; ++k) p = p * r + coefficient[k];
  p = (p * r + 1.0) * r + 1.0;
  // 2^n: n sits in the low bits of `shifted`; move it (plus the bias) into the exponent field.
  // Below n = -1020, 2^n is not a normal double: scale by 2^(n + 64), then by 2^-64. n + 1023
  // (or n + 64 + 1023) is positive, so the shift is of a positive number.
  const Mask<W> tiny = n < -1020.0;
  Mask<W> exponent = bits_of(shifted);
  const std::int64_t bias = bits_of(splat<1>(shifter)).v[0] - 1023;
  // tiny is -1 where set: the exponent gains 64 there.
  if constexpr (vector_pack<W>) {
    exponent.v = (exponent.v - bias - 64 * tiny.v) << 52;
  } else {
    for (int l = 0; l < W; ++l) exponent.v[l] = (exponent.v[l] - bias - 64 * tiny.v[l]) << 52;
  }
  const Real<W> scaled = p * double_of_bits(exponent);
  const Real<W> result = select(tiny, scaled * 5.421010862427522e-20, scaled);  // 2^-64
  return select(x < lowest, splat<W>(0.0), select(x > highest, splat<W>(INFINITY), result));
}

/// exp_of for one value: the model's exp on the host and the device.
CAPRISK_HD inline double model_exp(double x) {
  Real<1> lane;
  lane.v[0] = x;
  return exp_of(lane).v[0];
}

/// Lane l of the result is base[index[l]].
template <int W>
CAPRISK_HD inline Real<W> gather(const double* base, const Pack<int, W>& index) {
  Real<W> r;
  for (int l = 0; l < W; ++l) r.v[l] = base[index.v[l]];
  return r;
}

/// Writes lane l to at[l]: W consecutive paths' column of one cell.
template <int W>
CAPRISK_HD inline void store(const Real<W>& a, double* at) {
  for (int l = 0; l < W; ++l) at[l] = a.v[l];
}

}  // namespace caprisk
