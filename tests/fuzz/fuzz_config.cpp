// libFuzzer entry point over the config reader and validator (scripts/fuzz).
#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  caprisk::fuzz::config_input(data, size);
  return 0;
}
