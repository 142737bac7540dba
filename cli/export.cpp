// apical export SESSION --nwb OUT.nwb: the session's results as one NWB 2.6 file.
#include <filesystem>
#include <regex>

#include "cli/command.hpp"
#include "io/atomic_output.hpp"
#include "io/error.hpp"
#include "io/nwb_export.hpp"

namespace apical::cli {

namespace fs = std::filesystem;

Usage export_usage() {
  Usage u;
  u.synopsis = "apical export [options] SESSION --nwb OUT.nwb";
  u.description =
      "Writes the session's results as one NWB 2.6 file (Neurodata Without Borders, as DANDI and\n"
      "journals ask for): Device, OpticalChannel and an ImagingPlane per plane; the registered movie as a\n"
      "TwoPhotonSeries (an HDF5 external link to registered.h5, or a copy with --include-movie); the\n"
      "motion shifts; ImageSegmentation with a PlaneSegmentation per plane (pixel_mask, kind, accepted);\n"
      "Fluorescence (F, neuropil) and DfOverF; the trials, cursor, target and control of the BCI log;\n"
      "the soma-dendrite pairs; and regress.h5's per-neuron results as a table. Facts NWB requires that\n"
      "apical's files do not hold come from the [nwb] section of apical.ini or these options; a missing\n"
      "one is an error naming its key. The mapping is in docs/nwb.md.";
  u.options.add_options()
      ("input", po::value<std::vector<std::string>>()->required(), "SESSION folder")
      ("nwb", po::value<std::string>()->default_value(""), "the NWB file to write")
      ("include-movie", po::bool_switch(), "copy the registered movie into the NWB file instead of linking it")
      ("indicator", po::value<std::string>()->default_value(""), "calcium indicator, e.g. GCaMP6s (required)")
      ("location", po::value<std::string>()->default_value(""), "brain area imaged, e.g. 'M1 L5 somata / L1 dendrites' (required)")
      ("subject-id", po::value<std::string>()->default_value(""), "the animal's id (required)")
      ("species", po::value<std::string>()->default_value(""), "e.g. Mus musculus (required)")
      ("session-start-time", po::value<std::string>()->default_value(""),
       "ISO 8601 date and time with time zone, e.g. 2026-03-02T10:15:00+01:00 (required)")
      ("session-description", po::value<std::string>()->default_value(""), "one line about the session (default: from the folder name)")
      ("identifier", po::value<std::string>()->default_value(""), "unique id of the session (default: the folder's name)")
      ("experimenter", po::value<std::string>()->default_value(""), "who recorded it (optional)")
      ("excitation-lambda", value_default<double>(std::nan("")), "excitation wavelength, nm (optional)")
      ("emission-lambda", value_default<double>(std::nan("")), "emission wavelength, nm (optional)");
  add_acquisition_options(u.options);
  u.positional.add("input", 1);
  u.config_sections = {"nwb", "acquisition"};
  return u;
}

namespace {

// A required fact: the option's value, or an error naming the key and where to give it.
std::string required_fact(const Invocation& inv, const std::string& key) {
  const std::string value = inv.get<std::string>(key);
  if (!value.empty()) return value;
  const std::string ini = inv.session ? (*inv.session / "apical.ini").string() : std::string("apical.ini");
  throw InputError("[nwb] " + key + " is missing: NWB requires it. Add '" + key + " = ...' to the [nwb] section of " +
                   ini + ", or give --" + key);
}

NwbSessionFacts session_facts(const Invocation& inv) {
  NwbSessionFacts f;
  f.indicator = required_fact(inv, "indicator");
  f.location = required_fact(inv, "location");
  f.subject_id = required_fact(inv, "subject-id");
  f.species = required_fact(inv, "species");
  f.session_start_time = required_fact(inv, "session-start-time");
  static const std::regex iso8601(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))");
  if (!std::regex_match(f.session_start_time, iso8601))
    throw InputError("[nwb] session-start-time '" + f.session_start_time +
                     "' is not an ISO 8601 time with a time zone (e.g. 2026-03-02T10:15:00+01:00)");
  const std::string folder = fs::absolute(*inv.session).lexically_normal().filename().string();
  f.identifier = inv.get<std::string>("identifier").empty() ? folder : inv.get<std::string>("identifier");
  f.session_description = inv.get<std::string>("session-description");
  if (f.session_description.empty()) f.session_description = "apical session " + folder;
  f.experimenter = inv.get<std::string>("experimenter");
  f.excitation_lambda_nm = inv.get<double>("excitation-lambda");
  f.emission_lambda_nm = inv.get<double>("emission-lambda");
  f.pixel_size_um = std::max(0.0, acquisition_overrides(inv).pixel_size_um);
  return f;
}

}  // namespace

int export_run(const Invocation& inv) {
  Stopwatch clock;
  if (!inv.session) throw InputError("apical export needs a SESSION folder (with apical/registered.h5, rois.h5, traces.h5)");
  const std::string output = inv.get<std::string>("nwb");
  if (output.empty()) throw InputError("give the file to write with --nwb OUT.nwb");
  const NwbSessionFacts facts = session_facts(inv);
  NwbExportInputs in;
  in.registered = inv.session_path("apical/registered.h5").string();
  in.rois = inv.session_path("apical/rois.h5").string();
  in.traces = inv.session_path("apical/traces.h5").string();
  for (const std::string& needed : {in.registered, in.rois, in.traces})
    if (!fs::exists(needed)) throw file_error(needed, "not found (run apical run on the session first)");
  const fs::path regress = inv.session_path("apical/regress.h5"), bci = inv.session_path("bci");
  if (fs::exists(regress)) in.regress = regress.string();
  if (fs::exists(bci)) in.bci_folder = bci.string();
  std::vector<std::string> inputs = {in.registered, in.rois, in.traces};
  if (!in.regress.empty()) inputs.push_back(in.regress);
  AtomicOutput out(output, inv.force);
  const NwbExportSummary s = write_nwb_export(in, facts, inv.get<bool>("include-movie"), out.temp_path().string(),
                                              output, Provenance{inv.command_line, inv.parameters(), inputs});
  out.commit();
  summary(inv,
          std::to_string(s.planes) + " planes, " + std::to_string(s.rois) + " ROIs, " + std::to_string(s.frames) +
              " frames, " + std::to_string(s.trials) + " trials, " + std::to_string(s.pairs) + " pairs, " +
              std::to_string(s.neurons) + " neurons -> " + output,
          clock.seconds());
  return kOk;
}

}  // namespace apical::cli
