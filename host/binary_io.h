// Raw little-endian fields for checkpoints: values, vectors and strings, read back with
// checks that turn a truncated or corrupted file into a UserError.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "host/errors.h"

namespace caprisk::binary {

template <class T>
void put(std::ostream& out, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  out.write(reinterpret_cast<const char*>(&value), sizeof value);
}

template <class T>
T get(std::istream& in) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value{};
  if (!in.read(reinterpret_cast<char*>(&value), sizeof value))
    throw UserError("checkpoint is truncated");
  return value;
}

template <class T>
void put_vector(std::ostream& out, const std::vector<T>& values) {
  put(out, static_cast<std::uint64_t>(values.size()));
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(T)));
}

/// A vector of at most `limit` elements (a larger size means the file is corrupted).
template <class T>
std::vector<T> get_vector(std::istream& in, std::uint64_t limit) {
  const auto size = get<std::uint64_t>(in);
  if (size > limit) throw UserError("checkpoint is corrupted (a size is out of range)");
  std::vector<T> values(size);
  if (!in.read(reinterpret_cast<char*>(values.data()),
               static_cast<std::streamsize>(size * sizeof(T))))
    throw UserError("checkpoint is truncated");
  return values;
}

inline void put_string(std::ostream& out, const std::string& text) {
  put(out, static_cast<std::uint64_t>(text.size()));
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

inline std::string get_string(std::istream& in) {
  const auto size = get<std::uint64_t>(in);
  if (size > 4096) throw UserError("checkpoint is corrupted (a string is too long)");
  std::string text(size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size)))
    throw UserError("checkpoint is truncated");
  return text;
}

}  // namespace caprisk::binary
