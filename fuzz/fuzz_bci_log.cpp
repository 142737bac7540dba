// libFuzzer entry point for apical::fuzz::bci_log (fuzz/harnesses.hpp).
#include "fuzz/harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  apical::fuzz::bci_log(data, size);
  return 0;
}
