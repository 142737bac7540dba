// The published event detector (--event-method paper): its Butterworth filter against
// scipy's, its peak finder against find_peaks' definitions, and its events against the
// simulator's somatic events.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "io/error.hpp"
#include "pipeline/validation/simulate.hpp"
#include "stats/butterworth.hpp"
#include "stats/events_paper.hpp"

using namespace apical;
using namespace apical::stats;

TEST_CASE("Butterworth high-pass coefficients equal scipy.signal.butter(2, 0.125, 'high')", "[events_paper]") {
  // scipy 1.10: butter(2, 0.125, 'high', output='sos') = [0.75707638 -1.51415275 0.75707638 1 -1.45424359 0.57406192]
  const std::vector<Biquad> s = butterworth_highpass(2, 0.125);
  REQUIRE(s.size() == 1);
  CHECK(s[0].b0 == Approx(0.75707638).epsilon(1e-7));
  CHECK(s[0].b1 == Approx(-1.51415275).epsilon(1e-7));
  CHECK(s[0].b2 == Approx(0.75707638).epsilon(1e-7));
  CHECK(s[0].a1 == Approx(-1.45424359).epsilon(1e-7));
  CHECK(s[0].a2 == Approx(0.57406192).epsilon(1e-7));
}

TEST_CASE("Butterworth high-pass of order 2 and 4: -3 dB at the cut-off, 0 at DC, 1 at Nyquist", "[events_paper]") {
  for (int order : {2, 4}) {
    const std::vector<Biquad> s = butterworth_highpass(order, 0.125);
    CHECK(magnitude_response(s, 0.125) == Approx(1.0 / std::sqrt(2.0)).epsilon(1e-9));
    CHECK(magnitude_response(s, 0.0) == Approx(0.0).margin(1e-12));
    CHECK(magnitude_response(s, 1.0) == Approx(1.0).epsilon(1e-9));
    // Maximally flat: order 4 falls twice as steeply (in dB) an octave below the cut-off.
    CHECK(20 * std::log10(magnitude_response(s, 0.0625)) == Approx(-10 * std::log10(1 + std::pow(2.0, 2 * order))).epsilon(0.02));
  }
  CHECK_THROWS_AS(butterworth_highpass(3, 0.1), InputError);
  CHECK_THROWS_AS(butterworth_highpass(2, 1.0), InputError);
}

TEST_CASE("filtfilt equals scipy.signal.sosfiltfilt on a sine plus a ramp", "[events_paper]") {
  arma::vec x(40);
  for (int i = 0; i < 40; ++i) x[i] = std::sin(0.3 * i) + 0.05 * i;
  const arma::vec y = filtfilt(butterworth_highpass(2, 0.125), x);
  // scipy 1.10 sosfiltfilt(butter(2, 0.125, 'high', output='sos'), x)
  const double head[] = {-0.02604024, 0.0539432, 0.12711285, 0.18684341, 0.22799717, 0.24723664, 0.24322193, 0.21666776};
  for (int i = 0; i < 8; ++i) CHECK(y[i] == Approx(head[i]).margin(1e-7));
  CHECK(y[37] == Approx(-0.26244466).margin(1e-7));
  CHECK(y[38] == Approx(-0.17477462).margin(1e-7));
  CHECK(y[39] == Approx(-0.02696588).margin(1e-7));
}

TEST_CASE("find_peaks keeps the higher of two close peaks and measures prominence to the higher base", "[events_paper]") {
  arma::fvec x = {0, 1, 0, 5, 2, 3, 0, 0, 4, 1, 0};
  // Distance 3: peak 5 (frame 3) suppresses frame 1 and frame 5; frame 8 is 5 frames away.
  const Peaks p = find_peaks(x, 3, 0.0);
  REQUIRE(p.index == std::vector<int64_t>{3, 8});
  CHECK(p.prominence[0] == Approx(5.0));  // bases 0 (left, frame 0) and 0 (right, frame 6)
  CHECK(p.prominence[1] == Approx(4.0));
  CHECK(find_peaks(x, 3, 4.5).index == std::vector<int64_t>{3});
}

namespace {

// Each true event's peak: the clean trace's maximum between its onset and the next onset
// (at most 1 s later), as apical evaluate scores extract's events.
std::vector<int64_t> true_peaks(const std::vector<int64_t>& onsets, const arma::frowvec& clean, double rate) {
  std::vector<int64_t> peaks;
  const int64_t T = int64_t(clean.n_elem), reach = int64_t(std::lround(rate));
  for (size_t e = 0; e < onsets.size(); ++e) {
    int64_t end = std::min(T, onsets[e] + reach);
    if (e + 1 < onsets.size()) end = std::min(end, std::max(onsets[e] + 1, onsets[e + 1]));
    int64_t best = onsets[e];
    for (int64_t t = onsets[e]; t < end; ++t)
      if (clean[t] > clean[best]) best = t;
    peaks.push_back(best);
  }
  return peaks;
}

int one_to_one_hits(const std::vector<Event>& found, const std::vector<int64_t>& truth, int64_t tolerance) {
  std::vector<bool> used(found.size(), false);
  int hits = 0;
  for (int64_t t : truth) {
    int best = -1;
    for (size_t d = 0; d < found.size(); ++d) {
      if (used[d] || std::llabs(found[d].frame - t) > tolerance) continue;
      if (best < 0 || std::llabs(found[d].frame - t) < std::llabs(found[size_t(best)].frame - t)) best = int(d);
    }
    if (best >= 0) used[size_t(best)] = true, ++hits;
  }
  return hits;
}

}  // namespace

TEST_CASE("the published detector finds the simulator's somatic events with F1 >= 0.9", "[events_paper]") {
  // The simulator's clean somatic dF/F (events 0.3-3, median 0.9 dF/F; decay 0.5-1 s) plus
  // white noise of 0.05 dF/F (3x the 0.016 of the sample session's extracted soma traces). The published detector is less robust to noise than apical's
  // default one (its threshold is an SD of the whole filtered trace, its high-pass keeps
  // mostly the noise band): at k = 3, F1 is 0.96 at 0.03, 0.92 at 0.05, 0.81 at 0.07 dF/F.
  SimulationParams sp;
  sp.frames = 9000;  // 5 min at 30 Hz
  sp.neurons = 20;
  sp.distractors = 0;
  const SimulatedSession s = simulate_session(sp);
  PaperEventParams p;
  p.frame_rate_hz = sp.frame_rate_hz;
  const int64_t tolerance = int64_t(std::lround(0.25 * sp.frame_rate_hz));  // 0.25 s: argmax of a noisy top
  std::mt19937_64 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  int hits = 0, found = 0, truth = 0;
  for (const SimulatedNeuron& n : s.neurons) {
    const arma::frowvec clean = s.planes[0].dff.row(arma::uword(n.soma_roi));
    arma::fvec noisy = clean.t();
    for (float& v : noisy) v += noise(rng);
    std::vector<int64_t> onsets;
    for (const SimulatedEvent& e : s.events)
      if (e.neuron == n.soma_roi) onsets.push_back(e.frame);
    const std::vector<Event> events = detect_events_paper(noisy, p);
    const std::vector<int64_t> peaks = true_peaks(onsets, clean, sp.frame_rate_hz);
    hits += one_to_one_hits(events, peaks, tolerance);
    found += int(events.size());
    truth += int(peaks.size());
  }
  const double f1 = 2.0 * hits / double(found + truth);
  INFO("hits " << hits << " found " << found << " true " << truth << " F1 " << f1);
  CHECK(f1 >= 0.9);
}

TEST_CASE("the published detector measures amplitude from the trough before to the maximum after", "[events_paper]") {
  PaperEventParams p;
  p.frame_rate_hz = 30;
  arma::fvec x(300, arma::fill::value(0.1f));
  for (int i = 0; i < 60; ++i) x[150 + i] += 1.5f * std::exp(-i / 20.0f) * (1 - std::exp(-i / 1.5f));
  const std::vector<Event> e = detect_events_paper(x, p);
  REQUIRE(e.size() == 1);
  CHECK(e[0].amplitude == Approx(x.max() - 0.1f).epsilon(1e-6));
  CHECK(e[0].frame == int64_t(x.index_max()));
  CHECK(e[0].base_frame <= 150);
  arma::fvec bad = x;
  bad[3] = NAN;
  CHECK_THROWS_AS(detect_events_paper(bad, p), InputError);
}
