// libFuzzer entry point for apical::fuzz::scanimage (fuzz/harnesses.hpp).
#include "fuzz/harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  apical::fuzz::scanimage(data, size);
  return 0;
}
