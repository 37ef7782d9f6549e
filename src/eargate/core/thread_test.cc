#include "eargate/core/thread.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

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
