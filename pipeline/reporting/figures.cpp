#include "pipeline/reporting/figures.hpp"
#include "core/numeric.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <sstream>

#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "pipeline/reporting/plot.hpp"
#include "stats/sd_fit.hpp"

namespace apical {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Roles in plotting order, with fixed colours so every panel reads the same way.
struct RoleStyle {
  int role;
  const char* name;
  int colour;  // palette index
};
constexpr RoleStyle kRoles[] = {{1, "P+", 1}, {-1, "P-", 0}, {0, "other", 2}};

const char* role_name(int role) { return role > 0 ? "P+" : role < 0 ? "P-" : "other"; }

// A CSV file written under a temporary name and renamed when complete.
class CsvWriter {
 public:
  CsvWriter(const std::string& path, const std::string& header) : out_(path, true) {
    text_ << std::setprecision(10) << header << "\n";
  }
  std::ostream& row() { return text_; }
  void commit() {
    out_.write(text_.str());
    out_.commit();
  }

 private:
  AtomicOutput out_;
  std::ostringstream text_;  // tables are small; written whole so every write is checked
};

// "nan" is what numpy/pandas read back as NaN.
std::string num(double v) {
  if (!std::isfinite(v)) return "nan";
  std::ostringstream s;
  s << std::setprecision(10) << v;
  return s.str();
}

struct Fit {
  double slope = kNaN, intercept = kNaN;
};
Fit line_fit(const std::vector<double>& x, const std::vector<double>& y) {
  double n = 0, mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) { n += 1; mx += x[i]; my += y[i]; }
  if (n < 2) return {};
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); }
  if (!(sxx > 0)) return {};
  Fit f;
  f.slope = sxy / sxx;
  f.intercept = my - f.slope * mx;
  return f;
}

// Line series of y = intercept + slope * x over [lo, hi].
plot::Series fit_line(const std::string& label, const Fit& f, double lo, double hi, int colour) {
  return plot::make_series(label, {lo, hi}, {f.intercept + f.slope * lo, f.intercept + f.slope * hi}, plot::Series::line,
                           colour);
}

std::pair<double, double> finite_range(const std::vector<double>& v) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double x : v)
    if (std::isfinite(x)) { lo = std::min(lo, x); hi = std::max(hi, x); }
  if (!(lo <= hi)) return {0, 1};
  if (lo == hi) return {lo - 0.5, hi + 0.5};
  return {lo, hi};
}

struct Writer {
  std::string folder;
  std::vector<FigureOutput> outputs;
  // PNG, PDF and SVG of the panel, drawn by cairo with real fonts.
  void png(const std::string& panel, const plot::Picture& picture, const std::string& csv) {
    const plot::FigureFiles files = plot::write_figure((fs::path(folder) / panel).string(), picture);
    outputs.push_back({panel, csv, files.png, files.pdf, files.svg});
  }
  std::string csv_path(const std::string& panel) const { return (fs::path(folder) / (panel + ".csv")).string(); }
};

// ------------------------------------------------------------------ panels

void learning_curve(const std::vector<FigureSession>& sessions, Writer& w) {
  const std::string csv = w.csv_path("learning_curve");
  CsvWriter table(csv, "session,block,first_trial,last_trial,trials,hits,start_min,end_min,hits_per_min");
  plot::Axes a;
  a.title = "Learning curve: hit rate per block of trials";
  a.x_label = "time in session (min), block midpoint";
  a.y_label = "hit rate (hits/min)";
  a.y_min = 0;
  for (size_t s = 0; s < sessions.size(); ++s) {
    const RegressFile& f = sessions[s].data;
    const double per_min = f.frame_rate_hz * 60.0;
    std::vector<double> x, y;
    for (size_t b = 0; b < f.result.learning_curve.size(); ++b) {
      const auto& k = f.result.learning_curve[b];
      const double start = double(k.start_frame) / per_min, end = double(k.end_frame + 1) / per_min;
      table.row() << sessions[s].label << "," << b << "," << k.first_trial << "," << k.last_trial << "," << k.trials << ","
                  << k.hits << "," << num(start) << "," << num(end) << "," << num(k.hits_per_min) << "\n";
      x.push_back(0.5 * (start + end));
      y.push_back(k.hits_per_min);
    }
    a.series.push_back(plot::make_series(sessions[s].label, x, y, plot::Series::line_points, int(s)));
  }
  a.legend = true;
  table.commit();
  w.png("learning_curve", plot::render(a), csv);
}

// Several sessions: each session's overall hit rate, in the order given (e.g. days).
void learning_curve_sessions(const std::vector<FigureSession>& sessions, Writer& w) {
  const std::string csv = w.csv_path("learning_curve_sessions");
  CsvWriter table(csv, "session_index,session,trials,hits,minutes,hits_per_min");
  plot::Axes a;
  a.title = "Hit rate across sessions";
  a.x_label = "session";
  a.y_label = "hit rate (hits/min)";
  a.y_min = 0;
  std::vector<double> x, y;
  for (size_t s = 0; s < sessions.size(); ++s) {
    const RegressFile& f = sessions[s].data;
    int trials = 0, hits = 0;
    for (const auto& b : f.result.learning_curve) {
      trials += b.trials;
      hits += b.hits;
    }
    const double minutes = double(f.result.frames) / f.frame_rate_hz / 60.0;
    const double rate = minutes > 0 ? hits / minutes : kNaN;
    table.row() << s << "," << sessions[s].label << "," << trials << "," << hits << "," << num(minutes) << ","
                << num(rate) << "\n";
    x.push_back(double(s));
    y.push_back(rate);
    a.x_category_labels.push_back(sessions[s].label);
  }
  double top = 0;
  for (double v : y)
    if (std::isfinite(v)) top = std::max(top, v);
  if (top > 0) a.y_max = top * 1.15;  // the highest session's marker stays inside the axes
  a.series.push_back(plot::make_series("", x, y, plot::Series::line_points, 0));
  table.commit();
  w.png("learning_curve_sessions", plot::render(a), csv);
}

void sd_scatter(const std::vector<FigureSession>& sessions, Writer& w) {
  const std::string csv = w.csv_path("sd_scatter");
  CsvWriter table(csv,
                  "session,neuron,soma_roi,dendrite_roi,role,frame,soma_amplitude,dendrite_amplitude,sd_slope,"
                  "sd_intercept,residual");
  plot::Axes a;
  a.title = "Somato-dendritic relation: one fit line per neuron";
  a.x_label = "somatic event amplitude (ΔF/F)";
  a.y_label = "dendritic amplitude (ΔF/F)";
  std::map<int, std::pair<std::vector<double>, std::vector<double>>> points;
  std::vector<plot::Series> fits;
  for (const auto& session : sessions) {
    const RegressResult& R = session.data.result;
    const EventTable& ev = R.events;
    std::vector<double> lo(R.soma_roi.size(), std::numeric_limits<double>::infinity()), hi(R.soma_roi.size(), -lo[0]);
    for (size_t i = 0; i < ev.size(); ++i) {
      const size_t n = size_t(ev.neuron[i]);
      if (!std::isfinite(ev.residual[i])) continue;  // only events of neurons with an SD fit
      table.row() << session.label << "," << n << "," << R.soma_roi[n] << "," << R.dendrite_roi[n] << ","
                  << role_name(R.role[n]) << "," << ev.frame[i] << "," << num(ev.soma_amplitude[i]) << ","
                  << num(ev.dendrite_amplitude[i]) << "," << num(R.sd_slope[n]) << "," << num(R.sd_intercept[n]) << ","
                  << num(ev.residual[i]) << "\n";
      points[R.role[n]].first.push_back(ev.soma_amplitude[i]);
      points[R.role[n]].second.push_back(ev.dendrite_amplitude[i]);
      lo[n] = std::min(lo[n], ev.soma_amplitude[i]);
      hi[n] = std::max(hi[n], ev.soma_amplitude[i]);
    }
    for (size_t n = 0; n < R.soma_roi.size(); ++n) {
      if (!std::isfinite(R.sd_slope[n]) || !(lo[n] < hi[n])) continue;
      const int colour = R.role[n] > 0 ? 1 : R.role[n] < 0 ? 0 : 2;
      fits.push_back(fit_line("", {R.sd_slope[n], R.sd_intercept[n]}, lo[n], hi[n], colour));
    }
  }
  // Points of "other" first so the few ensemble neurons stay visible on top.
  for (int role : {0, -1, 1}) {
    const RoleStyle& st = *std::find_if(std::begin(kRoles), std::end(kRoles), [&](const RoleStyle& r) { return r.role == role; });
    auto& p = points[role];
    a.series.push_back(plot::make_series(std::string(st.name) + " events (n=" + std::to_string(p.first.size()) + ")",
                                         p.first, p.second, plot::Series::points, st.colour));
  }
  for (auto& f : fits) a.series.push_back(std::move(f));
  a.legend = true;
  table.commit();
  w.png("sd_scatter", plot::render(a), csv);
}

void residual_by_role_outcome(const std::vector<FigureSession>& sessions, Writer& w) {
  std::map<std::pair<int, int>, std::vector<double>> groups;  // (role, outcome) -> residuals
  std::vector<double> all;
  for (const auto& session : sessions) {
    const RegressResult& R = session.data.result;
    for (size_t i = 0; i < R.events.size(); ++i) {
      if (!std::isfinite(R.events.residual[i]) || R.events.outcome[i] < 0) continue;
      groups[{R.role[size_t(R.events.neuron[i])], R.events.outcome[i]}].push_back(R.events.residual[i]);
      all.push_back(R.events.residual[i]);
    }
  }
  // Common bins over the central 99 % so one outlier does not squash the densities.
  double lo = quantile(all, 0.005), hi = quantile(all, 0.995);
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi)) { lo = -1; hi = 1; }
  const int bins = 30;
  const std::string csv = w.csv_path("residual_by_role_outcome");
  CsvWriter table(csv, "role,outcome,n,mean_residual,bin_lo,bin_hi,count,density");
  std::vector<plot::Axes> panels;
  for (const RoleStyle& st : kRoles) {
    plot::Axes a;
    a.title = std::string(st.name) + " neurons";
    a.x_label = "SD residual (ΔF/F)";
    a.y_label = "density (1/(ΔF/F))";
    a.y_min = 0;
    std::string note;
    for (int outcome : {1, 0}) {
      const auto& v = groups[{st.role, outcome}];
      const char* name = outcome ? "hit trials" : "miss trials";
      double mean = kNaN;
      if (!v.empty()) {
        mean = 0;
        for (double x : v) mean += x;
        mean /= double(v.size());
      }
      const plot::Series counts = plot::histogram("", v, bins, lo, hi, false);
      const plot::Series density = plot::histogram(std::string(name) + " (n=" + std::to_string(v.size()) + ")", v, bins, lo,
                                                   hi, true, plot::Series::step);
      const double width = (hi - lo) / bins;
      for (size_t b = 0; b < counts.x.size(); ++b)
        table.row() << st.name << "," << (outcome ? "hit" : "miss") << "," << v.size() << "," << num(mean) << ","
                    << num(counts.x[b] - 0.5 * width) << "," << num(counts.x[b] + 0.5 * width) << "," << counts.y[b] << ","
                    << num(density.y[b]) << "\n";
      plot::Series s = density;
      s.colour = outcome ? 2 : 1;
      a.series.push_back(s);
      std::ostringstream m;
      m << std::setprecision(2) << (outcome ? "mean hit " : "  miss ") << mean;
      note += m.str();
    }
    a.note = note;
    a.legend = true;
    panels.push_back(a);
  }
  table.commit();
  w.png("residual_by_role_outcome", plot::render_grid(panels, 3, {520, 400}), csv);
}

void residual_vs_derror_by_role(const std::vector<FigureSession>& sessions, Writer& w) {
  const std::string csv = w.csv_path("residual_vs_derror_by_role");
  CsvWriter table(csv, "role,d_error,n,mean_residual,sem,fit_slope,fit_intercept");
  plot::Axes a;
  a.title = "SD residual vs error change, by role (mean ± SEM, OLS fit)";
  a.x_label = "Δerror: change in cursor-target distance over 1 s (positions)";
  a.y_label = "SD residual (ΔF/F)";
  a.zero_line = true;
  for (const RoleStyle& st : kRoles) {
    std::vector<double> x, y;
    for (const auto& session : sessions) {
      const RegressResult& R = session.data.result;
      for (size_t i = 0; i < R.events.size(); ++i)
        if (std::isfinite(R.events.residual[i]) && R.role[size_t(R.events.neuron[i])] == st.role) {
          x.push_back(R.events.d_error[i]);
          y.push_back(R.events.residual[i]);
        }
    }
    const Fit f = line_fit(x, y);
    std::map<double, std::vector<double>> by_value;  // d_error takes integer values
    for (size_t i = 0; i < x.size(); ++i) by_value[std::round(x[i])].push_back(y[i]);
    std::vector<double> bx, by, be;
    for (const auto& [value, ys] : by_value) {
      double m = 0, ss = 0;
      for (double v : ys) m += v;
      m /= double(ys.size());
      for (double v : ys) ss += (v - m) * (v - m);
      const double sem = ys.size() > 1 ? std::sqrt(ss / double(ys.size() - 1) / double(ys.size())) : kNaN;
      table.row() << st.name << "," << num(value) << "," << ys.size() << "," << num(m) << "," << num(sem) << ","
                  << num(f.slope) << "," << num(f.intercept) << "\n";
      if (ys.size() < 3) continue;  // too few events for a meaningful mean
      bx.push_back(value);
      by.push_back(m);
      be.push_back(std::isfinite(sem) ? sem : 0.0);
    }
    plot::Series s = plot::make_series(std::string(st.name) + " (n=" + std::to_string(x.size()) + ")", bx, by,
                                       plot::Series::points, st.colour);
    s.y_err = be;
    a.series.push_back(s);
    if (std::isfinite(f.slope) && !bx.empty()) {
      std::ostringstream label;
      label << st.name << " fit: slope " << std::setprecision(2) << f.slope;
      a.series.push_back(fit_line(label.str(), f, bx.front(), bx.back(), st.colour));
    }
  }
  a.legend = true;
  table.commit();
  w.png("residual_vs_derror_by_role", plot::render(a), csv);
}

void network_r2(const std::vector<FigureSession>& sessions, Writer& w) {
  const std::string csv = w.csv_path("network_r2");
  CsvWriter table(csv, "session,neuron,soma_roi,role,r2,shuffle_mean,shuffle_p95,p");
  struct Row {
    std::string label;
    int role;
    double r2, mean, p95;
  };
  std::vector<Row> rows;
  for (const auto& session : sessions) {
    const RegressResult& R = session.data.result;
    for (size_t n = 0; n < R.soma_roi.size(); ++n) {
      table.row() << session.label << "," << n << "," << R.soma_roi[n] << "," << role_name(R.role[n]) << ","
                  << num(R.network_r2[n]) << "," << num(R.network_shuffle_mean[n]) << ","
                  << num(R.network_shuffle_p95[n]) << "," << num(R.network_p[n]) << "\n";
      if (std::isfinite(R.network_r2[n]))
        rows.push_back({session.label, R.role[n], R.network_r2[n], R.network_shuffle_mean[n], R.network_shuffle_p95[n]});
    }
  }
  table.commit();
  // Neurons sorted by observed R^2, so the plot reads as a ranked profile.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.r2 > b.r2; });
  plot::Axes a;
  a.title = "Network prediction of SD residuals (ridge, cross-validated)";
  a.x_label = "neuron rank (by observed R²)";
  a.y_label = "cross-validated R²";
  a.zero_line = true;
  std::vector<double> x, obs, mean, p95;
  int above = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    x.push_back(double(i + 1));
    obs.push_back(rows[i].r2);
    mean.push_back(rows[i].mean);
    p95.push_back(rows[i].p95);
    above += rows[i].r2 > rows[i].p95;
  }
  a.series.push_back(plot::make_series("observed", x, obs, plot::Series::bars, 0));
  a.series.push_back(plot::make_series("shuffled residuals: mean", x, mean, plot::Series::bars, 6));
  a.series.push_back(plot::make_series("shuffled residuals: 95th percentile", x, p95, plot::Series::points, 1));
  a.note = std::to_string(above) + " of " + std::to_string(rows.size()) + " neurons above the shuffle 95th percentile";
  a.legend = true;
  w.png("network_r2", plot::render(a), csv);
}

void decoding(const std::vector<FigureSession>& sessions, Writer& w) {
  const std::string csv = w.csv_path("decoding");
  CsvWriter table(csv, "session,kind,accuracy,chance,p,n_trials,n_features");
  std::vector<plot::Axes> panels;
  for (size_t s = 0; s < sessions.size(); ++s) {
    const auto& D = sessions[s].data.result.decoding;
    const std::string& label = sessions[s].label;
    table.row() << label << ",observed," << num(D.accuracy) << "," << num(D.chance) << "," << num(D.p) << "," << D.n_trials
                << "," << D.n_features << "\n";
    for (double v : D.shuffle_accuracy)
      table.row() << label << ",shuffle," << num(v) << "," << num(D.chance) << ",nan," << D.n_trials << ","
                  << D.n_features << "\n";
    plot::Axes a;
    a.title = sessions.size() > 1 ? "Decoding hit/miss: " + label : "Decoding trial outcome (hit/miss) from SD residuals";
    a.x_label = "cross-validated accuracy (fraction correct)";
    a.y_label = "shuffles (count)";
    a.x_min = 0;
    a.x_max = 1;
    a.y_min = 0;
    const plot::Series h =
        plot::histogram("shuffled labels (n=" + std::to_string(D.shuffle_accuracy.size()) + ")", D.shuffle_accuracy, 40, 0, 1, false);
    double top = 1;
    for (double v : h.y) top = std::max(top, v);
    plot::Series hs = h;
    hs.colour = 6;
    a.series.push_back(hs);
    // Head-room above the bars and the marker lines, so the legend covers neither.
    const double line_top = std::ceil(top * 1.15);
    a.y_max = std::ceil(top * 1.75);
    std::ostringstream obs, chance;
    obs << "observed " << std::setprecision(3) << D.accuracy;
    chance << "majority class " << std::setprecision(3) << D.chance;
    if (std::isfinite(D.accuracy))
      a.series.push_back(plot::make_series(obs.str(), {D.accuracy, D.accuracy}, {0, line_top}, plot::Series::line, 1));
    if (std::isfinite(D.chance))
      a.series.push_back(plot::make_series(chance.str(), {D.chance, D.chance}, {0, line_top}, plot::Series::line, 0));
    std::ostringstream note;
    note << D.n_trials << " trials, " << D.n_features << " neurons, p = " << std::setprecision(3) << D.p;
    a.note = note.str();
    a.legend = true;
    panels.push_back(a);
  }
  table.commit();
  w.png("decoding", panels.size() == 1 ? plot::render(panels[0]) : plot::render_grid(panels, std::min<int>(3, int(panels.size())), {560, 420}), csv);
}

void learning(const std::vector<FigureSession>& sessions, Writer& w) {
  const std::string csv = w.csv_path("learning");
  CsvWriter table(csv,
                  "session,neuron,soma_roi,role,early_residual,rate_early,rate_late,rate_change,amplitude_early,"
                  "amplitude_late,amplitude_change");
  plot::Axes a;
  a.title = "Early SD residual vs later change in activity, by role";
  a.x_label = "early SD residual: mean over the first third of the session (ΔF/F)";
  a.y_label = "rate change, late - early (events/min)";
  a.zero_line = true;
  std::map<int, std::pair<std::vector<double>, std::vector<double>>> by_role;
  for (const auto& session : sessions) {
    const RegressResult& R = session.data.result;
    for (size_t n = 0; n < R.soma_roi.size(); ++n) {
      const double dr = R.rate_late[n] - R.rate_early[n], da = R.amplitude_late[n] - R.amplitude_early[n];
      table.row() << session.label << "," << n << "," << R.soma_roi[n] << "," << role_name(R.role[n]) << ","
                  << num(R.early_residual[n]) << "," << num(R.rate_early[n]) << "," << num(R.rate_late[n]) << ","
                  << num(dr) << "," << num(R.amplitude_early[n]) << "," << num(R.amplitude_late[n]) << "," << num(da)
                  << "\n";
      if (std::isfinite(R.early_residual[n]) && std::isfinite(dr)) {
        by_role[R.role[n]].first.push_back(R.early_residual[n]);
        by_role[R.role[n]].second.push_back(dr);
      }
    }
  }
  for (const RoleStyle& st : kRoles) {
    const auto& [x, y] = by_role[st.role];
    a.series.push_back(plot::make_series(std::string(st.name) + " (n=" + std::to_string(x.size()) + ")", x, y,
                                         plot::Series::points, st.colour));
    const Fit f = line_fit(x, y);
    if (std::isfinite(f.slope) && x.size() >= 3) {
      const auto [lo, hi] = finite_range(x);
      a.series.push_back(fit_line("", f, lo, hi, st.colour));
    }
  }
  // Per-role Pearson r of the plotted points (pooled over sessions).
  std::ostringstream note;
  for (const RoleStyle& st : kRoles) {
    const auto& [x, y] = by_role[st.role];
    const Fit fx = line_fit(x, y), fy = line_fit(y, x);  // r^2 = slope_yx * slope_xy
    if (std::isfinite(fx.slope) && std::isfinite(fy.slope) && x.size() >= 3)
      note << st.name << " r=" << std::setprecision(2) << std::copysign(std::sqrt(std::max(0.0, fx.slope * fy.slope)), fx.slope)
           << "  ";
  }
  a.note = note.str();
  a.legend = true;
  table.commit();
  w.png("learning", plot::render(a), csv);
}

}  // namespace

std::string session_label(const std::string& regress_path) {
  const fs::path p = fs::absolute(fs::path(regress_path)).lexically_normal();
  if (p.parent_path().filename() == "apical" && p.parent_path().has_parent_path())
    return p.parent_path().parent_path().filename().string();
  return p.stem().string();
}

namespace {

// ------------------------------------------------------------------ conditions (issue 14 §1)

std::string condition_label(const std::string& column, double value) { return column + "=" + num(value); }

// The neuron's SD model (fitted on the reference events) as a curve over [lo, hi].
plot::Series model_curve(const RegressResult& R, size_t n, double lo, double hi, int colour) {
  stats::SdFit f;
  f.model = stats::SdModel::linear;
  f.a = R.sd_intercept[n];
  f.b = R.sd_slope[n];
  if (n < R.sd_model.size() && R.sd_model[n] >= 0) {
    f.model = stats::SdModel(R.sd_model[n]);
    f.a = R.sd_param_a[n];
    f.b = R.sd_param_b[n];
  }
  std::vector<double> x, y;
  for (int i = 0; i <= 20; ++i) {
    x.push_back(lo + (hi - lo) * i / 20.0);
    y.push_back(f.predict(x.back()));
  }
  return plot::make_series("", x, y, plot::Series::line, colour);
}

// Sessions analysed with --reference-condition on the same column, else none.
std::vector<const FigureSession*> condition_sessions(const std::vector<FigureSession>& sessions) {
  std::vector<const FigureSession*> out;
  for (const auto& s : sessions)
    if (!s.data.result.conditions.column.empty() && s.data.result.conditions.column == sessions[0].data.result.conditions.column)
      out.push_back(&s);
  return out;
}

void sd_scatter_by_condition(const std::vector<const FigureSession*>& sessions, Writer& w) {
  const std::string column = sessions[0]->data.result.conditions.column;
  const double reference = sessions[0]->data.result.conditions.reference;
  const std::string csv = w.csv_path("sd_scatter_by_condition");
  CsvWriter table(csv, "session,neuron,role," + column + ",reference,frame,soma_amplitude,dendrite_amplitude,residual");
  plot::Axes a;
  a.title = "SD relation: every condition on the reference fit (" + condition_label(column, reference) + ")";
  a.x_label = "somatic event amplitude (ΔF/F)";
  a.y_label = "dendritic amplitude (ΔF/F)";
  std::map<double, std::pair<std::vector<double>, std::vector<double>>> points;
  std::vector<plot::Series> curves;
  for (const FigureSession* session : sessions) {
    const RegressResult& R = session->data.result;
    const EventTable& ev = R.events;
    std::vector<double> lo(R.soma_roi.size(), std::numeric_limits<double>::infinity()), hi(R.soma_roi.size(), -lo[0]);
    for (size_t i = 0; i < ev.size(); ++i) {
      const size_t n = size_t(ev.neuron[i]);
      if (!std::isfinite(ev.residual[i])) continue;
      const double c = ev.columns[0][i];
      table.row() << session->label << "," << n << "," << role_name(R.role[n]) << "," << num(c) << ","
                  << (c == reference ? 1 : 0) << "," << ev.frame[i] << "," << num(ev.soma_amplitude[i]) << ","
                  << num(ev.dendrite_amplitude[i]) << "," << num(ev.residual[i]) << "\n";
      points[c].first.push_back(ev.soma_amplitude[i]);
      points[c].second.push_back(ev.dendrite_amplitude[i]);
      lo[n] = std::min(lo[n], ev.soma_amplitude[i]);
      hi[n] = std::max(hi[n], ev.soma_amplitude[i]);
    }
    for (size_t n = 0; n < R.soma_roi.size(); ++n)
      if (std::isfinite(R.sd_slope[n]) && lo[n] < hi[n]) curves.push_back(model_curve(R, n, lo[n], hi[n], 6));
  }
  int colour = 0;
  for (auto& [value, xy] : points) {
    const std::string name = condition_label(column, value) + (value == reference ? " (reference)" : "");
    a.series.push_back(plot::make_series(name + " (n=" + std::to_string(xy.first.size()) + ")", xy.first, xy.second,
                                         plot::Series::points, value == reference ? 5 : 1 + 2 * colour++));
  }
  for (auto& c : curves) a.series.push_back(std::move(c));
  a.legend = true;
  a.note = "black: each neuron's fit on the reference events";
  table.commit();
  w.png("sd_scatter_by_condition", plot::render(a), csv);
}

void residual_by_condition(const std::vector<const FigureSession*>& sessions, Writer& w) {
  const auto& C0 = sessions[0]->data.result.conditions;
  std::map<double, std::vector<double>> groups;
  std::vector<double> all;
  for (const FigureSession* session : sessions) {
    const EventTable& ev = session->data.result.events;
    for (size_t i = 0; i < ev.size(); ++i)
      if (std::isfinite(ev.residual[i])) groups[ev.columns[0][i]].push_back(ev.residual[i]), all.push_back(ev.residual[i]);
  }
  double lo = quantile(all, 0.005), hi = quantile(all, 0.995);
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi)) lo = -1, hi = 1;
  const int bins = 30;
  const std::string csv = w.csv_path("residual_by_condition");
  CsvWriter table(csv, C0.column + ",reference,n,mean_residual,bin_lo,bin_hi,count,density");
  plot::Axes a;
  a.title = "SD residual by condition (relative to the " + condition_label(C0.column, C0.reference) + " fit)";
  a.x_label = "SD residual (ΔF/F)";
  a.y_label = "density (1/(ΔF/F))";
  a.y_min = 0;
  a.zero_line = true;
  int colour = 0;
  for (const auto& [value, v] : groups) {
    double mean = 0;
    for (double x : v) mean += x;
    mean /= double(v.size());
    const plot::Series counts = plot::histogram("", v, bins, lo, hi, false);
    plot::Series density = plot::histogram(condition_label(C0.column, value) + " (n=" + std::to_string(v.size()) +
                                               ", mean " + num(std::round(mean * 1000) / 1000) + ")",
                                           v, bins, lo, hi, true, plot::Series::step);
    density.colour = value == C0.reference ? 5 : 1 + 2 * colour++;
    const double width = (hi - lo) / bins;
    for (size_t b = 0; b < counts.x.size(); ++b)
      table.row() << num(value) << "," << (value == C0.reference ? 1 : 0) << "," << v.size() << "," << num(mean) << ","
                  << num(counts.x[b] - 0.5 * width) << "," << num(counts.x[b] + 0.5 * width) << "," << counts.y[b] << ","
                  << num(density.y[b]) << "\n";
    a.series.push_back(std::move(density));
  }
  if (sessions.size() == 1 && !C0.mean_difference.empty()) {
    std::ostringstream note;
    note << std::setprecision(2) << "difference " << C0.mean_difference[0] << " ΔF/F, paired p " << C0.paired_p[0]
         << ", perm. p " << C0.permutation_p[0];
    a.note = note.str();
  }
  a.legend = true;
  table.commit();
  w.png("residual_by_condition", plot::render(a), csv);
}

// ------------------------------------------------------------------ sensitivity (issue 14 §4)

void sensitivity(const FigureSession& session, Writer& w) {
  const auto& S = session.data.result.sensitivity;
  const std::string csv = w.csv_path("sensitivity");
  CsvWriter table(csv, "session,threshold_scale,threshold,window_s,n_events,beta_role_d_error,p_role_d_error,"
                       "perm_p_role_d_error,beta_role_reward,p_role_reward,perm_p_role_reward");
  std::vector<std::string> labels;
  std::vector<double> x, d_error, reward;
  for (size_t i = 0; i < S.window_s.size(); ++i) {
    table.row() << session.label << "," << num(S.threshold_scale[i]) << "," << num(S.threshold[i]) << ","
                << num(S.window_s[i]) << "," << S.n_events[i] << "," << num(S.beta_role_d_error[i]) << ","
                << num(S.p_role_d_error[i]) << "," << num(S.perm_p_role_d_error[i]) << "," << num(S.beta_role_reward[i])
                << "," << num(S.p_role_reward[i]) << "," << num(S.perm_p_role_reward[i]) << "\n";
    labels.push_back("x" + num(S.threshold_scale[i]) + "/" + num(S.window_s[i]) + "s");
    x.push_back(double(i));
    d_error.push_back(S.beta_role_d_error[i]);
    reward.push_back(S.beta_role_reward[i]);
  }
  const auto panel = [&](const std::string& term, const std::vector<double>& beta, const std::vector<double>& p) {
    plot::Axes a;
    a.title = "role x " + term + ": beta per setting";
    a.x_label = "threshold scale / window";
    a.y_label = "beta";
    a.zero_line = true;
    a.x_category_labels = labels;
    std::vector<double> sig_x, sig_y, other_x, other_y;
    for (size_t i = 0; i < beta.size(); ++i) {
      (p[i] < 0.05 ? sig_x : other_x).push_back(x[i]);
      (p[i] < 0.05 ? sig_y : other_y).push_back(beta[i]);
    }
    const auto [lo, hi] = finite_range(beta);
    a.y_min = std::min(0.0, lo);  // zero in view: the sign is what the panel is about
    a.y_max = std::max(0.0, hi);
    a.series.push_back(plot::make_series("", x, beta, plot::Series::line, 6));
    a.series.push_back(plot::make_series("p < 0.05", sig_x, sig_y, plot::Series::points, 1));
    a.series.push_back(plot::make_series("p >= 0.05", other_x, other_y, plot::Series::points, 5));
    a.legend = true;
    return a;
  };
  table.commit();
  w.png("sensitivity",
        plot::render_grid({panel("d_error", d_error, S.p_role_d_error), panel("reward", reward, S.p_role_reward)}, 1,
                          {900, 360}),
        csv);
}

}  // namespace

std::vector<FigureOutput> write_figures(const std::vector<FigureSession>& sessions, const std::string& folder) {
  if (sessions.empty()) throw InputError("figures: no regress.h5 given");
  fs::create_directories(folder);
  Writer w{folder, {}};
  learning_curve(sessions, w);
  if (sessions.size() > 1) learning_curve_sessions(sessions, w);
  sd_scatter(sessions, w);
  residual_by_role_outcome(sessions, w);
  residual_vs_derror_by_role(sessions, w);
  network_r2(sessions, w);
  decoding(sessions, w);
  learning(sessions, w);
  if (const auto with_conditions = condition_sessions(sessions); !with_conditions.empty()) {
    sd_scatter_by_condition(with_conditions, w);
    residual_by_condition(with_conditions, w);
  }
  for (const auto& session : sessions)
    if (!session.data.result.sensitivity.window_s.empty() && sessions.size() == 1) sensitivity(session, w);
  return w.outputs;
}

}  // namespace apical
