// The tables of a sensitivity run (docs/ANALYSIS.md, "Sensitivity"): tornado.csv, its top
// ten for the terminal, and summary.json's "sensitivity".
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "host/config/scenario.h"
#include "host/reduce/results.h"
#include "host/config/pinned_inputs.h"

namespace caprisk {

/// An input's paired differences, one per value cell of the layout.
struct PinnedDifferences {
  std::vector<PairedDifference> at_low;   ///< pinned low - base
  std::vector<PairedDifference> at_high;  ///< pinned high - base
  std::vector<PairedDifference> span;     ///< pinned high - pinned low
};

/// One input x metric of the tornado.
struct TornadoRow {
  std::size_t input = 0;  ///< index into the inputs
  int entity = 0;         ///< ALL or a group (report.h's entity numbering)
  std::string month;      ///< a report month, or "horizon"
  const char* metric = "";
  double base_mean = 0;
  PairedDifference at_low;   ///< pinned low - base
  PairedDifference at_high;  ///< pinned high - base
  PairedDifference span;     ///< pinned high - pinned low
  double swing = 0;          ///< |mean at high - mean at low|
  double swing_ci_low = 0;   ///< 95% CI of the swing, from the paired high - low
  double swing_ci_high = 0;
};

/// Every input x (ALL and each group) x (GW-months over the horizon, shortfall at each report
/// month); within each (site, month, metric), inputs by swing, largest first (ties: config
/// order). `differences` has one entry per input.
std::vector<TornadoRow> tornado_rows(const Scenario& scenario, const RunResults& base,
                                     const std::vector<PinnedDifferences>& differences);

std::string tornado_csv(const Scenario& scenario, const std::vector<PinnedInput>& inputs,
                        const std::vector<TornadoRow>& rows, std::uint64_t paths);

/// For the terminal: the ten largest swings of ALL's GW-months over the horizon.
std::string tornado_table(const Scenario& scenario, const std::vector<PinnedInput>& inputs,
                          const std::vector<TornadoRow>& rows);

/// summary.json's "sensitivity": the inputs, and the top ten of ALL's GW-months.
nlohmann::json sensitivity_json(const std::vector<PinnedInput>& inputs,
                                const std::vector<TornadoRow>& rows);

}  // namespace caprisk
