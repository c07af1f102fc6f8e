// Reads a scenario YAML file (docs/CONFIG.md) into a validated Scenario.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "host/errors.h"
#include "host/config/scenario.h"

namespace caprisk {

/// Largest config file accepted (4 MiB; the default scenario is about 15 KB).
constexpr std::uint64_t max_config_bytes = std::uint64_t{4} << 20;

/// The bytes of a config file: a regular file of at most max_config_bytes, read without
/// blocking (a FIFO or device is refused). ConfigError naming the file otherwise.
std::string read_config_file(const std::string& path);

/// read_config_file() and parse_scenario(); throws ConfigError naming file, line, column and
/// field.
Scenario load_scenario(const std::string& path);

/// Same, from YAML text; `display_name` stands for the file in messages. `overrides` (--set,
/// --shift) are applied before the scenario is checked, and each stress of the config is
/// checked on top of them.
Scenario parse_scenario(const std::string& yaml_text, const std::string& display_name,
                        const std::vector<Override>& overrides = {});

/// The scenario of one stress of `base` (parsed from `yaml_text` with `base.overrides`): the
/// base's edits, then the stress's. UserError naming the stress when it is invalid, changes
/// the layout of the tables, or sets the seed or the path count.
Scenario stressed(const std::string& yaml_text, const std::string& display_name,
                  const Scenario& base, const Stress& stress);

/// Parses "YYYY-MM"; returns false when malformed.
bool parse_year_month(const std::string& text, YearMonth& out);



}  // namespace caprisk
