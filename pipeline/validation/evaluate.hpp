#pragma once
// Scores a stage's output against the simulator's truth (docs/DESIGN.md §5). Each scorer reads the
// stage's output file and returns plain numbers; `apical evaluate` prints them.
#include <string>
#include <vector>

#include "pipeline/validation/truth.hpp"

namespace apical {

struct RegistrationScore {
  int plane = 0;
  double shift_rms_error_px = 0;     // rigid, after removing the constant offset
  double shift_max_error_px = 0;
  double fraction_within_half_px = 0;
  double bidi_error_px = 0;          // estimated minus true offset
  double block_rms_error_px = -1;    // rigid + block shift vs truth at block centres; -1: rigid only
};

// One row of `apical evaluate` output.
struct ScoreRow {
  std::string stage;    // register | segment | extract | regress
  std::string subject;  // e.g. plane0, plane1/soma, pooled
  std::string metric;
  double value = 0;
};

// One score per plane of registered.h5 (InputError if the frame counts disagree).
std::vector<RegistrationScore> score_registration(const Truth& truth, const std::string& registered_path);

// segment: per plane and kind precision/recall/F1 at IoU >= 0.5 (optimal one-to-one
// matching); pairing accuracy (true pairs recovered among matched ROIs) and wrong-pair fraction.
std::vector<ScoreRow> score_segmentation(const Truth& truth, const std::string& rois_path);
// extract: per plane and kind the median Pearson r of dF/F against the truth over matched ROIs,
// event precision/recall/F1 (+-2 frames), neuropil coefficient error when estimated.
std::vector<ScoreRow> score_extraction(const Truth& truth, const std::string& rois_path,
                                       const std::string& traces_path);
// regress: role assignment accuracy; sign accuracy and rank correlation of the recovered
// reward and d_error coefficients against the truth.
std::vector<ScoreRow> score_regression(const Truth& truth, const std::string& regress_path);

// Pieces shared by the scorers and tests.
// RMS of (estimate - truth) after removing their mean difference; also max and fraction <= 0.5.
void offset_free_errors(const std::vector<Shift>& estimate, const std::vector<Shift>& truth, double& rms,
                        double& max_error, double& within_half);

}  // namespace apical
