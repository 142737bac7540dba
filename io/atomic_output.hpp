#pragma once
// Every output is written under a temporary name in the target folder and renamed
// into place only when complete, so an error, Ctrl-C or kill never leaves a file at
// the target path that Make would take as up to date.
#include <filesystem>
#include <string>
#include <string_view>

#include "io/error.hpp"

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
  // Writes `bytes` as the whole temporary file (for small outputs: CSV, PNG, HTML).
  void write(std::string_view bytes) const;
  // Renames the finished temporary file onto the target, after checking that every write to
  // it reached the disk (fsync): a full disk or a failed writeback is an InputError naming
  // the target, and the target path stays free.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Removes registered temporary files on SIGINT/SIGTERM/SIGHUP, then dies by that signal.
// (SIGKILL cannot be caught: the temp file stays, but the target path never appears.)
void install_output_cleanup_handlers();

// A failed write as the user should read it: "TARGET: cannot write: no space left on device".
// A temporary path is named by the output it stands for. InputError (exit 1): the disk, not
// apical, is at fault.
InputError write_error(const std::string& path, int error_number);
// The output a path stands for: ".reg.h5.tmp-123" -> "reg.h5" in every path component.
std::string output_name(const std::string& path);
// Records a write failure found where nothing can be thrown (a file closed by a destructor);
// the AtomicOutput whose temporary holds that path then refuses to commit.
void record_write_failure(const std::string& path, int error_number);
// Writes bytes to a new file at path, checking every write and the close (write_error).
void write_whole_file(const std::filesystem::path& path, std::string_view bytes);

}  // namespace apical
