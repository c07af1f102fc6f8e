// CPU benchmarks: one path of the default scenario, the Philox stream, the reduction, and a
// whole chunk on all cores.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <random>
#include <vector>

#include "bench/bench_support.h"
#include "host/run/backend_cpu.h"
#include "host/run/simd_batch.h"
#include "host/config/config.h"
#include "host/config/flatten.h"
#include "host/reduce/results.h"
#include "host/reduce/statistics.h"
#include "host/reduce/streaming.h"
#include "kernels/model.h"

namespace caprisk {
namespace {

/// One path at a time on one thread: paths/s per thread.
void BM_model_path(benchmark::State& state) {
  const FlatScenario flat(default_scenario());
  const PathLayout layout = flat.layout();
  std::vector<double> values(static_cast<std::size_t>(layout.value_count()));
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()));
  std::uint64_t path = 0;
  for (auto _ : state) {
    simulate_path(flat.view(), 1, path++, PathOutput{values.data(), codes.data(), 1});
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_model_path);

/// The two halves of a path apart: its static draws (the beta inversions, the copula) ...
void BM_model_statics(benchmark::State& state) {
  const FlatScenario flat(default_scenario());
  std::uint64_t path = 0;
  FactorUniforms factors;
  PathStatics draws;
  for (auto _ : state) {
    sample_statics(flat.view(), 1, path++, factors, draws);
    benchmark::DoNotOptimize(&draws);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_model_statics);

/// ... and its months, from draws made once.
void BM_model_months(benchmark::State& state) {
  const FlatScenario flat(default_scenario());
  const PathLayout layout = flat.layout();
  std::vector<double> values(static_cast<std::size_t>(layout.value_count()));
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()));
  constexpr int kept = 64;
  std::vector<PathStatics> draws(kept);
  FactorUniforms factors;
  for (int p = 0; p < kept; ++p) sample_statics(flat.view(), 1, p, factors, draws[p]);
  std::uint64_t path = 0;
  for (auto _ : state) {
    simulate_from_statics(flat.view(), 1, path, draws[path % kept],
                          PathOutput{values.data(), codes.data(), 1});
    ++path;
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_model_months);

/// The months of a batch of paths on the SIMD target in use (CAPRISK_SIMD chooses another),
/// per path: against BM_model_months, what the lanes buy.
void BM_model_months_batch(benchmark::State& state) {
  const FlatScenario flat(default_scenario());
  const PathLayout layout = flat.layout();
  const SimdTarget target = simd_target();
  const auto lanes = static_cast<std::uint64_t>(target.lanes);
  std::vector<double> values(static_cast<std::size_t>(layout.value_count()) * lanes);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()) * lanes);
  constexpr std::uint64_t kept = 64;
  std::vector<PathStatics> draws(kept);
  FactorUniforms factors;
  for (std::uint64_t p = 0; p < kept; ++p) sample_statics(flat.view(), 1, p, factors, draws[p]);
  std::uint64_t first = 0;
  for (auto _ : state) {
    simulate_batch(flat.view(), 1, first, draws.data() + first % kept,
                   PathOutput{values.data(), codes.data(), lanes});
    first = (first + lanes) % (kept - max_batch_lanes);
    benchmark::DoNotOptimize(values.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * lanes));
  state.SetLabel(target.name + ", " + std::to_string(target.lanes) + " lanes");
}
BENCHMARK(BM_model_months_batch);

/// Standard normals from a Philox stream through the inverse CDF, as the model draws them.
void BM_rng_philox_normals(benchmark::State& state) {
  RandomStream stream(12345, 0);
  double sum = 0;
  for (auto _ : state) {
    for (int i = 0; i < 1024; ++i) sum += normal_quantile(stream.uniform());
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(BM_rng_philox_normals);

/// The reduction of one column of n values (sort, moments, percentiles, CVaR): values/s.
void BM_reduce_column(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::mt19937_64 engine(7);
  std::vector<double> source(n);
  for (auto& v : source) v = std::max(0.0, std::normal_distribution<double>(0.2, 0.5)(engine));
  const std::vector<double> percentiles = {1, 5, 10, 25, 50, 75, 90, 95, 99};
  std::vector<double> column(n);
  for (auto _ : state) {
    state.PauseTiming();
    column = source;
    state.ResumeTiming();
    benchmark::DoNotOptimize(summarize(column, percentiles));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_reduce_column)->Arg(1 << 16)->Arg(1 << 20);

/// The first pass of the streaming reducer (the reduction every CPU run uses) over one chunk
/// of the default scenario, bins placed by a pilot of the same paths, on one thread:
/// values/s (paths x value cells).
void BM_reduce_streaming_first_pass(benchmark::State& state) {
  const FlatScenario flat(default_scenario());
  const PathLayout layout = flat.layout();
  constexpr std::uint64_t paths = 16384;
  SampleStore samples(layout, paths);
  simulate_cpu(flat, 1, 0, paths, samples.output(), 0, nullptr);
  std::vector<double> values(static_cast<std::size_t>(layout.value_count()) * paths);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(layout.code_count()) * paths);
  for (int c = 0; c < layout.value_count(); ++c)
    std::copy_n(samples.column(c), paths, values.begin() + c * paths);
  for (int c = 0; c < layout.code_count(); ++c)
    std::copy_n(samples.codes(c), paths, codes.begin() + c * paths);
  StreamingReducer reducer(flat.reduction_spec(), 1000000, limits_for(layout));
  reducer.place_root_bins(values.data(), paths, paths);
  for (auto _ : state) reducer.add_chunk(values.data(), codes.data(), paths, paths, 1);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * paths) *
                          layout.value_count());
}
BENCHMARK(BM_reduce_streaming_first_pass);

/// A chunk of paths on all cores, simulation only: paths/s of the CPU backend.
void BM_cpu_run_chunk(benchmark::State& state) {
  const FlatScenario flat(default_scenario());
  const auto paths = static_cast<std::uint64_t>(state.range(0));
  SampleStore samples(flat.layout(), paths);
  for (auto _ : state) simulate_cpu(flat, 1, 0, paths, samples.output(), 0, nullptr);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * paths));
  state.counters["threads"] = omp_get_max_threads();
}
BENCHMARK(BM_cpu_run_chunk)->Arg(1 << 14)->UseRealTime();

}  // namespace
}  // namespace caprisk

BENCHMARK_MAIN();
