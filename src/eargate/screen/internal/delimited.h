// A tolerant delimited-text reader for list files (internal to screen/).
//
// core::ParseCsv rejects a file whose last row is cut off inside a quote; published list
// snapshots are sometimes truncated like that (the 2023-11 CSL file is). This reader returns
// every complete row and reports the truncated tail instead of failing the whole file.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace eargate::screen::internal {

struct Row {
  int line = 0;  // 1-based line where the row starts
  std::vector<std::string> fields;
};

struct DelimitedText {
  std::vector<Row> rows;
  int truncated_line = 0;  // > 0: the row starting on this line ended inside a quote
};

// Splits `text` into rows of fields separated by `sep`, with RFC 4180 quoting. Blank lines
// and a trailing DOS EOF byte (0x1A) are skipped; CRLF and LF both end a row. Fields are
// returned unquoted and with surrounding spaces kept.
DelimitedText ParseDelimited(std::string_view text, char sep);

}  // namespace eargate::screen::internal
