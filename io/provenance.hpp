#pragma once
// Provenance carried by every HDF5 output as root attributes, so any file says how it
// was made: apical version, full command line, parameters, inputs (with their own
// provenance), UTC time.
#include <map>
#include <string>
#include <vector>

#include "io/h5.hpp"

namespace apical {

struct Provenance {
  std::string command_line;
  std::map<std::string, std::string> parameters;  // option name -> value as text
  std::vector<std::string> inputs;                // input files, in order
};

// "name=value" lines in key order: stable text that `apical run` compares for staleness.
std::string parameters_text(const std::map<std::string, std::string>& parameters);
// One line per input: path, size, and for apical HDF5 outputs their own version/command line.
std::string describe_inputs(const std::vector<std::string>& inputs);
// Writes apical_version, command_line, parameters, inputs, input_provenance, created_utc.
void write_provenance(h5::Group& root, const Provenance& provenance);
std::string utc_now_iso8601();

// What an apical output says of how it was made (empty where it says nothing).
struct RecordedProvenance {
  std::string apical_version, command_line, created_utc;
  std::string parameters;        // parameters_text() of the run
  std::string input_provenance;  // describe_inputs() of its inputs
  // A file revised by hand (apical curate): the parameters and inputs of the run that made
  // what was revised (root attributes curated_from_*); empty otherwise.
  bool curated = false;
  std::string curated_from_parameters, curated_from_input_provenance;
};
// InputError naming the file when it is not HDF5.
RecordedProvenance read_provenance(const std::string& path);

}  // namespace apical
