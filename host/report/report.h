// Report files of a run: percentiles.csv, attribution.csv, summary.json and the headline table.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "host/reduce/results.h"
#include "host/config/scenario.h"

namespace caprisk {

/// A row of the per-cell tables (percentiles.csv, stress_compare.csv): an entity's value cell
/// under its month and metric name.
struct TableRow {
  int entity = 0;
  std::string month;   ///< YYYY-MM
  const char* metric;  ///< shortfall_gw, shortfall_gw_months, months_late, all_sites_short
  int cell = 0;        ///< value cell of the layout
};

/// Every row, in the tables' order: per entity, its shortfall at each report month, its
/// GW-months, a site's months late, a group's all-sites-short indicator at each report month.
std::vector<TableRow> table_rows(const Scenario& scenario, const PathLayout& layout);

/// One row per (site or ALL, month, metric) cell; the columns are listed in docs/CONFIG.md.
std::string percentiles_csv(const Scenario& scenario, const RunResults& results);

/// "p50" for 50, "p99.9" for 99.9: the column name of a percentile.
std::string percentile_label(double q);

/// A CSV field, quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& text);

/// Binding-constraint shares per site and report month, then ALL (shares of site-paths).
std::string attribution_csv(const Scenario& scenario, const RunResults& results);

/// Per site, ALL and group, its worst paths by shortfall GW-months over the horizon (at most
/// 20, worst first, only paths that are short at all): the IDs `caprisk trace --path` replays.
std::string tail_paths_csv(const Scenario& scenario, const RunResults& results);

/// Each site's (and ALL's) target at each report month, so a chart needs no second reading of
/// the config.
std::string targets_csv(const Scenario& scenario, const RunResults& results);

/// The entities of the tables: sites 0 .. S-1, then ALL (S), then the groups (S + 1 + g).
int entity_count(const PathLayout& layout);
std::string entity_name(const Scenario& scenario, int entity);
/// The sites an entity adds up: itself, every site (ALL), or the group's.
std::vector<int> entity_sites(const Scenario& scenario, int entity);
/// The value cells of an entity's shortfall at a report month and its GW-months.
int shortfall_cell(const PathLayout& layout, int entity, int report);
int gw_months_cell(const PathLayout& layout, int entity);

/// The binding counts of `sites` at one report month, summed (ALL's and groups' attribution).
BindingCounts binding_counts_of(const RunResults& results, const std::vector<int>& sites,
                                int report);

/// An entity's target at `month` (a site's schedule, or the sum over its sites).
double target_at(const Scenario& scenario, int entity, int month);

/// What the headline says of a site or ALL: its final target, P(short) at the last report
/// month, the share of paths that reach the target (-1 for ALL), and the constraint behind
/// most of its short site-months at the report months.
struct SiteOutlook {
  double target_gw = 0;
  double p_short = 0;
  double reach_share = -1;
  std::string cause;  ///< power, supply or funding; empty when never short
  double cause_share = 0;
};

SiteOutlook site_outlook(const Scenario& scenario, const RunResults& results, int entity);

/// For the terminal: each site's target, P(short), reach and main cause, beside P50 / P95 at
/// up to six report months.
std::string headline_table(const Scenario& scenario, const RunResults& results);

/// The headline numbers for summary.json: per site and ALL, P50/P95/mean at each report month.
nlohmann::json headline_json(const Scenario& scenario, const RunResults& results);

/// Per site and ALL, the SiteOutlook of the headline (summary.json's "outlook").
nlohmann::json outlook_json(const Scenario& scenario, const RunResults& results);

/// Shortest decimal text that reads back as the same double.
std::string format_number(double value);

/// Up to six report months, evenly spread, always including the first and the last.
std::vector<int> headline_reports(int report_count);

}  // namespace caprisk
