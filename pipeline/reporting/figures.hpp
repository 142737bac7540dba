#pragma once
// `apical figures`: one CSV (the numbers) and one PNG (the plot) per figure panel of docs/DESIGN.md §4.7,
// from one or more regress.h5 files (several sessions: panels pool or compare them; the
// learning curve runs across sessions in the order given).
//
// Panels (file stems):
//   learning_curve             hits/min per block of trials over session time, one line per session
//   learning_curve_sessions    (several sessions only) hits/min of each whole session
//   sd_scatter                 dendritic vs somatic event amplitude, colour by role, per-neuron fits
//   residual_by_role_outcome   SD-residual densities, hit vs miss trials, one plot per role
//   residual_vs_derror_by_role mean SD residual (+/- SEM) per d_error value and the OLS fit, per role
//   network_r2                 cross-validated R^2 of each neuron's residuals vs its shuffle null
//   decoding                   hit/miss decoding accuracy vs the shuffled-label distribution
//   learning                   early SD residual vs later change in event rate, per role
#include <string>
#include <vector>

#include "io/regress_file.hpp"

namespace apical {

struct FigureSession {
  std::string label;  // shown in legends and the CSV `session` column
  RegressFile data;
};

struct FigureOutput {
  std::string panel;
  std::string csv, png;  // paths written
  std::string pdf, svg;  // the same drawing as vector graphics
};

// Writes every panel into `folder` (created if needed). Throws InputError for no sessions.
std::vector<FigureOutput> write_figures(const std::vector<FigureSession>& sessions, const std::string& folder);

// A short label for a regress.h5 path: the session folder name when the path is
// SESSION/apical/regress.h5, else the file stem.
std::string session_label(const std::string& regress_path);

}  // namespace apical
