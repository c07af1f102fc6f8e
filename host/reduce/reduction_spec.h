// What the reducers need to know of a scenario, and nothing more: the per-path output layout,
// the percentiles to report and every value cell's upper bound (docs/ARCHITECTURE.md,
// "Reduction"). config/flatten.cpp derives it from a Scenario.
#pragma once

#include <vector>

#include "kernels/scenario_view.h"

namespace caprisk {

struct ReductionSpec {
  PathLayout layout{};
  std::vector<double> percentiles;  ///< in [0, 100], increasing
  /// Largest possible value of every value cell (PathLayout's numbering), from the config's
  /// bounds: 0 <= shortfall <= target, GW-months <= the sum of targets, months late <= T.
  std::vector<double> upper;
};

}  // namespace caprisk
