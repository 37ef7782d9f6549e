// Writing a segment's records with O_DIRECT, past the page cache (doc/audit_log_format.md §6).
// Private to eargate_store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace eargate::store::internal {

// Appends a file's bytes in memory and writes them with O_DIRECT in whole blocks: Flush()
// writes everything appended since the last flush, from the block that holds the end of the
// last flush (written again, with its earlier bytes unchanged) and padded with zeros to the
// end of its last block. Meant for a segment zero-filled ahead: the padding overwrites zeros
// with zeros and every block written is already allocated, so the fdatasync that follows has
// no page to write back and no inode to write, only the cache flush. The bytes never enter the
// page cache: no copy into it, no writeback to walk, no fresh pages to allocate.
// Append and Flush may be called from different threads (one Flush at a time).
class DirectWriter {
 public:
  // The alignment of offsets, lengths and memory: every filesystem that takes O_DIRECT with
  // at most this alignment (statx STATX_DIOALIGN) is used; others are refused.
  static constexpr size_t kBlock = 4096;

  // Opens `path` (which must exist) for O_DIRECT writes from offset `at`; `block_head` is the
  // file's bytes from the start of at's block to `at` (at % kBlock of them), written again
  // unchanged with the first flush. Fails with Unimplemented when its filesystem does not take
  // O_DIRECT with kBlock alignment (tmpfs before Linux 6.6, a device with larger blocks): the
  // caller writes through the page cache.
  static absl::StatusOr<std::unique_ptr<DirectWriter>> Open(const std::string& path, uint64_t at = 0,
                                                            std::string_view block_head = {});
  ~DirectWriter();
  DirectWriter(const DirectWriter&) = delete;
  DirectWriter& operator=(const DirectWriter&) = delete;

  void Append(std::string_view bytes);
  // Writes what was appended before the call. On error the bytes not written are lost with
  // the writer (the log stops at the first failed write).
  absl::Status Flush();
  // Bytes appended in all: the file's data ends there (zeros follow).
  uint64_t end() const;

 private:
  // Memory aligned to kBlock, grown by doubling.
  struct Buffer {
    char* data = nullptr;
    size_t size = 0;
    size_t capacity = 0;
    Buffer() = default;
    Buffer(Buffer&& o) noexcept { *this = std::move(o); }
    Buffer& operator=(Buffer&& o) noexcept;
    ~Buffer();
    void Reserve(size_t n);
    void Append(const char* p, size_t n);
  };
  DirectWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  const int fd_;
  const std::string path_;
  absl::Mutex flush_mu_;  // one Flush at a time
  mutable absl::Mutex mu_;
  Buffer buf_ ABSL_GUARDED_BY(mu_);    // the file's bytes from buf_offset_ on
  uint64_t buf_offset_ ABSL_GUARDED_BY(mu_) = 0;  // a multiple of kBlock
  bool unflushed_ ABSL_GUARDED_BY(mu_) = false;   // appended since the last flush began
  Buffer spare_ ABSL_GUARDED_BY(mu_);  // a written buffer, kept for its capacity
};

}  // namespace eargate::store::internal
