#include "io/soma_model_file.hpp"

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/error.hpp"

namespace apical {
namespace {

std::vector<float> finite_list(const nlohmann::json& doc, const std::string& key, const std::string& path) {
  if (!doc.contains(key) || !doc[key].is_array() || doc[key].empty())
    throw file_error(path, "has no \"" + key + "\" list of numbers");
  std::vector<float> out;
  for (const auto& v : doc[key]) {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      throw file_error(path, "\"" + key + "\" holds a value that is not a finite number");
    out.push_back(v.get<float>());
  }
  return out;
}

}  // namespace

SomaModel read_soma_model(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw file_error(path, "cannot be opened");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw file_error(path, std::string("is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw file_error(path, "must hold a JSON object (feature_mean, feature_scale, weights, bias)");
  SomaModel m;
  m.feature_mean = finite_list(doc, "feature_mean", path);
  m.feature_scale = finite_list(doc, "feature_scale", path);
  m.weights = finite_list(doc, "weights", path);
  if (m.feature_mean.size() != m.weights.size() || m.feature_scale.size() != m.weights.size())
    throw file_error(path, "feature_mean, feature_scale and weights must have the same length");
  for (float s : m.feature_scale)
    if (!(s > 0)) throw file_error(path, "feature_scale values must be positive");
  if (!doc.contains("bias") || !doc["bias"].is_number() || !std::isfinite(doc["bias"].get<double>()))
    throw file_error(path, "has no finite \"bias\"");
  m.bias = doc["bias"].get<float>();
  return m;
}

}  // namespace apical
