#include "host/config/pinned_inputs.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "host/errors.h"
#include "kernels/distributions.h"
#include "kernels/model.h"

namespace caprisk {
namespace {

StaticColumns columns_of(const Scenario& s) {
  return StaticColumns{static_cast<int>(s.supply.suppliers.size()),
                       static_cast<int>(s.funding.deals.size()), static_cast<int>(s.sites.size())};
}

/// Calls f(path, distribution, is_event, column) for every distribution drawn once per path,
/// in the config's order, with its column among the path's static draws (StaticColumns);
/// `Scenario` may be const or not.
template <class S, class F>
void for_each_static_draw(S& s, F&& f) {
  const StaticColumns columns = columns_of(s);
  const auto curve = [&](auto& y, const std::string& at, int column) {
    f(at + ".initial", y.initial, false, column);
    f(at + ".mature", y.mature, false, column + 1);
    f(at + ".tau_months", y.tau_months, false, column + 2);
  };
  auto& supply = s.supply;
  f(std::string("supply.program_share"), supply.program_share, false, 0);
  f(std::string("supply.stacks_per_wafer"), supply.stacks_per_wafer, false, 1);
  f(std::string("supply.stacks_per_accelerator"), supply.stacks_per_accelerator, false, 2);
  f(std::string("supply.kw_per_accelerator"), supply.kw_per_accelerator, false, 3);
  f(std::string("supply.lead_time_months"), supply.lead_time_months, false, 4);
  curve(supply.hbm_yield, "supply.hbm_yield", 6);
  curve(supply.package_yield, "supply.package_yield", 9);
  int k = 0;
  for (auto& supplier : supply.suppliers) {
    const std::string at = "supply.suppliers[" + supplier.name + "]";
    f(at + ".ramp_delay_months", supplier.ramp_delay_months, false, columns.supplier(k));
    f(at + ".capacity_factor", supplier.capacity_factor, false, columns.supplier(k) + 1);
    if (supplier.hbm_yield) curve(*supplier.hbm_yield, at + ".hbm_yield", columns.supplier(k) + 2);
    ++k;
  }
  f(std::string("funding.capex_per_gw"), s.funding.capex_per_gw, false, 5);
  int d = 0;
  for (auto& deal : s.funding.deals) {
    const std::string at = "funding.deals[" + deal.name + "]";
    f(at + ".delay_months", deal.delay_months, false, columns.deal(d));
    f(at + ".close_probability", deal.closes, true, columns.deal(d) + 1);
    ++d;
  }
  int i = 0;
  for (auto& site : s.sites) {
    const std::string at = "sites[" + site.name + "]";
    f(at + ".build_rate_gw", site.build_rate_gw, false, columns.site(i));
    f(at + ".power.delay_months", site.power_delay_months, false, columns.site(i) + 1);
    f(at + ".power.availability", site.power_availability, false, columns.site(i) + 2);
    f(at + ".power.failure_probability", site.power_fails, true, columns.site(i) + 3);
    ++i;
  }
}

bool uncertain(const Distribution& d) {
  if (d.kind == DistKind::bernoulli) return d.param[0] > 0 && d.param[0] < 1;
  return d.kind != DistKind::fixed && quantile(d, 0.1) != quantile(d, 0.9);
}

}  // namespace

std::vector<PinnedInput> static_inputs(const Scenario& scenario) {
  std::vector<PinnedInput> inputs;
  for_each_static_draw(scenario, [&](const std::string& path, const Distribution& d, bool event,
                                     int column) {
    if (!uncertain(d)) return;
    PinnedInput input;
    input.path = path;
    input.column = column;
    input.event = event;
    input.low = event ? 0.0 : quantile(d, 0.1);
    input.high = event ? 1.0 : quantile(d, 0.9);
    input.probability = event ? d.param[0] : 0.0;
    inputs.push_back(std::move(input));
  });
  return inputs;
}

std::vector<double> static_bounds(const Scenario& scenario) {
  std::vector<double> bounds(static_cast<std::size_t>(columns_of(scenario).count()), 1.0);
  for_each_static_draw(scenario, [&](const std::string&, const Distribution& d, bool event,
                                     int column) {
    double bound = 1.0;
    if (!event) {
      const double far = std::max(std::fabs(quantile(d, 1e-6)), std::fabs(quantile(d, 1 - 1e-6)));
      if (std::isfinite(far) && far > 0) bound = 64 * (far + 1);  // + 1: the rounded lead time
    }
    bounds[static_cast<std::size_t>(column)] = bound;
  });
  // A supplier without its own HBM curve draws the program's: the same bounds.
  const StaticColumns columns = columns_of(scenario);
  for (int k = 0; k < columns.suppliers; ++k)
    if (!scenario.supply.suppliers[static_cast<std::size_t>(k)].hbm_yield)
      for (int j = 0; j < 3; ++j)
        bounds[static_cast<std::size_t>(columns.supplier(k) + 2 + j)] =
            bounds[static_cast<std::size_t>(6 + j)];
  return bounds;
}

Scenario pinned(const Scenario& scenario, std::size_t index, double value) {
  Scenario copy = scenario;
  std::size_t at = 0;
  bool found = false;
  for_each_static_draw(copy, [&](const std::string&, Distribution& d, bool event, int) {
    if (!uncertain(d)) return;
    if (at++ != index) return;
    d = event ? make_bernoulli(value > 0.5 ? 1.0 : 0.0) : make_fixed(value);
    found = true;
  });
  CAPRISK_EXPECTS(found, "no static uncertain input of that index");
  return copy;
}

}  // namespace caprisk
