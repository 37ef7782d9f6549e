// SHA-256 (OpenSSL EVP) for policy versions, API-key hashes and the audit chain.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace eargate::core {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental hasher. Not thread-safe; one per thread.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  Sha256Digest Finish();

 private:
  void* ctx_;
};

Sha256Digest Sha256Of(std::string_view data);
std::string HexEncode(const uint8_t* data, size_t n);
inline std::string HexEncode(const Sha256Digest& d) { return HexEncode(d.data(), d.size()); }
std::string Sha256Hex(std::string_view data);

}  // namespace eargate::core
