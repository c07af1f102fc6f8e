// Partial results of `caprisk run --shard k/n` and their merge (docs/CLUSTER.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "host/io/binary_io.h"
#include "host/config/scenario.h"
#include "host/reduce/streaming.h"

namespace caprisk {

/// What identifies a shard and the run it belongs to.
struct ShardHeader {
  std::string version;  ///< caprisk version and commit
  std::string config_sha256;
  std::string config_path;  ///< as given to `caprisk run`
  std::uint64_t seed = 0;
  std::uint64_t paths = 0;  ///< of the whole run
  std::uint64_t index = 0;  ///< k of k/n, from 0
  std::uint64_t count = 0;  ///< n
  std::vector<Override> overrides;    ///< --set/--shift of the run, for merge to re-apply
  bool stress = false;                ///< a stress run (caprisk stress --shard)
  std::vector<std::string> stresses;  ///< the stresses it holds
  bool sensitivity = false;           ///< a sensitivity run (caprisk sensitivity --shard)
};

/// The header fields at the start of a shard's payload, checked for consistency.
ShardHeader parse_shard_header(binary::Reader& in);

/// Parses "k/n" (0 <= k < n); UserError otherwise.
std::pair<std::uint64_t, std::uint64_t> parse_shard(const std::string& text);

/// Paths [begin, end) of shard k of n: contiguous, sizes differing by at most one.
std::pair<std::uint64_t, std::uint64_t> shard_range(std::uint64_t paths, std::uint64_t index,
                                                    std::uint64_t count);

/// "shard-K-of-N.caprisk"
std::string shard_file_name(std::uint64_t index, std::uint64_t count);

/// Writes a shard's header and first-pass state atomically.
void write_shard(const std::string& path, const ShardHeader& header,
                 const StreamingReducer& reducer);

/// No shard file is larger than this (64 GiB), whatever its scenario; a larger file is refused
/// before it is read.
constexpr std::uint64_t max_shard_file_bytes = std::uint64_t{64} << 30;

/// Reads a shard's header after checking the whole file's checksum; UserError naming the file
/// when it is not an intact shard.
ShardHeader read_shard_header(const std::string& path);

/// Reads a shard's first-pass state (after checking its header matches `expected`).
std::unique_ptr<StreamingReducer> read_shard_state(const std::string& path,
                                                   const ReductionSpec& spec);

}  // namespace caprisk
