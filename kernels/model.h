// One path of the capacity-risk model (docs/MODEL.md): a pure function of (seed, path index,
// scenario), shared by the CPU and CUDA backends.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/copula.h"
#include "kernels/distributions.h"
#include "kernels/min_max.h"
#include "kernels/rng.h"
#include "kernels/scenario_view.h"
#include "kernels/schedule.h"

namespace caprisk {

/// Shortfalls at or below this (1 kW) count as met (docs/MODEL.md, "Sites ...", step 4).
constexpr double shortfall_tolerance_gw = 1e-6;
/// Slack when flooring installed GW for per-GW releases, so that 0.1 GW installed ten times
/// counts as one whole GW despite binary rounding (docs/MODEL.md, "Funding: deals").
constexpr double whole_gw_slack = 1e-9;
/// Ring buffer of installed whole GW per deal, long enough for the largest lag.
constexpr int installed_history_months = ModelLimits::max_per_gw_lag + 1;

/// Sampled static inputs of a yield curve (docs/MODEL.md, "Supply").
struct YieldCurveInputs {
  double initial;
  double mature;
  double tau_months;
  CAPRISK_HD double at(double t) const {
    return mature - (mature - initial) * exp(-t / tau_months);
  }
};

struct ProgramInputs {
  double program_share;
  double stacks_per_wafer;
  double stacks_per_accelerator;
  double kw_per_accelerator;
  int lead_time_months;
  double capex_per_gw;
  YieldCurveInputs hbm_yield;
  YieldCurveInputs package_yield;
};

struct SupplierInputs {
  double ramp_delay_months;
  double capacity_factor;
  YieldCurveInputs hbm_yield;  ///< own curve, or the program's
};

struct DealInputs {
  double delay_months;
  bool closes;
  int start_month;  ///< first month it receives anything (may be past the horizon)
};

struct SiteInputs {
  double power_delay_months;
  double power_availability;
  bool power_fails;
  double build_rate_gw;
};

/// Every static draw of a path (the values after sampling; caprisk trace prints them).
struct PathStatics {
  ProgramInputs program;
  SupplierInputs suppliers[ModelLimits::max_suppliers];
  DealInputs deals[ModelLimits::max_deals];
  SiteInputs sites[ModelLimits::max_sites];
};

/// Columns of PathOutput::statics (the tail drivers' inputs, docs/ARCHITECTURE.md): the
/// program's draws, then per supplier, per deal and per site.
struct StaticColumns {
  /// program_share, stacks_per_wafer, stacks_per_accelerator, kw_per_accelerator,
  /// lead_time_months (rounded, as the model uses it), capex_per_gw, then the HBM and the
  /// packaging yield curves (initial, mature, tau_months each).
  static constexpr int program = 12;
  static constexpr int per_supplier = 5;  ///< ramp_delay_months, capacity_factor, its HBM curve
  static constexpr int per_deal = 2;      ///< delay_months, closes (0 or 1)
  /// build_rate_gw, power delay_months, power availability, power fails (0 or 1)
  static constexpr int per_site = 4;
  int suppliers;
  int deals;
  int sites;
  CAPRISK_HD int supplier(int k) const { return program + per_supplier * k; }
  CAPRISK_HD int deal(int d) const { return supplier(suppliers) + per_deal * d; }
  CAPRISK_HD int site(int i) const { return deal(deals) + per_site * i; }
  CAPRISK_HD int count() const { return site(sites); }
};

CAPRISK_DEVICE inline YieldCurveInputs sample_yield_curve(const YieldParams& p,
                                                          RandomStream& stream,
                                                          const FactorUniforms& factors) {
  YieldCurveInputs y;
  y.initial = draw(p.initial, stream, factors);
  y.mature = draw(p.mature, stream, factors);
  y.tau_months = draw(p.tau_months, stream, factors);
  return y;
}

CAPRISK_DEVICE inline ProgramInputs sample_program(const ProgramParams& p, std::uint64_t seed,
                                                   std::uint64_t path,
                                                   const FactorUniforms& factors) {
  RandomStream stream(stream_key(seed, p.static_key), path);
  ProgramInputs in;
  in.program_share = draw(p.program_share, stream, factors);
  in.stacks_per_wafer = draw(p.stacks_per_wafer, stream, factors);
  in.stacks_per_accelerator = draw(p.stacks_per_accelerator, stream, factors);
  in.kw_per_accelerator = draw(p.kw_per_accelerator, stream, factors);
  // Rounded to the nearest month, halves away from zero; capped so the int cannot overflow.
  in.lead_time_months =
      static_cast<int>(min_of(round(draw(p.lead_time_months, stream, factors)), 1.0e6));
  in.capex_per_gw = draw(p.capex_per_gw, stream, factors);
  in.hbm_yield = sample_yield_curve(p.hbm_yield, stream, factors);
  in.package_yield = sample_yield_curve(p.package_yield, stream, factors);
  return in;
}

CAPRISK_DEVICE inline SupplierInputs sample_supplier(const SupplierParams& p,
                                                     const ProgramInputs& program,
                                                     std::uint64_t seed, std::uint64_t path,
                                                     const FactorUniforms& factors) {
  RandomStream stream(stream_key(seed, p.static_key), path);
  SupplierInputs in;
  in.ramp_delay_months = draw(p.ramp_delay_months, stream, factors);
  in.capacity_factor = draw(p.capacity_factor, stream, factors);
  in.hbm_yield =
      p.has_own_yield ? sample_yield_curve(p.hbm_yield, stream, factors) : program.hbm_yield;
  return in;
}

/// First month t >= month + delay, and never before month 0.
CAPRISK_HD inline int delayed_month(double month, double delay) {
  return static_cast<int>(max_of(0.0, min_of(ceil(month + delay), 1.0e6)));
}

CAPRISK_DEVICE inline DealInputs sample_deal(const DealParams& p, const SchedulePoint* points,
                                             std::uint64_t seed, std::uint64_t path,
                                             const FactorUniforms& factors) {
  RandomStream stream(stream_key(seed, p.static_key), path);
  DealInputs in;
  in.delay_months = draw(p.delay_months, stream, factors);
  in.closes = draw(p.closes, stream, factors) > 0.5;
  const double start = p.kind == DealKindCode::schedule ? points[p.tranches.first].month
                                                        : static_cast<double>(p.start_month);
  in.start_month = delayed_month(start, in.delay_months);
  return in;
}

CAPRISK_DEVICE inline SiteInputs sample_site(const SiteParams& p, std::uint64_t seed,
                                             std::uint64_t path, const FactorUniforms& factors) {
  RandomStream stream(stream_key(seed, p.static_key), path);
  SiteInputs in;
  in.power_delay_months = draw(p.power_delay_months, stream, factors);
  in.power_availability = draw(p.power_availability, stream, factors);
  in.power_fails = draw(p.power_fails, stream, factors) > 0.5;
  in.build_rate_gw = draw(p.build_rate_gw, stream, factors);
  return in;
}

/// A supplier's one active disruption (merged events), O(1) state.
struct DisruptionState {
  double loss = 0.0;
  int end_month = 0;  ///< first month without the loss
};

/// Draws month `month`'s disruption event of one supplier and returns the loss in force.
CAPRISK_DEVICE inline double disruption_loss(const SupplierParams& p, DisruptionState& state,
                                             std::uint64_t seed, std::uint64_t path, int month) {
  if (p.disruption_probability > 0.0) {
    double u[4];
    monthly_uniforms(stream_key(seed, p.event_key), path, month, u);
    if (u[0] < p.disruption_probability) {
      const double loss = quantile(p.disruption_loss, u[1]);
      const int months =
          static_cast<int>(min_of(ceil(quantile(p.disruption_recovery_months, u[2])), 1.0e6));
      if (months > 0) {
        const bool active = month < state.end_month;
        state.loss = active ? max_of(state.loss, loss) : loss;
        state.end_month =
            active && state.end_month > month + months ? state.end_month : month + months;
      }
    }
  }
  return month < state.end_month ? state.loss : 0.0;
}

/// Limits within this of the smallest (1 W) count as tied, so that binary rounding
/// (0.5 - 0.4 = 0.09999999999999998) never decides a tie.
constexpr double binding_tie_gw = 1e-9;

/// Picks the smallest of the three limits of a short site-month; ties: power, supply, funding.
CAPRISK_HD inline std::uint8_t binding_constraint(double room, double supply, double funds) {
  const double smallest = min_of(room, min_of(supply, funds)) + binding_tie_gw;
  if (room <= smallest) return binding_power;
  if (supply <= smallest) return binding_supply;
  return binding_funding;
}

/// A path's static draws: the copula factors, then the program's, each supplier's, each deal's
/// and each site's inputs, each part from its own stream.
CAPRISK_DEVICE inline void sample_statics(const ScenarioView& s, std::uint64_t seed,
                                          std::uint64_t path, FactorUniforms& factors,
                                          PathStatics& d) {
  sample_factors(s.copula, seed, path, factors);
  d.program = sample_program(s.program, seed, path, factors);
  for (int k = 0; k < s.supplier_count; ++k)
    d.suppliers[k] = sample_supplier(s.suppliers[k], d.program, seed, path, factors);
  for (int i = 0; i < s.deal_count; ++i)
    d.deals[i] = sample_deal(s.deals[i], s.points, seed, path, factors);
  for (int i = 0; i < s.site_count; ++i) d.sites[i] = sample_site(s.sites[i], seed, path, factors);
}

/// Draws again, from scenario `s`, the part of a path's static draws that static column
/// `column` (StaticColumns) belongs to: the program's (and every supplier's, which follow it),
/// one supplier's, one deal's or one site's. Every part has its own stream, so when `s` is the
/// path's scenario with that one input pinned, `d` becomes exactly what `s` draws: a
/// sensitivity run draws each path once and redraws one part per variant.
CAPRISK_DEVICE inline void redraw_part(const ScenarioView& s, std::uint64_t seed,
                                       std::uint64_t path, const FactorUniforms& factors,
                                       int column, PathStatics& d) {
  const StaticColumns columns{s.supplier_count, s.deal_count, s.site_count};
  if (column < columns.supplier(0)) {
    d.program = sample_program(s.program, seed, path, factors);
    for (int k = 0; k < s.supplier_count; ++k)
      d.suppliers[k] = sample_supplier(s.suppliers[k], d.program, seed, path, factors);
  } else if (column < columns.deal(0)) {
    const int k = (column - columns.supplier(0)) / StaticColumns::per_supplier;
    d.suppliers[k] = sample_supplier(s.suppliers[k], d.program, seed, path, factors);
  } else if (column < columns.site(0)) {
    const int i = (column - columns.deal(0)) / StaticColumns::per_deal;
    d.deals[i] = sample_deal(s.deals[i], s.points, seed, path, factors);
  } else {
    const int i = (column - columns.site(0)) / StaticColumns::per_site;
    d.sites[i] = sample_site(s.sites[i], seed, path, factors);
  }
}

/// Simulates path `path` from its static draws `draws` (sample_statics) and writes its
/// outputs (docs/MODEL.md, "Outputs of one path"). `trace`, when given, receives the
/// month-by-month detail (host-side tests and tools).
CAPRISK_DEVICE inline void simulate_from_statics(const ScenarioView& s, std::uint64_t seed,
                                                 std::uint64_t path, const PathStatics& draws,
                                                 const PathOutput& out,
                                                 const PathTrace* trace = nullptr) {
  constexpr int max_sites = ModelLimits::max_sites;
  constexpr int max_suppliers = ModelLimits::max_suppliers;
  constexpr int max_deals = ModelLimits::max_deals;
  const PathLayout layout{s.site_count, s.report_count, s.group_count};

  const ProgramInputs& program = draws.program;
  const SupplierInputs* suppliers = draws.suppliers;
  DisruptionState disruptions[max_suppliers];
  const DealInputs* deals = draws.deals;
  bool cancelled[max_deals];
  int next_tranche[max_deals];
  double received[max_deals];  // USD B received so far
  double charged[max_deals];   // GW charged so far (G_d)
  int installed_whole_gw[max_deals][installed_history_months];
  for (int d = 0; d < s.deal_count; ++d) {
    cancelled[d] = false;
    next_tranche[d] = 0;
    received[d] = 0.0;
    charged[d] = 0.0;
  }

  const SiteInputs* sites = draws.sites;
  double installed[max_sites];
  double site_shortfall[max_sites];  // this month's, for the groups
  double gw_months[max_sites];
  int on_target_month[max_sites];
  for (int i = 0; i < s.site_count; ++i) {
    installed[i] = 0.0;
    gw_months[i] = 0.0;
    on_target_month[i] = -1;
  }
  if (out.statics != nullptr) {
    const StaticColumns columns{s.supplier_count, s.deal_count, s.site_count};
    const std::uint64_t stride = out.stride;
    const auto put = [&](int column, double value) { out.statics[column * stride] = value; };
    const auto put_curve = [&](int column, const YieldCurveInputs& y) {
      put(column, y.initial);
      put(column + 1, y.mature);
      put(column + 2, y.tau_months);
    };
    put(0, program.program_share);
    put(1, program.stacks_per_wafer);
    put(2, program.stacks_per_accelerator);
    put(3, program.kw_per_accelerator);
    put(4, program.lead_time_months);
    put(5, program.capex_per_gw);
    put_curve(6, program.hbm_yield);
    put_curve(9, program.package_yield);
    for (int k = 0; k < s.supplier_count; ++k) {
      put(columns.supplier(k), suppliers[k].ramp_delay_months);
      put(columns.supplier(k) + 1, suppliers[k].capacity_factor);
      put_curve(columns.supplier(k) + 2, suppliers[k].hbm_yield);
    }
    for (int d = 0; d < s.deal_count; ++d) {
      put(columns.deal(d), deals[d].delay_months);
      put(columns.deal(d) + 1, deals[d].closes ? 1.0 : 0.0);
    }
    for (int i = 0; i < s.site_count; ++i) {
      put(columns.site(i), sites[i].build_rate_gw);
      put(columns.site(i) + 1, sites[i].power_delay_months);
      put(columns.site(i) + 2, sites[i].power_availability);
      put(columns.site(i) + 3, sites[i].power_fails ? 1.0 : 0.0);
    }
  }
  if (trace != nullptr && trace->statics != nullptr) {
    PathStatics& statics = *trace->statics;
    statics.program = program;
    for (int k = 0; k < s.supplier_count; ++k) statics.suppliers[k] = suppliers[k];
    for (int d = 0; d < s.deal_count; ++d) statics.deals[d] = deals[d];
    for (int i = 0; i < s.site_count; ++i) statics.sites[i] = sites[i];
  }

  // Supply produced in month p arrives at p + lead; everything below is per GW.
  const double gw_per_good_stack =
      program.program_share / program.stacks_per_accelerator * program.kw_per_accelerator / 1.0e6;
  double inventory = 0.0;
  int report = 0;
  for (int t = 0; t < s.horizon_months; ++t) {
    // 1. Supply arriving this month.
    const int produced = t - program.lead_time_months;
    if (produced >= 0) {
      double good_stacks = 0.0;
      for (int k = 0; k < s.supplier_count; ++k) {
        const SupplierParams& p = s.suppliers[k];
        const double loss = disruption_loss(p, disruptions[k], seed, path, produced);
        if (trace != nullptr && trace->disruption_loss != nullptr)
          trace->disruption_loss[k * s.horizon_months + produced] = loss;
        const double wafers = schedule_value(s.points, p.wafers_per_month,
                                             produced - suppliers[k].ramp_delay_months) *
                              suppliers[k].capacity_factor * (1.0 - loss);
        good_stacks += wafers * suppliers[k].hbm_yield.at(produced);
      }
      double gw = good_stacks * program.stacks_per_wafer * program.package_yield.at(produced) *
                  gw_per_good_stack;
      if (s.packaging_cap_by_month != nullptr) gw = min_of(gw, s.packaging_cap_by_month[produced]);
      inventory += gw;
      if (trace != nullptr && trace->arrived_gw != nullptr) trace->arrived_gw[t] = gw;
      if (trace != nullptr && trace->produced_gw != nullptr) trace->produced_gw[produced] = gw;
    } else if (trace != nullptr && trace->arrived_gw != nullptr) {
      trace->arrived_gw[t] = 0.0;
    }

    // 2. Deals receive their money, then cancellations are drawn.
    for (int d = 0; d < s.deal_count; ++d) {
      const DealParams& p = s.deals[d];
      if (!deals[d].closes || cancelled[d] || t < deals[d].start_month) continue;
      if (p.kind == DealKindCode::schedule) {
        const SchedulePoint* tranches = s.points + p.tranches.first;
        while (next_tranche[d] < p.tranches.count &&
               delayed_month(tranches[next_tranche[d]].month, deals[d].delay_months) <= t) {
          received[d] += tranches[next_tranche[d]].value;
          ++next_tranche[d];
        }
      } else {
        const int tau = t - 1 - p.lag_months;
        const int whole_gw = tau < 0 ? 0 : installed_whole_gw[d][tau % installed_history_months];
        received[d] = max_of(received[d], min_of(p.cap, p.advance + p.per_gw * whole_gw));
      }
      if (p.cancel_probability > 0.0) {
        double u[4];
        monthly_uniforms(stream_key(seed, p.event_key), path, t, u);
        if (u[0] < p.cancel_probability) cancelled[d] = true;
      }
    }
    if (trace != nullptr && trace->received_usd_b != nullptr)
      for (int d = 0; d < s.deal_count; ++d)
        trace->received_usd_b[d * s.horizon_months + t] = received[d];
    if (trace != nullptr && trace->cancelled != nullptr)
      for (int d = 0; d < s.deal_count; ++d)
        trace->cancelled[d * s.horizon_months + t] = cancelled[d] ? 1 : 0;
    // GW each deal's money pays for so far (M_d / capex), once per month rather than once per
    // site it funds.
    double paid_gw[max_deals];
    for (int d = 0; d < s.deal_count; ++d) paid_gw[d] = received[d] / program.capex_per_gw;

    // 3. Sites in priority order.
    const bool is_report_month = report < s.report_count && s.report_months[report] == t;
    double program_shortfall = 0.0;
    for (int k = 0; k < s.site_count; ++k) {
      const int i = s.site_order[k];
      const SiteParams& p = s.sites[i];
      const SiteInputs& in = sites[i];
      const int* funded_by = s.funding + p.funding_first;
      const double target = s.target_by_month[i * s.horizon_months + t];
      const double power = in.power_fails
                               ? 0.0
                               : in.power_availability * schedule_value(s.points, p.power_schedule,
                                                                        t - in.power_delay_months);
      const double room = min_of(min_of(power, target) - installed[i], in.build_rate_gw);
      double funds = 0.0;
      for (int j = 0; j < p.funding_count; ++j) {
        const int d = funded_by[j];
        funds += max_of(0.0, paid_gw[d] - charged[d]);
      }
      const double supply_before = inventory;
      const double alloc = max_of(0.0, min_of(min_of(room, inventory), funds));
      installed[i] += alloc;
      inventory -= alloc;
      double to_charge = alloc;
      for (int j = 0; j < p.funding_count && to_charge > 0.0; ++j) {
        const int d = funded_by[j];
        const double charge = min_of(to_charge, max_of(0.0, paid_gw[d] - charged[d]));
        charged[d] += charge;
        to_charge -= charge;
      }

      // 4. Shortfall, binding constraint, months late.
      double shortfall = target - installed[i];
      if (shortfall <= shortfall_tolerance_gw) shortfall = 0.0;
      site_shortfall[i] = shortfall;
      gw_months[i] += shortfall;
      program_shortfall += shortfall;
      if (on_target_month[i] < 0 && installed[i] + shortfall_tolerance_gw >=
                                        (1.0 - s.on_target_tolerance) * p.final_target_gw)
        on_target_month[i] = t;
      const std::uint8_t binding = shortfall > 0.0 ? binding_constraint(room, supply_before, funds)
                                                   : static_cast<std::uint8_t>(binding_none);
      if (is_report_month) {
        out.values[layout.shortfall(i, report) * out.stride] = shortfall;
        out.codes[layout.binding(i, report) * out.stride] = binding;
      }
      if (trace != nullptr) {
        const int at = i * s.horizon_months + t;
        if (trace->installed_gw != nullptr) trace->installed_gw[at] = installed[i];
        if (trace->shortfall_gw != nullptr) trace->shortfall_gw[at] = shortfall;
        if (trace->power_gw != nullptr) trace->power_gw[at] = power;
        if (trace->binding != nullptr) trace->binding[at] = binding;
        if (trace->room_gw != nullptr) trace->room_gw[at] = room;
        if (trace->funds_gw != nullptr) trace->funds_gw[at] = funds;
        if (trace->allocated_gw != nullptr) trace->allocated_gw[at] = alloc;
      }
    }
    if (is_report_month) {
      out.values[layout.shortfall(s.site_count, report) * out.stride] = program_shortfall;
      for (int g = 0; g < s.group_count; ++g) {
        double group_shortfall = 0.0;
        bool all_short = true;
        for (int k = s.group_first[g]; k < s.group_first[g + 1]; ++k) {
          group_shortfall += site_shortfall[s.group_sites[k]];
          all_short = all_short && site_shortfall[s.group_sites[k]] > 0.0;
        }
        out.values[layout.group_shortfall(g, report) * out.stride] = group_shortfall;
        out.values[layout.group_all_short(g, report) * out.stride] = all_short ? 1.0 : 0.0;
      }
      ++report;
    }
    if (trace != nullptr && trace->inventory_gw != nullptr) trace->inventory_gw[t] = inventory;

    // Installed whole GW per deal at the end of month t, for later per-GW releases: one pass
    // over the sites (in index order, as a per-deal sum would take them).
    double deal_gw[max_deals];
    for (int d = 0; d < s.deal_count; ++d) deal_gw[d] = 0.0;
    for (int i = 0; i < s.site_count; ++i)
      for (int j = 0; j < s.sites[i].funding_count; ++j)
        deal_gw[s.funding[s.sites[i].funding_first + j]] += installed[i];
    for (int d = 0; d < s.deal_count; ++d)
      if (s.deals[d].kind == DealKindCode::per_gw)
        installed_whole_gw[d][t % installed_history_months] =
            static_cast<int>(min_of(floor(deal_gw[d] + whole_gw_slack), 2.0e9));
    if (trace != nullptr && trace->charged_gw != nullptr)
      for (int d = 0; d < s.deal_count; ++d) trace->charged_gw[d * s.horizon_months + t] = charged[d];
  }

  double program_gw_months = 0.0;
  for (int i = 0; i < s.site_count; ++i) {
    out.values[layout.gw_months(i) * out.stride] = gw_months[i];
    program_gw_months += gw_months[i];
    // Months late, clipped to [0, T]; a site never on target is censored at T.
    const int reached = on_target_month[i];
    const int late = (reached < 0 ? s.horizon_months : reached) - s.sites[i].target_last_month;
    out.values[layout.months_late(i) * out.stride] =
        static_cast<double>(late < 0 ? 0 : (late > s.horizon_months ? s.horizon_months : late));
    out.codes[layout.censored(i) * out.stride] = static_cast<std::uint8_t>(reached < 0 ? 1 : 0);
  }
  out.values[layout.gw_months(s.site_count) * out.stride] = program_gw_months;
  for (int g = 0; g < s.group_count; ++g) {
    double group_gw_months = 0.0;
    for (int k = s.group_first[g]; k < s.group_first[g + 1]; ++k)
      group_gw_months += gw_months[s.group_sites[k]];
    out.values[layout.group_gw_months(g) * out.stride] = group_gw_months;
  }
}

/// Simulates path `path` and writes its outputs (docs/MODEL.md, "Outputs of one path"):
/// its static draws, then its months. `trace`, when given, receives the month-by-month
/// detail (host-side tests and tools).
CAPRISK_DEVICE inline void simulate_path(const ScenarioView& s, std::uint64_t seed,
                                         std::uint64_t path, const PathOutput& out,
                                         const PathTrace* trace = nullptr) {
  FactorUniforms factors;
  PathStatics draws;
  sample_statics(s, seed, path, factors, draws);
  simulate_from_statics(s, seed, path, draws, out, trace);
}

}  // namespace caprisk
