#include "host/report/report.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

namespace caprisk {
namespace {

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string entity_name(const Scenario& s, int entity) {
  return entity < static_cast<int>(s.sites.size()) ? s.sites[entity].name : "ALL";
}

std::string percentile_label(double q) {
  std::string label = "p";  // (not "p" + ...: GCC 12 reports a false -Wrestrict there)
  label += format_number(q);
  return label;
}

void append_row(std::ostringstream& out, const std::string& site, const std::string& month,
                const std::string& metric, const CellStatistics& c, const std::string& censored) {
  out << csv_field(site) << ',' << month << ',' << metric << ',' << c.paths << ','
      << format_number(c.mean) << ',' << format_number(c.sd);
  for (const auto& p : c.percentiles)
    out << ',' << format_number(p.value) << ',' << format_number(p.ci_low) << ','
        << format_number(p.ci_high);
  out << ',' << format_number(c.cvar95) << ',' << format_number(c.p_positive) << ',' << censored
      << '\n';
}

}  // namespace

std::string format_number(double value) {
  if (value == 0.0) return "0";  // also folds -0 into 0
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string percentiles_csv(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  std::ostringstream out;
  out << "site,month,metric,paths,mean,sd";
  for (double q : s.percentiles) {
    const std::string label = percentile_label(q);
    out << ',' << label << ',' << label << "_ci_low," << label << "_ci_high";
  }
  out << ",cvar95,p_positive,censored_share\n";
  const std::string horizon_month = s.start.plus(s.horizon_months - 1).str();
  for (int entity = 0; entity <= layout.site_count; ++entity) {
    const std::string name = entity_name(s, entity);
    for (int report = 0; report < layout.report_count; ++report)
      append_row(out, name, s.start.plus(s.report_months[report]).str(), "shortfall_gw",
                 r.cells[layout.shortfall(entity, report)], "");
    append_row(out, name, horizon_month, "shortfall_gw_months", r.cells[layout.gw_months(entity)],
               "");
    if (entity < layout.site_count)
      append_row(out, name, horizon_month, "months_late", r.cells[layout.months_late(entity)],
                 format_number(static_cast<double>(r.censored_counts[entity]) /
                               static_cast<double>(r.paths)));
  }
  return out.str();
}

std::string attribution_csv(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  std::ostringstream out;
  out << "site,month,paths,none,power,supply,funding\n";
  const auto n = static_cast<double>(r.paths);
  for (int site = 0; site < layout.site_count; ++site) {
    for (int report = 0; report < layout.report_count; ++report) {
      const auto& counts = r.binding_counts[layout.binding(site, report)];
      out << csv_field(s.sites[site].name) << ',' << s.start.plus(s.report_months[report]).str()
          << ',' << r.paths;
      for (int code : {binding_none, binding_power, binding_supply, binding_funding})
        out << ',' << format_number(static_cast<double>(counts[code]) / n);
      out << '\n';
    }
  }
  return out.str();
}

namespace {

/// Up to six report months, evenly spread, always including the first and the last.
std::vector<int> headline_reports(int report_count) {
  const int shown = std::min(report_count, 6);
  if (shown == 1) return {report_count - 1};
  std::vector<int> picked;
  for (int k = 0; k < shown; ++k) picked.push_back(k * (report_count - 1) / (shown - 1));
  return picked;
}

}  // namespace

std::string headline_table(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  const std::vector<int> reports = headline_reports(layout.report_count);
  std::size_t width = 4;
  for (const auto& site : s.sites) width = std::max(width, site.name.size());
  std::ostringstream out;
  char cell[64];
  out << "Shortfall (GW), P50 / P95 over " << r.paths << " paths\n";
  out << std::string(width, ' ');
  for (int report : reports) {
    std::snprintf(cell, sizeof cell, "  %15s", s.start.plus(s.report_months[report]).str().c_str());
    out << cell;
  }
  out << '\n';
  for (int entity = 0; entity <= layout.site_count; ++entity) {
    const std::string name = entity_name(s, entity);
    out << name << std::string(width - std::min(width, name.size()), ' ');
    for (int report : reports) {
      const CellStatistics& c = r.cells[layout.shortfall(entity, report)];
      std::snprintf(cell, sizeof cell, "  %7.3f/%7.3f", c.p50, c.p95);
      out << cell;
    }
    out << '\n';
  }
  return out.str();
}

nlohmann::json headline_json(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  nlohmann::json sites = nlohmann::json::object();
  for (int entity = 0; entity <= layout.site_count; ++entity) {
    nlohmann::json months = nlohmann::json::object();
    for (int report = 0; report < layout.report_count; ++report) {
      const CellStatistics& c = r.cells[layout.shortfall(entity, report)];
      months[s.start.plus(s.report_months[report]).str()] = {{"mean_shortfall_gw", c.mean},
                                                             {"p50_shortfall_gw", c.p50},
                                                             {"p95_shortfall_gw", c.p95},
                                                             {"p_short", c.p_positive}};
    }
    sites[entity_name(s, entity)] = months;
  }
  return sites;
}

}  // namespace caprisk
