// --sensitivity (issue 14 §4): the pooled role x d_error interaction over the grid of event
// thresholds and analysis windows, on the simulator's effect session.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "pipeline/regress/regress.hpp"
#include "pipeline/validation/simulate.hpp"
#include "pipeline/validation/truth.hpp"
#include "simulated_analysis.hpp"

using namespace apical;

TEST_CASE("the sign of role x d_error holds in every sensitivity setting on the effect session", "[sensitivity]") {
  // The simulator's default effect (c_derr = -0.15 dF/F per position, role-signed): 10 min,
  // 4 P+ and 4 P- among 16 paired neurons; clean dF/F plus 0.03 dF/F white noise.
  SimulationParams sp;
  sp.frames = 18000;
  sp.neurons = 16;
  sp.distractors = 0;
  sp.seed = 21;
  const test::SimulatedAnalysis s = test::simulated_analysis(sp);
  RegressParams p;
  p.frame_rate_hz = sp.frame_rate_hz;
  p.permutations = 100;
  p.network_shuffles = 0;
  p.decoding_shuffles = 0;
  p.sensitivity = true;
  for (const std::string method : {"apical", "paper"}) {
    p.event_method = method;
    const RegressResult r = analyze_session(s.soma, s.dendrite, s.neurons, s.log, p);
    const auto& S = r.sensitivity;
    REQUIRE(S.window_s.size() == 9);
    for (size_t i = 0; i < S.window_s.size(); ++i) {
      INFO(method << ": threshold x" << S.threshold_scale[i] << ", window " << S.window_s[i] << " s: beta "
                  << S.beta_role_d_error[i] << ", p " << S.p_role_d_error[i] << ", perm p " << S.perm_p_role_d_error[i]);
      CHECK(S.beta_role_d_error[i] < 0);  // c_derr < 0: P+ attenuate, P- amplify when the error grows
      CHECK(S.p_role_d_error[i] < 0.05);
    }
    // The default setting's row equals the main analysis.
    for (size_t i = 0; i < S.window_s.size(); ++i)
      if (S.threshold_scale[i] == 1.0 && S.window_s[i] == 1.0) CHECK(S.beta_role_d_error[i] == r.pooled_beta[7]);
  }
}
