// Placeholder until the segment stage lands: scores nothing yet (apical evaluate skips it).
#include "pipeline/evaluate.hpp"

namespace apical {
std::vector<ScoreRow> score_segmentation(const Truth&, const std::string&) { return {}; }
}  // namespace apical
