// The static uncertain inputs of a scenario, and the scenario with one of them pinned: what
// caprisk sensitivity swings (docs/ANALYSIS.md, "Sensitivity").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "host/config/scenario.h"

namespace caprisk {

/// A static uncertain input: a distribution that is not fixed and is drawn once per path
/// (not the per-event disruption losses and recoveries), or an event with 0 < p < 1.
struct PinnedInput {
  std::string path;    ///< its config path, as --set writes it: sites[Abilene TX].build_rate_gw
  bool event = false;  ///< a Bernoulli (close_probability, failure_probability)
  double low = 0;      ///< the value pinned at "low": P10, or 0 (the event forced off)
  double high = 0;     ///< at "high": P90, or 1 (forced on)
  double probability = 0;  ///< an event's probability in the scenario (0 for the others)
  int column = 0;  ///< its column among a path's static draws (kernels/model.h, StaticColumns)
};

/// The static uncertain inputs of `scenario`, in the config's order (supply, its suppliers,
/// funding and its deals, then the sites).
std::vector<PinnedInput> static_inputs(const Scenario& scenario);

/// The largest magnitude each static-draw column is summed with by the tail drivers: 64 times
/// the larger of |Q(1e-6)| and |Q(1 - 1e-6)| of its distribution (1 for an event, and for a
/// column that is always 0), so that draws are summed in fixed point (docs/ARCHITECTURE.md,
/// "Tail drivers").
std::vector<double> static_bounds(const Scenario& scenario);

/// `scenario` with input `index` of static_inputs() fixed at `value` (an event: forced on for
/// 1, off for 0). Its draw is still consumed, so every other input keeps its numbers.
Scenario pinned(const Scenario& scenario, std::size_t index, double value);

}  // namespace caprisk
