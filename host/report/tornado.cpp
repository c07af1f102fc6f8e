#include "host/report/tornado.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "host/report/report.h"

namespace caprisk {
namespace {

/// The 95% interval of |x| from that of x: [a, b] when 0 < a, [-b, -a] when b < 0, else
/// [0, max(-a, b)].
void absolute_interval(double low, double high, double& abs_low, double& abs_high) {
  if (low > 0) {
    abs_low = low;
    abs_high = high;
  } else if (high < 0) {
    abs_low = -high;
    abs_high = -low;
  } else {
    abs_low = 0;
    abs_high = std::max(-low, high);
  }
}

std::string short_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string value_text(const PinnedInput& input, double value) {
  if (input.event) return value > 0.5 ? "on" : "off";
  return short_text(value);
}

}  // namespace

std::vector<TornadoRow> tornado_rows(const Scenario& s, const RunResults& base,
                                     const std::vector<PinnedDifferences>& differences) {
  const PathLayout& layout = base.layout;
  struct Metric {
    int entity;
    std::string month;
    const char* metric;
    int cell;
  };
  std::vector<Metric> metrics;
  for (int entity = layout.site_count; entity < entity_count(layout); ++entity) {
    metrics.push_back({entity, "horizon", "shortfall_gw_months", gw_months_cell(layout, entity)});
    for (int report = 0; report < layout.report_count; ++report)
      metrics.push_back({entity, s.start.plus(s.report_months[report]).str(), "shortfall_gw",
                         shortfall_cell(layout, entity, report)});
  }
  std::vector<TornadoRow> rows;
  for (const Metric& m : metrics) {
    const auto c = static_cast<std::size_t>(m.cell);
    const std::size_t first = rows.size();
    for (std::size_t i = 0; i < differences.size(); ++i) {
      TornadoRow row;
      row.input = i;
      row.entity = m.entity;
      row.month = m.month;
      row.metric = m.metric;
      row.base_mean = base.cells[c].mean;
      row.at_low = differences[i].at_low[c];
      row.at_high = differences[i].at_high[c];
      row.span = differences[i].span[c];
      row.swing = std::fabs(row.span.mean);
      absolute_interval(row.span.ci_low, row.span.ci_high, row.swing_ci_low, row.swing_ci_high);
      rows.push_back(row);
    }
    std::stable_sort(rows.begin() + static_cast<std::ptrdiff_t>(first), rows.end(),
                     [](const TornadoRow& a, const TornadoRow& b) { return a.swing > b.swing; });
  }
  return rows;
}

std::string tornado_csv(const Scenario& s, const std::vector<PinnedInput>& inputs,
                        const std::vector<TornadoRow>& rows, std::uint64_t paths) {
  std::ostringstream out;
  out << "input,site,month,metric,rank,paths,low,high,base_mean,mean_at_low,mean_at_high,"
         "change_at_low,change_at_low_ci_low,change_at_low_ci_high,change_at_high,"
         "change_at_high_ci_low,change_at_high_ci_high,swing,swing_ci_low,swing_ci_high\n";
  int rank = 0;
  std::string block;
  for (const TornadoRow& row : rows) {
    const std::string key = std::to_string(row.entity) + row.month + row.metric;
    rank = key == block ? rank + 1 : 1;
    block = key;
    const PinnedInput& input = inputs[row.input];
    out << csv_field(input.path) << ',' << csv_field(entity_name(s, row.entity)) << ','
        << row.month << ',' << row.metric << ',' << rank << ',' << paths << ','
        << format_number(input.low) << ',' << format_number(input.high) << ','
        << format_number(row.base_mean) << ','
        << format_number(row.base_mean + row.at_low.mean) << ','
        << format_number(row.base_mean + row.at_high.mean) << ','
        << format_number(row.at_low.mean) << ',' << format_number(row.at_low.ci_low) << ','
        << format_number(row.at_low.ci_high) << ',' << format_number(row.at_high.mean) << ','
        << format_number(row.at_high.ci_low) << ',' << format_number(row.at_high.ci_high) << ','
        << format_number(row.swing) << ',' << format_number(row.swing_ci_low) << ','
        << format_number(row.swing_ci_high) << '\n';
  }
  return out.str();
}

namespace {

/// The rows of ALL's GW-months over the horizon (the first block), at most `count`.
std::vector<const TornadoRow*> top_rows(const std::vector<TornadoRow>& rows, std::size_t count) {
  std::vector<const TornadoRow*> top;
  for (const TornadoRow& row : rows) {
    if (row.entity != rows.front().entity || row.month != "horizon") break;
    if (top.size() < count) top.push_back(&row);
  }
  return top;
}

}  // namespace

std::string tornado_table(const Scenario& s, const std::vector<PinnedInput>& inputs,
                          const std::vector<TornadoRow>& rows) {
  std::ostringstream out;
  if (rows.empty()) {
    out << "\nSensitivity: the scenario has no static uncertain input to pin\n";
    return out.str();
  }
  const std::vector<const TornadoRow*> top = top_rows(rows, 10);
  char line[512];
  std::snprintf(line, sizeof line,
                "\nSensitivity of ALL's shortfall GW-months over %s to %s (base mean %.2f)\n",
                s.start.str().c_str(), s.start.plus(s.horizon_months - 1).str().c_str(),
                top.front()->base_mean);
  out << line;
  out << "  each input pinned at its P10 and P90, everything else random on the same paths; "
         "an event is forced off and on: weigh its swing by its probability p\n";
  std::size_t width = 5;
  for (const TornadoRow* row : top) width = std::max(width, inputs[row->input].path.size());
  std::snprintf(line, sizeof line, "  %4s  %-*s  %-19s  %10s  %10s  %s\n", "rank",
                static_cast<int>(width), "input", "low -> high", "at low", "at high",
                "swing (95% CI)");
  out << line;
  int rank = 0;
  for (const TornadoRow* row : top) {
    const PinnedInput& input = inputs[row->input];
    std::string range = value_text(input, input.low) + " -> " + value_text(input, input.high);
    if (input.event) range += " (p " + short_text(input.probability) + ")";
    std::snprintf(line, sizeof line, "  %4d  %-*s  %-19s  %10.2f  %10.2f  %.2f (%.2f to %.2f)\n",
                  ++rank, static_cast<int>(width), input.path.c_str(), range.c_str(),
                  row->base_mean + row->at_low.mean, row->base_mean + row->at_high.mean,
                  row->swing, row->swing_ci_low, row->swing_ci_high);
    out << line;
  }
  // Adjacent ranks whose intervals overlap are not ranked by these paths.
  std::string ties;
  for (std::size_t k = 0; k + 1 < top.size(); ++k)
    if (top[k]->swing_ci_low <= top[k + 1]->swing_ci_high)
      ties += (ties.empty() ? "" : ", ") + std::to_string(k + 1) + " and " + std::to_string(k + 2);
  if (!ties.empty())
    out << "  ranks " << ties
        << ": the swings' 95% CIs overlap, so their order is not settled (more --paths "
           "narrows them)\n";
  std::snprintf(line, sizeof line,
                "%zu inputs ranked; all of them, for ALL, each group and each report month, are "
                "in tornado.csv\n",
                inputs.size());
  out << line;
  return out.str();
}

nlohmann::json sensitivity_json(const std::vector<PinnedInput>& inputs,
                                const std::vector<TornadoRow>& rows) {
  nlohmann::json listed = nlohmann::json::array();
  for (const PinnedInput& input : inputs)
    listed.push_back({{"input", input.path},
                      {"event", input.event},
                      {"low", input.low},
                      {"high", input.high}});
  nlohmann::json top = nlohmann::json::array();
  if (!rows.empty())
    for (const TornadoRow* row : top_rows(rows, 10))
      top.push_back({{"input", inputs[row->input].path},
                     {"mean_at_low", row->base_mean + row->at_low.mean},
                     {"mean_at_high", row->base_mean + row->at_high.mean},
                     {"swing", row->swing},
                     {"swing_ci_low", row->swing_ci_low},
                     {"swing_ci_high", row->swing_ci_high}});
  return {{"inputs", listed}, {"top_gw_months", top}};
}

}  // namespace caprisk
