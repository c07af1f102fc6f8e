// Counter-based random streams: one Philox4_32_10 stream per (component, path), so a path is
// a pure function of (seed, path index, scenario) and each model component draws from its own
// stream (docs/MODEL.md, "Randomness").
#pragma once

#include <cstdint>

#include "kernels/qualifiers.h"

namespace caprisk {

/// SplitMix64 finalizer: a bijective mix so that nearby keys give unrelated Philox keys.
CAPRISK_HD inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// 64-bit FNV-1a of a component's role and name ("site:Abilene TX"), computed on the host.
inline std::uint64_t component_key(const char* role, const char* name) {
  std::uint64_t hash = 0xCBF29CE484222325ULL;
  auto feed = [&hash](const char* text) {
    for (; *text != '\0'; ++text) {
      hash ^= static_cast<unsigned char>(*text);
      hash *= 0x100000001B3ULL;
    }
  };
  feed(role);
  feed(":");
  feed(name);
  return hash;
}

/// The Philox key of a component's stream under a run seed.
CAPRISK_HD inline std::uint64_t stream_key(std::uint64_t seed, std::uint64_t component) {
  return mix64(seed ^ mix64(component));
}

/// Converts 32 random bits to a uniform in the open interval (0, 1) (grid 2^-32).
CAPRISK_HD inline double bits_to_uniform(std::uint32_t bits) {
  return (static_cast<double>(bits) + 0.5) * 2.3283064365386963e-10;
}

/// Philox4x32-10 (Salmon et al., SC'11) of one 128-bit counter under a 64-bit key: the
/// generator behind cuRAND's curandStatePhilox4_32_10_t, computed here directly so that a
/// block costs one evaluation. (curand_init on that state evaluates two blocks and curand4 a
/// third, to keep a look-ahead block that these call sites never use.)
struct PhiloxBlock {
  std::uint32_t word[4];
};

namespace detail {
CAPRISK_HD inline std::uint32_t multiply_high(std::uint32_t a, std::uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(a) * b) >> 32);
#endif
}
}  // namespace detail

/// The block of counter (block, path) of the stream keyed `key`: the same bits as cuRAND's
/// Philox state after curand_init(key, path, 4 * block) (subsequence = path, 4 outputs per
/// block), which tests/streams_copula_test.cpp checks.
CAPRISK_HD inline PhiloxBlock philox_block(std::uint64_t key, std::uint64_t path,
                                           std::uint64_t block) {
  constexpr std::uint32_t multiplier_0 = 0xD2511F53U, multiplier_1 = 0xCD9E8D57U;
  constexpr std::uint32_t weyl_0 = 0x9E3779B9U, weyl_1 = 0xBB67AE85U;
  std::uint32_t c0 = static_cast<std::uint32_t>(block),
                c1 = static_cast<std::uint32_t>(block >> 32);
  std::uint32_t c2 = static_cast<std::uint32_t>(path), c3 = static_cast<std::uint32_t>(path >> 32);
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint32_t high_0 = detail::multiply_high(multiplier_0, c0);
    const std::uint32_t high_1 = detail::multiply_high(multiplier_1, c2);
    const std::uint32_t low_0 = multiplier_0 * c0;
    const std::uint32_t low_1 = multiplier_1 * c2;
    c0 = high_1 ^ c1 ^ k0;
    c1 = low_1;
    c2 = high_0 ^ c3 ^ k1;
    c3 = low_0;
    k0 += weyl_0;
    k1 += weyl_1;
  }
  return PhiloxBlock{{c0, c1, c2, c3}};
}

/// One component's stream on one path: Philox keyed by the component, subsequence = path,
/// blocks evaluated only when a draw needs them.
class RandomStream {
 public:
  CAPRISK_HD RandomStream(std::uint64_t key, std::uint64_t path) : key_(key), path_(path) {}
  /// Uniform in the open interval (0, 1), on a grid of 2^-32: never 0 or 1, so every quantile
  /// function is finite.
  CAPRISK_HD double uniform() { return bits_to_uniform(bits()); }
  CAPRISK_HD std::uint32_t bits() {
    if (used_ == 4) {
      block_ = philox_block(key_, path_, next_block_++);
      used_ = 0;
    }
    return block_.word[used_++];
  }

 private:
  std::uint64_t key_;
  std::uint64_t path_;
  std::uint64_t next_block_ = 0;
  PhiloxBlock block_{};
  int used_ = 4;
};

/// Four uniforms for one month of a component's event stream: one Philox block per month, so
/// a month's draws never depend on how many events earlier months had.
CAPRISK_HD inline void monthly_uniforms(std::uint64_t key, std::uint64_t path, int month,
                                        double out[4]) {
  const PhiloxBlock bits = philox_block(key, path, static_cast<std::uint64_t>(month));
  for (int i = 0; i < 4; ++i) out[i] = bits_to_uniform(bits.word[i]);
}

}  // namespace caprisk
