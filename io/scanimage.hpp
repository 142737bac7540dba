#pragma once
// ScanImage metadata: 3.x (`state.*` keys in the ImageDescription, `\r` separated) and
// 2015+ (`SI.*` keys, in the ImageDescription, the Software tag, or the BigTIFF header
// block of 2016+ files).
#include <map>
#include <string>

#include "io/movie.hpp"

namespace apical {

// key -> value text, for every `state.*` or `SI.*` assignment found in the text.
std::map<std::string, std::string> parse_scanimage_keys(const std::string& text);
// Acquisition facts from those keys; `found` is false when the text is not ScanImage's.
Acquisition scanimage_acquisition(const std::string& text, bool& found);

}  // namespace apical
