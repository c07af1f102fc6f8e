// The reduction written with Thrust algorithms on an execution policy: thrust::cuda::par for
// per-path outputs in device memory (host/backend_cuda.cu), thrust::omp::par in the CPU tests,
// which compare it with host/results.cpp's reduce(). Header-only; needs the CCCL includes.
#pragma once

#include <thrust/count.h>
#include <thrust/functional.h>
#include <thrust/reduce.h>
#include <thrust/sort.h>
#include <thrust/transform_reduce.h>

#include <cstdint>
#include <vector>

#include "host/reduce/results.h"
#include "host/reduce/statistics.h"
#include "kernels/qualifiers.h"

namespace caprisk {

/// (x - center)^2, for the sum of squared deviations.
struct SquaredDeviation {
  double center;
  CAPRISK_HD double operator()(double x) const { return (x - center) * (x - center); }
};

/// x - floor, for the excess of the CVaR tail over its smallest value.
struct Excess {
  double floor;
  CAPRISK_HD double operator()(double x) const { return x - floor; }
};

struct IsPositive {
  CAPRISK_HD bool operator()(double x) const { return x > 0.0; }
};

/// Reduces cell-major outputs of `n` paths (stride n) with `policy`; sorts the value columns
/// in place. `read` fetches one double from the policy's memory (a device-to-host copy for
/// CUDA, a plain load for OpenMP).
template <class Policy, class Read>
RunResults reduce_with_policy(Policy policy, double* values, const std::uint8_t* codes,
                              PathLayout layout, std::uint64_t n,
                              const std::vector<double>& percentiles, Read read) {
  RunResults results;
  results.layout = layout;
  results.paths = n;
  const auto length = static_cast<std::ptrdiff_t>(n);
  for (int cell = 0; cell < layout.value_count(); ++cell) {
    double* column = values + static_cast<std::uint64_t>(cell) * n;
    ColumnSums sums;
    sums.sum = thrust::reduce(policy, column, column + length, 0.0);
    sums.positive =
        static_cast<std::uint64_t>(thrust::count_if(policy, column, column + length, IsPositive{}));
    const double mean = sums.sum / static_cast<double>(n);
    sums.squared_deviations = thrust::transform_reduce(
        policy, column, column + length, SquaredDeviation{mean}, 0.0, thrust::plus<double>());
    thrust::sort(policy, column, column + length);
    const std::uint64_t tail = cvar_tail_count(n);
    const double tail_start = read(column + (n - tail));
    sums.tail_excess = thrust::transform_reduce(policy, column + (n - tail), column + length,
                                                Excess{tail_start}, 0.0, thrust::plus<double>());
    sums.tail_squared_excess =
        thrust::transform_reduce(policy, column + (n - tail), column + length,
                                 SquaredDeviation{tail_start}, 0.0, thrust::plus<double>());
    results.cells.push_back(
        finish_statistics(n, sums, percentiles, [&](std::uint64_t i) { return read(column + i); }));
  }
  for (int site = 0; site < layout.site_count; ++site) {
    for (int report = 0; report < layout.report_count; ++report) {
      const std::uint8_t* column =
          codes + static_cast<std::uint64_t>(layout.binding(site, report)) * n;
      std::array<std::uint64_t, binding_code_count> counts{};
      for (std::uint8_t code = 0; code < binding_code_count; ++code)
        counts[code] =
            static_cast<std::uint64_t>(thrust::count(policy, column, column + length, code));
      results.binding_counts.push_back(counts);
    }
  }
  for (int site = 0; site < layout.site_count; ++site) {
    const std::uint8_t* column = codes + static_cast<std::uint64_t>(layout.censored(site)) * n;
    results.censored_counts.push_back(static_cast<std::uint64_t>(
        thrust::count(policy, column, column + length, std::uint8_t{1})));
  }
  return results;
}

}  // namespace caprisk
