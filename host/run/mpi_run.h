// Several processes, one run: MPI ranks each take a contiguous range of path indices through
// every pass of the streaming reducer; rank 0 merges and plans, then broadcasts the state.
// Built when MPI is found (CAPRISK_MPI); host/mpi_none.cpp stands in otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/run/batch.h"

namespace caprisk {

/// True when this process was started by an MPI launcher (mpirun, srun) with more than one rank.
bool launched_with_mpi_ranks();

/// The MPI world of this process; MPI is initialised on construction, finalised on destruction.
class MpiWorld {
 public:
  MpiWorld();
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// This rank's index among the ranks on its node (for choosing a GPU).
  int local_rank() const { return local_rank_; }
  /// Ends every rank with `code` after this rank printed its error (no partial outputs).
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
};

/// After a phase every rank goes through (the setup): each rank's exit code (0: it went well)
/// and message; returns the largest code, the same on every rank. When it is not 0, rank 0
/// alone prints the lowest failing rank's message, prefixed "rank r of R" (with how many
/// other ranks failed), so that R copies of one config error never interleave, and every rank
/// can end through MPI_Finalize instead of an abort's noise.
int agree_on_failure(const MpiWorld& world, int code, const std::string& message);

/// Every rank's `text` at rank 0 (in rank order; empty elsewhere), e.g. the devices used.
std::vector<std::string> gather_to_root(const std::string& text, const MpiWorld& world);

/// Runs every pass over this rank's path range, combining the ranks' states after each pass.
/// Rank 0 returns the tables, and with `announce` prints one progress line a pass; the other
/// ranks return empty results and print nothing.
RunResults run_mpi_batch(std::uint64_t paths, const PathSource& source, std::uint64_t chunk_paths,
                         bool announce, int threads, const MpiWorld& world, BatchReport& report);

}  // namespace caprisk
