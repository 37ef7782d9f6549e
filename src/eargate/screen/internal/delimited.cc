#include "eargate/screen/internal/delimited.h"

namespace eargate::screen::internal {

DelimitedText ParseDelimited(std::string_view text, char sep) {
  DelimitedText out;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Row row;
  std::string field;
  bool in_quotes = false;
  bool row_has_content = false;
  int line = 1;
  row.line = 1;
  auto end_field = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_row = [&] {
    end_field();
    bool blank = !row_has_content && row.fields.size() == 1 && row.fields[0].empty();
    if (!blank) out.rows.push_back(std::move(row));
    row = Row{};
    row_has_content = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      in_quotes = true;
      row_has_content = true;
    } else if (c == sep) {
      end_field();
      row_has_content = true;
    } else if (c == '\r') {
      // CRLF: the LF ends the row.
    } else if (c == '\n') {
      end_row();
      ++line;
      row.line = line;
    } else if (c == '\x1A') {
      // DOS EOF marker.
    } else {
      field.push_back(c);
      row_has_content = true;
    }
  }
  if (in_quotes) {
    out.truncated_line = row.line;
  } else if (row_has_content || !field.empty() || !row.fields.empty()) {
    end_row();
  }
  return out;
}

}  // namespace eargate::screen::internal
