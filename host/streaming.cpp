#include "host/streaming.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <istream>
#include <limits>
#include <ostream>

#include "host/binary_io.h"
#include "host/errors.h"
#include "host/statistics.h"

namespace caprisk {
namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();
/// Each fixed-point term is at most 2^62, so 2^40 paths cannot overflow 128 bits.
constexpr double fixed_point_range = 4611686018427387904.0;  // 2^62

double fixed_scale(double upper) {
  return upper > 0 ? fixed_point_range / upper : 1.0;
}

double target_at(const Site& site, double month) {
  return schedule_value(site.target_gw.data(), static_cast<int>(site.target_gw.size()), month);
}

}  // namespace

HistogramNode::HistogramNode(double lower_bound, double upper_bound, int bin_count,
                             double fixed_scale_)
    : lower(lower_bound),
      upper(upper_bound),
      bins(bin_count),
      scale(fixed_scale_),
      counts(static_cast<std::size_t>(bin_count), 0),
      minimum(static_cast<std::size_t>(bin_count), infinity),
      maximum(static_cast<std::size_t>(bin_count), -infinity),
      sums(static_cast<std::size_t>(bin_count), 0) {}

HistogramNode::HistogramNode(std::vector<double> interior_edges, double fixed_scale_)
    : HistogramNode(0.0, 0.0, static_cast<int>(interior_edges.size()) + 1, fixed_scale_) {
  edges = std::move(interior_edges);
  lower = edges.front();
  upper = edges.back();
  // Slot of x: floor((x - lower) * lookup_scale), monotone in x, so every edge in an earlier
  // slot than a value's is below the value and every edge in a later slot above it.
  const std::size_t slots = edges.size();
  lookup_scale = upper > lower ? static_cast<double>(slots) / (upper - lower) : 0.0;
  lookup.assign(slots + 1, 0);
  std::size_t e = 0;
  for (std::size_t g = 0; g <= slots; ++g) {
    while (e < edges.size() && slot_of(edges[e]) < g) ++e;
    lookup[g] = static_cast<std::uint32_t>(e);
  }
}

std::size_t HistogramNode::slot_of(double value) const {
  const double position = (value - lower) * lookup_scale;
  if (!(position > 0)) return 0;
  const std::size_t last = lookup.size() - 2;
  return position >= static_cast<double>(last) ? last : static_cast<std::size_t>(position);
}

int HistogramNode::bin_of(double value) const {
  if (!edges.empty()) {
    // The bin is the number of edges <= value.
    if (value < edges.front()) return 0;
    if (value >= edges.back()) return bins - 1;
    const std::size_t slot = slot_of(value);
    const double* first = edges.data() + lookup[slot];
    const double* last = edges.data() + lookup[slot + 1];
    return static_cast<int>(std::upper_bound(first, last, value) - edges.data());
  }
  if (!(upper > lower)) return 0;
  const double position = (value - lower) * (static_cast<double>(bins) / (upper - lower));
  if (!(position >= 0)) return 0;
  return position >= bins ? bins - 1 : static_cast<int>(position);
}

void HistogramNode::add(double value) {
  const int bin = bin_of(value);
  ++counts[bin];
  minimum[bin] = std::min(minimum[bin], value);
  maximum[bin] = std::max(maximum[bin], value);
  sums[bin] += static_cast<Int128>(static_cast<long long>(value * scale + 0.5));
}

StreamingLimits limits_for(PathLayout layout) {
  StreamingLimits limits;
  constexpr double budget_bytes = 512.0 * 1024 * 1024;
  constexpr double bytes_per_bin = 32;  // count, min, max, 128-bit sum
  const double cells = std::max(1, layout.value_count());
  while (limits.root_bins > 256 && cells * limits.root_bins * bytes_per_bin > budget_bytes)
    limits.root_bins /= 2;
  return limits;
}

std::vector<double> cell_upper_bounds(const Scenario& s, PathLayout layout) {
  std::vector<double> upper(static_cast<std::size_t>(layout.value_count()), 0.0);
  const int sites = layout.site_count;
  // A little slack so that rounding in the model never lands a value above its bound.
  auto bound = [](double x) { return x * (1 + 1e-12) + 1e-12; };
  double program_months = 0;
  for (int i = 0; i < sites; ++i) {
    double site_months = 0;
    for (int t = 0; t < s.horizon_months; ++t) site_months += target_at(s.sites[i], t);
    upper[layout.gw_months(i)] = bound(site_months);
    program_months += site_months;
    upper[layout.months_late(i)] = s.horizon_months;
  }
  upper[layout.gw_months(sites)] = bound(program_months);
  for (int r = 0; r < layout.report_count; ++r) {
    double program = 0;
    for (int i = 0; i < sites; ++i) {
      const double target = target_at(s.sites[i], s.report_months[r]);
      upper[layout.shortfall(i, r)] = bound(target);
      program += target;
    }
    upper[layout.shortfall(sites, r)] = bound(program);
  }
  return upper;
}

namespace {

/// Interior edges for one cell's root from its sorted pilot sample (see place_root_bins):
///  - around each wanted level, the pilot's order statistics within 5 standard errors of it
///    (plus two), each gap between distinct neighbours split into k equal parts, k as large as
///    the budget allows: there the bins hold about 1 / (k m) of the paths each;
///  - every 64th pilot value elsewhere, so a wrong guess costs a refinement, not the run;
///  - for a value the pilot holds twice or more (an atom: exact zeros, a site's whole target),
///    edges at it and just above it, so it has a bin of its own that needs no values kept.
std::vector<double> pilot_edges(const std::vector<double>& sorted,
                                const std::vector<double>& levels, std::size_t budget) {
  const std::size_t m = sorted.size();
  std::vector<double> edges;
  if (m == 0) return edges;
  // Windows of pilot indices [first, last], merged.
  std::vector<std::pair<std::size_t, std::size_t>> windows;
  for (double level : levels) {
    const double centre = level * static_cast<double>(m);
    const double half = 5.0 * std::sqrt(static_cast<double>(m) * level * (1.0 - level)) + 2.0;
    const auto first = static_cast<std::size_t>(std::max(0.0, std::floor(centre - half)));
    const auto last =
        static_cast<std::size_t>(std::min(static_cast<double>(m - 1), std::ceil(centre + half)));
    if (first > last) continue;
    if (!windows.empty() && first <= windows.back().second + 1)
      windows.back().second = std::max(windows.back().second, last);
    else
      windows.emplace_back(first, last);
  }
  std::vector<double> atoms;
  for (std::size_t j = 0; j + 1 < m; ++j)
    if (sorted[j] == sorted[j + 1] && (atoms.empty() || atoms.back() != sorted[j]))
      atoms.push_back(sorted[j]);
  std::vector<std::size_t> gaps;  // j: the gap (sorted[j], sorted[j + 1]) lies in a window
  for (const auto& [first, last] : windows)
    for (std::size_t j = first; j < last && j + 1 < m; ++j)
      if (sorted[j] < sorted[j + 1]) gaps.push_back(j);
  const std::size_t coarse = (m + 63) / 64;
  const std::size_t fixed = coarse + 2 * atoms.size();
  const std::size_t room = budget > fixed ? budget - fixed : 0;
  // k parts per gap; with more gaps than room, every step-th gap's left end only.
  const std::size_t parts = gaps.empty() ? 1 : std::max<std::size_t>(1, room / gaps.size());
  const std::size_t step = gaps.empty() || room >= gaps.size()
                               ? 1
                               : (gaps.size() + room - 1) / std::max<std::size_t>(1, room);
  edges.reserve(fixed + gaps.size() * parts / step + 1);
  for (std::size_t j = 0; j < m; j += 64) edges.push_back(sorted[j]);
  for (double atom : atoms) {
    edges.push_back(atom);
    edges.push_back(std::nextafter(atom, infinity));
  }
  for (std::size_t g = 0; g < gaps.size(); g += step) {
    const double a = sorted[gaps[g]], b = sorted[gaps[g] + 1];
    edges.push_back(a);
    for (std::size_t i = 1; i < parts; ++i)
      edges.push_back(a + (b - a) * (static_cast<double>(i) / static_cast<double>(parts)));
    edges.push_back(b);
  }
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  if (edges.size() > budget) {  // over budget (rounding of the shares above): thin evenly,
    // keeping every atom and the edge just above it
    std::vector<double> thinned;
    const double keep = static_cast<double>(budget) / static_cast<double>(edges.size());
    double owed = 0;
    bool after_atom = false;
    for (double e : edges) {
      const bool atom = std::binary_search(atoms.begin(), atoms.end(), e);
      owed += keep;
      if (owed >= 1.0 || atom || after_atom) {
        thinned.push_back(e);
        owed = std::max(0.0, owed - 1.0);
      }
      after_atom = atom;
    }
    edges = std::move(thinned);
  }
  if (edges.size() > budget) {  // more atoms than the budget: evenly, atoms or not
    std::vector<double> thinned;
    for (std::size_t i = 0; i < budget; ++i) thinned.push_back(edges[i * edges.size() / budget]);
    edges = std::move(thinned);
  }
  return edges;
}

}  // namespace

void StreamingReducer::place_root_bins(const double* values, std::uint64_t count,
                                       std::uint64_t stride) {
  CAPRISK_EXPECTS(pass_ == 1, "root bins placed after the first pass");
  std::vector<double> levels;
  const std::uint64_t n = std::max<std::uint64_t>(1, paths_);
  for (std::uint64_t rank : needed_ranks())
    levels.push_back((static_cast<double>(rank) + 0.5) / static_cast<double>(n));
  const auto budget = static_cast<std::size_t>(std::max(2, limits_.root_bins / 2));
  std::vector<double> sample(count);
  for (std::size_t c = 0; c < cells_.size(); ++c) {
    const CellAccumulator& cell = cells_[c];
    CAPRISK_EXPECTS(!cell.root->complete && std::all_of(cell.root->counts.begin(),
                                                         cell.root->counts.end(),
                                                         [](std::uint64_t k) { return k == 0; }),
                    "root bins placed after values were added");
    std::copy_n(values + c * stride, count, sample.begin());
    std::sort(sample.begin(), sample.end());
    std::vector<double> edges = pilot_edges(sample, levels, budget);
    if (edges.empty()) continue;
    cells_[c].root = std::make_unique<HistogramNode>(std::move(edges), cell.scale);
  }
}

StreamingReducer::StreamingReducer(const Scenario& scenario, PathLayout layout, std::uint64_t paths,
                                   StreamingLimits limits)
    : scenario_(&scenario), limits_(limits), layout_(layout), paths_(paths) {
  const std::vector<double> upper = cell_upper_bounds(scenario, layout);
  cells_.resize(upper.size());
  for (std::size_t c = 0; c < upper.size(); ++c) {
    CellAccumulator& cell = cells_[c];
    cell.upper = upper[c];
    cell.scale = fixed_scale(upper[c]);
    cell.spread_scale = upper[c] > 0 ? 1099511627776.0 / upper[c] : 1.0;  // 2^40 / upper
    cell.root = std::make_unique<HistogramNode>(0.0, upper[c], limits_.root_bins, cell.scale);
  }
  binding_counts_.assign(static_cast<std::size_t>(layout.site_count * layout.report_count),
                         std::array<std::uint64_t, binding_code_count>{});
  censored_counts_.assign(static_cast<std::size_t>(layout.site_count), 0);
}

namespace {

/// Sends one value to where the current pass wants it: the histogram being built, a refined
/// bin's finer histogram, or a bin whose values are being collected.
void route(HistogramNode* node, double value) {
  for (;;) {
    if (!node->complete) {
      node->add(value);
      return;
    }
    const int bin = node->bin_of(value);
    if (const auto child = node->children.find(bin); child != node->children.end()) {
      node = child->second.get();
      continue;
    }
    if (const auto kept = node->collected.find(bin); kept != node->collected.end()) {
      if (!kept->second.complete) kept->second.values.push_back(value);
    }
    return;
  }
}

}  // namespace

void StreamingReducer::add_chunk(const double* values, const std::uint8_t* codes,
                                 std::uint64_t count, std::uint64_t stride, int threads) {
  const int thread_count = threads > 0 ? threads : omp_get_max_threads();
  const int value_cells = layout_.value_count();
  // A value outside [0, upper] would make the fixed-point sums wrong: never let one through.
  int out_of_range_cell = -1;
  // One thread per cell: each cell sees its values in path order, whatever the thread count.
#pragma omp parallel for num_threads(thread_count) schedule(dynamic, 1)
  for (int c = 0; c < value_cells; ++c) {
    CellAccumulator& cell = cells_[c];
    const double* column = values + static_cast<std::uint64_t>(c) * stride;
    for (std::uint64_t p = 0; p < count; ++p) {
      const double value = column[p];
      if (!(value >= 0.0 && value <= cell.upper)) {
#pragma omp atomic write
        out_of_range_cell = c;
        break;
      }
      if (pass_ == 1) {
        cell.sum.add(value, cell.scale);
        const auto quantum =
            static_cast<Int128>(static_cast<long long>(value * cell.spread_scale + 0.5));
        cell.spread_sum += quantum;
        cell.spread_squares += quantum * quantum;
        cell.positive += value > 0.0 ? 1 : 0;
      }
      route(cell.root.get(), value);
    }
  }
  CAPRISK_EXPECTS(out_of_range_cell < 0,
                  "value cell " + std::to_string(out_of_range_cell) +
                      " received a value outside [0, its upper bound from the config]");
  if (pass_ != 1) return;
  for (int site = 0; site < layout_.site_count; ++site) {
    for (int report = 0; report < layout_.report_count; ++report) {
      const std::uint8_t* column =
          codes + static_cast<std::uint64_t>(layout_.binding(site, report)) * stride;
      auto& counts = binding_counts_[layout_.binding(site, report)];
      static_assert(binding_code_count == 4, "codes are masked to two bits");
      for (std::uint64_t p = 0; p < count; ++p) ++counts[column[p] & 3];
    }
    const std::uint8_t* censored =
        codes + static_cast<std::uint64_t>(layout_.censored(site)) * stride;
    for (std::uint64_t p = 0; p < count; ++p) censored_counts_[site] += censored[p];
  }
}

std::vector<std::uint64_t> StreamingReducer::needed_ranks() const {
  const std::uint64_t n = paths_;
  std::vector<std::uint64_t> ranks;
  auto percentile_ranks = [&](double q) {
    // The same index arithmetic as finish_statistics().
    const auto lo =
        static_cast<std::uint64_t>(std::floor(static_cast<double>(n - 1) * (q / 100.0)));
    ranks.push_back(lo);
    if (lo + 1 < n) ranks.push_back(lo + 1);
  };
  for (double q : scenario_->percentiles) {
    percentile_ranks(q);
    std::uint64_t low = 0, high = 0;
    order_statistic_ranks(n, q, low, high);
    ranks.push_back(low - 1);
    ranks.push_back(high - 1);
  }
  percentile_ranks(50.0);
  percentile_ranks(95.0);
  ranks.push_back(n - cvar_tail_count(n));
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  return ranks;
}

namespace {

/// The bin of `node` holding the 0-based rank, and the rank within that bin.
void locate(const HistogramNode& node, std::uint64_t rank, int& bin, std::uint64_t& within) {
  bin = 0;
  std::uint64_t below = 0;
  while (bin < node.bins - 1 && rank >= below + node.counts[bin]) below += node.counts[bin++];
  within = rank - below;
}

}  // namespace

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
                                                         limits_.refine_bins, node.scale);
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
  for (auto& cell : cells_) complete_pass(*cell.root);
  const std::vector<std::uint64_t> ranks = needed_ranks();
  bool resolved = true;
  std::uint64_t spare = limits_.spare_values;
  for (auto& cell : cells_) {
    for (std::uint64_t rank : ranks) {
      double value = 0;
      if (!value_at(*cell.root, rank, value)) {
        plan_rank(*cell.root, rank, spare);
        resolved = false;
      }
    }
  }
  if (!resolved) ++pass_;
  return resolved;
}

long double StreamingReducer::sum_from(const HistogramNode& node, std::uint64_t rank) const {
  int bin = 0;
  std::uint64_t below = 0;
  while (bin < node.bins - 1 && rank >= below + node.counts[bin]) below += node.counts[bin++];
  const std::uint64_t within = rank - below;
  Int128 above = 0;
  for (int b = bin + 1; b < node.bins; ++b) above += node.sums[b];
  long double total = static_cast<long double>(above) / node.scale;
  if (node.minimum[bin] == node.maximum[bin]) {
    total += static_cast<long double>(node.counts[bin] - within) * node.minimum[bin];
  } else if (const auto child = node.children.find(bin); child != node.children.end()) {
    total += sum_from(*child->second, within);
  } else {
    const auto& values = node.collected.at(bin).values;
    for (std::uint64_t i = within; i < values.size(); ++i) total += values[i];
  }
  return total;
}

RunResults StreamingReducer::results() const {
  RunResults results;
  results.layout = layout_;
  results.paths = paths_;
  const std::uint64_t n = paths_;
  const std::vector<std::uint64_t> ranks = needed_ranks();
  for (const auto& cell : cells_) {
    std::map<std::uint64_t, double> order_statistics;
    for (std::uint64_t rank : ranks) {
      double value = 0;
      CAPRISK_EXPECTS(value_at(*cell.root, rank, value),
                      "order statistic " + std::to_string(rank) + " unresolved after the last pass");
      order_statistics[rank] = value;
    }
    ColumnSums sums;
    const long double sum = cell.sum.value(cell.scale);
    sums.sum = static_cast<double>(sum);
    // n * (sum of squared deviations) = n * S2 - S1^2, exactly in integers: with
    // S1 = q n + r, it is n (S2 - q^2 n - 2 q r) - r^2, and every term stays below 2^122.
    // A constant cell therefore has exactly sd 0.
    const auto count = static_cast<Int128>(n);
    const Int128 q = cell.spread_sum / count;
    const Int128 r = cell.spread_sum % count;
    const Int128 m = cell.spread_squares - q * q * count - 2 * q * r;
    const long double deviations =
        (static_cast<long double>(m) -
         static_cast<long double>(r * r) / static_cast<long double>(n)) /
        (static_cast<long double>(cell.spread_scale) * cell.spread_scale);
    sums.squared_deviations = static_cast<double>(std::max(0.0L, deviations));
    sums.positive = cell.positive;
    const std::uint64_t tail = cvar_tail_count(n);
    const double tail_start = order_statistics.at(n - tail);
    sums.tail_excess = static_cast<double>(std::max(
        0.0L, sum_from(*cell.root, n - tail) - static_cast<long double>(tail) * tail_start));
    results.cells.push_back(finish_statistics(
        n, sums, scenario_->percentiles, [&](std::uint64_t i) { return order_statistics.at(i); }));
  }
  results.binding_counts = binding_counts_;
  results.censored_counts = censored_counts_;
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
    }
  }
  for (std::size_t i = 0; i < binding_counts_.size(); ++i)
    for (int code = 0; code < binding_code_count; ++code) binding_counts_[i][code] += other.binding_counts_[i][code];
  for (std::size_t i = 0; i < censored_counts_.size(); ++i)
    censored_counts_[i] += other.censored_counts_[i];
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
}

std::uint64_t StreamingReducer::kept_values() const {
  std::uint64_t kept = 0;
  auto count = [&kept](const HistogramNode& node, auto&& self) -> void {
    for (const auto& [bin, values] : node.collected) kept += values.values.size();
    for (const auto& [bin, child] : node.children) self(*child, self);
  };
  for (const auto& cell : cells_) count(*cell.root, count);
  return kept;
}

// --- State serialisation (checkpoints, shards, MPI): little-endian fields, checked on load
// against the scenario and the format's limits before anything is allocated or used. -----

namespace {

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
  double cell_upper;
  std::uint64_t paths;
  const StreamingLimits& limits;
};

bool finite_in(double x, double lo, double hi) {
  return std::isfinite(x) && x >= lo && x <= hi;
}

std::unique_ptr<HistogramNode> load_node(binary::Reader& in, int depth,
                                         const NodeExpectations& expect) {
  if (depth > max_depth) in.corrupt("histograms nested deeper than " + std::to_string(max_depth));
  const bool root = depth == 0;
  const auto lower = in.get<double>("a histogram's lower bound");
  const auto upper = in.get<double>("a histogram's upper bound");
  const auto bins = in.get<int>("a histogram's bin count");
  const auto scale = in.get<double>("a histogram's scale");
  if (!finite_in(lower, 0.0, expect.cell_upper) || !finite_in(upper, lower, expect.cell_upper))
    in.corrupt("a histogram's range [" + std::to_string(lower) + ", " + std::to_string(upper) +
               "] lies outside its cell's [0, " + std::to_string(expect.cell_upper) + "]");
  const int most_bins = root ? expect.limits.root_bins : expect.limits.refine_bins;
  if (bins < 1 || bins > most_bins || (!root && bins != expect.limits.refine_bins))
    in.corrupt("a histogram has " + std::to_string(bins) + " bins (expected " +
               (root ? "1 to " : "") + std::to_string(most_bins) + ")");
  if (scale != expect.scale) in.corrupt("a histogram's fixed-point scale differs from its cell's");
  std::vector<double> edges =
      in.get_vector<double>("a histogram's edges", static_cast<std::uint64_t>(bins - 1));
  std::unique_ptr<HistogramNode> node;
  if (edges.empty()) {
    node = std::make_unique<HistogramNode>(lower, upper, bins, scale);
  } else {
    if (!root || edges.size() + 1 != static_cast<std::size_t>(bins))
      in.corrupt("a histogram's edges do not match its bin count");
    for (std::size_t e = 0; e < edges.size(); ++e)
      if (!std::isfinite(edges[e]) || (e > 0 && !(edges[e] > edges[e - 1])))
        in.corrupt("a histogram's edges are not finite and increasing");
    if (edges.front() != lower || edges.back() != upper)
      in.corrupt("a histogram's edges do not match its range");
    node = std::make_unique<HistogramNode>(std::move(edges), scale);
  }
  node->complete = in.get_flag("a histogram's completion flag");
  const auto n = static_cast<std::uint64_t>(bins);
  node->counts = in.get_vector<std::uint64_t>("a histogram's counts", n);
  node->minimum = in.get_vector<double>("a histogram's minima", n);
  node->maximum = in.get_vector<double>("a histogram's maxima", n);
  node->sums = in.get_vector<Int128>("a histogram's sums", n);
  if (node->counts.size() != n || node->minimum.size() != n || node->maximum.size() != n ||
      node->sums.size() != n)
    in.corrupt("a histogram's arrays do not have one entry per bin");
  std::uint64_t total = 0;
  for (std::uint64_t b = 0; b < n; ++b) {
    const std::uint64_t count = node->counts[b];
    if (count > expect.paths - std::min(total, expect.paths))
      in.corrupt("a histogram counts more values than the run has paths");
    total += count;
    const double lo = node->minimum[b], hi = node->maximum[b];
    if (count == 0 ? !(lo == infinity && hi == -infinity && node->sums[b] == 0)
                   : !(finite_in(lo, 0.0, expect.cell_upper) &&
                       finite_in(hi, lo, expect.cell_upper) && node->sums[b] >= 0))
      in.corrupt("a histogram bin's minimum, maximum or sum is impossible for its count");
  }
  const auto collected = in.get<std::uint64_t>("the number of kept bins");
  if (collected > n || (collected > 0 && !node->complete))
    in.corrupt("a histogram keeps values for bins it has not counted");
  for (std::uint64_t i = 0; i < collected; ++i) {
    const auto bin = in.get<int>("a kept bin's index");
    if (bin < 0 || bin >= bins || node->collected.count(bin) > 0)
      in.corrupt("a kept bin's index is out of range or repeated");
    auto& kept = node->collected[bin];
    kept.complete = in.get_flag("a kept bin's completion flag");
    kept.values = in.get_vector<double>("a kept bin's values", node->counts[bin]);
    const bool sorted = std::is_sorted(kept.values.begin(), kept.values.end());
    if ((kept.complete && (kept.values.size() != node->counts[bin] || !sorted)) ||
        std::any_of(kept.values.begin(), kept.values.end(), [&](double v) {
          return !finite_in(v, node->minimum[bin], node->maximum[bin]);
        }))
      in.corrupt("a kept bin's values do not match its count or range");
  }
  const auto children = in.get<std::uint64_t>("the number of refined bins");
  if (children > n || (children > 0 && !node->complete))
    in.corrupt("a histogram refines bins it has not counted");
  for (std::uint64_t i = 0; i < children; ++i) {
    const auto bin = in.get<int>("a refined bin's index");
    if (bin < 0 || bin >= bins || node->children.count(bin) > 0 ||
        node->collected.count(bin) > 0 || node->counts[bin] == 0)
      in.corrupt("a refined bin's index is out of range, repeated or empty");
    auto child = load_node(in, depth + 1, expect);
    if (child->lower != node->minimum[bin] || child->upper != node->maximum[bin])
      in.corrupt("a refined bin's histogram does not span the bin's values");
    node->children[bin] = std::move(child);
  }
  return node;
}

}  // namespace

void StreamingReducer::save(binary::Writer& out) const {
  out.put(limits_);
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
}

std::string StreamingReducer::serialized() const {
  binary::Writer out;
  save(out);
  return out.take();
}

std::unique_ptr<StreamingReducer> StreamingReducer::load(binary::Reader& in,
                                                         const Scenario& scenario,
                                                         PathLayout layout) {
  const auto limits = in.get<StreamingLimits>("the reducer's sizes");
  if (limits.root_bins < 2 || limits.root_bins > max_root_bins || limits.refine_bins < 2 ||
      limits.refine_bins > max_refine_bins || limits.collect_cap < 1 ||
      limits.collect_cap > max_collect_cap || limits.spare_values > max_spare_values)
    in.corrupt("the reducer's sizes are out of range");
  const auto paths = in.get<std::uint64_t>("the path count");
  if (paths < 1 || paths > ModelLimits::max_paths)
    in.corrupt("the path count " + std::to_string(paths) + " is out of range");
  auto reducer = std::make_unique<StreamingReducer>(scenario, layout, paths, limits);
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
    cell.root = load_node(in, 0, NodeExpectations{cell.scale, cell.upper, paths, limits});
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
  if (reducer->censored_counts_.size() != static_cast<std::size_t>(layout.site_count) ||
      std::any_of(reducer->censored_counts_.begin(), reducer->censored_counts_.end(),
                  [&](std::uint64_t c) { return c > paths; }))
    in.corrupt("the censored counts do not match the sites or the path count");
  return reducer;
}

std::unique_ptr<StreamingReducer> StreamingReducer::deserialized(std::string_view bytes,
                                                                 const Scenario& scenario,
                                                                 PathLayout layout,
                                                                 const std::string& what) {
  binary::Reader in(bytes, what);
  auto reducer = load(in, scenario, layout);
  if (!in.at_end()) in.corrupt("unexpected bytes after the reducer's state");
  return reducer;
}

std::uint64_t StreamingReducer::max_state_bytes(PathLayout layout) {
  // Generous: every needed rank of every cell refined to the deepest level the passes reach,
  // plus the kept values; real states are far smaller.
  const auto cells = static_cast<std::uint64_t>(std::max(1, layout.value_count()));
  const StreamingLimits limits = limits_for(layout);
  const std::uint64_t per_root = 64 + static_cast<std::uint64_t>(limits.root_bins) * 64;
  const std::uint64_t per_refinement = 64 + static_cast<std::uint64_t>(max_refine_bins) * 64;
  constexpr std::uint64_t ranks = 64;
  const std::uint64_t per_cell =
      per_root + ranks * 8 * per_refinement + ranks * 4 * max_collect_cap * 8 / 64;
  return (std::uint64_t{64} << 20) + cells * per_cell + max_spare_values * 8;
}

}  // namespace caprisk
