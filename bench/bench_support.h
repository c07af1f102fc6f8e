// Shared by the benchmark binaries.
#pragma once

#include <string>

#include "host/config/config.h"

namespace caprisk {

/// configs/stargate.yaml, loaded once.
inline const Scenario& default_scenario() {
  static const Scenario scenario =
      load_scenario(std::string(CAPRISK_SOURCE_DIR) + "/configs/stargate.yaml");
  return scenario;
}

}  // namespace caprisk
