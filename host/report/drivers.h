// drivers.csv and its headline lines: what the worst 5% of paths of each site, ALL and group
// have in common (docs/ANALYSIS.md, "Tail drivers").
#pragma once

#include <string>

#include "host/config/scenario.h"
#include "host/reduce/results.h"

namespace caprisk {

/// Per entity (sites, ALL, groups): every static uncertain input's mean in the tail against
/// its mean over all paths, in the inputs' units and in standard deviations, sorted by the
/// size of that shift; then the binding constraints' shares of the short site-months in the
/// tail against all paths. Columns in docs/CONFIG.md, "Outputs".
std::string drivers_csv(const Scenario& scenario, const RunResults& results);

/// Two lines for the headline: ALL's tail, its three inputs furthest from their means, and the
/// constraint that binds most in it; empty when ALL has no tail.
std::string drivers_text(const Scenario& scenario, const RunResults& results);

}  // namespace caprisk
