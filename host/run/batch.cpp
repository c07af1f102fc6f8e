#include "host/run/batch.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "host/run/backend_cpu.h"
#include "host/io/binary_io.h"
#include "host/errors.h"
#include "host/io/output_files.h"
#include "host/reduce/streaming.h"
#include "host/version.h"

namespace caprisk {
namespace {

volatile std::sig_atomic_t stop_signal = 0;

extern "C" void on_stop_signal(int signal) {
  stop_signal = signal;
}

/// Installs the SIGINT/SIGTERM handlers for the duration of a batch.
class StopSignals {
 public:
  StopSignals() {
    stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_int_);
    sigaction(SIGTERM, &action, &previous_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

std::string version_text() {
  return std::string(CAPRISK_VERSION) + " " + CAPRISK_GIT_COMMIT;
}

/// Where a batch stands: the reducer, the pass's next path, whether it finished.
struct BatchState {
  std::unique_ptr<StreamingReducer> reducer;
  std::uint64_t next_path = 0;
  bool finished = false;
};

void save_checkpoint(const BatchOptions& options, const Scenario& scenario,
                     const BatchState& state) {
  binary::Writer out;
  out.put_string(version_text());
  out.put_string(options.config_sha256);
  out.put(scenario.seed);
  out.put(state.next_path);
  out.put_flag(state.finished);
  state.reducer->save(out);
  write_file_atomically(options.checkpoint_path,
                        binary::seal(binary::FileKind::checkpoint, out.bytes()),
                        options.crash_after_bytes);
}

/// Loads a checkpoint and checks that it belongs to this run; grows it to `paths` if asked.
BatchState load_checkpoint(const BatchOptions& options, const Scenario& scenario,
                           const ReductionSpec& spec) {
  const std::string& path = options.checkpoint_path;
  const std::string what = "checkpoint " + path;
  const std::string payload =
      binary::read_sealed_file(binary::FileKind::checkpoint, path,
                               StreamingReducer::max_state_bytes(spec) + (1 << 16));
  binary::Reader in(payload, what);
  // Whether the checkpoint is this run's is checked before its state is parsed against this
  // run's scenario, so that another config's checkpoint is named as such.
  const auto belongs_to_this_run = [&](const CheckpointContents& saved) {
    if (saved.version != version_text())
      throw UserError(what + ": written by caprisk " + saved.version + ", this is caprisk " +
                      version_text() + "; start afresh without --resume");
    if (saved.config_sha256 != options.config_sha256)
      throw UserError(what + ": written for another config, or for other --set/--shift " +
                      "overrides or stresses (run identity " + saved.config_sha256.substr(0, 12) +
                      "..., this run's is " + options.config_sha256.substr(0, 12) + "...)");
    if (saved.seed != scenario.seed)
      throw UserError(what + ": written for seed " + std::to_string(saved.seed) +
                      ", this run has seed " + std::to_string(scenario.seed));
  };
  CheckpointContents saved = parse_checkpoint(in, spec, belongs_to_this_run);
  BatchState state{std::move(saved.reducer), saved.next_path, saved.finished};
  const std::uint64_t saved_paths = state.reducer->paths();
  if (scenario.paths < saved_paths)
    throw UserError(what + ": holds " + std::to_string(saved_paths) +
                    " paths; --paths can only grow on resume (got " +
                    std::to_string(scenario.paths) + ")");
  if (scenario.paths > saved_paths) {
    // Only the first pass's accumulators carry over: add the new paths to it, then redo the
    // refining passes, which is what a fresh run with the larger count computes.
    const bool in_first_pass = !state.finished && state.reducer->pass() == 1;
    state.reducer->extend_paths(scenario.paths);
    if (!in_first_pass) state.next_path = saved_paths;
    state.finished = false;
  }
  return state;
}

}  // namespace

CheckpointContents parse_checkpoint(
    binary::Reader& in, const ReductionSpec& spec,
    const std::function<void(const CheckpointContents&)>& check_identity) {
  CheckpointContents saved;
  saved.version = in.get_string("the caprisk version");
  saved.config_sha256 = in.get_string("the config's SHA-256");
  saved.seed = in.get<std::uint64_t>("the seed");
  if (check_identity) check_identity(saved);
  saved.next_path = in.get<std::uint64_t>("the next path");
  saved.finished = in.get_flag("the finished flag");
  saved.reducer = StreamingReducer::load(in, spec);
  if (!in.at_end()) in.corrupt("unexpected bytes after the reducer's state");
  if (saved.next_path > saved.reducer->paths())
    in.corrupt("its next path " + std::to_string(saved.next_path) + " is beyond its " +
               std::to_string(saved.reducer->paths()) + " paths");
  return saved;
}

std::uint64_t default_memory_budget() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::uint64_t{1} << 30;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page) / 4;
}

PathSource single_source(const FlatScenario& flat, std::uint64_t seed, int threads,
                         ChunkSimulator simulate) {
  PathSource source;
  source.spec = flat.reduction_spec();
  source.pilot = [&flat, seed, threads](std::uint64_t first, std::uint64_t count,
                                        const PathOutput& out) {
    simulate_cpu(flat, seed, first, count, out, threads, nullptr);
  };
  source.simulate = std::move(simulate);
  source.threads = threads;
  return source;
}

namespace {

/// "interrupted by SIGINT" (or SIGTERM): how every stopped run's message begins.
std::string interrupted_by(int signal) {
  return std::string("interrupted by ") + (signal == SIGINT ? "SIGINT" : "SIGTERM");
}

/// One progress report: the pass against the passes expected (two with percentiles: the
/// pilot-placed bins resolve in one refining pass; more only when a pass ends unresolved),
/// and the whole run's ETA at this pass's rate. A terminal gets one line rewritten in place;
/// a log gets whole lines.
void print_progress(const StreamingReducer& reducer, const ReductionSpec& spec,
                    std::uint64_t paths, std::uint64_t done, double elapsed, double in_pass,
                    std::uint64_t done_in_pass, bool terminal) {
  const int expected = std::max(reducer.pass(), spec.quantile_cells() > 0 ? 2 : 1);
  const double rate = in_pass > 0 ? static_cast<double>(done_in_pass) / in_pass : 0;
  const double left = static_cast<double>(paths - done) +
                      static_cast<double>(expected - reducer.pass()) * static_cast<double>(paths);
  const double eta = rate > 0 ? left / rate : 0;
  const char* format = terminal ? "\r  pass %d of %d: %llu / %llu paths, %.0f paths/s, run ETA "
                                  "%.0f s (%.0f s so far)   "
                                : "caprisk: pass %d of %d: %llu / %llu paths, %.0f paths/s, run "
                                  "ETA %.0f s (%.0f s so far)\n";
  std::fprintf(stderr, format, reducer.pass(), expected, static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(paths), rate, eta, elapsed);
  std::fflush(stderr);
}

}  // namespace

RunResults run_batch(const Scenario& scenario, const PathSource& source,
                     const BatchOptions& options, BatchReport& report) {
  const ReductionSpec& spec = source.spec;
  const ChunkSimulator& simulate = source.simulate;
  const bool checkpoints = !options.checkpoint_path.empty();
  BatchState state;
  PathOutputs pilot;  // every path's outputs, when the pilot simulated the whole run
  const StopSignals signals;  // from the pilot on: a run that keeps every path simulates it there
  if (options.resume && checkpoints && std::filesystem::exists(options.checkpoint_path)) {
    state = load_checkpoint(options, scenario, spec);
    if (!options.quiet && options.announce_resume)
      std::cerr << "caprisk: resuming from " << options.checkpoint_path << " (pass "
                << state.reducer->pass() << ", path " << state.next_path << " of " << scenario.paths
                << (state.finished ? ", finished" : "") << ")\n";
  } else {
    if (options.resume && !options.quiet)
      std::cerr << "caprisk: no checkpoint at " << options.checkpoint_path
                << " yet: starting from the beginning\n";
    // Progress while a large pilot (a whole run kept in memory) simulates, and a clean stop.
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    const bool show = !options.quiet && (terminal || options.progress_every > 0);
    const auto started = std::chrono::steady_clock::now();
    auto last_line = started;
    const auto after_slice = [&](std::uint64_t done, std::uint64_t of) {
      const char* what = of == scenario.paths ? "the paths it keeps in memory" : "the pilot";
      if (const int signal = stop_signal; signal != 0)
        throw Interrupted(interrupted_by(signal) + " while simulating " + what + " (path " +
                              std::to_string(done) + " of " + std::to_string(of) +
                              "); nothing saved",
                          128 + signal);
      if (!show || of <= pilot_slice_paths) return;
      const auto now = std::chrono::steady_clock::now();
      const double elapsed = std::chrono::duration<double>(now - started).count();
      if (!terminal && std::chrono::duration<double>(now - last_line).count() < options.progress_every)
        return;
      last_line = now;
      const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
      std::fprintf(stderr,
                   terminal ? "\r  simulating %s: %llu / %llu paths, %.0f paths/s (%.0f s)   "
                            : "caprisk: simulating %s: %llu / %llu paths, %.0f paths/s (%.0f s)\n",
                   what, static_cast<unsigned long long>(done), static_cast<unsigned long long>(of),
                   rate, elapsed);
      if (terminal && done == of) std::fprintf(stderr, "\n");
      std::fflush(stderr);
    };
    state.reducer = fresh_reducer(scenario.paths, source, &pilot, after_slice);
    report.pilot_paths = pilot.count;
    // Only a whole run's outputs are worth keeping, and only when the chunks would be the same.
    if (!options.reuse_pilot || pilot.count < scenario.paths) pilot = PathOutputs{};
    report.pilot_was_whole_run = pilot.count > 0;
  }

  const std::uint64_t chunk = std::max<std::uint64_t>(1, options.chunk_paths);
  std::vector<double> values(static_cast<std::size_t>(output_columns(spec)) * chunk);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(spec.code_cells()) * chunk);
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  const bool show_progress = !options.quiet && (terminal || options.progress_every > 0);
  const auto started = std::chrono::steady_clock::now();
  auto last_line = started;
  int chunks_since_checkpoint = 0;
  while (!state.finished) {
    StreamingReducer& reducer = *state.reducer;
    const auto pass_started = std::chrono::steady_clock::now();
    const std::uint64_t pass_first_path = state.next_path;
    while (state.next_path < scenario.paths) {
      if (stop_signal != 0) {
        const int signal = stop_signal;
        std::string message = interrupted_by(signal) + " in pass " +
                              std::to_string(reducer.pass()) + " at path " +
                              std::to_string(state.next_path);
        if (checkpoints) {
          save_checkpoint(options, scenario, state);
          message += "; checkpoint saved, resume with: " + options.resume_hint;
        } else {
          message += "; nothing saved (run with --checkpoint FILE to be able to resume)";
        }
        throw Interrupted(message, 128 + signal);
      }
      const std::uint64_t count = std::min(chunk, scenario.paths - state.next_path);
      if (state.next_path + count <= pilot.count) {  // the same numbers, already computed:
        // read in place, the pilot's columns `pilot.count` apart
        reducer.add_chunk(pilot.values.data() + state.next_path,
                          pilot.codes.data() + state.next_path, count, pilot.count,
                          options.threads, state.next_path);
      } else if (source.reduce) {
        source.reduce(reducer, state.next_path, count,
                      chunk_output(spec, values.data(), codes.data(), count), options.threads);
      } else {
        simulate(state.next_path, count, chunk_output(spec, values.data(), codes.data(), count));
        reducer.add_chunk(values.data(), codes.data(), count, count, options.threads,
                          state.next_path);
      }
      state.next_path += count;
      if (checkpoints && ++chunks_since_checkpoint >= options.checkpoint_every) {
        save_checkpoint(options, scenario, state);
        chunks_since_checkpoint = 0;
      }
      if (show_progress) {
        const auto now = std::chrono::steady_clock::now();
        const double since_line = std::chrono::duration<double>(now - last_line).count();
        if (terminal || since_line >= options.progress_every) {
          last_line = now;
          print_progress(reducer, spec, scenario.paths, state.next_path,
                         std::chrono::duration<double>(now - started).count(),
                         std::chrono::duration<double>(now - pass_started).count(),
                         state.next_path - pass_first_path, terminal);
        }
      }
    }
    state.finished = reducer.finish_pass();
    report.peak_kept_values = std::max(report.peak_kept_values, reducer.kept_values());
    if (!state.finished) state.next_path = 0;
    if (checkpoints) {
      save_checkpoint(options, scenario, state);
      chunks_since_checkpoint = 0;
    }
  }
  if (show_progress && terminal) std::fprintf(stderr, "\n");
  report.passes = state.reducer->pass();
  return state.reducer->results();
}

namespace {

/// Paths the pilot simulates: the whole run when its outputs fit in `whole_run_bytes` (the run
/// then costs one simulation), else pilot_paths, and never more than 256 MB of outputs.
std::uint64_t pilot_path_count(std::uint64_t paths, const ReductionSpec& spec,
                               std::uint64_t whole_run_bytes) {
  if (spec.quantile_cells() == 0) return 0;  // no bins to place
  const auto bytes_per_path = static_cast<std::uint64_t>(spec.bytes_per_path()) + 1;
  if (paths <= whole_run_bytes / bytes_per_path) return paths;
  // At most 256 MB of pilot outputs, like a chunk: a layout of many cells gets fewer pilot
  // paths (coarser bins, perhaps a pass more), never a memory spike.
  const std::uint64_t affordable =
      std::max<std::uint64_t>(64, (std::uint64_t{256} << 20) / bytes_per_path);
  return std::min({paths, pilot_paths, affordable});
}

}  // namespace

std::unique_ptr<StreamingReducer> fresh_reducer(
    std::uint64_t paths, const PathSource& source, PathOutputs* pilot,
    const std::function<void(std::uint64_t done, std::uint64_t of)>& after_slice) {
  const ReductionSpec& spec = source.spec;
  auto reducer = std::make_unique<StreamingReducer>(spec, paths, limits_for(spec));
  PathOutputs outputs;
  outputs.count = pilot_path_count(paths, spec, source.whole_run_bytes);
  outputs.values.resize(static_cast<std::size_t>(output_columns(spec)) * outputs.count);
  outputs.codes.resize(static_cast<std::size_t>(spec.code_cells()) * outputs.count);
  // In slices, each written in place with the whole pilot's stride (the same numbers as one
  // call: a path's outputs depend on its ID only), so that a run that keeps every path can
  // show progress and stop on a signal while it simulates them.
  const PathOutput whole =
      chunk_output(spec, outputs.values.data(), outputs.codes.data(), outputs.count);
  for (std::uint64_t first = 0; first < outputs.count; first += pilot_slice_paths) {
    const std::uint64_t count = std::min(pilot_slice_paths, outputs.count - first);
    source.pilot(first, count,
                 PathOutput{whole.values + first, whole.codes + first, whole.stride,
                            whole.statics != nullptr ? whole.statics + first : nullptr});
    if (after_slice) after_slice(first + count, outputs.count);
  }
  reducer->place_root_bins(outputs.values.data(), outputs.count, outputs.count, source.threads);
  if (pilot != nullptr) *pilot = std::move(outputs);
  return reducer;
}

/// One pass over paths [begin, end) in chunks, without checkpoints.
void pass_over_range(StreamingReducer& reducer, std::uint64_t begin, std::uint64_t end,
                     std::uint64_t chunk_paths, int threads, const ChunkSimulator& simulate) {
  const ReductionSpec& spec = reducer.spec();
  const std::uint64_t chunk = std::max<std::uint64_t>(1, chunk_paths);
  std::vector<double> values(static_cast<std::size_t>(output_columns(spec)) * chunk);
  std::vector<std::uint8_t> codes(static_cast<std::size_t>(spec.code_cells()) * chunk);
  for (std::uint64_t first = begin; first < end; first += chunk) {
    const std::uint64_t count = std::min(chunk, end - first);
    simulate(first, count, chunk_output(spec, values.data(), codes.data(), count));
    reducer.add_chunk(values.data(), codes.data(), count, count, threads, first);
  }
}

std::unique_ptr<StreamingReducer> first_pass_slice(std::uint64_t paths, const PathSource& source,
                                                   std::uint64_t begin, std::uint64_t end,
                                                   std::uint64_t chunk_paths, int threads) {
  auto reducer = fresh_reducer(paths, source);
  pass_over_range(*reducer, begin, end, chunk_paths, threads, source.simulate);
  return reducer;
}

RunResults finish_after_first_pass(StreamingReducer& reducer, const PathSource& source,
                                   std::uint64_t chunk_paths, int threads, BatchReport& report) {
  while (!reducer.finish_pass()) {
    pass_over_range(reducer, 0, reducer.paths(), chunk_paths, threads, source.simulate);
    report.peak_kept_values = std::max(report.peak_kept_values, reducer.kept_values());
  }
  report.passes = reducer.pass();
  return reducer.results();
}

}  // namespace caprisk
