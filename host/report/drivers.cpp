#include "host/report/drivers.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <vector>

#include "host/config/pinned_inputs.h"
#include "host/report/report.h"

namespace caprisk {
namespace {

constexpr const char* constraint_names[binding_code_count] = {"none", "power", "supply",
                                                              "funding"};

/// One input's row of an entity's tail.
struct InputShift {
  const PinnedInput* input;
  double mean_all;
  double sd_all;
  double mean_tail;
  double shift_sd;  ///< NaN when it cannot be said (no tail, or no spread)
};

std::vector<InputShift> shifts(const std::vector<PinnedInput>& inputs, const RunResults& r,
                               int entity) {
  const TailDrivers& tail = r.drivers[static_cast<std::size_t>(entity)];
  std::vector<InputShift> rows;
  for (const PinnedInput& input : inputs) {
    const auto j = static_cast<std::size_t>(input.column);
    InputShift row{&input, r.static_mean[j], r.static_sd[j], tail.mean[j], std::nan("")};
    if (tail.paths > 0 && row.sd_all > 0) row.shift_sd = (row.mean_tail - row.mean_all) / row.sd_all;
    rows.push_back(row);
  }
  // Largest shift first, either way; inputs that cannot be said last; ties in config order.
  std::stable_sort(rows.begin(), rows.end(), [](const InputShift& a, const InputShift& b) {
    const double x = std::isnan(a.shift_sd) ? -1 : std::fabs(a.shift_sd);
    const double y = std::isnan(b.shift_sd) ? -1 : std::fabs(b.shift_sd);
    return x > y;
  });
  return rows;
}

/// Short site-months of an entity over every path, by constraint (codes 1 to 3).
BindingCounts all_paths_binding(const Scenario& s, const RunResults& r, int entity) {
  BindingCounts total{};
  const std::vector<int> sites = entity_sites(s, entity);
  for (int report = 0; report < r.layout.report_count; ++report) {
    const BindingCounts counts = binding_counts_of(r, sites, report);
    for (int code = 1; code < binding_code_count; ++code) total[code] += counts[code];
  }
  return total;
}

double share(const BindingCounts& counts, int code) {
  std::uint64_t short_months = 0;
  for (int c = 1; c < binding_code_count; ++c) short_months += counts[c];
  return short_months > 0 ? static_cast<double>(counts[code]) / static_cast<double>(short_months)
                          : std::nan("");
}

std::string number_or_empty(double value) {
  return std::isnan(value) ? std::string() : format_number(value);
}

}  // namespace

std::string drivers_csv(const Scenario& s, const RunResults& r) {
  const std::vector<PinnedInput> inputs = static_inputs(s);
  std::ostringstream out;
  out << "site,kind,input,tail_paths,threshold_gw_months,mean_all,sd_all,mean_tail,shift_sd\n";
  for (std::size_t entity = 0; entity < r.drivers.size(); ++entity) {
    const int e = static_cast<int>(entity);
    const TailDrivers& tail = r.drivers[entity];
    const std::string head = csv_field(entity_name(s, e));
    const std::string counts =
        std::to_string(tail.paths) + ',' + format_number(tail.threshold) + ',';
    for (const InputShift& row : shifts(inputs, r, e))
      out << head << ",input," << csv_field(row.input->path) << ',' << counts
          << format_number(row.mean_all) << ',' << format_number(row.sd_all) << ','
          << (tail.paths > 0 ? format_number(row.mean_tail) : std::string()) << ','
          << number_or_empty(row.shift_sd) << '\n';
    const BindingCounts all = all_paths_binding(s, r, e);
    for (int code = 1; code < binding_code_count; ++code)
      out << head << ",binding," << constraint_names[code] << ',' << counts
          << number_or_empty(share(all, code)) << ",," << number_or_empty(share(tail.binding, code))
          << ",\n";
  }
  return out.str();
}

std::string drivers_text(const Scenario& s, const RunResults& r) {
  const int all = static_cast<int>(s.sites.size());
  if (r.drivers.size() <= static_cast<std::size_t>(all)) return "";
  const TailDrivers& tail = r.drivers[static_cast<std::size_t>(all)];
  if (tail.paths == 0) return "";
  std::ostringstream out;
  char line[512];
  const std::uint64_t five_percent = cvar_tail_count(r.paths);
  const char* which = tail.paths == five_percent ? "the worst 5%"
                      : tail.paths > five_percent ? "the worst 5% and the paths tied with them"
                                                  : "every short path: fewer than 5% are";
  std::snprintf(line, sizeof line,
                "Tail of ALL: the %llu paths short %.1f GW-months or more (%s); inputs furthest "
                "from their means there:\n",
                static_cast<unsigned long long>(tail.paths), tail.threshold, which);
  out << line;
  const std::vector<PinnedInput> inputs = static_inputs(s);  // the rows point into it
  const std::vector<InputShift> rows = shifts(inputs, r, all);
  std::size_t width = 0;
  for (std::size_t i = 0; i < std::min<std::size_t>(3, rows.size()); ++i)
    width = std::max(width, rows[i].input->path.size());
  int shown = 0;
  for (const InputShift& row : rows) {
    if (std::isnan(row.shift_sd) || shown == 3) break;
    std::snprintf(line, sizeof line, "  %-*s %+6.2f sd  (%s in the tail, %s over all paths)\n",
                  static_cast<int>(width), row.input->path.c_str(), row.shift_sd,
                  format_number(std::round(row.mean_tail * 1000) / 1000).c_str(),
                  format_number(std::round(row.mean_all * 1000) / 1000).c_str());
    out << line;
    ++shown;
  }
  int top = 1;
  for (int code = 2; code < binding_code_count; ++code)
    if (tail.binding[code] > tail.binding[top]) top = code;
  const BindingCounts every = all_paths_binding(s, r, all);
  std::snprintf(line, sizeof line,
                "  %s binds %.0f%% of the tail's short site-months (%.0f%% over all paths); every "
                "site's and group's tail in drivers.csv\n",
                constraint_names[top], 100 * share(tail.binding, top), 100 * share(every, top));
  out << line;
  return out.str();
}

}  // namespace caprisk
