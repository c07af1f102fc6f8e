// The model of docs/MODEL.md on cases worked out by hand, on distributions with a known answer,
// and on invariants that every sampled path must satisfy.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "test_support.h"

namespace caprisk {
namespace {

using testing::hand_scenario;
using testing::scenario_from;
using testing::Simulation;
using testing::Trace;

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "test bug: '" << from << "' not in the scenario";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ModelByHand, SupplyThenFundingBinds) {
  const Trace trace(scenario_from(hand_scenario), 0);
  // Months 0-4: 0.1 GW arrives and is installed each month (supply binds; at month 4 supply
  // and funding tie at 0.1 and the tie goes to supply). From month 5 the deal's 0.5 GW is
  // spent: funding binds and the shortfall stays at 0.5.
  const double expected[12] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  for (int t = 0; t < 12; ++t) {
    EXPECT_NEAR(trace.shortfall_at(0, t), expected[t], 1e-12) << "month " << t;
    EXPECT_EQ(trace.binding_at(0, t), t <= 4 ? binding_supply : binding_funding) << "month " << t;
  }
  const PathLayout layout = trace.flat.layout();
  EXPECT_NEAR(trace.values[layout.shortfall(0, 0)], 0.9, 1e-12);
  EXPECT_NEAR(trace.values[layout.shortfall(0, 1)], 0.5, 1e-12);
  EXPECT_NEAR(trace.values[layout.shortfall(0, 2)], 0.5, 1e-12);
  EXPECT_NEAR(trace.values[layout.shortfall(1, 2)], 0.5, 1e-12);  // ALL = the one site
  EXPECT_EQ(trace.codes[layout.binding(0, 1)], binding_supply);
  EXPECT_EQ(trace.codes[layout.binding(0, 2)], binding_funding);
  // 0.9 + 0.8 + 0.7 + 0.6 + 0.5 + 7 x 0.5 GW-months.
  EXPECT_NEAR(trace.values[layout.gw_months(0)], 7.0, 1e-12);
  EXPECT_NEAR(trace.values[layout.gw_months(1)], 7.0, 1e-12);
  // Never within 2% of 1 GW: censored at T - (month of the last target point) = 12 - 0.
  EXPECT_EQ(trace.values[layout.months_late(0)], 12.0);
  EXPECT_EQ(trace.codes[layout.censored(0)], 1);
  // Inventory: everything that arrived was installed until funding ran out.
  EXPECT_NEAR(trace.inventory[4], 0.0, 1e-12);
  EXPECT_NEAR(trace.inventory[11], 0.7, 1e-12);
}

TEST(ModelByHand, PowerAndBuildRateBind) {
  // Plenty of supply (1 GW/month) and money (10 GW): the power ramp binds, then the target is
  // met in month 3.
  std::string yaml = replace(hand_scenario, "[[2026-01, 100]]", "[[2026-01, 1000]]");
  yaml = replace(yaml, "[[2026-01, 5]]", "[[2026-01, 100]]");
  const Trace trace(scenario_from(yaml), 0);
  const double expected[4] = {0.75, 0.5, 0.25, 0.0};
  for (int t = 0; t < 4; ++t) {
    EXPECT_NEAR(trace.shortfall_at(0, t), expected[t], 1e-12) << "month " << t;
    EXPECT_EQ(trace.binding_at(0, t), t < 3 ? binding_power : binding_none);
  }
  const PathLayout layout = trace.flat.layout();
  EXPECT_EQ(trace.values[layout.months_late(0)], 3.0);
  EXPECT_EQ(trace.codes[layout.censored(0)], 0);

  // A build rate of 0.2 GW/month is tighter than the ramp: 0.2 per month, 1 GW in month 4.
  const Trace slow(scenario_from(replace(yaml, "build_rate_gw: 0.3", "build_rate_gw: 0.2")), 0);
  for (int t = 0; t < 5; ++t)
    EXPECT_NEAR(slow.installed_at(0, t), 0.2 * (t + 1), 1e-12) << "month " << t;
  EXPECT_EQ(slow.binding_at(0, 0), binding_power);  // "power" includes the build rate
}

TEST(ModelByHand, PriorityOrderServesLowerNumbersFirst) {
  // Site B (priority 1) is listed after A (priority 2) but is served first: all of the
  // 0.1 GW/month of supply goes to B while B can take it, and A finds the inventory empty.
  const std::string yaml =
      replace(replace(hand_scenario, "tranches: [[2026-01, 5]]", "tranches: [[2026-01, 100]]"),
              R"(sites:
  - name: A
    funded_by: [D])",
              R"(sites:
  - name: A
    priority: 2
    funded_by: [D]
    target_gw: [[2026-01, 1.0]]
    build_rate_gw: 1
    power: {schedule: [[2026-01, 5]]}
  - name: B
    priority: 1
    funded_by: [D])");
  const Trace trace(scenario_from(yaml), 0);
  for (int t = 0; t < 6; ++t) {
    EXPECT_NEAR(trace.installed_at(1, t), 0.1 * (t + 1), 1e-12) << "month " << t;
    EXPECT_EQ(trace.installed_at(0, t), 0.0) << "month " << t;
    EXPECT_EQ(trace.binding_at(0, t), binding_supply) << "month " << t;
  }
}

TEST(ModelByHand, CostsAreChargedToDealsInFundedByOrder) {
  // Site A (first) is funded by [D1, D2]; D1 holds 0.2 GW of money, D2 plenty. A takes 0.5 GW
  // in month 0, charging D1 first, so site B, funded by D1 alone, finds nothing left.
  const std::string yaml = R"(
scenario: {name: order, start: 2026-01, horizon_months: 3, paths: 1}
supply:
  program_share: 1
  stacks_per_wafer: 1
  stacks_per_accelerator: 1
  kw_per_accelerator: 1000
  hbm_yield: {initial: 1, mature: 1, tau_months: 1}
  suppliers: [{name: S, wafers_per_month: [[2026-01, 10000]]}]
funding:
  capex_per_gw: 10
  deals:
    - {name: D1, kind: schedule, tranches: [[2026-01, 2]]}
    - {name: D2, kind: schedule, tranches: [[2026-01, 100]]}
sites:
  - {name: A, priority: 1, funded_by: [D1, D2], target_gw: [[2026-01, 0.5]], build_rate_gw: 1,
     power: {schedule: [[2026-01, 5]]}}
  - {name: B, priority: 2, funded_by: [D1], target_gw: [[2026-01, 0.5]], build_rate_gw: 1,
     power: {schedule: [[2026-01, 5]]}}
)";
  const Trace trace(scenario_from(yaml), 0);
  EXPECT_NEAR(trace.installed_at(0, 0), 0.5, 1e-12);
  EXPECT_EQ(trace.installed_at(1, 0), 0.0);
  EXPECT_EQ(trace.binding_at(1, 0), binding_funding);
  EXPECT_EQ(trace.installed_at(1, 2), 0.0);
}

const std::string per_gw_scenario = R"(
scenario: {name: pergw, start: 2026-01, horizon_months: 8, paths: 1}
supply:
  program_share: 1
  stacks_per_wafer: 1
  stacks_per_accelerator: 1
  kw_per_accelerator: 1000
  hbm_yield: {initial: 1, mature: 1, tau_months: 1}
  suppliers: [{name: S, wafers_per_month: [[2026-01, 100000]]}]
funding:
  capex_per_gw: 10
  deals:
    - {name: N, kind: per_gw, start: 2026-01, advance: 10, per_gw: 10, cap: 30, lag_months: 0}
sites:
  - {name: A, funded_by: [N], target_gw: [[2026-01, 5]], build_rate_gw: 1,
     power: {schedule: [[2026-01, 5]]}}
)";

TEST(ModelByHand, PerGwReleasesFollowInstalledWholeGigawatts) {
  // Advance 10 = 1 GW; each whole GW installed by the end of the previous month (lag 0)
  // releases 10 more, up to the cap of 30 (3 GW).
  const Trace trace(scenario_from(per_gw_scenario), 0);
  const double installed[6] = {1, 2, 3, 3, 3, 3};
  for (int t = 0; t < 6; ++t)
    EXPECT_NEAR(trace.installed_at(0, t), installed[t], 1e-12) << "month " << t;
  EXPECT_EQ(trace.received[trace.at(0, 7)], 30.0);

  // With a lag of one month each release waits a month longer.
  const Trace lagged(scenario_from(replace(per_gw_scenario, "lag_months: 0", "lag_months: 1")), 0);
  const double lagged_installed[6] = {1, 1, 2, 2, 3, 3};
  for (int t = 0; t < 6; ++t)
    EXPECT_NEAR(lagged.installed_at(0, t), lagged_installed[t], 1e-12) << "month " << t;
}

TEST(ModelByHand, PerGwCountsWholeGigawattsDespiteRounding) {
  // 0.1 GW a month, ten times, is one whole GW even though the binary sum is 0.9999999999999999.
  std::string yaml = replace(per_gw_scenario, "build_rate_gw: 1", "build_rate_gw: 0.1");
  yaml = replace(yaml, "horizon_months: 8", "horizon_months: 14");
  yaml = replace(yaml, "advance: 10, per_gw: 10, cap: 30", "advance: 10, per_gw: 10, cap: 100");
  const Trace trace(scenario_from(yaml), 0);
  EXPECT_EQ(trace.received[trace.at(0, 9)], 10.0);   // H(8) = 0.9 GW
  EXPECT_EQ(trace.received[trace.at(0, 10)], 20.0);  // H(9) = ten times 0.1 GW
}

TEST(ModelByHand, ScheduleTranchesArriveAfterTheDelay) {
  // A tranche of month 2 delayed by 1.5 months arrives in the first month t >= 3.5, i.e. 4.
  std::string yaml = replace(hand_scenario, "tranches: [[2026-01, 5]]}",
                             "tranches: [[2026-03, 5], [2026-05, 7]], delay_months: 1.5}");
  const Trace trace(scenario_from(yaml), 0);
  for (int t = 0; t < 4; ++t) EXPECT_EQ(trace.received[trace.at(0, t)], 0.0) << "month " << t;
  EXPECT_EQ(trace.received[trace.at(0, 4)], 5.0);
  EXPECT_EQ(trace.received[trace.at(0, 5)], 5.0);
  EXPECT_EQ(trace.received[trace.at(0, 6)], 12.0);
}

TEST(ModelByHand, CancelledDealKeepsWhatItReceived) {
  // A hazard so high that the deal is cancelled in its first month (after that month's
  // tranche): the later tranche never arrives, the first one still funds the site.
  std::string yaml = replace(hand_scenario, "tranches: [[2026-01, 5]]}",
                             "tranches: [[2026-01, 5], [2026-03, 7]], "
                             "cancel_hazard_per_year: 1000}");
  const Trace trace(scenario_from(yaml), 0);
  EXPECT_EQ(trace.received[trace.at(0, 11)], 5.0);
  EXPECT_NEAR(trace.installed_at(0, 11), 0.5, 1e-12);
}

TEST(ModelByHand, SupplyChainReproducesThePlanWithoutDisruptions) {
  // Wafers 100 -> 210 over the year (linear), lead 2 months, yields learning from 0.5 to 1
  // with tau 2 months, package yield 0.9, capacity factor 1, disruption rate 0.
  std::string yaml = replace(hand_scenario, "wafers_per_month: [[2026-01, 100]]",
                             "wafers_per_month: [[2026-01, 100], [2026-12, 210]]\n"
                             "      capacity_factor: 1\n"
                             "      disruption: {rate_per_year: 0, loss: 0.5, "
                             "recovery_months: 3}");
  yaml = replace(yaml, "hbm_yield: {initial: 1, mature: 1, tau_months: 1}",
                 "hbm_yield: {initial: 0.5, mature: 1, tau_months: 2}\n"
                 "  package_yield: {initial: 0.9, mature: 0.9, tau_months: 5}\n"
                 "  lead_time_months: 2");
  const Trace trace(scenario_from(yaml), 0);
  EXPECT_EQ(trace.arrived[0], 0.0);
  EXPECT_EQ(trace.arrived[1], 0.0);
  for (int t = 2; t < 12; ++t) {
    const int p = t - 2;
    const double wafers = 100.0 + 10.0 * p;
    const double yield = 1.0 - 0.5 * std::exp(-p / 2.0);
    EXPECT_NEAR(trace.arrived[t], wafers * yield * 0.9 * 1e-3, 1e-12) << "month " << t;
  }
}

TEST(ModelByHand, DisruptionsRemoveTheirLossWhileActive) {
  // An event nearly every month (rate 1e4/yr), each removing 40% for 1 month: every month
  // delivers 60% of the plan.
  std::string yaml = replace(hand_scenario, "wafers_per_month: [[2026-01, 100]]",
                             "wafers_per_month: [[2026-01, 100]]\n"
                             "      disruption: {rate_per_year: 10000, loss: 0.4, "
                             "recovery_months: 1}");
  const Trace trace(scenario_from(yaml), 0);
  for (int t = 0; t < 12; ++t) EXPECT_NEAR(trace.arrived[t], 0.06, 1e-12) << "month " << t;
}

TEST(ModelByHand, PackagingCapAndRampDelay) {
  // Ramp delay 3 reads the wafer schedule at t - 3 (flat before its first point); the
  // packaging cap of 0.05 GW/month caps the 0.1 GW produced.
  std::string yaml = replace(hand_scenario, "wafers_per_month: [[2026-01, 100]]",
                             "wafers_per_month: [[2026-01, 0], [2026-02, 100]]\n"
                             "      ramp_delay_months: 3");
  const Trace delayed(scenario_from(yaml), 0);
  for (int t = 0; t <= 3; ++t) EXPECT_EQ(delayed.arrived[t], 0.0) << "month " << t;
  EXPECT_NEAR(delayed.arrived[4], 0.1, 1e-12);
  const Trace capped(scenario_from(replace(yaml, "  suppliers:",
                                           "  packaging_cap_gw: [[2026-01, 0.05]]\n  suppliers:")),
                     0);
  EXPECT_NEAR(capped.arrived[4], 0.05, 1e-12);
}

TEST(ModelByHand, FailedPowerLeavesTheSiteShortOnPower) {
  const Trace trace(
      scenario_from(replace(hand_scenario, "power: {schedule: [[2026-01, 0.25], [2026-04, 1.0]]}",
                            "power: {schedule: [[2026-01, 0.25], [2026-04, 1.0]], "
                            "failure_probability: 1}")),
      0);
  for (int t = 0; t < 12; ++t) {
    EXPECT_EQ(trace.shortfall_at(0, t), 1.0);
    EXPECT_EQ(trace.binding_at(0, t), binding_power);
  }
}

TEST(ModelKnownAnswers, DealThatNeverClosesLeavesFullShortfall) {
  Scenario s = scenario_from(replace(hand_scenario, "tranches: [[2026-01, 5]]}",
                                     "tranches: [[2026-01, 5]], close_probability: 0}"));
  s.paths = 200;
  Simulation sim(s);
  const PathLayout layout = sim.layout();
  for (std::uint64_t p = 0; p < s.paths; ++p) {
    for (int r = 0; r < layout.report_count; ++r) {
      EXPECT_EQ(sim.value(layout.shortfall(0, r), p), 1.0);
      EXPECT_EQ(sim.code(layout.binding(0, r), p), binding_funding);
    }
    EXPECT_EQ(sim.value(layout.gw_months(0), p), 12.0);
  }
}

TEST(ModelKnownAnswers, UncertainPowerDelayGivesTheDelaysDistribution) {
  // Unlimited supply, money and build rate; power steps 0 -> 1 GW between months 0 and 1,
  // delayed by d ~ uniform(0, 10). Then X(t) = P(t) = clamp(t - d, 0, 1) and the shortfall at
  // month 5 is S = clamp(d - 4, 0, 1): P(S > 0) = 0.6, E[S] = 0.55,
  // E[S^2] = 1/30 + 1/2, and its 45th percentile is 4.5 - 4 = 0.5.
  const std::string yaml = R"(
scenario: {name: delay, start: 2026-01, horizon_months: 8, seed: 11, paths: 40000,
           report_months: [2026-06]}
supply:
  program_share: 1
  stacks_per_wafer: 1
  stacks_per_accelerator: 1
  kw_per_accelerator: 1000
  hbm_yield: {initial: 1, mature: 1, tau_months: 1}
  suppliers: [{name: S, wafers_per_month: [[2026-01, 100000]]}]
funding:
  capex_per_gw: 1
  deals: [{name: D, kind: schedule, tranches: [[2026-01, 1000]]}]
sites:
  - name: A
    funded_by: [D]
    target_gw: [[2026-01, 1]]
    build_rate_gw: 10
    power:
      schedule: [[2026-01, 0], [2026-02, 1]]
      delay_months: {dist: uniform, min: 0, max: 10}
)";
  Simulation sim(scenario_from(yaml), 2);
  const PathLayout layout = sim.layout();
  const auto n = static_cast<double>(sim.scenario.paths);
  std::vector<double> values(sim.samples.column(layout.shortfall(0, 0)),
                             sim.samples.column(layout.shortfall(0, 0)) + sim.scenario.paths);
  CellStatistics stats = summarize(values, {45});

  const double exact_mean = 0.55;
  const double exact_sd = std::sqrt(1.0 / 30.0 + 0.5 - exact_mean * exact_mean);
  const double mean_se = exact_sd / std::sqrt(n);
  EXPECT_LT(mean_se, 0.003);
  EXPECT_NEAR(stats.mean, exact_mean, 4 * mean_se);
  const double share_se = std::sqrt(0.6 * 0.4 / n);
  EXPECT_NEAR(stats.p_positive, 0.6, 4 * share_se);
  // Quantile standard error: sqrt(q (1 - q) / n) / density, density of S at 0.5 is 0.1.
  const double quantile_se = std::sqrt(0.45 * 0.55 / n) / 0.1;
  EXPECT_LT(quantile_se, 0.03);
  EXPECT_NEAR(stats.percentiles[0].value, 0.5, 4 * quantile_se);
}

TEST(ModelInvariants, HoldOnEverySampledPathOfTheDefaultScenario) {
  Scenario s = load_scenario(testing::source_path("configs/stargate.yaml"));
  s.paths = 3000;
  Simulation sim(s, 2);
  const PathLayout layout = sim.layout();
  const int sites = layout.site_count;
  for (std::uint64_t p = 0; p < s.paths; ++p) {
    for (int r = 0; r < layout.report_count; ++r) {
      double sum = 0;
      for (int i = 0; i < sites; ++i) {
        const double shortfall = sim.value(layout.shortfall(i, r), p);
        const double target =
            schedule_value(s.sites[i].target_gw.data(),
                           static_cast<int>(s.sites[i].target_gw.size()), s.report_months[r]);
        ASSERT_GE(shortfall, 0.0);
        ASSERT_LE(shortfall, target + 1e-12);
        ASSERT_EQ(sim.code(layout.binding(i, r), p) == binding_none, shortfall == 0.0);
        sum += shortfall;
      }
      ASSERT_NEAR(sim.value(layout.shortfall(sites, r), p), sum, 1e-9);
    }
    double gw_months = 0;
    for (int i = 0; i < sites; ++i) {
      ASSERT_GE(sim.value(layout.gw_months(i), p), 0.0);
      gw_months += sim.value(layout.gw_months(i), p);
      const double late = sim.value(layout.months_late(i), p);
      ASSERT_GE(late, 0.0);
      ASSERT_LE(late, s.horizon_months);
    }
    ASSERT_NEAR(sim.value(layout.gw_months(sites), p), gw_months, 1e-9);
  }
}

TEST(ModelInvariants, InstalledNeverDecreasesNorExceedsTheTarget) {
  const Scenario s = load_scenario(testing::source_path("configs/stargate.yaml"));
  for (std::uint64_t path = 0; path < 200; ++path) {
    const Trace trace(s, path);
    for (std::size_t i = 0; i < s.sites.size(); ++i) {
      const int site = static_cast<int>(i);
      double previous = 0;
      for (int t = 0; t < s.horizon_months; ++t) {
        const double installed = trace.installed_at(site, t);
        const double target = schedule_value(s.sites[i].target_gw.data(),
                                             static_cast<int>(s.sites[i].target_gw.size()), t);
        ASSERT_GE(installed, previous) << "site " << i << " month " << t << " path " << path;
        ASSERT_LE(installed, std::max(previous, target) + 1e-12);
        ASSERT_GE(trace.inventory[t], -1e-12);
        previous = installed;
      }
    }
  }
}

TEST(ModelDeterminism, APathIsAPureFunctionOfSeedAndIndex) {
  Scenario s = load_scenario(testing::source_path("configs/stargate.yaml"));
  s.paths = 64;
  Simulation one_thread(s, 1);
  Simulation two_threads(s, 2);
  const Trace alone(s, 37);  // path 37 simulated by itself
  const PathLayout layout = one_thread.layout();
  for (int cell = 0; cell < layout.value_count(); ++cell) {
    for (std::uint64_t p = 0; p < s.paths; ++p)
      ASSERT_EQ(one_thread.value(cell, p), two_threads.value(cell, p));
    ASSERT_EQ(one_thread.value(cell, 37), alone.values[cell]);
  }
  s.seed += 1;
  Simulation other_seed(s, 1);
  int differing = 0;
  for (std::uint64_t p = 0; p < s.paths; ++p)
    differing += one_thread.value(layout.gw_months(layout.site_count), p) !=
                 other_seed.value(layout.gw_months(layout.site_count), p);
  EXPECT_GT(differing, 32);
}

}  // namespace
}  // namespace caprisk
