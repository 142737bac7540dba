#pragma once
// Tables stored one 1-D dataset per column (apical's per-neuron, per-event and per-block
// tables): named columns written in one loop, and a column gathered from a field of each row
// of a table held as a vector of structs.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/image.hpp"
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

// The dataset group/<name>, or empty when the file predates it.
template <typename T>
std::vector<T> read_if_present(const Group& group, const std::string& name) {
  return group.has(name) ? group.read<T>(name) : std::vector<T>{};
}

// Shifts (dy, dx) as the rows of a [n, 2] float32 table, and back.
inline std::vector<float> shift_rows(const std::vector<Shift>& shifts) {
  std::vector<float> rows;
  rows.reserve(shifts.size() * 2);
  for (const Shift& s : shifts) {
    rows.push_back(s.dy);
    rows.push_back(s.dx);
  }
  return rows;
}

inline std::vector<Shift> shifts_of_rows(const std::vector<float>& rows) {
  std::vector<Shift> shifts;
  shifts.reserve(rows.size() / 2);
  for (size_t i = 0; i + 1 < rows.size(); i += 2) shifts.push_back({rows[i], rows[i + 1]});
  return shifts;
}

}  // namespace apical::h5
