// apical figures: one CSV and one PNG per figure panel from regress.h5 file(s).
#include <filesystem>
#include <sstream>

#include "cli/command.hpp"
#include "io/error.hpp"
#include "io/regress_file.hpp"
#include "pipeline/reporting/figures.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage figures_usage() {
  Usage u;
  u.synopsis = "apical figures [options] SESSION\n       apical figures [options] REGRESS.h5... -o FOLDER";
  u.description =
      "Writes the data (CSV) and a plot (PNG) of every figure panel of the dendritic-signal analysis:\n"
      "learning_curve (hits/min per block of trials), sd_scatter (dendritic vs somatic amplitude with\n"
      "each neuron's fit), residual_by_role_outcome (SD-residual densities on hit vs miss trials per\n"
      "role), residual_vs_derror_by_role, network_r2 (vs shuffle), decoding (accuracy vs shuffled labels)\n"
      "and learning (early residual vs later change of event rate). Several regress.h5 files (sessions,\n"
      "e.g. days, in the order given) are pooled, and learning_curve_sessions shows the hit rate across\n"
      "them. Given SESSION it reads SESSION/apical/regress.h5 and writes SESSION/apical/figures/.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder, or regress.h5 file(s)")
      ("output,o", po::value<std::string>()->default_value(""), "output folder (default SESSION/apical/figures)")
      ("labels", po::value<std::string>()->default_value(""),
       "comma list of session labels, one per input (default: session folder names)");
  u.positional.add("input", -1);
  return u;
}

int figures_run(const Invocation& inv) {
  Stopwatch clock;
  std::vector<std::string> inputs = inv.get<std::vector<std::string>>("input");
  std::string output = inv.get<std::string>("output");
  if (inv.session) {
    inputs = {inv.session_path("apical/regress.h5").string()};
    if (output.empty()) output = inv.session_path("apical/figures").string();
  }
  if (output.empty()) throw InputError("no output folder: give a SESSION folder or -o FOLDER");
  std::vector<std::string> labels;
  if (inv.has("labels")) {
    std::stringstream s(inv.get<std::string>("labels"));
    std::string item;
    while (std::getline(s, item, ',')) labels.push_back(item);
    if (labels.size() != inputs.size())
      throw InputError("--labels has " + std::to_string(labels.size()) + " names for " + std::to_string(inputs.size()) +
                       " inputs");
  }
  std::vector<FigureSession> sessions;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!fs::exists(inputs[i])) throw file_error(inputs[i], "not found (run apical regress first)");
    sessions.push_back({labels.empty() ? session_label(inputs[i]) : labels[i], read_regress(inputs[i])});
  }
  if (labels.empty())  // two sessions with the same folder name: number them so legends differ
    for (size_t i = 0; i < sessions.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (sessions[j].label == sessions[i].label) sessions[i].label += " (" + std::to_string(i + 1) + ")";
  const std::vector<FigureOutput> written = write_figures(sessions, output);
  summary(inv, "wrote " + std::to_string(written.size()) + " panels (CSV, PNG, PDF, SVG) from " + std::to_string(sessions.size()) +
                   " session(s) -> " + output,
          clock.seconds());
  return kOk;
}

}  // namespace apical::cli
