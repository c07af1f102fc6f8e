// --target-ci REL --max-paths N (docs/CONFIG.md, "Precision control"): a run grows in blocks
// of paths, over the same streams, until the 95% intervals of ALL's mean and P95 shortfall
// at every report month are narrow enough.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "host/config/scenario.h"
#include "host/reduce/results.h"

namespace caprisk {

/// Absolute floor of the wanted half-width, in GW: a cell whose value is near 0 (P95 of an
/// early month that is never short) is precise enough when its interval is within 1 MW.
inline constexpr double precision_floor_gw = 1e-3;

/// One checked statistic: ALL's mean or P95 shortfall at a report month.
struct PrecisionCell {
  std::string month;
  std::string statistic;  ///< "mean" or "p95"
  double value = 0;
  double half_width = 0;  ///< of its 95% interval
  double limit = 0;       ///< max(target x |value|, precision_floor_gw)
  bool met() const { return half_width <= limit; }
};

/// What a precision-controlled run did (summary.json's "precision"; target 0: not asked for).
struct PrecisionReport {
  double target = 0;
  std::uint64_t max_paths = 0;
  int blocks = 0;
  bool met = false;
  std::vector<PrecisionCell> cells;
};

/// The checked cells of a run's results for relative half-width `target`.
std::vector<PrecisionCell> precision_cells(const Scenario& scenario, const RunResults& results,
                                           double target);

/// summary.json's "precision" (every key, also when --target-ci was not given).
nlohmann::json precision_json(const PrecisionReport& report);

/// The headline's line: the paths the precision needed, or the cells still too wide.
std::string precision_text(const PrecisionReport& report, std::uint64_t paths);

/// The next block's path count: enough, by the 1/sqrt(n) law with a 10% margin, for the
/// widest cell to meet its limit; at least a quarter more than `paths`, at most `max_paths`,
/// rounded up to a multiple of 1000.
std::uint64_t next_path_count(std::uint64_t paths, const std::vector<PrecisionCell>& cells,
                              std::uint64_t max_paths);

}  // namespace caprisk
