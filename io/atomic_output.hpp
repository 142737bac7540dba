#pragma once
// Every output is written under a temporary name in the target folder and renamed
// into place only when complete, so an error, Ctrl-C or kill never leaves a file at
// the target path that Make would take as up to date.
#include <filesystem>
#include <string>

namespace apical {

class AtomicOutput {
 public:
  // Checks the folder is writable and the target free (or force); InputError otherwise.
  AtomicOutput(std::filesystem::path target, bool force);
  ~AtomicOutput();  // removes the temporary file unless commit() ran
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  // Where to write (a file, or a folder the caller creates): ".<name>.tmp-<pid>" beside the target.
  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  // Renames the finished temporary file onto the target.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Removes registered temporary files on SIGINT/SIGTERM/SIGHUP, then dies by that signal.
// (SIGKILL cannot be caught: the temp file stays, but the target path never appears.)
void install_output_cleanup_handlers();

}  // namespace apical
