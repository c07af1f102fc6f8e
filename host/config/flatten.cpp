#include "host/config/flatten.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/rng.h"

namespace caprisk {
namespace {

YieldParams flatten_yield(const YieldCurve& curve) {
  return YieldParams{curve.initial, curve.mature, curve.tau_months};
}

/// Largest possible value of every value cell (0 <= shortfall <= target, GW-months <= the
/// sum of the targets over the horizon, months late <= T), with a little slack so that
/// rounding in the model never lands a value above its bound.
std::vector<double> cell_upper_bounds(const Scenario& s, PathLayout layout,
                                      const std::vector<double>& target_by_month) {
  std::vector<double> upper(static_cast<std::size_t>(layout.value_count()), 0.0);
  const int sites = layout.site_count;
  const int months = s.horizon_months;
  auto bound = [](double x) { return x * (1 + 1e-12) + 1e-12; };
  auto target = [&](int site, int t) {
    return target_by_month[static_cast<std::size_t>(site) * months + t];
  };
  double program_months = 0;
  for (int i = 0; i < sites; ++i) {
    double site_months = 0;
    for (int t = 0; t < months; ++t) site_months += target(i, t);
    upper[layout.gw_months(i)] = bound(site_months);
    program_months += site_months;
    upper[layout.months_late(i)] = months;
  }
  upper[layout.gw_months(sites)] = bound(program_months);
  for (int r = 0; r < layout.report_count; ++r) {
    double program = 0;
    for (int i = 0; i < sites; ++i) {
      const double at = target(i, s.report_months[r]);
      upper[layout.shortfall(i, r)] = bound(at);
      program += at;
    }
    upper[layout.shortfall(sites, r)] = bound(program);
  }
  for (int g = 0; g < layout.group_count; ++g) {
    double group_months = 0;
    for (int i : s.groups[g].sites)
      for (int t = 0; t < months; ++t) group_months += target(i, t);
    upper[layout.group_gw_months(g)] = bound(group_months);
    for (int r = 0; r < layout.report_count; ++r) {
      double group = 0;
      for (int i : s.groups[g].sites) group += target(i, s.report_months[r]);
      upper[layout.group_shortfall(g, r)] = bound(group);
      upper[layout.group_all_short(g, r)] = 1.0;
    }
  }
  return upper;
}

/// Probability that a Poisson process with this yearly rate fires in a given month.
double monthly_probability(double rate_per_year) {
  return 1.0 - std::exp(-rate_per_year / 12.0);
}

}  // namespace

ScheduleRef FlatScenario::add_schedule(const Schedule& schedule) {
  ScheduleRef ref{static_cast<int>(points_.size()), static_cast<int>(schedule.size())};
  points_.insert(points_.end(), schedule.begin(), schedule.end());
  set_slopes(points_.data() + ref.first, ref.count);
  return ref;
}

ProgramParams FlatScenario::add_program(const Scenario& scenario) {
  const Supply& supply = scenario.supply;
  ProgramParams program{};
  program.program_share = supply.program_share;
  program.stacks_per_wafer = supply.stacks_per_wafer;
  program.stacks_per_accelerator = supply.stacks_per_accelerator;
  program.kw_per_accelerator = supply.kw_per_accelerator;
  program.lead_time_months = supply.lead_time_months;
  program.capex_per_gw = scenario.funding.capex_per_gw;
  program.hbm_yield = flatten_yield(supply.hbm_yield);
  program.package_yield = flatten_yield(supply.package_yield);
  if (!supply.packaging_cap_gw.empty())
    program.packaging_cap_gw = add_schedule(supply.packaging_cap_gw);
  program.static_key = component_key("program", "static");
  return program;
}

void FlatScenario::add_suppliers(const Supply& supply) {
  for (const Supplier& s : supply.suppliers) {
    SupplierParams p{};
    p.wafers_per_month = add_schedule(s.wafers_per_month);
    p.ramp_delay_months = s.ramp_delay_months;
    p.capacity_factor = s.capacity_factor;
    p.disruption_probability = monthly_probability(s.disruption_rate_per_year);
    p.disruption_loss = s.disruption_loss;
    p.disruption_recovery_months = s.disruption_recovery_months;
    p.has_own_yield = s.hbm_yield.has_value() ? 1 : 0;
    p.hbm_yield = flatten_yield(s.hbm_yield.value_or(supply.hbm_yield));
    p.static_key = component_key("supplier", s.name.c_str());
    p.event_key = component_key("supplier-events", s.name.c_str());
    suppliers_.push_back(p);
  }
}

void FlatScenario::add_deals(const Funding& funding) {
  for (const Deal& d : funding.deals) {
    DealParams p{};
    p.kind = d.kind == DealKind::schedule ? DealKindCode::schedule : DealKindCode::per_gw;
    if (d.kind == DealKind::schedule) p.tranches = add_schedule(d.tranches);
    p.start_month = d.start_month;
    p.lag_months = d.lag_months;
    p.advance = d.advance;
    p.per_gw = d.per_gw;
    p.cap = d.cap;
    p.delay_months = d.delay_months;
    p.closes = d.closes;
    p.cancel_probability = monthly_probability(d.cancel_hazard_per_year);
    p.static_key = component_key("deal", d.name.c_str());
    p.event_key = component_key("deal-events", d.name.c_str());
    deals_.push_back(p);
  }
}

void FlatScenario::add_sites(const std::vector<Site>& sites) {
  for (const Site& s : sites) {
    SiteParams p{};
    p.target_gw = add_schedule(s.target_gw);
    p.power_schedule = add_schedule(s.power_schedule);
    p.build_rate_gw = s.build_rate_gw;
    p.power_delay_months = s.power_delay_months;
    p.power_availability = s.power_availability;
    p.power_fails = s.power_fails;
    p.funding_first = static_cast<int>(funding_.size());
    p.funding_count = static_cast<int>(s.funded_by.size());
    funding_.insert(funding_.end(), s.funded_by.begin(), s.funded_by.end());
    p.final_target_gw = s.target_gw.back().value;
    // The first whole month at or after the last point (a --shift may make it fractional).
    p.target_last_month = static_cast<int>(std::ceil(s.target_gw.back().month));
    p.static_key = component_key("site", s.name.c_str());
    sites_.push_back(p);
  }
  site_order_.resize(sites.size());
  std::iota(site_order_.begin(), site_order_.end(), 0);
  std::stable_sort(site_order_.begin(), site_order_.end(),
                   [&](int a, int b) { return sites[a].priority < sites[b].priority; });
}

void FlatScenario::tabulate(int months, const ProgramParams& program) {
  for (const SiteParams& site : sites_)
    for (int t = 0; t < months; ++t)
      target_by_month_.push_back(schedule_value(points_.data(), site.target_gw, t));
  if (program.packaging_cap_gw.count > 0)
    for (int t = 0; t < months; ++t)
      packaging_cap_by_month_.push_back(
          schedule_value(points_.data(), program.packaging_cap_gw, t));
}

namespace {

CopulaParams flatten_copula(const Correlation& c) {
  CopulaParams copula{};
  copula.factor_count = static_cast<int>(c.factors.size());
  copula.student_t = c.copula == CopulaKind::student_t ? 1 : 0;
  copula.df = c.df;
  std::copy(c.cholesky.begin(), c.cholesky.end(), copula.cholesky);
  for (std::size_t k = 0; k < c.factors.size(); ++k)
    copula.factor_keys[k] = component_key("factor", c.factors[k].c_str());
  copula.chi_square_key = component_key("copula", "chi-square");
  return copula;
}

}  // namespace

FlatScenario::FlatScenario(const Scenario& scenario) {
  // The order of the add_* calls fixes where each schedule's points lie in the pool.
  const ProgramParams program = add_program(scenario);
  add_suppliers(scenario.supply);
  add_deals(scenario.funding);
  add_sites(scenario.sites);
  report_months_ = scenario.report_months;
  tabulate(scenario.horizon_months, program);
  for (const SiteGroup& group : scenario.groups) {
    group_first_.push_back(static_cast<int>(group_sites_.size()));
    group_sites_.insert(group_sites_.end(), group.sites.begin(), group.sites.end());
  }
  group_first_.push_back(static_cast<int>(group_sites_.size()));

  view_.horizon_months = scenario.horizon_months;
  view_.site_count = static_cast<int>(sites_.size());
  view_.supplier_count = static_cast<int>(suppliers_.size());
  view_.deal_count = static_cast<int>(deals_.size());
  view_.report_count = static_cast<int>(report_months_.size());
  view_.on_target_tolerance = scenario.on_target_tolerance;
  view_.points = points_.data();
  view_.suppliers = suppliers_.data();
  view_.deals = deals_.data();
  view_.sites = sites_.data();
  view_.funding = funding_.data();
  view_.site_order = site_order_.data();
  view_.report_months = report_months_.data();
  view_.target_by_month = target_by_month_.data();
  view_.packaging_cap_by_month =
      packaging_cap_by_month_.empty() ? nullptr : packaging_cap_by_month_.data();
  view_.group_count = static_cast<int>(scenario.groups.size());
  view_.group_first = group_first_.data();
  view_.group_sites = group_sites_.empty() ? nullptr : group_sites_.data();
  view_.program = program;
  view_.copula = flatten_copula(scenario.correlation);
  spec_.layout = layout();
  spec_.percentiles = scenario.percentiles;
  spec_.upper = cell_upper_bounds(scenario, spec_.layout, target_by_month_);
  for (const auto& group : scenario.groups) spec_.group_sites.push_back(group.sites);
}

}  // namespace caprisk
