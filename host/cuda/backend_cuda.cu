// CUDA backend: the launch layer over kernels/simulate_kernel.cuh (one thread per path), device
// memory, and the Thrust reduction of host/reduce/reduce_thrust.h on the device.
#include <cuda_runtime.h>
#include <thrust/gather.h>
#include <thrust/system/cuda/execution_policy.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "host/cuda/backend_cuda.h"
#include "host/cuda/cuda_check.cuh"
#include "host/cuda/device_buffer.cuh"
#include "host/errors.h"
#include "host/reduce/reduce_thrust.h"
#include "host/reduce/streaming.h"
#include "kernels/simulate_kernel.cuh"

namespace caprisk {
namespace {

using kernels::philox_outputs_kernel;
using kernels::simulate_paths_kernel;

/// The kernel's launch shape, chosen at run time so that one short GPU run can compare the
/// variants (scripts/gpu-check-runner): CAPRISK_CUDA_BLOCK=occupancy takes the block size
/// cudaOccupancyMaxPotentialBlockSize picks for this kernel's registers and local memory, a
/// number (a multiple of 32, 32 to 1024) fixes it; the default is 128 threads.
struct LaunchShape {
  int threads_per_block = 128;
  std::string name = "block 128";
};

const LaunchShape& launch_shape() {
  static const LaunchShape shape = [] {
    LaunchShape chosen;
    const char* text = std::getenv("CAPRISK_CUDA_BLOCK");
    if (text == nullptr || *text == '\0') return chosen;
    const std::string value = text;
    if (value == "occupancy") {
      int min_grid = 0, block = 0;
      CAPRISK_CUDA_TRY(cudaOccupancyMaxPotentialBlockSize(&min_grid, &block,
                                                          simulate_paths_kernel, 0, 0));
      chosen.threads_per_block = block;
      chosen.name = "occupancy block " + std::to_string(block);
      return chosen;
    }
    char* end = nullptr;
    const long block = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || block < 32 || block > 1024 || block % 32 != 0)
      throw UserError("CAPRISK_CUDA_BLOCK='" + value +
                      "': expected 'occupancy' or a multiple of 32 from 32 to 1024");
    // The kernel's own limit (its registers per thread), not the device's 1024.
    cudaFuncAttributes attributes{};
    CAPRISK_CUDA_TRY(cudaFuncGetAttributes(&attributes, simulate_paths_kernel));
    if (block > attributes.maxThreadsPerBlock)
      throw UserError("CAPRISK_CUDA_BLOCK=" + value + ": the kernel launches at most " +
                      std::to_string(attributes.maxThreadsPerBlock) +
                      " threads per block on this device (" +
                      std::to_string(attributes.numRegs) + " registers per thread)");
    chosen.threads_per_block = static_cast<int>(block);
    chosen.name = "block " + value;
    return chosen;
  }();
  return shape;
}

/// Selects `device`; returns its name. A device that does not exist is the user's error.
std::string select_device(int device) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw UserError(std::string("--backend cuda: no usable CUDA device: ") +
                    cudaGetErrorString(status) + " (" + cudaGetErrorName(status) + ")");
  }
  if (device < 0 || device >= count)
    throw UserError("--device " + std::to_string(device) + ": this machine has " +
                    std::to_string(count) + " CUDA device(s), numbered from 0");
  CAPRISK_CUDA_TRY(cudaSetDevice(device));
  cudaDeviceProp props{};
  CAPRISK_CUDA_TRY(cudaGetDeviceProperties(&props, device));
  return props.name;
}

int grid_size_for(std::uint64_t count) {
  int device = 0, multiprocessors = 0;
  CAPRISK_CUDA_TRY(cudaGetDevice(&device));
  CAPRISK_CUDA_TRY(
      cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, device));
  const auto threads = static_cast<std::uint64_t>(launch_shape().threads_per_block);
  const std::uint64_t blocks = (count + threads - 1) / threads;
  return static_cast<int>(std::min<std::uint64_t>(blocks, 32ULL * multiprocessors));
}

/// The flattened scenario's arrays in device memory, and the view in constant memory.
class DeviceScenario {
 public:
  explicit DeviceScenario(const FlatScenario& flat)
      : points_(flat.points().data(), flat.points().size()),
        suppliers_(flat.suppliers().data(), flat.suppliers().size()),
        deals_(flat.deals().data(), flat.deals().size()),
        sites_(flat.sites().data(), flat.sites().size()),
        funding_(flat.funding().data(), flat.funding().size()),
        site_order_(flat.site_order().data(), flat.site_order().size()),
        report_months_(flat.report_months().data(), flat.report_months().size()),
        target_by_month_(flat.target_by_month().data(), flat.target_by_month().size()),
        packaging_cap_by_month_(flat.packaging_cap_by_month().data(),
                                flat.packaging_cap_by_month().size()),
        group_first_(flat.group_first().data(), flat.group_first().size()),
        group_sites_(flat.group_sites().data(), flat.group_sites().size()) {
    view_ = flat.view();
    ScenarioView& view = view_;
    view.points = points_.data();
    view.suppliers = suppliers_.data();
    view.deals = deals_.data();
    view.sites = sites_.data();
    view.funding = funding_.data();
    view.site_order = site_order_.data();
    view.report_months = report_months_.data();
    view.target_by_month = target_by_month_.data();
    view.packaging_cap_by_month =
        flat.packaging_cap_by_month().empty() ? nullptr : packaging_cap_by_month_.data();
    view.group_first = group_first_.data();
    view.group_sites = flat.group_sites().empty() ? nullptr : group_sites_.data();
    bind();
  }
  /// Makes this the scenario the kernels read (one at a time: the variants of a stress run
  /// each bind theirs before their launch).
  void bind() const { CAPRISK_CUDA_TRY(kernels::set_constant_scenario(view_)); }

 private:
  ScenarioView view_;
  DeviceBuffer<SchedulePoint> points_;
  DeviceBuffer<SupplierParams> suppliers_;
  DeviceBuffer<DealParams> deals_;
  DeviceBuffer<SiteParams> sites_;
  DeviceBuffer<int> funding_;
  DeviceBuffer<int> site_order_;
  DeviceBuffer<int> report_months_;
  DeviceBuffer<double> target_by_month_;
  DeviceBuffer<double> packaging_cap_by_month_;
  DeviceBuffer<int> group_first_;
  DeviceBuffer<int> group_sites_;
};

/// Launches paths [first, first + count) into `out` at column offset `offset`.
void launch(std::uint64_t seed, std::uint64_t first, std::uint64_t count, std::uint64_t offset,
            const PathOutput& out) {
  simulate_paths_kernel<<<grid_size_for(count), launch_shape().threads_per_block>>>(
      seed, first, count, offset, out);
  CAPRISK_CUDA_CHECK_LAUNCH();
}


/// Times the work between construction and stop() with CUDA events.
class EventTimer {
 public:
  EventTimer() {
    CAPRISK_CUDA_TRY(cudaEventCreate(&start_));
    CAPRISK_CUDA_TRY(cudaEventCreate(&stop_));
    CAPRISK_CUDA_TRY(cudaEventRecord(start_));
  }
  ~EventTimer() {
    CAPRISK_ASSERT_CUDA_SUCCESS(cudaEventDestroy(start_));
    CAPRISK_ASSERT_CUDA_SUCCESS(cudaEventDestroy(stop_));
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  double stop_seconds() {
    CAPRISK_CUDA_TRY(cudaEventRecord(stop_));
    CAPRISK_CUDA_TRY(cudaEventSynchronize(stop_));
    float milliseconds = 0;
    CAPRISK_CUDA_TRY(cudaEventElapsedTime(&milliseconds, start_, stop_));
    return milliseconds / 1000.0;
  }

 private:
  cudaEvent_t start_{};
  cudaEvent_t stop_{};
};

/// Thrust's temporary storage, kept for reuse: a device reduction makes hundreds of Thrust
/// calls (a sort, reductions and counts per cell), and each would otherwise cudaMalloc and
/// cudaFree its scratch, a synchronising pair per call (issue 18, item 4). Blocks are reused
/// by size class (powers of two from 4 KiB) and freed when the reduction ends.
class CachingAllocator {
 public:
  using value_type = char;
  CachingAllocator() = default;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;
  ~CachingAllocator() {
    for (auto& [size, block] : free_) cudaFree(block);
    for (auto& [block, size] : used_) cudaFree(block);
  }
  char* allocate(std::ptrdiff_t bytes) {
    std::size_t size = 4096;
    while (size < static_cast<std::size_t>(bytes)) size *= 2;
    char* block = nullptr;
    const auto found = free_.find(size);
    if (found != free_.end()) {
      block = found->second;
      free_.erase(found);
    } else {
      CAPRISK_CUDA_TRY(cudaMalloc(reinterpret_cast<void**>(&block), size));
    }
    used_.emplace(block, size);
    return block;
  }
  void deallocate(char* block, std::size_t) {
    const auto found = used_.find(block);
    if (found == used_.end()) return;
    free_.emplace(found->second, block);
    used_.erase(found);
  }

 private:
  std::multimap<std::size_t, char*> free_;
  std::map<char*, std::size_t> used_;
};

/// Every path's outputs on the device at once, reduced there with Thrust.
RunResults run_on_device(std::uint64_t seed, std::uint64_t paths, PathLayout layout,
                         const std::vector<double>& percentiles, std::uint64_t chunk,
                         CudaRunInfo& info) {
  DeviceBuffer<double> values(static_cast<std::size_t>(layout.value_count()) * paths);
  DeviceBuffer<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()) * paths);
  const PathOutput out{values.data(), codes.data(), paths};
  // A warm-up launch of one path, untimed: the first launch loads the module and reserves the
  // kernel's local memory, which kernel_seconds must not include (issue 18, item 7). The real
  // launches overwrite its outputs.
  launch(seed, 0, 1, 0, out);
  CAPRISK_CUDA_TRY(cudaDeviceSynchronize());
  info.launch = launch_shape().name;
  EventTimer timer;
  for (std::uint64_t first = 0; first < paths; first += chunk)
    launch(seed, first, std::min(chunk, paths - first), first, out);
  info.kernel_seconds = timer.stop_seconds();
  info.reduced_on_device = true;
  EventTimer reduce_timer;
  // The order statistics every cell needs, gathered on the device and copied in one go.
  const std::vector<std::uint64_t> ranks = needed_ranks(paths, percentiles);
  const DeviceBuffer<std::uint64_t> device_ranks(ranks.data(), ranks.size());
  DeviceBuffer<double> gathered(ranks.size());
  const auto gather = [&](const double* column, std::vector<double>& out) {
    thrust::gather(thrust::cuda::par, device_ranks.data(), device_ranks.data() + ranks.size(),
                   column, gathered.data());
    CAPRISK_CUDA_TRY(cudaMemcpy(out.data(), gathered.data(), ranks.size() * sizeof(double),
                                cudaMemcpyDeviceToHost));
  };
  CachingAllocator scratch;
  RunResults results = reduce_with_policy(thrust::cuda::par(scratch), values.data(),
                                          codes.data(), layout, paths, percentiles, gather);
  info.reduce_seconds = reduce_timer.stop_seconds();
  return results;
}

}  // namespace

bool cuda_backend_built() {
  return true;
}

bool fits_on_device(const FlatScenario& scenario, std::uint64_t paths, int device) {
  select_device(device);
  std::size_t free_bytes = 0, total_bytes = 0;
  CAPRISK_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
  const PathLayout layout = scenario.layout();
  // Every path's outputs, plus about three columns of scratch for the device sort.
  const double bytes =
      static_cast<double>(paths) * static_cast<double>(layout.value_count() * sizeof(double) +
                                                       layout.code_count() + 3 * sizeof(double));
  return bytes < 0.8 * static_cast<double>(free_bytes);
}

RunResults run_cuda(const FlatScenario& scenario, std::uint64_t seed, std::uint64_t paths,
                    const std::vector<double>& percentiles, const CudaRunOptions& options,
                    CudaRunInfo& info) {
  info.device_name = select_device(options.device);
  const DeviceScenario device_scenario(scenario);
  const std::uint64_t chunk =
      options.chunk_paths > 0 ? std::min(paths, options.chunk_paths) : paths;
  info.chunk_paths = chunk;
  return run_on_device(seed, paths, scenario.layout(), percentiles, chunk, info);
}

namespace {

/// Device state of a chunk simulator: the scenario and one chunk's output buffers.
struct CudaChunkState {
  CudaChunkState(const FlatScenario& flat, std::uint64_t max_chunk)
      : scenario(flat),
        values(static_cast<std::size_t>(flat.layout().value_count()) * max_chunk),
        codes(static_cast<std::size_t>(flat.layout().code_count()) * max_chunk),
        static_columns(StaticColumns{flat.view().supplier_count, flat.view().deal_count,
                                     flat.view().site_count}
                           .count()),
        statics(static_cast<std::size_t>(static_columns) * max_chunk) {}
  DeviceScenario scenario;
  DeviceBuffer<double> values;
  DeviceBuffer<std::uint8_t> codes;
  int static_columns;
  DeviceBuffer<double> statics;  ///< the static draws, for the tail drivers
};

}  // namespace

namespace {

/// Copies `count` values from the device to the host.
template <class T>
void copy_back(T* host, const T* device, std::uint64_t count) {
  if (count > 0)
    CAPRISK_CUDA_TRY(cudaMemcpy(host, device, static_cast<std::size_t>(count) * sizeof(T),
                                cudaMemcpyDeviceToHost));
}

/// Launches the kernel for a chunk into the state's buffers and copies its static draws (when
/// `out` wants them) and codes back; the values are the caller's to copy, all or some.
void simulate_chunk(CudaChunkState& state, std::uint64_t seed, std::uint64_t first,
                    std::uint64_t count, const PathOutput& out, PathLayout layout, int device) {
  CAPRISK_CUDA_TRY(cudaSetDevice(device));
  state.scenario.bind();
  double* statics = out.statics != nullptr ? state.statics.data() : nullptr;
  launch(seed, first, count, 0, PathOutput{state.values.data(), state.codes.data(), count, statics});
  // The chunk is cell-major with stride `count` on both sides: plain copies.
  if (statics != nullptr)
    copy_back(out.statics, statics, static_cast<std::uint64_t>(state.static_columns) * count);
  copy_back(out.codes, state.codes.data(), static_cast<std::uint64_t>(layout.code_count()) * count);
}

/// The first pass's device buffers, sized for the largest chunk when first needed.
struct FirstPassState {
  DeviceBuffer<FirstPassCell> cells;
  DeviceBuffer<double> edges;
  DeviceBuffer<std::uint32_t> keys;
  DeviceBuffer<std::uint32_t> keys_out;
  DeviceBuffer<BinSums> sums_out;
  std::vector<std::uint32_t> host_keys;
  std::vector<BinSums> host_sums;
  CachingAllocator scratch;
};

}  // namespace

CudaChunkSource make_cuda_chunk_source(const FlatScenario& scenario, std::uint64_t seed,
                                       std::uint64_t max_chunk, int device,
                                       std::string& device_name) {
  device_name = select_device(device);
  const PathLayout layout = scenario.layout();
  auto state = std::make_shared<CudaChunkState>(scenario, max_chunk);
  auto first_pass = std::make_shared<FirstPassState>();  // allocated when first used
  CudaChunkSource source;
  source.simulate = [state, seed, layout, device](std::uint64_t first, std::uint64_t count,
                                                  const PathOutput& out) {
    simulate_chunk(*state, seed, first, count, out, layout, device);
    copy_back(out.values, state->values.data(),
              static_cast<std::uint64_t>(layout.value_count()) * count);
  };
  source.reduce = [state, first_pass, seed, layout, device, max_chunk](
             StreamingReducer& reducer, std::uint64_t first, std::uint64_t count,
             const PathOutput& out, int threads) {
    CAPRISK_EXPECTS(count <= max_chunk, "a chunk larger than the CUDA chunk reducer's buffers");
    simulate_chunk(*state, seed, first, count, out, layout, device);
    const ReductionSpec& spec = reducer.spec();
    if (reducer.pass() != 1) {  // a few values per bin are kept: the host routes them all
      copy_back(out.values, state->values.data(),
                static_cast<std::uint64_t>(layout.value_count()) * count);
      reducer.add_chunk(out.values, out.codes, count, count, threads, first);
      return;
    }
    const FirstPassTable table = reducer.first_pass_table();
    const int cells = static_cast<int>(table.cells.size());
    // What the host still reads: the tail cells' columns (their worst paths) and the
    // moments-only cells after the cells with percentiles.
    for (int c : spec.tail_cells())
      copy_back(out.values + static_cast<std::uint64_t>(c) * count,
                state->values.data() + static_cast<std::uint64_t>(c) * count, count);
    copy_back(out.values + static_cast<std::uint64_t>(cells) * count,
              state->values.data() + static_cast<std::uint64_t>(cells) * count,
              static_cast<std::uint64_t>(layout.value_count() - cells) * count);
    const std::uint64_t room =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(cells) * max_chunk,
                                static_cast<std::uint64_t>(cells) * (table.stride + 1ULL));
    FirstPassState& fp = *first_pass;
    if (fp.keys.size() < static_cast<std::size_t>(cells) * max_chunk)
      fp.keys = DeviceBuffer<std::uint32_t>(static_cast<std::size_t>(cells) * max_chunk);
    if (fp.keys_out.size() < room) {
      fp.keys_out = DeviceBuffer<std::uint32_t>(room);
      fp.sums_out = DeviceBuffer<BinSums>(room);
    }
    // The bins do not change during the pass, but a pass may belong to another reducer than
    // the last chunk's (--target-ci's blocks): uploaded each chunk, into buffers kept.
    if (fp.cells.size() < table.cells.size())
      fp.cells = DeviceBuffer<FirstPassCell>(table.cells.size());
    if (fp.edges.size() < table.edges.size()) fp.edges = DeviceBuffer<double>(table.edges.size());
    if (!table.cells.empty())
      CAPRISK_CUDA_TRY(cudaMemcpy(fp.cells.data(), table.cells.data(),
                                  table.cells.size() * sizeof(FirstPassCell), cudaMemcpyHostToDevice));
    if (!table.edges.empty())
      CAPRISK_CUDA_TRY(cudaMemcpy(fp.edges.data(), table.edges.data(),
                                  table.edges.size() * sizeof(double), cudaMemcpyHostToDevice));
    const std::size_t distinct = first_pass_bins_with_policy(
        thrust::cuda::par(fp.scratch), state->values.data(), count, cells, fp.cells.data(),
        fp.edges.data(), table.stride, fp.keys.data(), fp.keys_out.data(), fp.sums_out.data());
    fp.host_keys.resize(distinct);
    fp.host_sums.resize(distinct);
    copy_back(fp.host_keys.data(), fp.keys_out.data(), distinct);
    copy_back(fp.host_sums.data(), fp.sums_out.data(), distinct);
    reducer.add_first_pass_bins(fp.host_keys.data(), fp.host_sums.data(), distinct);
    reducer.add_chunk(out.values, out.codes, count, count, threads, first, true);
  };
  return source;
}

std::function<void(std::uint64_t, std::uint64_t, const PathOutput&)> make_cuda_chunk_simulator(
    const FlatScenario& scenario, std::uint64_t seed, std::uint64_t max_chunk, int device,
    std::string& device_name) {
  return make_cuda_chunk_source(scenario, seed, max_chunk, device, device_name).simulate;
}

void simulate_cuda_outputs(const FlatScenario& scenario, std::uint64_t seed, std::uint64_t first,
                           std::uint64_t count, std::vector<double>& values,
                           std::vector<std::uint8_t>& codes, int device) {
  select_device(device);
  const DeviceScenario device_scenario(scenario);
  const PathLayout layout = scenario.layout();
  DeviceBuffer<double> device_values(static_cast<std::size_t>(layout.value_count()) * count);
  DeviceBuffer<std::uint8_t> device_codes(static_cast<std::size_t>(layout.code_count()) * count);
  launch(seed, first, count, 0, PathOutput{device_values.data(), device_codes.data(), count});
  CAPRISK_CUDA_TRY(cudaDeviceSynchronize());
  values.resize(device_values.size());
  codes.resize(device_codes.size());
  CAPRISK_CUDA_TRY(cudaMemcpy(values.data(), device_values.data(), device_values.bytes(),
                              cudaMemcpyDeviceToHost));
  CAPRISK_CUDA_TRY(
      cudaMemcpy(codes.data(), device_codes.data(), device_codes.bytes(), cudaMemcpyDeviceToHost));
}

std::vector<std::uint32_t> philox_outputs_cuda(std::uint64_t key, std::uint64_t subsequence,
                                               std::size_t count, int device) {
  select_device(device);
  DeviceBuffer<std::uint32_t> out(count);
  philox_outputs_kernel<<<1, 1>>>(key, subsequence, count, out.data());
  CAPRISK_CUDA_CHECK_LAUNCH();
  std::vector<std::uint32_t> host(count);
  CAPRISK_CUDA_TRY(cudaMemcpy(host.data(), out.data(), out.bytes(), cudaMemcpyDeviceToHost));
  return host;
}

}  // namespace caprisk
