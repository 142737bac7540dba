#include "io/curation_file.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/error.hpp"

namespace apical {
namespace {

using nlohmann::json;

json parse_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw file_error(path, "cannot be opened");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw file_error(path, std::string("is not valid JSON: ") + e.what());
  }
}

int64_t index_field(const json& entry, const char* name, const std::string& path, const std::string& where) {
  if (!entry.contains(name) || !entry[name].is_number_integer())
    throw file_error(path, where + ": \"" + name + "\" must be a whole number");
  if (entry[name].is_number_unsigned() && entry[name].get<uint64_t>() > uint64_t(INT64_MAX))
    return INT64_MAX;  // no file has that many; the caller says it is out of range
  const int64_t value = entry[name].get<int64_t>();
  if (value < 0) throw file_error(path, where + ": \"" + name + "\" is " + std::to_string(value) + " (indices start at 0)");
  return value;
}

RoiDecision read_decision(const json& entry, size_t i, const std::string& path) {
  const std::string where = "decision " + std::to_string(i);
  if (!entry.is_object()) throw file_error(path, where + " is not an object {\"plane\", \"roi\", \"accepted\"}");
  RoiDecision d;
  d.plane = index_field(entry, "plane", path, where);
  d.roi = index_field(entry, "roi", path, where);
  if (!entry.contains("accepted") || !entry["accepted"].is_boolean())
    throw file_error(path, where + ": \"accepted\" must be true or false");
  d.accepted = entry["accepted"].get<bool>();
  return d;
}

CuratedRoisIdentity read_identity(const json& rois, const std::string& path) {
  if (!rois.is_object() || !rois.contains("created_utc") || !rois["created_utc"].is_string() ||
      !rois.contains("rois_per_plane") || !rois["rois_per_plane"].is_array() || !rois.contains("fingerprint") ||
      !rois["fingerprint"].is_string())
    throw file_error(path, "\"rois_h5\" must be {\"created_utc\": text, \"rois_per_plane\": [counts], "
                           "\"fingerprint\": text}");
  CuratedRoisIdentity id;
  id.created_utc = rois["created_utc"].get<std::string>();
  id.fingerprint = rois["fingerprint"].get<std::string>();
  for (const json& n : rois["rois_per_plane"]) {
    if (!n.is_number_integer() || n.get<int64_t>() < 0)
      throw file_error(path, "\"rois_h5\".\"rois_per_plane\" must hold ROI counts (whole numbers)");
    id.rois_per_plane.push_back(n.get<int64_t>());
  }
  return id;
}

}  // namespace

CurationDecisions read_curation_file(const std::string& path) {
  const json doc = parse_json(path);
  if (!doc.is_object() || !doc.contains("decisions") || !doc["decisions"].is_array())
    throw file_error(path, "is not an apical decisions file (a JSON object with a \"decisions\" list)");
  if (doc.contains("apical_curation") && doc["apical_curation"] != 1)
    throw file_error(path, "\"apical_curation\" is " + doc["apical_curation"].dump() + "; this apical reads version 1");
  CurationDecisions out;
  if (doc.contains("rois_h5")) out.rois_h5 = read_identity(doc["rois_h5"], path);
  std::set<std::pair<int64_t, int64_t>> seen;
  for (size_t i = 0; i < doc["decisions"].size(); ++i) {
    const RoiDecision d = read_decision(doc["decisions"][i], i, path);
    if (!seen.insert({d.plane, d.roi}).second)
      throw file_error(path, "decision " + std::to_string(i) + ": plane " + std::to_string(d.plane) + " ROI " +
                                 std::to_string(d.roi) + " is decided twice");
    out.decisions.push_back(d);
  }
  return out;
}

CuratedRoisIdentity rois_identity(const std::string& created_utc, const RoiFile& rois) {
  CuratedRoisIdentity id{created_utc, {}, {}};
  uint64_t hash = 1469598103934665603ull;  // FNV-1a over what ROI indices refer to
  auto mix = [&hash](uint64_t value) {
    for (int byte = 0; byte < 8; ++byte) hash = (hash ^ ((value >> (8 * byte)) & 0xff)) * 1099511628211ull;
  };
  for (const RoiPlane& p : rois.planes) {
    id.rois_per_plane.push_back(int64_t(p.masks.count()));
    for (uint64_t offset : p.masks.offsets) mix(offset);
    for (uint32_t pixel : p.masks.pixels) mix(pixel);
    for (uint8_t code : p.rejection) mix(code);
    for (uint8_t flag : p.curated) mix(flag);
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  id.fingerprint = text;
  return id;
}

std::string curation_json(const CurationDecisions& decisions) {
  json doc = {{"apical_curation", 1}};
  if (decisions.rois_h5)
    doc["rois_h5"] = {{"created_utc", decisions.rois_h5->created_utc}, {"rois_per_plane", decisions.rois_h5->rois_per_plane},
                        {"fingerprint", decisions.rois_h5->fingerprint}};
  doc["decisions"] = json::array();
  for (const RoiDecision& d : decisions.decisions)
    doc["decisions"].push_back({{"plane", d.plane}, {"roi", d.roi}, {"accepted", d.accepted}});
  return doc.dump(1) + "\n";
}

}  // namespace apical
