// libFuzzer entry point for apical::fuzz::hdf5_movie (fuzz/harnesses.hpp).
#include "fuzz/harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  apical::fuzz::hdf5_movie(data, size);
  return 0;
}
