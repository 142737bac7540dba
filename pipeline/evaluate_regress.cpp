// Placeholder until the regress stage lands: scores nothing yet (apical evaluate skips it).
#include "pipeline/evaluate.hpp"

namespace apical {
std::vector<ScoreRow> score_regression(const Truth&, const std::string&) { return {}; }
}  // namespace apical
