// Per-path samples of a run and the tables reduced from them.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "host/reduce/statistics.h"
#include "host/reduce/worst_paths.h"
#include "kernels/scenario_view.h"

namespace caprisk {

/// Every path's outputs in memory, cell-major (PathLayout). Memory grows with the path count;
/// reduce() is the only reader, so a streaming store can replace it.
class SampleStore {
 public:
  SampleStore(PathLayout layout, std::uint64_t paths);
  PathOutput output() { return PathOutput{values_.data(), codes_.data(), paths_}; }
  PathLayout layout() const { return layout_; }
  std::uint64_t paths() const { return paths_; }

  double* column(int value_cell) { return values_.data() + value_cell * paths_; }
  const std::uint8_t* codes(int code_cell) const { return codes_.data() + code_cell * paths_; }
  std::uint8_t* mutable_codes(int code_cell) { return codes_.data() + code_cell * paths_; }

 private:
  PathLayout layout_;
  std::uint64_t paths_;
  std::vector<double> values_;
  std::vector<std::uint8_t> codes_;
};

/// Paths counted by binding code (BindingCode), for one site and report month.
using BindingCounts = std::array<std::uint64_t, binding_code_count>;

/// One entity's tail (docs/ANALYSIS.md, "Tail drivers"): the paths whose GW-months are at
/// least the CVaR tail's start and above 0.
struct TailDrivers {
  std::uint64_t paths = 0;
  double threshold = 0;       ///< the CVaR tail's start t, GW-months
  std::vector<double> mean;   ///< per static column, the tail's mean draw (0 for no path)
  BindingCounts binding{};    ///< the tail's short site-months of the entity, by constraint
};

/// The reduced tables of a run.
struct RunResults {
  PathLayout layout{};
  std::uint64_t paths = 0;
  std::vector<CellStatistics> cells;                         ///< one per value cell
  std::vector<std::array<std::uint64_t, binding_code_count>> binding_counts;  ///< per (site, report): BindingCode
  std::vector<std::uint64_t> censored_counts;                ///< per site
  /// Per entity (sites, ALL, groups), its worst paths by GW-months, worst first; empty when
  /// the run kept none (ReductionSpec::tail_paths = 0, or reduced in memory on a GPU).
  std::vector<std::vector<TailPath>> worst_paths;
  /// Every path's mean and sample sd of each static column, and per entity its tail; empty
  /// when the run summed none (ReductionSpec::static_columns() = 0, or in memory on a GPU).
  std::vector<double> static_mean;
  std::vector<double> static_sd;
  std::vector<TailDrivers> drivers;
};

/// The paired difference of one value cell, stressed - base, over a run's paths (a stress run
/// simulates both on every path, with the same random numbers).
struct PairedDifference {
  double mean = 0;
  double sd = 0;  ///< sample standard deviation of the per-path differences
  /// The 95% confidence interval of the mean difference (normal, mean +- 1.96 sd / sqrt(n)).
  double ci_low = 0;
  double ci_high = 0;
  double p_positive = 0;  ///< share of paths where the stressed value is the larger
};

/// Reduces the samples (sorting columns in place) into the run's tables.
RunResults reduce(SampleStore& samples, const std::vector<double>& percentiles, int threads);

}  // namespace caprisk
