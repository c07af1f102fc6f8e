// Root bins placed by a pilot sample of the run's own paths (StreamingReducer::place_root_bins).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include "host/errors.h"
#include "host/reduce/statistics.h"
#include "host/reduce/streaming.h"

namespace caprisk {
namespace {

constexpr double infinity = std::numeric_limits<double>::infinity();

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
  // Every stride-th value: every 64th, or sparser when the pilot is large (a whole run kept in
  // memory) so that these take at most half the budget and the wanted ranks keep their room.
  const std::size_t stride = std::max<std::size_t>(64, (2 * m + budget - 1) / std::max<std::size_t>(1, budget));
  const std::size_t coarse = (m + stride - 1) / stride;
  const std::size_t fixed = coarse + 2 * atoms.size();
  const std::size_t room = budget > fixed ? budget - fixed : 0;
  // k parts per gap; with more gaps than room, every step-th gap's left end only.
  const std::size_t parts = gaps.empty() ? 1 : std::max<std::size_t>(1, room / gaps.size());
  // (No room at all: no gap's edges; the coarse ones and the atoms still place the bins.)
  const std::size_t step = gaps.empty() || room >= gaps.size()
                               ? 1
                               : room == 0 ? gaps.size() : (gaps.size() + room - 1) / room;
  edges.reserve(fixed + gaps.size() * parts / step + 1);
  for (std::size_t j = 0; j < m; j += stride) edges.push_back(sorted[j]);
  for (double atom : atoms) {
    edges.push_back(atom);
    edges.push_back(std::nextafter(atom, infinity));
  }
  for (std::size_t g = 0; room > 0 && g < gaps.size(); g += step) {
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
                                       std::uint64_t stride, int threads) {
  CAPRISK_EXPECTS(pass_ == 1, "root bins placed after the first pass");
  std::vector<double> levels;
  const std::uint64_t n = std::max<std::uint64_t>(1, paths_);
  for (std::uint64_t rank : needed_ranks())
    levels.push_back((static_cast<double>(rank) + 0.5) / static_cast<double>(n));
  const auto budget = static_cast<std::size_t>(std::max(2, limits_.root_bins / 2));
  const auto cells = static_cast<std::int64_t>(spec_.quantile_cells());
  for (std::int64_t c = 0; c < cells; ++c) {
    const HistogramNode& root = *cells_[static_cast<std::size_t>(c)].root;
    CAPRISK_EXPECTS(!root.complete && std::all_of(root.counts.begin(), root.counts.end(),
                                                  [](std::uint64_t k) { return k == 0; }),
                    "root bins placed after values were added");
  }
  // Cells are independent: each thread sorts its cells' samples, and the bins are the same
  // whatever the thread count (a pilot of more than sorted_pilot paths, a whole run kept in
  // memory, is sampled down to sorted_pilot values per cell first).
  const int thread_count = threads > 0 ? threads : omp_get_max_threads();
  // Path i * count / sampled, for i < sampled: evenly spread, whatever the thread count.
  const std::uint64_t sampled = std::min(count, std::max<std::uint64_t>(1, limits_.sorted_pilot));
  // An exception cannot leave an OpenMP region: the first one (bad_alloc) is kept and rethrown.
  std::exception_ptr failure;
#pragma omp parallel num_threads(thread_count)
  {
    std::vector<double> sample;
    try {
      sample.resize(sampled);
    } catch (...) {
#pragma omp critical(caprisk_root_bins)
      if (!failure) failure = std::current_exception();
    }
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t cell_index = 0; cell_index < cells; ++cell_index) {
      if (sample.size() != sampled) continue;
      try {
        const auto c = static_cast<std::size_t>(cell_index);
        CellAccumulator& cell = cells_[c];
        const double* column = values + c * stride;
        if (sampled == count) {
          std::copy_n(column, count, sample.begin());
        } else {
          for (std::uint64_t i = 0; i < sampled; ++i)
            sample[i] = column[static_cast<std::uint64_t>(static_cast<Int128>(i) * count / sampled)];
        }
        std::sort(sample.begin(), sample.end());
        std::vector<double> edges = pilot_edges(sample, levels, budget);
        // No value exceeds the cell's upper bound: an edge above it (just above an atom at the
        // bound, such as a group's all-short indicator at 1) would only add an empty bin, and
        // put the root's range outside the cell's, which a saved state must not have.
        edges.erase(std::upper_bound(edges.begin(), edges.end(), cell.upper), edges.end());
        if (edges.empty()) continue;
        cell.root = std::make_unique<HistogramNode>(std::move(edges), cell.scale, cell.spread_scale);
      } catch (...) {
#pragma omp critical(caprisk_root_bins)
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
}
}  // namespace caprisk
