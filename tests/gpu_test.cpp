// Agreement of the CUDA backend with the CPU backend. Needs a GPU (CTest label `gpu`); without
// one every test is skipped with the reason, never passed silently.
#include <gtest/gtest.h>

#include <cmath>

#include <curand_kernel.h>

#include "host/cuda/backend_cuda.h"
#include "host/cuda/devices.h"
#include "kernels/rng.h"
#include "test_support.h"

namespace caprisk {
namespace {

class Gpu : public ::testing::Test {
 protected:
  void SetUp() override {
    const DeviceReport report = query_devices();
    const std::string why = !cuda_backend_built() ? std::string("no CUDA backend in this build")
                            : report.devices.empty()
                                ? "no usable CUDA device: " + report.why_none
                                : std::string();
    if (why.empty()) return;
    if (testing::gpu_required()) GTEST_FAIL() << why << " (CAPRISK_REQUIRE_GPU=1)";
    GTEST_SKIP() << why;
  }
};

TEST_F(Gpu, PhiloxStreamsAreIdenticalOnBothBackends) {
  for (std::uint64_t subsequence : {0ULL, 1ULL, 12345678901ULL}) {
    const std::uint64_t key = stream_key(20251001, component_key("site", "Abilene TX"));
    const std::vector<std::uint32_t> device = philox_outputs_cuda(key, subsequence, 1000, 0);
    curandStatePhilox4_32_10_t state;
    curand_init(key, subsequence, 0, &state);
    for (std::size_t i = 0; i < device.size(); ++i)
      ASSERT_EQ(device[i], curand(&state)) << "output " << i << " subsequence " << subsequence;
  }
}

TEST_F(Gpu, PerPathOutputsAgreeWithTheCpu) {
  Scenario scenario = load_scenario(testing::source_path("configs/stargate.yaml"));
  scenario.paths = 4096;
  testing::Simulation cpu(scenario, 0);
  std::vector<double> values;
  std::vector<std::uint8_t> codes;
  simulate_cuda_outputs(*cpu.flat, scenario.seed, 0, scenario.paths, values, codes, 0);
  const PathLayout layout = cpu.layout();
  std::uint64_t differing_codes = 0;
  for (int cell = 0; cell < layout.value_count(); ++cell)
    for (std::uint64_t p = 0; p < scenario.paths; ++p) {
      const double expected = cpu.value(cell, p);
      ASSERT_NEAR(values[cell * scenario.paths + p], expected, 1e-9 + 1e-5 * std::fabs(expected))
          << "cell " << cell << " path " << p;
    }
  for (int cell = 0; cell < layout.code_count(); ++cell)
    for (std::uint64_t p = 0; p < scenario.paths; ++p)
      differing_codes += codes[cell * scenario.paths + p] != cpu.code(cell, p);
  // A binding constraint can flip where two limits tie to within rounding (FMA on the GPU).
  EXPECT_LE(differing_codes, scenario.paths * layout.code_count() / 1000);
}

TEST_F(Gpu, PercentileTablesAgreeWithinTheirConfidenceIntervals) {
  Scenario scenario = load_scenario(testing::source_path("configs/stargate.yaml"));
  scenario.paths = 100000;
  testing::Simulation cpu(scenario, 0);
  const RunResults expected = reduce(cpu.samples, scenario.percentiles, 0);
  CudaRunInfo info;
  const RunResults actual =
      run_cuda(*cpu.flat, scenario.seed, scenario.paths, scenario.percentiles, {0, 0}, info);
  EXPECT_TRUE(info.reduced_on_device);
  for (std::size_t cell = 0; cell < expected.cells.size(); ++cell)
    for (std::size_t q = 0; q < expected.cells[cell].percentiles.size(); ++q) {
      const PercentileEstimate& e = expected.cells[cell].percentiles[q];
      const double value = actual.cells[cell].percentiles[q].value;
      EXPECT_GE(value, e.ci_low - 1e-9) << "cell " << cell << " q " << e.q;
      EXPECT_LE(value, e.ci_high + 1e-9) << "cell " << cell << " q " << e.q;
    }
}

TEST_F(Gpu, ChunkSizeDoesNotChangeTheResults) {
  Scenario scenario = load_scenario(testing::source_path("configs/minimal.yaml"));
  const FlatScenario flat(scenario);
  CudaRunInfo one, two;
  const RunResults whole = run_cuda(flat, scenario.seed, 50000, scenario.percentiles, {0, 0}, one);
  const RunResults chunked =
      run_cuda(flat, scenario.seed, 50000, scenario.percentiles, {0, 4096}, two);
  for (std::size_t cell = 0; cell < whole.cells.size(); ++cell) {
    EXPECT_EQ(whole.cells[cell].mean, chunked.cells[cell].mean);
    for (std::size_t q = 0; q < whole.cells[cell].percentiles.size(); ++q)
      EXPECT_EQ(whole.cells[cell].percentiles[q].value, chunked.cells[cell].percentiles[q].value);
  }
}

}  // namespace
}  // namespace caprisk
