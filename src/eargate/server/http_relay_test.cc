#include "eargate/server/http_relay.h"

#include <gtest/gtest.h>

#include <string>

namespace eargate::server {
namespace {

TEST(ParseUpstreamHead, KeepsEndToEndLinesAndDropsHopByHop) {
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: application/json\r\n"
      "Connection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\n"
      "X-Eargate-Decision: deny\r\n"
      "X-Request-Id: abc\r\n"
      "Content-Length: 12\r\n"
      "\r\n";
  UpstreamHead h;
  std::string kept;
  ASSERT_TRUE(ParseUpstreamHead(head, &h, &kept));
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.status_rest, " 200 OK");
  EXPECT_FALSE(h.http10);
  EXPECT_FALSE(h.close);
  EXPECT_FALSE(h.chunked);
  ASSERT_TRUE(h.content_length.has_value());
  EXPECT_EQ(*h.content_length, 12u);
  EXPECT_EQ(kept, "Content-Type: application/json\r\nX-Request-Id: abc\r\nContent-Length: 12\r\n");
}

TEST(ParseUpstreamHead, ChunkedOverridesLengthAndConnectionCloseIsSeen) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: Close\r\n\r\n";
  UpstreamHead h;
  std::string kept;
  ASSERT_TRUE(ParseUpstreamHead(head, &h, &kept));
  EXPECT_TRUE(h.chunked);
  EXPECT_FALSE(h.content_length.has_value());
  EXPECT_TRUE(h.close);
  EXPECT_EQ(kept, "");
}

TEST(ParseUpstreamHead, ConnectionTokensInAList) {
  UpstreamHead h;
  std::string kept;
  ASSERT_TRUE(ParseUpstreamHead("HTTP/1.1 200 OK\r\nConnection: upgrade , CLOSE\r\nContent-Length: 0\r\n\r\n", &h, &kept));
  EXPECT_TRUE(h.close);
  UpstreamHead k;
  ASSERT_TRUE(ParseUpstreamHead("HTTP/1.1 200 OK\r\nConnection: closed, keep-alive\r\nContent-Length: 0\r\n\r\n", &k, &kept));
  EXPECT_FALSE(k.close);
}

TEST(ParseUpstreamHead, Http10ClosesUnlessKeepAlive) {
  UpstreamHead h;
  std::string kept;
  ASSERT_TRUE(ParseUpstreamHead("HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n", &h, &kept));
  EXPECT_TRUE(h.http10);
  EXPECT_EQ(h.status, 404);
  EXPECT_TRUE(h.close);
  UpstreamHead k;
  ASSERT_TRUE(ParseUpstreamHead("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", &k, &kept));
  EXPECT_FALSE(k.close);
}

TEST(ParseUpstreamHead, RejectsMalformedHeaders) {
  UpstreamHead h;
  std::string kept;
  EXPECT_FALSE(ParseUpstreamHead("HTTP/2 200 OK\r\n\r\n", &h, &kept));
  EXPECT_FALSE(ParseUpstreamHead("HTTP/1.1 2x0 OK\r\n\r\n", &h, &kept));
  EXPECT_FALSE(ParseUpstreamHead("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", &h, &kept));
  EXPECT_FALSE(ParseUpstreamHead("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", &h, &kept));
  EXPECT_FALSE(ParseUpstreamHead("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", &h, &kept));
  EXPECT_FALSE(ParseUpstreamHead("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &h, &kept));
}

TEST(ChunkScanner, FindsTheEndAcrossArbitrarySplits) {
  const std::string body = "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n";
  for (size_t split = 0; split <= body.size(); ++split) {
    ChunkScanner s;
    std::string data;
    size_t a = s.Feed(body.data(), split, &data);
    EXPECT_EQ(a, split);
    size_t b = s.Feed(body.data() + split, body.size() - split, &data);
    EXPECT_EQ(a + b, body.size()) << "split at " << split;
    EXPECT_TRUE(s.done());
    EXPECT_EQ(data, "hello world");
  }
}

TEST(ChunkScanner, StopsAtTheEndOfTheBody) {
  const std::string bytes = "3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n";
  ChunkScanner s;
  EXPECT_EQ(s.Feed(bytes.data(), bytes.size(), nullptr), 13u);
  EXPECT_TRUE(s.done());
}

TEST(ChunkScanner, RejectsBadFraming) {
  for (std::string bad : {"x\r\n", "\r\n", "3\r\nabcX", "3\nabc"}) {
    ChunkScanner s;
    s.Feed(bad.data(), bad.size(), nullptr);
    EXPECT_TRUE(s.error()) << bad;
  }
}

TEST(BodyRelay, LengthStopsAtTheLength) {
  BodyRelay r;
  r.mode = BodyRelay::kLength;
  r.remaining = 4;
  std::string out;
  EXPECT_EQ(r.Feed("abcdef", 6, &out), 4u);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(out, "abcd");
}

TEST(BodyRelay, UntilEofIsRechunkedForHttp11) {
  BodyRelay r;
  r.mode = BodyRelay::kUntilEof;
  r.rechunk = true;
  std::string out;
  r.Feed("first part ", 11, &out);
  r.Feed("second", 6, &out);
  EXPECT_FALSE(r.done);
  r.Eof(&out);
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(out, "b\r\nfirst part \r\n6\r\nsecond\r\n0\r\n\r\n");
}

TEST(BodyRelay, ChunkedIsDechunkedForHttp10AndEofMidBodyIsAnError) {
  BodyRelay r;
  r.mode = BodyRelay::kChunked;
  r.dechunk = true;
  std::string out;
  r.Feed("5\r\nhello\r\n", 10, &out);
  EXPECT_EQ(out, "hello");
  EXPECT_FALSE(r.done);
  r.Eof(&out);
  EXPECT_TRUE(r.error);
}

}  // namespace
}  // namespace eargate::server
