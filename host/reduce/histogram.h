// The streaming reducer's histograms: per-bin counts, extremes and exact fixed-point sums,
// refined bins and kept values (docs/ARCHITECTURE.md, "Reduction").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "host/reduce/bin_sums.h"

namespace caprisk {

/// Sum of non-negative values in fixed point: value * scale rounded to an integer, added in
/// 128 bits, so the total does not depend on the order of the additions.
struct FixedPointSum {
  Int128 total = 0;
  void add(double value, double scale) {
    total += static_cast<Int128>(fixed_term(value, scale));
  }
  long double value(double scale) const { return static_cast<long double>(total) / scale; }
};

/// A histogram with per-bin count, min, max, fixed-point sum and fixed-point sum of squares
/// (for CVaR's interval): `bins` equal bins over
/// [lower, upper], or bins between given edges. A bin may own a finer histogram (its values
/// refined) or its collected values.
struct HistogramNode {
  double lower = 0;
  double upper = 0;
  int bins = 0;
  double scale = 0;   ///< fixed-point scale of the sums
  double spread = 0;  ///< of the quanta a = round(x * spread) <= 2^40: `quanta` sum a, `squares` a^2
  /// Interior edges, increasing: bin b holds [edges[b-1], edges[b]) (open-ended at both ends),
  /// so bins = edges.size() + 1. Empty: equal bins over [lower, upper].
  std::vector<double> edges;
  /// Finds a value's bin among the edges in O(1) plus a short search: slot g of an equal grid
  /// over [edges.front(), edges.back()] starts at edge index lookup[g].
  std::vector<std::uint32_t> lookup;
  double lookup_scale = 0;
  std::vector<std::uint64_t> counts;
  std::vector<double> minimum;
  std::vector<double> maximum;
  std::vector<Int128> sums;
  std::vector<Int128> quanta;
  std::vector<Int128> squares;
  std::map<int, std::unique_ptr<HistogramNode>> children;  ///< refined bins
  /// Values of one bin, kept by a pass and sorted when that pass ends.
  struct Kept {
    std::vector<double> values;
    bool complete = false;
  };
  std::map<int, Kept> collected;  ///< bins whose values are kept
  bool complete = false;          ///< filled by a finished pass
  /// Where a pass sends a value of each bin (route_drop, route_child, route_collect), so that
  /// routing looks up the maps only for the few values they want; index_routes() fills it from
  /// `children` and `collected`, and the reducer calls it whenever it makes or loads a plan.
  std::vector<std::uint8_t> routes;
  static constexpr std::uint8_t route_drop = 0, route_child = 1, route_collect = 2;
  /// Per lookup slot (bins between edges): 1 when a bin the slot can hold is routed anywhere,
  /// so that most values of a refining pass are dropped before their bin is searched for.
  std::vector<std::uint8_t> slot_routed;
  /// Fills `routes` and `slot_routed` from the maps, here and in every child.
  void index_routes();
  /// False when the value's bin is certainly dropped by the current routes (index_routes()).
  bool may_route(double value) const {
    if (slot_routed.empty() || !(value >= edges.front() && value < edges.back())) return true;
    return slot_routed[slot_of(value)] != 0;
  }

  HistogramNode(double lower_bound, double upper_bound, int bin_count, double fixed_scale,
                double square_scale);
  /// Bins between `interior_edges` (increasing, distinct, at least one).
  HistogramNode(std::vector<double> interior_edges, double fixed_scale, double square_scale);
  int bin_of(double value) const;
  std::size_t slot_of(double value) const;
  void add(double value);
};

/// The bin of `node` holding the 0-based rank, and the rank within that bin.
void locate(const HistogramNode& node, std::uint64_t rank, int& bin, std::uint64_t& within);

}  // namespace caprisk
