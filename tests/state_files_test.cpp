// Checkpoints and shard files as a damaged disk or a careless copy leaves them: every flipped
// byte is refused (exit 2, naming the file) before anything is used; a state whose checksum
// was recomputed over damage never crashes the loader; sizes are checked before allocation.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "host/io/binary_io.h"
#include "host/errors.h"
#include "host/config/flatten.h"
#include "host/run/shards.h"
#include "host/reduce/streaming.h"
#include "test_support.h"

namespace caprisk {
namespace {

namespace fs = std::filesystem;
using testing::read_text;
using testing::run_caprisk;
using testing::source_path;
using testing::TempDir;

/// configs/minimal.yaml with one report month: five value cells, so its states are small.
std::string tiny_config() {
  std::string text = read_text(source_path("configs/minimal.yaml"));
  const std::string from = "report_months: [2026-06, 2026-12, 2027-06, 2027-12, 2028-12]";
  text.replace(text.find(from), from.size(), "report_months: [2027-12]");
  return text;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// Every byte of the header and of the payload's first 4 KiB (its fixed fields), then `random`
/// positions drawn with a fixed seed: a state file is megabytes (its histograms' bins are
/// placed by the pilot), too many to flip each byte in a unit test.
std::vector<std::size_t> flip_positions(std::size_t size, std::size_t random) {
  std::vector<std::size_t> positions;
  const std::size_t head = std::min(size, binary::sealed_header_bytes + 4096);
  for (std::size_t i = 0; i < head; ++i) positions.push_back(i);
  std::mt19937_64 generator(20261201);
  std::uniform_int_distribution<std::size_t> anywhere(0, size - 1);
  for (std::size_t k = 0; k < random; ++k) positions.push_back(anywhere(generator));
  return positions;
}

/// The byte positions to try through the command line: the header's, then evenly spread.
std::vector<std::size_t> sample_positions(std::size_t size, std::size_t count) {
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < binary::sealed_header_bytes; i += 3) positions.push_back(i);
  for (std::size_t k = 0; k < count; ++k) positions.push_back(k * (size - 1) / (count - 1));
  return positions;
}

class StateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    config = dir.write("tiny.yaml", tiny_config());
    scenario = load_scenario(config);
    scenario.paths = 300;
    flat = std::make_unique<FlatScenario>(scenario);
  }
  std::uint64_t state_limit() const {
    return StreamingReducer::max_state_bytes(flat->reduction_spec()) + (1 << 16);
  }
  TempDir dir;
  std::string config;
  Scenario scenario;
  std::unique_ptr<FlatScenario> flat;
};

TEST_F(StateFiles, FlippedBytesOfACheckpointAreRefused) {
  const std::string checkpoint = dir.file("run.ckpt");
  const std::string run = "run " + config + " --paths 300 --quiet --checkpoint " + checkpoint;
  ASSERT_EQ(run_caprisk(run + " --out " + dir.file("out")).exit_code, 0);
  const std::string intact = read_text(checkpoint);
  ASSERT_GT(intact.size(), 1000u);
  ASSERT_NO_THROW(binary::read_sealed_file(binary::FileKind::checkpoint, checkpoint, state_limit()));
  const std::string flipped = dir.file("flipped.ckpt");
  // In memory (the same checks of magic, version, length and checksum as on disk)...
  for (std::size_t i : flip_positions(intact.size(), 4000)) {
    std::string bytes = intact;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    try {
      binary::unseal(binary::FileKind::checkpoint, bytes, flipped);
      ADD_FAILURE() << "a flip of byte " << i << " was accepted";
      break;
    } catch (const UserError& error) {
      ASSERT_NE(std::string(error.what()).find("checkpoint " + flipped), std::string::npos)
          << error.what();
    }
  }
  // ...and read from disk, streaming.
  for (std::size_t i : flip_positions(intact.size(), 100)) {
    if (i % 7 != 0 && i >= binary::sealed_header_bytes) continue;
    std::string bytes = intact;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    write_bytes(flipped, bytes);
    EXPECT_THROW(binary::read_sealed_file(binary::FileKind::checkpoint, flipped, state_limit()),
                 UserError)
        << "byte " << i;
  }
  // Through the command line, as a user resumes: exit 2, the file named, nothing written.
  for (std::size_t i : sample_positions(intact.size(), 24)) {
    std::string bytes = intact;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    write_bytes(flipped, bytes);
    const std::string out = dir.file("resumed-" + std::to_string(i));
    const auto r = run_caprisk("run " + config + " --paths 300 --quiet --checkpoint " + flipped +
                               " --resume --out " + out);
    EXPECT_EQ(r.exit_code, 2) << "byte " << i << ": " << r.output;
    EXPECT_NE(r.output.find("checkpoint " + flipped), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out + "/percentiles.csv")) << "byte " << i;
  }
}

TEST_F(StateFiles, FlippedBytesOfAShardAreRefused) {
  const std::string shards = dir.file("shards");
  for (int k = 0; k < 2; ++k)
    ASSERT_EQ(run_caprisk("run " + config + " --paths 300 --quiet --shard " + std::to_string(k) +
                          "/2 --out " + shards)
                  .exit_code,
              0);
  const std::string shard = shards + "/" + shard_file_name(1, 2);
  const std::string intact = read_text(shard);
  for (std::size_t i : flip_positions(intact.size(), 4000)) {
    std::string bytes = intact;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    EXPECT_THROW(binary::unseal(binary::FileKind::shard, bytes, shard), UserError) << "byte " << i;
  }
  for (std::size_t i : flip_positions(intact.size(), 100)) {
    if (i % 7 != 0 && i >= binary::sealed_header_bytes) continue;
    std::string bytes = intact;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    write_bytes(shard, bytes);
    EXPECT_THROW(read_shard_header(shard), UserError) << "byte " << i;
    EXPECT_THROW(read_shard_state(shard, flat->reduction_spec()), UserError) << "byte " << i;
  }
  for (std::size_t i : sample_positions(intact.size(), 16)) {
    std::string bytes = intact;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    write_bytes(shard, bytes);
    const auto r = run_caprisk("merge " + shards + " --quiet --out " + dir.file("merged"));
    EXPECT_EQ(r.exit_code, 2) << "byte " << i << ": " << r.output;
    EXPECT_NE(r.output.find("shard file " + shard), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir.file("merged/percentiles.csv")));
  }
  write_bytes(shard, intact);
  EXPECT_EQ(run_caprisk("merge " + shards + " --quiet --out " + dir.file("merged")).exit_code, 0);
}

/// A reducer after its first pass over the tiny scenario, as a checkpoint would hold it.
std::string first_pass_state(const Scenario& scenario, const FlatScenario& flat) {
  testing::Simulation sim(scenario, 1);
  StreamingReducer reducer(flat.reduction_spec(), scenario.paths, StreamingLimits{64, 8, 16});
  reducer.add_chunk(sim.samples.column(0), sim.samples.codes(0), scenario.paths, scenario.paths, 1);
  reducer.finish_pass();
  return reducer.serialized();
}

TEST_F(StateFiles, DamageUnderARecomputedChecksumNeverCrashesTheLoader) {
  // What a fuzzer feeds the parser: damage the checksum cannot see. Each must be refused as
  // corrupted or, when it happens to describe a possible state, load and finish cleanly.
  const std::string state = first_pass_state(scenario, *flat);
  int refused = 0, loaded = 0;
  for (std::size_t i = 0; i < state.size(); ++i) {
    std::string bytes = state;
    bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    try {
      auto reducer = StreamingReducer::deserialized(bytes, flat->reduction_spec(), "state");
      ++loaded;
      try {
        if (reducer->finish_pass()) reducer->results();
      } catch (const RuntimeFailure&) {
        // an internal check caught an inconsistent state: refused, not crashed
      }
    } catch (const UserError& error) {
      ++refused;
      ASSERT_NE(std::string(error.what()).find("state is"), std::string::npos) << error.what();
    }
  }
  EXPECT_GT(refused, static_cast<int>(state.size()) / 2);
  EXPECT_EQ(refused + loaded, static_cast<int>(state.size()));
}

TEST_F(StateFiles, ImpossibleSizesAreRefusedBeforeAnythingIsAllocated) {
  const std::string state = first_pass_state(scenario, *flat);
  std::string bytes = state;
  const std::int32_t root_bins = 1 << 30;  // StreamingLimits begins with root_bins
  std::memcpy(bytes.data(), &root_bins, sizeof root_bins);
  try {
    StreamingReducer::deserialized(bytes, flat->reduction_spec(), "state");
    FAIL() << "accepted 2^30 root bins";
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("sizes are out of range"), std::string::npos)
        << error.what();
  }
  // A vector length of 2^40 at the first histogram's edges: refused, not allocated.
  binary::Writer writer;
  StreamingReducer reducer(flat->reduction_spec(), 10, StreamingLimits{64, 8, 16});
  reducer.save(writer);
  bytes = writer.take();
  const std::size_t edges_length = sizeof(StreamingLimits) + 8 + 4 + 8 + 3 * 16 + 8 + 8 + 8 + 4 + 8;
  const std::uint64_t huge = std::uint64_t{1} << 40;
  std::memcpy(bytes.data() + edges_length, &huge, sizeof huge);
  EXPECT_THROW(StreamingReducer::deserialized(bytes, flat->reduction_spec(), "state"), UserError);
}

TEST_F(StateFiles, TheWrongKindOrAnOldFormatSaysSo) {
  const std::string checkpoint = dir.file("a.ckpt");
  write_bytes(checkpoint, std::string("CAPRISK-CHECKPOINT-1") + std::string(100, '\0'));
  try {
    binary::read_sealed_file(binary::FileKind::checkpoint, checkpoint, state_limit());
    FAIL();
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("format 1, which had no checksum"), std::string::npos)
        << error.what();
  }
  write_bytes(checkpoint, binary::seal(binary::FileKind::shard, "x"));
  try {
    binary::read_sealed_file(binary::FileKind::checkpoint, checkpoint, state_limit());
    FAIL();
  } catch (const UserError& error) {
    EXPECT_NE(std::string(error.what()).find("this is a shard file, not a checkpoint"),
              std::string::npos)
        << error.what();
  }
  write_bytes(checkpoint, "");
  EXPECT_THROW(binary::read_sealed_file(binary::FileKind::checkpoint, checkpoint, state_limit()),
               UserError);
  EXPECT_THROW(binary::read_sealed_file(binary::FileKind::checkpoint, checkpoint + "-missing",
                                        state_limit()),
               UserError);
  // Larger than any state of this scenario: refused unread.
  write_bytes(checkpoint, binary::seal(binary::FileKind::checkpoint, std::string(4096, 'x')));
  EXPECT_THROW(binary::read_sealed_file(binary::FileKind::checkpoint, checkpoint, 1000),
               UserError);
}

TEST_F(StateFiles, AFlagByteOtherThanZeroOrOneIsCorruption) {
  binary::Writer writer;
  writer.put(std::uint8_t{2});
  binary::Reader reader(writer.bytes(), "state");
  EXPECT_THROW(reader.get_flag("a flag"), UserError);
}

}  // namespace
}  // namespace caprisk
