// Statistics of one report cell over all paths (docs/MODEL.md, "Reports").
#pragma once

#include <algorithm>
#include <cmath>
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
  double cvar95_ci_low = 0;   ///< its 95% confidence interval (docs/MODEL.md, "Reports")
  double cvar95_ci_high = 0;
  double p_positive = 0;  ///< share of paths with a value > 0
  double p50 = 0;         ///< always computed, for headlines, whatever `percentiles` holds
  double p95 = 0;
};

/// Where NumPy's linear percentile q of n sorted values reads: the 0-based order statistics
/// `below` and `above` (`above` = `below` at the last one) and the weight `gamma` of `above`.
struct PercentilePosition {
  std::uint64_t below = 0;
  std::uint64_t above = 0;
  double gamma = 0;
};

inline PercentilePosition percentile_position(std::uint64_t n, double q) {
  const double index = static_cast<double>(n - 1) * (q / 100.0);
  const double below = std::floor(index);
  PercentilePosition at;
  at.below = static_cast<std::uint64_t>(below);
  at.above = at.below + 1 < n ? at.below + 1 : at.below;
  at.gamma = index - below;
  return at;
}

/// NumPy's np.percentile(x, q) with the default method, for x sorted ascending.
double numpy_percentile(std::span<const double> sorted, double q);

/// 1-based ranks of the 95% order-statistic interval for quantile q/100, clipped to [1, n].
void order_statistic_ranks(std::uint64_t n, double q, std::uint64_t& low, std::uint64_t& high);

/// Sorts `values` in place and summarises them; `values` must be non-empty.
CellStatistics summarize(std::span<double> values, const std::vector<double>& percentiles);

/// The sums a backend computes over one column (its own way: host loop, Thrust on a device).
struct ColumnSums {
  double sum = 0;                 ///< of the values
  double squared_deviations = 0;  ///< of (value - mean)^2
  std::uint64_t positive = 0;     ///< values > 0
  double tail_excess = 0;         ///< of (value - tail start) over the ceil(0.05 n) largest
  double tail_squared_excess = 0; ///< of (value - tail start)^2 over the same values
};

/// Number of values in the CVaR95 tail: ceil(0.05 n), in integers.
inline std::uint64_t cvar_tail_count(std::uint64_t n) {
  return (n + 19) / 20;
}

/// The 0-based order statistics finish_statistics() reads for n values (each percentile's two
/// neighbours and its interval's ranks, P50's and P95's neighbours, the CVaR tail's start),
/// sorted and unique: what a reducer that does not keep every value must resolve.
std::vector<std::uint64_t> needed_ranks(std::uint64_t n, const std::vector<double>& percentiles);

/// Completes the statistics of a sorted column of n values from its sums and the order
/// statistics it needs, read through `sorted_at(i)` (0-based), so that host and device
/// reductions share every formula.
template <class SortedAt>
CellStatistics finish_statistics(std::uint64_t n, const ColumnSums& sums,
                                 const std::vector<double>& percentiles, SortedAt&& sorted_at) {
  CellStatistics stats;
  stats.paths = n;
  const auto count = static_cast<double>(n);
  stats.mean = sums.sum / count;
  stats.sd = n > 1 ? std::sqrt(sums.squared_deviations / static_cast<double>(n - 1)) : 0.0;
  stats.p_positive = static_cast<double>(sums.positive) / count;
  auto percentile = [&](double q) {
    // numpy.percentile's linear method, evaluated as in numpy's _lerp.
    const PercentilePosition at = percentile_position(n, q);
    const double a = sorted_at(at.below);
    const double b = at.above != at.below ? sorted_at(at.above) : a;
    return at.gamma >= 0.5 ? b - (b - a) * (1.0 - at.gamma) : a + (b - a) * at.gamma;
  };
  for (double q : percentiles) {
    PercentileEstimate estimate;
    estimate.q = q;
    estimate.value = percentile(q);
    std::uint64_t low = 0, high = 0;
    order_statistic_ranks(n, q, low, high);
    estimate.ci_low = sorted_at(low - 1);
    estimate.ci_high = sorted_at(high - 1);
    stats.percentiles.push_back(estimate);
  }
  stats.p50 = percentile(50.0);
  stats.p95 = percentile(95.0);
  // CVaR as the tail's smallest value plus the mean excess over it: equal to the tail mean in
  // exact arithmetic and never below P95 after rounding.
  const std::uint64_t tail = cvar_tail_count(n);
  const auto k = static_cast<double>(tail);
  const double mean_excess = sums.tail_excess / k;
  stats.cvar95 = sorted_at(n - tail) + mean_excess;
  // The asymptotic variance of the tail mean (the tail's own variance, plus the uncertainty
  // of where the tail starts): [V + (1 - k/n) m^2] / k, with V the variance of the k tail
  // values and m their mean excess over the tail start.
  const double tail_variance =
      std::max(0.0, sums.tail_squared_excess / k - mean_excess * mean_excess);
  const double half_width =
      1.96 * std::sqrt((tail_variance + (1.0 - k / count) * mean_excess * mean_excess) / k);
  stats.cvar95_ci_low = std::max(0.0, stats.cvar95 - half_width);
  stats.cvar95_ci_high = stats.cvar95 + half_width;
  return stats;
}

}  // namespace caprisk
