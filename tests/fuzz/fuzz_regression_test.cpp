// Replays every input under tests/fuzz/regressions/ (a crash the fuzzers once found, kept so
// it stays fixed) and the shipped configs through the fuzz targets, in the ordinary build.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"

namespace caprisk {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_under(const fs::path& folder) {
  std::vector<fs::path> files;
  if (fs::is_directory(folder))
    for (const auto& entry : fs::directory_iterator(folder))
      if (entry.is_regular_file()) files.push_back(entry.path());
  return files;
}

std::string bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void replay(const fs::path& folder, void (*target)(const std::uint8_t*, std::size_t)) {
  for (const fs::path& file : files_under(folder)) {
    SCOPED_TRACE(file.string());
    const std::string bytes = bytes_of(file);
    EXPECT_NO_THROW(target(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  }
}

const fs::path source = CAPRISK_SOURCE_DIR;

TEST(FuzzRegressions, ConfigInputs) {
  replay(source / "tests/fuzz/regressions/config", fuzz::config_input);
  replay(source / "configs", fuzz::config_input);
}

TEST(FuzzRegressions, StateInputs) {
  replay(source / "tests/fuzz/regressions/state", fuzz::state_input);
  const fs::path seeds = fs::temp_directory_path() / ("caprisk-fuzz-seeds-" + std::to_string(getpid()));
  fs::create_directories(seeds);
  fuzz::write_state_seeds(seeds.string());
  EXPECT_GE(files_under(seeds).size(), 3u);
  replay(seeds, fuzz::state_input);
  fs::remove_all(seeds);
}

/// scripts/fuzz runs this (CAPRISK_FUZZ_SEED_DIR=folder) to seed fuzz_state's corpus.
TEST(FuzzSeeds, WriteStateSeedsWhenAsked) {
  const char* folder = std::getenv("CAPRISK_FUZZ_SEED_DIR");
  if (folder == nullptr) GTEST_SKIP() << "set CAPRISK_FUZZ_SEED_DIR to write the seeds";
  fs::create_directories(folder);
  fuzz::write_state_seeds(folder);
}

}  // namespace
}  // namespace caprisk
