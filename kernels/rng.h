// Counter-based random streams: one Philox4_32_10 stream per (component, path), so a path is
// a pure function of (seed, path index, scenario) and each model component draws from its own
// stream (docs/MODEL.md, "Randomness").
#pragma once

#include <curand_kernel.h>

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

/// One component's stream on one path: Philox keyed by the component, subsequence = path.
class RandomStream {
 public:
  CAPRISK_DEVICE RandomStream(std::uint64_t key, std::uint64_t path) {
    curand_init(key, path, 0, &state_);
  }
  /// Uniform in the open interval (0, 1), on a grid of 2^-32: never 0 or 1, so every quantile
  /// function is finite.
  CAPRISK_DEVICE double uniform() { return bits_to_uniform(curand(&state_)); }
  CAPRISK_DEVICE std::uint32_t bits() { return curand(&state_); }

 private:
  curandStatePhilox4_32_10_t state_;
};

/// Four uniforms for one month of a component's event stream: one Philox block per month, so
/// a month's draws never depend on how many events earlier months had.
CAPRISK_DEVICE inline void monthly_uniforms(std::uint64_t key, std::uint64_t path, int month,
                                            double out[4]) {
  curandStatePhilox4_32_10_t state;
  curand_init(key, path, 4ULL * static_cast<std::uint64_t>(month), &state);
  const uint4 bits = curand4(&state);
  out[0] = bits_to_uniform(bits.x);
  out[1] = bits_to_uniform(bits.y);
  out[2] = bits_to_uniform(bits.z);
  out[3] = bits_to_uniform(bits.w);
}

}  // namespace caprisk
