#include "host/reduce/statistics.h"

#include <algorithm>
#include <cmath>

namespace caprisk {

double numpy_percentile(std::span<const double> sorted, double q) {
  return finish_statistics(sorted.size(), ColumnSums{}, {q},
                           [&](std::uint64_t i) { return sorted[i]; })
      .percentiles[0]
      .value;
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

std::vector<std::uint64_t> needed_ranks(std::uint64_t n, const std::vector<double>& percentiles) {
  std::vector<std::uint64_t> ranks;
  auto neighbours = [&](double q) {
    const PercentilePosition at = percentile_position(n, q);
    ranks.push_back(at.below);
    ranks.push_back(at.above);
  };
  for (double q : percentiles) {
    neighbours(q);
    std::uint64_t low = 0, high = 0;
    order_statistic_ranks(n, q, low, high);
    ranks.push_back(low - 1);
    ranks.push_back(high - 1);
  }
  neighbours(50.0);
  neighbours(95.0);
  ranks.push_back(n - cvar_tail_count(n));
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  return ranks;
}

CellStatistics summarize(std::span<double> values, const std::vector<double>& percentiles) {
  const std::uint64_t n = values.size();
  ColumnSums sums;
  // Moments in path order (before sorting): the same bits whatever the thread count.
  for (double v : values) {
    sums.sum += v;
    sums.positive += v > 0.0 ? 1 : 0;
  }
  const double mean = sums.sum / static_cast<double>(n);
  for (double v : values) sums.squared_deviations += (v - mean) * (v - mean);
  std::sort(values.begin(), values.end());
  const double tail_start = values[n - cvar_tail_count(n)];
  for (std::uint64_t i = n - cvar_tail_count(n); i < n; ++i) {
    sums.tail_excess += values[i] - tail_start;
    sums.tail_squared_excess += (values[i] - tail_start) * (values[i] - tail_start);
  }
  return finish_statistics(n, sums, percentiles, [&](std::uint64_t i) { return values[i]; });
}

}  // namespace caprisk
