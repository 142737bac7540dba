#include "io/scanimage.hpp"

#include <algorithm>
#include <sstream>

#include "io/error.hpp"

namespace apical {
namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t'\"");
  size_t b = s.find_last_not_of(" \t'\";");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

double number_or(const std::map<std::string, std::string>& keys, const std::string& key,
                 double fallback) {
  auto it = keys.find(key);
  if (it == keys.end()) return fallback;
  std::string v = it->second;
  if (v == "true") return 1;
  if (v == "false") return 0;
  try {
    return std::stod(v);
  } catch (...) {
    return fallback;
  }
}

// Counts (slices, channels, flyback frames) beyond this are a damaged header, not a microscope.
constexpr double kMaxCount = 100000;

// A count from the header: a whole number in 0..kMaxCount, else InputError naming the key.
int count_or(const std::map<std::string, std::string>& keys, const std::string& key, int fallback) {
  const double value = number_or(keys, key, fallback);
  if (!(value >= 0 && value <= kMaxCount))  // also NaN
    throw InputError("ScanImage metadata: " + key + " = " + keys.at(key) + " is not a count in 0.." +
                     std::to_string(int(kMaxCount)));
  return int(value);
}

// A rate or zoom from the header: finite and not negative, else InputError naming the key.
double positive_or(const std::map<std::string, std::string>& keys, const std::string& key, double fallback) {
  const double value = number_or(keys, key, fallback);
  if (!(value >= 0 && value < 1e9))
    throw InputError("ScanImage metadata: " + key + " = " + keys.at(key) + " is not a plausible value");
  return value;
}

// "[1;2]" or "[1 2]" or "1" -> number of entries.
int count_list(const std::string& value) {
  std::string v = value;
  std::replace(v.begin(), v.end(), ';', ' ');
  std::replace(v.begin(), v.end(), ',', ' ');
  v.erase(std::remove(v.begin(), v.end(), '['), v.end());
  v.erase(std::remove(v.begin(), v.end(), ']'), v.end());
  std::istringstream in(v);
  int n = 0;
  std::string token;
  while (in >> token) ++n;
  return n;
}

}  // namespace

std::map<std::string, std::string> parse_scanimage_keys(const std::string& text) {
  std::map<std::string, std::string> keys;
  std::string line;
  for (size_t i = 0; i <= text.size(); ++i) {
    char c = i < text.size() ? text[i] : '\n';
    if (c == '\n' || c == '\r') {
      size_t eq = line.find('=');
      std::string key = trim(line.substr(0, eq == std::string::npos ? 0 : eq));
      if (eq != std::string::npos && (key.rfind("state.", 0) == 0 || key.rfind("SI.", 0) == 0 ||
                                      key.rfind("scanimage.SI.", 0) == 0)) {
        if (key.rfind("scanimage.", 0) == 0) key = key.substr(10);
        keys[key] = trim(line.substr(eq + 1));
      }
      line.clear();
    } else {
      line += c;
    }
  }
  return keys;
}

Acquisition scanimage_acquisition(const std::string& text, bool& found) {
  auto keys = parse_scanimage_keys(text);
  Acquisition a;
  found = false;
  if (keys.count("state.acq.frameRate") || keys.count("state.software.version")) {
    found = true;
    a.source = "ScanImage 3.x header";
    a.frame_rate_hz = positive_or(keys, "state.acq.frameRate", 0);
    a.zoom = positive_or(keys, "state.acq.zoomFactor", 0);
    a.bidirectional = number_or(keys, "state.acq.bidirectionalScan", 0) != 0;
    a.channels = std::max(1, count_or(keys, "state.acq.numberOfChannelsSave", 0));
    if (!keys.count("state.acq.numberOfChannelsSave")) {
      int saving = 0;
      for (int c = 1; c <= 4; ++c)
        saving += number_or(keys, "state.acq.savingChannel" + std::to_string(c), 0) != 0;
      a.channels = std::max(1, saving);
    }
    // ScanImage 3.x stacks store slices one after another, not interleaved: one plane here.
    a.planes = 1;
    return a;
  }
  if (keys.count("SI.hRoiManager.scanFrameRate") || keys.count("SI.VERSION_MAJOR")) {
    found = true;
    a.source = "ScanImage 2015+ header";
    double frame_rate = positive_or(keys, "SI.hRoiManager.scanFrameRate", 0);
    a.zoom = positive_or(keys, "SI.hRoiManager.scanZoomFactor", 0);
    a.bidirectional = number_or(keys, "SI.hScan2D.bidirectional", 0) != 0;
    if (keys.count("SI.hChannels.channelSave"))
      a.channels = std::max(1, count_list(keys["SI.hChannels.channelSave"]));
    bool fast_z = number_or(keys, "SI.hFastZ.enable", 0) != 0 ||
                  number_or(keys, "SI.hStackManager.enable", 0) != 0;
    const int slices = keys.count("SI.hStackManager.actualNumSlices")
                           ? count_or(keys, "SI.hStackManager.actualNumSlices", 1)
                           : count_or(keys, "SI.hStackManager.numSlices", 1);
    a.planes = fast_z ? std::max(1, slices) : 1;
    a.flyback_frames = fast_z ? count_or(keys, "SI.hFastZ.numDiscardFlybackFrames", 0) : 0;
    double volume_rate = positive_or(keys, "SI.hRoiManager.scanVolumeRate", 0);
    a.frame_rate_hz = volume_rate > 0 ? volume_rate
                      : frame_rate / double(a.planes + a.flyback_frames);
    return a;
  }
  return a;
}

}  // namespace apical
