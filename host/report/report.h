// Report files of a run: percentiles.csv, attribution.csv, summary.json and the headline table.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "host/reduce/results.h"
#include "host/config/scenario.h"

namespace caprisk {

/// One row per (site or ALL, month, metric) cell; the columns are listed in docs/CONFIG.md.
std::string percentiles_csv(const Scenario& scenario, const RunResults& results);

/// Binding-constraint shares per site and report month.
std::string attribution_csv(const Scenario& scenario, const RunResults& results);

/// P50 / P95 shortfall per site at up to six report months, for the terminal.
std::string headline_table(const Scenario& scenario, const RunResults& results);

/// The headline numbers for summary.json: per site and ALL, P50/P95/mean at each report month.
nlohmann::json headline_json(const Scenario& scenario, const RunResults& results);

/// Shortest decimal text that reads back as the same double.
std::string format_number(double value);

}  // namespace caprisk
