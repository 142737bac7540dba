// ScanImage metadata text (any of its three homes in a TIFF) -> acquisition facts.
#include "fuzz/fuzz_support.hpp"
#include "io/scanimage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace apical;
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_success_or_input_error([&] {
    parse_scanimage_keys(text);
    bool found = false;
    Acquisition a = scanimage_acquisition(text, found);
    // Facts the stages divide by or allocate from must be sane when reported.
    if (found && (a.planes < 1 || a.channels < 1 || a.flyback_frames < 0 || !(a.frame_rate_hz >= 0)))
      std::abort();
  });
  return 0;
}
