#include "io/schema.hpp"

#include "core/roi_codes.hpp"
#include "io/curation_file.hpp"

#include <hdf5.h>

#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace apical {
namespace {

const std::string kRole = "1=P+ (its activity moves the cursor to the target);-1=P- (moves it away);0=other";
const std::string kRoiKind = "0=soma;1=dendrite";
const std::string kOutcome = "1=hit (reward);0=miss (timeout, error);-1=between trials";
const std::string kTimestamps = "time of each frame: frame / frame rate (regress.h5: the BCI log's time_s)";

// Datasets every plane of a movie-derived file shares.
std::vector<DatasetSchema> summary_images(const std::string& what) {
  return {
      {"plane{k}/mean_image", {"y", "x"}, "counts", "mean of the " + what + " frames"},
      {"plane{k}/max_image", {"y", "x"}, "counts", "maximum of the " + what + " frames"},
  };
}

std::vector<DatasetSchema> roi_masks(const std::string& who) {
  return {
      {"plane{k}/roi_offsets", {"roi_boundary"}, "1",
       "ROI i owns roi_pixels[roi_offsets[i] : roi_offsets[i+1]] (CSR layout; length = ROIs + 1)"},
      {"plane{k}/roi_pixels", {"mask_pixel"}, "1", "pixel index y * width + x of each mask pixel of " + who},
      {"plane{k}/roi_weights", {"mask_pixel"}, "1", "weight of each mask pixel in the ROI's F (sums to 1 per ROI)"},
      {"plane{k}/roi_kind", {"roi"}, "1", "kind of each ROI", kRoiKind},
  };
}

std::vector<DatasetSchema> pairs(const std::string& who) {
  return {
      {"pairs/soma_plane", {"pair"}, "1", "plane of the soma of each soma-dendrite pair (" + who + ")"},
      {"pairs/soma_roi", {"pair"}, "1", "ROI index of the soma within its plane"},
      {"pairs/dendrite_plane", {"pair"}, "1", "plane of the paired dendrite"},
      {"pairs/dendrite_roi", {"pair"}, "1", "ROI index of the dendrite within its plane"},
      {"pairs/confidence", {"pair"}, "1", "pairing confidence in 0..1 (soma-dendrite trace correlation)"},
  };
}

FileSchema make_registered() {
  FileSchema s{"registered.h5", "apical register",
               "motion-corrected movie per plane, its shifts and summary images", {}};
  auto& d = s.datasets;
  d = {
      {"timestamps", {"time"}, "s", kTimestamps},
      {"plane{k}/movie", {"time", "y", "x"}, "counts", "registered frames (raw intensity, bidirectional phase corrected)"},
      {"plane{k}/shifts", {"time", "axis"}, "px",
       "rigid shift (dy, dx) of each frame: reference content at (y, x) appears at (y + dy, x + dx)"},
      {"plane{k}/frame_correlation", {"time"}, "1", "correlation of each registered frame with the reference (NaN: no signal)"},
      {"plane{k}/blank_rows", {"time"}, "1",
       "rows at the top of the raw frame without signal (optogenetic stimulation: PMTs gated off); 0 on ordinary frames"},
      {"plane{k}/blank_rows_registered", {"time"}, "1",
       "rows at the top of the registered frame that hold blank raw rows (left out of F and Fneu); the height for a frame without signal"},
      {"plane{k}/no_signal", {"time"}, "1", "1: the frame holds no signal (shutter closed, PMT tripped) and was not registered (NaN shift)",
       "0=signal;1=no signal"},
      {"plane{k}/reference", {"y", "x"}, "counts", "reference image the frames were registered to"},
      {"plane{k}/raw_mean_image", {"y", "x"}, "counts", "mean of the frames before registration"},
      {"plane{k}/block_shifts", {"time", "block", "axis"}, "px",
       "per-block shift (dy, dx) left after the rigid shift, blocks in row-major grid order (non-rigid only)"},
      {"plane{k}/block_centres_y", {"block_row"}, "px", "row of each block row's centre (non-rigid only)"},
      {"plane{k}/block_centres_x", {"block_column"}, "px", "column of each block column's centre (non-rigid only)"},
  };
  for (auto& e : summary_images("registered")) d.push_back(e);
  return s;
}

FileSchema make_rois() {
  FileSchema s{"rois.h5", "apical segment (or apical import)",
               "ROI candidates per plane with their masks, features and acceptance, and soma-dendrite pairs", {}};
  auto& d = s.datasets;
  d = roi_masks("every candidate");
  d.push_back({"timestamps", {"time"}, "s", kTimestamps});
  for (auto& e : summary_images("registered")) d.push_back(e);
  for (auto& e : pairs("accepted ROIs; indices into the ROI lists")) d.push_back(e);
  const std::vector<DatasetSchema> more = {
      {"plane{k}/correlation_image", {"y", "x"}, "1", "mean correlation of each pixel's trace with its 8 neighbours"},
      {"plane{k}/soma_template_image", {"y", "x"}, "1",
       "log-odds of a soma centred at each pixel (soma template on the contrast-normalised mean image)"},
      {"plane{k}/shared_pixels", {"y", "x"}, "1", "1 where two or more ROIs own the pixel"},
      {"plane{k}/accepted", {"roi"}, "1", "1 = accepted ROI (used by extract and regress), 0 = rejected candidate; accepted ROIs come first",
       "0=rejected;1=accepted"},
      {"plane{k}/rejection", {"roi"}, "1", "why a candidate was rejected",
       std::string(kRejectionLabels) + ";" + kCuratedRejectionLabel},
      {"plane{k}/source", {"roi"}, "1", "what found the candidate",
       kSourceLabels},
      {"plane{k}/curated", {"roi"}, "1", "1 = a person decided the ROI's acceptance (apical curate), 0 = the detector did", "0=detector;1=curated"},
      {"plane{k}/stats/area", {"roi"}, "px", "mask pixels"},
      {"plane{k}/stats/centroid_x", {"roi"}, "px", "weighted centroid, column"},
      {"plane{k}/stats/centroid_y", {"roi"}, "px", "weighted centroid, row"},
      {"plane{k}/stats/compactness", {"roi"}, "1", "perimeter^2 / (4 pi area): 1 for a disc"},
      {"plane{k}/stats/eccentricity", {"roi"}, "1", "eccentricity of the mask's second moments (0 disc, 1 line)"},
      {"plane{k}/stats/quality", {"roi"}, "1", "ROI quality in 0..1 (trace SNR and shape)"},
      {"plane{k}/stats/skewness", {"roi"}, "1", "skewness of the ROI's trace"},
      {"plane{k}/stats/snr", {"roi"}, "1", "(99th percentile - median) of the trace / its noise sigma"},
      {"plane{k}/stats/template_score", {"roi"}, "1", "soma template log-odds at the ROI's centre (NaN: not scored)"},
  };
  d.insert(d.end(), more.begin(), more.end());
  return s;
}

FileSchema make_traces() {
  FileSchema s{"traces.h5", "apical extract (or apical import)",
               "per-ROI fluorescence, neuropil, baseline, dF/F and detected events of accepted ROIs", {}};
  s.datasets = {
      {"timestamps", {"time"}, "s", kTimestamps},
      {"plane{k}/F", {"roi", "time"}, "counts", "ROI fluorescence: weighted mean over the mask"},
      {"plane{k}/Fneu", {"roi", "time"}, "counts", "neuropil fluorescence: mean over the ROI's neuropil ring"},
      {"plane{k}/f0", {"roi", "time"}, "counts", "baseline of the corrected fluorescence F - neuropil_coef * Fneu"},
      {"plane{k}/dff", {"roi", "time"}, "1", "dF/F = (F - neuropil_coef * Fneu - f0) / f0"},
      {"plane{k}/f0_flag", {"roi"}, "1", "1: the baseline fell to or below the floor (1 % of median |F|); dF/F there is unreliable",
       "0=baseline fine;1=baseline at the floor"},
      {"plane{k}/f_pixels", {"roi"}, "1", "mask pixels used for F (shared pixels excluded)"},
      {"plane{k}/nan_frames", {"roi"}, "1",
       "frames where the ROI has no value (wholly inside blanked rows, or no signal): NaN in F, Fneu, f0 and dF/F"},
      {"plane{k}/neuropil_coef", {"roi"}, "1", "neuropil coefficient: corrected F = F - coef * Fneu"},
      {"plane{k}/neuropil_pixels", {"roi"}, "1", "pixels in the ROI's neuropil ring"},
      {"plane{k}/neuropil_slope", {"roi"}, "1",
       "--neuropil-coef estimate: fitted lower-envelope slope of F on Fneu before clipping"},
      {"plane{k}/neuropil_clipped", {"roi"}, "1", "--neuropil-coef estimate: 1 where the slope was clipped to the allowed range",
       "0=estimate used;1=clipped"},
      {"plane{k}/roi_kind", {"roi"}, "1", "kind of each ROI", kRoiKind},
      {"plane{k}/events/roi", {"event"}, "1", "ROI (row of F) of each event"},
      {"plane{k}/events/frame", {"event"}, "1", "frame of the event peak"},
      {"plane{k}/events/base_frame", {"event"}, "1", "frame of the preceding minimum (rise start)"},
      {"plane{k}/events/amplitude", {"event"}, "1", "dF/F at the peak minus the preceding minimum"},
      {"plane{k}/events/prominence", {"event"}, "1", "prominence of the peak in the detection trace (dF/F)"},
  };
  return s;
}

std::vector<DatasetSchema> regress_glm(const std::string& group, const std::string& what) {
  const std::vector<std::string> dims = group == "glm" ? std::vector<std::string>{"neuron", "term"}
                                                       : std::vector<std::string>{"term"};
  return {
      {group + "/beta", dims, "1", what + ": coefficient of each term (dF/F per unit of the regressor)"},
      {group + "/se", dims, "1", what + ": standard error of beta"},
      {group + "/t", dims, "1", what + ": t statistic"},
      {group + "/p", dims, "1", what + ": two-sided p value"},
      {group + "/perm_p", dims, "1", what + ": p value against circular shifts of the behaviour"},
  };
}

FileSchema make_regress() {
  FileSchema s{"regress.h5", "apical regress",
               "somato-dendritic residuals, their regression on reward, error and role, network prediction, decoding and learning", {}};
  auto& d = s.datasets;
  d = {
      {"timestamps", {"time"}, "s", kTimestamps},
      {"events/neuron", {"event"}, "1", "neuron (row of /neurons) of each somatic event"},
      {"events/frame", {"event"}, "1", "frame of the somatic event peak"},
      {"events/trial", {"event"}, "1", "trial of the event (-1 between trials)"},
      {"events/outcome", {"event"}, "1", "outcome of the event's trial", kOutcome},
      {"events/reward", {"event"}, "1", "1 when a reward fell within the window after the event", "0=no reward;1=reward"},
      {"events/error", {"event"}, "1", "distance of the cursor from the target at the event (cursor positions)"},
      {"events/d_error", {"event"}, "1", "change of the error over the window after the event (cursor positions)"},
      {"events/soma_amplitude", {"event"}, "1", "somatic event amplitude (dF/F)"},
      {"events/dendrite_amplitude", {"event"}, "1", "paired dendrite's amplitude in the event window (dF/F)"},
      {"events/residual", {"event"}, "1", "dendrite amplitude minus the neuron's SD fit (dF/F)"},
      {"neurons/soma_roi", {"neuron"}, "1", "soma ROI (soma plane) of each neuron"},
      {"neurons/dendrite_roi", {"neuron"}, "1", "paired dendrite ROI (dendrite plane)"},
      {"neurons/role", {"neuron"}, "1", "causal role in the BCI", kRole},
      {"neurons/ensemble_neuron", {"neuron"}, "1", "id in bci/ensemble.csv (-1: not in the ensemble)"},
      {"neurons/centroid_x", {"neuron"}, "px", "soma centroid, column"},
      {"neurons/centroid_y", {"neuron"}, "px", "soma centroid, row"},
      {"neurons/n_events", {"neuron"}, "1", "somatic events"},
      {"neurons/noise_sigma", {"neuron"}, "1", "noise SD of the soma's event-detection trace (dF/F high-passed and smoothed)"},
      {"neurons/sd_slope", {"neuron"}, "1", "slope of the SD fit: dendrite dF/F per soma dF/F"},
      {"neurons/sd_intercept", {"neuron"}, "1", "intercept of the SD fit (dF/F)"},
      {"neurons/sd_r2", {"neuron"}, "1", "R^2 of the SD fit"},
      {"ensemble/neuron", {"ensemble_neuron"}, "1", "id in bci/ensemble.csv"},
      {"ensemble/role", {"ensemble_neuron"}, "1", "causal role", kRole},
      {"ensemble/x", {"ensemble_neuron"}, "px", "position in bci/ensemble.csv, column"},
      {"ensemble/y", {"ensemble_neuron"}, "px", "position in bci/ensemble.csv, row"},
      {"ensemble/soma_roi", {"ensemble_neuron"}, "1", "nearest soma ROI (-1: none within the match radius)"},
      {"ensemble/distance_px", {"ensemble_neuron"}, "px", "distance to that ROI's centroid"},
      {"glm/n", {"neuron"}, "1", "events in each neuron's GLM"},
      {"glm/p_bh", {"neuron", "term"}, "1", "per-neuron GLM: p, Benjamini-Hochberg adjusted across neurons"},
      {"glm/perm_p_bh", {"neuron", "term"}, "1", "per-neuron GLM: permutation p, Benjamini-Hochberg adjusted"},
      {"network/r2", {"neuron"}, "1", "cross-validated R^2 of the residual predicted from other neurons' activity"},
      {"network/p", {"neuron"}, "1", "p value of r2 against shuffled residuals"},
      {"network/shuffle_mean", {"neuron"}, "1", "mean R^2 of the shuffles"},
      {"network/shuffle_p95", {"neuron"}, "1", "95th percentile R^2 of the shuffles"},
      {"decoding/shuffle_accuracy", {"shuffle"}, "1", "decoding accuracy with shuffled trial labels"},
      {"learning/amplitude_early", {"neuron"}, "1", "mean somatic event amplitude, first third of trials (dF/F)"},
      {"learning/amplitude_late", {"neuron"}, "1", "mean somatic event amplitude, last third of trials (dF/F)"},
      {"learning/rate_early", {"neuron"}, "1/min", "somatic event rate, first third of trials"},
      {"learning/rate_late", {"neuron"}, "1/min", "somatic event rate, last third of trials"},
      {"learning/early_residual", {"neuron"}, "1", "mean SD residual in the first third of trials (dF/F)"},
      {"learning/by_role/role", {"role"}, "1", "role of the row", kRole},
      {"learning/by_role/n", {"role"}, "1", "neurons of that role"},
      {"learning/by_role/r_amplitude", {"role"}, "1", "correlation of early residual with the amplitude change"},
      {"learning/by_role/p_amplitude", {"role"}, "1", "p value of r_amplitude"},
      {"learning/by_role/r_rate", {"role"}, "1", "correlation of early residual with the rate change"},
      {"learning/by_role/p_rate", {"role"}, "1", "p value of r_rate"},
      {"learning_curve/first_trial", {"block"}, "1", "first trial of the block"},
      {"learning_curve/last_trial", {"block"}, "1", "last trial of the block"},
      {"learning_curve/start_frame", {"block"}, "1", "first frame of the block"},
      {"learning_curve/end_frame", {"block"}, "1", "last frame of the block"},
      {"learning_curve/trials", {"block"}, "1", "trials in the block"},
      {"learning_curve/hits", {"block"}, "1", "hits in the block"},
      {"learning_curve/hits_per_min", {"block"}, "1/min", "hit rate of the block"},
  };
  const std::vector<DatasetSchema> models = {
      {"neurons/sd_model", {"neuron"}, "1", "SD model the residuals are relative to (saturating: a x / (x + b))",
       "0=linear;1=proportional (through the origin);2=saturating;-1=no fit"},
      {"neurons/sd_param_a", {"neuron"}, "1", "SD model parameter a: linear intercept; 0 for proportional; saturating plateau (dF/F)"},
      {"neurons/sd_param_b", {"neuron"}, "1",
       "SD model parameter b: slope (linear, proportional); half-saturation somatic amplitude (saturating, dF/F)"},
      {"neurons/sd_aic", {"neuron", "model"}, "1", "AIC of the linear, proportional and saturating SD models (NaN unless --sd-fit aic)"},
      {"neurons/sd_reference_events", {"neuron"}, "1", "events the SD fit used (the reference condition's with --reference-condition)"},
      {"neurons/n_soma_only", {"neuron"}, "1", "somatic events without a dendritic event or threshold crossing in the window; -1 unpaired"},
      {"neurons/n_dendrite_only", {"neuron"}, "1", "dendritic events outside every somatic event's window; -1 unpaired"},
      {"neurons/n_coincident", {"neuron"}, "1",
       "somatic events with a dendritic event, or the dendrite above its own threshold, in the window; -1 unpaired"},
      {"events/coincident", {"event"}, "1", "coincidence of the somatic event with a dendritic one",
       "1=coincident;0=soma-only;-1=no paired dendrite"},
      {"events/{column}", {"event"}, "1", "an extra column of bci/frames.csv (e.g. opto) at the event's frame, as in the file"},
      {"conditions/values", {"condition"}, "1", "condition values (columns of the [neuron, condition] tables), as in frames.csv"},
      {"conditions/mean_residual", {"neuron", "condition"}, "1", "mean SD residual per neuron and condition (dF/F)"},
      {"conditions/n_events", {"neuron", "condition"}, "1", "events per neuron and condition"},
      {"conditions/test_value", {"test"}, "1", "each non-reference value compared with the reference"},
      {"conditions/mean_difference", {"test"}, "1", "mean over neurons of (mean residual at test_value - at the reference), dF/F"},
      {"conditions/n_neurons", {"test"}, "1", "neurons with events in both conditions"},
      {"conditions/paired_t", {"test"}, "1", "paired t statistic over neurons"},
      {"conditions/paired_p", {"test"}, "1", "two-sided p of the paired t-test (n_neurons - 1 df)"},
      {"conditions/permutation_p", {"test"}, "1", "two-sided p from shuffling condition labels among each neuron's events"},
      {"conditions/neuron_difference", {"neuron", "test"}, "1",
       "per neuron: mean residual at test_value minus at the reference, dF/F (NaN unless both)"},
      {"sensitivity/threshold_scale", {"setting"}, "1", "event threshold relative to --event-threshold"},
      {"sensitivity/threshold", {"setting"}, "1", "event threshold used (noise SDs, or filtered-trace SDs for the paper method)"},
      {"sensitivity/window_s", {"setting"}, "s", "window of d_error and reward"},
      {"sensitivity/n_events", {"setting"}, "1", "events in the pooled model"},
      {"sensitivity/beta_role_d_error", {"setting"}, "1", "pooled role:d_error coefficient (dF/F per position)"},
      {"sensitivity/p_role_d_error", {"setting"}, "1", "its p (Student t)"},
      {"sensitivity/perm_p_role_d_error", {"setting"}, "1", "its circular-shift permutation p"},
      {"sensitivity/beta_role_reward", {"setting"}, "1", "pooled role:reward coefficient (dF/F)"},
      {"sensitivity/p_role_reward", {"setting"}, "1", "its p (Student t)"},
      {"sensitivity/perm_p_role_reward", {"setting"}, "1", "its circular-shift permutation p"},
      {"decoding_time/bin_start_s", {"bin"}, "s", "bin start relative to the outcome frame"},
      {"decoding_time/bin_end_s", {"bin"}, "s", "bin end (exclusive) relative to the outcome frame"},
      {"decoding_time/trials_with_events", {"bin"}, "1", "trials with at least one event in the bin"},
      {"decoding_time/balanced_accuracy", {"bin", "classifier"}, "1", "cross-validated balanced accuracy (columns: logistic, linear SVM)"},
      {"decoding_time/shuffle_mean", {"bin", "classifier"}, "1", "mean balanced accuracy over label shuffles"},
      {"decoding_time/shuffle_lo", {"bin", "classifier"}, "1", "2.5 % quantile over label shuffles"},
      {"decoding_time/shuffle_hi", {"bin", "classifier"}, "1", "97.5 % quantile over label shuffles"},
      {"decoding_time/p", {"bin", "classifier"}, "1", "upper-tail shuffle p"},
      {"error_reducing/role", {"role"}, "1", "role of the row", kRole},
      {"error_reducing/n", {"role"}, "1", "events with d_error < 0 and a residual"},
      {"error_reducing/beta", {"role"}, "1", "slope of the residual on d_error within error-reducing epochs (dF/F per position)"},
      {"error_reducing/se", {"role"}, "1", "its standard error"},
      {"error_reducing/p", {"role"}, "1", "its two-sided p (Student t)"},
  };
  d.insert(d.end(), models.begin(), models.end());
  for (auto& e : regress_glm("glm", "per-neuron GLM residual ~ terms")) d.push_back(e);
  for (auto& e : regress_glm("pooled", "pooled GLM with role interactions")) d.push_back(e);
  return s;
}

FileSchema make_truth() {
  FileSchema s{"truth.h5", "apical simulate", "ground truth of a simulated session", {}};
  auto& d = s.datasets;
  d = roi_masks("every true ROI");
  d.push_back({"timestamps", {"time"}, "s", kTimestamps});
  for (auto& e : pairs("true pairs")) d.push_back(e);
  const std::vector<DatasetSchema> more = {
      {"plane{k}/shifts", {"time", "axis"}, "px", "true rigid shift (dy, dx) of each frame: reference content at (y, x) appears in the raw frame at (y + dy, x + dx)"},
      {"plane{k}/dff", {"roi", "time"}, "1", "true dF/F of each ROI"},
      {"plane{k}/baseline_f0", {"roi"}, "counts", "true baseline fluorescence"},
      {"plane{k}/neuropil_coef", {"roi"}, "1", "true neuropil contamination coefficient"},
      {"plane{k}/static_image", {"y", "x"}, "counts", "the field without activity or motion"},
      {"plane{k}/nonrigid_basis", {"basis", "parameter"}, "1",
       "smooth non-rigid deformation basis fields: (ky, kx, phase_y, phase_x) each (empty: rigid)"},
      {"plane{k}/nonrigid_coef", {"basis", "time"}, "1", "coefficient of each basis field per frame"},
      {"events/neuron", {"event"}, "1", "neuron of each true somatic event"},
      {"events/frame", {"event"}, "1", "frame of the event"},
      {"events/reward", {"event"}, "1", "reward within the window", "0=no reward;1=reward"},
      {"events/d_error", {"event"}, "1", "change of error over the window (cursor positions)"},
      {"events/soma_amplitude", {"event"}, "1", "true somatic amplitude (dF/F)"},
      {"events/dendrite_amplitude", {"event"}, "1", "true dendritic amplitude (dF/F)"},
      {"events/residual", {"event"}, "1", "true SD residual (dF/F)"},
      {"neurons/soma_roi", {"neuron"}, "1", "soma ROI of each neuron"},
      {"neurons/role", {"neuron"}, "1", "causal role", kRole},
      {"neurons/sd_gain", {"neuron"}, "1", "true SD slope"},
      {"neurons/beta_reward", {"neuron"}, "1", "true effect of reward on the residual (dF/F)"},
      {"neurons/beta_derr", {"neuron"}, "1", "true effect of d_error on the residual (dF/F per position)"},
      {"opto/stimulated", {"time"}, "1", "1 on frames where the opto light was on (frames of stimulated trials)", "0=off;1=on"},
      {"opto/trial_stimulated", {"trial"}, "1", "1 for each stimulated trial, in trials.csv order", "0=not stimulated;1=stimulated"},
      {"opto/event_opto", {"event"}, "1", "1 for each /events row whose onset frame was stimulated", "0=off;1=on"},
      {"opto/event_shift", {"event"}, "1",
       "per /events row: dendritic amplitude minus the amplitude it would have had unstimulated (dF/F)"},
  };
  d.insert(d.end(), more.begin(), more.end());
  return s;
}

std::string plane_pattern(const std::string& path) {
  static const std::regex plane(R"(^plane[0-9]+/)");
  return std::regex_replace(path, plane, "plane{k}/");
}

std::string joined(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

}  // namespace

const FileSchema& registered_schema() { static const FileSchema s = make_registered(); return s; }
const FileSchema& rois_schema() { static const FileSchema s = make_rois(); return s; }
const FileSchema& traces_schema() { static const FileSchema s = make_traces(); return s; }
const FileSchema& regress_schema() { static const FileSchema s = make_regress(); return s; }
const FileSchema& truth_schema() { static const FileSchema s = make_truth(); return s; }
std::vector<const FileSchema*> all_schemas() {
  return {&registered_schema(), &rois_schema(), &traces_schema(), &regress_schema(), &truth_schema()};
}

const DatasetSchema* find_dataset_schema(const FileSchema& schema, const std::string& path) {
  const std::string pattern = plane_pattern(path);
  for (const DatasetSchema& d : schema.datasets)
    if (d.path == pattern) return &d;
  // "group/{column}": any other dataset directly in that group (named by the user's data).
  const size_t slash = pattern.rfind('/');
  if (slash == std::string::npos) return nullptr;
  for (const DatasetSchema& d : schema.datasets)
    if (d.path == pattern.substr(0, slash) + "/{column}") return &d;
  return nullptr;
}

void describe_datasets(h5::Group& root, const FileSchema& schema) {
  root.set_attribute("description", schema.file + ": " + schema.description);
  for (const std::string& path : root.dataset_paths()) {
    const DatasetSchema* d = find_dataset_schema(schema, path);
    if (!d) throw std::logic_error("internal: dataset " + path + " of " + schema.file + " has no schema entry (io/schema.cpp)");
    h5::Dataset dataset = root.dataset(path);
    dataset.set_attribute("units", d->units);
    dataset.set_attribute("description", d->description);
    // Labels the writer gave (codes that depend on who made the file, e.g. an import's
    // rejection) are the file's own; the schema's are the default.
    if (!d->labels.empty() && !dataset.string_attribute("labels")) dataset.set_attribute("labels", d->labels);
    dataset.set_dimension_labels(d->dims);
  }
}

Timebase read_timebase(const std::string& apical_file) {
  Timebase t;
  h5::File file = h5::File::open_read(apical_file);
  const h5::Group root = file.root();
  t.frames = int64_t(root.number_attribute("frames").value_or(0));
  t.frame_rate_hz = root.number_attribute("frame_rate_hz").value_or(0);
  if (!(t.frame_rate_hz > 0) && root.has("plane0"))
    t.frame_rate_hz = root.group("plane0").number_attribute("frame_rate_hz").value_or(0);
  t.pixel_size_um = root.number_attribute("pixel_size_um").value_or(0);
  if (root.has("timestamps")) t.times_s = root.read<double>("timestamps");
  return t;
}

Timebase timebase_of_inputs(const std::vector<std::string>& inputs) {
  for (const std::string& input : inputs) {
    if (input.size() < 3 || input.compare(input.size() - 3, 3, ".h5") != 0) continue;
    if (H5Fis_hdf5(input.c_str()) <= 0) continue;
    Timebase t = read_timebase(input);
    if (t.frames > 0) return t;
  }
  return {};
}

void describe_output(h5::Group& root, const FileSchema& schema, const Timebase& timebase) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  root.set_attribute("frame_rate_hz", timebase.frame_rate_hz > 0 ? timebase.frame_rate_hz : nan);
  root.set_attribute("pixel_size_um", timebase.pixel_size_um > 0 ? timebase.pixel_size_um : nan);
  if (find_dataset_schema(schema, "timestamps") && timebase.frames > 0) {
    std::vector<double> times = timebase.times_s;
    if (times.size() != size_t(timebase.frames)) {
      times.assign(size_t(timebase.frames), nan);
      if (timebase.frame_rate_hz > 0)
        for (size_t i = 0; i < times.size(); ++i) times[i] = double(i) / timebase.frame_rate_hz;
    }
    root.write("timestamps", times);
  }
  describe_datasets(root, schema);
}

std::string schema_markdown() {
  std::ostringstream out;
  for (const FileSchema* s : all_schemas()) {
    out << "## `" << s->file << "` (" << s->written_by << ")\n\n" << s->description << ".\n\n";
    out << "| dataset | dimensions | units | description |\n|---|---|---|---|\n";
    for (const DatasetSchema& d : s->datasets) {
      std::string text = d.description;
      if (!d.labels.empty()) text += " (" + d.labels + ")";
      out << "| `" << d.path << "` | " << joined(d.dims, " × ") << " | " << d.units << " | " << text << " |\n";
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace apical
