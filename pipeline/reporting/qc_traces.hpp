#pragma once
// qc/traces.png of `apical extract`: one dF/F raster (ROIs x time, mean per time bin) per
// plane, stacked vertically, so a user sees at a glance whether traces look like activity.
#include <string>
#include <vector>

#include "pipeline/extract/extract_stream.hpp"

namespace apical {

// Writes the PNG (folder created, file replaced). Planes without ROIs get a note panel.
// Throws InputError naming the path when it cannot be written.
void write_traces_qc(const std::string& png_path, const std::vector<TracesRaster>& planes);

}  // namespace apical
