// Statistics of one report cell over all paths (docs/MODEL.md, "Reports").
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace caprisk {

struct PercentileEstimate {
  double q = 0;       ///< in [0, 100]
  double value = 0;   ///< NumPy's default (linear) percentile
  double ci_low = 0;  ///< 95% confidence interval from order statistics
  double ci_high = 0;
};

struct CellStatistics {
  std::uint64_t paths = 0;
  double mean = 0;
  double sd = 0;  ///< sample standard deviation (n - 1 in the denominator)
  std::vector<PercentileEstimate> percentiles;
  double cvar95 = 0;      ///< mean of the largest ceil(0.05 n) values
  double p_positive = 0;  ///< share of paths with a value > 0
  double p50 = 0;         ///< always computed, for headlines, whatever `percentiles` holds
  double p95 = 0;
};

/// NumPy's np.percentile(x, q) with the default method, for x sorted ascending.
double numpy_percentile(std::span<const double> sorted, double q);

/// 1-based ranks of the 95% order-statistic interval for quantile q/100, clipped to [1, n].
void order_statistic_ranks(std::uint64_t n, double q, std::uint64_t& low, std::uint64_t& high);

/// Sorts `values` in place and summarises them; `values` must be non-empty.
CellStatistics summarize(std::span<double> values, const std::vector<double>& percentiles);

}  // namespace caprisk
