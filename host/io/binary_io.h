// Binary state files (checkpoints, shards, MPI messages): little-endian fields written to a byte
// string, and a bounds-checked reader that turns anything it cannot trust into a UserError
// saying what is wrong and where, before it allocates or uses anything.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "host/errors.h"

namespace caprisk::binary {

/// Appends fields to a byte string.
class Writer {
 public:
  template <class T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  void put_flag(bool value) { put(static_cast<std::uint8_t>(value ? 1 : 0)); }
  template <class T>
  void put_vector(const std::vector<T>& values) {
    static_assert(std::is_trivially_copyable_v<T>);
    put(static_cast<std::uint64_t>(values.size()));
    bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  void put_string(std::string_view text) {
    put(static_cast<std::uint64_t>(text.size()));
    bytes_.append(text.data(), text.size());
  }
  const std::string& bytes() const { return bytes_; }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

/// Reads fields back from a byte string. Every read checks that the bytes are there, and
/// every vector's length is checked against a limit and against the bytes left before its
/// memory is allocated, so a corrupted length can never allocate gigabytes.
class Reader {
 public:
  /// `what` names the data in messages ("checkpoint", "shard file").
  Reader(std::string_view bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  template <class T>
  T get(const char* field) {
    static_assert(std::is_trivially_copyable_v<T> && !std::is_same_v<T, bool>,
                  "read flags with get_flag: not every byte is a valid bool");
    need(sizeof(T), field);
    T value;
    std::memcpy(&value, bytes_.data() + position_, sizeof value);
    position_ += sizeof value;
    return value;
  }

  bool get_flag(const char* field) {
    const auto byte = get<std::uint8_t>(field);
    if (byte > 1) corrupt(std::string(field) + " is " + std::to_string(byte) + ", not 0 or 1");
    return byte == 1;
  }

  /// A vector of at most `limit` elements.
  template <class T>
  std::vector<T> get_vector(const char* field, std::uint64_t limit) {
    static_assert(std::is_trivially_copyable_v<T> && !std::is_same_v<T, bool>);
    const auto size = get<std::uint64_t>(field);
    if (size > limit)
      corrupt(std::string(field) + " has " + std::to_string(size) + " entries (at most " +
              std::to_string(limit) + ")");
    if (size > remaining() / sizeof(T)) truncated(field);
    std::vector<T> values(size);
    if (size > 0)  // an empty vector's data() may be null, which memcpy must not get
      std::memcpy(values.data(), bytes_.data() + position_, size * sizeof(T));
    position_ += size * sizeof(T);
    return values;
  }

  std::string get_string(const char* field, std::uint64_t limit = 4096) {
    const auto size = get<std::uint64_t>(field);
    if (size > limit)
      corrupt(std::string(field) + " is " + std::to_string(size) + " bytes long (at most " +
              std::to_string(limit) + ")");
    need(size, field);
    std::string text(bytes_.substr(position_, size));
    position_ += size;
    return text;
  }

  std::uint64_t remaining() const { return bytes_.size() - position_; }
  bool at_end() const { return position_ == bytes_.size(); }
  std::uint64_t position() const { return position_; }
  const std::string& what() const { return what_; }

  /// Refuses the data: "<what> is corrupted at byte N: <why>".
  [[noreturn]] void corrupt(const std::string& why) const {
    throw UserError(what_ + " is corrupted at byte " + std::to_string(position_) + ": " + why);
  }

 private:
  void need(std::uint64_t bytes, const char* field) const {
    if (bytes > remaining()) truncated(field);
  }
  [[noreturn]] void truncated(const char* field) const {
    throw UserError(what_ + " is truncated: it ends at byte " + std::to_string(bytes_.size()) +
                    ", inside " + field);
  }

  std::string_view bytes_;
  std::string what_;
  std::uint64_t position_ = 0;
};

// --- Sealed files: a fixed header with a format version, the payload's length and its
// XXH3-128 checksum, so that a flipped byte anywhere is refused before the payload is parsed.

/// The kinds of state file caprisk writes.
enum class FileKind { checkpoint, shard };

/// Current format version of every sealed file (2: first with a checksum; 3: histograms keep
/// sums of squares and the reducer the tail drivers).
constexpr std::uint32_t sealed_format_version = 3;

/// Bytes before the payload: 16-byte magic, version, reserved word, length, 16-byte checksum.
constexpr std::size_t sealed_header_bytes = 16 + 4 + 4 + 8 + 16;

/// The file's bytes: header, then `payload`.
std::string seal(FileKind kind, std::string_view payload);

/// The payload of a sealed file held in memory, after checking its magic, version, length and
/// checksum; UserError naming `path` and what failed otherwise.
std::string_view unseal(FileKind kind, std::string_view file, const std::string& path);

/// Reads a sealed file from disk: a regular file of at most `max_bytes` (checked before it is
/// read), whose magic, version, length and checksum are checked while streaming through it.
/// Returns its payload, or only the payload's first `keep` bytes (memory stays bounded when
/// only a header is needed). UserError naming `path` and what failed otherwise.
std::string read_sealed_file(FileKind kind, const std::string& path, std::uint64_t max_bytes,
                             std::uint64_t keep = UINT64_MAX);

/// "checkpoint" or "shard file", for messages.
const char* kind_name(FileKind kind);

}  // namespace caprisk::binary
