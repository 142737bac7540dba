// libFuzzer entry point for apical::fuzz::raw_movie (fuzz/harnesses.hpp).
#include "fuzz/harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  apical::fuzz::raw_movie(data, size);
  return 0;
}
