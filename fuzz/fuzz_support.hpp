#pragma once
// What every fuzz target shares. The contract under test: a user's file gives success or an
// InputError with a message. Anything else (another exception, a crash, a leak, undefined
// behaviour, a hang) is a finding: libFuzzer and the sanitizers report it.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "io/error.hpp"

namespace apical::fuzz {

// A file path private to this process, in memory when /dev/shm exists (fast, no disk wear).
inline std::filesystem::path scratch(const std::string& name) {
  static const std::filesystem::path folder = [] {
    std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    std::filesystem::path f = base / ("apical_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(f);
    // Removed at exit (a crash leaves it, beside the finding). The path is copied to a string
    // that is never destroyed: this handler runs after the static `folder` is gone.
    static const std::string* const to_remove = new std::string(f.string());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*to_remove, ec);
    });
    return f;
  }();
  return folder / name;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// Splits off the text up to the first '\n' (the whole rest when there is none).
inline std::string_view take_line(std::string_view& data) {
  size_t end = data.find('\n');
  std::string_view line = data.substr(0, end);
  data.remove_prefix(end == std::string_view::npos ? data.size() : end + 1);
  return line;
}

// Runs `parse`; an InputError must carry a message. Other exceptions escape: a finding.
template <typename Parse> void expect_success_or_input_error(Parse&& parse) {
  try {
    parse();
  } catch (const InputError& e) {
    if (std::string_view(e.what()).empty()) std::abort();  // an error the user cannot read
  }
}

}  // namespace apical::fuzz
