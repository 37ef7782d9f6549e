#include "eargate/server/http_relay.h"

#include <algorithm>
#include <cstdio>

#include "eargate/core/strings.h"

namespace eargate::server {
namespace {

bool IEquals(std::string_view a, std::string_view b) { return core::EqualsIgnoreCase(a, b); }

bool StartsWithCI(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether a comma-separated header value lists `token` (case-insensitive). No allocation.
bool ContainsTokenCI(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (IEquals(core::StripWhitespace(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

bool ParseUpstreamHead(std::string_view head, UpstreamHead* h, std::string* kept) {
  if (head.size() < 16 || head.substr(0, 7) != "HTTP/1." || (head[7] != '0' && head[7] != '1') ||
      head[8] != ' ' || !IsDigit(head[9]) || !IsDigit(head[10]) || !IsDigit(head[11])) {
    return false;
  }
  h->http10 = head[7] == '0';
  h->status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
  size_t eol = head.find("\r\n");
  h->status_rest = head.substr(8, eol - 8);
  bool keep_alive_token = false;
  kept->clear();
  size_t pos = eol + 2;
  for (;;) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) return false;
    if (end == pos) break;  // the empty line
    std::string_view line = head.substr(pos, end + 2 - pos);
    pos = end + 2;
    if (line[0] == ' ' || line[0] == '\t') return false;  // obsolete line folding
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = line.substr(0, colon);
    std::string_view value = core::StripWhitespace(line.substr(colon + 1, line.size() - 2 - colon - 1));
    if (IEquals(name, "content-length")) {
      uint64_t v = 0;
      if (value.empty() || value.size() > 18) return false;
      for (char c : value) {
        if (!IsDigit(c)) return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      if (h->content_length && *h->content_length != v) return false;
      h->content_length = v;
      continue;  // added below unless the body is chunked
    } else if (IEquals(name, "transfer-encoding")) {
      std::string_view v = value;
      h->chunked = v.size() >= 7 && IEquals(v.substr(v.size() - 7), "chunked");
      if (!h->chunked) h->close = true;  // some other coding: the body runs to EOF
      continue;
    } else if (IEquals(name, "connection")) {
      if (ContainsTokenCI(value, "close")) h->close = true;
      if (ContainsTokenCI(value, "keep-alive")) keep_alive_token = true;
      continue;
    } else if (IEquals(name, "keep-alive") || IEquals(name, "proxy-connection") || IEquals(name, "trailer") ||
               IEquals(name, "upgrade") || StartsWithCI(name, "x-eargate-")) {
      continue;
    }
    kept->append(line);
  }
  if (h->http10 && !keep_alive_token) h->close = true;
  if (h->chunked) h->content_length.reset();  // RFC 9112 §6.3: chunked overrides a length
  if (h->content_length) core::StrAppend(kept, "Content-Length: ", *h->content_length, "\r\n");
  return true;
}

size_t ChunkScanner::Feed(const char* p, size_t n, std::string* data) {
  size_t i = 0;
  while (i < n && state_ != kDone && state_ != kError) {
    char ch = p[i];
    switch (state_) {
      case kSize: {
        int v = HexValue(ch);
        if (v >= 0) {
          if (size_ >> 56) { state_ = kError; break; }
          size_ = size_ * 16 + static_cast<uint64_t>(v);
          digits_ = true;
        } else if (digits_ && (ch == ';' || ch == ' ' || ch == '\t')) {
          state_ = kExtension;
        } else if (digits_ && ch == '\r') {
          state_ = kSizeLf;
        } else {
          state_ = kError;
        }
        ++i;
        break;
      }
      case kExtension:
        if (ch == '\r') state_ = kSizeLf;
        ++i;
        break;
      case kSizeLf:
        state_ = ch != '\n' ? kError : size_ == 0 ? kTrailerStart : kData;
        ++i;
        break;
      case kData: {
        size_t k = static_cast<size_t>(std::min<uint64_t>(size_, n - i));
        if (data) data->append(p + i, k);
        size_ -= k;
        i += k;
        if (size_ == 0) state_ = kDataCr;
        break;
      }
      case kDataCr:
        state_ = ch == '\r' ? kDataLf : kError;
        ++i;
        break;
      case kDataLf:
        state_ = ch == '\n' ? kSize : kError;
        digits_ = false;
        ++i;
        break;
      case kTrailerStart:
        state_ = ch == '\r' ? kEndLf : kTrailerLine;
        ++i;
        break;
      case kTrailerLine:
        if (ch == '\r') state_ = kTrailerLf;
        ++i;
        break;
      case kTrailerLf:
        state_ = ch == '\n' ? kTrailerStart : kError;
        ++i;
        break;
      case kEndLf:
        state_ = ch == '\n' ? kDone : kError;
        ++i;
        break;
      case kDone:
      case kError:
        break;
    }
  }
  return i;
}

size_t BodyRelay::Feed(const char* p, size_t n, std::string* out) {
  switch (mode) {
    case kNone:
      done = true;
      return 0;
    case kLength: {
      size_t k = static_cast<size_t>(std::min<uint64_t>(remaining, n));
      out->append(p, k);
      remaining -= k;
      done = remaining == 0;
      return k;
    }
    case kChunked: {
      size_t k = chunks.Feed(p, n, dechunk ? out : nullptr);
      if (!dechunk) out->append(p, k);
      done = chunks.done();
      error = chunks.error();
      return k;
    }
    case kUntilEof:
      if (n == 0) return 0;
      if (rechunk) {
        char size[20];
        int len = std::snprintf(size, sizeof(size), "%zx\r\n", n);
        out->append(size, static_cast<size_t>(len));
      }
      out->append(p, n);
      if (rechunk) out->append("\r\n");
      return n;
  }
  return 0;
}

void BodyRelay::Eof(std::string* out) {
  if (mode != kUntilEof) {
    error = true;
    return;
  }
  if (rechunk) out->append("0\r\n\r\n");
  done = true;
}

}  // namespace eargate::server
