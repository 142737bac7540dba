#include "io/provenance.hpp"

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

static std::string describe_one_input(const std::string& path) {
  namespace fs = std::filesystem;
  std::ostringstream line;
  line << path;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) line << " (" << fs::file_size(path, ec) << " bytes)";
  if (fs::is_directory(path, ec)) line << " (folder)";
  if (H5Fis_hdf5(path.c_str()) > 0) {
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
  for (const auto& input : provenance.inputs) inputs += input + "\n";
  root.set_attribute("apical_version", std::string(APICAL_VERSION));
  root.set_attribute("command_line", provenance.command_line);
  root.set_attribute("parameters", parameters_text(provenance.parameters));
  root.set_attribute("inputs", inputs);
  root.set_attribute("input_provenance", describe_inputs(provenance.inputs));
  root.set_attribute("created_utc", utc_now_iso8601());
}

}  // namespace apical
