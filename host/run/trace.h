// caprisk trace (docs/ANALYSIS.md, "Replaying a path"): one path of a run, month by month,
// from the same model code and the same random numbers as the run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/config/flatten.h"
#include "host/config/scenario.h"
#include "kernels/model.h"

namespace caprisk {

/// Everything simulate_path can tell of one path.
struct PathReplay {
  std::uint64_t path = 0;
  PathStatics statics{};
  /// [site * horizon + t]
  std::vector<double> installed, shortfall, power, room, funds, allocated;
  std::vector<std::uint8_t> binding;
  /// [t]
  std::vector<double> produced, arrived, inventory;
  /// [deal * horizon + t]
  std::vector<double> received, charged;
  std::vector<std::uint8_t> cancelled;
  /// [supplier * horizon + t]: the loss on month t's production
  std::vector<double> disruption_loss;
  /// The path's outputs, as a run computes them (PathLayout's cells, one path).
  std::vector<double> values;
  std::vector<std::uint8_t> codes;
};

/// Path `path` of the flat scenario under `seed`.
PathReplay replay_path(const FlatScenario& flat, std::uint64_t seed, std::uint64_t path);

/// Long-format CSV (month,kind,name,quantity,value): the static draws (month `static`), then
/// per month the supply, each supplier's disruption loss, each deal and each site.
std::string trace_csv(const Scenario& scenario, const PathReplay& replay);

/// For the terminal: the draws, the events with their months, and each site's outcome.
std::string trace_text(const Scenario& scenario, const PathReplay& replay);

}  // namespace caprisk
