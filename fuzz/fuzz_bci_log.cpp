// The BCI log as a rig writes it: frames.csv, trials.csv and ensemble.csv, then the checks
// against the imaging (a 600-frame, 160x160 px movie). Input layout: the three files'
// texts separated by '|'.
#include "fuzz/fuzz_support.hpp"
#include "io/bci_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace apical;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const auto folder = fuzz::scratch("bci");
  std::filesystem::create_directories(folder);
  for (const char* name : {"frames.csv", "trials.csv", "ensemble.csv"}) {
    size_t bar = rest.find('|');
    fuzz::write_file(folder / name, rest.substr(0, bar));
    rest.remove_prefix(bar == std::string_view::npos ? rest.size() : bar + 1);
  }
  fuzz::expect_success_or_input_error([&] {
    BciLog log = read_bci_log(folder);
    check_bci_log_fits(log, 600, 160, 160);
  });
  return 0;
}
