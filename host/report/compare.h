// The tables of a stress run (docs/ANALYSIS.md): stress_compare.csv, the terminal's answer
// "+x GW (95% CI a to b)" per site and report month, and summary.json's "stresses".
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "host/config/scenario.h"
#include "host/reduce/results.h"

namespace caprisk {

/// One stress of a run, beside the base it was run with.
struct StressOutcome {
  const Stress* stress = nullptr;      ///< name, description, edits
  const Scenario* scenario = nullptr;  ///< the stressed scenario
  RunResults results;                  ///< its tables
  std::vector<PairedDifference> differences;  ///< per value cell, stressed - base
};

/// For every stress x entity x month x metric (percentiles.csv's rows): base and stressed
/// means, the paired difference of means with its sd and 95% CI, the share of paths the stress
/// makes worse, and the changes in P50 and P95.
std::string stress_compare_csv(const Scenario& base, const RunResults& base_results,
                               const std::vector<StressOutcome>& stresses);

/// For the terminal: per stress, the change in each entity's mean shortfall at up to three
/// report months, as "+x GW (95% CI a to b)".
std::string stress_table(const Scenario& base, const RunResults& base_results,
                         const std::vector<StressOutcome>& stresses);

/// summary.json's "stresses": name, description, edits and the change in mean shortfall at
/// every report month.
nlohmann::json stresses_json(const Scenario& base, const std::vector<StressOutcome>& stresses);

}  // namespace caprisk
