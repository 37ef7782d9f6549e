// Minimal JSON output helpers shared by every module that writes JSON by hand (decisions,
// canonical policies, audit records). Parsing is simdjson's job, not ours.
#pragma once

#include <string>
#include <string_view>

namespace eargate::core {

// Appends s as a JSON string literal (quotes included), escaping as RFC 8259 requires.
// Invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string_view s, std::string* out);

// True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace eargate::core
