// Stand-in for the CUDA backend in a build without nvcc.
#include "host/cuda/backend_cuda.h"
#include "host/errors.h"

namespace caprisk {

namespace {
[[noreturn]] void not_built() {
  throw UserError("this caprisk was built without the CUDA backend (CAPRISK_CUDA=OFF or no nvcc)");
}
}  // namespace

bool cuda_backend_built() { return false; }

bool fits_on_device(const FlatScenario&, std::uint64_t, int) { not_built(); }

RunResults run_cuda(const FlatScenario&, std::uint64_t, std::uint64_t, const std::vector<double>&,
                    const CudaRunOptions&, CudaRunInfo&) {
  not_built();
}

std::function<void(std::uint64_t, std::uint64_t, const PathOutput&)> make_cuda_chunk_simulator(
    const FlatScenario&, std::uint64_t, std::uint64_t, int, std::string&) {
  not_built();
}

CudaChunkSource make_cuda_chunk_source(const FlatScenario&, std::uint64_t, std::uint64_t, int,
                                       std::string&) {
  not_built();
}

void simulate_cuda_outputs(const FlatScenario&, std::uint64_t, std::uint64_t, std::uint64_t,
                           std::vector<double>&, std::vector<std::uint8_t>&, int) {
  not_built();
}

std::vector<std::uint32_t> philox_outputs_cuda(std::uint64_t, std::uint64_t, std::size_t, int) {
  not_built();
}

}  // namespace caprisk
