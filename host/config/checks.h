// Checks of a valid scenario as a whole: traps a config can fall into although every value in
// it is allowed (no supply can ever arrive, a site can never build). Run and validate use them.
#pragma once

#include <string>
#include <vector>

#include "host/config/scenario.h"

namespace caprisk {

/// The reasons no supply can ever reach any site within the horizon, from the supports of the
/// inputs alone; empty when some path can deliver.
std::string why_no_supply(const Scenario& scenario);

/// A scenario in which no supply can ever arrive is almost always a mistake: UserError unless
/// the user asked for it (`allowed`, from --allow-no-supply).
void refuse_if_no_supply(const Scenario& scenario, bool allowed);

/// The structural traps of a scenario, each naming the site or component and the numbers
/// (docs/CONFIG.md, "Warnings"): what the reader dropped (a report month after the horizon), a
/// site that can never build or never reach its target with its best-case power, a site whose
/// deals can never pay for its target, supply that can never meet demand or never bind.
std::vector<std::string> scenario_warnings(const Scenario& scenario);

}  // namespace caprisk
