// Test support: every store test runs against SQLite (a temporary file) and a real
// PostgreSQL server started for the test binary by tests/support/pg_harness.sh (or the one
// named by $EARGATE_TEST_PG_URL). Use:
//
//   class MyTest : public eargate::store::testing::StoreTest {};
//   TEST_P(MyTest, Works) { Store& s = store(); ... }
//   INSTANTIATE_STORE_TEST(MyTest);
#pragma once

#include <memory>
#include <string>

#include "eargate/store/store.h"
#include "gtest/gtest.h"

namespace eargate::store::testing {

// The URL of the shared PostgreSQL server, starting it on first use. Fails the test (not a
// skip) when it cannot be started: PostgreSQL is a required part of the store tests.
std::string PostgresUrl();

// A clock tests set.
class FakeClock : public core::Clock {
 public:
  core::Timestamp Now() const override { return now; }
  core::Timestamp now = 1781352000;  // 2026-06-13T12:00:00Z
};

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // The URL of a fresh, empty database of the test's backend.
  const std::string& url() const { return url_; }
  Store& store() { return *store_; }
  // Opens another Store on the same database (as a second node would).
  std::unique_ptr<Store> Reopen();
  FakeClock clock_;
  std::string temp_dir_;

 private:
  std::string url_;
  std::unique_ptr<Store> store_;
};

}  // namespace eargate::store::testing

#define INSTANTIATE_STORE_TEST(suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::Values("sqlite", "postgresql"), \
                           [](const auto& info) { return info.param; })
