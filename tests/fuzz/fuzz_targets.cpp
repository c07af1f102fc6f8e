#include "tests/fuzz/fuzz_targets.h"

#include <fstream>
#include <memory>
#include <string_view>

#include "host/run/backend_cpu.h"
#include "host/run/batch.h"
#include "host/io/binary_io.h"
#include "host/config/config.h"
#include "host/errors.h"
#include "host/config/flatten.h"
#include "host/reduce/results.h"
#include "host/run/shards.h"
#include "host/reduce/streaming.h"

namespace caprisk::fuzz {
namespace {

/// One supplier, one deal, one site, one report month: states of a few kilobytes.
const char* const tiny_yaml = R"(
scenario: {name: tiny, start: 2026-01, horizon_months: 24, seed: 5, paths: 400,
           percentiles: [5, 50, 95], report_months: [2026-12]}
supply:
  program_share: {dist: beta, mean: 0.2, sd: 0.05}
  stacks_per_wafer: 24
  stacks_per_accelerator: 8
  kw_per_accelerator: 3.3
  lead_time_months: {dist: triangular, min: 3, mode: 5, max: 8}
  hbm_yield: {initial: 0.6, mature: 0.85, tau_months: 9}
  suppliers:
    - name: S
      wafers_per_month: [[2026-01, 20000], [2027-12, 40000]]
      disruption: {rate_per_year: 0.5, loss: 0.3, recovery_months: 3}
funding:
  capex_per_gw: {dist: lognormal, median: 50, p90: 70}
  deals:
    - {name: D, kind: schedule, tranches: [[2026-03, 20], [2026-09, 20]], cancel_hazard_per_year: 0.1}
sites:
  - name: A
    funded_by: [D]
    target_gw: [[2026-01, 0.2], [2027-06, 1.2]]
    build_rate_gw: 0.15
    power: {schedule: [[2026-01, 0.2], [2027-03, 1.2]], delay_months: {dist: uniform, min: 0, max: 6}}
)";

struct Tiny {
  Scenario scenario = parse_scenario(tiny_yaml, "tiny.yaml");
  FlatScenario flat{scenario};
};

const Tiny& tiny() {
  static const Tiny instance;
  return instance;
}

/// Uses a loaded state the way resume and merge do, with bounded work: plan the next pass and,
/// when nothing is left to plan, read the tables.
void finish(StreamingReducer& reducer) {
  try {
    if (reducer.finish_pass()) reducer.results();
  } catch (const RuntimeFailure&) {
    // an internal check caught an impossible state (possible here: no checksum stood guard)
  }
}

}  // namespace

void config_input(const std::uint8_t* data, std::size_t size) {
  if (size > max_config_bytes) return;
  Scenario scenario;
  try {
    scenario = parse_scenario(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
  } catch (const UserError&) {
    return;  // refused with a message: what a user gets
  }
  // A config that validates must run: every value in range, no crash, no nan.
  constexpr std::uint64_t paths = 3;
  scenario.paths = paths;
  const FlatScenario flat(scenario);
  SampleStore samples(flat.layout(), paths);
  simulate_cpu(flat, scenario.seed, 0, paths, samples.output(), 1, nullptr);
  StreamingReducer reducer(flat.reduction_spec(), paths, StreamingLimits{64, 8, 16});
  reducer.add_chunk(samples.column(0), samples.codes(0), paths, paths, 1);
  while (!reducer.finish_pass()) reducer.add_chunk(samples.column(0), samples.codes(0), paths, paths, 1);
  reducer.results();
}

void state_input(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (const auto kind : {binary::FileKind::checkpoint, binary::FileKind::shard}) {
    try {
      binary::unseal(kind, bytes, "fuzz");
    } catch (const UserError&) {
    }
  }
  if (size < binary::sealed_header_bytes) return;
  const Tiny& t = tiny();
  const std::string_view payload = bytes.substr(binary::sealed_header_bytes);
  const bool shard = bytes.substr(8, 5) == "SHARD";
  try {
    binary::Reader in(payload, "fuzz");
    std::unique_ptr<StreamingReducer> reducer;
    if (shard) {
      parse_shard_header(in);
      reducer = StreamingReducer::load(in, t.flat.reduction_spec());
    } else {
      reducer = parse_checkpoint(in, t.flat.reduction_spec()).reducer;
    }
    finish(*reducer);
  } catch (const UserError&) {
  }
}

void write_state_seeds(const std::string& folder) {
  const Tiny& t = tiny();
  const PathLayout layout = t.flat.layout();
  const std::uint64_t paths = t.scenario.paths;
  SampleStore samples(layout, paths);
  simulate_cpu(t.flat, t.scenario.seed, 0, paths, samples.output(), 1, nullptr);
  auto write = [&folder](const std::string& name, const std::string& bytes) {
    std::ofstream(folder + "/" + name, std::ios::binary) << bytes;
  };
  // A checkpoint after each pass, as run_batch writes them, and a first-pass shard.
  StreamingReducer reducer(t.flat.reduction_spec(), paths, StreamingLimits{64, 8, 16});
  for (int pass = 1; pass <= 4; ++pass) {
    reducer.add_chunk(samples.column(0), samples.codes(0), paths, paths, 1);
    const bool finished = reducer.finish_pass();
    binary::Writer out;
    out.put_string("seed");
    out.put_string(std::string(64, '0'));
    out.put(t.scenario.seed);
    out.put(std::uint64_t{0});
    out.put_flag(finished);
    reducer.save(out);
    write("checkpoint-pass-" + std::to_string(pass), binary::seal(binary::FileKind::checkpoint, out.bytes()));
    if (pass == 1) {
      binary::Writer shard;
      shard.put_string("seed");
      shard.put_string(std::string(64, '0'));
      shard.put_string("tiny.yaml");
      shard.put(t.scenario.seed);
      shard.put(paths);
      shard.put(std::uint64_t{0});
      shard.put(std::uint64_t{1});
      StreamingReducer first(t.flat.reduction_spec(), paths, StreamingLimits{64, 8, 16});
      first.add_chunk(samples.column(0), samples.codes(0), paths, paths, 1);
      first.save(shard);
      write("shard-0-of-1", binary::seal(binary::FileKind::shard, shard.bytes()));
    }
    if (finished) break;
  }
}

}  // namespace caprisk::fuzz
