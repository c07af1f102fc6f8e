// Agreement of the CUDA backend with the CPU backend. Needs a GPU (CTest label `gpu`); without
// one every test is skipped with the reason, never passed silently.
#include <gtest/gtest.h>

#include <cmath>

#include <curand_kernel.h>

#include "host/cuda/backend_cuda.h"
#include "host/cuda/devices.h"
#include "host/config/pinned_inputs.h"
#include "host/run/batch.h"
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

TEST_F(Gpu, AFirstPassBinnedOnTheDeviceGivesTheHostsTables) {
  // A streamed GPU run, its root bins filled on the device (make_cuda_chunk_source), against
  // the same run with every value copied back and binned on the host: the same integers in
  // every bin, so the same tables, tails and drivers, bit for bit.
  Scenario scenario = load_scenario(testing::source_path("configs/stargate.yaml"));
  scenario.paths = 40000;
  const FlatScenario flat(scenario);
  std::string name;
  PathSource host = single_source(flat, scenario.seed, 2,
                                  make_cuda_chunk_simulator(flat, scenario.seed, 7000, 0, name));
  host.spec.tail_paths = 20;
  host.spec.static_bounds = static_bounds(scenario);
  PathSource device = host;
  device.reduce = make_cuda_chunk_source(flat, scenario.seed, 7000, 0, name).reduce;
  BatchOptions options;
  options.chunk_paths = 7000;
  options.quiet = true;
  BatchReport one, two;
  const RunResults a = run_batch(scenario, host, options, one);
  const RunResults b = run_batch(scenario, device, options, two);
  ASSERT_EQ(a.cells.size(), b.cells.size());
  for (std::size_t cell = 0; cell < a.cells.size(); ++cell) {
    EXPECT_EQ(a.cells[cell].mean, b.cells[cell].mean) << "cell " << cell;
    EXPECT_EQ(a.cells[cell].sd, b.cells[cell].sd) << "cell " << cell;
    EXPECT_EQ(a.cells[cell].p_positive, b.cells[cell].p_positive) << "cell " << cell;
    EXPECT_EQ(a.cells[cell].cvar95, b.cells[cell].cvar95) << "cell " << cell;
    for (std::size_t q = 0; q < a.cells[cell].percentiles.size(); ++q)
      EXPECT_EQ(a.cells[cell].percentiles[q].value, b.cells[cell].percentiles[q].value);
  }
  EXPECT_EQ(a.binding_counts, b.binding_counts);
  ASSERT_EQ(a.drivers.size(), b.drivers.size());
  for (std::size_t k = 0; k < a.drivers.size(); ++k) EXPECT_EQ(a.drivers[k].mean, b.drivers[k].mean);
  ASSERT_EQ(a.worst_paths.size(), b.worst_paths.size());
  ASSERT_FALSE(a.worst_paths.empty());
  for (std::size_t k = 0; k < a.worst_paths.size(); ++k) {
    ASSERT_EQ(a.worst_paths[k].size(), b.worst_paths[k].size());
    for (std::size_t j = 0; j < a.worst_paths[k].size(); ++j)
      EXPECT_EQ(a.worst_paths[k][j].path, b.worst_paths[k][j].path);
  }
  EXPECT_EQ(a.static_mean, b.static_mean);
  EXPECT_EQ(one.passes, two.passes);
}

}  // namespace
}  // namespace caprisk
