// Device discovery through the CUDA runtime (built only with the CUDA backend).
#include <cuda_runtime.h>

#include "host/cuda/devices.h"

namespace caprisk {

DeviceReport query_devices() {
  DeviceReport report;
  report.cuda_built = true;
  cudaDriverGetVersion(&report.driver_version);
  cudaRuntimeGetVersion(&report.runtime_version);
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    report.why_none =
        std::string(cudaGetErrorString(status)) + " (" + cudaGetErrorName(status) + ")";
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return report;
  }
  if (count == 0) report.why_none = "the CUDA runtime found no devices";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp props{};
    if (cudaGetDeviceProperties(&props, i) != cudaSuccess) continue;
    report.devices.push_back(DeviceInfo{i, props.name, props.multiProcessorCount,
                                        props.totalGlobalMem, props.major, props.minor});
  }
  return report;
}

}  // namespace caprisk
