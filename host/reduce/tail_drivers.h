// The tail drivers (drivers.csv, docs/ANALYSIS.md): what the paths in the worst 5% of an
// entity's GW-months have in common. A path is in the tail when its value is at least the
// CVaR tail's start t (the exact order statistic the reducer already finds) and above 0.
// Sums are integers (static draws in fixed point), so they do not depend on the order of the
// paths, and the tail is found in the passes the tables already take (docs/ARCHITECTURE.md,
// "Tail drivers").
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "host/io/binary_io.h"
#include "host/reduce/histogram.h"
#include "kernels/scenario_view.h"

namespace caprisk {

/// A static draw in fixed point: round(x * 2^40 / bound), x clamped to [-bound, bound].
inline std::int64_t static_quantum(double x, double bound) {
  const double scaled = x / bound;
  const double clamped = scaled > 1.0 ? 1.0 : (scaled < -1.0 ? -1.0 : scaled);
  const double a = clamped * 1099511627776.0;  // 2^40
  return static_cast<std::int64_t>(a < 0 ? a - 0.5 : a + 0.5);
}

/// Exact sums over a set of paths: their count, every static column's quanta, and their
/// short site-months (of the entity's sites, at the report months) by binding constraint.
struct DriverSums {
  std::uint64_t paths = 0;
  std::vector<Int128> statics;
  std::array<std::uint64_t, binding_code_count> binding{};
  void add(const DriverSums& other);
};

/// One entity's tail (a tail cell: a site's, ALL's or a group's GW-months), found pass by
/// pass along the histogram path of the tail's rank: the paths above that path's bins are
/// summed, those in its last bin kept (value and features) until t is known.
class TailDriver {
 public:
  TailDriver(int static_columns, std::vector<int> sites);

  /// Plans the next pass from the cell's histogram (complete) and the tail start's rank;
  /// `most_kept` bounds the values of a bin it may keep. Waits (inactive) while the rank's bin
  /// is being refined.
  void plan(const HistogramNode& root, std::uint64_t rank, std::uint64_t most_kept);
  /// Adds a chunk's paths (`values`: the tail cell's column; `statics` and `codes` as in the
  /// chunk, with `stride`), when active.
  void add(const HistogramNode& root, const double* values, const double* statics,
           const std::uint8_t* codes, std::uint64_t count, std::uint64_t stride,
           PathLayout layout, const std::vector<double>& bounds);
  /// Ends an active pass with the tail start `t`: the tail's sums are final.
  void finish(double t);
  /// Adds what another reducer's driver summed in the same pass (same plan).
  void merge(const TailDriver& other);
  /// Forgets the tail (more paths: it moves).
  void reset();

  bool resolved() const { return resolved_; }
  bool active() const { return active_; }
  const DriverSums& result() const { return result_; }
  double threshold() const { return threshold_; }
  std::uint64_t kept() const { return kept_values_.size(); }

  void save(binary::Writer& out) const;
  /// Reads a saved driver, checking its sizes; the plan against `root` (already loaded).
  void load(binary::Reader& in, const HistogramNode& root, std::uint64_t paths,
            std::uint64_t most_kept);

 private:
  /// Where a value falls against the plan: -1 below the tail's bin, 0 in it, 1 above.
  int classify(const std::vector<const HistogramNode*>& nodes, double value) const;
  void features(const double* statics, const std::uint8_t* codes, std::uint64_t p,
                std::uint64_t stride, PathLayout layout, const std::vector<double>& bounds,
                std::int64_t* into) const;
  void add_features(DriverSums& sums, const std::int64_t* f) const;
  DriverSums empty_sums() const;
  /// Forgets the current pass's plan, sums and kept paths.
  void clear_pass();

  int static_columns_;
  std::vector<int> sites_;  ///< the entity's sites
  bool resolved_ = false;
  DriverSums result_;
  double threshold_ = 0;
  // The current pass's plan and sums.
  bool active_ = false;
  bool atom_ = false;      ///< the last bin holds one value: sum it whole
  std::vector<int> chain_;  ///< the bins from the root to the tail start's bin
  DriverSums above_;        ///< paths above the bin
  DriverSums in_atom_;      ///< paths in an atom bin
  std::vector<double> kept_values_;
  std::vector<std::int64_t> kept_features_;  ///< per kept path: statics, then codes 1 to 3
};

}  // namespace caprisk
