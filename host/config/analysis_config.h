// The config sections for analysis runs: site groups (reported like ALL) and named stresses
// (docs/CONFIG.md, "groups" and "stresses"). Used by config.cpp's schema.
#pragma once

#include <yaml-cpp/yaml.h>

#include <vector>

#include "host/config/scenario.h"
#include "host/config/yaml_reader.h"

namespace caprisk {

/// Most stresses a config may list.
inline constexpr std::size_t max_stresses = 256;

/// `groups: {NAME: [site, ...], ...}`: names unique and not those of sites or ALL, members
/// existing sites, each once.
std::vector<SiteGroup> read_groups(const Reader& r, const YAML::Node& node,
                                   const std::vector<Site>& sites);

/// `stresses: [{name, description, set: {PATH: VALUE}, shift: {PATH: MONTHS}}, ...]`. The
/// edits are checked when the stresses are applied (config.cpp), each named by its location.
std::vector<Stress> read_stresses(const Reader& r, const YAML::Node& node);

/// Why `name` cannot name a stress (it becomes a folder name and an --only argument): letters,
/// digits, '_', '-' and '.', not first, at most 64; "" when it can.
std::string stress_name_problem(const std::string& name);

}  // namespace caprisk
