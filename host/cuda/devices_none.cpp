// Device discovery in a build without the CUDA backend.
#include "host/cuda/devices.h"

namespace caprisk {

DeviceReport query_devices() {
  DeviceReport report;
  report.why_none = "this caprisk was built without the CUDA backend (CAPRISK_CUDA=OFF or no nvcc)";
  return report;
}

}  // namespace caprisk
