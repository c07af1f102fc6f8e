// The months of W paths in lock-step (included by kernels/model.h into namespace caprisk, and
// into each SIMD target's namespace by host/run/simd_batch.cpp; see kernels/lanes-inl.h for
// why): no include guard and no #include. Scalar min_of / max_of are called as
// ::caprisk::min_of, since the lane overloads hide them here; functions of this file and of
// kernels/lanes-inl.h whose arguments are caprisk's scalar types are called as (name)(...),
// which keeps argument-dependent lookup from also finding caprisk's own copy.
// NOLINTBEGIN(build/header_guard)

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
    // Through int64: a lane before month 0 (not `valid`) draws a block it never uses.
    const Mask<W> whole_month = to_int64(month);
    Pack<std::uint64_t, W> block;
    for (int l = 0; l < W; ++l) block.v[l] = static_cast<std::uint64_t>(whole_month.v[l]);
    const PhiloxLanes<W> bits = philox_lanes<W>(key, path, block);
    const Mask<W> event = valid & (uniforms(bits.word[0]) < p.disruption_probability);
    if (any(event)) {
      for (int l = 0; l < W; ++l) {
        if (event.v[l] == 0) continue;
        const double loss =
            quantile(p.disruption_loss, bits_to_uniform(static_cast<std::uint32_t>(bits.word[1].v[l])));
        const int months = static_cast<int>(::caprisk::min_of(
            ceil(quantile(p.disruption_recovery_months,
                          bits_to_uniform(static_cast<std::uint32_t>(bits.word[2].v[l])))),
            1.0e6));
        if (months > 0) {
          const int m = static_cast<int>(month.v[l]);
          const int end = static_cast<int>(state.end_month.v[l]);
          const bool active = m < end;
          state.loss.v[l] = active ? ::caprisk::max_of(state.loss.v[l], loss) : loss;
          state.end_month.v[l] = active && end > m + months ? end : m + months;
        }
      }
    }
  }
  return select(month < state.end_month, state.loss, splat<W>(0.0));
}

/// A yield curve's static inputs on each lane.
template <int W>
struct YieldCurveLanes {
  Real<W> initial;
  Real<W> mature;
  Real<W> tau_months;
  /// Y(t) on each lane (docs/MODEL.md, "Supply"), with the model's exp.
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
      (lanes_of<W>)(draws, [](const PathStatics& d) { return d.program.stacks_per_wafer; });
  const R capex_per_gw =
      (lanes_of<W>)(draws, [](const PathStatics& d) { return d.program.capex_per_gw; });
  const YieldCurveLanes<W> package_yield = (curve_lanes<W>)(
      draws, [](const PathStatics& d) -> const YieldCurveInputs& { return d.program.package_yield; });

  // The monthly event streams' keys, once per path rather than once per month.
  std::uint64_t event_key[max_suppliers];
  for (int k = 0; k < s.supplier_count; ++k)
    event_key[k] = stream_key(seed, s.suppliers[k].event_key);
  std::uint64_t cancel_key[max_deals];
  for (int d = 0; d < s.deal_count; ++d) cancel_key[d] = stream_key(seed, s.deals[d].event_key);
  R ramp_delay[max_suppliers];
  R capacity_factor[max_suppliers];
  YieldCurveLanes<W> hbm_yield[max_suppliers];
  DisruptionLanes<W> disruptions[max_suppliers];
  for (int k = 0; k < s.supplier_count; ++k) {
    ramp_delay[k] =
        (lanes_of<W>)(draws, [k](const PathStatics& d) { return d.suppliers[k].ramp_delay_months; });
    capacity_factor[k] =
        (lanes_of<W>)(draws, [k](const PathStatics& d) { return d.suppliers[k].capacity_factor; });
    hbm_yield[k] = (curve_lanes<W>)(draws, [k](const PathStatics& d) -> const YieldCurveInputs& {
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
        const R loss = (disruption_loss)(p, disruptions[k], event_key[k], path,
                                       produced_month, arrives);
        if (trace != nullptr && trace->disruption_loss != nullptr && arrives.v[0] != 0)
          trace->disruption_loss[k * s.horizon_months + static_cast<int>(produced_month.v[0])] =
              loss.v[0];
        const R scheduled =
            (schedule_lanes)(s.points, p.wafers_per_month, produced_month - ramp_delay[k]);
        const R wafers = scheduled * capacity_factor[k] * (1.0 - loss);
        good_stacks += wafers * hbm_yield[k].at(produced_month);
      }
      R gw = good_stacks * stacks_per_wafer * package_yield.at(produced_month) * gw_per_good_stack;
      if (s.packaging_cap_by_month != nullptr)
        for (int l = 0; l < W; ++l)
          if (arrives.v[l] != 0)
            gw.v[l] = ::caprisk::min_of(gw.v[l],
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
        const PhiloxLanes<W> bits = philox_lanes<W>(cancel_key[d], path, block);
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
                                 (schedule_lanes)(s.points, p.power_schedule,
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
      // The binding constraint, where it is written: the smallest of the three limits of a
      // short site-month, ties (within binding_tie_gw) going to power, then supply, then
      // funding.
      std::uint8_t binding[W] = {};
      if (is_report_month || trace != nullptr) {
        const R smallest = min_of(room, min_of(supply_before, funds)) + binding_tie_gw;
        const R code =
            select(shortfall > 0.0,
                   select(room <= smallest, splat<W>(double{binding_power}),
                          select(supply_before <= smallest, splat<W>(double{binding_supply}),
                                 splat<W>(double{binding_funding}))),
                   splat<W>(double{binding_none}));
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
                  ::caprisk::min_of(floor(deal_gw[d].v[l] + whole_gw_slack), 2.0e9));
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

// NOLINTEND(build/header_guard)
