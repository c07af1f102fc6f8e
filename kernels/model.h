// One path of the capacity-risk model (docs/MODEL.md): a pure function of (seed, path index,
// scenario), shared by the CPU and CUDA backends.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/copula.h"
#include "kernels/lanes.h"
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
  double tau_months;  ///< Y(t) = mature - (mature - initial) exp(-t / tau): YieldCurveLanes::at
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

/// Limits within this of the smallest (1 W) count as tied, so that binary rounding
/// (0.5 - 0.4 = 0.09999999999999998) never decides a tie.
constexpr double binding_tie_gw = 1e-9;

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

#include "kernels/model_lanes-inl.h"

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
