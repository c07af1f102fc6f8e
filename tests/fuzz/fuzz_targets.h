// The fuzz targets, as plain functions: libFuzzer drives them (scripts/fuzz builds
// fuzz_config and fuzz_state with clang), and fuzz_regression_test replays every input that
// once crashed them (tests/fuzz/regressions/) in the ordinary build, sanitizers or not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace caprisk::fuzz {

/// A config as bytes: read and validated; when valid, flattened, simulated and reduced on a
/// few paths. Returns normally for any input a user could write; a crash is a finding.
void config_input(const std::uint8_t* data, std::size_t size);

/// A checkpoint or shard file as bytes: its seal checked, then its payload parsed as if the
/// checksum had matched (so the fuzzer reaches the parser), and a loaded state finished.
void state_input(const std::uint8_t* data, std::size_t size);

/// Writes small checkpoints and shards of a tiny scenario into `folder` (fuzzing seeds).
void write_state_seeds(const std::string& folder);

}  // namespace caprisk::fuzz
