// CUDA device discovery; host code never sees a CUDA type.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace caprisk {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int multiprocessors = 0;
  std::size_t memory_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

struct DeviceReport {
  bool cuda_built = false;  ///< this binary has the CUDA backend
  int driver_version = 0;   ///< e.g. 13000; 0 when no driver
  int runtime_version = 0;
  std::vector<DeviceInfo> devices;
  std::string why_none;  ///< set when `devices` is empty
};

/// Lists the usable CUDA devices, or says why there are none.
DeviceReport query_devices();

}  // namespace caprisk
