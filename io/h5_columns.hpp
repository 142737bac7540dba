#pragma once
// Tables stored one 1-D dataset per column (apical's per-neuron, per-event and per-block
// tables): named columns written in one loop, and a column gathered from a field of each row
// of a table held as a vector of structs.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "io/h5.hpp"

namespace apical::h5 {

using ColumnValues = std::variant<std::vector<int8_t>, std::vector<uint8_t>, std::vector<int32_t>,
                                  std::vector<int64_t>, std::vector<float>, std::vector<double>>;

struct Column {
  std::string name;
  ColumnValues values;  // the element type is the dataset's type
};

// Writes each column as the 1-D dataset group/<name>, in the order given.
inline void write_columns(Group& group, const std::vector<Column>& columns) {
  for (const Column& column : columns)
    std::visit([&](const auto& values) { group.write(column.name, values); }, column.values);
}

// `values` with each element converted to T (the type the file stores).
template <typename T, typename U>
std::vector<T> converted(const std::vector<U>& values) {
  return std::vector<T>(values.begin(), values.end());
}

// The field `field` of every row, as T.
template <typename T, typename Row, typename Field>
std::vector<T> column_of(const std::vector<Row>& rows, Field Row::*field) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const Row& row : rows) out.push_back(T(row.*field));
  return out;
}

}  // namespace apical::h5
