// Placeholder until the extract stage lands: scores nothing yet (apical evaluate skips it).
#include "pipeline/evaluate.hpp"

namespace apical {
std::vector<ScoreRow> score_extraction(const Truth&, const std::string&, const std::string&) { return {}; }
}  // namespace apical
