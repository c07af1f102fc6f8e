#include "host/run/trace.h"

#include <array>
#include <cstdio>
#include <sstream>

#include "host/report/report.h"

namespace caprisk {
namespace {

const char* binding_name(std::uint8_t code) {
  switch (code) {
    case binding_power: return "power";
    case binding_supply: return "supply";
    case binding_funding: return "funding";
    default: return "none";
  }
}

std::string short_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

}  // namespace

PathReplay replay_path(const FlatScenario& flat, std::uint64_t seed, std::uint64_t path) {
  const ScenarioView& v = flat.view();
  const auto months = static_cast<std::size_t>(v.horizon_months);
  const auto site_months = static_cast<std::size_t>(v.site_count) * months;
  const auto deal_months = static_cast<std::size_t>(v.deal_count) * months;
  PathReplay r;
  r.path = path;
  for (auto* a : {&r.installed, &r.shortfall, &r.power, &r.room, &r.funds, &r.allocated})
    a->assign(site_months, 0.0);
  r.binding.assign(site_months, 0);
  for (auto* a : {&r.produced, &r.arrived, &r.inventory}) a->assign(months, 0.0);
  r.received.assign(deal_months, 0.0);
  r.charged.assign(deal_months, 0.0);
  r.cancelled.assign(deal_months, 0);
  r.disruption_loss.assign(static_cast<std::size_t>(v.supplier_count) * months, 0.0);
  r.values.assign(static_cast<std::size_t>(flat.layout().value_count()), 0.0);
  r.codes.assign(static_cast<std::size_t>(flat.layout().code_count()) + 1, 0);
  PathTrace trace;
  trace.installed_gw = r.installed.data();
  trace.shortfall_gw = r.shortfall.data();
  trace.power_gw = r.power.data();
  trace.binding = r.binding.data();
  trace.arrived_gw = r.arrived.data();
  trace.inventory_gw = r.inventory.data();
  trace.received_usd_b = r.received.data();
  trace.charged_gw = r.charged.data();
  trace.cancelled = r.cancelled.data();
  trace.disruption_loss = r.disruption_loss.data();
  trace.produced_gw = r.produced.data();
  trace.room_gw = r.room.data();
  trace.funds_gw = r.funds.data();
  trace.allocated_gw = r.allocated.data();
  trace.statics = &r.statics;
  simulate_path(v, seed, path, PathOutput{r.values.data(), r.codes.data(), 1}, &trace);
  return r;
}

std::string trace_csv(const Scenario& s, const PathReplay& r) {
  std::ostringstream out;
  out << "month,kind,name,quantity,value\n";
  const auto row = [&](const std::string& month, const char* kind, const std::string& name,
                       const char* quantity, double value) {
    out << month << ',' << kind << ',' << csv_field(name) << ',' << quantity << ','
        << format_number(value) << '\n';
  };
  const auto curve = [&](const char* kind, const std::string& name, const char* prefix,
                         const YieldCurveInputs& y) {
    const std::string p = prefix;
    row("static", kind, name, (p + ".initial").c_str(), y.initial);
    row("static", kind, name, (p + ".mature").c_str(), y.mature);
    row("static", kind, name, (p + ".tau_months").c_str(), y.tau_months);
  };
  const ProgramInputs& program = r.statics.program;
  row("static", "supply", "program", "program_share", program.program_share);
  row("static", "supply", "program", "stacks_per_wafer", program.stacks_per_wafer);
  row("static", "supply", "program", "stacks_per_accelerator", program.stacks_per_accelerator);
  row("static", "supply", "program", "kw_per_accelerator", program.kw_per_accelerator);
  row("static", "supply", "program", "lead_time_months", program.lead_time_months);
  curve("supply", "program", "hbm_yield", program.hbm_yield);
  curve("supply", "program", "package_yield", program.package_yield);
  row("static", "funding", "program", "capex_per_gw", program.capex_per_gw);
  for (std::size_t k = 0; k < s.supply.suppliers.size(); ++k) {
    const SupplierInputs& in = r.statics.suppliers[k];
    const std::string& name = s.supply.suppliers[k].name;
    row("static", "supplier", name, "ramp_delay_months", in.ramp_delay_months);
    row("static", "supplier", name, "capacity_factor", in.capacity_factor);
    curve("supplier", name, "hbm_yield", in.hbm_yield);
  }
  for (std::size_t d = 0; d < s.funding.deals.size(); ++d) {
    const DealInputs& in = r.statics.deals[d];
    const std::string& name = s.funding.deals[d].name;
    row("static", "deal", name, "closes", in.closes ? 1 : 0);
    row("static", "deal", name, "delay_months", in.delay_months);
    row("static", "deal", name, "start_month_index", in.start_month);
  }
  for (std::size_t i = 0; i < s.sites.size(); ++i) {
    const SiteInputs& in = r.statics.sites[i];
    const std::string& name = s.sites[i].name;
    row("static", "site", name, "power_delay_months", in.power_delay_months);
    row("static", "site", name, "power_availability", in.power_availability);
    row("static", "site", name, "power_fails", in.power_fails ? 1 : 0);
    row("static", "site", name, "build_rate_gw", in.build_rate_gw);
  }
  const auto T = static_cast<std::size_t>(s.horizon_months);
  for (std::size_t t = 0; t < T; ++t) {
    const std::string month = s.start.plus(static_cast<int>(t)).str();
    row(month, "supply", "program", "produced_gw", r.produced[t]);
    row(month, "supply", "program", "arrived_gw", r.arrived[t]);
    row(month, "supply", "program", "inventory_gw", r.inventory[t]);
    for (std::size_t k = 0; k < s.supply.suppliers.size(); ++k)
      row(month, "supplier", s.supply.suppliers[k].name, "disruption_loss",
          r.disruption_loss[k * T + t]);
    for (std::size_t d = 0; d < s.funding.deals.size(); ++d) {
      const std::string& name = s.funding.deals[d].name;
      row(month, "deal", name, "received_usd_b", r.received[d * T + t]);
      row(month, "deal", name, "charged_gw", r.charged[d * T + t]);
      row(month, "deal", name, "cancelled", r.cancelled[d * T + t]);
    }
    for (std::size_t i = 0; i < s.sites.size(); ++i) {
      const std::string& name = s.sites[i].name;
      const std::size_t at = i * T + t;
      row(month, "site", name, "power_gw", r.power[at]);
      row(month, "site", name, "room_gw", r.room[at]);
      row(month, "site", name, "funds_gw", r.funds[at]);
      row(month, "site", name, "allocated_gw", r.allocated[at]);
      row(month, "site", name, "installed_gw", r.installed[at]);
      row(month, "site", name, "shortfall_gw", r.shortfall[at]);
      out << month << ",site," << csv_field(name) << ",binding," << binding_name(r.binding[at])
          << '\n';
    }
  }
  return out.str();
}

std::string trace_text(const Scenario& s, const PathReplay& r) {
  std::ostringstream out;
  const auto T = static_cast<std::size_t>(s.horizon_months);
  const auto month_of = [&](std::size_t t) { return s.start.plus(static_cast<int>(t)).str(); };
  out << "Path " << r.path << " of " << s.name << " (seed " << s.seed << ")\n";
  const ProgramInputs& p = r.statics.program;
  out << "  supply: program share " << short_number(p.program_share) << ", "
      << short_number(p.stacks_per_wafer) << " stacks per wafer, "
      << short_number(p.kw_per_accelerator) << " kW per accelerator, lead time "
      << p.lead_time_months << " months; HBM yield " << short_number(p.hbm_yield.initial)
      << " -> " << short_number(p.hbm_yield.mature) << " (tau "
      << short_number(p.hbm_yield.tau_months) << " months); capex "
      << short_number(p.capex_per_gw) << " USD B per GW\n";
  for (std::size_t k = 0; k < s.supply.suppliers.size(); ++k) {
    const SupplierInputs& in = r.statics.suppliers[k];
    out << "  " << s.supply.suppliers[k].name << ": ramp " << short_number(in.ramp_delay_months)
        << " months late, capacity factor " << short_number(in.capacity_factor);
    // Disruptions: runs of months with the same loss on production.
    for (std::size_t t = 0; t < T; ++t) {
      const double loss = r.disruption_loss[k * T + t];
      if (loss <= 0 || (t > 0 && r.disruption_loss[k * T + t - 1] == loss)) continue;
      std::size_t end = t;
      while (end + 1 < T && r.disruption_loss[k * T + end + 1] == loss) ++end;
      out << "; disruption: " << short_number(100 * loss) << "% of " << month_of(t)
          << (end > t ? " to " + month_of(end) : std::string()) << " production lost";
    }
    out << "\n";
  }
  for (std::size_t d = 0; d < s.funding.deals.size(); ++d) {
    const DealInputs& in = r.statics.deals[d];
    out << "  " << s.funding.deals[d].name << ": ";
    if (!in.closes) {
      out << "never closes\n";
      continue;
    }
    out << "closes, " << short_number(in.delay_months) << " months late, first money "
        << (in.start_month < s.horizon_months ? month_of(static_cast<std::size_t>(in.start_month))
                                              : std::string("after the horizon"));
    for (std::size_t t = 0; t < T; ++t)
      if (r.cancelled[d * T + t] != 0) {
        out << "; cancelled in " << month_of(t);
        break;
      }
    out << "; " << short_number(r.received[d * T + T - 1]) << " USD B received by "
        << month_of(T - 1) << "\n";
  }
  const PathLayout layout{static_cast<int>(s.sites.size()),
                          static_cast<int>(s.report_months.size()),
                          static_cast<int>(s.groups.size())};
  std::size_t width = 4;
  for (const Site& site : s.sites) width = std::max(width, site.name.size());
  char line[512];
  const int last = layout.report_count - 1;
  std::snprintf(line, sizeof line, "  %-*s  %-48s  %10s  %13s  %s\n", static_cast<int>(width),
                "site", "power delay, availability, build rate", "GW-months",
                ("short " + s.start.plus(s.report_months[static_cast<std::size_t>(last)]).str())
                    .c_str(),
                "short months by binding constraint");
  out << line;
  for (std::size_t i = 0; i < s.sites.size(); ++i) {
    const SiteInputs& in = r.statics.sites[i];
    std::array<int, binding_code_count> counts{};
    for (std::size_t t = 0; t < T; ++t) ++counts[r.binding[i * T + t]];
    const std::string inputs =
        in.power_fails ? std::string("power FAILS")
                       : short_number(in.power_delay_months) + " months, " +
                             short_number(in.power_availability) + ", " +
                             short_number(in.build_rate_gw) + " GW/month";
    std::string causes;
    for (std::uint8_t code : {binding_power, binding_supply, binding_funding})
      if (counts[code] > 0)
        causes += (causes.empty() ? "" : ", ") + std::string(binding_name(code)) + " " +
                  std::to_string(counts[code]);
    const int site = static_cast<int>(i);
    std::snprintf(line, sizeof line, "  %-*s  %-48s  %10.3f  %13.3f  %s\n",
                  static_cast<int>(width), s.sites[i].name.c_str(), inputs.c_str(),
                  r.values[static_cast<std::size_t>(layout.gw_months(site))],
                  r.values[static_cast<std::size_t>(layout.shortfall(site, last))],
                  causes.empty() ? "never short" : causes.c_str());
    out << line;
  }
  std::snprintf(line, sizeof line, "  %-*s  %-48s  %10.3f  %13.3f\n", static_cast<int>(width),
                "ALL", "", r.values[static_cast<std::size_t>(layout.gw_months(layout.site_count))],
                r.values[static_cast<std::size_t>(layout.shortfall(layout.site_count, last))]);
  out << line;
  return out.str();
}

}  // namespace caprisk
