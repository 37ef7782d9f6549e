#include "eargate/store/testing/store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "eargate/store/internal/sql_db.h"

namespace eargate::store::testing {
namespace {

struct PgServer {
  std::string url, dir, error;
};

PgServer& Server() {
  static PgServer server;
  static std::once_flag once;
  std::call_once(once, [] {
    if (const char* env = std::getenv("EARGATE_TEST_PG_URL"); env && *env) {
      server.url = env;
      return;
    }
    std::string cmd = std::string(EARGATE_SOURCE_DIR) + "/tests/support/pg_harness.sh start " +
                      std::to_string(::getpid());
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
      server.error = "cannot run " + cmd;
      return;
    }
    char buf[1024];
    std::string out;
    while (fgets(buf, sizeof buf, p)) out += buf;
    int rc = ::pclose(p);
    size_t sp = out.find(' ');
    if (rc != 0 || sp == std::string::npos) {
      server.error = "pg_harness.sh start failed: " + out;
      return;
    }
    server.url = out.substr(0, sp);
    server.dir = out.substr(sp + 1);
    while (!server.dir.empty() && server.dir.back() == '\n') server.dir.pop_back();
    std::atexit([] {
      std::string stop =
          std::string(EARGATE_SOURCE_DIR) + "/tests/support/pg_harness.sh stop " + Server().dir;
      if (std::system(stop.c_str()) != 0) fprintf(stderr, "pg_harness stop failed\n");
    });
  });
  return server;
}

}  // namespace

std::string PostgresUrl() {
  PgServer& s = Server();
  EXPECT_TRUE(s.error.empty()) << s.error;
  return s.url;
}

void StoreTest::SetUp() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "eg_store_XXXXXX").string();
  temp_dir_ = ::mkdtemp(tmpl.data());
  if (GetParam() == "sqlite") {
    url_ = "sqlite://" + temp_dir_ + "/eargate.db";
  } else {
    url_ = PostgresUrl();
    ASSERT_FALSE(url_.empty());
    // Tests in one binary run one after another: start each from an empty schema.
    auto db = internal::OpenPostgres(url_);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->ExecScript("DROP SCHEMA public CASCADE; CREATE SCHEMA public;").ok());
  }
  StoreOptions opt;
  opt.clock = &clock_;
  auto s = Store::Open(url_, opt);
  ASSERT_TRUE(s.ok()) << s.status();
  store_ = std::move(*s);
}

void StoreTest::TearDown() {
  store_.reset();
  std::filesystem::remove_all(temp_dir_);
}

std::unique_ptr<Store> StoreTest::Reopen() {
  StoreOptions opt;
  opt.clock = &clock_;
  auto s = Store::Open(url_, opt);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace eargate::store::testing
