// Replays the fuzz seeds and every input a fuzz finding was fixed for (fuzz/regressions/)
// through the same harnesses the fuzzers run, in every build (and under the sanitizers in
// scripts/test-sanitize.sh): each must give success or an InputError with a message.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>

#include "fuzz/harnesses.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> files;
  for (const char* kind : {"regressions", "seeds"}) {
    const fs::path folder = fs::path(APICAL_SOURCE_DIR) / "fuzz" / kind / target;
    if (!fs::is_directory(folder)) continue;
    for (const auto& e : fs::directory_iterator(folder))
      if (e.is_regular_file()) files.push_back(e.path());
  }
  return files;
}

std::string bytes_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace

TEST_CASE("every fuzz seed and fixed finding gives success or an InputError with a message, each within 5 s", "[io][fuzz]") {
  const std::map<std::string, std::function<void(const uint8_t*, size_t)>> harnesses = {
      {"tiff_movie", apical::fuzz::tiff_movie}, {"scanimage", apical::fuzz::scanimage},
      {"raw_movie", apical::fuzz::raw_movie},   {"hdf5_movie", apical::fuzz::hdf5_movie},
      {"bci_log", apical::fuzz::bci_log},
  };
  size_t replayed = 0;
  for (const auto& [target, harness] : harnesses)
    for (const fs::path& file : inputs_of(target)) {
      INFO(file.string());
      const std::string bytes = bytes_of(file);
      const auto start = std::chrono::steady_clock::now();
      CHECK_NOTHROW(harness(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
      CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));  // the fuzzers' hang limit
      ++replayed;
    }
  CHECK(replayed >= 9);  // the seeds in fuzz/seeds alone
}
