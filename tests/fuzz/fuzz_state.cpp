// libFuzzer entry point over checkpoint and shard loading (scripts/fuzz).
#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  caprisk::fuzz::state_input(data, size);
  return 0;
}
