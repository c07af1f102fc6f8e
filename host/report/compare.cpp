#include "host/report/compare.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string_view>

#include "host/report/report.h"

namespace caprisk {
namespace {

/// "+0.412" to three decimals; "0.000", without a sign, when it rounds to zero.
std::string signed_text(double value) {
  char text[48];
  std::snprintf(text, sizeof text, "%+.3f", value);
  if (std::string_view(text + 1) == "0.000") return "0.000";
  return text;
}

/// "+0.412 GW (95% CI +0.398 to +0.426)", or "no change" when every path is unchanged.
std::string change_text(const PairedDifference& d, const char* unit) {
  if (d.mean == 0 && d.sd == 0) return "no change";
  return signed_text(d.mean) + unit + " (95% CI " + signed_text(d.ci_low) + " to " +
         signed_text(d.ci_high) + ")";
}

/// `line` without its trailing spaces.
std::string trimmed(std::string line) {
  line.erase(line.find_last_not_of(' ') + 1);
  return line;
}

/// Up to three of the headline's report months: the first, the middle and the last.
std::vector<int> compared_reports(int report_count) {
  if (report_count <= 3) {
    std::vector<int> all(static_cast<std::size_t>(report_count));
    for (int k = 0; k < report_count; ++k) all[static_cast<std::size_t>(k)] = k;
    return all;
  }
  return {0, (report_count - 1) / 2, report_count - 1};
}

}  // namespace

std::string stress_compare_csv(const Scenario& base, const RunResults& base_results,
                               const std::vector<StressOutcome>& stresses) {
  std::ostringstream out;
  out << "stress,site,month,metric,paths,base_mean,stress_mean,diff_mean,diff_sd,diff_ci_low,"
         "diff_ci_high,p_diff_positive,base_p50,stress_p50,diff_p50,base_p95,stress_p95,"
         "diff_p95\n";
  const std::vector<TableRow> rows = table_rows(base, base_results.layout);
  for (const StressOutcome& stress : stresses) {
    for (const TableRow& row : rows) {
      const CellStatistics& b = base_results.cells[static_cast<std::size_t>(row.cell)];
      const CellStatistics& s = stress.results.cells[static_cast<std::size_t>(row.cell)];
      const PairedDifference& d = stress.differences[static_cast<std::size_t>(row.cell)];
      out << csv_field(stress.stress->name) << ',' << csv_field(entity_name(base, row.entity))
          << ',' << row.month << ',' << row.metric << ',' << base_results.paths << ','
          << format_number(b.mean) << ',' << format_number(s.mean) << ','
          << format_number(d.mean) << ',' << format_number(d.sd) << ','
          << format_number(d.ci_low) << ',' << format_number(d.ci_high) << ','
          << format_number(d.p_positive) << ',' << format_number(b.p50) << ','
          << format_number(s.p50) << ',' << format_number(s.p50 - b.p50) << ','
          << format_number(b.p95) << ',' << format_number(s.p95) << ','
          << format_number(s.p95 - b.p95) << '\n';
    }
  }
  return out.str();
}

std::string stress_table(const Scenario& base, const RunResults& base_results,
                         const std::vector<StressOutcome>& stresses) {
  const PathLayout& layout = base_results.layout;
  const std::vector<int> reports = compared_reports(layout.report_count);
  std::size_t width = 4;
  for (int entity = 0; entity < entity_count(layout); ++entity)
    width = std::max(width, entity_name(base, entity).size());
  constexpr int column = 38;
  std::ostringstream out;
  char cell[160];
  for (const StressOutcome& stress : stresses) {
    out << "\nStress " << stress.stress->name;
    if (!stress.stress->description.empty()) out << ": " << stress.stress->description;
    out << "\n  change in mean shortfall, stressed - base, over the same " << base_results.paths
        << " paths\n";
    std::string line(width + 2, ' ');
    for (int report : reports) {
      std::snprintf(cell, sizeof cell, "  %-*s", column,
                    base.start.plus(base.report_months[report]).str().c_str());
      line += cell;
    }
    out << trimmed(line) << '\n';
    for (int entity = 0; entity < entity_count(layout); ++entity) {
      const std::string name = entity_name(base, entity);
      line = "  " + name + std::string(width - std::min(width, name.size()), ' ');
      for (int report : reports) {
        const auto c = static_cast<std::size_t>(shortfall_cell(layout, entity, report));
        std::snprintf(cell, sizeof cell, "  %-*s", column,
                      change_text(stress.differences[c], " GW").c_str());
        line += cell;
      }
      out << trimmed(line) << '\n';
    }
    const int last = layout.report_count - 1;
    const auto all = static_cast<std::size_t>(shortfall_cell(layout, layout.site_count, last));
    std::snprintf(cell, sizeof cell, "  P(ALL short) in %s: %.1f%% -> %.1f%%\n",
                  base.start.plus(base.report_months[last]).str().c_str(),
                  100 * base_results.cells[all].p_positive,
                  100 * stress.results.cells[all].p_positive);
    out << cell;
  }
  out << "\n95% CI of the mean difference over paired paths (the same random numbers); every "
         "metric and P50/P95 changes in stress_compare.csv\n";
  return out.str();
}

nlohmann::json stresses_json(const Scenario& base, const std::vector<StressOutcome>& stresses) {
  nlohmann::json all = nlohmann::json::array();
  for (const StressOutcome& stress : stresses) {
    nlohmann::json edits = nlohmann::json::array();
    for (const Override& edit : stress.stress->edits)
      edits.push_back((edit.kind == Override::Kind::set ? "set " : "shift ") + edit.path + "=" +
                      edit.value);
    nlohmann::json changes = nlohmann::json::array();
    const PathLayout& layout = stress.results.layout;
    for (int entity = 0; entity < entity_count(layout); ++entity)
      for (int report = 0; report < layout.report_count; ++report) {
        const PairedDifference& d =
            stress.differences[static_cast<std::size_t>(shortfall_cell(layout, entity, report))];
        changes.push_back({{"site", entity_name(base, entity)},
                           {"month", base.start.plus(base.report_months[report]).str()},
                           {"diff_mean", d.mean},
                           {"diff_ci_low", d.ci_low},
                           {"diff_ci_high", d.ci_high}});
      }
    all.push_back({{"name", stress.stress->name},
                   {"description", stress.stress->description},
                   {"edits", edits},
                   {"shortfall_gw_change", changes}});
  }
  return all;
}

}  // namespace caprisk
