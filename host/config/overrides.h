// What-if edits of a scenario without editing its file (docs/ANALYSIS.md): --set PATH=VALUE
// puts a YAML value at a config path, --shift PATH=MONTHS moves every point of a schedule.
// Named stresses in the config (`stresses:`) are lists of the same edits.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "host/config/scenario.h"

namespace caprisk {

/// Most --set/--shift options of one run, and the most bytes of one's PATH=VALUE.
constexpr std::size_t max_overrides = 256;
constexpr std::size_t max_override_bytes = 4096;

/// Parses the PATH=VALUE of a --set or --shift; UserError naming the option when malformed.
Override parse_override(Override::Kind kind, const std::string& argument);

/// `document` with every set applied, in place (YAML nodes share their data: pass a document
/// of your own, such as a fresh parse, which keeps every node's line and column). A path picks
/// list items by index or by name (`sites[Abilene TX]`); a key the config left out is added.
/// UserError naming the override when its path leads nowhere. `canonical` receives each
/// set's path with indices for names, the form the reader's messages use.
YAML::Node apply_sets(YAML::Node document, const std::vector<Override>& overrides,
                      std::vector<std::string>& canonical);

/// Moves every point of the schedules the shifts name by their months (whole or fractional);
/// UserError naming the override when its path is not a schedule.
void apply_shifts(Scenario& scenario, const std::vector<Override>& overrides);

/// The overrides as one text, in the order given ("--set PATH=VALUE\n..."): what the config
/// hash covers besides the file's bytes.
std::string overrides_text(const std::vector<Override>& overrides);

}  // namespace caprisk
