// Error types: what a user can cause (exit 2) versus what went wrong while running (exit 1).
#pragma once

#include <stdexcept>
#include <string>

namespace caprisk {

/// Bad input a user can fix: a config file, a command-line option, an output path.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A config error, located in the file: "FILE:LINE:COL: FIELD: message".
class ConfigError : public UserError {
 public:
  ConfigError(const std::string& file, int line, int column, const std::string& field,
              const std::string& message)
      : UserError(format(file, line, column, field, message)),
        file_(file),
        line_(line),
        field_(field),
        message_(message) {}
  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }
  const std::string& field() const noexcept { return field_; }
  /// The message without its location and field.
  const std::string& message() const noexcept { return message_; }

 private:
  static std::string format(const std::string& file, int line, int column, const std::string& field,
                            const std::string& message) {
    // Appended piece by piece: GCC 12 reports a false -Wrestrict for chains of operator+.
    std::string where = file;
    if (line > 0) where.append(":").append(std::to_string(line)).append(":").append(std::to_string(column));
    where.append(": ");
    if (!field.empty()) where.append(field).append(": ");
    return where.append(message);
  }
  std::string file_;
  int line_;
  std::string field_;
  std::string message_;
};

/// A failure at run time that is not the user's input (I/O while writing, internal checks).
class RuntimeFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] inline void internal_failure(const char* condition, const std::string& what,
                                          const char* file, int line) {
  throw RuntimeFailure("internal: " + what + " (" + condition + " failed at " + file + ":" +
                       std::to_string(line) + ")");
}
}  // namespace detail

}  // namespace caprisk

/// Checks an internal invariant (a bug if it fails, never the user's input): throws
/// RuntimeFailure "internal: WHAT (CONDITION failed at FILE:LINE)", exit code 1.
#define CAPRISK_EXPECTS(condition, what)                                                   \
  do {                                                                                     \
    if (!(condition)) ::caprisk::detail::internal_failure(#condition, what, __FILE__, __LINE__); \
  } while (0)

namespace caprisk {

/// The run was stopped by SIGINT or SIGTERM; exit with 128 + signal (130, 143).
class Interrupted : public std::runtime_error {
 public:
  Interrupted(const std::string& message, int exit_code)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace caprisk
