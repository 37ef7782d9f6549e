// Names for the process's threads, so that `top -H`, `ps -L`, `perf` and /proc show which is
// which (an I/O thread, the decision log's syncer, ...).
#pragma once

#include <string>
#include <string_view>

namespace eargate::core {

// Names the calling thread. Linux keeps 15 bytes: a longer name is cut.
void SetThreadName(std::string_view name);

// The calling thread's name ("" when it cannot be read).
std::string ThreadName();

}  // namespace eargate::core
