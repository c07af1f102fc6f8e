#include "host/config/pinned_inputs.h"

#include <utility>

#include "host/errors.h"
#include "kernels/distributions.h"

namespace caprisk {
namespace {

/// Calls f(path, distribution, is_event) for every distribution drawn once per path, in the
/// config's order; `Scenario` may be const or not.
template <class S, class F>
void for_each_static_draw(S& s, F&& f) {
  const auto curve = [&](auto& y, const std::string& at) {
    f(at + ".initial", y.initial, false);
    f(at + ".mature", y.mature, false);
    f(at + ".tau_months", y.tau_months, false);
  };
  auto& supply = s.supply;
  f(std::string("supply.program_share"), supply.program_share, false);
  f(std::string("supply.stacks_per_wafer"), supply.stacks_per_wafer, false);
  f(std::string("supply.stacks_per_accelerator"), supply.stacks_per_accelerator, false);
  f(std::string("supply.kw_per_accelerator"), supply.kw_per_accelerator, false);
  f(std::string("supply.lead_time_months"), supply.lead_time_months, false);
  curve(supply.hbm_yield, "supply.hbm_yield");
  curve(supply.package_yield, "supply.package_yield");
  for (auto& supplier : supply.suppliers) {
    const std::string at = "supply.suppliers[" + supplier.name + "]";
    f(at + ".ramp_delay_months", supplier.ramp_delay_months, false);
    f(at + ".capacity_factor", supplier.capacity_factor, false);
    if (supplier.hbm_yield) curve(*supplier.hbm_yield, at + ".hbm_yield");
  }
  f(std::string("funding.capex_per_gw"), s.funding.capex_per_gw, false);
  for (auto& deal : s.funding.deals) {
    const std::string at = "funding.deals[" + deal.name + "]";
    f(at + ".delay_months", deal.delay_months, false);
    f(at + ".close_probability", deal.closes, true);
  }
  for (auto& site : s.sites) {
    const std::string at = "sites[" + site.name + "]";
    f(at + ".build_rate_gw", site.build_rate_gw, false);
    f(at + ".power.delay_months", site.power_delay_months, false);
    f(at + ".power.availability", site.power_availability, false);
    f(at + ".power.failure_probability", site.power_fails, true);
  }
}

bool uncertain(const Distribution& d) {
  if (d.kind == DistKind::bernoulli) return d.param[0] > 0 && d.param[0] < 1;
  return d.kind != DistKind::fixed && quantile(d, 0.1) != quantile(d, 0.9);
}

}  // namespace

std::vector<PinnedInput> static_inputs(const Scenario& scenario) {
  std::vector<PinnedInput> inputs;
  for_each_static_draw(scenario, [&](const std::string& path, const Distribution& d, bool event) {
    if (!uncertain(d)) return;
    PinnedInput input;
    input.path = path;
    input.event = event;
    input.low = event ? 0.0 : quantile(d, 0.1);
    input.high = event ? 1.0 : quantile(d, 0.9);
    input.probability = event ? d.param[0] : 0.0;
    inputs.push_back(std::move(input));
  });
  return inputs;
}

Scenario pinned(const Scenario& scenario, std::size_t index, double value) {
  Scenario copy = scenario;
  std::size_t at = 0;
  bool found = false;
  for_each_static_draw(copy, [&](const std::string&, Distribution& d, bool event) {
    if (!uncertain(d)) return;
    if (at++ != index) return;
    d = event ? make_bernoulli(value > 0.5 ? 1.0 : 0.0) : make_fixed(value);
    found = true;
  });
  CAPRISK_EXPECTS(found, "no static uncertain input of that index");
  return copy;
}

}  // namespace caprisk
