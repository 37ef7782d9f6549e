#include "eargate/core/csv.h"

#include <fstream>
#include <sstream>

#include "eargate/core/strings.h"
#include "eargate/core/status.h"

namespace eargate::core {

absl::StatusOr<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  std::vector<CsvRow> rows;
  if (!text.empty() && text.back() == '\x1a') text.remove_suffix(1);
  size_t i = 0;
  int line = 1;
  while (i < text.size()) {
    CsvRow row;
    row.line = line;
    std::string field;
    bool in_quotes = false;
    bool row_done = false;
    bool field_quoted = false;
    while (i < text.size() && !row_done) {
      char c = text[i];
      if (in_quotes) {
        if (c == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          in_quotes = false;
          ++i;
          continue;
        }
        if (c == '\n') ++line;
        field.push_back(c);
        ++i;
        continue;
      }
      switch (c) {
        case '"':
          if (field.empty() && !field_quoted) {
            in_quotes = true;
            field_quoted = true;
          } else {
            field.push_back(c);  // stray quote inside an unquoted field: keep it
          }
          ++i;
          break;
        case ',':
          row.fields.push_back(std::move(field));
          field.clear();
          field_quoted = false;
          ++i;
          break;
        case '\r':
          ++i;
          break;
        case '\n':
          ++i;
          ++line;
          row_done = true;
          break;
        case '\x1a':
          ++i;
          break;
        default:
          field.push_back(c);
          ++i;
      }
    }
    if (in_quotes) {
      return absl::InvalidArgumentError(
          StrCat("line ", row.line, ": unterminated quoted field"));
    }
    row.fields.push_back(std::move(field));
    if (row.fields.size() == 1 && row.fields[0].empty()) continue;  // blank line
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string CsvQuote(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat(path, ": cannot open file"));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(StrCat(path, ": read error"));
  return std::move(ss).str();
}

absl::StatusOr<CsvTable> CsvTable::Load(const std::string& path,
                                        const std::vector<std::string>& required_columns) {
  EG_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return FromText(text, path, required_columns);
}

absl::StatusOr<CsvTable> CsvTable::FromText(std::string_view text, std::string name,
                                            const std::vector<std::string>& required_columns) {
  auto rows = ParseCsv(text);
  if (!rows.ok()) return absl::InvalidArgumentError(StrCat(name, ":", std::string(rows.status().message())));
  if (rows->empty()) return absl::InvalidArgumentError(StrCat(name, ": empty file, expected a header row"));
  CsvTable t;
  t.name_ = std::move(name);
  t.header_ = std::move((*rows)[0].fields);
  if (!t.header_.empty() && t.header_[0].rfind("\xEF\xBB\xBF", 0) == 0) t.header_[0].erase(0, 3);
  for (const auto& col : required_columns) {
    if (!t.HasColumn(col))
      return absl::InvalidArgumentError(
          StrCat(t.name_, ":1: missing required column '", col, "'"));
  }
  t.rows_.assign(std::make_move_iterator(rows->begin() + 1), std::make_move_iterator(rows->end()));
  return t;
}

bool CsvTable::HasColumn(std::string_view column) const {
  for (const auto& h : header_)
    if (h == column) return true;
  return false;
}

const std::string& CsvTable::Get(size_t row, std::string_view column) const {
  static const std::string kEmpty;
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == column) {
      const auto& f = rows_[row].fields;
      return i < f.size() ? f[i] : kEmpty;
    }
  }
  return kEmpty;
}

}  // namespace eargate::core
