// What the reducers need to know of a scenario, and nothing more: the per-path output layout,
// the percentiles to report and every value cell's upper bound (docs/ARCHITECTURE.md,
// "Reduction"). config/flatten.cpp derives it from a Scenario.
#pragma once

#include <vector>

#include "kernels/scenario_view.h"

namespace caprisk {

/// A run's outputs are `variants` whole layouts side by side (one for a plain run; the base
/// and each stress of a stress run, over the same paths), then `difference_blocks` layouts'
/// worth of value cells that only need moments (the paired differences of a stress run). A
/// difference cell holds d + U, U the upper bound of the same cell of block 0 (the base), so
/// that it is never negative; the reducer reports the moments of d, and P(d > 0).
struct ReductionSpec {
  PathLayout layout{};  ///< of one variant
  std::vector<double> percentiles;  ///< in [0, 100], increasing
  /// Largest possible value of every value cell (PathLayout's numbering, block after block),
  /// from the config's bounds: 0 <= shortfall <= target, GW-months <= the sum of targets,
  /// months late <= T.
  std::vector<double> upper;
  int variants = 1;
  int difference_blocks = 0;
  /// No cell gets percentiles, only moments (a sensitivity run, which needs means): one pass
  /// and no pilot.
  bool moments_only = false;
  /// Worst paths kept per entity by its GW-months over the horizon (tail_paths.csv); 0: none.
  int tail_paths = 0;
  /// The tail drivers (drivers.csv): one bound per column of the base's static draws
  /// (host/config/pinned_inputs.h, static_bounds); empty: none. Only with tail_paths.
  std::vector<double> static_bounds;
  /// Each group's sites (indices, in the config's order): the sites of a group's tail.
  std::vector<std::vector<int>> group_sites;
  int static_columns() const {
    return tail_paths > 0 ? static_cast<int>(static_bounds.size()) : 0;
  }

  /// The cells whose worst paths are kept: every site's, ALL's and each group's GW-months in
  /// block 0, in the tables' entity order (sites, ALL, groups).
  std::vector<int> tail_cells() const {
    std::vector<int> cells;
    if (tail_paths <= 0) return cells;
    for (int entity = 0; entity <= layout.site_count; ++entity)
      cells.push_back(layout.gw_months(entity));
    for (int g = 0; g < layout.group_count; ++g) cells.push_back(layout.group_gw_months(g));
    return cells;
  }

  int value_cells() const { return (variants + difference_blocks) * layout.value_count(); }
  int code_cells() const { return variants * layout.code_count(); }
  /// The variants' own cells; the difference blocks come after them.
  int variant_cells() const { return variants * layout.value_count(); }
  /// Cells below this get percentiles; the cells after them, moments only.
  int quantile_cells() const { return moments_only ? 0 : variant_cells(); }
  /// What stands for 0 in value cell c: U for a difference cell, else 0.
  double zero_of(int c) const {
    return c < variant_cells() ? 0.0
                               : upper[static_cast<std::size_t>((c - variant_cells()) %
                                                                layout.value_count())];
  }
  /// The sites whose short site-months a tail cell (tail_cells()' k-th) counts.
  std::vector<int> tail_sites(int k) const {
    std::vector<int> sites;
    if (k < layout.site_count) return {k};
    if (k == layout.site_count) {
      for (int i = 0; i < layout.site_count; ++i) sites.push_back(i);
      return sites;
    }
    return group_sites[static_cast<std::size_t>(k - layout.site_count - 1)];
  }
  /// Bytes of one path's outputs.
  double bytes_per_path() const {
    return static_cast<double>(value_cells() + static_columns()) * sizeof(double) + code_cells();
  }
};

}  // namespace caprisk
