#include "host/io/output_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "host/errors.h"

namespace caprisk {

namespace fs = std::filesystem;

namespace {

/// Test hook: CAPRISK_TEST_KILL_AT_COMMIT_STEP=N kills the process (SIGKILL) just before the
/// N-th rename or fsync of a commit, so tests can check the folder at every step.
void commit_step() {
  static int step = 0;
  static const char* const kill_at = std::getenv("CAPRISK_TEST_KILL_AT_COMMIT_STEP");
  ++step;
  if (kill_at != nullptr && std::atoi(kill_at) == step) ::kill(::getpid(), SIGKILL);
}

std::string errno_text() {
  return std::strerror(errno);
}

/// fsync of a file or folder; a file system that cannot sync folders (EINVAL) is not an error.
void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw RuntimeFailure("cannot open " + path + " to sync it: " + errno_text());
  const int status = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (status != 0 && error != EINVAL)
    throw RuntimeFailure("cannot sync " + path + ": " + std::strerror(error));
}

/// Writes a whole file and syncs it; RuntimeFailure naming it (e.g. a full disk) otherwise.
void write_and_sync(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw RuntimeFailure("cannot write " + path + ": " + errno_text());
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw RuntimeFailure("cannot write " + path + ": " + std::strerror(error));
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  if (::close(fd) != 0 || !synced)
    throw RuntimeFailure("cannot write " + path + ": " + std::strerror(synced ? errno : error));
}

/// The target of a symbolic link, or "" when `path` is not one.
std::string link_target(const std::string& path) {
  char buffer[4096];
  const ssize_t n = ::readlink(path.c_str(), buffer, sizeof buffer - 1);
  return n < 0 ? std::string() : std::string(buffer, static_cast<std::size_t>(n));
}

/// Makes `path` a symbolic link to `target` in one atomic step (a temporary link renamed over
/// it), replacing whatever non-folder was there.
void replace_with_link(const std::string& target, const std::string& path,
                       const std::string& temporary) {
  ::unlink(temporary.c_str());
  if (::symlink(target.c_str(), temporary.c_str()) != 0)
    throw RuntimeFailure("cannot create the link " + temporary + ": " + errno_text());
  commit_step();
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw RuntimeFailure("cannot rename " + temporary + " to " + path + ": " +
                         std::strerror(error));
  }
}

/// True when `pid` is a running process (temporaries of live processes are not stale).
bool process_alive(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

/// Digits after `prefix` at the start of `name` as a pid, or -1.
long pid_after(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return -1;
  const std::string digits = name.substr(prefix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) return -1;
  return std::atol(digits.c_str());
}

std::vector<std::string> entries_of(const std::string& folder) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error))
    names.push_back(entry.path().filename().string());
  return names;
}

std::string utc_stamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &parts);
  return buffer;
}

constexpr char current_link[] = "current";

}  // namespace

std::vector<std::string_view> output_entry_names() {
  return {"percentiles.csv", "attribution.csv", "targets.csv", "stress",
          "stress_compare.csv", "tornado.csv", "tail_paths.csv", "drivers.csv", "report.html",
          "summary.json"};
}

OutputDirectory::OutputDirectory(std::string path) : path_(std::move(path)) {
  std::error_code error;
  fs::create_directories(path_, error);
  if (error || !fs::is_directory(path_))
    throw UserError("--out " + path_ + ": cannot create the output directory" +
                    (error ? " (" + error.message() + ")" : " (a file of that name exists)"));
  state_ = path_ + "/.caprisk";
  if (::mkdir(state_.c_str(), 0777) != 0 && errno != EEXIST)
    throw UserError("--out " + path_ + ": the output directory is not writable (" +
                    errno_text() + ")");
  if (!fs::is_directory(state_))
    throw UserError("--out " + path_ + ": " + state_ +
                    " exists and is not caprisk's folder; move it away or choose another --out");
  lock_fd_ = ::open((state_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (lock_fd_ < 0)
    throw UserError("--out " + path_ + ": the output directory is not writable (" +
                    errno_text() + ")");
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int lock_error = errno;
    std::string holder(256, '\0');
    const ssize_t n = ::pread(lock_fd_, holder.data(), holder.size(), 0);
    holder.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (lock_error == EWOULDBLOCK)
      throw UserError("--out " + path_ + ": another caprisk run" +
                      (holder.empty() ? std::string() : " (" + holder + ")") +
                      " is writing this folder; wait for it to finish, or choose another --out");
    throw UserError("--out " + path_ + ": cannot lock the output directory (" +
                    std::strerror(lock_error) + ")");
  }
  const std::string holder = "pid " + std::to_string(::getpid()) + ", since " + utc_stamp() + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 ||
      ::pwrite(lock_fd_, holder.data(), holder.size(), 0) != static_cast<ssize_t>(holder.size())) {
    // The lock holds either way; the text in it only helps a refused run say who holds it.
  }
  try {
    fs::create_directories(state_ + "/runs");
    clean_up_after_killed_runs();
    adopt_files_of_the_old_layout();
    check_entries_are_ours();
  } catch (const fs::filesystem_error& e) {
    ::close(lock_fd_);
    throw UserError("--out " + path_ + ": " + e.what());
  } catch (...) {
    ::close(lock_fd_);
    throw;
  }
  run_name_ = "runs/" + utc_stamp() + "-" + std::to_string(::getpid());
}

OutputDirectory::~OutputDirectory() {
  if (staged_any_ && !committed_) {
    std::error_code ignored;
    fs::remove_all(state_ + "/" + run_name_, ignored);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void OutputDirectory::clean_up_after_killed_runs() {
  // Under the lock no other run is writing here, so anything but the current results is
  // left over from a run that was killed: its run folder, its temporary links.
  const std::string current = link_target(state_ + "/" + current_link);
  for (const std::string& name : entries_of(state_ + "/runs"))
    if ("runs/" + name != current) fs::remove_all(state_ + "/runs/" + name);
  for (const std::string& name : entries_of(state_))
    if (name.rfind(std::string(current_link) + ".tmp-", 0) == 0) ::unlink((state_ + "/" + name).c_str());
  for (const std::string_view entry : output_entry_names()) {
    // (appended piece by piece: GCC 12 reports a false -Wrestrict for "." + entry + ...)
    std::string link_prefix = ".";
    link_prefix.append(entry).append(".link-");
    std::string old_prefix = ".";  // temporaries of caprisk before this layout
    old_prefix.append(entry).append(".tmp-");
    for (const std::string& name : entries_of(path_)) {
      const long link_pid = pid_after(name, link_prefix);
      const long old_pid = pid_after(name, old_prefix);
      if ((link_pid > 0 && !process_alive(link_pid)) || (old_pid > 0 && !process_alive(old_pid)))
        ::unlink((path_ + "/" + name).c_str());
    }
  }
}

void OutputDirectory::adopt_files_of_the_old_layout() {
  // Before this layout caprisk wrote plain files into the folder. Such a folder is recognised
  // by its plain summary.json naming a caprisk version; its files become the current results
  // (hard links first, so a run killed while doing this loses nothing).
  const std::string summary = path_ + "/summary.json";
  struct stat info {};
  if (::lstat(summary.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return;
  std::ifstream in(summary);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("\"caprisk_version\"") == std::string::npos) return;
  const std::string adopted = "runs/" + utc_stamp() + "-adopted";
  fs::create_directories(state_ + "/" + adopted);
  std::vector<std::string> moved;
  for (const std::string_view entry : output_entry_names()) {
    const std::string from = path_ + "/" + std::string(entry);
    if (::lstat(from.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    const std::string to = state_ + "/" + adopted + "/" + std::string(entry);
    if (::link(from.c_str(), to.c_str()) != 0) fs::copy_file(from, to);
    moved.emplace_back(entry);
  }
  sync_path(state_ + "/" + adopted);
  replace_with_link(adopted, state_ + "/" + current_link,
                    state_ + "/" + current_link + ".tmp-" + std::to_string(::getpid()));
  sync_path(state_);
  std::sort(moved.begin(), moved.end(), [](const std::string& a, const std::string& b) {
    return (a == "summary.json") < (b == "summary.json");  // summary.json last
  });
  for (const std::string& entry : moved)
    replace_with_link(".caprisk/current/" + entry, path_ + "/" + entry,
                      path_ + "/." + entry + ".link-" + std::to_string(::getpid()));
  sync_path(path_);
}

void OutputDirectory::check_entries_are_ours() const {
  for (const std::string_view entry : output_entry_names()) {
    const std::string name(entry);
    const std::string at = path_ + "/" + name;
    struct stat info {};
    if (::lstat(at.c_str(), &info) != 0) continue;
    if (S_ISLNK(info.st_mode) && link_target(at) == ".caprisk/current/" + name) continue;
    throw UserError("--out " + path_ + ": it holds '" + name +
                    "', which caprisk did not write; caprisk never replaces what it did not "
                    "write: move it away, or choose another --out");
  }
}

void OutputDirectory::stage(const std::string& name, const std::string& content) {
  const std::string entry = name.substr(0, name.find('/'));
  const auto names = output_entry_names();
  CAPRISK_EXPECTS(!committed_ && name.find("..") == std::string::npos &&
                      std::find(names.begin(), names.end(), entry) != names.end(),
                  "staging '" + name + "', which is not an output name");
  const std::string folder = state_ + "/" + run_name_;
  const std::string file = folder + "/" + name;
  std::error_code error;
  fs::create_directories(fs::path(file).parent_path(), error);
  if (error) throw RuntimeFailure("cannot create " + folder + ": " + error.message());
  staged_any_ = true;
  write_and_sync(file, content);
  if (std::find(entries_.begin(), entries_.end(), entry) == entries_.end())
    entries_.push_back(entry);
}

void OutputDirectory::commit() {
  CAPRISK_EXPECTS(staged_any_ && !committed_, "committing a run that staged nothing");
  const std::string folder = state_ + "/" + run_name_;
  // 1. The new files and every folder holding them are on disk.
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_directory()) {
      commit_step();
      sync_path(entry.path().string());
    }
  commit_step();
  sync_path(folder);
  // 2. Every entry of the new run has its link (new names dangle until the swap: absent).
  for (const std::string& entry : entries_) {
    const std::string at = path_ + "/" + entry;
    if (link_target(at) == ".caprisk/current/" + entry) continue;
    replace_with_link(".caprisk/current/" + entry, at,
                      path_ + "/." + entry + ".link-" + std::to_string(::getpid()));
  }
  commit_step();
  sync_path(path_);
  // 3. The swap: from here on every link shows the new run.
  const std::string previous = link_target(state_ + "/" + current_link);
  replace_with_link(run_name_, state_ + "/" + current_link,
                    state_ + "/" + current_link + ".tmp-" + std::to_string(::getpid()));
  commit_step();
  sync_path(state_);
  committed_ = true;
  // 4. Links to names the new run does not have, and the previous run's files, go.
  for (const std::string_view name : output_entry_names()) {
    const std::string entry(name);
    if (std::find(entries_.begin(), entries_.end(), entry) != entries_.end()) continue;
    const std::string at = path_ + "/" + entry;
    if (link_target(at) == ".caprisk/current/" + entry) ::unlink(at.c_str());
  }
  std::error_code ignored;
  if (!previous.empty() && previous != run_name_)
    fs::remove_all(state_ + "/" + previous, ignored);
}

void OutputDirectory::stage_current_files(const std::vector<std::string>& except) {
  const fs::path current = fs::path(state_) / current_link;
  std::error_code error;
  if (!fs::is_directory(current, error))
    throw UserError(path_ + " holds no caprisk results yet (run caprisk run --out " + path_ +
                    " first)");
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(current))
    if (entry.is_regular_file())
      names.push_back(fs::relative(entry.path(), current).generic_string());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string entry = name.substr(0, name.find('/'));
    if (std::find(except.begin(), except.end(), entry) != except.end()) continue;
    std::ifstream in(current / name, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (!in) throw RuntimeFailure("cannot read " + (current / name).string());
    stage(name, content.str());
  }
}

std::string OutputDirectory::current_summary() const {
  std::ifstream in(state_ + "/" + current_link + "/summary.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string default_output_folder(const std::string& scenario_name) {
  std::string folder = scenario_name;
  std::replace(folder.begin(), folder.end(), '/', '_');
  std::replace(folder.begin(), folder.end(), '\\', '_');
  if (folder.empty() || folder.front() == '.') folder.insert(folder.begin(), '_');
  return "out/" + folder;
}

void write_file_atomically(const std::string& path, const std::string& content,
                           long long crash_after_bytes) {
  const fs::path target(path);
  const std::string folder = target.parent_path().empty() ? "." : target.parent_path().string();
  const std::string prefix = target.filename().string() + ".tmp-";
  for (const std::string& name : entries_of(folder)) {
    const long pid = pid_after(name, prefix);
    if (pid > 0 && !process_alive(pid)) ::unlink((folder + "/" + name).c_str());
  }
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  if (crash_after_bytes >= 0 && static_cast<std::size_t>(crash_after_bytes) < content.size()) {
    write_and_sync(temporary, content.substr(0, static_cast<std::size_t>(crash_after_bytes)));
    ::kill(::getpid(), SIGKILL);
  }
  try {
    write_and_sync(temporary, content);
  } catch (...) {
    ::unlink(temporary.c_str());
    throw;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw RuntimeFailure("cannot rename " + temporary + " to " + path + ": " +
                         std::strerror(error));
  }
  sync_path(folder);
}

void check_file_can_be_written(const std::string& path, const std::string& option) {
  std::error_code error;
  if (fs::is_directory(path, error))
    throw UserError(option + " " + path + ": is a folder; give the path of a file");
  const std::string probe = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    throw UserError(option + " " + path + ": cannot create files there (" + errno_text() + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

void check_folder_can_be_written(const std::string& path, const std::string& option) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error || !fs::is_directory(path))
    throw UserError(option + " " + path + ": cannot create the folder" +
                    (error ? " (" + error.message() + ")" : " (a file of that name exists)"));
  check_file_can_be_written(path + "/.caprisk-write-test", option);
}

std::string sha256_hex(const std::string& bytes) {
  // OpenSSL's EVP interface: a maintained, tested implementation rather than our own.
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw RuntimeFailure("SHA-256 failed (OpenSSL EVP_Digest)");
  static const char* const hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace caprisk
