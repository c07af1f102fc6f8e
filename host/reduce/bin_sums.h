// The first pass's root-bin sums, in a form a device can fill (issue 18): the per-value terms
// the host's histograms add (host/reduce/histogram.h), the key that names a value's cell and
// bin, and how two partial sums of a bin combine. Compiled by g++ and by nvcc; reduce_thrust.h
// runs it under thrust::cuda::par on the GPU and under thrust::omp::par in the CPU tests.
#pragma once

#include <cstdint>

#include "kernels/qualifiers.h"

namespace caprisk {

/// 128-bit integer for exact fixed-point sums (a GCC/Clang extension, hence the marker).
__extension__ using Int128 = __int128;

/// round(value * scale) for value * scale < 2^62, the histograms' fixed point. The device
/// rounds the product and the sum one at a time, as the host does (nvcc would otherwise fuse
/// them into one fma and, now and then, give another integer).
CAPRISK_HD inline long long fixed_term(double value, double scale) {
#if defined(__CUDA_ARCH__)
  return static_cast<long long>(__dadd_rn(__dmul_rn(value, scale), 0.5));
#else
  return static_cast<long long>(value * scale + 0.5);
#endif
}

/// How many of the n increasing values at `first` are <= value: upper_bound without branches,
/// so that successive values' searches overlap instead of waiting on mispredicted jumps (a
/// pilot packs hundreds of edges around a wanted rank). HistogramNode::bin_of and the device's
/// FirstPassKey both search with it.
CAPRISK_HD inline std::uint32_t count_at_most(const double* first, std::uint32_t n, double value) {
  if (n == 0) return 0;
  const double* base = first;  // the answer lies in [base, base + n]
  while (n > 1) {
    const std::uint32_t half = n / 2;
    base = base[half] <= value ? base + half : base;
    n -= half;
  }
  return static_cast<std::uint32_t>(base - first) + (*base <= value ? 1u : 0u);
}

/// The bin of `value` among `bins` equal bins over [lower, upper] (the first below, the last
/// above), the same operations on host and device.
CAPRISK_HD inline int equal_bin(double lower, double upper, int bins, double value) {
  if (!(upper > lower)) return 0;
  const double position = (value - lower) * (static_cast<double>(bins) / (upper - lower));
  if (!(position >= 0)) return 0;
  return position >= bins ? bins - 1 : static_cast<int>(position);
}

/// One root bin's first-pass accumulators, as HistogramNode keeps them, plus its cell's count
/// of values above the cell's zero.
struct BinSums {
  std::uint64_t count = 0;
  std::uint64_t positive = 0;
  double minimum = 0;
  double maximum = 0;
  Int128 sum = 0;
  Int128 quanta = 0;
  Int128 squares = 0;
};

/// A cell's root as the first pass bins it: `edge_count` interior edges at
/// `edge_first` of the shared edge array (bin = the number of edges <= value), or, with none,
/// `bins` equal bins over [lower, upper]; values must lie in [0, cap].
struct FirstPassCell {
  std::uint32_t edge_first = 0;
  std::uint32_t edge_count = 0;
  int bins = 1;
  double lower = 0;
  double upper = 0;
  double cap = 0;
  double scale = 0;
  double spread = 0;
  double zero = 0;
};

/// The key of value i of a block of `cells` cell-major columns of `count` values: cell *
/// stride + bin, or invalid_key(cells, stride) + cell for a value outside [0, cap] (or NaN),
/// which sorts after every valid key.
CAPRISK_HD inline std::uint32_t invalid_key(int cells, std::uint32_t stride) {
  return static_cast<std::uint32_t>(cells) * stride;
}

struct FirstPassKey {
  const double* values;
  std::uint64_t count;
  const FirstPassCell* cells;
  const double* edges;
  int cell_count;
  std::uint32_t stride;  ///< at least every cell's bins

  CAPRISK_HD std::uint32_t operator()(std::uint64_t i) const {
    const auto c = static_cast<int>(i / count);
    const FirstPassCell& cell = cells[c];
    const double value = values[i];
    if (!(value >= 0.0 && value <= cell.cap))
      return invalid_key(cell_count, stride) + static_cast<std::uint32_t>(c);
    return static_cast<std::uint32_t>(c) * stride + bin(cell, value);
  }

  /// HistogramNode::bin_of: the number of edges <= value (searched over all of them: the
  /// host's lookup slots only narrow the same count), or the equal bins' formula.
  CAPRISK_HD std::uint32_t bin(const FirstPassCell& cell, double value) const {
    if (cell.edge_count > 0) return count_at_most(edges + cell.edge_first, cell.edge_count, value);
    return static_cast<std::uint32_t>(equal_bin(cell.lower, cell.upper, cell.bins, value));
  }
};

/// Two partial sums of one bin.
struct CombineBins {
  CAPRISK_HD BinSums operator()(const BinSums& a, const BinSums& b) const {
    if (a.count == 0) return b;
    if (b.count == 0) return a;
    BinSums s;
    s.count = a.count + b.count;
    s.positive = a.positive + b.positive;
    s.minimum = a.minimum < b.minimum ? a.minimum : b.minimum;
    s.maximum = a.maximum > b.maximum ? a.maximum : b.maximum;
    s.sum = a.sum + b.sum;
    s.quanta = a.quanta + b.quanta;
    s.squares = a.squares + b.squares;
    return s;
  }
};

}  // namespace caprisk
