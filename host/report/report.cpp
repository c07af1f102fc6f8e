#include "host/report/report.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "kernels/schedule.h"

namespace caprisk {

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string percentile_label(double q) {
  std::string label = "p";  // (not "p" + ...: GCC 12 reports a false -Wrestrict there)
  label += format_number(q);
  return label;
}

namespace {

void append_row(std::ostringstream& out, const std::string& site, const std::string& month,
                const std::string& metric, const CellStatistics& c, const std::string& censored) {
  out << csv_field(site) << ',' << month << ',' << metric << ',' << c.paths << ','
      << format_number(c.mean) << ',' << format_number(c.sd);
  for (const auto& p : c.percentiles)
    out << ',' << format_number(p.value) << ',' << format_number(p.ci_low) << ','
        << format_number(p.ci_high);
  out << ',' << format_number(c.cvar95) << ',' << format_number(c.cvar95_ci_low) << ','
      << format_number(c.cvar95_ci_high) << ',' << format_number(c.p_positive) << ',' << censored
      << '\n';
}

}  // namespace

std::string format_number(double value) {
  if (value == 0.0) return "0";  // also folds -0 into 0
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

int entity_count(const PathLayout& layout) {
  return layout.site_count + 1 + layout.group_count;
}

std::string entity_name(const Scenario& s, int entity) {
  const int sites = static_cast<int>(s.sites.size());
  if (entity < sites) return s.sites[entity].name;
  return entity == sites ? "ALL" : s.groups[entity - sites - 1].name;
}

std::vector<int> entity_sites(const Scenario& s, int entity) {
  const int sites = static_cast<int>(s.sites.size());
  if (entity < sites) return {entity};
  if (entity > sites) return s.groups[entity - sites - 1].sites;
  std::vector<int> all(s.sites.size());
  for (int i = 0; i < sites; ++i) all[i] = i;
  return all;
}

int shortfall_cell(const PathLayout& layout, int entity, int report) {
  return entity <= layout.site_count
             ? layout.shortfall(entity, report)
             : layout.group_shortfall(entity - layout.site_count - 1, report);
}

int gw_months_cell(const PathLayout& layout, int entity) {
  return entity <= layout.site_count ? layout.gw_months(entity)
                                     : layout.group_gw_months(entity - layout.site_count - 1);
}

std::vector<TableRow> table_rows(const Scenario& s, const PathLayout& layout) {
  std::vector<TableRow> rows;
  const std::string horizon_month = s.start.plus(s.horizon_months - 1).str();
  for (int entity = 0; entity < entity_count(layout); ++entity) {
    for (int report = 0; report < layout.report_count; ++report)
      rows.push_back({entity, s.start.plus(s.report_months[report]).str(), "shortfall_gw",
                      shortfall_cell(layout, entity, report)});
    rows.push_back({entity, horizon_month, "shortfall_gw_months", gw_months_cell(layout, entity)});
    if (entity < layout.site_count)
      rows.push_back({entity, horizon_month, "months_late", layout.months_late(entity)});
    if (entity > layout.site_count)  // a group: 1 when every site of it is short
      for (int report = 0; report < layout.report_count; ++report)
        rows.push_back({entity, s.start.plus(s.report_months[report]).str(), "all_sites_short",
                        layout.group_all_short(entity - layout.site_count - 1, report)});
  }
  return rows;
}

std::string percentiles_csv(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  std::ostringstream out;
  out << "site,month,metric,paths,mean,sd";
  for (double q : s.percentiles) {
    const std::string label = percentile_label(q);
    out << ',' << label << ',' << label << "_ci_low," << label << "_ci_high";
  }
  out << ",cvar95,cvar95_ci_low,cvar95_ci_high,p_positive,censored_share\n";
  for (const TableRow& row : table_rows(s, layout)) {
    const bool late =
        row.entity < layout.site_count && row.cell == layout.months_late(row.entity);
    append_row(out, entity_name(s, row.entity), row.month, row.metric, r.cells[row.cell],
               late ? format_number(static_cast<double>(r.censored_counts[row.entity]) /
                                    static_cast<double>(r.paths))
                    : "");
  }
  return out.str();
}

std::string attribution_csv(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  std::ostringstream out;
  out << "site,month,paths,none,power,supply,funding\n";
  for (int entity = 0; entity < entity_count(layout); ++entity) {
    const std::vector<int> sites = entity_sites(s, entity);
    // ALL and groups: the shares of site-paths (each of their sites on each path).
    const double site_paths = static_cast<double>(r.paths) * static_cast<double>(sites.size());
    for (int report = 0; report < layout.report_count; ++report) {
      const BindingCounts counts = binding_counts_of(r, sites, report);
      out << csv_field(entity_name(s, entity)) << ','
          << s.start.plus(s.report_months[report]).str() << ',' << r.paths;
      for (int code : {binding_none, binding_power, binding_supply, binding_funding})
        out << ',' << format_number(static_cast<double>(counts[code]) / site_paths);
      out << '\n';
    }
  }
  return out.str();
}

std::string tail_paths_csv(const Scenario& s, const RunResults& r) {
  std::ostringstream out;
  out << "site,rank,path,shortfall_gw_months\n";
  for (std::size_t entity = 0; entity < r.worst_paths.size(); ++entity) {
    int rank = 0;
    for (const TailPath& t : r.worst_paths[entity]) {
      if (t.value <= 0) break;  // a path that is never short is not a tail path
      out << csv_field(entity_name(s, static_cast<int>(entity))) << ',' << ++rank << ','
          << t.path << ',' << format_number(t.value) << '\n';
    }
  }
  return out.str();
}

std::string targets_csv(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  std::ostringstream out;
  out << "site,month,target_gw\n";
  for (int entity = 0; entity < entity_count(layout); ++entity)
    for (int report = 0; report < layout.report_count; ++report)
      out << csv_field(entity_name(s, entity)) << ','
          << s.start.plus(s.report_months[report]).str() << ','
          << format_number(target_at(s, entity, s.report_months[report])) << '\n';
  return out.str();
}

BindingCounts binding_counts_of(const RunResults& r, const std::vector<int>& sites, int report) {
  BindingCounts total{};
  for (int site : sites)
    for (int code = 0; code < binding_code_count; ++code)
      total[code] += r.binding_counts[r.layout.binding(site, report)][code];
  return total;
}

double target_at(const Scenario& s, int entity, int month) {
  double total = 0;
  for (int i : entity_sites(s, entity)) {
    const Site& site = s.sites[i];
    total += schedule_value(site.target_gw.data(), static_cast<int>(site.target_gw.size()), month);
  }
  return total;
}

SiteOutlook site_outlook(const Scenario& s, const RunResults& r, int entity) {
  const PathLayout& layout = r.layout;
  const int last = layout.report_count - 1;
  const std::vector<int> sites = entity_sites(s, entity);
  SiteOutlook o;
  for (int i : sites) o.target_gw += s.sites[i].target_gw.back().value;
  if (entity < layout.site_count)
    o.reach_share = 1.0 - static_cast<double>(r.censored_counts[entity]) /
                              static_cast<double>(r.paths);
  o.p_short = r.cells[shortfall_cell(layout, entity, last)].p_positive;
  BindingCounts counts{};
  for (int report = 0; report <= last; ++report) {
    const BindingCounts at = binding_counts_of(r, sites, report);
    for (int code = 0; code < binding_code_count; ++code) counts[code] += at[code];
  }
  const std::uint64_t short_months = counts[binding_power] + counts[binding_supply] +
                                     counts[binding_funding];
  for (int code : {binding_power, binding_supply, binding_funding}) {
    if (short_months == 0) break;
    const double share = static_cast<double>(counts[code]) / static_cast<double>(short_months);
    if (share <= o.cause_share) continue;
    o.cause_share = share;
    o.cause = code == binding_power ? "power" : code == binding_supply ? "supply" : "funding";
  }
  return o;
}

std::vector<int> headline_reports(int report_count) {
  const int shown = std::min(report_count, 6);
  if (shown == 1) return {report_count - 1};
  std::vector<int> picked;
  for (int k = 0; k < shown; ++k) picked.push_back(k * (report_count - 1) / (shown - 1));
  return picked;
}

std::string headline_table(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  const std::vector<int> reports = headline_reports(layout.report_count);
  const std::string last_month = s.start.plus(s.report_months[layout.report_count - 1]).str();
  std::size_t width = 4;
  for (const auto& site : s.sites) width = std::max(width, site.name.size());
  for (const auto& group : s.groups) width = std::max(width, group.name.size());
  std::ostringstream out;
  char cell[96];
  out << "Shortfall (GW) over " << r.paths << " paths: P50 / P95 at each report month\n";
  std::snprintf(cell, sizeof cell, "  %7s %8s %6s  %-12s", "target", "P(short)", "reach",
                "binds most");
  out << std::string(width, ' ') << cell;
  for (int report : reports) {
    std::snprintf(cell, sizeof cell, "  %15s", s.start.plus(s.report_months[report]).str().c_str());
    out << cell;
  }
  out << '\n';
  for (int entity = 0; entity < entity_count(layout); ++entity) {
    const std::string name = entity_name(s, entity);
    const SiteOutlook o = site_outlook(s, r, entity);
    char reach[16] = "     -";
    if (o.reach_share >= 0) std::snprintf(reach, sizeof reach, "%5.0f%%", 100 * o.reach_share);
    char cause[32] = "-";
    if (!o.cause.empty())
      std::snprintf(cause, sizeof cause, "%s %.0f%%", o.cause.c_str(), 100 * o.cause_share);
    std::snprintf(cell, sizeof cell, "  %7.2f %7.0f%% %s  %-12s", o.target_gw, 100 * o.p_short,
                  reach, cause);
    out << name << std::string(width - std::min(width, name.size()), ' ') << cell;
    for (int report : reports) {
      const CellStatistics& c = r.cells[shortfall_cell(layout, entity, report)];
      std::snprintf(cell, sizeof cell, "  %7.3f/%7.3f", c.p50, c.p95);
      out << cell;
    }
    out << '\n';
  }
  // What limits the program, month by month: the shares among all short site-months.
  const std::string label = "Short site-months limited by";
  out << label << std::string(width + 39 - std::min(width + 39, label.size()), ' ');
  for (int report : reports) {
    std::snprintf(cell, sizeof cell, "  %15s", s.start.plus(s.report_months[report]).str().c_str());
    out << cell;
  }
  out << '\n';
  for (const auto& [code, name] : {std::pair{binding_power, "power"},
                                   std::pair{binding_supply, "supply (HBM, packaging)"},
                                   std::pair{binding_funding, "funding"}}) {
    const std::string row = std::string("  ") + name;
    out << row << std::string(width + 39 - std::min(width + 39, row.size()), ' ');
    for (int report : reports) {
      const BindingCounts counts = binding_counts_of(r, entity_sites(s, layout.site_count), report);
      const std::uint64_t short_months =
          counts[binding_power] + counts[binding_supply] + counts[binding_funding];
      if (short_months == 0) {
        std::snprintf(cell, sizeof cell, "  %15s", "-");
      } else {
        std::snprintf(cell, sizeof cell, "  %14.0f%%",
                      100.0 * static_cast<double>(counts[code]) / static_cast<double>(short_months));
      }
      out << cell;
    }
    out << '\n';
  }
  out << "target: GW the site must install in all; P(short): chance of a shortfall in "
      << last_month << ";\nreach: share of paths on target by " << last_month
      << "; binds most: what limits the short site-months (attribution.csv)\n";
  return out.str();
}

nlohmann::json headline_json(const Scenario& s, const RunResults& r) {
  const PathLayout& layout = r.layout;
  nlohmann::json sites = nlohmann::json::object();
  for (int entity = 0; entity < entity_count(layout); ++entity) {
    nlohmann::json months = nlohmann::json::object();
    for (int report = 0; report < layout.report_count; ++report) {
      const CellStatistics& c = r.cells[shortfall_cell(layout, entity, report)];
      months[s.start.plus(s.report_months[report]).str()] = {{"mean_shortfall_gw", c.mean},
                                                             {"p50_shortfall_gw", c.p50},
                                                             {"p95_shortfall_gw", c.p95},
                                                             {"p_short", c.p_positive}};
    }
    sites[entity_name(s, entity)] = months;
  }
  return sites;
}

nlohmann::json outlook_json(const Scenario& s, const RunResults& r) {
  nlohmann::json sites = nlohmann::json::object();
  for (int entity = 0; entity < entity_count(r.layout); ++entity) {
    const SiteOutlook o = site_outlook(s, r, entity);
    nlohmann::json row = {{"target_gw", o.target_gw},
                          {"p_short_at_last_report", o.p_short},
                          {"binds_most", o.cause},
                          {"binds_most_share", o.cause_share}};
    row["reach_share"] = o.reach_share >= 0 ? nlohmann::json(o.reach_share) : nlohmann::json();
    sites[entity_name(s, entity)] = row;
  }
  return sites;
}

}  // namespace caprisk
