#include "eargate/core/thread.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace eargate::core {
namespace {

// What the kernel reports (what top -H and ps show), not what the library remembers.
std::string KernelName() {
  std::ifstream f("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/comm");
  std::string s;
  std::getline(f, s);
  return s;
}

TEST(ThreadTest, NamesTheCallingThread) {
  std::string seen, kernel;
  std::thread t([&] {
    SetThreadName("eg-log-sync");
    seen = ThreadName();
    kernel = KernelName();
  });
  t.join();
  EXPECT_EQ(seen, "eg-log-sync");
  EXPECT_EQ(kernel, "eg-log-sync");
}

// The kernel's nice value of this thread (field 19 of /proc/self/task/TID/stat).
int KernelNice() {
  std::ifstream f("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream fields(s.substr(s.rfind(')') + 2));  // after "pid (comm) "
  std::string v;
  for (int i = 3; i <= 19; ++i) fields >> v;  // field 3 is the state
  return std::stoi(v);
}

// Test that lowering the priority affects the calling thread only (policy and nice are per
// thread).
TEST(ThreadTest, LowersOnlyTheCallingThreadsPriority) {
  const int before = KernelNice();
  int inside = 0, reported = 0, policy = -1;
  bool ok = false;
  std::thread t([&] {
    ok = LowerThreadPriority();
    inside = KernelNice();
    reported = ThreadNice();
    policy = ::sched_getscheduler(0);
  });
  t.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(policy, SCHED_IDLE);
  EXPECT_EQ(inside, 19);
  EXPECT_EQ(reported, 19);
  EXPECT_EQ(KernelNice(), before);
  EXPECT_EQ(::sched_getscheduler(0), SCHED_OTHER);
}

TEST(ThreadTest, CutsLongNamesToFifteenBytes) {
  std::string kernel;
  std::thread t([&] {
    SetThreadName("eg-a-very-long-thread-name");
    kernel = KernelName();
  });
  t.join();
  EXPECT_EQ(kernel, "eg-a-very-long-");
}

}  // namespace
}  // namespace eargate::core
