// Shared by the benchmark binaries.
#pragma once

#include <cstdlib>
#include <string>

#include "host/config/config.h"

namespace caprisk {

/// The source tree: $CAPRISK_SOURCE_DIR when set (a bundle run elsewhere), else the tree the
/// benchmarks were built from.
inline std::string source_root() {
  const char* chosen = std::getenv("CAPRISK_SOURCE_DIR");
  return chosen != nullptr && *chosen != '\0' ? chosen : CAPRISK_SOURCE_DIR;
}

/// configs/stargate.yaml, loaded once.
inline const Scenario& default_scenario() {
  static const Scenario scenario = load_scenario(source_root() + "/configs/stargate.yaml");
  return scenario;
}

}  // namespace caprisk
