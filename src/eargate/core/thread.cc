#include "eargate/core/thread.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace eargate::core {

void SetThreadName(std::string_view name) {
  char buf[16];
  const size_t n = std::min(name.size(), sizeof(buf) - 1);
  name.copy(buf, n);
  buf[n] = '\0';
  (void)pthread_setname_np(pthread_self(), buf);
}

std::string ThreadName() {
  char buf[16] = {};
  if (pthread_getname_np(pthread_self(), buf, sizeof(buf)) != 0) return "";
  return buf;
}

bool LowerThreadPriority() {
  // Linux: scheduling policy and nice are per thread (a thread id where a pid is asked for).
  // SCHED_IDLE: any other thread that wakes takes the core at once; nice 19 alone still let
  // such a thread hold a core for its whole time slice.
  const pid_t tid = ::gettid();
  struct sched_param param = {};
  const bool idle = ::sched_setscheduler(tid, SCHED_IDLE, &param) == 0;
  const bool nice = ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 19) == 0;
  return idle || nice;
}

bool SetThreadNice(int nice) {
  return ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) == 0;
}

int ThreadNice() { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); }

}  // namespace eargate::core
