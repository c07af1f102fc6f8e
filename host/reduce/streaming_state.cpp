// Saving and loading a StreamingReducer (checkpoints, shards, MPI messages): little-endian
// fields, checked on load against the reduction spec and the format's limits before anything
// is allocated or used.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "host/errors.h"
#include "host/io/binary_io.h"
#include "host/reduce/streaming.h"

namespace caprisk {
namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

/// The format's own limits on the reducer's sizes (what any caprisk writes lies within them).
constexpr int max_root_bins = 1 << 14;
constexpr int max_refine_bins = 1 << 12;
constexpr std::uint64_t max_collect_cap = 1 << 20;
constexpr std::uint64_t max_spare_values = 1 << 26;
constexpr int max_passes = 64;
constexpr int max_depth = 64;

void save_node(binary::Writer& out, const HistogramNode& node) {
  out.put(node.lower);
  out.put(node.upper);
  out.put(node.bins);
  out.put(node.scale);
  out.put_vector(node.edges);
  out.put_flag(node.complete);
  out.put_vector(node.counts);
  out.put_vector(node.minimum);
  out.put_vector(node.maximum);
  out.put_vector(node.sums);
  out.put_vector(node.quanta);
  out.put_vector(node.squares);
  out.put(static_cast<std::uint64_t>(node.collected.size()));
  for (const auto& [bin, kept] : node.collected) {
    out.put(bin);
    out.put_flag(kept.complete);
    out.put_vector(kept.values);
  }
  out.put(static_cast<std::uint64_t>(node.children.size()));
  for (const auto& [bin, child] : node.children) {
    out.put(bin);
    save_node(out, *child);
  }
}

/// What a loaded node must agree with: its cell's fixed-point scale and value range, the
/// reducer's sizes and path count.
struct NodeExpectations {
  double scale;
  double spread;
  double cell_upper;
  std::uint64_t paths;
  const StreamingLimits& limits;
};

/// The shortest text that reads back as `x` (a message must show why two bounds differ).
std::string exact(double x) {
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof text, x).ptr);
}

bool finite_in(double x, double lo, double hi) {
  return std::isfinite(x) && x >= lo && x <= hi;
}

std::unique_ptr<HistogramNode> load_node(binary::Reader& in, int depth,
                                         const NodeExpectations& expect);

/// A node's range, bin count and edges: its shape, checked against its cell and the sizes.
std::unique_ptr<HistogramNode> load_shape(binary::Reader& in, bool root,
                                          const NodeExpectations& expect) {
  const auto lower = in.get<double>("a histogram's lower bound");
  const auto upper = in.get<double>("a histogram's upper bound");
  const auto bins = in.get<int>("a histogram's bin count");
  const auto scale = in.get<double>("a histogram's scale");
  if (!finite_in(lower, 0.0, expect.cell_upper) || !finite_in(upper, lower, expect.cell_upper))
    in.corrupt("a histogram's range [" + exact(lower) + ", " + exact(upper) +
               "] lies outside its cell's [0, " + exact(expect.cell_upper) + "]");
  const int most_bins = root ? expect.limits.root_bins : expect.limits.refine_bins;
  if (bins < 1 || bins > most_bins || (!root && bins != expect.limits.refine_bins))
    in.corrupt("a histogram has " + std::to_string(bins) + " bins (expected " +
               (root ? "1 to " : "") + std::to_string(most_bins) + ")");
  if (scale != expect.scale) in.corrupt("a histogram's fixed-point scale differs from its cell's");
  std::vector<double> edges =
      in.get_vector<double>("a histogram's edges", static_cast<std::uint64_t>(bins - 1));
  if (edges.empty())
    return std::make_unique<HistogramNode>(lower, upper, bins, scale, expect.spread);
  if (!root || edges.size() + 1 != static_cast<std::size_t>(bins))
    in.corrupt("a histogram's edges do not match its bin count");
  for (std::size_t e = 0; e < edges.size(); ++e)
    if (!std::isfinite(edges[e]) || (e > 0 && !(edges[e] > edges[e - 1])))
      in.corrupt("a histogram's edges are not finite and increasing");
  if (edges.front() != lower || edges.back() != upper)
    in.corrupt("a histogram's edges do not match its range");
  return std::make_unique<HistogramNode>(std::move(edges), scale, expect.spread);
}

/// Per-bin counts, extremes and sums, which must be possible for the run's paths.
void load_bins(binary::Reader& in, HistogramNode& node, const NodeExpectations& expect) {
  node.complete = in.get_flag("a histogram's completion flag");
  const auto n = static_cast<std::uint64_t>(node.bins);
  node.counts = in.get_vector<std::uint64_t>("a histogram's counts", n);
  node.minimum = in.get_vector<double>("a histogram's minima", n);
  node.maximum = in.get_vector<double>("a histogram's maxima", n);
  node.sums = in.get_vector<Int128>("a histogram's sums", n);
  node.quanta = in.get_vector<Int128>("a histogram's sums of quanta", n);
  node.squares = in.get_vector<Int128>("a histogram's sums of squares", n);
  if (node.counts.size() != n || node.minimum.size() != n || node.maximum.size() != n ||
      node.sums.size() != n || node.quanta.size() != n || node.squares.size() != n)
    in.corrupt("a histogram's arrays do not have one entry per bin");
  std::uint64_t total = 0;
  for (std::uint64_t b = 0; b < n; ++b) {
    const std::uint64_t count = node.counts[b];
    if (count > expect.paths - std::min(total, expect.paths))
      in.corrupt("a histogram counts more values than the run has paths");
    total += count;
    const double lo = node.minimum[b], hi = node.maximum[b];
    // Each value adds at most 2^80 (plus rounding) to its bin's squares.
    const Int128 most_squares = static_cast<Int128>(count) * (Int128{1} << 81);
    const Int128 most_quanta = static_cast<Int128>(count) * ((Int128{1} << 40) + 1);
    if (count == 0 ? !(lo == infinity && hi == -infinity && node.sums[b] == 0 &&
                       node.quanta[b] == 0 && node.squares[b] == 0)
                   : !(finite_in(lo, 0.0, expect.cell_upper) &&
                       finite_in(hi, lo, expect.cell_upper) && node.sums[b] >= 0 &&
                       node.quanta[b] >= 0 && node.quanta[b] <= most_quanta &&
                       node.squares[b] >= 0 && node.squares[b] <= most_squares))
      in.corrupt("a histogram bin's minimum, maximum or sum is impossible for its count");
  }
}

/// The values kept for some bins: at most the bin's count, within its extremes, all of them
/// (sorted) once complete.
void load_kept(binary::Reader& in, HistogramNode& node) {
  const auto collected = in.get<std::uint64_t>("the number of kept bins");
  if (collected > static_cast<std::uint64_t>(node.bins) || (collected > 0 && !node.complete))
    in.corrupt("a histogram keeps values for bins it has not counted");
  for (std::uint64_t i = 0; i < collected; ++i) {
    const auto bin = in.get<int>("a kept bin's index");
    if (bin < 0 || bin >= node.bins || node.collected.count(bin) > 0)
      in.corrupt("a kept bin's index is out of range or repeated");
    auto& kept = node.collected[bin];
    kept.complete = in.get_flag("a kept bin's completion flag");
    kept.values = in.get_vector<double>("a kept bin's values", node.counts[bin]);
    const bool sorted = std::is_sorted(kept.values.begin(), kept.values.end());
    if ((kept.complete && (kept.values.size() != node.counts[bin] || !sorted)) ||
        std::any_of(kept.values.begin(), kept.values.end(), [&](double v) {
          return !finite_in(v, node.minimum[bin], node.maximum[bin]);
        }))
      in.corrupt("a kept bin's values do not match its count or range");
  }
}

/// Refined bins: finer histograms spanning their bin's values.
void load_children(binary::Reader& in, HistogramNode& node, int depth,
                   const NodeExpectations& expect) {
  const auto children = in.get<std::uint64_t>("the number of refined bins");
  if (children > static_cast<std::uint64_t>(node.bins) || (children > 0 && !node.complete))
    in.corrupt("a histogram refines bins it has not counted");
  for (std::uint64_t i = 0; i < children; ++i) {
    const auto bin = in.get<int>("a refined bin's index");
    if (bin < 0 || bin >= node.bins || node.children.count(bin) > 0 ||
        node.collected.count(bin) > 0 || node.counts[bin] == 0)
      in.corrupt("a refined bin's index is out of range, repeated or empty");
    auto child = load_node(in, depth + 1, expect);
    if (child->lower != node.minimum[bin] || child->upper != node.maximum[bin])
      in.corrupt("a refined bin's histogram does not span the bin's values");
    node.children[bin] = std::move(child);
  }
}

std::unique_ptr<HistogramNode> load_node(binary::Reader& in, int depth,
                                         const NodeExpectations& expect) {
  if (depth > max_depth) in.corrupt("histograms nested deeper than " + std::to_string(max_depth));
  auto node = load_shape(in, depth == 0, expect);
  load_bins(in, *node, expect);
  load_kept(in, *node);
  load_children(in, *node, depth, expect);
  return node;
}

}  // namespace

void StreamingReducer::save(binary::Writer& out) const {
  // The sizes a later pass uses, field by field (the format's 24 bytes; sorted_pilot only
  // matters before the first pass, so it is not saved).
  out.put(limits_.root_bins);
  out.put(limits_.refine_bins);
  out.put(limits_.collect_cap);
  out.put(limits_.spare_values);
  out.put(paths_);
  out.put(pass_);
  out.put(static_cast<std::uint64_t>(cells_.size()));
  for (const auto& cell : cells_) {
    out.put(cell.sum.total);
    out.put(cell.spread_sum);
    out.put(cell.spread_squares);
    out.put(cell.positive);
    save_node(out, *cell.root);
  }
  for (const auto& counts : binding_counts_) out.put(counts);
  out.put_vector(censored_counts_);
  for (const WorstPaths& worst : worst_) {
    out.put(static_cast<std::uint64_t>(worst.worst_first().size()));
    for (const TailPath& t : worst.worst_first()) {
      out.put(t.value);
      out.put(t.path);
    }
  }
  out.put_vector(static_sums_);
  out.put_vector(static_squares_);
  for (const TailDriver& driver : drivers_) driver.save(out);
}

std::string StreamingReducer::serialized() const {
  binary::Writer out;
  save(out);
  return out.take();
}

std::unique_ptr<StreamingReducer> StreamingReducer::load(binary::Reader& in,
                                                         const ReductionSpec& spec) {
  const PathLayout layout = spec.layout;
  StreamingLimits limits;
  limits.root_bins = in.get<int>("the reducer's root bins");
  limits.refine_bins = in.get<int>("the reducer's refined bins");
  limits.collect_cap = in.get<std::uint64_t>("the reducer's collect cap");
  limits.spare_values = in.get<std::uint64_t>("the reducer's spare values");
  if (limits.root_bins < 2 || limits.root_bins > max_root_bins || limits.refine_bins < 2 ||
      limits.refine_bins > max_refine_bins || limits.collect_cap < 1 ||
      limits.collect_cap > max_collect_cap || limits.spare_values > max_spare_values)
    in.corrupt("the reducer's sizes are out of range");
  const auto paths = in.get<std::uint64_t>("the path count");
  if (paths < 1 || paths > ModelLimits::max_paths)
    in.corrupt("the path count " + std::to_string(paths) + " is out of range");
  auto reducer = std::make_unique<StreamingReducer>(spec, paths, limits);
  reducer->pass_ = in.get<int>("the pass number");
  if (reducer->pass_ < 1 || reducer->pass_ > max_passes)
    in.corrupt("the pass number " + std::to_string(reducer->pass_) + " is out of range");
  const auto cells = in.get<std::uint64_t>("the cell count");
  if (cells != reducer->cells_.size())
    throw UserError(in.what() + " is for a different scenario layout (" + std::to_string(cells) +
                    " cells, this scenario has " + std::to_string(reducer->cells_.size()) + ")");
  for (auto& cell : reducer->cells_) {
    cell.sum.total = in.get<Int128>("a cell's sum");
    cell.spread_sum = in.get<Int128>("a cell's spread sum");
    cell.spread_squares = in.get<Int128>("a cell's sum of squares");
    cell.positive = in.get<std::uint64_t>("a cell's positive count");
    // Each path adds at most 2^62 (plus rounding) to the sum, 2^40 to the spread sum and 2^80
    // to the squares: larger totals are impossible, and would overflow the exact variance.
    const auto n = static_cast<Int128>(paths);
    if (cell.sum.total < 0 || cell.sum.total > n * (Int128{1} << 63) || cell.spread_sum < 0 ||
        cell.spread_sum > n * ((Int128{1} << 40) + 1) || cell.spread_squares < 0 ||
        cell.spread_squares > n * ((Int128{1} << 81)) || cell.positive > paths)
      in.corrupt("a cell's sums or counts are impossible for its path count");
    cell.root = load_node(in, 0, NodeExpectations{cell.scale, cell.spread_scale, cell.upper, paths, limits});
  }
  for (auto& counts : reducer->binding_counts_) {
    counts = in.get<std::array<std::uint64_t, binding_code_count>>("the binding counts");
    std::uint64_t total = 0;
    for (std::uint64_t count : counts) {
      if (count > paths - std::min(total, paths))
        in.corrupt("binding counts exceed the path count");
      total += count;
    }
  }
  reducer->censored_counts_ =
      in.get_vector<std::uint64_t>("the censored counts", reducer->censored_counts_.size());
  if (reducer->censored_counts_.size() !=
          static_cast<std::size_t>(spec.variants) * static_cast<std::size_t>(layout.site_count) ||
      std::any_of(reducer->censored_counts_.begin(), reducer->censored_counts_.end(),
                  [&](std::uint64_t c) { return c > paths; }))
    in.corrupt("the censored counts do not match the sites or the path count");
  for (std::size_t k = 0; k < reducer->worst_.size(); ++k) {
    const auto kept = in.get<std::uint64_t>("a worst-path count");
    if (kept > reducer->worst_[k].capacity() || kept > paths)
      in.corrupt("it keeps more worst paths than the run has room for");
    std::vector<TailPath> worst(static_cast<std::size_t>(kept));
    const double upper = reducer->cells_[static_cast<std::size_t>(reducer->tail_cells_[k])].upper;
    for (std::size_t i = 0; i < worst.size(); ++i) {
      worst[i].value = in.get<double>("a worst path's value");
      worst[i].path = in.get<std::uint64_t>("a worst path's ID");
      if (!(worst[i].value >= 0 && worst[i].value <= upper) || worst[i].path >= paths ||
          (i > 0 && !worse(worst[i - 1], worst[i])))
        in.corrupt("its worst paths are out of range or out of order");
    }
    reducer->worst_[k].assign(std::move(worst));
  }
  const std::size_t columns = reducer->static_sums_.size();
  reducer->static_sums_ = in.get_vector<Int128>("the static draws' sums", columns);
  reducer->static_squares_ = in.get_vector<Int128>("the static draws' squares", columns);
  if (reducer->static_sums_.size() != columns || reducer->static_squares_.size() != columns)
    in.corrupt("the static draws' sums do not match the scenario's static draws");
  const Int128 most = static_cast<Int128>(paths) * ((Int128{1} << 40) + 1);
  for (std::size_t j = 0; j < columns; ++j)
    if (reducer->static_sums_[j] > most || reducer->static_sums_[j] < -most ||
        reducer->static_squares_[j] < 0 ||
        reducer->static_squares_[j] > static_cast<Int128>(paths) * (Int128{1} << 81))
      in.corrupt("the static draws' sums are impossible for the path count");
  for (std::size_t k = 0; k < reducer->drivers_.size(); ++k)
    reducer->drivers_[k].load(
        in, *reducer->cells_[static_cast<std::size_t>(reducer->tail_cells_[k])].root, paths,
        reducer->most_kept());
  if (reducer->pass_ != 1) reducer->index_routes();  // the loaded plan's
  return reducer;
}

std::unique_ptr<StreamingReducer> StreamingReducer::deserialized(std::string_view bytes,
                                                                 const ReductionSpec& spec,
                                                                 const std::string& what) {
  binary::Reader in(bytes, what);
  auto reducer = load(in, spec);
  if (!in.at_end()) in.corrupt("unexpected bytes after the reducer's state");
  return reducer;
}

std::uint64_t StreamingReducer::max_state_bytes(const ReductionSpec& spec) {
  // Generous: every needed rank of every cell refined to the deepest level the passes reach,
  // plus the kept values; real states are far smaller.
  const auto cells = static_cast<std::uint64_t>(std::max(1, spec.value_cells()));
  const StreamingLimits limits = limits_for(spec);
  const std::uint64_t per_root = 64 + static_cast<std::uint64_t>(limits.root_bins) * 96;
  const std::uint64_t per_refinement = 64 + static_cast<std::uint64_t>(max_refine_bins) * 96;
  constexpr std::uint64_t ranks = 64;
  const std::uint64_t per_cell =
      per_root + ranks * 8 * per_refinement + ranks * 4 * max_collect_cap * 8 / 64;
  // Per tail: its worst paths, and its drivers' sums and kept paths (value and features).
  const auto columns = static_cast<std::uint64_t>(spec.static_columns());
  const std::uint64_t driver_bytes =
      (1 << 16) + 3 * (columns * 16 + 64) + 4 * limits.collect_cap * (8 + (columns + 3) * 8);
  const auto tails = static_cast<std::uint64_t>(spec.tail_cells().size()) *
                     (8 + 16 * static_cast<std::uint64_t>(std::max(0, spec.tail_paths)) +
                      (columns > 0 ? driver_bytes : 0)) +
                     columns * 32;
  return (std::uint64_t{64} << 20) + cells * per_cell + max_spare_values * 8 + tails;
}

}  // namespace caprisk
