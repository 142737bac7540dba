#pragma once
// Error kinds that map to apical's documented exit codes:
//   0 ok, 1 bad input or usage (InputError), 2 internal error (anything else).
#include <stdexcept>
#include <string>

namespace apical {

// Bad input: a file that cannot be read, a wrong shape, a bad option value.
// The message names the file (or option) and the problem; the CLI prints it and exits 1.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline InputError file_error(const std::string& path, const std::string& problem) {
  return InputError(path + ": " + problem);
}

}  // namespace apical
