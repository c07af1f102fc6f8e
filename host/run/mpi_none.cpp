// Stand-in for the MPI driver in a build without MPI: never launched with ranks.
#include <cstdlib>
#include <iostream>

#include "host/errors.h"
#include "host/run/mpi_run.h"

namespace caprisk {

bool launched_with_mpi_ranks() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (size != nullptr && std::atoi(size) > 1)
    throw UserError(
        "this caprisk was built without MPI (CAPRISK_MPI=OFF or no MPI found) but "
        "was started with several ranks");
  return false;
}

MpiWorld::MpiWorld() = default;
MpiWorld::~MpiWorld() = default;
void MpiWorld::abort(int code) const {
  std::exit(code);
}

int agree_on_failure(const MpiWorld&, int code, const std::string& message) {
  if (code != 0) std::cerr << "caprisk: error: " << message << "\n";
  return code;
}

std::vector<std::string> gather_to_root(const std::string& text, const MpiWorld&) {
  return {text};
}

RunResults run_mpi_batch(std::uint64_t, const PathSource&, std::uint64_t, bool, int, const MpiWorld&,
                         BatchReport&) {
  throw RuntimeFailure("internal: MPI run in a build without MPI");
}

}  // namespace caprisk
