// libFuzzer entry point for apical::fuzz::tiff_movie (fuzz/harnesses.hpp).
#include "fuzz/harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  apical::fuzz::tiff_movie(data, size);
  return 0;
}
