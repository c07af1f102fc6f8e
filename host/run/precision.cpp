#include "host/run/precision.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "host/report/report.h"

namespace caprisk {

std::vector<PrecisionCell> precision_cells(const Scenario& s, const RunResults& r,
                                           double target) {
  std::vector<PrecisionCell> cells;
  const PathLayout& layout = r.layout;
  const double root_n = std::sqrt(static_cast<double>(r.paths));
  for (int report = 0; report < layout.report_count; ++report) {
    const CellStatistics& c =
        r.cells[static_cast<std::size_t>(shortfall_cell(layout, layout.site_count, report))];
    const std::string month = s.start.plus(s.report_months[static_cast<std::size_t>(report)]).str();
    const auto limit = [&](double value) {
      return std::max(target * std::fabs(value), precision_floor_gw);
    };
    PrecisionCell mean{month, "mean", c.mean, 1.959963984540054 * c.sd / root_n, limit(c.mean)};
    cells.push_back(mean);
    for (const PercentileEstimate& p : c.percentiles)
      if (p.q == 95)
        cells.push_back({month, "p95", p.value, (p.ci_high - p.ci_low) / 2, limit(p.value)});
  }
  return cells;
}

nlohmann::json precision_json(const PrecisionReport& report) {
  nlohmann::json cells = nlohmann::json::array();
  for (const PrecisionCell& c : report.cells)
    cells.push_back({{"site", "ALL"},
                     {"month", c.month},
                     {"statistic", c.statistic},
                     {"value", c.value},
                     {"half_width", c.half_width},
                     {"limit", c.limit},
                     {"met", c.met()}});
  return {{"target_ci", report.target},
          {"floor_gw", report.target > 0 ? precision_floor_gw : 0.0},
          {"max_paths", report.max_paths},
          {"blocks", report.blocks},
          {"met", report.met},
          {"half_widths", cells}};
}

std::string precision_text(const PrecisionReport& report, std::uint64_t paths) {
  char line[256];
  if (report.met) {
    std::snprintf(line, sizeof line,
                  "Precision: ALL's mean and P95 shortfall at every report month within "
                  "+-%g%% (or %g GW) of their value needed %llu paths (%d block%s)\n",
                  100 * report.target, precision_floor_gw, static_cast<unsigned long long>(paths),
                  report.blocks, report.blocks == 1 ? "" : "s");
    return line;
  }
  std::string text;
  std::snprintf(line, sizeof line,
                "Precision NOT met at --max-paths %llu: still wider than +-%g%% (or %g GW):",
                static_cast<unsigned long long>(report.max_paths), 100 * report.target,
                precision_floor_gw);
  text = line;
  for (const PrecisionCell& c : report.cells)
    if (!c.met()) {
      std::snprintf(line, sizeof line, " ALL %s %s %.4g +- %.3g GW (wanted +- %.3g);",
                    c.month.c_str(), c.statistic.c_str(), c.value, c.half_width, c.limit);
      text += line;
    }
  text.pop_back();
  std::snprintf(line, sizeof line, ". By the 1/sqrt(n) law about %llu paths would do: raise "
                "--max-paths to that, or ask for a wider --target-ci\n",
                static_cast<unsigned long long>(
                    next_path_count(paths, report.cells, std::uint64_t{1} << 62)));
  text += line;
  return text;
}

std::uint64_t next_path_count(std::uint64_t paths, const std::vector<PrecisionCell>& cells,
                              std::uint64_t max_paths) {
  double factor = 1.25;
  for (const PrecisionCell& c : cells)
    if (!c.met()) factor = std::max(factor, 1.1 * std::pow(c.half_width / c.limit, 2));
  const double wanted = std::ceil(static_cast<double>(paths) * std::min(factor, 1e6) / 1000) * 1000;
  return std::min<std::uint64_t>(max_paths, static_cast<std::uint64_t>(wanted));
}

}  // namespace caprisk
