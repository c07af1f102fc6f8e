#include "host/io/binary_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>

namespace caprisk::binary {
namespace {

using Magic = std::array<char, 16>;

constexpr Magic checkpoint_magic = {'C', 'A', 'P', 'R', 'I', 'S', 'K', '-',
                                    'C', 'H', 'E', 'C', 'K', 'P', 'T', '\n'};
constexpr Magic shard_magic = {'C', 'A', 'P', 'R', 'I', 'S', 'K', '-',
                               'S', 'H', 'A', 'R', 'D', '-', '-', '\n'};

const Magic& magic_of(FileKind kind) {
  return kind == FileKind::checkpoint ? checkpoint_magic : shard_magic;
}

FileKind other(FileKind kind) {
  return kind == FileKind::checkpoint ? FileKind::shard : FileKind::checkpoint;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string describe(FileKind kind, const std::string& path) {
  return std::string(kind_name(kind)) + " " + path;
}

/// What the header announces.
struct Header {
  std::uint64_t length = 0;
  XXH128_canonical_t checksum{};
};

/// Checks the 48 header bytes (the file's first bytes, or all of them when shorter).
Header check_header(FileKind kind, std::string_view head, const std::string& what) {
  if (!starts_with(head, std::string_view(magic_of(kind).data(), 16))) {
    std::string why = std::string("not a caprisk ") + kind_name(kind);
    if (starts_with(head, std::string_view(magic_of(other(kind)).data(), 16)))
      why = std::string("this is a ") + kind_name(other(kind)) + ", not a " + kind_name(kind);
    else if (starts_with(head, "CAPRISK-CHECKPOINT-1") || starts_with(head, "CAPRISK-SHARD-1"))
      why = std::string("written in format 1, which had no checksum; this caprisk reads format ") +
            std::to_string(sealed_format_version) +
            (kind == FileKind::checkpoint ? ": start afresh without --resume"
                                          : ": re-run the shards with this caprisk");
    throw UserError(what + ": " + why);
  }
  Reader in(head, what);
  in.get<Magic>("the magic");
  const auto version = in.get<std::uint32_t>("the format version");
  if (version != sealed_format_version)
    throw UserError(what + ": format version " + std::to_string(version) +
                    ", this caprisk reads version " + std::to_string(sealed_format_version));
  if (in.get<std::uint32_t>("the reserved word") != 0) in.corrupt("the reserved word is not 0");
  Header header;
  header.length = in.get<std::uint64_t>("the payload length");
  header.checksum = in.get<XXH128_canonical_t>("the checksum");
  return header;
}

void check_length(const Header& header, std::uint64_t present, const std::string& what) {
  if (header.length > present)
    throw UserError(what + " is truncated: its header announces " +
                    std::to_string(header.length) + " bytes of state, the file holds " +
                    std::to_string(present));
  if (header.length < present)
    throw UserError(what + " is corrupted: " + std::to_string(present - header.length) +
                    " unexpected bytes after its state");
}

void check_checksum(const Header& header, XXH128_hash_t actual, const std::string& what) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, actual);
  if (std::memcmp(canonical.digest, header.checksum.digest, sizeof canonical.digest) != 0)
    throw UserError(what +
                    " is corrupted: its checksum (XXH3-128) does not match its content, so it "
                    "was damaged after it was written");
}

}  // namespace

const char* kind_name(FileKind kind) {
  return kind == FileKind::checkpoint ? "checkpoint" : "shard file";
}

std::string seal(FileKind kind, std::string_view payload) {
  Writer header;
  header.put(magic_of(kind));
  header.put(sealed_format_version);
  header.put(std::uint32_t{0});
  header.put(static_cast<std::uint64_t>(payload.size()));
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits(payload.data(), payload.size()));
  header.put(canonical);
  std::string file = header.take();
  file.append(payload);
  return file;
}

std::string_view unseal(FileKind kind, std::string_view file, const std::string& path) {
  const std::string what = describe(kind, path);
  const Header header = check_header(kind, file.substr(0, sealed_header_bytes), what);
  check_length(header, file.size() - sealed_header_bytes, what);
  const std::string_view payload = file.substr(sealed_header_bytes);
  check_checksum(header, XXH3_128bits(payload.data(), payload.size()), what);
  return payload;
}

std::string read_sealed_file(FileKind kind, const std::string& path, std::uint64_t max_bytes,
                             std::uint64_t keep) {
  const std::string what = describe(kind, path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw UserError(what + ": cannot read it (" + std::strerror(errno) + ")");
  const std::unique_ptr<int, void (*)(int*)> closer(new int(fd), [](int* f) {
    ::close(*f);
    delete f;
  });
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    throw UserError(what + ": cannot read it (" + std::strerror(errno) + ")");
  if (!S_ISREG(info.st_mode)) throw UserError(what + ": not a regular file");
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_bytes)
    throw UserError(what + ": " + std::to_string(size) + " bytes, more than any " +
                    kind_name(kind) + " of this scenario can hold (" + std::to_string(max_bytes) +
                    "), so it is not one this run wrote");
  auto read_some = [&](char* into, std::uint64_t want) {
    std::uint64_t done = 0;
    while (done < want) {
      const ssize_t n = ::read(fd, into + done, want - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw UserError(what + ": read error (" + std::strerror(errno) + ")");
      if (n == 0) break;
      done += static_cast<std::uint64_t>(n);
    }
    return done;
  };
  std::string head(sealed_header_bytes, '\0');
  head.resize(read_some(head.data(), head.size()));
  if (head.empty()) throw UserError(what + ": the file is empty");
  const Header header = check_header(kind, head, what);
  check_length(header, size - sealed_header_bytes, what);

  const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(),
                                                                        &XXH3_freeState);
  if (!state) throw std::bad_alloc();
  XXH3_128bits_reset(state.get());
  std::string payload;
  payload.reserve(static_cast<std::size_t>(std::min(header.length, keep)));
  std::string block(std::size_t{1} << 20, '\0');
  std::uint64_t total = 0;
  for (;;) {
    const std::uint64_t n = read_some(block.data(), block.size());
    if (n == 0) break;
    XXH3_128bits_update(state.get(), block.data(), n);
    if (payload.size() < keep)
      payload.append(block.data(), static_cast<std::size_t>(std::min(n, keep - payload.size())));
    total += n;
  }
  check_length(header, total, what);  // the file changed size while being read
  check_checksum(header, XXH3_128bits_digest(state.get()), what);
  return payload;
}

}  // namespace caprisk::binary
