#include "host/run/mpi_run.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "host/run/batch.h"
#include "host/errors.h"
#include "host/run/shards.h"
#include "host/reduce/streaming.h"

namespace caprisk {
namespace {

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::atoi(value) : fallback;
}

std::string serialize(const StreamingReducer& reducer) {
  return reducer.serialized();
}

std::unique_ptr<StreamingReducer> deserialize(const std::string& bytes, const ReductionSpec& spec) {
  return StreamingReducer::deserialized(bytes, spec, "a rank's state");
}

/// Sends a byte string to rank 0 (count first); states are far below 2 GiB.
void send_bytes(const std::string& bytes, int destination) {
  const auto size = static_cast<std::uint64_t>(bytes.size());
  MPI_Send(&size, 1, MPI_UINT64_T, destination, 0, MPI_COMM_WORLD);
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, destination, 1, MPI_COMM_WORLD);
}

std::string receive_bytes(int source) {
  std::uint64_t size = 0;
  MPI_Recv(&size, 1, MPI_UINT64_T, source, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::string bytes(size, '\0');
  MPI_Recv(bytes.data(), static_cast<int>(size), MPI_BYTE, source, 1, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  return bytes;
}

/// Rank 0's bytes to every rank.
void broadcast_bytes(std::string& bytes) {
  auto size = static_cast<std::uint64_t>(bytes.size());
  MPI_Bcast(&size, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  bytes.resize(size);
  MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_BYTE, 0, MPI_COMM_WORLD);
}

}  // namespace

bool launched_with_mpi_ranks() {
  return env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", env_int("PMIX_SIZE", 1))) > 1;
}

MpiWorld::MpiWorld() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  local_rank_ = env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("SLURM_LOCALID", 0));
}

MpiWorld::~MpiWorld() {
  MPI_Finalize();
}

void MpiWorld::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

int agree_on_failure(const MpiWorld& world, int code, const std::string& message) {
  int worst = 0;
  MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (worst == 0) return 0;
  const int mine = code != 0 ? world.rank() : world.size();
  int first = 0, failed = 0;
  const int one = code != 0 ? 1 : 0;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&one, &failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  std::string text = message;
  if (first != 0) {
    if (world.rank() == first) send_bytes(message, 0);
    if (world.rank() == 0) text = receive_bytes(first);
  }
  if (world.rank() == 0) {
    std::cerr << "caprisk: rank " << first << " of " << world.size() << ": error: " << text;
    if (failed > 1) std::cerr << " (and " << failed - 1 << " other rank(s) failed)";
    std::cerr << "\n";
  }
  return worst;
}

std::vector<std::string> gather_to_root(const std::string& text, const MpiWorld& world) {
  std::vector<std::string> all;
  if (world.rank() != 0) {
    send_bytes(text, 0);
    return all;
  }
  all.push_back(text);
  for (int r = 1; r < world.size(); ++r) all.push_back(receive_bytes(r));
  return all;
}

RunResults run_mpi_batch(std::uint64_t paths, const PathSource& source, std::uint64_t chunk_paths,
                         bool announce,
                         int threads, const MpiWorld& world, BatchReport& report) {
  const ReductionSpec& spec = source.spec;
  const auto [begin, end] = shard_range(paths, static_cast<std::uint64_t>(world.rank()),
                                        static_cast<std::uint64_t>(world.size()));
  // Rank 0 places the root bins and sends them to the others, so that ranks on machines whose
  // CPUs round the model's last bits differently still fill the same bins.
  std::unique_ptr<StreamingReducer> reducer;
  std::string placed;
  if (world.rank() == 0) {
    PathOutputs pilot;
    reducer = fresh_reducer(paths, source, &pilot);
    report.pilot_paths = pilot.count;
    placed = serialize(*reducer);
  }
  broadcast_bytes(placed);
  if (world.rank() != 0) reducer = deserialize(placed, spec);
  const auto started = std::chrono::steady_clock::now();
  for (;;) {
    const auto pass_started = std::chrono::steady_clock::now();
    pass_over_range(*reducer, begin, end, chunk_paths, threads, source.simulate);
    std::string state;
    int finished = 0;
    if (world.rank() == 0) {
      for (int r = 1; r < world.size(); ++r)
        reducer->merge_pass(*deserialize(receive_bytes(r), spec));
      const int pass = reducer->pass();
      finished = reducer->finish_pass() ? 1 : 0;
      report.peak_kept_values = std::max(report.peak_kept_values, reducer->kept_values());
      if (announce) {  // rank 0 alone: one line a pass, whole lines for a log
        const auto now = std::chrono::steady_clock::now();
        // Passes expected: this one when it was the last, else at least one more.
        const int expected = finished ? pass : std::max(pass + 1, 2);
        std::fprintf(stderr,
                     "caprisk: pass %d of %d done on %d ranks: %llu paths in %.0f s (%.0f s so "
                     "far)\n",
                     pass, expected, world.size(),
                     static_cast<unsigned long long>(paths),
                     std::chrono::duration<double>(now - pass_started).count(),
                     std::chrono::duration<double>(now - started).count());
      }
      if (!finished) state = serialize(*reducer);
    } else {
      send_bytes(serialize(*reducer), 0);
    }
    MPI_Bcast(&finished, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (finished) break;
    broadcast_bytes(state);
    if (world.rank() != 0) reducer = deserialize(state, spec);
  }
  report.passes = reducer->pass();
  return world.rank() == 0 ? reducer->results() : RunResults{};
}

}  // namespace caprisk
