// apical info FILE...: what a file holds (shape, type, planes, channels, frame rate) and,
// for apical outputs, how it was made (provenance).
#include <iostream>

#include "cli/command.hpp"
#include "io/error.hpp"
#include "io/h5.hpp"
#include "io/schema.hpp"

namespace apical::cli {

Usage info_usage() {
  Usage u;
  u.synopsis = "apical info [options] FILE...";
  u.description =
      "Prints what each file holds: for movies (TIFF incl. ScanImage, HDF5, raw) the page count,\n"
      "frame size, sample type, planes, channels, frames per plane, frame rate and scan mode; for\n"
      "HDF5 files every dataset with its shape and type, and for apical outputs their provenance\n"
      "(apical version, command line, parameters, inputs, time). With --schema, prints the layout\n"
      "of apical's own files (every dataset, its dimensions, units and meaning) as Markdown.";
  u.options.add_options()("input", po::value<std::vector<std::string>>(), "files to describe")
      ("schema", po::bool_switch(), "print the layout of apical's output files and exit");
  add_movie_input_options(u.options);
  add_acquisition_options(u.options);
  u.positional.add("input", -1);
  u.config_sections = {"acquisition"};
  return u;
}

namespace {

void print_tree(const h5::Group& group, const std::string& indent) {
  for (const auto& name : group.children()) {
    H5O_info_t info;
    if (H5Oget_info_by_name(group.id(), name.c_str(), &info, H5P_DEFAULT) < 0) continue;
    if (info.type == H5O_TYPE_GROUP) {
      h5::Group child = group.group(name);
      std::cout << indent << name << "/";
      for (const auto& [k, v] : child.attributes_as_text()) std::cout << "  " << k << "=" << v;
      std::cout << "\n";
      print_tree(child, indent + "  ");
    } else if (info.type == H5O_TYPE_DATASET) {
      h5::Dataset ds = group.dataset(name);
      std::cout << indent << name << "  " << ds.type_name() << " [";
      auto dims = ds.dims();
      for (size_t i = 0; i < dims.size(); ++i) std::cout << (i ? "," : "") << dims[i];
      std::cout << "]";
      if (auto units = ds.string_attribute("units")) std::cout << "  (" << *units << ")";
      std::cout << "\n";
    }
  }
}

void describe_hdf5(const std::string& path) {
  h5::File file = h5::File::open_read(path);
  h5::Group root = file.root();
  std::cout << path << ": HDF5\n";
  if (auto version = root.string_attribute("apical_version")) {
    std::cout << "  made by apical " << *version << " at " << root.string_attribute("created_utc").value_or("?")
              << "\n  command: " << root.string_attribute("command_line").value_or("?") << "\n";
    std::cout << "  parameters:\n";
    std::string params = root.string_attribute("parameters").value_or("");
    size_t start = 0;
    while (start < params.size()) {
      size_t end = params.find('\n', start);
      std::cout << "    " << params.substr(start, end - start) << "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
    std::cout << "  inputs:\n";
    std::string inputs = root.string_attribute("input_provenance").value_or("");
    start = 0;
    while (start < inputs.size()) {
      size_t end = inputs.find('\n', start);
      std::cout << "    " << inputs.substr(start, end - start) << "\n";
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  std::cout << "  contents:\n";
  print_tree(root, "    ");
}

void describe_movie(const Invocation& inv, const std::string& path) {
  MovieSpec spec = movie_spec(inv, {path});
  auto pages = open_pages(spec);
  auto movie = open_movie(spec, acquisition_overrides(inv));
  const Acquisition& a = movie->acquisition();
  std::cout << path << ": movie\n"
            << "  pages: " << pages->pages() << " of " << pages->width() << "x" << pages->height() << " "
            << pages->dtype() << " (" << pages->files().size() << " file(s))\n"
            << "  planes: " << a.planes << ", channels: " << a.channels << ", flyback frames: " << a.flyback_frames
            << "\n  frames per plane: " << movie->frames() << "\n"
            << "  frame rate: " << (a.frame_rate_hz > 0 ? std::to_string(a.frame_rate_hz) + " Hz" : "unknown")
            << "\n  scanning: " << (a.bidirectional ? "bidirectional" : "unidirectional")
            << (a.zoom > 0 ? ", zoom " + std::to_string(a.zoom) : "") << "\n"
            << "  roles: ";
  for (size_t i = 0; i < a.roles.size(); ++i) std::cout << (i ? "," : "") << a.roles[i];
  std::cout << (a.roles.empty() ? "unknown" : "") << "\n"
            << "  metadata from: " << (a.source.empty() ? "none (give --planes etc.)" : a.source) << "\n";
}

}  // namespace

int info_run(const Invocation& inv) {
  if (inv.get<bool>("schema")) {
    std::cout << schema_markdown();
    return kOk;
  }
  if (!inv.options.count("input")) throw InputError("no FILE given (see apical info --help)");
  for (const auto& path : inv.get<std::vector<std::string>>("input")) {
    bool hdf5 = H5Fis_hdf5(path.c_str()) > 0;
    bool as_movie = !hdf5 || inv.has("dataset");
    if (hdf5 && !as_movie) describe_hdf5(path);
    else describe_movie(inv, path);
  }
  return kOk;
}

}  // namespace apical::cli
