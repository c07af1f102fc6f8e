#include "host/reduce/streaming.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "host/errors.h"
#include "host/reduce/statistics.h"

namespace caprisk {
namespace {

/// Each fixed-point term is at most 2^62, so 2^40 paths cannot overflow 128 bits.
constexpr double fixed_point_range = 4611686018427387904.0;  // 2^62

double fixed_scale(double upper) {
  return upper > 0 ? fixed_point_range / upper : 1.0;
}

}  // namespace

StreamingLimits limits_for(PathLayout layout) {
  ReductionSpec spec;
  spec.layout = layout;
  return limits_for(spec);
}

StreamingLimits limits_for(const ReductionSpec& spec) {
  StreamingLimits limits;
  constexpr double budget_bytes = 512.0 * 1024 * 1024;
  constexpr double bytes_per_bin = 64;  // count, min, max, 128-bit sum, quanta and squares
  const double cells = std::max(1, spec.quantile_cells());
  while (limits.root_bins > 256 && cells * limits.root_bins * bytes_per_bin > budget_bytes)
    limits.root_bins /= 2;
  return limits;
}

StreamingReducer::StreamingReducer(ReductionSpec spec, std::uint64_t paths, StreamingLimits limits)
    : spec_(std::move(spec)), limits_(limits), layout_(spec_.layout), paths_(paths) {
  const std::vector<double>& upper = spec_.upper;
  CAPRISK_EXPECTS(upper.size() == static_cast<std::size_t>(spec_.value_cells()) &&
                      spec_.variants >= 1 && spec_.difference_blocks >= 0,
                  "a reduction spec without one upper bound per value cell");
  cells_.resize(upper.size());
  for (std::size_t c = 0; c < upper.size(); ++c) {
    CellAccumulator& cell = cells_[c];
    cell.upper = upper[c];
    cell.scale = fixed_scale(upper[c]);
    cell.spread_scale = upper[c] > 0 ? 1099511627776.0 / upper[c] : 1.0;  // 2^40 / upper
    cell.zero = spec_.zero_of(static_cast<int>(c));
    // A moments-only cell keeps a root of one bin that nothing is routed to.
    const int bins = quantiles(c) ? limits_.root_bins : 1;
    cell.root = std::make_unique<HistogramNode>(0.0, upper[c], bins, cell.scale, cell.spread_scale);
  }
  binding_counts_.assign(static_cast<std::size_t>(spec_.variants * layout_.site_count *
                                                  layout_.report_count),
                         std::array<std::uint64_t, binding_code_count>{});
  censored_counts_.assign(static_cast<std::size_t>(spec_.variants * layout_.site_count), 0);
  tail_cells_ = spec_.tail_cells();
  worst_.assign(tail_cells_.size(), WorstPaths(static_cast<std::size_t>(spec_.tail_paths)));
  const int columns = spec_.static_columns();
  if (columns > 0) {
    for (std::size_t k = 0; k < tail_cells_.size(); ++k)
      drivers_.emplace_back(columns, spec_.tail_sites(static_cast<int>(k)));
    static_sums_.assign(static_cast<std::size_t>(columns), 0);
    static_squares_.assign(static_cast<std::size_t>(columns), 0);
  }
}

namespace {

/// Sends one value to where the current pass wants it: the histogram being built, a refined
/// bin's finer histogram, or a bin whose values are being collected. A complete node's
/// `routes` must be current: finish_pass() and load() index them when they make a plan.
void route(HistogramNode* node, double value) {
  for (;;) {
    if (!node->complete) {
      node->add(value);
      return;
    }
    if (!node->may_route(value)) return;
    const int bin = node->bin_of(value);
    const std::uint8_t where = node->routes[static_cast<std::size_t>(bin)];
    if (where == HistogramNode::route_child) {
      node = node->children.find(bin)->second.get();
      continue;
    }
    if (where == HistogramNode::route_collect) node->collected.find(bin)->second.values.push_back(value);
    return;
  }
}

}  // namespace

void StreamingReducer::add_chunk(const double* values, const std::uint8_t* codes,
                                 std::uint64_t count, std::uint64_t stride, int threads) {
  CAPRISK_EXPECTS(tail_cells_.empty(), "a reducer that keeps worst paths needs the path IDs");
  add_chunk(values, codes, count, stride, threads, 0);
}

void StreamingReducer::add_chunk(const double* values, const std::uint8_t* codes,
                                 std::uint64_t count, std::uint64_t stride, int threads,
                                 std::uint64_t first_path, bool bins_added) {
  CAPRISK_EXPECTS(!bins_added || pass_ == 1, "root bins added outside the first pass");
  const int thread_count = threads > 0 ? threads : omp_get_max_threads();
  const int value_cells = spec_.value_cells();
  // A refining pass routes by the tables finish_pass() or load() indexed for its plan.
  for (int c = 0; c < spec_.quantile_cells() && pass_ != 1; ++c)
    CAPRISK_EXPECTS(cells_[static_cast<std::size_t>(c)].root->routes.size() ==
                        static_cast<std::size_t>(cells_[static_cast<std::size_t>(c)].root->bins),
                    "a refining pass without its routes indexed");
  // A value outside [0, upper] would make the fixed-point sums wrong: never let one through.
  int out_of_range_cell = -1;
  // One thread per cell: each cell sees its values in path order, whatever the thread count.
#pragma omp parallel for num_threads(thread_count) schedule(dynamic, 1)
  for (int c = 0; c < value_cells; ++c) {
    CellAccumulator& cell = cells_[c];
    const double* column = values + static_cast<std::uint64_t>(c) * stride;
    const bool routed = quantiles(static_cast<std::size_t>(c));
    if (routed && bins_added) continue;
    // A cell with percentiles gets its sums from its root's bins when the first pass ends
    // (finish_pass): the same integers, added once.
    const bool summed = pass_ == 1 && !routed;
    // Sums in locals, stored once: the cells of other threads share these cache lines.
    const double upper = cell.upper, zero = cell.zero, scale = cell.scale;
    const double spread_scale = cell.spread_scale;
    std::uint64_t positive = 0;
    Int128 sum = 0, spread_sum = 0, spread_squares = 0;
    HistogramNode* const root = cell.root.get();
    for (std::uint64_t p = 0; p < count; ++p) {
      // -0 counts as +0 (so a zero atom's extremes do not depend on which zero came first,
      // on the host or on a device: FirstPassTerm does the same).
      const double value = column[p] + 0.0;
      if (!(value >= 0.0 && value <= upper)) {
#pragma omp atomic write
        out_of_range_cell = c;
        break;
      }
      positive += value > zero ? 1 : 0;
      if (summed) {
        sum += static_cast<Int128>(fixed_term(value, scale));
        const auto quantum = static_cast<Int128>(fixed_term(value, spread_scale));
        spread_sum += quantum;
        spread_squares += quantum * quantum;
      }
      if (routed) route(root, value);
    }
    if (pass_ == 1) {
      cell.positive += positive;
      cell.sum.total += sum;
      cell.spread_sum += spread_sum;
      cell.spread_squares += spread_squares;
    }
  }
  CAPRISK_EXPECTS(out_of_range_cell < 0,
                  "value cell " + std::to_string(out_of_range_cell) +
                      " received a value outside [0, its upper bound from the config]");
  // The static draws follow the value cells (batch.h, chunk_output).
  const double* statics = values + static_cast<std::uint64_t>(value_cells) * stride;
  const int static_columns = static_cast<int>(static_sums_.size());
  if (pass_ != 1) {
    const auto drivers = static_cast<int>(drivers_.size());
#pragma omp parallel for num_threads(thread_count) schedule(dynamic, 1)
    for (int k = 0; k < drivers; ++k) {
      const int c = tail_cells_[static_cast<std::size_t>(k)];
      drivers_[static_cast<std::size_t>(k)].add(
          *cells_[static_cast<std::size_t>(c)].root, values + static_cast<std::uint64_t>(c) * stride,
          statics, codes, count, stride, layout_, spec_.static_bounds);
    }
    return;
  }
#pragma omp parallel for num_threads(thread_count) schedule(dynamic, 1)
  for (int j = 0; j < static_columns; ++j) {
    const double* column = statics + static_cast<std::uint64_t>(j) * stride;
    const double bound = spec_.static_bounds[static_cast<std::size_t>(j)];
    Int128 sum = 0, squares = 0;
    for (std::uint64_t p = 0; p < count; ++p) {
      const Int128 a = static_quantum(column[p], bound);
      sum += a;
      squares += a * a;
    }
    static_sums_[static_cast<std::size_t>(j)] += sum;
    static_squares_[static_cast<std::size_t>(j)] += squares;
  }
  for (std::size_t k = 0; k < tail_cells_.size(); ++k) {
    const double* column = values + static_cast<std::uint64_t>(tail_cells_[k]) * stride;
    for (std::uint64_t p = 0; p < count; ++p) worst_[k].add(column[p], first_path + p);
  }
  const int binding_cells = layout_.site_count * layout_.report_count;
  for (int v = 0; v < spec_.variants; ++v) {
    const std::uint8_t* block =
        codes + static_cast<std::uint64_t>(v * layout_.code_count()) * stride;
    for (int site = 0; site < layout_.site_count; ++site) {
      for (int report = 0; report < layout_.report_count; ++report) {
        const std::uint8_t* column =
            block + static_cast<std::uint64_t>(layout_.binding(site, report)) * stride;
        auto& counts = binding_counts_[v * binding_cells + layout_.binding(site, report)];
        static_assert(binding_code_count == 4, "codes are masked to two bits");
        for (std::uint64_t p = 0; p < count; ++p) ++counts[column[p] & 3];
      }
      const std::uint8_t* censored =
          block + static_cast<std::uint64_t>(layout_.censored(site)) * stride;
      for (std::uint64_t p = 0; p < count; ++p)
        censored_counts_[v * layout_.site_count + site] += censored[p];
    }
  }
}

FirstPassTable StreamingReducer::first_pass_table() const {
  CAPRISK_EXPECTS(pass_ == 1, "the first pass's binning asked for in a later pass");
  FirstPassTable table;
  for (int c = 0; c < spec_.quantile_cells(); ++c) {
    const CellAccumulator& cell = cells_[static_cast<std::size_t>(c)];
    const HistogramNode& root = *cell.root;
    FirstPassCell f;
    f.edge_first = static_cast<std::uint32_t>(table.edges.size());
    f.edge_count = static_cast<std::uint32_t>(root.edges.size());
    f.bins = root.bins;
    f.lower = root.lower;
    f.upper = root.upper;
    f.cap = cell.upper;
    f.scale = root.scale;
    f.spread = root.spread;
    f.zero = cell.zero;
    table.edges.insert(table.edges.end(), root.edges.begin(), root.edges.end());
    table.cells.push_back(f);
  }
  table.stride = first_pass_stride();
  // Every key, the invalid ones too, must fit 32 bits.
  CAPRISK_EXPECTS(static_cast<double>(table.stride + 1) * static_cast<double>(table.cells.size()) <
                      4294967296.0,
                  "too many root bins for 32-bit first-pass keys");
  return table;
}

void StreamingReducer::add_first_pass_bins(const std::uint32_t* keys, const BinSums* sums,
                                           std::size_t count) {
  CAPRISK_EXPECTS(pass_ == 1, "root bins added outside the first pass");
  const int cells = spec_.quantile_cells();
  const std::uint32_t stride = first_pass_stride();
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t key = keys[i];
    const std::uint32_t invalid = invalid_key(cells, stride);
    CAPRISK_EXPECTS(key < invalid,
                    "value cell " + std::to_string(key - invalid) +
                        " received a value outside [0, its upper bound from the config]");
    const auto c = static_cast<int>(key / stride);
    CellAccumulator& cell = cells_[static_cast<std::size_t>(c)];
    HistogramNode& root = *cell.root;
    const auto bin = static_cast<int>(key % stride);
    CAPRISK_EXPECTS(bin < root.bins && !root.complete, "a first-pass key past its root's bins");
    const BinSums& s = sums[i];
    root.counts[bin] += s.count;
    root.minimum[bin] = std::min(root.minimum[bin], s.minimum);
    root.maximum[bin] = std::max(root.maximum[bin], s.maximum);
    root.sums[bin] += s.sum;
    root.quanta[bin] += s.quanta;
    root.squares[bin] += s.squares;
    cell.positive += s.positive;
  }
}

std::vector<std::uint64_t> StreamingReducer::needed_ranks() const {
  return caprisk::needed_ranks(paths_, spec_.percentiles);
}

bool StreamingReducer::value_at(const HistogramNode& node, std::uint64_t rank,
                                double& value) const {
  int bin = 0;
  std::uint64_t within = 0;
  locate(node, rank, bin, within);
  if (node.minimum[bin] == node.maximum[bin]) {  // one value only: no need to see them
    value = node.minimum[bin];
    return true;
  }
  if (const auto child = node.children.find(bin); child != node.children.end())
    return child->second->complete && value_at(*child->second, within, value);
  if (const auto kept = node.collected.find(bin); kept != node.collected.end()) {
    if (!kept->second.complete) return false;
    CAPRISK_EXPECTS(within < kept->second.values.size(), "a kept bin holds fewer values than it counted");
    value = kept->second.values[within];
    return true;
  }
  return false;
}

void StreamingReducer::plan_rank(HistogramNode& node, std::uint64_t rank, std::uint64_t& spare) {
  int bin = 0;
  std::uint64_t within = 0;
  locate(node, rank, bin, within);
  if (node.minimum[bin] == node.maximum[bin] || node.collected.count(bin) > 0) return;
  if (const auto child = node.children.find(bin); child != node.children.end()) {
    // A child planned for an earlier rank in this same step is still empty: it gets filled
    // in the next pass and planned after that, not now.
    if (child->second->complete) plan_rank(*child->second, within, spare);
  } else if (node.counts[bin] <= limits_.collect_cap) {  // collect its values next pass
    node.collected[bin].values.reserve(node.counts[bin]);
  } else if (node.counts[bin] <= 4 * limits_.collect_cap && node.counts[bin] <= spare) {
    spare -= node.counts[bin];  // a little over the cap: keep it too rather than refine
    node.collected[bin].values.reserve(node.counts[bin]);
  } else {  // a finer histogram over the bin's own range; fixed size, so memory stays bounded
    node.children[bin] = std::make_unique<HistogramNode>(node.minimum[bin], node.maximum[bin],
                                                         limits_.refine_bins, node.scale,
                                                         node.spread);
  }
}

namespace {

/// Marks what the pass filled as complete; collected values get sorted.
void complete_pass(HistogramNode& node) {
  node.complete = true;
  for (auto& [bin, kept] : node.collected) {
    if (kept.complete) continue;
    std::sort(kept.values.begin(), kept.values.end());
    kept.complete = true;
  }
  for (auto& [bin, child] : node.children) complete_pass(*child);
}

}  // namespace

bool StreamingReducer::finish_pass() {
  if (pass_ == 1) {  // a cell with percentiles: its sums are its root's (see add_chunk)
    for (int c = 0; c < spec_.quantile_cells(); ++c) {
      CellAccumulator& cell = cells_[static_cast<std::size_t>(c)];
      const HistogramNode& root = *cell.root;
      cell.sum.total = 0;
      cell.spread_sum = 0;
      cell.spread_squares = 0;
      for (int b = 0; b < root.bins; ++b) {
        cell.sum.total += root.sums[b];
        cell.spread_sum += root.quanta[b];
        cell.spread_squares += root.squares[b];
      }
    }
  }
  for (auto& cell : cells_) complete_pass(*cell.root);
  // A tail summed this pass: its start is known now (its bin was kept, or is one value).
  for (std::size_t k = 0; k < drivers_.size(); ++k) {
    if (!drivers_[k].active()) continue;
    double t = 0;
    CAPRISK_EXPECTS(value_at(*cells_[static_cast<std::size_t>(tail_cells_[k])].root, tail_rank(), t),
                    "a tail's start unresolved after the pass that summed it");
    drivers_[k].finish(t);
  }
  const std::vector<std::uint64_t> ranks = needed_ranks();
  bool resolved = true;
  std::uint64_t spare = limits_.spare_values;
  for (int c = 0; c < spec_.quantile_cells(); ++c) {
    CellAccumulator& cell = cells_[c];
    for (std::uint64_t rank : ranks) {
      double value = 0;
      if (!value_at(*cell.root, rank, value)) {
        plan_rank(*cell.root, rank, spare);
        resolved = false;
      }
    }
  }
  // The tails take the passes the ranks take; only when the tables need no second pass (every
  // rank an atom, or a run small enough for the pilot to place them) do they cost one.
  bool tails = true;
  for (TailDriver& driver : drivers_) tails = tails && driver.resolved();
  if (resolved && tails) return true;
  ++pass_;
  for (std::size_t k = 0; k < drivers_.size(); ++k)
    drivers_[k].plan(*cells_[static_cast<std::size_t>(tail_cells_[k])].root, tail_rank(),
                     most_kept());
  index_routes();
  return false;
}

std::uint32_t StreamingReducer::first_pass_stride() const {
  std::uint32_t stride = 0;
  for (int c = 0; c < spec_.quantile_cells(); ++c)
    stride = std::max(stride, static_cast<std::uint32_t>(cells_[static_cast<std::size_t>(c)].root->bins));
  return stride;
}

void StreamingReducer::index_routes() {
  for (int c = 0; c < spec_.quantile_cells(); ++c) cells_[static_cast<std::size_t>(c)].root->index_routes();
}

StreamingReducer::UpperSums StreamingReducer::sums_from(const HistogramNode& node,
                                                        std::uint64_t rank) const {
  int bin = 0;
  std::uint64_t within = 0;
  locate(node, rank, bin, within);
  Int128 above = 0;
  UpperSums total;
  for (int b = bin + 1; b < node.bins; ++b) {
    above += node.sums[b];
    total.quanta += node.quanta[b];
    total.squares += node.squares[b];
  }
  total.sum = static_cast<long double>(above) / node.scale;
  const auto quantum = [&node](double value) {
    return static_cast<Int128>(fixed_term(value, node.spread));
  };
  if (node.minimum[bin] == node.maximum[bin]) {
    const long double value = node.minimum[bin];
    const std::uint64_t count = node.counts[bin] - within;
    total.sum += static_cast<long double>(count) * value;
    const Int128 a = quantum(node.minimum[bin]);
    total.quanta += static_cast<Int128>(count) * a;
    total.squares += static_cast<Int128>(count) * a * a;
  } else if (const auto child = node.children.find(bin); child != node.children.end()) {
    const UpperSums below = sums_from(*child->second, within);
    total.sum += below.sum;
    total.quanta += below.quanta;
    total.squares += below.squares;
  } else {
    const auto& values = node.collected.at(bin).values;
    for (std::uint64_t i = within; i < values.size(); ++i) {
      total.sum += values[i];
      const Int128 a = quantum(values[i]);
      total.quanta += a;
      total.squares += a * a;
    }
  }
  return total;
}

namespace {

/// The sum of squared deviations from their mean of n values given as quanta a = x * spread:
/// n * (sum of squared deviations) = n * S2 - S1^2, exactly in integers: with S1 = q n + r,
/// it is n (S2 - q^2 n - 2 q r) - r^2, and every term stays below 2^122. Equal values
/// therefore have exactly none.
long double squared_deviations(Int128 sum, Int128 squares, std::uint64_t n, double spread) {
  if (n == 0) return 0;
  const auto count = static_cast<Int128>(n);
  const Int128 q = sum / count;
  const Int128 r = sum % count;
  const Int128 m = squares - q * q * count - 2 * q * r;
  const long double deviations =
      (static_cast<long double>(m) - static_cast<long double>(r * r) / static_cast<long double>(n)) /
      (static_cast<long double>(spread) * spread);
  return std::max(0.0L, deviations);
}

}  // namespace

ColumnSums StreamingReducer::column_sums(const CellAccumulator& cell) const {
  const std::uint64_t n = paths_;
  ColumnSums sums;
  sums.sum = static_cast<double>(cell.sum.value(cell.scale));
  sums.squared_deviations = static_cast<double>(
      squared_deviations(cell.spread_sum, cell.spread_squares, n, cell.spread_scale));
  sums.positive = cell.positive;
  return sums;
}

CellStatistics StreamingReducer::moments_of(const CellAccumulator& cell) const {
  const ColumnSums sums = column_sums(cell);
  const auto n = static_cast<double>(paths_);
  CellStatistics stats;
  stats.paths = paths_;
  // The mean of the values less `zero`, in the fixed-point integers: exactly 0 when every
  // path's difference is 0.
  FixedPointSum zeros;
  zeros.add(cell.zero, cell.scale);
  const Int128 above_zero = cell.sum.total - zeros.total * static_cast<Int128>(paths_);
  stats.mean = static_cast<double>(static_cast<long double>(above_zero) / cell.scale / n);
  stats.sd = paths_ > 1 ? std::sqrt(sums.squared_deviations / (n - 1)) : 0.0;
  stats.p_positive = static_cast<double>(sums.positive) / n;
  return stats;
}

RunResults StreamingReducer::results() const {
  RunResults results;
  results.layout = layout_;
  results.paths = paths_;
  const std::uint64_t n = paths_;
  const std::vector<std::uint64_t> ranks = needed_ranks();
  for (std::size_t c = 0; c < cells_.size(); ++c) {
    const CellAccumulator& cell = cells_[c];
    if (!quantiles(c)) {
      results.cells.push_back(moments_of(cell));
      continue;
    }
    std::map<std::uint64_t, double> order_statistics;
    for (std::uint64_t rank : ranks) {
      double value = 0;
      CAPRISK_EXPECTS(value_at(*cell.root, rank, value),
                      "order statistic " + std::to_string(rank) + " unresolved after the last pass");
      order_statistics[rank] = value;
    }
    ColumnSums sums = column_sums(cell);
    const std::uint64_t tail = cvar_tail_count(n);
    const double tail_start = order_statistics.at(n - tail);
    const UpperSums upper = sums_from(*cell.root, n - tail);
    const auto k = static_cast<long double>(tail);
    const long double t = tail_start;
    sums.tail_excess = static_cast<double>(std::max(0.0L, upper.sum - k * t));
    // sum (x - t)^2 = sum x^2 - 2 t sum x + k t^2, from exact sums (the squares' quantum is
    // U 2^-40, far below any tail's spread that matters).
    // sum (x - t)^2 = (the tail's squared deviations from its mean) + k m^2, m its mean
    // excess; the deviations exactly from the quanta, so a flat tail has exactly none.
    const long double m = static_cast<long double>(sums.tail_excess) / k;
    sums.tail_squared_excess = static_cast<double>(
        squared_deviations(upper.quanta, upper.squares, tail, cell.spread_scale) + k * m * m);
    results.cells.push_back(finish_statistics(
        n, sums, spec_.percentiles, [&](std::uint64_t i) { return order_statistics.at(i); }));
  }
  results.binding_counts = binding_counts_;
  results.censored_counts = censored_counts_;
  for (const WorstPaths& worst : worst_) results.worst_paths.push_back(worst.worst_first());
  for (std::size_t j = 0; j < static_sums_.size(); ++j) {
    const double bound = spec_.static_bounds[j];
    const long double quantum = static_cast<long double>(bound) / 1099511627776.0L;  // 2^-40
    results.static_mean.push_back(static_cast<double>(
        static_cast<long double>(static_sums_[j]) * quantum / static_cast<long double>(n)));
    // (The identity behind squared_deviations holds for quanta of either sign.)
    const long double deviations =
        squared_deviations(static_sums_[j], static_squares_[j], n, 1099511627776.0 / bound);
    results.static_sd.push_back(
        n > 1 ? static_cast<double>(std::sqrt(deviations / static_cast<long double>(n - 1))) : 0.0);
  }
  for (const TailDriver& driver : drivers_) {
    TailDrivers tail;
    tail.paths = driver.result().paths;
    tail.threshold = driver.threshold();
    tail.binding = driver.result().binding;
    for (std::size_t j = 0; j < static_sums_.size(); ++j) {
      const long double quantum =
          static_cast<long double>(spec_.static_bounds[j]) / 1099511627776.0L;
      tail.mean.push_back(tail.paths == 0
                              ? 0.0
                              : static_cast<double>(static_cast<long double>(
                                                        driver.result().statics[j]) *
                                                    quantum / static_cast<long double>(tail.paths)));
    }
    results.drivers.push_back(std::move(tail));
  }
  return results;
}

void StreamingReducer::extend_paths(std::uint64_t paths) {
  for (auto& cell : cells_) {
    cell.root->children.clear();
    cell.root->collected.clear();
    cell.root->complete = false;
  }
  pass_ = 1;
  paths_ = paths;
  for (TailDriver& driver : drivers_) driver.reset();  // the tail moves with more paths
}

void StreamingReducer::merge_first_pass(const StreamingReducer& other) {
  CAPRISK_EXPECTS(pass_ == 1 && other.pass_ == 1 && other.cells_.size() == cells_.size() &&
                      other.paths_ == paths_,
                  "merging reducers that are not in the same first pass");
  for (std::size_t c = 0; c < cells_.size(); ++c) {
    CellAccumulator& cell = cells_[c];
    const CellAccumulator& from = other.cells_[c];
    cell.sum.total += from.sum.total;
    cell.spread_sum += from.spread_sum;
    cell.spread_squares += from.spread_squares;
    cell.positive += from.positive;
    HistogramNode& node = *cell.root;
    const HistogramNode& source = *from.root;
    if (node.bins != source.bins || node.edges != source.edges)
      throw UserError(
          "partial results were made with different histogram bins (the pilot that places "
          "them ran on builds or machines that compute the model differently)");
    for (int b = 0; b < node.bins; ++b) {
      node.counts[b] += source.counts[b];
      node.minimum[b] = std::min(node.minimum[b], source.minimum[b]);
      node.maximum[b] = std::max(node.maximum[b], source.maximum[b]);
      node.sums[b] += source.sums[b];
      node.quanta[b] += source.quanta[b];
      node.squares[b] += source.squares[b];
    }
  }
  for (std::size_t i = 0; i < binding_counts_.size(); ++i)
    for (int code = 0; code < binding_code_count; ++code) binding_counts_[i][code] += other.binding_counts_[i][code];
  for (std::size_t i = 0; i < censored_counts_.size(); ++i)
    censored_counts_[i] += other.censored_counts_[i];
  for (std::size_t k = 0; k < worst_.size(); ++k) worst_[k].merge(other.worst_[k]);
  for (std::size_t j = 0; j < static_sums_.size(); ++j) {
    static_sums_[j] += other.static_sums_[j];
    static_squares_[j] += other.static_squares_[j];
  }
}

namespace {

/// Adds the parts of `source` filled in the current pass to `node` (same plan on both sides).
void merge_filled(HistogramNode& node, const HistogramNode& source) {
  CAPRISK_EXPECTS(
      node.bins == source.bins && node.edges == source.edges && node.complete == source.complete,
      "merging reducers with different plans");
  if (!node.complete) {
    for (int b = 0; b < node.bins; ++b) {
      node.counts[b] += source.counts[b];
      node.minimum[b] = std::min(node.minimum[b], source.minimum[b]);
      node.maximum[b] = std::max(node.maximum[b], source.maximum[b]);
      node.sums[b] += source.sums[b];
      node.quanta[b] += source.quanta[b];
      node.squares[b] += source.squares[b];
    }
    return;
  }
  for (auto& [bin, kept] : node.collected) {
    if (kept.complete) continue;
    const auto& more = source.collected.at(bin).values;
    kept.values.insert(kept.values.end(), more.begin(), more.end());  // sorted when complete
  }
  for (auto& [bin, child] : node.children) merge_filled(*child, *source.children.at(bin));
}

}  // namespace

void StreamingReducer::merge_pass(const StreamingReducer& other) {
  if (pass_ == 1) {
    merge_first_pass(other);
    return;
  }
  CAPRISK_EXPECTS(other.pass_ == pass_ && other.cells_.size() == cells_.size(),
                  "merging reducers in different passes");
  for (std::size_t c = 0; c < cells_.size(); ++c)
    merge_filled(*cells_[c].root, *other.cells_[c].root);
  for (std::size_t k = 0; k < drivers_.size(); ++k) drivers_[k].merge(other.drivers_[k]);
}

std::uint64_t StreamingReducer::kept_values() const {
  std::uint64_t kept = 0;
  auto count = [&kept](const HistogramNode& node, auto&& self) -> void {
    for (const auto& [bin, values] : node.collected) kept += values.values.size();
    for (const auto& [bin, child] : node.children) self(*child, self);
  };
  for (const auto& cell : cells_) count(*cell.root, count);
  for (const TailDriver& driver : drivers_) kept += driver.kept();
  return kept;
}
}  // namespace caprisk
