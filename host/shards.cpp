#include "host/shards.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "host/binary_io.h"
#include "host/errors.h"
#include "host/output_files.h"

namespace caprisk {
namespace {

constexpr char shard_magic[] = "CAPRISK-SHARD-1";

/// Reads the header fields from an open stream positioned at the start of the file.
ShardHeader read_header(std::istream& in) {
  char magic[sizeof shard_magic] = {};
  if (!in.read(magic, sizeof magic) ||
      std::string(magic, sizeof magic - 1) != std::string(shard_magic))
    throw UserError("not a caprisk shard file");
  ShardHeader header;
  header.version = binary::get_string(in);
  header.config_sha256 = binary::get_string(in);
  header.config_path = binary::get_string(in);
  header.seed = binary::get<std::uint64_t>(in);
  header.paths = binary::get<std::uint64_t>(in);
  header.index = binary::get<std::uint64_t>(in);
  header.count = binary::get<std::uint64_t>(in);
  if (header.count == 0 || header.index >= header.count)
    throw UserError("corrupted shard header (index " + std::to_string(header.index) + " of " +
                    std::to_string(header.count) + ")");
  return header;
}

}  // namespace

std::pair<std::uint64_t, std::uint64_t> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  std::uint64_t k = 0, n = 0;
  auto whole = [](const std::string& part, std::uint64_t& value) {
    const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    return ec == std::errc() && ptr == part.data() + part.size() && !part.empty();
  };
  if (slash == std::string::npos || !whole(text.substr(0, slash), k) ||
      !whole(text.substr(slash + 1), n) || n == 0 || k >= n || n > 1000000)
    throw UserError(
        "--shard expects k/n with 0 <= k < n (k counts from 0, e.g. 0/4 .. 3/4), "
        "got '" +
        text + "'");
  return {k, n};
}

std::pair<std::uint64_t, std::uint64_t> shard_range(std::uint64_t paths, std::uint64_t index,
                                                    std::uint64_t count) {
  auto boundary = [&](std::uint64_t k) {
    return paths * k / count;  // paths <= 1e12 and k <= n <= 1e6: no overflow in 64 bits
  };
  return {boundary(index), boundary(index + 1)};
}

std::string shard_file_name(std::uint64_t index, std::uint64_t count) {
  return "shard-" + std::to_string(index) + "-of-" + std::to_string(count) + ".caprisk";
}

void write_shard(const std::string& path, const ShardHeader& header,
                 const StreamingReducer& reducer) {
  std::ostringstream out(std::ios::binary);
  out.write(shard_magic, sizeof shard_magic);
  binary::put_string(out, header.version);
  binary::put_string(out, header.config_sha256);
  binary::put_string(out, header.config_path);
  binary::put(out, header.seed);
  binary::put(out, header.paths);
  binary::put(out, header.index);
  binary::put(out, header.count);
  reducer.save(out);
  write_file_atomically(path, out.str());
}

ShardHeader read_shard_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot read the shard file");
  try {
    return read_header(in);
  } catch (const UserError& error) {
    throw UserError(path + ": " + error.what());
  }
}

std::unique_ptr<StreamingReducer> read_shard_state(const std::string& path,
                                                   const Scenario& scenario, PathLayout layout) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot read the shard file");
  try {
    read_header(in);
    auto reducer = StreamingReducer::load(in, scenario, layout);
    if (in.peek() != std::char_traits<char>::eof())
      throw UserError("corrupted shard (unexpected bytes after its state)");
    if (reducer->pass() != 1) throw UserError("corrupted shard (not a first-pass state)");
    return reducer;
  } catch (const UserError& error) {
    throw UserError(path + ": " + error.what());
  }
}

}  // namespace caprisk
