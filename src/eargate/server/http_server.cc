// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "eargate/server/http_server.h"

#include <simdjson.h>

#include <array>
#include <atomic>
#include <limits>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "eargate/core/json.h"
#include "eargate/core/strings.h"
#include "eargate/server/log.h"

namespace eargate::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;
using core::StrCat;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr std::string_view kJson = "application/json";

std::string_view ToView(beast::string_view v) { return std::string_view(v.data(), v.size()); }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

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
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // acceptors[i] runs on contexts[i]
  net::io_context& main() { return *contexts[0]; }
  std::optional<net::signal_set> signals;
  tcp::resolver::results_type upstream_endpoints;
  std::atomic<bool> draining{false};
  uint16_t port = 0;

  // The connection's one deadline. Setting it is a store (no timer operation per request):
  // one timer per connection wakes at the deadline or every `period` (the shortest client
  // timeout, so a deadline set later is never passed unnoticed), and on expiry cancels the
  // socket's pending operation instead of closing it, so that a 408 can still be written.
  // Shared with the timer's handler, which may run after the connection is gone.
  struct Watch {
    explicit Watch(tcp::socket* s) : socket(s), timer(s->get_executor()) {}
    tcp::socket* socket;
    net::steady_timer timer;
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
    tcp::socket stream;
    geoip::IpAddress peer;
    std::shared_ptr<Watch> watch;
    std::optional<beast::tcp_stream> upstream;
    beast::flat_buffer upstream_buffer;
    std::string out;           // serialized small responses (WriteRaw)
    std::string upstream_out;  // the serialized upstream request header
    // The last bearer key looked up on this connection, and under which state (a weak
    // reference: compared by owner, never locked; it also keeps the address from reuse).
    std::string memo_authorization;
    std::weak_ptr<const ServingState> memo_state;
    const core::Person* memo_person = nullptr;
    LocationMemo location_memo;
    Conn(tcp::socket&& s, Clock::duration period) : stream(std::move(s)) {
      watch = std::make_shared<Watch>(&stream);
      watch->timer.expires_after(period);
      WatchLoop(watch, period);
    }
    ~Conn() {
      watch->closed = true;
      watch->timer.cancel();
    }
    void Deadline(uint32_t ms) {
      watch->deadline = Clock::now() + std::chrono::milliseconds(ms);
      watch->fired = false;
    }
    void NoDeadline() { watch->deadline = Clock::time_point::max(); }
    bool TimedOut() const { return watch->fired; }
  };

  // The shortest client timeout: how often a connection's watch wakes at most.
  Clock::duration WatchPeriod() const {
    const LimitsConfig& l = cfg.limits;
    uint32_t ms = std::min({l.header_timeout_ms, l.body_timeout_ms, l.idle_timeout_ms, l.write_timeout_ms});
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
    const core::Person* p = state->people->FindByKey(BearerToken(caller.authorization));
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

  // Writes a complete small response with one write: status line, our headers, body. The
  // hot endpoints use it to skip building a beast::http::fields (one allocation per field).
  // `headers` holds whole lines ("Name: value\r\n").
  awaitable<bool> WriteRaw(Conn& c, const Request& req, int status, std::string_view headers,
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
    beast::error_code ec;
    c.Deadline(cfg.limits.write_timeout_ms);
    co_await net::async_write(c.stream, net::buffer(out), net::redirect_error(use_awaitable, ec));
    c.NoDeadline();
    if (ec && c.TimedOut()) metrics->CountFailure(Failure::kClientTimeout);
    co_return !ec && keep;
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
  awaitable<bool> Record(const Access& a) {
    if (!gw->audit_log() || a.record.empty()) co_return true;
    co_return co_await net::async_initiate<decltype(use_awaitable), void(bool)>(
        [this, &a](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          auto ex = net::get_associated_executor(*h);
          gw->AppendRecordAsync(a, [h, ex](bool ok) {
            net::post(ex, [h, ok]() mutable { (*h)(ok); });
          });
        },
        use_awaitable);
  }

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
    Access a = gw->Authorize(*held, MemoCallerOf(req, c, held), item, layer, channel);
    if (!co_await Record(a)) {
      // No record, no answer but deny (issue 5: a decision is answered once it is on disk).
      a.outcome = core::Outcome::kDeny;
      a.reason = "decision log unavailable";
    }
    std::string h;
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
    co_return co_await WriteRaw(c, req, *status, h);
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
      return MakeResponse(req, http::status::ok, StrCat("ready ", s->policy->version(), "\n"),
                          "text/plain");
    }
    StatePtr s = gw->state();
    return MakeResponse(req, http::status::ok, metrics->Render(s->policy->version(), s->people->size()),
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
                             core::Channel::kApi);
    if (!co_await Record(a)) {
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

  awaitable<bool> Forward(Request& req, Conn& c, const Access& a, Endpoint endpoint, int* status) {
    metrics->CountUpstreamRequest();
    // The upstream request, serialized by hand into one buffer (the body is sent from the
    // client request's own buffer in the same write): no beast::http::fields allocations.
    std::string& up = c.upstream_out;
    up.clear();
    core::StrAppend(&up, ToView(req.method_string()), " ", cfg.upstream.path_prefix, ToView(req.target()),
                    " HTTP/1.1\r\nHost: ", cfg.upstream.host);
    if (cfg.upstream.port != 80) core::StrAppend(&up, ":", cfg.upstream.port);
    up.append("\r\n");
    for (const auto& field : req) {
      std::string_view name = ToView(field.name_string());
      if (IsHopByHop(name) || IEquals(name, "authorization") || StartsWithCI(name, "x-eargate-") ||
          IEquals(name, "x-forwarded-for")) {
        continue;
      }
      core::StrAppend(&up, name, ": ", ToView(field.value()), "\r\n");
    }
    if (!cfg.upstream.authorization.empty()) core::StrAppend(&up, "Authorization: ", cfg.upstream.authorization, "\r\n");
    core::StrAppend(&up, "X-Forwarded-For: ", a.client_ip, "\r\nX-Eargate-Person: ", HeaderSafe(a.person_id),
                    "\r\nX-Eargate-Item: ", HeaderSafe(a.item_id), "\r\nX-Eargate-Decision-Id: ", a.decision_id,
                    "\r\nContent-Length: ", req.body().size(), "\r\n\r\n");
    const std::array<net::const_buffer, 2> up_buffers = {net::buffer(up), net::buffer(req.body())};

    beast::error_code ec;
    std::optional<http::response_parser<http::buffer_body>> parser_slot;
    auto upstream_timeout = std::chrono::milliseconds(cfg.upstream.timeout_ms);
    for (int attempt = 0;; ++attempt) {
      parser_slot.emplace();
      // Not boost::none: Boost 1.74 compares Content-Length against an empty optional as "over".
      parser_slot->body_limit(std::numeric_limits<std::uint64_t>::max());
      bool reused = c.upstream.has_value();
      if (!c.upstream) {
        c.upstream.emplace(c.stream.get_executor());
        c.upstream_buffer.clear();
        c.upstream->expires_after(std::chrono::milliseconds(cfg.upstream.connect_timeout_ms));
        co_await c.upstream->async_connect(upstream_endpoints, net::redirect_error(use_awaitable, ec));
        if (ec) {
          c.upstream.reset();
          co_return co_await UpstreamError(
              req, c, ec == beast::error::timeout ? Failure::kUpstreamTimeout : Failure::kUpstreamConnect, ec,
              status);
        }
        c.upstream->socket().set_option(tcp::no_delay(true), ec);
      }
      c.upstream->expires_after(upstream_timeout);
      co_await net::async_write(*c.upstream, up_buffers, net::redirect_error(use_awaitable, ec));
      if (!ec) {
        co_await http::async_read_header(*c.upstream, c.upstream_buffer, *parser_slot,
                                         net::redirect_error(use_awaitable, ec));
      }
      if (!ec) break;
      c.upstream.reset();
      // A kept-alive connection the upstream closed meanwhile: retry once on a new one
      // (nothing of this request has been answered).
      if (reused && attempt == 0 && ec != beast::error::timeout) continue;
      co_return co_await UpstreamError(
          req, c, ec == beast::error::timeout ? Failure::kUpstreamTimeout : Failure::kUpstreamProtocol, ec,
          status);
    }

    auto& parser = *parser_slot;
    auto& res = parser.get();
    *status = res.result_int();
    bool upstream_keep = res.keep_alive();
    bool client_keep = req.keep_alive() && !draining.load(std::memory_order_relaxed);
    for (std::string_view h : {"Connection", "Keep-Alive", "Proxy-Connection", "Trailer", "Upgrade"}) {
      res.erase(beast::string_view(h.data(), h.size()));
    }
    bool bodiless = res.result_int() / 100 == 1 || res.result() == http::status::no_content ||
                    res.result() == http::status::not_modified || req.method() == http::verb::head;
    if (!bodiless && !parser.content_length() && !parser.chunked()) {
      res.chunked(true);  // an EOF-delimited upstream body is re-framed for the client
      upstream_keep = false;
    }
    res.version(req.version());
    res.keep_alive(client_keep);
    res.set("X-Eargate-Decision", "allow");
    res.set("X-Eargate-Decision-Id", a.decision_id);
    if (!a.change.empty()) res.set("X-Eargate-Change", HeaderSafe(a.change));
    // A small body of known length (a non-streamed completion) is read whole and written with
    // the header in one write: one syscall instead of two, nothing to stream anyway.
    constexpr std::uint64_t kWholeBodyLimit = 256 * 1024;
    if (auto cl = parser.content_length(); !bodiless && cl && *cl <= kWholeBodyLimit) {
      http::response_parser<http::string_body> whole{std::move(parser)};
      whole.body_limit(kWholeBodyLimit);
      c.upstream->expires_after(upstream_timeout);
      co_await http::async_read(*c.upstream, c.upstream_buffer, whole, net::redirect_error(use_awaitable, ec));
      if (ec) {
        c.upstream.reset();
        co_return co_await UpstreamError(
            req, c, ec == beast::error::timeout ? Failure::kUpstreamTimeout : Failure::kUpstreamProtocol, ec,
            status);
      }
      c.Deadline(cfg.limits.write_timeout_ms);
      co_await http::async_write(c.stream, whole.get(), net::redirect_error(use_awaitable, ec));
      c.NoDeadline();
      if (ec) {
        if (c.TimedOut()) metrics->CountFailure(Failure::kClientTimeout);
        c.upstream.reset();
        co_return false;
      }
      if (!upstream_keep) c.upstream.reset();
      co_return client_keep;
    }
    http::response_serializer<http::buffer_body> serializer{res};
    c.Deadline(cfg.limits.write_timeout_ms);
    co_await http::async_write_header(c.stream, serializer, net::redirect_error(use_awaitable, ec));
    c.NoDeadline();
    if (ec) {
      if (c.TimedOut()) metrics->CountFailure(Failure::kClientTimeout);
      c.upstream.reset();
      co_return false;
    }
    // Relay the body as it arrives: each read from the upstream is written to the client
    // before the next read, so server-sent events pass through one by one.
    char buf[16384];
    for (;;) {
      if (!parser.is_done()) {
        res.body().data = buf;
        res.body().size = sizeof(buf);
        c.upstream->expires_after(upstream_timeout);
        co_await http::async_read_some(*c.upstream, c.upstream_buffer, parser,
                                       net::redirect_error(use_awaitable, ec));
        if (ec == http::error::need_buffer) ec = {};
        if (ec == http::error::end_of_stream && parser.is_done()) ec = {};
        if (ec) {
          // The status line is gone: all we can do is cut the stream, which the client sees
          // as a truncated response.
          metrics->CountFailure(ec == beast::error::timeout ? Failure::kUpstreamTimeout
                                                            : Failure::kUpstreamProtocol);
          Log(LogLevel::kWarn, StrCat("upstream failed mid-response: ", ec.message()));
          c.upstream.reset();
          co_return false;
        }
        size_t n = sizeof(buf) - res.body().size;
        if (n == 0 && !parser.is_done()) continue;  // chunk framing only
        res.body().data = n ? buf : nullptr;
        res.body().size = n;
        res.body().more = !parser.is_done();
      } else {
        res.body().data = nullptr;
        res.body().size = 0;
        res.body().more = false;
      }
      c.Deadline(cfg.limits.write_timeout_ms);
      co_await http::async_write(c.stream, serializer, net::redirect_error(use_awaitable, ec));
      c.NoDeadline();
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        if (c.TimedOut()) metrics->CountFailure(Failure::kClientTimeout);
        c.upstream.reset();
        co_return false;
      }
      if (serializer.is_done()) break;
    }
    if (!upstream_keep) c.upstream.reset();
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

  awaitable<void> Session(tcp::socket socket) {
    metrics->ConnectionOpened();
    struct Closed {
      Metrics* m;
      ~Closed() { m->ConnectionClosed(); }
    } closed{metrics};
    beast::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    Conn c(std::move(socket), WatchPeriod());
    if (remote.address().is_v4()) {
      c.peer = geoip::IpAddress::FromV4(remote.address().to_v4().to_uint());
    } else {
      c.peer = geoip::IpAddress::FromV6(remote.address().to_v6().to_bytes());
    }
    beast::flat_buffer buffer;
    const LimitsConfig& limits = cfg.limits;
    try {
      for (bool first = true;; first = false) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(limits.max_header_bytes);
        parser.body_limit(limits.max_body_bytes);
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
        auto& hdr = parser.get();
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
        Request req = parser.release();
        bool keep = co_await Handle(req, c, t0);
        if (!keep || draining.load(std::memory_order_relaxed)) break;
      }
    } catch (const std::exception& e) {
      metrics->CountFailure(Failure::kInternal);
      Log(LogLevel::kError, StrCat("connection error: ", e.what()));
    }
    c.stream.shutdown(tcp::socket::shutdown_send, ec);
  }

  // Accepts on `acceptor`; sessions run on `contexts[i]` (round robin when `spread`, else
  // on the acceptor's own context). One thread runs each context: no strands needed.
  awaitable<void> Accept(tcp::acceptor& acceptor, net::io_context& own, bool spread) {
    size_t next = 0;
    for (;;) {
      net::io_context& target = spread ? *contexts[next++ % contexts.size()] : own;
      tcp::socket socket(target);
      beast::error_code ec;
      co_await acceptor.async_accept(socket, net::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!acceptor.is_open() || ec == net::error::operation_aborted) co_return;
        Log(LogLevel::kWarn, StrCat("accept: ", ec.message()));
        net::steady_timer t(own, std::chrono::milliseconds(50));  // EMFILE and friends
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
      net::co_spawn(ex, Session(std::move(socket)), net::detached);
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
    net::steady_timer t(main());
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
  for (unsigned i = 0; i < n; ++i) s.contexts.push_back(std::make_unique<net::io_context>(1));
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
      auto acceptor = std::make_unique<tcp::acceptor>(*s.contexts[i]);
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
    net::co_spawn(*s.contexts[i], s.Accept(*s.acceptors[i], *s.contexts[i], spread), net::detached);
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
  for (size_t i = 1; i < s.contexts.size(); ++i) threads.emplace_back(run, std::ref(*s.contexts[i]));
  run(s.main());
  for (auto& t : threads) t.join();
}

void HttpServer::Stop() {
  net::post(impl_->main(), [this] { impl_->BeginDrain(); });
}

}  // namespace eargate::server
