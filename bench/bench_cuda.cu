// GPU benchmarks, timed with CUDA events: the fused simulation kernel, the device reduction,
// and cuRAND's bulk Philox normal generation as the hardware baseline, all in one binary so
// that the ratio fused draws/s / bulk draws/s compares like with like on one GPU.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/bench_support.h"
#include "host/cuda/backend_cuda.h"
#include "host/config/config.h"
#include "host/cuda/cuda_check.cuh"
#include "host/cuda/device_buffer.cuh"
#include "host/cuda/devices.h"
#include "host/config/flatten.h"

namespace caprisk {
namespace {

/// False (and the benchmark skipped with the reason) when there is no usable GPU.
bool have_gpu(benchmark::State& state) {
  const DeviceReport report = query_devices();
  if (report.devices.empty()) {
    const char* required = std::getenv("CAPRISK_REQUIRE_GPU");
    if (required != nullptr && std::string(required) == "1") {  // the GPU host: never skip
      std::fprintf(stderr, "bench_cuda: no usable CUDA device (CAPRISK_REQUIRE_GPU=1): %s\n",
                   report.why_none.c_str());
      std::exit(1);
    }
    state.SkipWithError(("no usable CUDA device: " + report.why_none).c_str());
    return false;
  }
  return true;
}

/// Philox outputs one path of a scenario consumes, counted from its structure: one per static
/// input and factor, four per month for each supplier with disruptions and each deal with a
/// cancellation hazard (an upper bound: months before a deal starts draw nothing).
double philox_outputs_per_path(const Scenario& s) {
  double outputs = 12 + static_cast<double>(s.correlation.factors.size());
  for (const auto& supplier : s.supply.suppliers) {
    outputs += supplier.hbm_yield ? 5 : 2;
    if (supplier.disruption_rate_per_year > 0) outputs += 4.0 * s.horizon_months;
  }
  for (const auto& deal : s.funding.deals) {
    outputs += 2;
    if (deal.cancel_hazard_per_year > 0) outputs += 4.0 * s.horizon_months;
  }
  return outputs + 4.0 * static_cast<double>(s.sites.size());
}

/// The fused kernel on the default scenario: paths/s and Philox draws/s.
void BM_cuda_fused_kernel(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const FlatScenario flat(default_scenario());
  const auto paths = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    CudaRunInfo info;
    run_cuda(flat, 1, paths, default_scenario().percentiles, CudaRunOptions{}, info);
    state.SetIterationTime(info.kernel_seconds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * paths));
  state.counters["draws_per_second"] =
      benchmark::Counter(philox_outputs_per_path(default_scenario()) * static_cast<double>(paths),
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_cuda_fused_kernel)
    ->Arg(1 << 20)
    ->Arg(10'000'000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

/// The device reduction of the same run (sorts, moments, order statistics).
void BM_cuda_device_reduction(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const FlatScenario flat(default_scenario());
  const auto paths = static_cast<std::uint64_t>(state.range(0));
  for (auto _ : state) {
    CudaRunInfo info;
    run_cuda(flat, 1, paths, default_scenario().percentiles, CudaRunOptions{}, info);
    state.SetIterationTime(info.reduce_seconds);
  }
  state.SetItemsProcessed(
      static_cast<std::int64_t>(state.iterations() * paths * flat.layout().value_count()));
}
BENCHMARK(BM_cuda_device_reduction)
    ->Arg(1 << 20)
    ->Arg(10'000'000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

#define CAPRISK_CURAND_TRY(call)                                              \
  do {                                                                        \
    const curandStatus_t curand_status_ = (call);                             \
    if (curand_status_ != CURAND_STATUS_SUCCESS)                              \
      throw RuntimeFailure(std::string(#call) + " failed: curandStatus " +    \
                           std::to_string(static_cast<int>(curand_status_))); \
  } while (0)

/// cuRAND's bulk Philox normals into device memory: the hardware baseline for draws/s.
void BM_curand_generate_normal(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const auto count = static_cast<std::size_t>(state.range(0));
  DeviceBuffer<float> out(count);
  curandGenerator_t generator{};
  CAPRISK_CURAND_TRY(curandCreateGenerator(&generator, CURAND_RNG_PSEUDO_PHILOX4_32_10));
  CAPRISK_CURAND_TRY(curandSetPseudoRandomGeneratorSeed(generator, 1234));
  cudaEvent_t start{}, stop{};
  CAPRISK_CUDA_TRY(cudaEventCreate(&start));
  CAPRISK_CUDA_TRY(cudaEventCreate(&stop));
  for (auto _ : state) {
    CAPRISK_CUDA_TRY(cudaEventRecord(start));
    CAPRISK_CURAND_TRY(curandGenerateNormal(generator, out.data(), count, 0.0f, 1.0f));
    CAPRISK_CUDA_TRY(cudaEventRecord(stop));
    CAPRISK_CUDA_TRY(cudaEventSynchronize(stop));
    float milliseconds = 0;
    CAPRISK_CUDA_TRY(cudaEventElapsedTime(&milliseconds, start, stop));
    state.SetIterationTime(milliseconds / 1000.0);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  curandDestroyGenerator(generator);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}
BENCHMARK(BM_curand_generate_normal)->Arg(1 << 28)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace caprisk

BENCHMARK_MAIN();
