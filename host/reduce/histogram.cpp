#include "host/reduce/histogram.h"

#include <algorithm>
#include <limits>

namespace caprisk {
namespace {
constexpr double infinity = std::numeric_limits<double>::infinity();
}  // namespace

HistogramNode::HistogramNode(double lower_bound, double upper_bound, int bin_count,
                             double fixed_scale_, double square_scale)
    : lower(lower_bound),
      upper(upper_bound),
      bins(bin_count),
      scale(fixed_scale_),
      spread(square_scale),
      counts(static_cast<std::size_t>(bin_count), 0),
      minimum(static_cast<std::size_t>(bin_count), infinity),
      maximum(static_cast<std::size_t>(bin_count), -infinity),
      sums(static_cast<std::size_t>(bin_count), 0),
      quanta(static_cast<std::size_t>(bin_count), 0),
      squares(static_cast<std::size_t>(bin_count), 0) {}

HistogramNode::HistogramNode(std::vector<double> interior_edges, double fixed_scale_,
                             double square_scale)
    : HistogramNode(0.0, 0.0, static_cast<int>(interior_edges.size()) + 1, fixed_scale_,
                    square_scale) {
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
    // Edges in earlier slots are below the value, in later ones above: search the slot's.
    const std::size_t slot = slot_of(value);
    return static_cast<int>(lookup[slot] + count_at_most(edges.data() + lookup[slot],
                                                         lookup[slot + 1] - lookup[slot], value));
  }
  return equal_bin(lower, upper, bins, value);
}

void HistogramNode::add(double value) {
  const int bin = bin_of(value);
  ++counts[bin];
  minimum[bin] = std::min(minimum[bin], value);
  maximum[bin] = std::max(maximum[bin], value);
  sums[bin] += static_cast<Int128>(fixed_term(value, scale));
  const auto quantum = static_cast<Int128>(fixed_term(value, spread));
  quanta[bin] += quantum;
  squares[bin] += quantum * quantum;
}

void HistogramNode::index_routes() {
  routes.assign(static_cast<std::size_t>(bins), route_drop);
  for (const auto& [bin, kept] : collected)
    if (!kept.complete) routes[static_cast<std::size_t>(bin)] = route_collect;
  for (const auto& [bin, child] : children) {
    routes[static_cast<std::size_t>(bin)] = route_child;
    child->index_routes();
  }
  slot_routed.clear();
  if (edges.empty()) return;
  // A value of slot g lies between edges lookup[g] - 1 and lookup[g + 1], so in one of the
  // bins lookup[g] to lookup[g + 1].
  slot_routed.assign(lookup.size() - 1, 0);
  for (std::size_t g = 0; g + 1 < lookup.size(); ++g)
    for (std::uint32_t b = lookup[g]; b <= lookup[g + 1] && b < routes.size(); ++b)
      if (routes[b] != route_drop) {
        slot_routed[g] = 1;
        break;
      }
}

void locate(const HistogramNode& node, std::uint64_t rank, int& bin, std::uint64_t& within) {
  bin = 0;
  std::uint64_t below = 0;
  while (bin < node.bins - 1 && rank >= below + node.counts[bin]) below += node.counts[bin++];
  within = rank - below;
}

}  // namespace caprisk
