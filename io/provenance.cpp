#include "io/provenance.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "apical_version.hpp"

namespace apical {

std::string parameters_text(const std::map<std::string, std::string>& parameters) {
  std::string text;
  for (const auto& [name, value] : parameters) text += name + "=" + value + "\n";
  return text;
}

std::string utc_now_iso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// An apical output is identified by its own provenance (a touched but unchanged file stays
// the same input); any other file by its size and modification time.
static std::string absolute_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

// ISO-8601 UTC with the file system's full resolution (a rewrite within a second still shows).
static std::string iso8601(std::filesystem::file_time_type time) {
  using namespace std::chrono;
  const auto since_epoch = file_clock::to_sys(time).time_since_epoch();
  const auto whole = floor<seconds>(since_epoch);
  const std::time_t t = system_clock::to_time_t(system_clock::time_point(whole));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &tm);
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%09lldZ", static_cast<long long>(duration_cast<nanoseconds>(since_epoch - whole).count()));
  return std::string(buffer) + fraction;
}

static std::string describe_one_input(const std::string& path) {
  namespace fs = std::filesystem;
  std::ostringstream line;
  line << absolute_path(path);
  std::error_code ec;
  bool apical_output = false;
  if (fs::is_regular_file(path, ec) && H5Fis_hdf5(path.c_str()) > 0) {
    try {
      apical_output = h5::File::open_read(path).root().string_attribute("apical_version").has_value();
    } catch (const std::exception&) {
    }
  }
  if (!apical_output && fs::is_regular_file(path, ec)) {
    const auto mtime = fs::last_write_time(path, ec);
    line << " (" << fs::file_size(path, ec) << " bytes, modified " << (ec ? std::string("?") : iso8601(mtime)) << ")";
  }
  if (fs::is_directory(path, ec)) line << " (folder)";
  if (apical_output) {
    try {
      h5::File file = h5::File::open_read(path);
      h5::Group root = file.root();
      if (auto version = root.string_attribute("apical_version"))
        line << " made by apical " << *version;
      if (auto command = root.string_attribute("command_line")) line << ": " << *command;
      if (auto created = root.string_attribute("created_utc")) line << " at " << *created;
    } catch (const std::exception&) {
      // An unreadable input was already reported by its reader; provenance stays partial.
    }
  }
  return line.str();
}

std::string describe_inputs(const std::vector<std::string>& inputs) {
  std::string text;
  for (const auto& input : inputs) text += describe_one_input(input) + "\n";
  return text;
}

void write_provenance(h5::Group& root, const Provenance& provenance) {
  std::string inputs;
  for (const auto& input : provenance.inputs) inputs += absolute_path(input) + "\n";
  root.set_attribute("apical_version", std::string(APICAL_VERSION));
  root.set_attribute("command_line", provenance.command_line);
  root.set_attribute("parameters", parameters_text(provenance.parameters));
  root.set_attribute("inputs", inputs);
  root.set_attribute("input_provenance", describe_inputs(provenance.inputs));
  root.set_attribute("created_utc", utc_now_iso8601());
}

RecordedProvenance read_provenance(const std::string& path) {
  const h5::File file = h5::File::open_read(path);
  const h5::Group root = file.root();
  const auto text = [&](const char* name) { return root.string_attribute(name).value_or(""); };
  RecordedProvenance made;
  made.apical_version = text("apical_version");
  made.command_line = text("command_line");
  made.created_utc = text("created_utc");
  made.parameters = text("parameters");
  made.input_provenance = text("input_provenance");
  made.curated = root.string_attribute("curated_from_parameters").has_value();
  made.curated_from_parameters = text("curated_from_parameters");
  made.curated_from_input_provenance = text("curated_from_input_provenance");
  return made;
}

}  // namespace apical
