#pragma once
// The layout of apical's own HDF5 files, as data: one table per file naming every dataset
// with its dimensions, units, description and enumeration labels. Writers annotate their
// output from it (so every dataset explains itself to h5py or MATLAB users), a test checks
// that every dataset a pipeline run writes is in it, and the tables in docs/file-formats.md are printed
// from it (`apical info --schema`).
#include <cstdint>
#include <string>
#include <vector>

#include "io/h5.hpp"

namespace apical {

struct DatasetSchema {
  std::string path;               // within the file; "plane{k}/" stands for every plane
  std::vector<std::string> dims;  // dimension names, slowest first (time, roi, y, x, ...)
  std::string units;              // a plain unit ("px", "s", "dF/F"), or "1" for a pure number
  std::string description;
  std::string labels;             // enumerations: "0=soma;1=dendrite"; empty otherwise
};

struct FileSchema {
  std::string file;         // e.g. "traces.h5"
  std::string written_by;   // the command that writes it
  std::string description;
  std::vector<DatasetSchema> datasets;
};

const FileSchema& registered_schema();
const FileSchema& rois_schema();
const FileSchema& traces_schema();
const FileSchema& regress_schema();
const FileSchema& truth_schema();
std::vector<const FileSchema*> all_schemas();

// The entry for a dataset path ("plane1/F" matches "plane{k}/F"), or nullptr.
const DatasetSchema* find_dataset_schema(const FileSchema& schema, const std::string& path);

// Writes units, description, labels and dimension labels on every dataset under root, and
// the file's description on root. A dataset missing from the schema is a programming error
// (std::logic_error), caught by the tests before any user sees an unexplained dataset.
void describe_datasets(h5::Group& root, const FileSchema& schema);

// When and at what scale the frames of a file were taken; every output carries it.
struct Timebase {
  int64_t frames = 0;
  double frame_rate_hz = 0;       // <= 0: unknown
  double pixel_size_um = 0;       // <= 0: unknown
  std::vector<double> times_s;    // per frame (e.g. the BCI log's); empty: frame / frame rate
};

// The timebase recorded in an apical output (root attributes frames, frame_rate_hz,
// pixel_size_um, and /timestamps when present); zeros where the file does not say.
Timebase read_timebase(const std::string& apical_file);
// The first of `inputs` that is an apical HDF5 output with a frame count gives the timebase.
Timebase timebase_of_inputs(const std::vector<std::string>& inputs);

// Finishes an apical output: root attributes frame_rate_hz and pixel_size_um (NaN when
// unknown), /timestamps (s), then describe_datasets.
void describe_output(h5::Group& root, const FileSchema& schema, const Timebase& timebase);

// Markdown tables of every file's datasets (for docs/file-formats.md).
std::string schema_markdown();

}  // namespace apical
