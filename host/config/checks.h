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

/// Sites that can never install anything, whatever the paths (warnings).
std::vector<std::string> sites_that_cannot_build(const Scenario& scenario);

}  // namespace caprisk
