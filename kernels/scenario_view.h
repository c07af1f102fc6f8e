// The flattened scenario the kernels read: trivially copyable structs of plain parameters and
// pointers into arrays the host owns (host/config/flatten.h builds it).
#pragma once

#include <cstdint>

#include "kernels/distributions.h"
#include "kernels/limits.h"
#include "kernels/schedule.h"

namespace caprisk {

/// Y(t) = mature - (mature - initial) exp(-t / tau); three static inputs.
struct YieldParams {
  Distribution initial;
  Distribution mature;
  Distribution tau_months;
};

struct SupplierParams {
  ScheduleRef wafers_per_month;
  Distribution ramp_delay_months;
  Distribution capacity_factor;
  double disruption_probability;  ///< per month: 1 - exp(-rate / 12)
  Distribution disruption_loss;
  Distribution disruption_recovery_months;
  int has_own_yield;
  YieldParams hbm_yield;
  std::uint64_t static_key;  ///< stream of the static inputs
  std::uint64_t event_key;   ///< stream of the monthly disruption draws
};

enum class DealKindCode : std::int32_t { schedule = 0, per_gw = 1 };

struct DealParams {
  DealKindCode kind;
  ScheduleRef tranches;  ///< schedule deals: (month index, USD B)
  int start_month;       ///< per_gw deals
  int lag_months;
  double advance;
  double per_gw;
  double cap;
  Distribution delay_months;
  Distribution closes;
  double cancel_probability;  ///< per month: 1 - exp(-hazard / 12)
  std::uint64_t static_key;
  std::uint64_t event_key;
};

struct SiteParams {
  ScheduleRef target_gw;
  ScheduleRef power_schedule;
  Distribution build_rate_gw;
  Distribution power_delay_months;
  Distribution power_availability;
  Distribution power_fails;
  int funding_first;  ///< into ScenarioView::funding
  int funding_count;
  double final_target_gw;  ///< value of the target schedule's last point
  int target_last_month;   ///< month index of that point
  std::uint64_t static_key;
};

struct ProgramParams {
  Distribution program_share;
  Distribution stacks_per_wafer;
  Distribution stacks_per_accelerator;
  Distribution kw_per_accelerator;
  Distribution lead_time_months;
  Distribution capex_per_gw;
  YieldParams hbm_yield;
  YieldParams package_yield;
  ScheduleRef packaging_cap_gw;  ///< count 0: no cap
  std::uint64_t static_key;
};

struct CopulaParams {
  int factor_count;
  int student_t;  ///< 0: Gaussian copula
  double df;
  double cholesky[ModelLimits::max_factors * ModelLimits::max_factors];  ///< row-major, K x K
  std::uint64_t factor_keys[ModelLimits::max_factors];
  std::uint64_t chi_square_key;
};

struct ScenarioView {
  int horizon_months;
  int site_count;
  int supplier_count;
  int deal_count;
  int report_count;
  double on_target_tolerance;
  const SchedulePoint* points;
  const SupplierParams* suppliers;
  const DealParams* deals;
  const SiteParams* sites;
  const int* funding;        ///< deal indices of every site's funded_by, concatenated
  const int* site_order;     ///< sites by priority, ties in config order
  const int* report_months;  ///< month indices, increasing
  /// Every site's target at each month, [site * horizon_months + t]: the target schedule
  /// evaluated once on the host rather than on every path (same values, same rounding).
  const double* target_by_month;
  /// The packaging cap at each production month 0 .. horizon_months - 1; null: no cap.
  const double* packaging_cap_by_month;
  /// Site groups (reported like ALL): group g's sites are group_sites[group_first[g] ..
  /// group_first[g + 1]), in the order the config lists them.
  int group_count;
  const int* group_first;
  const int* group_sites;
  ProgramParams program;
  CopulaParams copula;
};

/// Where one path's outputs go (docs/MODEL.md, "Outputs of one path"). Cells are
/// cell-major with `stride` between consecutive cells, so a chunk of paths fills contiguous
/// columns; see PathLayout for the cell numbering.
struct PathOutput {
  double* values;
  std::uint8_t* codes;
  std::uint64_t stride;
  /// The path's static draws, one column each (kernels/model.h, StaticColumns), for the tail
  /// drivers; null: not wanted.
  double* statics = nullptr;
};

struct PathStatics;  // kernels/model.h: a path's static draws

/// Month-by-month detail of one path, for tests and tools that replay a path (caprisk trace);
/// any pointer may be null.
/// Per-site, per-deal and per-supplier arrays are indexed [index * horizon_months + t].
struct PathTrace {
  double* installed_gw = nullptr;    ///< X_i(t)
  double* shortfall_gw = nullptr;    ///< shortfall_i(t)
  double* power_gw = nullptr;        ///< P_i(t)
  std::uint8_t* binding = nullptr;   ///< BindingCode of the site-month
  double* arrived_gw = nullptr;      ///< supply arriving in month t
  double* inventory_gw = nullptr;    ///< I after the month's allocation
  double* received_usd_b = nullptr;  ///< cumulative money received by each deal
  double* charged_gw = nullptr;      ///< cumulative GW charged to each deal (G_d)
  std::uint8_t* cancelled = nullptr; ///< 1 from the month a deal is cancelled
  double* disruption_loss = nullptr; ///< per supplier: the loss on month t's production
  double* produced_gw = nullptr;     ///< supply produced in month t (arrives after the lead time)
  double* room_gw = nullptr;         ///< per site: min(min(P, target) - X, build rate)
  double* funds_gw = nullptr;        ///< per site: GW its deals' unspent money pays for
  double* allocated_gw = nullptr;    ///< per site: what it installs this month
  PathStatics* statics = nullptr;    ///< the static draws
};

/// Binding constraint of a site-month (docs/MODEL.md, "Sites and the monthly allocation").
enum BindingCode : std::uint8_t {
  binding_none = 0,
  binding_power = 1,
  binding_supply = 2,
  binding_funding = 3
};
/// Number of BindingCode values: the size of every per-code count array.
constexpr int binding_code_count = 4;

/// Cell numbering of PathOutput. Values: shortfall_gw per (entity, report month) with entity =
/// site index or site_count for ALL; then shortfall_gw_months per entity; then months_late per
/// site; then, per group, shortfall_gw per report month, shortfall_gw_months, and 1 when every
/// site of the group is short at a report month (its mean is the joint probability). Codes:
/// binding constraint per (site, report month); then 1 if months_late is censored.
struct PathLayout {
  int site_count;
  int report_count;
  int group_count = 0;
  CAPRISK_HD int shortfall(int entity, int report) const { return entity * report_count + report; }
  CAPRISK_HD int gw_months(int entity) const { return (site_count + 1) * report_count + entity; }
  CAPRISK_HD int months_late(int site) const { return gw_months(site_count + 1) + site; }
  CAPRISK_HD int group_shortfall(int group, int report) const {
    return months_late(site_count) + group * report_count + report;
  }
  CAPRISK_HD int group_gw_months(int group) const {
    return group_shortfall(group_count, 0) + group;
  }
  CAPRISK_HD int group_all_short(int group, int report) const {
    return group_gw_months(group_count) + group * report_count + report;
  }
  CAPRISK_HD int value_count() const { return group_all_short(group_count, 0); }
  CAPRISK_HD int binding(int site, int report) const { return site * report_count + report; }
  CAPRISK_HD int censored(int site) const { return site_count * report_count + site; }
  CAPRISK_HD int code_count() const { return censored(site_count); }
};

}  // namespace caprisk
