// One path of the capacity-risk model (docs/MODEL.md): a pure function of (seed, path index,
// scenario), shared by the CPU and CUDA backends.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

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
    return mature - (mature - initial) * model_exp(-t / tau_months);
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

/// The supplier's one active disruption (merged events) on each lane, O(1) state.
template <int W>
struct DisruptionLanes {
  Real<W> loss;
  Real<W> end_month;  ///< first month without the loss (a whole number)
};

/// Draws month `month[l]`'s disruption event of one supplier (stream key `key`) on every lane
/// where `valid` is set, and returns the loss in force. The month's block is drawn for all lanes
/// at once; an event (rare) is applied lane by lane. Months are whole numbers held in doubles.
template <int W>
CAPRISK_DEVICE inline Real<W> disruption_loss(const SupplierParams& p, DisruptionLanes<W>& state,
                                              std::uint64_t key, const Pack<std::uint64_t, W>& path,
                                              const Real<W>& month, const Mask<W>& valid) {
  if (p.disruption_probability > 0.0) {
    Pack<std::uint64_t, W> block;
    for (int l = 0; l < W; ++l) block.v[l] = static_cast<std::uint64_t>(month.v[l]);
    const PhiloxLanes<W> bits = philox_lanes<W>(key, path, block);
    const Mask<W> event = valid & (uniforms(bits.word[0]) < p.disruption_probability);
    if (any(event)) {
      for (int l = 0; l < W; ++l) {
        if (event.v[l] == 0) continue;
        const double loss =
            quantile(p.disruption_loss, bits_to_uniform(static_cast<std::uint32_t>(bits.word[1].v[l])));
        const int months = static_cast<int>(min_of(
            ceil(quantile(p.disruption_recovery_months,
                          bits_to_uniform(static_cast<std::uint32_t>(bits.word[2].v[l])))),
            1.0e6));
        if (months > 0) {
          const int m = static_cast<int>(month.v[l]);
          const int end = static_cast<int>(state.end_month.v[l]);
          const bool active = m < end;
          state.loss.v[l] = active ? max_of(state.loss.v[l], loss) : loss;
          state.end_month.v[l] = active && end > m + months ? end : m + months;
        }
      }
    }
  }
  return select(month < state.end_month, state.loss, splat<W>(0.0));
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

/// A yield curve's static inputs on each lane.
template <int W>
struct YieldCurveLanes {
  Real<W> initial;
  Real<W> mature;
  Real<W> tau_months;
  /// YieldCurveInputs::at on each lane, the same operations.
  CAPRISK_HD Real<W> at(const Real<W>& t) const {
    return mature - (mature - initial) * exp_of(-t / tau_months);
  }
};

template <int W, typename Field>
CAPRISK_DEVICE inline Real<W> lanes_of(const PathStatics* draws, Field field) {
  Real<W> r;
  for (int l = 0; l < W; ++l) r.v[l] = field(draws[l]);
  return r;
}

template <int W, typename Curve>
CAPRISK_DEVICE inline YieldCurveLanes<W> curve_lanes(const PathStatics* draws, Curve curve) {
  YieldCurveLanes<W> y;
  for (int l = 0; l < W; ++l) {
    const YieldCurveInputs& c = curve(draws[l]);
    y.initial.v[l] = c.initial;
    y.mature.v[l] = c.mature;
    y.tau_months.v[l] = c.tau_months;
  }
  return y;
}

/// Writes one path's static draws into its PathOutput::statics columns (StaticColumns).
CAPRISK_DEVICE inline void write_statics(const ScenarioView& s, const PathStatics& d, double* at,
                                     std::uint64_t stride) {
  const StaticColumns columns{s.supplier_count, s.deal_count, s.site_count};
  const auto put = [&](int column, double value) { at[column * stride] = value; };
  const auto put_curve = [&](int column, const YieldCurveInputs& y) {
    put(column, y.initial);
    put(column + 1, y.mature);
    put(column + 2, y.tau_months);
  };
  put(0, d.program.program_share);
  put(1, d.program.stacks_per_wafer);
  put(2, d.program.stacks_per_accelerator);
  put(3, d.program.kw_per_accelerator);
  put(4, d.program.lead_time_months);
  put(5, d.program.capex_per_gw);
  put_curve(6, d.program.hbm_yield);
  put_curve(9, d.program.package_yield);
  for (int k = 0; k < s.supplier_count; ++k) {
    put(columns.supplier(k), d.suppliers[k].ramp_delay_months);
    put(columns.supplier(k) + 1, d.suppliers[k].capacity_factor);
    put_curve(columns.supplier(k) + 2, d.suppliers[k].hbm_yield);
  }
  for (int i = 0; i < s.deal_count; ++i) {
    put(columns.deal(i), d.deals[i].delay_months);
    put(columns.deal(i) + 1, d.deals[i].closes ? 1.0 : 0.0);
  }
  for (int i = 0; i < s.site_count; ++i) {
    put(columns.site(i), d.sites[i].build_rate_gw);
    put(columns.site(i) + 1, d.sites[i].power_delay_months);
    put(columns.site(i) + 2, d.sites[i].power_availability);
    put(columns.site(i) + 3, d.sites[i].power_fails ? 1.0 : 0.0);
  }
}

/// Simulates W paths in lock-step from their static draws (`draws[l]`, sample_statics, for
/// path `path[l]`) and writes their outputs (docs/MODEL.md, "Outputs of one path"): lane l's
/// go to column l of `out` (out.values + l, ...). Branches are masks: every lane does what
/// the path alone would do, with the same operations in the same order, so its outputs are
/// bit for bit those of W = 1. `trace`, when given, receives lane 0's month-by-month detail
/// (host-side tests and tools; with W = 1).
template <int W>
CAPRISK_DEVICE inline void simulate_lanes(const ScenarioView& s, std::uint64_t seed,
                                          const Pack<std::uint64_t, W>& path,
                                          const PathStatics* draws, const PathOutput& out,
                                          const PathTrace* trace = nullptr) {
  using R = Real<W>;
  using M = Mask<W>;
  using I = Pack<int, W>;
  constexpr int max_sites = ModelLimits::max_sites;
  constexpr int max_suppliers = ModelLimits::max_suppliers;
  constexpr int max_deals = ModelLimits::max_deals;
  const PathLayout layout{s.site_count, s.report_count, s.group_count};
  const std::uint64_t stride = out.stride;

  if (out.statics != nullptr)
    for (int l = 0; l < W; ++l) write_statics(s, draws[l], out.statics + l, stride);
  if (trace != nullptr && trace->statics != nullptr) {
    PathStatics& statics = *trace->statics;
    statics.program = draws[0].program;
    for (int k = 0; k < s.supplier_count; ++k) statics.suppliers[k] = draws[0].suppliers[k];
    for (int d = 0; d < s.deal_count; ++d) statics.deals[d] = draws[0].deals[d];
    for (int i = 0; i < s.site_count; ++i) statics.sites[i] = draws[0].sites[i];
  }

  // The program's draws, lane by lane. Supply produced in month p arrives at p + lead; everything
  // below is per GW.
  R lead;  // months, a whole number
  R gw_per_good_stack;
  for (int l = 0; l < W; ++l) {
    const ProgramInputs& program = draws[l].program;
    lead.v[l] = program.lead_time_months;
    gw_per_good_stack.v[l] = program.program_share / program.stacks_per_accelerator *
                             program.kw_per_accelerator / 1.0e6;
  }
  const R stacks_per_wafer =
      lanes_of<W>(draws, [](const PathStatics& d) { return d.program.stacks_per_wafer; });
  const R capex_per_gw =
      lanes_of<W>(draws, [](const PathStatics& d) { return d.program.capex_per_gw; });
  const YieldCurveLanes<W> package_yield = curve_lanes<W>(
      draws, [](const PathStatics& d) -> const YieldCurveInputs& { return d.program.package_yield; });

  R ramp_delay[max_suppliers];
  R capacity_factor[max_suppliers];
  YieldCurveLanes<W> hbm_yield[max_suppliers];
  DisruptionLanes<W> disruptions[max_suppliers];
  for (int k = 0; k < s.supplier_count; ++k) {
    ramp_delay[k] =
        lanes_of<W>(draws, [k](const PathStatics& d) { return d.suppliers[k].ramp_delay_months; });
    capacity_factor[k] =
        lanes_of<W>(draws, [k](const PathStatics& d) { return d.suppliers[k].capacity_factor; });
    hbm_yield[k] = curve_lanes<W>(draws, [k](const PathStatics& d) -> const YieldCurveInputs& {
      return d.suppliers[k].hbm_yield;
    });
    disruptions[k].loss = splat<W>(0.0);
    disruptions[k].end_month = splat<W>(0.0);
  }

  M open_from_start[max_deals];  // closes, and not cancelled
  R start_month[max_deals];       // a whole number
  I next_tranche[max_deals];
  R delay[max_deals];
  R received[max_deals];  // USD B received so far
  R charged[max_deals];   // GW charged so far (G_d)
  // Whole GW, as doubles where the lanes are vectors and as ints where one lane (a GPU thread)
  // keeps it: the same whole numbers either way.
  using WholeGw = std::conditional_t<vector_pack<W>, R, I>;
  WholeGw installed_whole_gw[max_deals][installed_history_months];
  for (int d = 0; d < s.deal_count; ++d) {
    for (int l = 0; l < W; ++l) {
      const DealInputs& in = draws[l].deals[d];
      open_from_start[d].v[l] = in.closes ? -1 : 0;
      start_month[d].v[l] = in.start_month;
      delay[d].v[l] = in.delay_months;
      next_tranche[d].v[l] = 0;
    }
    received[d] = splat<W>(0.0);
    charged[d] = splat<W>(0.0);
  }

  M power_fails[max_sites];
  R power_availability[max_sites];
  R power_delay[max_sites];
  R build_rate[max_sites];
  R installed[max_sites];
  R site_shortfall[max_sites];  // this month's, for the groups
  R gw_months[max_sites];
  R on_target_month[max_sites];  // -1 until reached; a whole number
  for (int i = 0; i < s.site_count; ++i) {
    for (int l = 0; l < W; ++l) {
      const SiteInputs& in = draws[l].sites[i];
      power_fails[i].v[l] = in.power_fails ? -1 : 0;
      power_availability[i].v[l] = in.power_availability;
      power_delay[i].v[l] = in.power_delay_months;
      build_rate[i].v[l] = in.build_rate_gw;
    }
    on_target_month[i] = splat<W>(-1.0);
    installed[i] = splat<W>(0.0);
    gw_months[i] = splat<W>(0.0);
  }

  R inventory = splat<W>(0.0);
  int report = 0;
  for (int t = 0; t < s.horizon_months; ++t) {
    // 1. Supply arriving this month.
    const R produced_month = static_cast<double>(t) - lead;
    const M arrives = produced_month >= 0.0;
    if (any(arrives)) {
      R good_stacks = splat<W>(0.0);
      for (int k = 0; k < s.supplier_count; ++k) {
        const SupplierParams& p = s.suppliers[k];
        const R loss = disruption_loss(p, disruptions[k], stream_key(seed, p.event_key), path,
                                       produced_month, arrives);
        if (trace != nullptr && trace->disruption_loss != nullptr && arrives.v[0] != 0)
          trace->disruption_loss[k * s.horizon_months + static_cast<int>(produced_month.v[0])] =
              loss.v[0];
        const R scheduled =
            schedule_lanes(s.points, p.wafers_per_month, produced_month - ramp_delay[k]);
        const R wafers = scheduled * capacity_factor[k] * (1.0 - loss);
        good_stacks += wafers * hbm_yield[k].at(produced_month);
      }
      R gw = good_stacks * stacks_per_wafer * package_yield.at(produced_month) * gw_per_good_stack;
      if (s.packaging_cap_by_month != nullptr)
        for (int l = 0; l < W; ++l)
          if (arrives.v[l] != 0)
            gw.v[l] = min_of(gw.v[l],
                             s.packaging_cap_by_month[static_cast<int>(produced_month.v[l])]);
      inventory = select(arrives, inventory + gw, inventory);
      if (trace != nullptr && arrives.v[0] != 0) {
        if (trace->arrived_gw != nullptr) trace->arrived_gw[t] = gw.v[0];
        if (trace->produced_gw != nullptr)
          trace->produced_gw[static_cast<int>(produced_month.v[0])] = gw.v[0];
      }
    }
    if (trace != nullptr && trace->arrived_gw != nullptr && arrives.v[0] == 0)
      trace->arrived_gw[t] = 0.0;

    // 2. Deals receive their money, then cancellations are drawn.
    for (int d = 0; d < s.deal_count; ++d) {
      const DealParams& p = s.deals[d];
      const M open = open_from_start[d] & (static_cast<double>(t) >= start_month[d]);
      if (!any(open)) continue;
      if (p.kind == DealKindCode::schedule) {
        const SchedulePoint* tranches = s.points + p.tranches.first;
        for (int l = 0; l < W; ++l) {
          if (open.v[l] == 0) continue;
          while (next_tranche[d].v[l] < p.tranches.count &&
                 delayed_month(tranches[next_tranche[d].v[l]].month, delay[d].v[l]) <= t) {
            received[d].v[l] += tranches[next_tranche[d].v[l]].value;
            ++next_tranche[d].v[l];
          }
        }
      } else {
        const int tau = t - 1 - p.lag_months;
        R whole_gw = splat<W>(0.0);
        if (tau >= 0) {
          const WholeGw& kept = installed_whole_gw[d][tau % installed_history_months];
          if constexpr (vector_pack<W>) {
            whole_gw = kept;
          } else {
            for (int l = 0; l < W; ++l) whole_gw.v[l] = static_cast<double>(kept.v[l]);
          }
        }
        const R release = min_of(splat<W>(p.cap), p.advance + p.per_gw * whole_gw);
        received[d] = select(open, max_of(received[d], release), received[d]);
      }
      if (p.cancel_probability > 0.0) {
        Pack<std::uint64_t, W> block;
        for (int l = 0; l < W; ++l) block.v[l] = static_cast<std::uint64_t>(t);
        const PhiloxLanes<W> bits = philox_lanes<W>(stream_key(seed, p.event_key), path, block);
        const M cancels = open & (uniforms(bits.word[0]) < p.cancel_probability);
        open_from_start[d] = open_from_start[d] & !cancels;
      }
    }
    if (trace != nullptr && trace->received_usd_b != nullptr)
      for (int d = 0; d < s.deal_count; ++d)
        trace->received_usd_b[d * s.horizon_months + t] = received[d].v[0];
    if (trace != nullptr && trace->cancelled != nullptr)
      for (int d = 0; d < s.deal_count; ++d)
        trace->cancelled[d * s.horizon_months + t] =
            draws[0].deals[d].closes && open_from_start[d].v[0] == 0 ? 1 : 0;
    // GW each deal's money pays for so far (M_d / capex), once per month rather than once per
    // site it funds.
    R paid_gw[max_deals];
    for (int d = 0; d < s.deal_count; ++d) paid_gw[d] = received[d] / capex_per_gw;

    // 3. Sites in priority order.
    const bool is_report_month = report < s.report_count && s.report_months[report] == t;
    R program_shortfall = splat<W>(0.0);
    for (int k = 0; k < s.site_count; ++k) {
      const int i = s.site_order[k];
      const SiteParams& p = s.sites[i];
      const int* funded_by = s.funding + p.funding_first;
      const double target = s.target_by_month[i * s.horizon_months + t];
      const R power = select(power_fails[i], splat<W>(0.0),
                             power_availability[i] *
                                 schedule_lanes(s.points, p.power_schedule,
                                                static_cast<double>(t) - power_delay[i]));
      const R room = min_of(min_of(power, splat<W>(target)) - installed[i], build_rate[i]);
      R funds = splat<W>(0.0);
      for (int j = 0; j < p.funding_count; ++j) {
        const int d = funded_by[j];
        funds += max_of(0.0, paid_gw[d] - charged[d]);
      }
      const R supply_before = inventory;
      const R alloc = max_of(0.0, min_of(min_of(room, inventory), funds));
      installed[i] += alloc;
      inventory -= alloc;
      R to_charge = alloc;
      for (int j = 0; j < p.funding_count; ++j) {
        const M charging = to_charge > 0.0;
        if (!any(charging)) break;
        const int d = funded_by[j];
        const R charge = min_of(to_charge, max_of(0.0, paid_gw[d] - charged[d]));
        charged[d] = select(charging, charged[d] + charge, charged[d]);
        to_charge = select(charging, to_charge - charge, to_charge);
      }

      // 4. Shortfall, binding constraint, months late.
      R shortfall = target - installed[i];
      shortfall = select(shortfall <= shortfall_tolerance_gw, splat<W>(0.0), shortfall);
      site_shortfall[i] = shortfall;
      gw_months[i] += shortfall;
      program_shortfall += shortfall;
      const double on_target_gw = (1.0 - s.on_target_tolerance) * p.final_target_gw;
      const M reached = installed[i] + shortfall_tolerance_gw >= on_target_gw;
      on_target_month[i] = select((on_target_month[i] < 0.0) & reached,
                                  splat<W>(static_cast<double>(t)), on_target_month[i]);
      // The binding constraint, where it is written (binding_constraint's rule, on every lane).
      std::uint8_t binding[W] = {};
      if (is_report_month || trace != nullptr) {
        const R smallest = min_of(room, min_of(supply_before, funds)) + binding_tie_gw;
        const R code =
            select(shortfall > 0.0,
                   select(room <= smallest, splat<W>(binding_power),
                          select(supply_before <= smallest, splat<W>(binding_supply),
                                 splat<W>(binding_funding))),
                   splat<W>(binding_none));
        for (int l = 0; l < W; ++l) binding[l] = static_cast<std::uint8_t>(code.v[l]);
      }
      if (is_report_month) {
        store(shortfall, out.values + layout.shortfall(i, report) * stride);
        std::uint8_t* codes = out.codes + layout.binding(i, report) * stride;
        for (int l = 0; l < W; ++l) codes[l] = binding[l];
      }
      if (trace != nullptr) {
        const int at = i * s.horizon_months + t;
        if (trace->installed_gw != nullptr) trace->installed_gw[at] = installed[i].v[0];
        if (trace->shortfall_gw != nullptr) trace->shortfall_gw[at] = shortfall.v[0];
        if (trace->power_gw != nullptr) trace->power_gw[at] = power.v[0];
        if (trace->binding != nullptr) trace->binding[at] = binding[0];
        if (trace->room_gw != nullptr) trace->room_gw[at] = room.v[0];
        if (trace->funds_gw != nullptr) trace->funds_gw[at] = funds.v[0];
        if (trace->allocated_gw != nullptr) trace->allocated_gw[at] = alloc.v[0];
      }
    }
    if (is_report_month) {
      store(program_shortfall, out.values + layout.shortfall(s.site_count, report) * stride);
      for (int g = 0; g < s.group_count; ++g) {
        R group_shortfall = splat<W>(0.0);
        M all_short = splat_mask<W>(true);
        for (int k = s.group_first[g]; k < s.group_first[g + 1]; ++k) {
          group_shortfall += site_shortfall[s.group_sites[k]];
          all_short = all_short & (site_shortfall[s.group_sites[k]] > 0.0);
        }
        store(group_shortfall, out.values + layout.group_shortfall(g, report) * stride);
        store(select(all_short, splat<W>(1.0), splat<W>(0.0)),
              out.values + layout.group_all_short(g, report) * stride);
      }
      ++report;
    }
    if (trace != nullptr && trace->inventory_gw != nullptr) trace->inventory_gw[t] = inventory.v[0];

    // Installed whole GW per deal at the end of month t, for later per-GW releases: one pass
    // over the sites (in index order, as a per-deal sum would take them).
    R deal_gw[max_deals];
    for (int d = 0; d < s.deal_count; ++d) deal_gw[d] = splat<W>(0.0);
    for (int i = 0; i < s.site_count; ++i)
      for (int j = 0; j < s.sites[i].funding_count; ++j)
        deal_gw[s.funding[s.sites[i].funding_first + j]] += installed[i];
    for (int d = 0; d < s.deal_count; ++d)
      if (s.deals[d].kind == DealKindCode::per_gw)
        for (int l = 0; l < W; ++l)
          installed_whole_gw[d][t % installed_history_months].v[l] =
              static_cast<decltype(installed_whole_gw[d][0].v[0] + 0)>(
                  min_of(floor(deal_gw[d].v[l] + whole_gw_slack), 2.0e9));
    if (trace != nullptr && trace->charged_gw != nullptr)
      for (int d = 0; d < s.deal_count; ++d)
        trace->charged_gw[d * s.horizon_months + t] = charged[d].v[0];
  }

  R program_gw_months = splat<W>(0.0);
  for (int i = 0; i < s.site_count; ++i) {
    store(gw_months[i], out.values + layout.gw_months(i) * stride);
    program_gw_months += gw_months[i];
    // Months late, clipped to [0, T]; a site never on target is censored at T.
    double* months_late = out.values + layout.months_late(i) * stride;
    std::uint8_t* censored = out.codes + layout.censored(i) * stride;
    for (int l = 0; l < W; ++l) {
      const int reached = static_cast<int>(on_target_month[i].v[l]);
      const int late = (reached < 0 ? s.horizon_months : reached) - s.sites[i].target_last_month;
      months_late[l] =
          static_cast<double>(late < 0 ? 0 : (late > s.horizon_months ? s.horizon_months : late));
      censored[l] = static_cast<std::uint8_t>(reached < 0 ? 1 : 0);
    }
  }
  store(program_gw_months, out.values + layout.gw_months(s.site_count) * stride);
  for (int g = 0; g < s.group_count; ++g) {
    R group_gw_months = splat<W>(0.0);
    for (int k = s.group_first[g]; k < s.group_first[g + 1]; ++k)
      group_gw_months += gw_months[s.group_sites[k]];
    store(group_gw_months, out.values + layout.group_gw_months(g) * stride);
  }
}

/// Simulates path `path` from its static draws `draws` (sample_statics) and writes its
/// outputs: simulate_lanes with one lane. `trace`, when given, receives the month-by-month
/// detail (host-side tests and tools).
CAPRISK_DEVICE inline void simulate_from_statics(const ScenarioView& s, std::uint64_t seed,
                                                 std::uint64_t path, const PathStatics& draws,
                                                 const PathOutput& out,
                                                 const PathTrace* trace = nullptr) {
  Pack<std::uint64_t, 1> lane;
  lane.v[0] = path;
  simulate_lanes<1>(s, seed, lane, &draws, out, trace);
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
