#include "eargate/server/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "eargate/core/time.h"

namespace eargate::server {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void Log(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  char ts[32];
  core::WriteTime(ms / 1000, ts);
  std::string line;
  line.reserve(message.size() + 40);
  line.append(ts, 19);  // without the Z
  char frac[8];
  snprintf(frac, sizeof(frac), ".%03dZ ", static_cast<int>(ms % 1000));
  line.append(frac);
  line.append(Name(level));
  line.push_back(' ');
  line.append(message);
  line.push_back('\n');
  // One write(2) per line: atomic for pipes up to PIPE_BUF, and never interleaved mid-line
  // for regular files opened O_APPEND.
  ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
  (void)r;
}

}  // namespace eargate::server
