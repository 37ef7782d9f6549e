// The gateway's log: one line per event on stderr, "<RFC 3339> <level> <message>".
// API keys never reach it: callers log person ids and key-hash prefixes only.
// Thread-safe: lines from different threads never interleave.
#pragma once

#include <string_view>

#include "eargate/server/config.h"

namespace eargate::server {

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view message);

}  // namespace eargate::server
