// Matching found ROIs to true ROIs by IoU (used by tests and `apical evaluate`).
#include <algorithm>
#include <limits>
#include <map>
#include <cmath>
#include <numeric>

#include "pipeline/validation/matching.hpp"
#include "core/numeric.hpp"

namespace apical {
namespace {

// Minimum-cost assignment of every row to a distinct column (rows <= cols), by the
// Hungarian method with potentials. cost is row-major [rows][cols]. Returns row -> column.
std::vector<int> hungarian(const std::vector<double>& cost, int rows, int cols) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(size_t(rows) + 1, 0), v(size_t(cols) + 1, 0);
  std::vector<int> owner(size_t(cols) + 1, 0), way(size_t(cols) + 1, 0);  // owner[col] = row (1-based)
  for (int i = 1; i <= rows; ++i) {
    owner[0] = i;
    int j0 = 0;
    std::vector<double> minv(size_t(cols) + 1, inf);
    std::vector<char> used(size_t(cols) + 1, 0);
    do {
      used[j0] = 1;
      const int i0 = owner[j0];
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= cols; ++j) {
        if (used[j]) continue;
        const double cur = cost[size_t(i0 - 1) * cols + (j - 1)] - u[i0] - v[j];
        if (cur < minv[j]) minv[j] = cur, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (int j = 0; j <= cols; ++j) {
        if (used[j]) u[owner[j]] += delta, v[j] -= delta;
        else minv[j] -= delta;
      }
      j0 = j1;
    } while (owner[j0] != 0);
    do {
      const int j1 = way[j0];
      owner[j0] = owner[j1];
      j0 = j1;
    } while (j0);
  }
  std::vector<int> assignment(size_t(rows), -1);
  for (int j = 1; j <= cols; ++j)
    if (owner[j] > 0) assignment[owner[j] - 1] = j - 1;
  return assignment;
}

struct MatchEdge {
  int f, t;
  double weight;
};

std::vector<std::pair<int, int>> optimal_matching(const std::vector<MatchEdge>& edges, size_t n_found, size_t n_truth);

}  // namespace

double roi_iou(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  size_t i = 0, j = 0, inter = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) ++i;
    else if (b[j] < a[i]) ++j;
    else ++inter, ++i, ++j;
  }
  const size_t uni = a.size() + b.size() - inter;
  return uni ? double(inter) / double(uni) : 0.0;
}

std::vector<std::pair<int, int>> match_rois_by_iou(const std::vector<std::vector<uint32_t>>& found,
                                                   const std::vector<std::vector<uint32_t>>& truth,
                                                   double min_iou) {
  // Candidate pairs share at least one pixel: index truth pixels, then count overlaps.
  std::vector<std::pair<uint32_t, int>> truth_pixels;
  for (size_t t = 0; t < truth.size(); ++t)
    for (uint32_t p : truth[t]) truth_pixels.emplace_back(p, int(t));
  std::sort(truth_pixels.begin(), truth_pixels.end());
  std::map<std::pair<int, int>, size_t> overlap;
  for (size_t f = 0; f < found.size(); ++f) {
    std::vector<uint32_t> own(found[f]);
    std::sort(own.begin(), own.end());
    own.erase(std::unique(own.begin(), own.end()), own.end());
    for (uint32_t p : own) {
      auto it = std::lower_bound(truth_pixels.begin(), truth_pixels.end(), std::make_pair(p, -1));
      for (; it != truth_pixels.end() && it->first == p; ++it) ++overlap[{int(f), it->second}];
    }
  }
  auto unique_size = [](const std::vector<uint32_t>& v) {
    std::vector<uint32_t> s(v);
    std::sort(s.begin(), s.end());
    return size_t(std::unique(s.begin(), s.end()) - s.begin());
  };
  std::vector<size_t> found_size(found.size()), truth_size(truth.size());
  for (size_t f = 0; f < found.size(); ++f) found_size[f] = unique_size(found[f]);
  for (size_t t = 0; t < truth.size(); ++t) truth_size[t] = unique_size(truth[t]);

  std::vector<MatchEdge> edges;
  for (const auto& [key, inter] : overlap) {
    const double iou = double(inter) / double(found_size[key.first] + truth_size[key.second] - inter);
    if (iou >= min_iou) edges.push_back({key.first, key.second, iou});
  }
  return optimal_matching(edges, found.size(), truth.size());
}

std::vector<std::pair<int, int>> match_points(const std::vector<cv::Point2f>& found, const std::vector<cv::Point2f>& truth,
                                              double max_distance) {
  std::vector<MatchEdge> edges;
  for (size_t f = 0; f < found.size(); ++f)
    for (size_t t = 0; t < truth.size(); ++t) {
      const double d = std::hypot(double(found[f].x - truth[t].x), double(found[f].y - truth[t].y));
      if (d <= max_distance) edges.push_back({int(f), int(t), 1.0 - d / (max_distance + 1.0)});
    }
  return optimal_matching(edges, found.size(), truth.size());
}

namespace {
// Optimal one-to-one matching over candidate pairs: most matches, then the largest total
// weight (weights in [0, 1]). Returns (found, truth) pairs sorted by found index.
std::vector<std::pair<int, int>> optimal_matching(const std::vector<MatchEdge>& edges, size_t n_found, size_t n_truth) {
  // Solve each connected component of the candidate graph on its own (they are tiny).
  const int nf = int(n_found);
  std::vector<int> parent(size_t(nf) + n_truth);
  std::iota(parent.begin(), parent.end(), 0);
  for (const MatchEdge& e : edges) {
    const int a = find_root(parent, e.f), b = find_root(parent, nf + e.t);
    parent[std::max(a, b)] = std::min(a, b);
  }
  std::map<int, std::vector<MatchEdge>> components;
  for (const MatchEdge& e : edges) components[find_root(parent, e.f)].push_back(e);

  std::vector<std::pair<int, int>> matches;
  for (const auto& [root, comp] : components) {
    std::vector<int> fs, ts;
    for (const MatchEdge& e : comp) fs.push_back(e.f), ts.push_back(e.t);
    std::sort(fs.begin(), fs.end()), fs.erase(std::unique(fs.begin(), fs.end()), fs.end());
    std::sort(ts.begin(), ts.end()), ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
    const bool transpose = fs.size() > ts.size();
    const auto& rows = transpose ? ts : fs;
    const auto& cols = transpose ? fs : ts;
    // Cost -(K + weight), K above the component size: more matches always win, then weight.
    const double k = double(fs.size() + ts.size() + 1);
    std::vector<double> cost(rows.size() * cols.size(), 0.0);
    for (const MatchEdge& e : comp) {
      const int r = int(std::lower_bound(rows.begin(), rows.end(), transpose ? e.t : e.f) - rows.begin());
      const int c = int(std::lower_bound(cols.begin(), cols.end(), transpose ? e.f : e.t) - cols.begin());
      cost[size_t(r) * cols.size() + c] = -(k + e.weight);
    }
    const auto assignment = hungarian(cost, int(rows.size()), int(cols.size()));
    for (size_t r = 0; r < rows.size(); ++r) {
      const int c = assignment[r];
      if (c < 0 || cost[r * cols.size() + c] == 0.0) continue;  // not a candidate pair
      matches.emplace_back(transpose ? cols[c] : rows[r], transpose ? rows[r] : cols[c]);
    }
  }
  std::sort(matches.begin(), matches.end());
  return matches;
}

}  // namespace

}  // namespace apical
