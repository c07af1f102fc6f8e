// Sizes of the kernels' fixed-size per-path state; host/config rejects larger scenarios.
#pragma once

#include <cstdint>

namespace caprisk {

/// Hard limits of the kernels' fixed-size per-path state.
struct ModelLimits {
  static constexpr int max_sites = 64;
  static constexpr int max_suppliers = 16;
  static constexpr int max_deals = 16;
  static constexpr int max_factors = 16;
  static constexpr int max_groups = 16;
  static constexpr int max_horizon = 1200;
  static constexpr int max_per_gw_lag = 36;
  static constexpr std::uint64_t max_paths = 1'000'000'000'000ULL;
};

}  // namespace caprisk
