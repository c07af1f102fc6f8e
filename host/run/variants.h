// The variants of a stress run over the same paths (docs/ANALYSIS.md): the base scenario and
// each stress, simulated with the same seed and streams, stacked into one reduction (one
// pilot, one set of passes, one checkpoint), followed by each stress's per-path differences
// from the base, of which only the moments are kept.
#pragma once

#include <vector>

#include "host/config/flatten.h"
#include "host/reduce/reduction_spec.h"
#include "host/reduce/results.h"
#include "host/run/batch.h"

namespace caprisk {

/// A paired difference no larger than this, in the metric's own units (GW, GW-months,
/// months), counts as no change: a stress that moves capacity between pools changes the sums
/// of untouched sites and of ALL by floating-point rounding alone (about 1e-15), and counting
/// that as "the stress made it larger" would put a share of noise into p_diff_positive. A
/// watt (or watt-month) is far below anything the model's inputs resolve.
inline constexpr double kNoChange = 1e-9;

/// The stacked spec of `variants` (the base first; all of one layout): their blocks, then one
/// difference block per stress whose cells hold stressed - base + U (0 for |stressed - base| <=
/// kNoChange), U the base cell's upper
/// bound, so that every value the reducer sees lies in [0, U + the stressed cell's bound].
ReductionSpec stacked_spec(const std::vector<const FlatScenario*>& variants);

/// A simulator of the stacked spec: variant v by `variants[v]` into block v, then the
/// differences of each stress from the base.
ChunkSimulator stacked_simulator(std::vector<ChunkSimulator> variants, const ReductionSpec& spec);

/// difference[c][p] = offsets[c] + (varied[c][p] - base[c][p]) for the layout's value cells c
/// (offsets.size() of them) and paths p < count, each array [cell * stride + path]; a
/// difference of at most kNoChange is written as exactly offsets[c].
void write_differences(const double* varied, std::uint64_t varied_stride, const double* base,
                       std::uint64_t base_stride, double* difference,
                       std::uint64_t difference_stride, std::uint64_t count,
                       const std::vector<double>& offsets);

/// Variant v's tables (0: the base) out of the stacked results.
RunResults variant_results(const RunResults& stacked, const ReductionSpec& spec, int v);

/// Stress s's (from 1) paired differences, one per value cell of the layout.
std::vector<PairedDifference> paired_differences(const RunResults& stacked,
                                                 const ReductionSpec& spec, int stress);

/// Difference block k's (from 0) paired differences, one per value cell of the layout.
std::vector<PairedDifference> difference_block(const RunResults& stacked,
                                               const ReductionSpec& spec, int k);

}  // namespace caprisk
