#pragma once
// Scores a stage's output against the simulator's truth (DESIGN §5). Each scorer reads the
// stage's output file and returns plain numbers; `apical evaluate` prints them.
#include <string>
#include <vector>

#include "pipeline/truth.hpp"

namespace apical {

struct RegistrationScore {
  int plane = 0;
  double shift_rms_error_px = 0;     // rigid, after removing the constant offset
  double shift_max_error_px = 0;
  double fraction_within_half_px = 0;
  double bidi_error_px = 0;          // estimated minus true offset
  double block_rms_error_px = -1;    // rigid + block shift vs truth at block centres; -1: rigid only
};

// One score per plane of registered.h5 (InputError if the frame counts disagree).
std::vector<RegistrationScore> score_registration(const Truth& truth, const std::string& registered_path);

// Pieces shared by the scorers and tests.
// RMS of (estimate - truth) after removing their mean difference; also max and fraction <= 0.5.
void offset_free_errors(const std::vector<Shift>& estimate, const std::vector<Shift>& truth, double& rms,
                        double& max_error, double& within_half);

}  // namespace apical
