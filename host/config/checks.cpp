#include "host/config/checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kernels/schedule.h"

#include "host/errors.h"

namespace caprisk {

namespace {

bool all_zero(const Schedule& schedule) {
  for (const auto& point : schedule)
    if (point.value > 0) return false;
  return true;
}

bool all_zero_target(const Site& site) {
  return all_zero(site.target_gw);
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

}  // namespace caprisk

namespace caprisk {
namespace {

/// The largest and smallest values a distribution can draw (its support, or its quantiles at
/// the sampler's extreme uniforms where the support is open).
double highest(const Distribution& d) {
  return std::isfinite(d.upper) ? d.upper : quantile(d, 1.0 - 1.1641532182693481e-10);
}
double lowest(const Distribution& d) {
  return std::isfinite(d.lower) ? d.lower : quantile(d, 1.1641532182693481e-10);
}

double largest_value(const Schedule& schedule) {
  double most = 0;
  for (const auto& point : schedule) most = std::max(most, point.value);
  return most;
}

/// "0.93", "1.2e+03": numbers for messages.
std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

/// The sites' best case (the highest availability times the most power a site plans) below
/// its on-target threshold: it can never reach its target.
void power_below_target(const Scenario& s, std::vector<std::string>& out) {
  for (const Site& site : s.sites) {
    const double target = site.target_gw.back().value;
    const double availability = highest(site.power_availability);
    const double planned = largest_value(site.power_schedule);
    const double best = availability * planned;
    const double needed = (1 - s.on_target_tolerance) * target;
    const double typical = quantile(site.power_availability, 0.5) * planned;
    if (target > 0 && best > 0 && best < needed)
      out.push_back("site '" + site.name + "': its best-case power, " + number(availability) +
                    " availability x " + number(planned) + " GW planned = " + number(best) +
                    " GW, stays below " + number(100 * (1 - s.on_target_tolerance)) +
                    "% of its " + number(target) +
                    " GW target, so it can never reach the target (plan more power)");
    else if (target > 0 && typical < needed)
      out.push_back("site '" + site.name + "': at its median availability, " +
                    number(quantile(site.power_availability, 0.5)) + " x " + number(planned) +
                    " GW planned = " + number(typical) + " GW, below " +
                    number(100 * (1 - s.on_target_tolerance)) + "% of its " + number(target) +
                    " GW target: most paths can never reach the target (plan the headroom real "
                    "plans carry)");
  }
}

/// The most money a deal can ever bring (infinity for a per-GW deal without a cap).
double most_money(const Deal& deal) {
  if (deal.kind == DealKind::per_gw) return deal.cap;
  double total = 0;
  for (const auto& tranche : deal.tranches) total += tranche.value;
  return total;
}

/// A site whose deals, all of them closing and at the lowest cost per GW, cannot pay for its
/// target (even before other sites share the money).
void deals_below_target(const Scenario& s, std::vector<std::string>& out) {
  const double cheapest = lowest(s.funding.capex_per_gw);
  for (const Site& site : s.sites) {
    const double target = site.target_gw.back().value;
    double money = 0;
    std::string names;
    for (int d : site.funded_by) {
      const Deal& deal = s.funding.deals[d];
      if (highest(deal.closes) > 0.5) money += most_money(deal);
      names += (names.empty() ? "" : ", ") + deal.name;
    }
    const double payable = money / cheapest;
    if (target > 0 && payable < (1 - s.on_target_tolerance) * target)
      out.push_back("site '" + site.name + "': its deals (" + names + ") can pay for at most " +
                    number(payable) + " GW ($" + number(money) + "B at the lowest capex of $" +
                    number(cheapest) + "B per GW), below its " + number(target) +
                    " GW target, so it can never be fully paid for");
  }
}

/// Bounds on the GW of accelerators produced in month `p`: every input at its best, or at its
/// worst (before disruptions, which only remove supply).
struct SupplyBounds {
  double most = 0;
  double least = 0;
};

SupplyBounds supply_in_month(const Scenario& s, int p) {
  const Supply& supply = s.supply;
  SupplyBounds bounds;
  for (const Supplier& supplier : supply.suppliers) {
    const YieldCurve& y = supplier.hbm_yield.value_or(supply.hbm_yield);
    double low_wafers = INFINITY;
    for (const auto& point : supplier.wafers_per_month) low_wafers = std::min(low_wafers, point.value);
    bounds.most += largest_value(supplier.wafers_per_month) * highest(supplier.capacity_factor) *
                   std::max(highest(y.initial), highest(y.mature));
    const bool disrupted = supplier.disruption_rate_per_year > 0 &&
                           highest(supplier.disruption_loss) > 0;
    bounds.least += disrupted ? 0.0
                              : low_wafers * lowest(supplier.capacity_factor) *
                                    std::min(lowest(y.initial), lowest(y.mature));
  }
  const auto& pkg = supply.package_yield;
  const double per_good_stack_most = highest(supply.program_share) *
                                     highest(supply.stacks_per_wafer) *
                                     std::max(highest(pkg.initial), highest(pkg.mature)) /
                                     lowest(supply.stacks_per_accelerator) *
                                     highest(supply.kw_per_accelerator) / 1e6;
  const double per_good_stack_least = lowest(supply.program_share) *
                                      lowest(supply.stacks_per_wafer) *
                                      std::min(lowest(pkg.initial), lowest(pkg.mature)) /
                                      highest(supply.stacks_per_accelerator) *
                                      lowest(supply.kw_per_accelerator) / 1e6;
  bounds.most *= per_good_stack_most;
  bounds.least *= per_good_stack_least;
  if (!supply.packaging_cap_gw.empty()) {
    const double cap = schedule_value(supply.packaging_cap_gw.data(),
                                      static_cast<int>(supply.packaging_cap_gw.size()), p);
    bounds.most = std::min(bounds.most, cap);
    bounds.least = std::min(bounds.least, cap);
  }
  return bounds;
}

/// Supply that can never meet the sites' targets, or can never be what limits them.
void supply_traps(const Scenario& s, std::vector<std::string>& out) {
  const int shortest_lead = static_cast<int>(std::round(lowest(s.supply.lead_time_months)));
  const int longest_lead = static_cast<int>(std::round(highest(s.supply.lead_time_months)));
  double targets = 0, build_rates = 0;
  int first_target_month = s.horizon_months;
  for (const Site& site : s.sites) {
    targets += site.target_gw.back().value;
    build_rates += highest(site.build_rate_gw);
    for (int t = 0; t < s.horizon_months; ++t)
      if (schedule_value(site.target_gw.data(), static_cast<int>(site.target_gw.size()), t) > 0) {
        first_target_month = std::min(first_target_month, t);
        break;
      }
  }
  double most = 0, least_per_month = INFINITY;
  for (int p = 0; p + shortest_lead < s.horizon_months; ++p) {
    const SupplyBounds bounds = supply_in_month(s, p);
    most += bounds.most;
    least_per_month = std::min(least_per_month, bounds.least);
  }
  const std::string horizon_end = s.start.plus(s.horizon_months - 1).str();
  if (most > 0 && most < (1 - s.on_target_tolerance) * targets)
    out.push_back("supply: even with every input at its best, at most " + number(most) +
                  " GW of accelerators arrive by " + horizon_end + ", below the sites' " +
                  number(targets) + " GW of targets: supply can never meet demand");
  if (longest_lead <= first_target_month && least_per_month >= build_rates)
    out.push_back("supply: even with every input at its worst, at least " +
                  number(least_per_month) + " GW arrive every month, more than all sites can "
                  "install at once (" + number(build_rates) +
                  " GW a month): supply can never be what limits a site, and an HBM what-if "
                  "will change nothing");
}

}  // namespace

std::vector<std::string> scenario_warnings(const Scenario& s) {
  std::vector<std::string> warnings;
  for (const Scenario::ReaderWarning& warning : s.reader_warnings) warnings.push_back(warning.text());
  for (const Site& site : s.sites) {
    if (all_zero_target(site)) continue;
    if (largest_value(site.power_schedule) <= 0 || site.power_availability.upper <= 0)
      warnings.push_back("site '" + site.name + "' has no power in any month: it will be short "
                         "in every path");
    else if (site.build_rate_gw.upper <= 0)
      warnings.push_back("site '" + site.name + "' has build_rate_gw 0: it will be short in "
                         "every path");
  }
  power_below_target(s, warnings);
  deals_below_target(s, warnings);
  if (why_no_supply(s).empty()) supply_traps(s, warnings);
  return warnings;
}

}  // namespace caprisk
