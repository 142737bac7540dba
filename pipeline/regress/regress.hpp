#pragma once
// Session-level science of `apical regress` (docs/DESIGN.md §4, docs/SCIENCE_SPEC.md): events, somato-
// dendritic (SD) residuals, task GLMs with permutation and BH, network prediction, learning,
// decoding and the learning curve. Pure functions over in-memory inputs; the caller reads
// traces.h5 / the BCI log and writes regress.h5.
//
// Conventions (docs/SCIENCE_SPEC.md):
//   error(t)   = |target(t) - cursor(t)|
//   d_error(t) = error(t) - error(max(t - w, 0)),  w = round(window_s * f)
//   reward(t)  = 1 if some hit's reward_frame r has t - w <= r <= t + w
// Events are detected on the soma trace. For a somatic event at peak frame t with rise start
// (base) frame t0, the dendritic amplitude is max(dendrite, [t - pre, t + post]) minus
// min(dendrite, [t0 - pre, that maximum]) on the dendrite's measurement trace (high-passed,
// lightly smoothed like the soma: stats::detection_trace with measure_smoothing_s).
// Neurons without a paired dendrite (dendrite_roi = -1), or with fewer than min_events
// somatic events, get NaN in every SD / GLM / residual field and are left out of the pooled
// model, network prediction and decoding; their events still count for rates and amplitudes.
#include <cstdint>
#include <string>
#include <vector>

#include <armadillo>

#include "core/regress_params.hpp"
#include "core/regress_result.hpp"
#include "io/bci_log.hpp"
#include "stats/events.hpp"
#include "stats/events_paper.hpp"
#include "stats/sd_fit.hpp"

namespace apical {

// The BCI log in the columnar form the analysis uses (per-frame vectors); see behaviour_log()
// for the conversion from the CSV rows of io/bci_log.hpp.
struct BehaviourLog {
  std::vector<int> cursor, target, trial;  // per frame; trial = -1 between trials
  std::vector<double> control;             // per frame (may be empty: not used by the analysis)
  std::vector<double> time_s;              // per frame, the log's clock (may be empty)
  // Extra named columns of frames.csv (e.g. "opto"), each with one value per frame.
  std::vector<std::string> column_names;
  std::vector<std::vector<double>> columns;
  struct Trial {
    int id = 0;
    int64_t start_frame = 0, end_frame = 0;  // inclusive
    bool hit = false;
    int64_t reward_frame = -1;  // -1 for a miss
  };
  std::vector<Trial> trials;
};

// Per-frame columns and trials of a BCI log read by read_bci_log (frame rows in file order).
BehaviourLog behaviour_log(const BciLog& log);

struct NeuronInput {
  int soma_roi = 0;
  int dendrite_roi = -1;  // -1 if unpaired
  int role = 0;           // +1 P+, -1 P-, 0 other
};

// "COLUMN=VALUE" -> (column, value); InputError naming --reference-condition otherwise.
std::pair<std::string, double> parse_reference_condition(const std::string& text);
void check_event_method(const std::string& method);

// Per-frame task variables (docs/SCIENCE_SPEC.md).
struct Behaviour {
  std::vector<double> error, d_error;
  std::vector<uint8_t> reward;
  int64_t window_frames = 0;
};
// Throws InputError if the log's per-frame vectors do not have `frames` entries or a trial's
// frames fall outside [0, frames).
Behaviour behaviour_series(const BehaviourLog& log, int64_t frames, double frame_rate_hz, double window_s);

// soma_dff [N_soma_rois, T], dendrite_dff [N_dend_rois, T] (may be 0x0 if nothing is paired).
// Throws InputError on inconsistent frame counts, bad ROI indices or roles, bad parameters.
RegressResult analyze_session(const arma::fmat& soma_dff, const arma::fmat& dendrite_dff,
                              const std::vector<NeuronInput>& neurons, const BehaviourLog& log,
                              const RegressParams& params);

}  // namespace apical
