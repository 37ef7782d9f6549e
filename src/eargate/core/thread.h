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

// Makes the calling thread a background one (SCHED_IDLE, and nice 19 should that be refused)
// for work that must not take CPU from serving: it runs on idle CPU only, and any other thread
// that wakes takes its core at once. Under a load that leaves no core idle it waits. Returns
// false when the system refused both.
bool LowerThreadPriority();

// Sets the calling thread's nice value (0 normal, 19 lowest): under load it gets a share of a
// core by weight (nice 10: about a tenth of a nice-0 thread's), and all it wants when cores
// are idle. False when the system refused.
bool SetThreadNice(int nice);

// The calling thread's nice value.
int ThreadNice();

}  // namespace eargate::core
