// Exact percentiles in memory independent of the path count (docs/ARCHITECTURE.md,
// "Reduction"): a first pass fills a fixed-range histogram per cell, later passes regenerate
// the paths and keep only the values in the bins that hold the wanted ranks, refining a bin
// whose values would not fit. Every accumulator is exact and order-independent (integer counts,
// fixed-point sums, min/max, values sorted before use), so the tables do not depend on the
// number of threads or the chunk size.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "host/io/binary_io.h"
#include "host/reduce/histogram.h"
#include "host/reduce/reduction_spec.h"
#include "host/reduce/results.h"
#include "host/reduce/tail_drivers.h"
#include "kernels/scenario_view.h"

namespace caprisk {

/// The exact accumulators of one value cell.
struct CellAccumulator {
  double upper = 0;         ///< largest possible value, from the config
  double scale = 0;         ///< fixed-point scale of the sum
  double spread_scale = 0;  ///< 2^40 / upper: the quantum of the exact variance sums
  double zero = 0;          ///< the value that stands for 0 (ReductionSpec::zero_of)
  FixedPointSum sum;
  Int128 spread_sum = 0;      ///< sum of a = round(x * spread_scale)
  Int128 spread_squares = 0;  ///< sum of a^2 (a <= 2^40, so 2^40 paths stay below 2^120)
  std::uint64_t positive = 0;  ///< values above `zero`
  std::unique_ptr<HistogramNode> root;
};

/// Sizes of the streaming reducer: memory is about cells x (root_bins + needed bins x
/// refine_bins) x 32 bytes plus at most cells x needed ranks x collect_cap values, plus
/// spare_values. Roots placed by a pilot (place_root_bins) use at most root_bins / 2 bins of
/// ~52 bytes.
struct StreamingLimits {
  int root_bins = 16384;
  int refine_bins = 128;             ///< bins of a refined bin's histogram
  std::uint64_t collect_cap = 2048;  ///< values kept per bin; more: refine the bin...
  /// ...unless it holds at most 4 x collect_cap values and this many (4 MB) spare values,
  /// shared by the whole pass, still cover it: then keeping it saves a pass. Bins are taken
  /// in a fixed order (cells, then ranks), so the plan never depends on threads or chunks.
  std::uint64_t spare_values = 524288;
  /// Pilot values sorted per cell to place the root bins at most: a larger pilot (a whole run
  /// kept in memory) is sampled evenly down to this many. At 1M paths a wanted rank's bin then
  /// holds a few dozen values, and sorting every path of every cell took a third of the
  /// reduction.
  std::uint64_t sorted_pilot = 131072;
};

/// Limits for a spec (or one layout): root histograms within a fixed memory budget (512 MB at
/// most, however many cells), so a scenario reporting every month of a long horizon costs
/// passes, not memory.
StreamingLimits limits_for(const ReductionSpec& spec);
StreamingLimits limits_for(PathLayout layout);

/// How the first pass bins each cell with percentiles, for a backend that fills the root
/// histograms itself (host/reduce/bin_sums.h, reduce_thrust.h): the cells, their edges in one
/// array, and a key stride of at least every root's bins.
struct FirstPassTable {
  std::vector<FirstPassCell> cells;
  std::vector<double> edges;
  std::uint32_t stride = 0;
};

/// Streams chunks of per-path outputs through as many passes as the exact order statistics need.
class StreamingReducer {
 public:
  StreamingReducer(ReductionSpec spec, std::uint64_t paths, StreamingLimits limits = {});
  StreamingReducer(const StreamingReducer&) = delete;
  StreamingReducer& operator=(const StreamingReducer&) = delete;

  /// Replaces the equal root bins, before the first pass, with bins placed by a pilot sample
  /// of the run's own paths (`count` paths, cell-major with `stride`; a pilot of more than
  /// limits().sorted_pilot paths is sampled evenly down to that many): fine where the pilot
  /// puts the wanted ranks, coarse elsewhere, a bin of its own for every value the pilot saw
  /// twice. The tables stay exact whatever the pilot; it decides only how many refining passes
  /// they take (one, unless the pilot was badly wrong or the run is very large).
  void place_root_bins(const double* values, std::uint64_t count, std::uint64_t stride,
                       int threads = 0);

  /// 1 for the first pass (everything is counted), 2, 3, ... for the refining passes.
  int pass() const { return pass_; }
  /// Adds a chunk of paths, cell-major with `stride` (in path order across calls); the first
  /// is path `first_path` of the run (the worst paths are kept by ID).
  /// `bins_added`: the first pass's root bins and positive counts of the cells with
  /// percentiles were added already (add_first_pass_bins); their columns are then read only
  /// for the worst paths (the tail cells'), and need not hold values otherwise.
  void add_chunk(const double* values, const std::uint8_t* codes, std::uint64_t count,
                 std::uint64_t stride, int threads, std::uint64_t first_path,
                 bool bins_added = false);
  /// The same for a spec that keeps no worst paths (tests and benchmarks).
  void add_chunk(const double* values, const std::uint8_t* codes, std::uint64_t count,
                 std::uint64_t stride, int threads);
  /// The first pass's binning, for a backend that fills the root bins itself.
  FirstPassTable first_pass_table() const;
  /// Adds root-bin sums that a backend filled for one chunk, keyed as FirstPassKey keys them
  /// over first_pass_table(); then add_chunk(..., bins_added = true) adds the rest of the
  /// chunk. First pass only. A key past the valid ones (a value outside its cell's range) is
  /// the same internal error add_chunk reports.
  void add_first_pass_bins(const std::uint32_t* keys, const BinSums* sums, std::size_t count);
  /// Ends the current pass; returns true when every order statistic is known (finished).
  bool finish_pass();
  /// The tables; only after finish_pass() returned true.
  RunResults results() const;

  /// Path count of the run; the first pass may be extended (more paths) before it finishes.
  std::uint64_t paths() const { return paths_; }
  /// Back to the end of the first pass (its accumulators are kept) with more paths to add.
  void extend_paths(std::uint64_t paths);

  /// Adds another reducer's first pass (over other paths of the same run) to this one's; both
  /// must be in their first pass. Exact: counts and fixed-point sums add, min/max combine.
  void merge_first_pass(const StreamingReducer& other);

  /// Adds what another reducer filled in the current pass (over other paths, from the same
  /// plan: both were loaded from the same state at the start of the pass) to this one.
  void merge_pass(const StreamingReducer& other);

  /// Values kept in memory right now, for the memory bound's tests and benchmark.
  std::uint64_t kept_values() const;

  /// Appends the whole state (checkpoints, shards, MPI messages).
  void save(binary::Writer& out) const;
  /// The state as bytes, for MPI messages and tests.
  std::string serialized() const;
  /// Reads a state written by save(), checking every size and count against the scenario and
  /// the format's limits before using it: UserError naming `in.what()` when anything is off.
  static std::unique_ptr<StreamingReducer> load(binary::Reader& in, const ReductionSpec& spec);
  /// load() of a whole byte string (nothing may follow the state).
  static std::unique_ptr<StreamingReducer> deserialized(std::string_view bytes,
                                                        const ReductionSpec& spec,
                                                        const std::string& what);
  /// The largest state any run with this spec can save (a file larger than
  /// this is refused unread).
  static std::uint64_t max_state_bytes(const ReductionSpec& spec);

  const StreamingLimits& limits() const { return limits_; }
  /// A cell's root histogram (tests and diagnostics).
  const HistogramNode& root(int cell) const { return *cells_[static_cast<std::size_t>(cell)].root; }
  PathLayout layout() const { return layout_; }
  const ReductionSpec& spec() const { return spec_; }

 private:
  /// The first pass's key stride: the most bins of any root with percentiles.
  std::uint32_t first_pass_stride() const;
  /// Indexes every root's routes for the current plan (HistogramNode::index_routes).
  void index_routes();
  /// The 0-based ranks a cell needs (percentiles, their intervals, CVaR's tail start).
  std::vector<std::uint64_t> needed_ranks() const;
  /// The value of rank r in a node; false when its bin still needs a pass.
  bool value_at(const HistogramNode& node, std::uint64_t rank, double& value) const;
  /// Prepares the next pass for an unresolved rank: collect its bin's values, or refine it.
  void plan_rank(HistogramNode& node, std::uint64_t rank, std::uint64_t& spare);
  /// Sum and sum of squares of the values with rank >= r in a node (r is resolved); the
  /// squares in the histograms' fixed point (sum of round(x * spread)^2), whichever way the
  /// bins were resolved, so they do not depend on the plan.
  struct UpperSums {
    long double sum = 0;
    Int128 quanta = 0;
    Int128 squares = 0;
  };
  UpperSums sums_from(const HistogramNode& node, std::uint64_t rank) const;
  /// Whether cell c gets percentiles (else only its moments: the difference blocks).
  bool quantiles(std::size_t c) const {
    return c < static_cast<std::size_t>(spec_.quantile_cells());
  }
  /// The sum, exact sum of squared deviations and positive count of a cell.
  ColumnSums column_sums(const CellAccumulator& cell) const;
  /// Mean, sd and P(> 0) of a moments-only cell.
  CellStatistics moments_of(const CellAccumulator& cell) const;

  ReductionSpec spec_;
  StreamingLimits limits_;
  PathLayout layout_;
  std::uint64_t paths_;
  int pass_ = 1;
  std::vector<CellAccumulator> cells_;
  std::vector<int> tail_cells_;     ///< spec_.tail_cells()
  std::vector<WorstPaths> worst_;   ///< per tail cell
  /// The tail start's rank, and the most values a tail may keep.
  std::uint64_t tail_rank() const { return paths_ - cvar_tail_count(paths_); }
  std::uint64_t most_kept() const { return 4 * limits_.collect_cap; }

  std::vector<TailDriver> drivers_;   ///< per tail cell, when the spec has static columns
  std::vector<Int128> static_sums_;   ///< every path's static quanta, per column
  std::vector<Int128> static_squares_;
  std::vector<std::array<std::uint64_t, binding_code_count>> binding_counts_;
  std::vector<std::uint64_t> censored_counts_;
};

}  // namespace caprisk
