#include "host/statistics.h"

#include <algorithm>
#include <cmath>

namespace caprisk {

double numpy_percentile(std::span<const double> sorted, double q) {
  // numpy.percentile: quantile = q / 100, virtual index = (n - 1) quantile, and the lerp that
  // is evaluated from the nearer end for gamma >= 0.5 (numpy/lib/function_base.py, _lerp).
  const double quantile = q / 100.0;
  const double index = static_cast<double>(sorted.size() - 1) * quantile;
  const double below = std::floor(index);
  const auto lo = static_cast<std::size_t>(below);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double gamma = index - below;
  const double a = sorted[lo], b = sorted[hi];
  const double difference = b - a;
  return gamma >= 0.5 ? b - difference * (1.0 - gamma) : a + difference * gamma;
}

void order_statistic_ranks(std::uint64_t n, double q, std::uint64_t& low, std::uint64_t& high) {
  const double p = q / 100.0;
  const double center = static_cast<double>(n) * p;
  const double half_width = 1.96 * std::sqrt(center * (1.0 - p));
  const double n_real = static_cast<double>(n);
  const double lo = std::clamp(std::floor(center - half_width), 1.0, n_real);
  const double hi = std::clamp(std::ceil(center + half_width), 1.0, n_real);
  low = static_cast<std::uint64_t>(lo);
  high = static_cast<std::uint64_t>(hi);
}

CellStatistics summarize(std::span<double> values, const std::vector<double>& percentiles) {
  CellStatistics stats;
  const std::uint64_t n = values.size();
  stats.paths = n;
  // Moments in path order (before sorting): the same bits whatever the thread count.
  double sum = 0;
  std::uint64_t positive = 0;
  for (double v : values) {
    sum += v;
    positive += v > 0.0 ? 1 : 0;
  }
  stats.mean = sum / static_cast<double>(n);
  double squares = 0;
  for (double v : values) squares += (v - stats.mean) * (v - stats.mean);
  stats.sd = n > 1 ? std::sqrt(squares / static_cast<double>(n - 1)) : 0.0;
  stats.p_positive = static_cast<double>(positive) / static_cast<double>(n);

  std::sort(values.begin(), values.end());
  for (double q : percentiles) {
    PercentileEstimate estimate;
    estimate.q = q;
    estimate.value = numpy_percentile(values, q);
    std::uint64_t low = 0, high = 0;
    order_statistic_ranks(n, q, low, high);
    estimate.ci_low = values[low - 1];
    estimate.ci_high = values[high - 1];
    stats.percentiles.push_back(estimate);
  }
  stats.p50 = numpy_percentile(values, 50.0);
  stats.p95 = numpy_percentile(values, 95.0);
  // Mean of the ceil(0.05 n) largest values, as the tail's smallest value plus the mean excess
  // over it: equal in exact arithmetic, and never below P95 after rounding (a plain sum of 200
  // copies of 1.2 divided by 200 is not 1.2).
  const std::uint64_t tail = (n + 19) / 20;  // ceil(0.05 n), in integers
  const double tail_start = values[n - tail];
  double excess = 0;
  for (std::uint64_t i = n - tail; i < n; ++i) excess += values[i] - tail_start;
  stats.cvar95 = tail_start + excess / static_cast<double>(tail);
  return stats;
}

}  // namespace caprisk
