#include "host/config/checks.h"

#include <cmath>

#include "host/errors.h"

namespace caprisk {

namespace {

bool all_zero(const Schedule& schedule) {
  for (const auto& point : schedule)
    if (point.value > 0) return false;
  return true;
}

}  // namespace

/// The reasons no supply can ever reach any site within the horizon, from the supports of the
/// inputs alone; empty when some path can deliver.
std::string why_no_supply(const Scenario& s) {
  const Supply& supply = s.supply;
  const int shortest_lead = static_cast<int>(std::round(supply.lead_time_months.lower));
  if (shortest_lead >= s.horizon_months)
    return "supply.lead_time_months: the shortest lead time (" + std::to_string(shortest_lead) +
           " months) is not shorter than the horizon (" + std::to_string(s.horizon_months) +
           " months), so nothing produced can arrive";
  if (supply.program_share.upper <= 0) return "supply.program_share is 0";
  if (supply.stacks_per_wafer.upper <= 0) return "supply.stacks_per_wafer is 0";
  if (supply.kw_per_accelerator.upper <= 0) return "supply.kw_per_accelerator is 0";
  if (supply.package_yield.initial.upper <= 0 && supply.package_yield.mature.upper <= 0)
    return "supply.package_yield is 0";
  if (!supply.packaging_cap_gw.empty() && all_zero(supply.packaging_cap_gw))
    return "supply.packaging_cap_gw is 0 throughout";
  for (const Supplier& supplier : supply.suppliers) {
    const YieldCurve& y = supplier.hbm_yield.value_or(supply.hbm_yield);
    if (!all_zero(supplier.wafers_per_month) && supplier.capacity_factor.upper > 0 &&
        (y.initial.upper > 0 || y.mature.upper > 0))
      return "";
  }
  return "supply.suppliers: every supplier has zero wafers, a zero capacity factor or a zero "
         "HBM yield";
}

/// A scenario in which no supply can ever arrive is almost always a mistake: refuse it unless
/// the user asked for it (--allow-no-supply).
void refuse_if_no_supply(const Scenario& scenario, bool allowed) {
  const std::string reason = why_no_supply(scenario);
  if (!reason.empty() && !allowed)
    throw UserError(scenario.source_path + ": no supply can ever reach the sites: " + reason +
                    " (every path would be a full shortfall; pass --allow-no-supply to run "
                    "it anyway)");
}

/// Sites that can never install anything, whatever the paths; reported as warnings.
std::vector<std::string> sites_that_cannot_build(const Scenario& s) {
  std::vector<std::string> notes;
  for (const Site& site : s.sites) {
    if (all_zero(site.target_gw)) continue;
    if (all_zero(site.power_schedule) || site.power_availability.upper <= 0)
      notes.push_back("site '" + site.name + "' has no power in any month");
    else if (site.build_rate_gw.upper <= 0)
      notes.push_back("site '" + site.name + "' has build_rate_gw 0");
  }
  return notes;
}

}  // namespace caprisk
