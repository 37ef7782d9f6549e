#include "eargate/store/registry_watcher.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "eargate/core/thread.h"

namespace eargate::store {

struct RegistryWatcher::Impl {
  OnChange on_change;
  std::chrono::milliseconds interval{200};
  std::atomic<bool> stop{false};
  PGconn* pg = nullptr;
  sqlite3* lite = nullptr;
  std::thread thread;

  ~Impl() {
    stop = true;
    if (thread.joinable()) thread.join();
    if (pg != nullptr) PQfinish(pg);
    if (lite != nullptr) sqlite3_close(lite);
  }

  int64_t DataVersion() {
    sqlite3_stmt* st = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(lite, "PRAGMA data_version", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }

  // The version seen when the watcher started: read in Start(), before it returns, so that a
  // change made right after Start() is never mistaken for the starting point.
  int64_t start_version = -1;

  // The registry version Store bumps on each registry change (migration 002); -1 when it
  // cannot be read (an older schema: then every commit counts as a change).
  int64_t RegistryVersion() {
    sqlite3_stmt* st = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(lite, "SELECT version FROM eargate_registry_version WHERE id = 1", -1,
                           &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  int64_t start_registry_version = -1;

  void RunSqlite() {
    core::SetThreadName("eg-registry");
    int64_t last = start_version;
    int64_t last_registry = start_registry_version;
    while (!stop) {
      std::this_thread::sleep_for(interval);
      int64_t v = DataVersion();
      if (v != last) {
        last = v;
        int64_t r = RegistryVersion();
        if (r == -1 || r != last_registry) {
          last_registry = r;
          on_change("registry");
        }
      }
    }
  }

  void RunPostgres() {
    core::SetThreadName("eg-registry");
    while (!stop) {
      if (PQstatus(pg) != CONNECTION_OK) {
        PQreset(pg);
        if (PQstatus(pg) == CONNECTION_OK) {
          PQclear(PQexec(pg, "LISTEN eargate_registry"));
          on_change("registry");  // changes may have been missed while disconnected
        } else {
          std::this_thread::sleep_for(interval);
          continue;
        }
      }
      pollfd pfd{PQsocket(pg), POLLIN, 0};
      int rc = ::poll(&pfd, 1, static_cast<int>(interval.count()));
      if (rc <= 0) continue;
      if (PQconsumeInput(pg) != 1) continue;
      while (PGnotify* n = PQnotifies(pg)) {
        std::string what = n->extra ? n->extra : "";
        PQfreemem(n);
        on_change(what);
      }
    }
  }
};

RegistryWatcher::RegistryWatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RegistryWatcher::~RegistryWatcher() = default;

absl::StatusOr<std::unique_ptr<RegistryWatcher>> RegistryWatcher::Start(
    std::string_view url, OnChange on_change, std::chrono::milliseconds poll_interval) {
  auto impl = std::make_unique<Impl>();
  impl->on_change = std::move(on_change);
  impl->interval = poll_interval;
  Impl* raw = impl.get();
  if (url.substr(0, 9) == "sqlite://") {
    std::string path(url.substr(9));
    if (sqlite3_open_v2(path.c_str(), &impl->lite, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      std::string msg = impl->lite ? sqlite3_errmsg(impl->lite) : "out of memory";
      return absl::UnavailableError(absl::StrCat("sqlite: cannot open ", path, ": ", msg));
    }
    impl->start_version = impl->DataVersion();
    impl->start_registry_version = impl->RegistryVersion();
    impl->thread = std::thread([raw] { raw->RunSqlite(); });
  } else if (url.substr(0, 13) == "postgresql://" || url.substr(0, 11) == "postgres://") {
    impl->pg = PQconnectdb(std::string(url).c_str());
    if (impl->pg == nullptr || PQstatus(impl->pg) != CONNECTION_OK) {
      std::string msg = impl->pg ? PQerrorMessage(impl->pg) : "out of memory";
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return absl::UnavailableError(absl::StrCat("postgresql: cannot connect: ", msg));
    }
    PGresult* res = PQexec(impl->pg, "LISTEN eargate_registry");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok)
      return absl::UnavailableError(absl::StrCat("postgresql: LISTEN: ", PQerrorMessage(impl->pg)));
    impl->thread = std::thread([raw] { raw->RunPostgres(); });
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "store URL '", std::string(url), "': must start with sqlite:// or postgresql://"));
  }
  return std::unique_ptr<RegistryWatcher>(new RegistryWatcher(std::move(impl)));
}

}  // namespace eargate::store
