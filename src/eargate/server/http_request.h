// One HTTP/1.1 request as the server reads it, without a heap allocation per request: Beast's
// basic_parser does the parsing (limits, chunked bodies, malformed input), and the request
// line, header fields and body land in storage owned by the client connection and reused by
// every request on it (vectors and strings keep their capacity).
//
//   Request req;                                    // one per connection
//   RequestParser parser(&req, max_body_bytes);     // one per request: req.Reset()s it
//   parser.header_limit(max_header_bytes);
//   co_await http::async_read_header(socket, buffer, parser, ...);
//   req.find(http::field::authorization)            // like beast::http::request's find
//
// The accessors mirror the subset of beast::http::request<string_body> the server uses, so
// handlers read the same. Views stay valid until the next Reset().
// Internal to the server module (included by http_server.cc only).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "eargate/core/strings.h"

namespace eargate::server {

class Request {
 public:
  struct Field {
    boost::beast::http::field id = boost::beast::http::field::unknown;
    std::string_view name_text;
    std::string_view val;
    boost::beast::http::field name() const { return id; }
    std::string_view name_string() const { return name_text; }
    std::string_view value() const { return val; }
  };
  using const_iterator = std::vector<Field>::const_iterator;

  void Reset() {
    method_ = boost::beast::http::verb::unknown;
    version_ = 11;
    keep_alive_ = false;
    text_.clear();
    spans_.clear();
    fields_.clear();
    body_.clear();
  }

  boost::beast::http::verb method() const { return method_; }
  std::string_view method_string() const { return method_string_; }
  std::string_view target() const { return target_; }
  unsigned version() const { return version_; }
  bool keep_alive() const { return keep_alive_; }
  const std::string& body() const { return body_; }
  std::string& body() { return body_; }

  const_iterator begin() const { return fields_.begin(); }
  const_iterator end() const { return fields_.end(); }
  // The first field of that name (case-insensitive), or end().
  const_iterator find(std::string_view name) const {
    for (auto it = fields_.begin(); it != fields_.end(); ++it) {
      if (EqualsCI(it->name_text, name)) return it;
    }
    return fields_.end();
  }
  const_iterator find(boost::beast::http::field id) const {
    for (auto it = fields_.begin(); it != fields_.end(); ++it) {
      if (it->id == id) return it;
    }
    return fields_.end();
  }
  // The value of the first field of that name, "" when absent.
  std::string_view operator[](std::string_view name) const {
    auto it = find(name);
    return it == end() ? std::string_view() : it->val;
  }
  std::string_view operator[](boost::beast::http::field id) const {
    auto it = find(id);
    return it == end() ? std::string_view() : it->val;
  }

 private:
  friend class RequestParser;
  static bool EqualsCI(std::string_view a, std::string_view b) { return core::EqualsIgnoreCase(a, b); }

  // Offsets into text_ while parsing (text_ may grow); views once the header is complete.
  struct Span {
    uint32_t name_at, name_len, value_at, value_len;
  };
  uint32_t Append(std::string_view s) {
    auto at = static_cast<uint32_t>(text_.size());
    text_.append(s.data(), s.size());
    return at;
  }

  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  std::string_view method_string_;
  std::string_view target_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  uint32_t method_at_ = 0, method_len_ = 0, target_at_ = 0, target_len_ = 0;
  std::string text_;  // request line pieces and field names and values
  std::vector<Span> spans_;
  std::vector<Field> fields_;
  std::string body_;
};

// Parses one request into a Request (which it Reset()s). Construct one per request; cheap.
class RequestParser : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser(Request* req, uint64_t body_limit) : req_(req) {
    req_->Reset();
    this->body_limit(body_limit);
  }

 private:
  using error_code = boost::beast::error_code;
  using sv = boost::beast::string_view;
  static std::string_view View(sv s) { return std::string_view(s.data(), s.size()); }

  void on_request_impl(boost::beast::http::verb method, sv method_str, sv target, int version,
                       error_code&) override {
    req_->method_ = method;
    req_->version_ = static_cast<unsigned>(version);
    req_->method_len_ = static_cast<uint32_t>(method_str.size());
    req_->method_at_ = req_->Append(View(method_str));
    req_->target_len_ = static_cast<uint32_t>(target.size());
    req_->target_at_ = req_->Append(View(target));
  }
  void on_response_impl(int, sv, int, error_code& ec) override {
    ec = boost::beast::http::error::bad_version;  // never called for a request parser
  }
  void on_field_impl(boost::beast::http::field id, sv name, sv value, error_code&) override {
    Request::Span span;
    span.name_len = static_cast<uint32_t>(name.size());
    span.name_at = req_->Append(View(name));
    span.value_len = static_cast<uint32_t>(value.size());
    span.value_at = req_->Append(View(value));
    req_->spans_.push_back(span);
    req_->fields_.push_back(Request::Field{id, {}, {}});
  }
  void on_header_impl(error_code&) override {
    const std::string& t = req_->text_;
    req_->method_string_ = std::string_view(t).substr(req_->method_at_, req_->method_len_);
    req_->target_ = std::string_view(t).substr(req_->target_at_, req_->target_len_);
    for (size_t i = 0; i < req_->fields_.size(); ++i) {
      const Request::Span& s = req_->spans_[i];
      req_->fields_[i].name_text = std::string_view(t).substr(s.name_at, s.name_len);
      req_->fields_[i].val = std::string_view(t).substr(s.value_at, s.value_len);
    }
    req_->keep_alive_ = this->keep_alive();
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) override {
    if (content_length && *content_length <= (uint64_t{1} << 26)) {
      req_->body_.reserve(static_cast<size_t>(*content_length));
    }
  }
  std::size_t on_body_impl(sv body, error_code&) override {
    req_->body_.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, sv, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, sv body, error_code&) override {
    req_->body_.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  Request* req_;
};

}  // namespace eargate::server
