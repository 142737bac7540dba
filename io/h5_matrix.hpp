#pragma once
// Armadillo matrices <-> HDF5 datasets stored row-major as [rows, cols], the layout users
// see in h5py/MATLAB (traces are [N, T]: one row per ROI).
#include <armadillo>

#include "io/error.hpp"
#include "io/h5.hpp"

namespace apical::h5 {

template <typename T>
void write_matrix(Group& group, const std::string& name, const arma::Mat<T>& m) {
  arma::Mat<T> transposed = m.t();  // column-major memory of the transpose = row-major of m
  group.write(name, std::vector<T>(transposed.begin(), transposed.end()), {uint64_t(m.n_rows), uint64_t(m.n_cols)});
}

template <typename T>
arma::Mat<T> read_matrix(const Group& group, const std::string& name) {
  Dataset ds = group.dataset(name);
  Dims dims = ds.dims();
  if (dims.size() != 2) throw file_error(group.file(), ds.path() + " is not a 2-D matrix");
  std::vector<T> values = ds.read<T>();
  // An empty matrix has no memory to copy from (Armadillo would bind a reference to null:
  // found by UBSan).
  if (values.empty()) return arma::Mat<T>(arma::uword(dims[0]), arma::uword(dims[1]));
  arma::Mat<T> transposed(values.data(), arma::uword(dims[1]), arma::uword(dims[0]));
  return transposed.t();
}

}  // namespace apical::h5
