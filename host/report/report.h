// Report files of a run: percentiles.csv, attribution.csv, summary.json and the headline table.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "host/reduce/results.h"
#include "host/config/scenario.h"

namespace caprisk {

/// One row per (site or ALL, month, metric) cell; the columns are listed in docs/CONFIG.md.
std::string percentiles_csv(const Scenario& scenario, const RunResults& results);

/// Binding-constraint shares per site and report month, then ALL (shares of site-paths).
std::string attribution_csv(const Scenario& scenario, const RunResults& results);

/// Each site's (and ALL's) target at each report month, so a chart needs no second reading of
/// the config.
std::string targets_csv(const Scenario& scenario, const RunResults& results);

/// The binding counts of every site at one report month, summed (ALL's attribution).
BindingCounts program_binding_counts(const RunResults& results, int report);

/// The target schedule of a site (or, for entity = site count, the sum of all) at `month`.
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

}  // namespace caprisk
