#include "host/run/shards.h"

#include <charconv>

#include "host/config/analysis_config.h"
#include "host/config/overrides.h"
#include "host/io/binary_io.h"
#include "host/errors.h"
#include "host/io/output_files.h"

namespace caprisk {
namespace {

/// The most shards a run can be cut into (as --shard accepts).
constexpr std::uint64_t max_shards = 1000000;
/// A shard's header fields come first in its payload and never take more than this.
constexpr std::uint64_t header_bytes_limit =
    3 * 4096 + 4 * 8 + 3 * 8 + 8 + max_overrides * (1 + 8 + max_override_bytes) + 1 + 8 +
    max_stresses * (8 + 64) + 1;

}  // namespace

ShardHeader parse_shard_header(binary::Reader& in) {
  ShardHeader header;
  header.version = in.get_string("the caprisk version");
  header.config_sha256 = in.get_string("the config's SHA-256");
  header.config_path = in.get_string("the config's path");
  header.seed = in.get<std::uint64_t>("the seed");
  header.paths = in.get<std::uint64_t>("the path count");
  header.index = in.get<std::uint64_t>("the shard index");
  header.count = in.get<std::uint64_t>("the shard count");
  const auto overrides = in.get<std::uint64_t>("the override count");
  if (overrides > max_overrides) in.corrupt("it names more overrides than a run may have");
  for (std::uint64_t k = 0; k < overrides; ++k) {
    const bool shift = in.get_flag("an override's kind");
    const std::string argument = in.get_string("an override", max_override_bytes);
    try {
      header.overrides.push_back(
          parse_override(shift ? Override::Kind::shift : Override::Kind::set, argument));
    } catch (const UserError&) {
      in.corrupt("it holds a malformed override");
    }
  }
  header.stress = in.get_flag("the stress flag");
  const auto stresses = in.get<std::uint64_t>("the stress count");
  if (stresses > max_stresses) in.corrupt("it names more stresses than a config may have");
  for (std::uint64_t k = 0; k < stresses; ++k) header.stresses.push_back(in.get_string("a stress", 64));
  header.sensitivity = in.get_flag("the sensitivity flag");
  if (header.count == 0 || header.count > max_shards || header.index >= header.count)
    in.corrupt("shard index " + std::to_string(header.index) + " of " +
               std::to_string(header.count) + " is impossible");
  if (header.paths < 1 || header.paths > ModelLimits::max_paths)
    in.corrupt("the path count " + std::to_string(header.paths) + " is out of range");
  return header;
}

std::pair<std::uint64_t, std::uint64_t> parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  std::uint64_t k = 0, n = 0;
  auto whole = [](const std::string& part, std::uint64_t& value) {
    const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    return ec == std::errc() && ptr == part.data() + part.size() && !part.empty();
  };
  if (slash == std::string::npos || !whole(text.substr(0, slash), k) ||
      !whole(text.substr(slash + 1), n) || n == 0 || k >= n || n > max_shards)
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
  binary::Writer out;
  out.put_string(header.version);
  out.put_string(header.config_sha256);
  out.put_string(header.config_path);
  out.put(header.seed);
  out.put(header.paths);
  out.put(header.index);
  out.put(header.count);
  out.put(static_cast<std::uint64_t>(header.overrides.size()));
  for (const Override& o : header.overrides) {
    out.put_flag(o.kind == Override::Kind::shift);
    out.put_string(o.path + "=" + o.value);
  }
  out.put_flag(header.stress);
  out.put(static_cast<std::uint64_t>(header.stresses.size()));
  for (const std::string& name : header.stresses) out.put_string(name);
  out.put_flag(header.sensitivity);
  reducer.save(out);
  write_file_atomically(path, binary::seal(binary::FileKind::shard, out.bytes()));
}

ShardHeader read_shard_header(const std::string& path) {
  // The whole file is checksummed while streaming through it; only its header is kept.
  const std::string head = binary::read_sealed_file(binary::FileKind::shard, path,
                                                    max_shard_file_bytes, header_bytes_limit);
  binary::Reader in(head, "shard file " + path);
  return parse_shard_header(in);
}

std::unique_ptr<StreamingReducer> read_shard_state(const std::string& path,
                                                   const ReductionSpec& spec) {
  const std::string payload = binary::read_sealed_file(
      binary::FileKind::shard, path, StreamingReducer::max_state_bytes(spec) + (1 << 16));
  binary::Reader in(payload, "shard file " + path);
  parse_shard_header(in);
  auto reducer = StreamingReducer::load(in, spec);
  if (!in.at_end()) in.corrupt("unexpected bytes after its state");
  if (reducer->pass() != 1) in.corrupt("it holds a refining pass, not a first pass");
  return reducer;
}

}  // namespace caprisk
