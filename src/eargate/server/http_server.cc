// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "eargate/server/http_server.h"

#include <simdjson.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "eargate/core/json.h"
#include "eargate/core/strings.h"
#include "eargate/core/thread.h"
#include "eargate/server/admin_api.h"
#include "eargate/server/http_relay.h"
#include "eargate/server/http_request.h"
#include "eargate/server/log.h"

namespace eargate::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
// Every I/O object and coroutine names the io_context's own executor type, not the
// type-erased any_io_executor: no executor copies through a polymorphic wrapper per operation.
using Executor = net::io_context::executor_type;
template <typename T>
using awaitable = net::awaitable<T, Executor>;
constexpr net::use_awaitable_t<Executor> use_awaitable;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
using Timer = net::basic_waitable_timer<std::chrono::steady_clock, net::wait_traits<std::chrono::steady_clock>, Executor>;
using core::StrCat;
using Clock = std::chrono::steady_clock;
using Response = http::response<http::string_body>;
// What resumes a coroutine suspended in Record(): stored as is, no type erasure, no allocation.
using RecordHandler = net::async_result<net::use_awaitable_t<Executor>, void(bool)>::handler_type;

namespace {

constexpr std::string_view kJson = "application/json";

std::string_view ToView(std::string_view v) { return v; }

bool IEquals(std::string_view a, std::string_view b) { return core::EqualsIgnoreCase(a, b); }

// Header values must not carry control characters (CR/LF would split the response).
std::string HeaderSafe(std::string_view s, size_t max = 512) {
  std::string out;
  out.reserve(std::min(s.size(), max));
  for (char c : s) {
    if (out.size() >= max) break;
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
  }
  return out;
}

// HeaderSafe appended to *out: the common clean value is appended whole.
void AppendHeaderSafe(std::string_view s, std::string* out, size_t max = 512) {
  if (s.size() > max) s = s.substr(0, max);
  size_t clean = 0;
  while (clean < s.size()) {
    unsigned char u = static_cast<unsigned char>(s[clean]);
    if (u < 0x20 || u >= 0x7f) break;
    ++clean;
  }
  out->append(s.data(), clean);
  for (size_t i = clean; i < s.size(); ++i) {
    unsigned char u = static_cast<unsigned char>(s[i]);
    out->push_back(u < 0x20 || u >= 0x7f ? '?' : s[i]);
  }
}

std::string ErrorJson(std::string_view type, std::string_view code, std::string_view message,
                      std::string_view decision_id = {}) {
  std::string out = "{\"error\":{\"type\":";
  core::AppendJsonString(type, &out);
  out.append(",\"code\":");
  core::AppendJsonString(code, &out);
  out.append(",\"message\":");
  core::AppendJsonString(message, &out);
  if (!decision_id.empty()) {
    out.append(",\"decision_id\":");
    core::AppendJsonString(decision_id, &out);
  }
  out.append("}}");
  return out;
}

bool IsHopByHop(std::string_view name) {
  static constexpr std::string_view kHop[] = {
      "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
      "te", "trailer", "transfer-encoding", "upgrade", "expect", "host", "content-length"};
  for (std::string_view h : kHop) {
    if (IEquals(name, h)) return true;
  }
  return false;
}

bool StartsWithCI(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

// Admin requests run off the I/O threads (admin_api.h: store round trips, an fdatasync per
// change), one at a time on "eg-admin"; decision searches, which may read a node's whole log,
// on "eg-admin-find" at nice 10, so that a change (a key revoked) never waits behind a search
// and a long search takes little from serving under load (a nice-10 thread gets about a
// tenth of a serving thread's share of a core) and all it wants of an idle core.
struct AdminThreadPools {
  net::thread_pool changes{1};
  net::thread_pool search{1};
  AdminThreadPools() {
    net::post(changes, [] { core::SetThreadName("eg-admin"); });
    net::post(search, [] {
      core::SetThreadName("eg-admin-find");
      (void)core::SetThreadNice(10);
    });
  }
};
AdminThreadPools& AdminThreads() {
  static AdminThreadPools pools;
  return pools;
}

struct Route {
  Endpoint endpoint = Endpoint::kOther;
  bool proxy = false;
};

Route RouteFor(std::string_view path) {
  if (path == "/v1/authz" || path.rfind("/v1/authz/", 0) == 0) return {Endpoint::kAuthz, false};
  if (path == "/v1/decide") return {Endpoint::kDecide, false};
  if (path == "/v1/chat/completions") return {Endpoint::kChatCompletions, true};
  if (path == "/v1/completions") return {Endpoint::kCompletions, true};
  if (path == "/v1/embeddings") return {Endpoint::kEmbeddings, true};
  if (path == "/v1/responses") return {Endpoint::kResponses, true};
  if (path == "/v1/models") return {Endpoint::kModels, false};
  if (path == "/v1/screen") return {Endpoint::kScreen, false};
  if (path == "/admin" || path.rfind("/admin/", 0) == 0) return {Endpoint::kAdmin, false};
  if (path == "/healthz") return {Endpoint::kHealthz, false};
  if (path == "/readyz") return {Endpoint::kReadyz, false};
  if (path == "/metrics") return {Endpoint::kMetrics, false};
  return {Endpoint::kOther, false};
}

// The `model` of an OpenAI request body. Errors name the problem for a 400.
absl::StatusOr<std::string> ModelOf(const std::string& body) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size(), true).get(doc)) {
    return absl::InvalidArgumentError(
        StrCat("request body is not valid JSON: ", simdjson::error_message(err)));
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) {
    return absl::InvalidArgumentError("request body must be a JSON object");
  }
  std::string_view model;
  simdjson::dom::element m;
  if (obj["model"].get(m)) return absl::InvalidArgumentError("model: required");
  if (m.get_string().get(model)) return absl::InvalidArgumentError("model: must be a string");
  if (model.empty()) return absl::InvalidArgumentError("model: must not be empty");
  return std::string(model);
}

// The item an authz subrequest asks about: X-Eargate-Item, else `model` in a JSON body (Envoy
// with_request_body), else a path segment or `model=` query parameter of the original URI
// (X-Original-URI from nginx, or the path after /v1/authz from Envoy) that names an item.
std::string AuthzItem(const Request& req, const rules::PolicySnapshot& policy) {
  if (auto it = req.find("X-Eargate-Item"); it != req.end()) return std::string(ToView(it->value()));
  if (!req.body().empty()) {
    auto m = ModelOf(req.body());
    if (m.ok()) return *m;
  }
  std::string_view uri;
  if (auto it = req.find("X-Original-URI"); it != req.end()) {
    uri = ToView(it->value());
  } else {
    uri = ToView(req.target());
    if (uri.rfind("/v1/authz", 0) == 0) uri.remove_prefix(9);
  }
  std::string_view path = uri.substr(0, uri.find('?'));
  if (size_t q = uri.find('?'); q != std::string_view::npos) {
    for (std::string_view kv : core::Split(uri.substr(q + 1), '&', true)) {
      if (kv.rfind("model=", 0) == 0) return std::string(kv.substr(6));
    }
  }
  for (std::string_view seg : core::Split(path, '/', true)) {
    if (policy.FindItem(seg) >= 0) return std::string(seg);
  }
  return {};
}

}  // namespace

struct HttpServer::Impl {
  Impl(Gateway* g, Metrics* m) : gw(g), metrics(m), cfg(g->config()) {}

  Gateway* gw;
  Metrics* metrics;
  const Config& cfg;
  // One io_context per I/O thread (concurrency hint 1: no cross-thread locking on the hot
  // path), each with its own SO_REUSEPORT acceptor so the kernel spreads connections.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<std::unique_ptr<Acceptor>> acceptors;  // acceptors[i] runs on contexts[i]
  net::io_context& main() { return *contexts[0]; }
  std::optional<net::signal_set> signals;
  tcp::resolver::results_type upstream_endpoints;
  // A kept-alive connection to the upstream, idle in its thread's pool between requests.
  struct Upstream {
    explicit Upstream(const Socket::executor_type& ex) : socket(ex) {}
    Socket socket;
    beast::flat_buffer buffer;
  };
  // Per I/O thread (pools[i] is used only by contexts[i]'s thread): idle upstream connections,
  // shared by all client connections of the thread, at most upstream.max_idle_connections.
  std::vector<std::vector<std::unique_ptr<Upstream>>> pools;
  std::atomic<bool> draining{false};
  uint16_t port = 0;

  // A connection's decision record waiting for its group commit, with the coroutine to resume.
  struct RecordWait : store::AppendWaiter {
    std::optional<RecordHandler> handler;
  };
  // Per I/O thread: the thread commits its own records (sync mode): the first record of a
  // round of ready events posts a Commit, which runs after the round's other handlers, so the
  // round's records share one write and one fdatasync on this thread and no other thread is
  // woken. The decision log hands over a commit's waiters of this thread at once and wakes
  // the thread with one post, not one per record.
  struct RecordQueue final : store::AppendQueue {
    RecordQueue(Impl* s, net::io_context* c) : store::AppendQueue(/*commits=*/true), server(s), ioc(c) {}
    void Wake() override {
      net::post(*ioc, [this] { Resume(); });
    }
    // On this queue's thread, after an append was queued.
    void ScheduleCommit() {
      if (commit_posted) return;
      commit_posted = true;
      net::post(*ioc, [this] {
        commit_posted = false;
        server->gw->audit_log()->Commit();
      });
    }
    void Resume() {
      for (store::AppendWaiter* w = TakeAll(); w != nullptr;) {
        auto* r = static_cast<RecordWait*>(w);
        w = w->next;  // first: the resumed request may append its connection's next record
        RecordHandler h = std::move(*r->handler);
        r->handler.reset();
        h(server->gw->RecordOk(*r));
      }
    }
    Impl* server;
    net::io_context* ioc;
    bool commit_posted = false;  // used only on the queue's thread
  };
  std::vector<std::unique_ptr<RecordQueue>> record_queues;  // record_queues[i] for contexts[i]

  // The connection's one deadline. Setting it is a store (no timer operation per request):
  // one timer per connection wakes at the deadline or every `period` (the shortest client
  // timeout, so a deadline set later is never passed unnoticed), and on expiry cancels the
  // socket's pending operation instead of closing it, so that a 408 can still be written.
  // Shared with the timer's handler, which may run after the connection is gone.
  struct Watch {
    explicit Watch(Socket* s) : socket(s), timer(s->get_executor()) {}
    Socket* socket;
    Timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    bool fired = false;   // the deadline passed since it was last set
    bool closed = false;  // the connection is gone: `socket` dangles
  };

  static void WatchLoop(std::shared_ptr<Watch> w, Clock::duration period) {
    w->timer.async_wait([w, period](const beast::error_code& ec) mutable {
      if (ec || w->closed) return;
      Clock::time_point now = Clock::now();
      if (now >= w->deadline) {
        w->fired = true;
        w->deadline = Clock::time_point::max();
        beast::error_code ignored;
        w->socket->cancel(ignored);
      }
      w->timer.expires_at(std::min(w->deadline, now + period));
      WatchLoop(std::move(w), period);
    });
  }

  // Per-connection state. The upstream connection (keep-alive) belongs to the client
  // connection and runs on its thread, so a stream is never used from two threads.
  struct Conn {
    Socket stream;
    geoip::IpAddress peer;
    std::shared_ptr<Watch> watch;
    size_t pool = 0;           // this thread's index in pools
    Request req;               // the request being served (storage reused by the next)
    std::string out;           // serialized small responses (FormatRaw), proxied response bytes
    std::string upstream_out;  // the serialized upstream request header
    std::string kept;          // the upstream response header lines passed on
    std::string head;          // header lines of an authz answer
    // The last bearer key looked up on this connection, and under which state (a weak
    // reference: compared by owner, never locked; it also keeps the address from reuse).
    std::string memo_authorization;
    std::weak_ptr<const ServingState> memo_state;
    const core::Person* memo_person = nullptr;
    LocationMemo location_memo;
    RecordWait record;  // the request's decision record while it waits for the disk
    std::string record_storage;  // the decision record's buffer, reused request after request
    Conn(Socket&& s, Clock::duration period) : stream(std::move(s)) {
      watch = std::make_shared<Watch>(&stream);
      watch->timer.expires_after(period);
      WatchLoop(watch, period);
    }
    ~Conn() {
      watch->closed = true;
      watch->timer.cancel();
    }
    // Sets the deadline for the next operation, on the client socket or on `other`.
    void Deadline(uint32_t ms, Socket* other = nullptr) {
      watch->socket = other ? other : &stream;
      watch->deadline = Clock::now() + std::chrono::milliseconds(ms);
      watch->fired = false;
    }
    void NoDeadline() {
      watch->socket = &stream;
      watch->deadline = Clock::time_point::max();
    }
    bool TimedOut() const { return watch->fired; }
  };

  // The shortest timeout: how often a connection's watch wakes at most.
  Clock::duration WatchPeriod() const {
    const LimitsConfig& l = cfg.limits;
    uint32_t ms = std::min({l.header_timeout_ms, l.body_timeout_ms, l.idle_timeout_ms, l.write_timeout_ms,
                            cfg.upstream.connect_timeout_ms, cfg.upstream.timeout_ms});
    return std::chrono::milliseconds(std::max<uint32_t>(ms, 1));
  }

  // The caller of a request decided under `state`, with the connection's memos: the bearer key
  // is hashed and looked up only when its bytes or the state changed since the last request.
  Caller MemoCallerOf(const Request& req, Conn& c, const StatePtr& state) {
    Caller caller = CallerOf(req, c);
    caller.location_memo = &c.location_memo;
    if (BearerToken(caller.authorization).empty()) return caller;
    bool same_state = !c.memo_state.owner_before(state) && !state.owner_before(c.memo_state);
    if (c.memo_person && same_state && c.memo_authorization == caller.authorization) {
      caller.person = c.memo_person;
      return caller;
    }
    const core::Person* p = gw->PersonForKey(*state, BearerToken(caller.authorization));
    caller.person = p;
    if (p) {
      c.memo_authorization.assign(caller.authorization);
      c.memo_state = state;
      c.memo_person = p;
    }
    return caller;
  }

  Response MakeResponse(const Request& req, http::status status, std::string body,
                        std::string_view content_type = kJson) {
    Response res{status, req.version()};
    res.set(http::field::server, "eargate");
    if (!body.empty() || status != http::status::no_content) {
      res.set(http::field::content_type, beast::string_view(content_type.data(), content_type.size()));
    }
    res.body() = std::move(body);
    res.keep_alive(req.keep_alive() && !draining.load(std::memory_order_relaxed));
    res.prepare_payload();
    return res;
  }

  awaitable<bool> Write(Conn& c, Response& res) {
    beast::error_code ec;
    c.Deadline(cfg.limits.write_timeout_ms);
    co_await http::async_write(c.stream, res, net::redirect_error(use_awaitable, ec));
    c.NoDeadline();
    if (ec && c.TimedOut()) metrics->CountFailure(Failure::kClientTimeout);
    co_return !ec && res.keep_alive();
  }

  // A bare response for a request that could not be read; the connection closes after it.
  awaitable<void> WriteBare(Conn& c, http::status status, std::string_view message) {
    Response res{status, 11};
    res.set(http::field::server, "eargate");
    res.set(http::field::content_type, "application/json");
    res.body() = ErrorJson("invalid_request_error", "bad_request", message);
    res.keep_alive(false);
    res.prepare_payload();
    beast::error_code ec;
    c.Deadline(cfg.limits.write_timeout_ms);
    co_await http::async_write(c.stream, res, net::redirect_error(use_awaitable, ec));
    c.NoDeadline();
    metrics->CountRequest(Endpoint::kOther, static_cast<int>(status), 0);
  }

  Caller CallerOf(const Request& req, const Conn& c) {
    Caller caller;
    caller.peer = c.peer;
    if (auto it = req.find(http::field::authorization); it != req.end()) caller.authorization = ToView(it->value());
    if (auto it = req.find("X-Eargate-Person"); it != req.end()) caller.person_header = ToView(it->value());
    if (auto it = req.find("X-Forwarded-For"); it != req.end()) caller.forwarded_for = ToView(it->value());
    if (auto it = req.find("X-Eargate-Country"); it != req.end()) caller.declared_country = ToView(it->value());
    return caller;
  }

  void SetDecisionHeaders(Response& res, const Access& a) {
    res.set("X-Eargate-Decision", core::Name(a.outcome).data());
    res.set("X-Eargate-Reason", HeaderSafe(a.reason));
    res.set("X-Eargate-Decision-Id", HeaderSafe(a.decision_id));
    res.set("X-Eargate-Policy", HeaderSafe(a.policy_version));
    if (!a.change.empty()) res.set("X-Eargate-Change", HeaderSafe(a.change));
  }

  // Serializes a complete small response into c.out, for one write: status line, our
  // headers, body. The hot endpoints use it to skip building a beast::http::fields (one
  // allocation per field) and write c.out themselves (a nested coroutine costs a frame).
  // `headers` holds whole lines ("Name: value\r\n"). Returns whether to keep the connection.
  bool FormatRaw(Conn& c, const Request& req, int status, std::string_view headers,
                 std::string_view content_type = {}, std::string_view body = {}) {
    bool keep = req.keep_alive() && !draining.load(std::memory_order_relaxed);
    std::string& out = c.out;
    out.clear();
    out.append(req.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    core::StrAppend(&out, status, " ");
    beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
    out.append(reason.data(), reason.size());
    out.append("\r\nServer: eargate\r\n");
    if (!keep) out.append("Connection: close\r\n");
    else if (req.version() == 10) out.append("Connection: keep-alive\r\n");
    if (!content_type.empty()) core::StrAppend(&out, "Content-Type: ", content_type, "\r\n");
    core::StrAppend(&out, "Content-Length: ", body.size(), "\r\n");
    out.append(headers);
    out.append("\r\n");
    out.append(body);
    return keep;
  }

  static void AddHeader(std::string* h, std::string_view name, std::string_view value) {
    h->append(name);
    h->append(": ");
    AppendHeaderSafe(value, h);
    h->append("\r\n");
  }

  // GET|POST /v1/authz (nginx auth_request, Envoy ext_authz HTTP service).
  // Waits until the access's decision record is durable (no-op without a decision log).
  // Returns false when it could not be written: the caller must not allow.
  // (Checked before calling Record: a coroutine call costs a frame even when it returns at once.)
  bool NeedsRecord(const Access& a) const { return gw->audit_log() && !a.record.empty(); }
  // Appends a's record; true when it is durable. A plain function, not a coroutine: the
  // common path (sync durability) costs one awaitable frame, that of the wait.
  awaitable<bool> Record(Access& a, Conn& c) {
    const bool queued = gw->AppendRecordAsync(a, &c.record);
    c.record_storage.swap(a.record);  // the log copied the record: its buffer serves the next
    if (!queued) return Ready(gw->RecordOk(c.record));
    static_cast<RecordQueue*>(c.record.queue)->ScheduleCommit();
    // Queued: this thread's RecordQueue resumes the coroutine once the record is on disk. It
    // cannot run before the handler is stored: it is posted to this very thread.
    return net::async_initiate<const net::use_awaitable_t<Executor>, void(bool)>(
        [&c](auto handler) { c.record.handler.emplace(std::move(handler)); }, use_awaitable);
  }
  static awaitable<bool> Ready(bool ok) { co_return ok; }

  awaitable<bool> Authz(const Request& req, Conn& c, int* status) {
    const StatePtr& state = gw->state();
    core::Layer layer = core::Layer::kApplication;
    core::Channel channel = core::Channel::kApi;
    if (auto it = req.find("X-Eargate-Layer"); it != req.end()) {
      layer = core::ParseLayer(ToView(it->value())).value_or(layer);
    }
    if (auto it = req.find("X-Eargate-Channel"); it != req.end()) {
      channel = core::ParseChannel(ToView(it->value())).value_or(channel);
    }
    std::string item = AuthzItem(req, *state->policy);
    // A copy, not the per-thread reference: `a` views into the state across co_awaits.
    StatePtr held = state;
    Access a = gw->Authorize(*held, MemoCallerOf(req, c, held), item, layer, channel, &c.record_storage);
    if (NeedsRecord(a) && !co_await Record(a, c)) {
      // No record, no answer but deny (issue 5: a decision is answered once it is on disk).
      a.outcome = core::Outcome::kDeny;
      a.reason = "decision log unavailable";
    }
    std::string& h = c.head;
    h.clear();
    if (a.status == Access::Status::kUnauthenticated) {
      h = "X-Eargate-Decision: deny\r\nX-Eargate-Reason: unknown or missing API key\r\nWWW-Authenticate: Bearer\r\n";
      *status = 401;
    } else if (a.status == Access::Status::kBadRequest) {
      // nginx turns anything but 2xx/401/403 into a 500: a bad header denies with a reason.
      h = "X-Eargate-Decision: deny\r\n";
      AddHeader(&h, "X-Eargate-Reason", a.reason);
      *status = 403;
    } else {
      bool allow = a.outcome == core::Outcome::kAllow;
      AddHeader(&h, "X-Eargate-Decision", core::Name(a.outcome));
      AddHeader(&h, "X-Eargate-Reason", a.reason);
      AddHeader(&h, "X-Eargate-Decision-Id", a.decision_id);
      AddHeader(&h, "X-Eargate-Policy", a.policy_version);
      if (!a.change.empty()) AddHeader(&h, "X-Eargate-Change", a.change);
      if (allow) {
        AddHeader(&h, "X-Eargate-Person", a.person_id);
        AddHeader(&h, "X-Eargate-Item", a.item_id);
      }
      *status = allow ? 200 : 403;
    }
    bool keep = FormatRaw(c, req, *status, h);
    beast::error_code ec;
    c.Deadline(cfg.limits.write_timeout_ms);
    co_await net::async_write(c.stream, net::buffer(c.out), net::redirect_error(use_awaitable, ec));
    c.NoDeadline();
    if (ec && c.TimedOut()) metrics->CountFailure(Failure::kClientTimeout);
    co_return !ec && keep;
  }

  // A JSON endpoint that takes POST only: 405 with Allow otherwise; else handler(&body) gives
  // the status and body.
  template <typename Handler>
  Response PostOnly(const Request& req, Handler handler) {
    if (req.method() != http::verb::post) {
      Response res = MakeResponse(req, http::status::method_not_allowed,
                                  ErrorJson("invalid_request_error", "method_not_allowed", "use POST"));
      res.set(http::field::allow, "POST");
      return res;
    }
    std::string body;
    int st = handler(&body);
    return MakeResponse(req, static_cast<http::status>(st), std::move(body));
  }

  Response Health(const Request& req, Endpoint e) {
    if (e == Endpoint::kHealthz) return MakeResponse(req, http::status::ok, "ok\n", "text/plain");
    if (e == Endpoint::kReadyz) {
      StatePtr s = gw->state();
      if (draining.load() || !s) {
        return MakeResponse(req, http::status::service_unavailable, "draining\n", "text/plain");
      }
      // Every access would be denied: let the load balancer send requests elsewhere.
      if (absl::Status log = gw->AuditLogStatus(); !log.ok()) {
        return MakeResponse(req, http::status::service_unavailable,
                            StrCat("decision log failed: ", std::string(log.message()), "\n"), "text/plain");
      }
      return MakeResponse(req, http::status::ok, StrCat("ready ", s->policy->version(), "\n"),
                          "text/plain");
    }
    StatePtr s = gw->state();
    std::string body = metrics->Render(s->policy->version(), s->people->size());
    if (const store::DecisionLog* log = gw->audit_log()) {
      const store::DecisionLog::Stats st = log->stats();
      Metrics::DecisionLogFigures f;
      f.sync = cfg.audit.durability != "async";
      f.up = log->status().ok();
      f.appended = st.appended;
      f.last_seq = st.last_seq;
      f.syncs = st.syncs;
      f.sync_micros = st.sync_micros;
      f.max_sync_micros = st.max_sync_micros;
      f.sync_bucket_micros.assign(store::DecisionLog::kSyncBucketMicros.begin(),
                                  store::DecisionLog::kSyncBucketMicros.end());
      f.sync_buckets.assign(st.sync_buckets.begin(), st.sync_buckets.end());
      f.segments_opened = st.segments_opened;
      f.segments_preallocated = st.segments_preallocated;
      f.segments_direct = st.segments_direct;
      f.checkpoints = st.checkpoints;
      f.checkpoint_sink_errors = st.checkpoint_sink_errors;
      f.checkpoint_sink_dropped = st.checkpoint_sink_dropped;
      f.pruned_segments = st.pruned_segments;
      f.prune_errors = st.prune_errors;
      f.truncated_bytes = st.truncated_bytes;
      f.shipping = gw->shipping();
      f.shipped_seq = gw->shipped_seq();
      f.shipped_records = gw->shipped_records();
      if (struct statvfs fs; ::statvfs(log->dir().c_str(), &fs) == 0) {
        f.disk_free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
        f.disk_size_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
      }
      if (const store::LogWatch* watch = gw->log_watch()) {
        f.verify_runs = watch->runs();
        f.index_passes = watch->index_passes();
        f.indexes_written = watch->indexes_written();
        f.index_errors = watch->index_errors();
        if (auto run = watch->last(); run && run->report) {
          f.verified = true;
          f.verify_intact = run->intact();
          f.verify_problems = run->report->problems.size();
          f.verify_records = run->report->records;
          f.verify_finished_unix = absl::ToUnixSeconds(run->finished);
          f.verify_seconds = absl::ToDoubleSeconds(run->finished - run->started);
          f.verify_copy_checked = run->copy.has_value();
          f.verify_copy_differences = run->copy ? run->copy->differing : 0;
        }
      }
      Metrics::RenderDecisionLog(f, &body);
    }
    return MakeResponse(req, http::status::ok, std::move(body),
                        "text/plain; version=0.0.4; charset=utf-8");
  }

  // The OpenAI-compatible proxy. Returns whether the connection may be kept.
  awaitable<bool> Proxy(Request& req, Conn& c, Endpoint endpoint, int* status) {
    auto model = ModelOf(req.body());
    if (!model.ok()) {
      metrics->CountFailure(Failure::kBadRequest);
      Response res = MakeResponse(req, http::status::bad_request,
                                  ErrorJson("invalid_request_error", "bad_request", std::string(model.status().message())));
      *status = 400;
      co_return co_await Write(c, res);
    }
    // A copy, not the per-thread reference: `a` views into the state across co_awaits.
    StatePtr state = gw->state();
    Access a = gw->Authorize(*state, MemoCallerOf(req, c, state), *model, core::Layer::kApplication,
                             core::Channel::kApi, &c.record_storage);
    if (NeedsRecord(a) && !co_await Record(a, c)) {
      Response res = MakeResponse(req, http::status::service_unavailable,
                                  ErrorJson("server_error", "audit_log_unavailable",
                                            "the decision could not be recorded; try again"));
      *status = 503;
      co_return co_await Write(c, res);
    }
    if (a.status == Access::Status::kUnauthenticated) {
      Response res = MakeResponse(req, http::status::unauthorized,
                                  ErrorJson("invalid_request_error", "invalid_api_key",
                                            "unknown or missing API key"));
      res.set(http::field::www_authenticate, "Bearer");
      *status = 401;
      co_return co_await Write(c, res);
    }
    if (a.status == Access::Status::kBadRequest) {
      Response res = MakeResponse(req, http::status::bad_request,
                                  ErrorJson("invalid_request_error", "bad_request", a.reason));
      *status = 400;
      co_return co_await Write(c, res);
    }
    if (a.status == Access::Status::kUnknownItem) {
      Response res = MakeResponse(
          req, http::status::not_found,
          ErrorJson("invalid_request_error", "model_not_found",
                    StrCat("The model '", *model, "' does not exist or is not offered through this gateway")));
      *status = 404;
      co_return co_await Write(c, res);
    }
    if (a.outcome != core::Outcome::kAllow) {
      bool review = a.outcome == core::Outcome::kReview;
      Response res = MakeResponse(
          req, http::status::unavailable_for_legal_reasons,
          ErrorJson("export_control", review ? "review_required" : "license_required", a.reason,
                    a.decision_id));
      SetDecisionHeaders(res, a);
      *status = 451;
      co_return co_await Write(c, res);
    }
    if (cfg.upstream.url.empty()) {
      Response res = MakeResponse(req, http::status::service_unavailable,
                                  ErrorJson("upstream_error", "no_upstream", "no upstream is configured"));
      *status = 503;
      co_return co_await Write(c, res);
    }
    co_return co_await Forward(req, c, a, endpoint, status);
  }

  awaitable<bool> UpstreamError(Request& req, Conn& c, Failure f, const beast::error_code& ec, int* status) {
    metrics->CountFailure(f);
    bool timeout = f == Failure::kUpstreamTimeout;
    Log(LogLevel::kWarn, StrCat("upstream ", cfg.upstream.host, ":", cfg.upstream.port, ": ",
                                Name(f), ": ", ec.message()));
    Response res = MakeResponse(
        req, timeout ? http::status::gateway_timeout : http::status::bad_gateway,
        ErrorJson("upstream_error", timeout ? "upstream_timeout" : "upstream_unavailable",
                  timeout ? "the model server did not answer in time" : "the model server is unreachable"));
    *status = timeout ? 504 : 502;
    co_return co_await Write(c, res);
  }

  // Reads from an upstream connection into its buffer, under the upstream timeout.
  awaitable<size_t> ReadUpstream(Conn& c, Upstream& up, beast::error_code& ec) {
    c.Deadline(cfg.upstream.timeout_ms, &up.socket);
    size_t n = co_await up.socket.async_read_some(up.buffer.prepare(16384), net::redirect_error(use_awaitable, ec));
    c.NoDeadline();
    up.buffer.commit(n);
    co_return n;
  }

  awaitable<bool> WriteClient(Conn& c, std::string_view bytes, beast::error_code& ec) {
    c.Deadline(cfg.limits.write_timeout_ms);
    co_await net::async_write(c.stream, net::buffer(bytes.data(), bytes.size()), net::redirect_error(use_awaitable, ec));
    c.NoDeadline();
    if (ec && c.TimedOut()) metrics->CountFailure(Failure::kClientTimeout);
    co_return !ec;
  }

  awaitable<bool> Forward(Request& req, Conn& c, const Access& a, Endpoint endpoint, int* status) {
    metrics->CountUpstreamRequest();
    // The upstream request, serialized by hand into one buffer (the body is sent from the
    // client request's own buffer in the same write): no beast::http::fields allocations.
    std::string& up_head = c.upstream_out;
    up_head.clear();
    core::StrAppend(&up_head, ToView(req.method_string()), " ", cfg.upstream.path_prefix, ToView(req.target()),
                    " HTTP/1.1\r\nHost: ", cfg.upstream.host);
    if (cfg.upstream.port != 80) core::StrAppend(&up_head, ":", cfg.upstream.port);
    up_head.append("\r\n");
    for (const auto& field : req) {
      std::string_view name = ToView(field.name_string());
      if (IsHopByHop(name) || IEquals(name, "authorization") || StartsWithCI(name, "x-eargate-") ||
          IEquals(name, "x-forwarded-for")) {
        continue;
      }
      core::StrAppend(&up_head, name, ": ", ToView(field.value()), "\r\n");
    }
    if (!cfg.upstream.authorization.empty()) core::StrAppend(&up_head, "Authorization: ", cfg.upstream.authorization, "\r\n");
    core::StrAppend(&up_head, "X-Forwarded-For: ", a.client_ip, "\r\nX-Eargate-Person: ", HeaderSafe(a.person_id),
                    "\r\nX-Eargate-Item: ", HeaderSafe(a.item_id), "\r\nX-Eargate-Decision-Id: ", a.decision_id,
                    "\r\nContent-Length: ", req.body().size(), "\r\n\r\n");
    const std::array<net::const_buffer, 2> up_buffers = {net::buffer(up_head), net::buffer(req.body())};

    // An idle connection from this thread's pool, else a new one; a pooled connection the
    // upstream closed meanwhile is retried once on a new one (nothing has been answered yet).
    auto& pool = pools[c.pool];
    constexpr size_t kMaxHead = 64 * 1024;
    std::unique_ptr<Upstream> up;
    beast::error_code ec;
    size_t head_end = 0;
    for (int attempt = 0;; ++attempt) {
      bool reused = attempt == 0 && !pool.empty();
      if (reused) {
        up = std::move(pool.back());
        pool.pop_back();
      } else {
        up = std::make_unique<Upstream>(c.stream.get_executor());
        c.Deadline(cfg.upstream.connect_timeout_ms, &up->socket);
        co_await net::async_connect(up->socket, upstream_endpoints, net::redirect_error(use_awaitable, ec));
        c.NoDeadline();
        if (ec) {
          Failure f = c.TimedOut() ? Failure::kUpstreamTimeout : Failure::kUpstreamConnect;
          co_return co_await UpstreamError(req, c, f, ec, status);
        }
        up->socket.set_option(tcp::no_delay(true), ec);
        ec = {};
      }
      up->buffer.clear();
      c.Deadline(cfg.upstream.timeout_ms, &up->socket);
      co_await net::async_write(up->socket, up_buffers, net::redirect_error(use_awaitable, ec));
      c.NoDeadline();
      // The response header: read until the empty line.
      while (!ec) {
        std::string_view got(static_cast<const char*>(up->buffer.data().data()), up->buffer.size());
        if (size_t e = got.find("\r\n\r\n"); e != std::string_view::npos) {
          head_end = e + 4;
          break;
        }
        if (got.size() > kMaxHead) {
          ec = http::error::header_limit;
          break;
        }
        co_await ReadUpstream(c, *up, ec);
      }
      if (!ec) break;
      bool timed_out = c.TimedOut();
      up.reset();
      if (reused && !timed_out) continue;
      co_return co_await UpstreamError(req, c, timed_out ? Failure::kUpstreamTimeout : Failure::kUpstreamProtocol, ec,
                                       status);
    }

    // The client's header: the upstream's lines minus hop-by-hop ones, our framing and headers.
    UpstreamHead head;
    std::string_view raw(static_cast<const char*>(up->buffer.data().data()), head_end);
    if (!ParseUpstreamHead(raw, &head, &c.kept)) {
      up.reset();
      co_return co_await UpstreamError(req, c, Failure::kUpstreamProtocol, http::error::bad_value, status);
    }
    *status = head.status;
    bool client10 = req.version() == 10;
    bool client_keep = req.keep_alive() && !draining.load(std::memory_order_relaxed);
    bool upstream_keep = !head.close;
    BodyRelay body;
    bool bodiless = head.status / 100 == 1 || head.status == 204 || head.status == 304 ||
                    req.method() == http::verb::head;
    if (bodiless) {
      body.mode = BodyRelay::kNone;
      body.done = true;
    } else if (head.chunked) {
      body.mode = BodyRelay::kChunked;
      body.dechunk = client10;
      if (client10) client_keep = false;
    } else if (head.content_length) {
      body.mode = BodyRelay::kLength;
      body.remaining = *head.content_length;
      body.done = body.remaining == 0;
    } else {
      body.mode = BodyRelay::kUntilEof;  // re-framed as chunks for the client (1.0: until close)
      body.rechunk = !client10;
      if (client10) client_keep = false;
      upstream_keep = false;
    }
    std::string& out = c.out;
    out.clear();
    core::StrAppend(&out, client10 ? "HTTP/1.0" : "HTTP/1.1", head.status_rest, "\r\n");
    out.append(c.kept);
    if (body.mode == BodyRelay::kChunked && !client10) out.append("Transfer-Encoding: chunked\r\n");
    if (body.mode == BodyRelay::kUntilEof && !client10) out.append("Transfer-Encoding: chunked\r\n");
    if (!client_keep) out.append("Connection: close\r\n");
    else if (client10) out.append("Connection: keep-alive\r\n");
    core::StrAppend(&out, "X-Eargate-Decision: allow\r\nX-Eargate-Decision-Id: ", a.decision_id, "\r\n");
    if (!a.change.empty()) AddHeader(&out, "X-Eargate-Change", a.change);
    out.append("\r\n");
    up->buffer.consume(head_end);

    // The body: each read from the upstream is written to the client before the next read, so
    // server-sent events pass through one by one. A small body of known length (a completion)
    // is gathered first and written with the header in one write.
    constexpr uint64_t kWholeBodyLimit = 256 * 1024;
    bool gather = body.mode == BodyRelay::kLength && body.remaining <= kWholeBodyLimit;
    bool answered = false;
    for (;;) {
      if (up->buffer.size() > 0 && !body.done) {
        size_t k = body.Feed(static_cast<const char*>(up->buffer.data().data()), up->buffer.size(), &out);
        up->buffer.consume(k);
      }
      if (body.error) {
        ec = http::error::bad_chunk;
      } else if ((body.done || !gather) && !out.empty()) {
        if (!co_await WriteClient(c, out, ec)) co_return false;
        answered = true;
        out.clear();
      }
      if (body.done || ec) break;
      size_t n = co_await ReadUpstream(c, *up, ec);
      if (ec == net::error::eof && n == 0) {
        ec = {};
        body.Eof(&out);
        upstream_keep = false;
        if (body.error) ec = http::error::partial_message;
      }
      if (ec) break;
    }
    if (ec) {
      bool timed_out = c.TimedOut();
      up.reset();
      if (!answered) {
        co_return co_await UpstreamError(req, c, timed_out ? Failure::kUpstreamTimeout : Failure::kUpstreamProtocol,
                                         ec, status);
      }
      // The status line is gone: all we can do is cut the stream, which the client sees as a
      // truncated response.
      metrics->CountFailure(timed_out ? Failure::kUpstreamTimeout : Failure::kUpstreamProtocol);
      Log(LogLevel::kWarn, StrCat("upstream failed mid-response: ", ec.message()));
      co_return false;
    }
    if (upstream_keep && up->buffer.size() == 0 && pool.size() < cfg.upstream.max_idle_connections) {
      pool.push_back(std::move(up));
    }
    (void)endpoint;
    co_return client_keep;
  }

  // One request: route, answer, count. Returns whether the connection may be kept.
  awaitable<bool> Handle(Request& req, Conn& c, Clock::time_point t0) {
    std::string_view target = ToView(req.target());
    std::string_view path = target.substr(0, target.find('?'));
    Route route = RouteFor(path);
    int status = 500;
    bool keep = false;
    bool failed = false;
    try {
      if (route.proxy) {
        if (req.method() != http::verb::post) {
          Response res = MakeResponse(req, http::status::method_not_allowed,
                                      ErrorJson("invalid_request_error", "method_not_allowed", "use POST"));
          res.set(http::field::allow, "POST");
          status = 405;
          keep = co_await Write(c, res);
        } else {
          keep = co_await Proxy(req, c, route.endpoint, &status);
        }
      } else {
        Response res;
        bool written = false;
        switch (route.endpoint) {
          case Endpoint::kAuthz:
            keep = co_await Authz(req, c, &status);
            written = true;
            break;
          case Endpoint::kDecide:
            res = PostOnly(req, [&](std::string* body) { return gw->Decide(req.body(), body); });
            break;
          case Endpoint::kScreen:
            res = PostOnly(req, [&](std::string* body) { return gw->Screen(CallerOf(req, c), req.body(), body); });
            break;
          case Endpoint::kAdmin: {
            std::string body;
            Caller caller = CallerOf(req, c);
            const bool search = AdminApi::IsDecisionSearch(ToView(req.method_string()), ToView(req.target()));
            int st = co_await net::co_spawn(
                search ? AdminThreads().search : AdminThreads().changes,
                [&]() -> net::awaitable<int> {  // on the pool's executor, not an io_context's
                  co_return gw->Admin(ToView(req.method_string()), ToView(req.target()), caller, req.body(), &body);
                },
                use_awaitable);
            res = MakeResponse(req, static_cast<http::status>(st), std::move(body));
            break;
          }
          case Endpoint::kModels: {
            std::string body;
            int st = gw->Models(CallerOf(req, c), &body);
            res = MakeResponse(req, static_cast<http::status>(st), std::move(body));
            break;
          }
          case Endpoint::kHealthz:
          case Endpoint::kReadyz:
          case Endpoint::kMetrics:
            res = Health(req, route.endpoint);
            break;
          default:
            res = MakeResponse(req, http::status::not_found,
                               ErrorJson("invalid_request_error", "not_found",
                                         StrCat("no such endpoint: ", HeaderSafe(path, 200))));
        }
        if (!written) {
          status = res.result_int();
          keep = co_await Write(c, res);
        }
      }
    } catch (const std::exception& e) {
      failed = true;
      metrics->CountFailure(Failure::kInternal);
      Log(LogLevel::kError, StrCat("internal error on ", HeaderSafe(path, 200), ": ", e.what()));
    }
    if (failed) {
      // Fail closed: 500 (authz: 403 so nginx denies) unless fail_open says otherwise.
      Response res;
      if (route.endpoint == Endpoint::kAuthz) {
        bool open = cfg.fail_open;
        if (open) metrics->CountFailure(Failure::kFailOpen);
        res = MakeResponse(req, open ? http::status::ok : http::status::forbidden, "");
        res.set("X-Eargate-Decision", open ? "allow" : "deny");
        res.set("X-Eargate-Reason", open ? "gateway error; fail_open is set" : "gateway error");
      } else {
        res = MakeResponse(req, http::status::internal_server_error,
                           ErrorJson("server_error", "internal", "internal gateway error"));
      }
      res.keep_alive(false);
      status = res.result_int();
      co_await Write(c, res);
      keep = false;
    }
    double took = std::chrono::duration<double>(Clock::now() - t0).count();
    metrics->CountRequest(route.endpoint, status, took);
    if (cfg.access_log) {
      Log(LogLevel::kInfo, StrCat(c.peer.ToString(), " \"", ToView(req.method_string()), " ",
                                  HeaderSafe(path, 200), "\" ", status, " ",
                                  static_cast<int64_t>(took * 1e6), "us"));
    }
    co_return keep;
  }

  awaitable<void> Session(Socket socket, size_t pool) {
    metrics->ConnectionOpened();
    struct Closed {
      Metrics* m;
      ~Closed() { m->ConnectionClosed(); }
    } closed{metrics};
    beast::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    Conn c(std::move(socket), WatchPeriod());
    c.pool = pool;
    c.record.queue = record_queues[pool].get();
    if (remote.address().is_v4()) {
      c.peer = geoip::IpAddress::FromV4(remote.address().to_v4().to_uint());
    } else {
      c.peer = geoip::IpAddress::FromV6(remote.address().to_v6().to_bytes());
    }
    beast::flat_buffer buffer;
    const LimitsConfig& limits = cfg.limits;
    try {
      for (bool first = true;; first = false) {
        RequestParser parser(&c.req, limits.max_body_bytes);
        parser.header_limit(limits.max_header_bytes);
        c.Deadline(first || buffer.size() > 0 ? limits.header_timeout_ms : limits.idle_timeout_ms);
        co_await http::async_read_header(c.stream, buffer, parser, net::redirect_error(use_awaitable, ec));
        c.NoDeadline();
        if (c.TimedOut() && ec) ec = beast::error::timeout;
        if (ec) {
          if (ec == http::error::end_of_stream || ec == net::error::eof ||
              ec == net::error::connection_reset || ec == net::error::operation_aborted) {
            break;
          }
          if (ec == beast::error::timeout) {
            // A client that started a request and stalled gets a 408; an idle one just goes.
            if (parser.got_some() || buffer.size() > 0) {
              metrics->CountFailure(Failure::kClientTimeout);
              co_await WriteBare(c, http::status::request_timeout, "request header not received in time");
            }
            break;
          }
          if (ec == http::error::header_limit) {
            metrics->CountFailure(Failure::kHeaderTooLarge);
            co_await WriteBare(c, http::status::request_header_fields_too_large,
                               StrCat("request header larger than ", limits.max_header_bytes, " bytes"));
            break;
          }
          if (ec == http::error::body_limit) {
            metrics->CountFailure(Failure::kBodyTooLarge);
            co_await WriteBare(c, http::status::payload_too_large,
                               StrCat("request body larger than ", limits.max_body_bytes, " bytes"));
            break;
          }
          metrics->CountFailure(Failure::kBadRequest);
          co_await WriteBare(c, http::status::bad_request, StrCat("malformed HTTP request: ", ec.message()));
          break;
        }
        auto t0 = Clock::now();
        metrics->RequestStarted();
        struct Finished {
          Metrics* m;
          ~Finished() { m->RequestFinished(); }
        } finished{metrics};
        const Request& hdr = c.req;
        if (auto cl = parser.content_length(); cl && *cl > limits.max_body_bytes) {
          metrics->CountFailure(Failure::kBodyTooLarge);
          co_await WriteBare(c, http::status::payload_too_large,
                             StrCat("request body larger than ", limits.max_body_bytes, " bytes"));
          break;
        }
        if (auto it = hdr.find(http::field::expect); it != hdr.end() && IEquals(ToView(it->value()), "100-continue")) {
          http::response<http::empty_body> cont{http::status::continue_, hdr.version()};
          c.Deadline(limits.write_timeout_ms);
          co_await http::async_write(c.stream, cont, net::redirect_error(use_awaitable, ec));
          c.NoDeadline();
          if (ec) break;
        }
        if (!parser.is_done()) {
          c.Deadline(limits.body_timeout_ms);
          co_await http::async_read(c.stream, buffer, parser, net::redirect_error(use_awaitable, ec));
          c.NoDeadline();
          if (c.TimedOut() && ec) ec = beast::error::timeout;
          if (ec) {
            if (ec == http::error::body_limit) {
              metrics->CountFailure(Failure::kBodyTooLarge);
              co_await WriteBare(c, http::status::payload_too_large,
                                 StrCat("request body larger than ", limits.max_body_bytes, " bytes"));
            } else if (ec == beast::error::timeout) {
              metrics->CountFailure(Failure::kClientTimeout);
              co_await WriteBare(c, http::status::request_timeout, "request body not received in time");
            } else if (ec != http::error::end_of_stream && ec != net::error::eof &&
                       ec != net::error::connection_reset) {
              metrics->CountFailure(Failure::kBadRequest);
              co_await WriteBare(c, http::status::bad_request, StrCat("malformed request body: ", ec.message()));
            }
            break;
          }
        }
        bool keep = co_await Handle(c.req, c, t0);
        if (!keep || draining.load(std::memory_order_relaxed)) break;
      }
    } catch (const std::exception& e) {
      metrics->CountFailure(Failure::kInternal);
      Log(LogLevel::kError, StrCat("connection error: ", e.what()));
    }
    c.stream.shutdown(Socket::shutdown_send, ec);
  }

  // Accepts on `acceptor`; sessions run on `contexts[i]` (round robin when `spread`, else
  // on the acceptor's own context). One thread runs each context: no strands needed.
  awaitable<void> Accept(Acceptor& acceptor, net::io_context& own, size_t own_index, bool spread) {
    size_t next = 0;
    for (;;) {
      size_t index = spread ? next++ % contexts.size() : own_index;
      net::io_context& target = *contexts[index];
      Socket socket(target.get_executor());
      beast::error_code ec;
      co_await acceptor.async_accept(socket, net::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!acceptor.is_open() || ec == net::error::operation_aborted) co_return;
        Log(LogLevel::kWarn, StrCat("accept: ", ec.message()));
        Timer t(own.get_executor(), std::chrono::milliseconds(50));  // EMFILE and friends
        co_await t.async_wait(net::redirect_error(use_awaitable, ec));
        continue;
      }
      if (metrics->connections_active() >= static_cast<int64_t>(cfg.limits.max_connections)) {
        metrics->CountFailure(Failure::kOverloaded);
        socket.close(ec);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto ex = socket.get_executor();
      net::co_spawn(ex, Session(std::move(socket), index), net::detached);
    }
  }

  // Runs on the main context.
  void BeginDrain() {
    if (draining.exchange(true)) return;
    Log(LogLevel::kInfo, "shutting down: no new connections; finishing requests in flight");
    for (size_t i = 0; i < acceptors.size(); ++i) {
      net::post(acceptors[i]->get_executor(), [a = acceptors[i].get()] {
        beast::error_code ec;
        a->close(ec);
      });
    }
    net::co_spawn(main(), DrainThenStop(), net::detached);
  }

  awaitable<void> DrainThenStop() {
    auto deadline = Clock::now() + std::chrono::milliseconds(cfg.limits.drain_timeout_ms);
    Timer t(main().get_executor());
    while (metrics->in_flight() > 0 && Clock::now() < deadline) {
      t.expires_after(std::chrono::milliseconds(20));
      beast::error_code ec;
      co_await t.async_wait(net::redirect_error(use_awaitable, ec));
    }
    if (metrics->in_flight() > 0) {
      Log(LogLevel::kWarn, StrCat("drain timeout: closing ", metrics->in_flight(), " requests in flight"));
    }
    Log(LogLevel::kInfo, "stopped");
    for (auto& c : contexts) c->stop();
  }

  void WaitSignal() {
    signals->async_wait([this](const beast::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        gw->RequestReload();
        WaitSignal();
        return;
      }
      BeginDrain();
    });
  }
};

HttpServer::HttpServer(Gateway* gateway, Metrics* metrics)
    : impl_(std::make_unique<Impl>(gateway, metrics)) {}

HttpServer::~HttpServer() = default;

uint16_t HttpServer::port() const { return impl_->port; }

absl::Status HttpServer::Listen() {
  Impl& s = *impl_;
  const Config& cfg = s.cfg;
  unsigned n = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    s.contexts.push_back(std::make_unique<net::io_context>(1));
    s.record_queues.push_back(std::make_unique<Impl::RecordQueue>(&s, s.contexts.back().get()));
  }
  s.pools.resize(n);
  try {
    beast::error_code ec;
    tcp::resolver resolver(s.main());
    auto listen = resolver.resolve(cfg.listen.host, std::to_string(cfg.listen.port),
                                   tcp::resolver::passive, ec);
    if (ec || listen.empty()) {
      return absl::InvalidArgumentError(StrCat("listen: cannot resolve '", cfg.listen.host, "': ", ec.message()));
    }
    tcp::endpoint ep = listen.begin()->endpoint();
    using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    for (unsigned i = 0; i < n; ++i) {
      auto acceptor = std::make_unique<Acceptor>(s.contexts[i]->get_executor());
      acceptor->open(ep.protocol());
      acceptor->set_option(net::socket_base::reuse_address(true));
      acceptor->set_option(reuse_port(true), ec);
      if (i > 0) ep.port(s.port);
      acceptor->bind(ep, ec);
      if (ec) {
        if (i == 0) {
          return absl::UnavailableError(StrCat("listen: cannot bind ", cfg.listen.host, ":", cfg.listen.port,
                                               ": ", ec.message()));
        }
        break;  // no SO_REUSEPORT: one acceptor spreads connections over the contexts
      }
      acceptor->listen(net::socket_base::max_listen_connections);
      if (i == 0) s.port = acceptor->local_endpoint().port();
      s.acceptors.push_back(std::move(acceptor));
    }
    if (!cfg.upstream.url.empty()) {
      s.upstream_endpoints = resolver.resolve(cfg.upstream.host, std::to_string(cfg.upstream.port), ec);
      if (ec) {
        return absl::InvalidArgumentError(StrCat("upstream.url: cannot resolve '", cfg.upstream.host,
                                                 "': ", ec.message()));
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(StrCat("listen: ", e.what()));
  }
  return absl::OkStatus();
}

void HttpServer::Run(bool handle_signals) {
  Impl& s = *impl_;
  if (handle_signals) {
    s.signals.emplace(s.main(), SIGTERM, SIGINT, SIGHUP);
    s.WaitSignal();
  }
  bool spread = s.acceptors.size() < s.contexts.size();
  for (size_t i = 0; i < s.acceptors.size(); ++i) {
    net::co_spawn(*s.contexts[i], s.Accept(*s.acceptors[i], *s.contexts[i], i, spread), net::detached);
  }
  Log(LogLevel::kInfo, StrCat("listening on ", s.cfg.listen.host, ":", s.port, " with ", s.contexts.size(),
                              " threads, ", s.acceptors.size(), " acceptors; upstream ",
                              s.cfg.upstream.url.empty() ? "(none)" : s.cfg.upstream.url));
  auto run = [&s](net::io_context& ioc) {
    // Contexts without an acceptor (the fallback) must not return before work arrives.
    auto guard = net::make_work_guard(ioc);
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        s.metrics->CountFailure(Failure::kInternal);
        Log(LogLevel::kError, StrCat("I/O thread: ", e.what()));
      }
    }
  };
  std::vector<std::thread> threads;
  // The main thread (context 0) keeps the process's name, which pgrep and ps look for.
  for (size_t i = 1; i < s.contexts.size(); ++i) {
    threads.emplace_back([&run, &s, i] {
      core::SetThreadName(StrCat("eg-io-", i));
      run(*s.contexts[i]);
    });
  }
  run(s.main());
  for (auto& t : threads) t.join();
  // Records still in flight (a drain timeout) are delivered now, not into queues whose
  // threads are gone after Run returns.
  if (store::DecisionLog* log = s.gw->audit_log()) (void)log->Flush();
}

void HttpServer::Stop() {
  net::post(impl_->main(), [this] { impl_->BeginDrain(); });
}

}  // namespace eargate::server
