// Output folders whose files appear together or not at all, written by one run at a time, and
// single files written atomically (docs/ARCHITECTURE.md, "Outputs you can trust").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace caprisk {

/// The entries caprisk writes at the top of an output folder. An entry of one of these names
/// that caprisk did not write makes a run refuse the folder before it simulates anything;
/// every other entry of the folder is left alone.
std::vector<std::string_view> output_entry_names();

/// A run's output folder DIR. Its results live in DIR/.caprisk/runs/<run>/; DIR/NAME is a
/// relative symbolic link to .caprisk/current/NAME, and .caprisk/current is a link to the
/// run folder. Committing a run swaps that one link with a rename, so every reader sees
/// either the whole previous set of files or the whole new one, whatever moment a run is
/// killed at. An advisory lock (flock on DIR/.caprisk/lock) is held from construction to
/// destruction: a second run into the same folder is refused at once, not queued.
class OutputDirectory {
 public:
  /// Creates DIR if needed and takes its lock; removes what killed runs left behind; moves
  /// the plain files of a folder written by caprisk before this layout into it. UserError
  /// when the folder cannot be written, is locked by another run, or holds an entry of an
  /// output name that caprisk did not write.
  explicit OutputDirectory(std::string path);
  /// Removes the uncommitted run folder and releases the lock.
  ~OutputDirectory();
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  /// Writes `content` (and fsyncs it) to `name` in the new run's folder; `name` may hold
  /// subfolders ("stress/late/percentiles.csv"), its first part must be an output name.
  void stage(const std::string& name, const std::string& content);
  /// Makes the staged files the folder's content in one atomic step.
  void commit();
  const std::string& path() const { return path_; }
  /// The summary.json of the results in the folder now (empty when there are none).
  std::string current_summary() const;
  /// The new run's folder, where stage() writes (for tools that read the staged files).
  std::string staged_folder() const { return state_ + "/" + run_name_; }
  /// Stages a copy of every file of the results in the folder now, but those whose top-level
  /// entry is in `except` (a new version of the same run: caprisk report adds its page).
  void stage_current_files(const std::vector<std::string>& except);

 private:
  void clean_up_after_killed_runs();
  void adopt_files_of_the_old_layout();
  void check_entries_are_ours() const;

  std::string path_;
  std::string state_;        ///< DIR/.caprisk
  std::string run_name_;     ///< runs/<run> of this run
  int lock_fd_ = -1;
  bool staged_any_ = false;  ///< the run folder exists
  bool committed_ = false;
  std::vector<std::string> entries_;  ///< top-level entries staged, in order
};

/// "out/NAME" for a scenario name: NAME made one safe folder name, so that no name can write
/// outside out/: '/' and '\' become '_', and a leading '.' (hence "." and "..") gets a '_'
/// before it.
std::string default_output_folder(const std::string& scenario_name);

/// Writes `content` to `path` atomically: a temporary file beside it, fsync, rename, fsync of
/// the folder. Temporaries of killed runs beside `path` are removed first.
/// `crash_after_bytes` >= 0 is a test hook: the process kills itself (SIGKILL) once that many
/// bytes of the temporary file are written.
void write_file_atomically(const std::string& path, const std::string& content,
                           long long crash_after_bytes = -1);

/// Checks, before a run starts, that `path` can become a file written by
/// write_file_atomically: not a folder, in a folder that exists and is writable. `option`
/// names the command-line option in the message (UserError).
void check_file_can_be_written(const std::string& path, const std::string& option);

/// Creates `path` as a folder if needed and checks that files can be created in it.
void check_folder_can_be_written(const std::string& path, const std::string& option);

/// SHA-256 of a byte string (OpenSSL), as 64 lowercase hex digits.
std::string sha256_hex(const std::string& bytes);

}  // namespace caprisk
