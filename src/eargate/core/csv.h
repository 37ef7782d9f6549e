// A small RFC 4180 CSV reader for the reference tables and list files.
//
// Handles quoted fields with embedded commas, quotes ("") and newlines, CRLF line ends and a
// trailing DOS EOF byte (0x1A), as OFAC's legacy files have. Each row remembers the line it
// started on so that loaders can report "file:line: message".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace eargate::core {

struct CsvRow {
  int line = 0;                     // 1-based line where the row starts
  std::vector<std::string> fields;
};

// Parses the whole text. Fails (naming the line) on an unterminated quote.
absl::StatusOr<std::vector<CsvRow>> ParseCsv(std::string_view text);

// A CSV with a header row: fields addressed by column name.
class CsvTable {
 public:
  // Reads `path`; requires every name in `required_columns` in the header.
  static absl::StatusOr<CsvTable> Load(const std::string& path,
                                       const std::vector<std::string>& required_columns);
  static absl::StatusOr<CsvTable> FromText(std::string_view text, std::string name,
                                           const std::vector<std::string>& required_columns);

  const std::string& name() const { return name_; }
  size_t size() const { return rows_.size(); }
  int line(size_t row) const { return rows_[row].line; }
  // The named column of a row; "" when the row is short. REQUIRES: column in the header.
  const std::string& Get(size_t row, std::string_view column) const;
  bool HasColumn(std::string_view column) const;

 private:
  std::string name_;
  std::vector<std::string> header_;
  std::vector<CsvRow> rows_;
};

// One CSV field as RFC 4180 writes it: quoted (with "" for ") only when it holds a comma,
// quote or line break.
std::string CsvQuote(std::string_view s);

// Reads a whole file. Error names the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace eargate::core
