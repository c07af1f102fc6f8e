#include "host/report/report_page.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "host/errors.h"

namespace caprisk {
namespace {

namespace fs = std::filesystem;

/// The Python that draws: CAPRISK_PYTHON, else Debian's (the one with python3-matplotlib;
/// the first python3 on PATH may be another).
std::string python() {
  const char* chosen = std::getenv("CAPRISK_PYTHON");
  return chosen != nullptr && *chosen != '\0' ? chosen : "/usr/bin/python3";
}

/// scripts/report.py: CAPRISK_REPORT_SCRIPT, else beside the binary (a bundle), else in the
/// source tree the binary was built from.
std::string script() {
  if (const char* chosen = std::getenv("CAPRISK_REPORT_SCRIPT"); chosen != nullptr && *chosen)
    return chosen;
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  std::vector<fs::path> candidates;
  if (!error) candidates.push_back(exe.parent_path() / "report.py");
  candidates.push_back(fs::path(CAPRISK_SOURCE_DIR) / "scripts" / "report.py");
  for (const fs::path& candidate : candidates)
    if (fs::is_regular_file(candidate, error)) return candidate.string();
  return "";
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Runs a shell command; its exit status, and its stdout and stderr together in `output`.
int run(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::string report_unavailable() {
  const std::string path = script();
  if (path.empty())
    return "scripts/report.py is not found (beside the caprisk binary, or in " +
           std::string(CAPRISK_SOURCE_DIR) + "/scripts; set CAPRISK_REPORT_SCRIPT to it)";
  std::string output;
  if (run(quoted(python()) + " -c 'import matplotlib'", output) != 0)
    return python() + " cannot import matplotlib (install Debian's python3-matplotlib: "
                      "scripts/setup does; or set CAPRISK_PYTHON to a Python that has it)";
  return "";
}

std::string draw_report(const std::string& folder) {
  if (const std::string missing = report_unavailable(); !missing.empty())
    throw RuntimeFailure("cannot draw report.html: " + missing);
  char name[] = "/tmp/caprisk-report-XXXXXX";
  const int fd = mkstemp(name);
  if (fd < 0) throw RuntimeFailure("cannot create a temporary file for report.html");
  close(fd);
  std::string output;
  const int status = run(quoted(python()) + " " + quoted(script()) + " " + quoted(folder) +
                             " --out " + quoted(name),
                         output);
  std::ifstream in(name, std::ios::binary);
  std::stringstream page;
  page << in.rdbuf();
  std::remove(name);
  if (status != 0 || page.str().empty())
    throw RuntimeFailure("scripts/report.py failed (exit " + std::to_string(status) +
                         ") drawing " + folder + ":\n" + output);
  return page.str();
}

}  // namespace caprisk
