#pragma once
// apical export: one NWB 2.6 file per session, from apical's own outputs (registered.h5,
// rois.h5, traces.h5, regress.h5) and the BCI log. The mapping is in docs/nwb.md.
#include <cmath>
#include <string>

#include "io/provenance.hpp"

namespace apical {

// What the user supplies (the [nwb] section of apical.ini, or options): NWB requires them
// and apical's files do not hold them.
struct NwbSessionFacts {
  std::string indicator;           // e.g. GCaMP6s
  std::string location;            // brain area of the imaging planes, e.g. "M1, layer 5 / layer 1"
  std::string subject_id;
  std::string species;             // e.g. Mus musculus
  std::string session_start_time;  // ISO 8601 with time zone, e.g. 2026-03-02T10:15:00+01:00
  std::string session_description;
  std::string identifier;          // unique id of the session (default: the folder's name)
  std::string experimenter;        // optional
  double excitation_lambda_nm = std::nan("");  // optional (NaN = not recorded)
  double emission_lambda_nm = std::nan("");
  double pixel_size_um = 0;        // 0 = unknown: no grid spacing
};

// The session's files. regress and bci may be empty (an imaging-only session).
struct NwbExportInputs {
  std::string registered, rois, traces, regress, bci_folder;
};

struct NwbExportSummary {
  int planes = 0, rois = 0, trials = 0, pairs = 0, neurons = 0;
  int64_t frames = 0;
};

// Writes the NWB file at `output_path` (a temporary path the caller renames to `final_path`;
// the movie's external link is made relative to final_path's folder). `include_movie` copies
// the registered movie instead of linking it. InputError naming the file for anything
// missing or inconsistent: no ROIs, traces whose ROI count differs from rois.h5, ...
NwbExportSummary write_nwb_export(const NwbExportInputs& inputs, const NwbSessionFacts& facts, bool include_movie,
                                  const std::string& output_path, const std::string& final_path,
                                  const Provenance& provenance);

}  // namespace apical
