// The lane type and its operations (included by kernels/lanes.h, see there): no include
// guard and no #include, because it is included once per namespace it is compiled in:
// `caprisk` (the GPU, the scalar model, the tests) and `caprisk::<target>` for each SIMD target
// of host/run/simd_batch.cpp, where g++ must compile every operation with that target's
// instructions: vector code defined outside the target is lowered for the baseline before
// it is inlined. Scalar helpers named like a lane operation are called as ::caprisk::name.
// NOLINTBEGIN(build/header_guard)

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
CAPRISK_LANE Real<W> splat(double x) {
  Real<W> r;
  if constexpr (vector_pack<W>) {
    // A broadcast: x - 0 is x for every x (-0 and NaN included), so g++ folds the subtraction
    // away (x + 0 would turn -0 into +0, so it cannot).
    r.v = x - decltype(r.v){};
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = x;
  }
  return r;
}

template <int W>
CAPRISK_LANE Mask<W> splat_mask(bool x) {
  Mask<W> r;
  for (int l = 0; l < W; ++l) r.v[l] = x ? -1 : 0;
  return r;
}

#define CAPRISK_PACK_ARITHMETIC(op)                                                  \
  template <int W>                                                                   \
  CAPRISK_LANE Real<W> operator op(const Real<W>& a, const Real<W>& b) {        \
    Real<W> r;                                                                       \
    if constexpr (vector_pack<W>) {                                                  \
      r.v = a.v op b.v;                                                              \
    } else {                                                                         \
      for (int l = 0; l < W; ++l) r.v[l] = a.v[l] op b.v[l];                         \
    }                                                                                \
    return r;                                                                        \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_LANE Real<W> operator op(const Real<W>& a, double b) {                \
    return a op splat<W>(b);                                                         \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_LANE Real<W> operator op(double a, const Real<W>& b) {                \
    return splat<W>(a) op b;                                                         \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_LANE Real<W>& operator op##=(Real<W>& a, const Real<W>& b) {          \
    a = a op b;                                                                      \
    return a;                                                                        \
  }
CAPRISK_PACK_ARITHMETIC(+)
CAPRISK_PACK_ARITHMETIC(-)
CAPRISK_PACK_ARITHMETIC(*)
CAPRISK_PACK_ARITHMETIC(/)
#undef CAPRISK_PACK_ARITHMETIC

template <int W>
CAPRISK_LANE Real<W> operator-(const Real<W>& a) {
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
  CAPRISK_LANE Mask<W> operator op(const Real<W>& a, const Real<W>& b) {        \
    Mask<W> r;                                                                       \
    if constexpr (vector_pack<W>) {                                                  \
      r.v = a.v op b.v;                                                              \
    } else {                                                                         \
      for (int l = 0; l < W; ++l) r.v[l] = a.v[l] op b.v[l] ? -1 : 0;                \
    }                                                                                \
    return r;                                                                        \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_LANE Mask<W> operator op(const Real<W>& a, double b) {                \
    return a op splat<W>(b);                                                         \
  }                                                                                  \
  template <int W>                                                                   \
  CAPRISK_LANE Mask<W> operator op(double a, const Real<W>& b) {                \
    return splat<W>(a) op b;                                                         \
  }
CAPRISK_PACK_COMPARISON(<)
CAPRISK_PACK_COMPARISON(<=)
CAPRISK_PACK_COMPARISON(>)
CAPRISK_PACK_COMPARISON(>=)
#undef CAPRISK_PACK_COMPARISON

template <int W>
CAPRISK_LANE Mask<W> operator&(const Mask<W>& a, const Mask<W>& b) {
  Mask<W> r;
  if constexpr (vector_pack<W>) {
    r.v = a.v & b.v;
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = a.v[l] & b.v[l];
  }
  return r;
}
template <int W>
CAPRISK_LANE Mask<W> operator!(const Mask<W>& a) {
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
CAPRISK_LANE std::int64_t or_lanes(V v, std::integral_constant<int, 1>) {
  return v[0];
}
#if !defined(__CUDACC__)
template <typename V, int W>
CAPRISK_LANE std::int64_t or_lanes(V v, std::integral_constant<int, W>) {
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
CAPRISK_LANE bool any(const Mask<W>& m) {
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
CAPRISK_LANE Real<W> select(const Mask<W>& m, const Real<W>& a, const Real<W>& b) {
  Real<W> r;
  if constexpr (vector_pack<W>) {
    // As bits, (m & a) | (~m & b): g++ 12 turns `m != 0 ? a : b` on a mask that is not itself
    // a comparison into per-lane branches on AVX-512, but never bitwise operations.
    using Bits = decltype(m.v);
    r.v = (decltype(r.v))((m.v & (Bits)a.v) | (~m.v & (Bits)b.v));
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = m.v[l] != 0 ? a.v[l] : b.v[l];
  }
  return r;
}

/// kernels/min_max.h's min_of and max_of, lane by lane (the same NaN rule).
template <int W>
CAPRISK_LANE Real<W> min_of(const Real<W>& a, const Real<W>& b) {
  if constexpr (vector_pack<W>) {
    Real<W> r;
    r.v = a.v < b.v ? a.v : b.v;  // min_of's own rule: a < b ? a : b
    return r;
  } else {
    Real<W> r;
    for (int l = 0; l < W; ++l) r.v[l] = ::caprisk::min_of(a.v[l], b.v[l]);
    return r;
  }
}
template <int W>
CAPRISK_LANE Real<W> max_of(const Real<W>& a, const Real<W>& b) {
  if constexpr (vector_pack<W>) {
    Real<W> r;
    r.v = a.v > b.v ? a.v : b.v;
    return r;
  } else {
    Real<W> r;
    for (int l = 0; l < W; ++l) r.v[l] = ::caprisk::max_of(a.v[l], b.v[l]);
    return r;
  }
}
template <int W>
CAPRISK_LANE Real<W> min_of(const Real<W>& a, double b) {
  return min_of(a, splat<W>(b));
}
template <int W>
CAPRISK_LANE Real<W> max_of(double a, const Real<W>& b) {
  return max_of(splat<W>(a), b);
}

/// Each lane's double truncated to a 64-bit integer (the lanes hold whole numbers of months).
template <int W>
CAPRISK_LANE Mask<W> to_int64(const Real<W>& a) {
  Mask<W> r;
  if constexpr (vector_pack<W>) {
    r.v = __builtin_convertvector(a.v, decltype(r.v));
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = static_cast<std::int64_t>(a.v[l]);
  }
  return r;
}

/// The bits of each lane's double, as a 64-bit integer.
template <int W>
CAPRISK_LANE Mask<W> bits_of(const Real<W>& a) {
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
CAPRISK_LANE Real<W> double_of_bits(const Mask<W>& a) {
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
/// (tests/lanes_test.cpp), subnormal results included; 0 below -746, infinity above 709 (where
/// e^x is still finite up to 709.78: the model's arguments, -t / tau, are never positive).
template <int W>
CAPRISK_LANE Real<W> exp_of(const Real<W>& x) {
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

/// philox_block for W paths at once: lane l is the block of counter (block[l], path[l]), its
/// four 32-bit words held in 64-bit lanes. On the host with W > 1 each round is a few vector
/// operations on 64-bit lanes (a 32 x 32-bit product fits in one); the bits are
/// philox_block's.
template <int W>
struct PhiloxLanes {
  Pack<std::uint64_t, W> word[4];
};

template <int W>
CAPRISK_LANE PhiloxLanes<W> philox_lanes(std::uint64_t key, const Pack<std::uint64_t, W>& path,
                                              const Pack<std::uint64_t, W>& block) {
  PhiloxLanes<W> out;
  if constexpr (vector_pack<W>) {
    constexpr std::uint64_t multiplier_0 = 0xD2511F53U, multiplier_1 = 0xCD9E8D57U;
    constexpr std::uint32_t weyl_0 = 0x9E3779B9U, weyl_1 = 0xBB67AE85U;
    constexpr std::uint64_t low_bits = 0xFFFFFFFFULL;
    using Lanes = decltype(path.v);
    Lanes c0 = block.v & low_bits, c1 = block.v >> 32;
    Lanes c2 = path.v & low_bits, c3 = path.v >> 32;
    std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
      const Lanes product_0 = c0 * multiplier_0;
      const Lanes product_1 = c2 * multiplier_1;
      c0 = (product_1 >> 32) ^ c1 ^ static_cast<std::uint64_t>(k0);
      c1 = product_1 & low_bits;
      c2 = (product_0 >> 32) ^ c3 ^ static_cast<std::uint64_t>(k1);
      c3 = product_0 & low_bits;
      k0 += weyl_0;
      k1 += weyl_1;
    }
    out.word[0].v = c0;
    out.word[1].v = c1;
    out.word[2].v = c2;
    out.word[3].v = c3;
  } else {
    for (int l = 0; l < W; ++l) {
      const PhiloxBlock bits = philox_block(key, path.v[l], block.v[l]);
      for (int w = 0; w < 4; ++w) out.word[w].v[l] = bits.word[w];
    }
  }
  return out;
}

/// bits_to_uniform on every lane.
template <int W>
CAPRISK_LANE Real<W> uniforms(const Pack<std::uint64_t, W>& bits) {
  Real<W> u;
  if constexpr (vector_pack<W>) {
    // Through int64, whose conversion to double every x86 SIMD target has: the bits are
    // below 2^32, so the value is the same.
    using Signed = decltype(Mask<W>{}.v);
    using Doubles = decltype(u.v);
    u.v = (__builtin_convertvector(__builtin_convertvector(bits.v, Signed), Doubles) + 0.5) *
          2.3283064365386963e-10;
  } else {
    for (int l = 0; l < W; ++l) u.v[l] = bits_to_uniform(static_cast<std::uint32_t>(bits.v[l]));
  }
  return u;
}

/// schedule_at on every lane. With vectors each segment is one masked step, with no branch:
/// lane l takes segment i where month[i - 1] < t <= month[i], the one the scan stops at, by
/// the same operations (t is never NaN here: delays are finite).
template <int W>
CAPRISK_LANE Real<W> schedule_lanes(const SchedulePoint* pool, ScheduleRef ref,
                                         const Real<W>& t) {
  const SchedulePoint* points = pool + ref.first;
  Real<W> r;
  if constexpr (vector_pack<W>) {
    r = splat<W>(points[0].value);
    for (int i = 1; i < ref.count; ++i) {
      const SchedulePoint a = points[i - 1], b = points[i];
      r = select((t > a.month) & (t <= b.month), a.value + a.slope * (t - a.month), r);
    }
    // The scan's own order: before (or at) the first point, then at or after the last.
    r = select(t <= points[0].month, splat<W>(points[0].value),
               select(t >= points[ref.count - 1].month, splat<W>(points[ref.count - 1].value), r));
  } else {
    for (int l = 0; l < W; ++l) r.v[l] = schedule_at(points, ref.count, t.v[l]);
  }
  return r;
}


/// Writes lane l to at[l]: W consecutive paths' column of one cell.
template <int W>
CAPRISK_LANE void store(const Real<W>& a, double* at) {
  for (int l = 0; l < W; ++l) at[l] = a.v[l];
}

// NOLINTEND(build/header_guard)
