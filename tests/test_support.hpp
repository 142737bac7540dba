#pragma once
// Helpers shared by tests: temporary folders, running the apical binary, real-data paths.
#include <filesystem>
#include <string>

namespace apical::test {

// A fresh empty folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "apical_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs the apical binary with the given argument string (shell-quoted by the caller).
CommandResult run_apical(const std::string& args);
// Runs any shell command, capturing stdout+stderr.
CommandResult run_shell(const std::string& command);

// Path of a file in ../shared/data/real, or empty when that folder is absent.
std::string real_data(const std::string& name);

}  // namespace apical::test
