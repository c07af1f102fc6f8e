// Reads a scenario YAML file (docs/CONFIG.md) into a validated Scenario.
#pragma once

#include <string>

#include "host/errors.h"
#include "host/scenario.h"

namespace caprisk {

/// Parses and validates; throws ConfigError naming file, line, column and field.
Scenario load_scenario(const std::string& path);

/// Same, from YAML text (tests); `display_name` stands for the file in messages.
Scenario parse_scenario(const std::string& yaml_text, const std::string& display_name);

/// Parses "YYYY-MM"; returns false when malformed.
bool parse_year_month(const std::string& text, YearMonth& out);

/// Lower-triangular L with L L^T = matrix for a symmetric positive semidefinite matrix;
/// returns false when it is not positive semidefinite.
bool cholesky_psd(const std::vector<std::vector<double>>& matrix, std::vector<double>& lower);

}  // namespace caprisk
