// Relaying an upstream HTTP/1.1 response to the client without re-serializing it: the
// response header is parsed only for what the proxy must know (status, framing, connection)
// and its lines are passed on as bytes minus the hop-by-hop ones; the body is passed on as it
// arrives, its framing kept (Content-Length, chunked) or made (chunks for a body that runs to
// the upstream's EOF, de-chunked for an HTTP/1.0 client).
// Internal to the server module (used by http_server.cc; pure string logic, no I/O).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace eargate::server {

// The upstream response header, parsed. Views into the parsed bytes.
struct UpstreamHead {
  int status = 0;
  std::string_view status_rest;  // " 200 OK": the status line after the version
  bool http10 = false;
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool close = false;  // the upstream connection cannot be reused after this response
};

// Parses `head` (the status line through the empty line). The header lines to pass on are
// written to *kept, each with its CRLF: all but Connection, Keep-Alive, Proxy-Connection,
// Trailer, Upgrade, Transfer-Encoding and X-Eargate-* (the gateway sets its own), with
// Content-Length last and only for a body that is not chunked. Returns false for anything
// that is not a well-formed HTTP/1.x response header (obsolete line folding included).
bool ParseUpstreamHead(std::string_view head, UpstreamHead* h, std::string* kept);

// Finds where a chunked body ends (RFC 9112 §7.1), across reads; can collect the chunk data.
class ChunkScanner {
 public:
  // Consumes bytes of p up to the end of the body, appending the chunk data to *data when it
  // is non-null. Returns the bytes consumed; done() or error() tell what stopped it.
  size_t Feed(const char* p, size_t n, std::string* data);
  bool done() const { return state_ == kDone; }
  bool error() const { return state_ == kError; }

 private:
  enum State { kSize, kExtension, kSizeLf, kData, kDataCr, kDataLf, kTrailerStart, kTrailerLine, kTrailerLf, kEndLf, kDone, kError };
  State state_ = kSize;
  uint64_t size_ = 0;
  bool digits_ = false;
};

// How the upstream response body is delimited, and how it is passed on to the client.
struct BodyRelay {
  enum Mode { kNone, kLength, kChunked, kUntilEof } mode = kNone;
  uint64_t remaining = 0;  // kLength
  ChunkScanner chunks;     // kChunked
  bool dechunk = false;    // kChunked to an HTTP/1.0 client: pass the data only
  bool rechunk = false;    // kUntilEof to an HTTP/1.1 client: frame each read as a chunk
  bool done = false;
  bool error = false;

  // Appends what the client gets for these upstream bytes to *out. Returns the bytes consumed
  // (fewer than n only at the end of the body: the rest is not part of this response).
  size_t Feed(const char* p, size_t n, std::string* out);
  // The upstream closed the connection: the end of a kUntilEof body, an error otherwise.
  void Eof(std::string* out);
};

}  // namespace eargate::server
