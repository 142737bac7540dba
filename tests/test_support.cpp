#include "tests/test_support.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <random>
#include <sys/wait.h>
#include <unistd.h>

namespace apical::test {

TempDir::TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          (tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

CommandResult run_shell(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult run_apical(const std::string& args) {
  return run_shell(std::string(APICAL_BINARY) + " " + args);
}

std::string real_data(const std::string& name) {
  std::filesystem::path p = std::filesystem::path(APICAL_REAL_DATA_DIR) / name;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

}  // namespace apical::test
