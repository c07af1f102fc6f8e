// caprisk sensitivity (docs/ANALYSIS.md, "Sensitivity"): every static uncertain input pinned
// in turn at its P10 and at its P90 (an event forced off and on), everything else random on
// the same paths, and the paired changes of the program's and the groups' mean shortfall.
#pragma once

#include <string>
#include <vector>

#include "host/config/flatten.h"
#include "host/config/pinned_inputs.h"
#include "host/reduce/reduction_spec.h"
#include "host/run/batch.h"

namespace caprisk {

/// The spec of a sensitivity run over `inputs` pinned variants pairs: the base's cells
/// (moments only: a tornado needs means) and per input three difference blocks: low - base,
/// high - base, high - low.
ReductionSpec sensitivity_spec(const FlatScenario& base, std::size_t inputs);

/// Block k of a sensitivity spec's differences for input i: 0 low - base, 1 high - base,
/// 2 high - low.
inline int sensitivity_block(std::size_t input, int k) { return static_cast<int>(input) * 3 + k; }

/// A simulator of the sensitivity spec: the base into block 0, and for each input its low
/// and high variants (`pinned` = low0, high0, low1, high1, ...) into scratch buffers, of which
/// only the differences are kept.
ChunkSimulator sensitivity_simulator(ChunkSimulator base, std::vector<ChunkSimulator> pinned,
                                     const ReductionSpec& spec);

/// The same outputs on the CPU with the static draws shared: each path is drawn once from
/// `base`, and each variant (`pinned` as above, of `inputs[i]`) redraws only the part of the
/// draws that its input belongs to (kernels/model.h, redraw_part) before its months run.
ChunkSimulator shared_draw_sensitivity_simulator(const FlatScenario& base,
                                                 std::vector<const FlatScenario*> pinned,
                                                 const std::vector<PinnedInput>& inputs,
                                                 std::uint64_t seed, int threads,
                                                 const ReductionSpec& spec);

}  // namespace caprisk
