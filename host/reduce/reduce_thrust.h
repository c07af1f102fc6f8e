// The reduction written with Thrust algorithms on an execution policy: thrust::cuda::par for
// per-path outputs in device memory (host/backend_cuda.cu), thrust::omp::par in the CPU tests,
// which compare it with host/results.cpp's reduce(). Header-only; needs the CCCL includes.
#pragma once

#include <thrust/count.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/iterator/zip_iterator.h>
#include <thrust/reduce.h>
#include <thrust/sort.h>
#include <thrust/transform.h>
#include <thrust/transform_reduce.h>
#include <thrust/tuple.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/reduce/bin_sums.h"
#include "host/reduce/results.h"
#include "host/reduce/statistics.h"
#include "kernels/qualifiers.h"

namespace caprisk {

/// (x - center)^2, for the sum of squared deviations.
struct SquaredDeviation {
  double center;
  CAPRISK_HD double operator()(double x) const { return (x - center) * (x - center); }
};

/// x - floor, for the excess of the CVaR tail over its smallest value.
struct Excess {
  double floor;
  CAPRISK_HD double operator()(double x) const { return x - floor; }
};

struct IsPositive {
  CAPRISK_HD bool operator()(double x) const { return x > 0.0; }
};

/// How many paths have each binding code, counted in one pass over a column.
struct CodeCounts {
  std::uint64_t count[binding_code_count];
};
struct CountCode {
  CAPRISK_HD CodeCounts operator()(std::uint8_t code) const {
    CodeCounts c{};
    if (code < binding_code_count) c.count[code] = 1;
    return c;
  }
};
struct AddCodeCounts {
  CAPRISK_HD CodeCounts operator()(const CodeCounts& a, const CodeCounts& b) const {
    CodeCounts c;
    for (int k = 0; k < binding_code_count; ++k) c.count[k] = a.count[k] + b.count[k];
    return c;
  }
};

/// One value's contribution to its bin (its key says the cell); nothing for an invalid key.
struct FirstPassTerm {
  const FirstPassCell* cells;
  int cell_count;
  std::uint32_t stride;

  CAPRISK_HD BinSums operator()(const thrust::tuple<std::uint32_t, double>& kv) const {
    const std::uint32_t key = thrust::get<0>(kv);
    const double value = thrust::get<1>(kv) + 0.0;  // -0 as +0, as add_chunk has it
    BinSums s;
    if (key >= invalid_key(cell_count, stride)) return s;
    const FirstPassCell& cell = cells[key / stride];
    s.count = 1;
    s.positive = value > cell.zero ? 1 : 0;
    s.minimum = value;
    s.maximum = value;
    s.sum = fixed_term(value, cell.scale);
    const Int128 quantum = fixed_term(value, cell.spread);
    s.quanta = quantum;
    s.squares = quantum * quantum;
    return s;
  }
};


/// The first pass of the streaming reducer's root histograms over a chunk, on the policy's
/// memory: `values` holds `cell_count` cell-major columns of `count` values (the cells with
/// percentiles, first in a chunk), `cells` and `edges` (policy memory) say how each cell's
/// root bins them (StreamingReducer::first_pass_table). Each value gets its key, the values
/// are sorted by key (in place: `values` is consumed), and each key's run reduces to its
/// BinSums. Writes the distinct keys and their sums to `keys_out` and `sums_out` (room for
/// min(cell_count * count, cell_count * (stride + 1)) each) and returns how many; `keys`
/// needs cell_count * count. Exact: counts and fixed-point sums are integers, so the order
/// the policy adds them in does not matter, and the bins are the host's bin_of.
template <class Policy>
std::size_t first_pass_bins_with_policy(Policy policy, double* values, std::uint64_t count,
                                        int cell_count, const FirstPassCell* cells,
                                        const double* edges, std::uint32_t stride,
                                        std::uint32_t* keys, std::uint32_t* keys_out,
                                        BinSums* sums_out) {
  const std::uint64_t n = static_cast<std::uint64_t>(cell_count) * count;
  if (n == 0) return 0;
  thrust::transform(policy, thrust::counting_iterator<std::uint64_t>(0),
                    thrust::counting_iterator<std::uint64_t>(n), keys,
                    FirstPassKey{values, count, cells, edges, cell_count, stride});
  thrust::sort_by_key(policy, keys, keys + n, values);
  const auto terms = thrust::make_transform_iterator(
      thrust::make_zip_iterator(thrust::make_tuple(keys, values)),
      FirstPassTerm{cells, cell_count, stride});
  const auto ends = thrust::reduce_by_key(policy, keys, keys + n, terms, keys_out, sums_out,
                                          thrust::equal_to<std::uint32_t>(), CombineBins{});
  return static_cast<std::size_t>(ends.first - keys_out);
}

/// Reduces cell-major outputs of `n` paths (stride n) with `policy`; sorts the value columns
/// in place. `gather(column, values)` fetches, from the policy's memory, the sorted column's
/// values at needed_ranks(n, percentiles) into `values` (host memory, one per rank): for
/// CUDA one thrust::gather and one device-to-host copy per cell, where reading each order
/// statistic alone cost a synchronous copy each (issue 18, item 4); for OpenMP plain loads.
template <class Policy, class Gather>
RunResults reduce_with_policy(Policy policy, double* values, const std::uint8_t* codes,
                              PathLayout layout, std::uint64_t n,
                              const std::vector<double>& percentiles, Gather gather) {
  RunResults results;
  results.layout = layout;
  results.paths = n;
  const auto length = static_cast<std::ptrdiff_t>(n);
  const std::vector<std::uint64_t> ranks = needed_ranks(n, percentiles);
  std::vector<double> at_ranks(ranks.size());
  // The sorted column's value at rank i, from the gathered values (every rank
  // finish_statistics reads is in `ranks`).
  const auto read = [&](std::uint64_t i) {
    const auto found = std::lower_bound(ranks.begin(), ranks.end(), i);
    if (found == ranks.end() || *found != i)
      throw std::logic_error("reduce_with_policy: rank " + std::to_string(i) +
                             " is not among needed_ranks()");
    return at_ranks[static_cast<std::size_t>(found - ranks.begin())];
  };
  for (int cell = 0; cell < layout.value_count(); ++cell) {
    double* column = values + static_cast<std::uint64_t>(cell) * n;
    ColumnSums sums;
    sums.sum = thrust::reduce(policy, column, column + length, 0.0);
    sums.positive =
        static_cast<std::uint64_t>(thrust::count_if(policy, column, column + length, IsPositive{}));
    const double mean = sums.sum / static_cast<double>(n);
    sums.squared_deviations = thrust::transform_reduce(
        policy, column, column + length, SquaredDeviation{mean}, 0.0, thrust::plus<double>());
    thrust::sort(policy, column, column + length);
    gather(static_cast<const double*>(column), at_ranks);
    const std::uint64_t tail = cvar_tail_count(n);
    const double tail_start = read(n - tail);
    sums.tail_excess = thrust::transform_reduce(policy, column + (n - tail), column + length,
                                                Excess{tail_start}, 0.0, thrust::plus<double>());
    sums.tail_squared_excess =
        thrust::transform_reduce(policy, column + (n - tail), column + length,
                                 SquaredDeviation{tail_start}, 0.0, thrust::plus<double>());
    results.cells.push_back(finish_statistics(n, sums, percentiles, read));
  }
  for (int site = 0; site < layout.site_count; ++site) {
    for (int report = 0; report < layout.report_count; ++report) {
      const std::uint8_t* column =
          codes + static_cast<std::uint64_t>(layout.binding(site, report)) * n;
      const CodeCounts counted = thrust::transform_reduce(
          policy, column, column + length, CountCode{}, CodeCounts{}, AddCodeCounts{});
      std::array<std::uint64_t, binding_code_count> counts{};
      for (int code = 0; code < binding_code_count; ++code) counts[code] = counted.count[code];
      results.binding_counts.push_back(counts);
    }
  }
  for (int site = 0; site < layout.site_count; ++site) {
    const std::uint8_t* column = codes + static_cast<std::uint64_t>(layout.censored(site)) * n;
    results.censored_counts.push_back(static_cast<std::uint64_t>(
        thrust::count(policy, column, column + length, std::uint8_t{1})));
  }
  return results;
}

}  // namespace caprisk
