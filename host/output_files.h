// Output files that appear whole or not at all: each is written to a temporary file in the
// output directory and renamed into place only after every file of the run is complete.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace caprisk {

class OutputDirectory {
 public:
  /// Creates the directory if needed and checks that it is writable (UserError if not).
  explicit OutputDirectory(std::string path);
  /// Removes temporary files of a run that did not commit.
  ~OutputDirectory();
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  /// Writes `content` to a temporary file that commit() renames to `name`.
  void stage(const std::string& name, const std::string& content);
  /// Renames every staged file into place.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::pair<std::string, std::string>> staged_;  ///< (temporary, final)
};

/// Writes `content` to `path` atomically: a temporary file beside it, fsync, then rename.
/// `crash_after_bytes` >= 0 is a test hook: the process kills itself (SIGKILL) once that many
/// bytes of the temporary file are written.
void write_file_atomically(const std::string& path, const std::string& content,
                           long long crash_after_bytes = -1);

/// SHA-256 of a byte string, as 64 lowercase hex digits.
std::string sha256_hex(const std::string& bytes);

}  // namespace caprisk
