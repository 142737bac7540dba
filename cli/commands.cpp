// The dispatch table: every subcommand, its one-line summary, usage and run.
#include "cli/command.hpp"

namespace apical::cli {

Usage info_usage();
int info_run(const Invocation&);
Usage simulate_usage();
int simulate_run(const Invocation&);
Usage register_usage();
int register_run(const Invocation&);
Usage evaluate_usage();
int evaluate_run(const Invocation&);
Usage segment_usage();
int segment_run(const Invocation&);
Usage extract_usage();
int extract_run(const Invocation&);
Usage regress_usage();
int regress_run(const Invocation&);
Usage figures_usage();
int figures_run(const Invocation&);
Usage qc_usage();
int qc_run(const Invocation&);
Usage run_usage();
int run_run(const Invocation&);
Usage plan_usage();
int plan_run(const Invocation&);
Usage export_usage();
int export_run(const Invocation&);
Usage import_usage();
int import_run(const Invocation&);
Usage curate_usage();
int curate_run(const Invocation&);

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"info", "what a file holds and how it was made", info_usage, info_run},
      {"simulate", "write a synthetic session folder with ground truth", simulate_usage, simulate_run},
      {"register", "motion correction (rigid, non-rigid, bidirectional) -> registered.h5", register_usage, register_run},
      {"segment", "soma and dendrite ROIs, soma-dendrite pairing -> rois.h5", segment_usage, segment_run},
      {"extract", "fluorescence, neuropil, dF/F and events -> traces.h5", extract_usage, extract_run},
      {"regress", "dendritic residuals vs reward, error and BCI role -> regress.h5", regress_usage, regress_run},
      {"figures", "one CSV and PNG per figure panel from regress.h5 files", figures_usage, figures_run},
      {"qc", "per-session QC report: pictures and one offline HTML page", qc_usage, qc_run},
      {"run", "every stage for one session folder, skipping what is up to date", run_usage, run_run},
      {"curate", "apply accept/reject decisions from the QC report's ROI page to rois.h5", curate_usage, curate_run},
      {"plan", "per-stage memory bounds and threads of a session, for schedulers", plan_usage, plan_run},
      {"export", "the session's results as one NWB file (DANDI, sharing)", export_usage, export_run},
      {"import", "ROIs and traces from an NWB file (suite2p, CaImAn, ...) -> rois.h5, traces.h5", import_usage, import_run},
      {"evaluate", "score outputs against simulated truth, or ROIs against manual labels", evaluate_usage, evaluate_run},
  };
  return table;
}

}  // namespace apical::cli
