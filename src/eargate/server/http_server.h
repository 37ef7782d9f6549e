// The HTTP/1.1 front of the gateway (Boost.Beast on Boost.Asio, C++20 coroutines): SPEC §4's
// endpoints, the OpenAI-compatible streaming proxy, limits, timeouts, signals.
//
//   HttpServer server(&gateway, &metrics);
//   EG_RETURN_IF_ERROR(server.Listen());   // binds; server.port() is now known
//   server.Run();                          // blocks until SIGTERM/SIGINT or Stop()
//
// Run() serves on config.threads I/O threads. SIGHUP asks the Gateway to reload; SIGTERM and
// SIGINT stop accepting, let requests in flight finish (up to limits.drain_timeout_ms) and
// return. Stop() does the same from another thread.
//
// Thread-safety: Listen() and Run() from one thread; Stop() from any. The Gateway and Metrics
// must outlive the server. Beast/Asio exceptions are caught here and never leave the module.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "eargate/server/gateway.h"
#include "eargate/server/metrics.h"

namespace eargate::server {

class HttpServer {
 public:
  HttpServer(Gateway* gateway, Metrics* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds config.listen and resolves the upstream. Errors: address in use, bad host.
  absl::Status Listen();
  uint16_t port() const;
  // Serves until shutdown; also handles SIGHUP/SIGTERM/SIGINT when handle_signals.
  void Run(bool handle_signals = true);
  // Begins a graceful shutdown. Thread-safe.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace eargate::server
