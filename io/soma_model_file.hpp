#pragma once
// The soma template's weights as a JSON file (written by scripts/train_soma_model.py --json):
//   {"feature_mean": [...], "feature_scale": [...], "weights": [...], "bias": b}
// The same numbers segment_soma_model.hpp builds in; a file lets a model fitted on one part
// of a field be scored on another (scripts/heldout_rois.py).
#include <string>
#include <vector>

namespace apical {

// Weights of the soma template (pipeline/segment/segment_anatomy.hpp): per feature, its mean
// and scale on the data it was fitted to and its logistic-regression weight, and the bias.
// Empty: the model built into apical.
struct SomaModel {
  std::vector<float> feature_mean, feature_scale, weights;
  float bias = 0;
  bool builtin() const { return weights.empty(); }
};

// InputError naming the file: unreadable, not JSON, a list missing or of unequal lengths, a
// scale that is not positive, a value that is not finite.
SomaModel read_soma_model(const std::string& path);

}  // namespace apical
