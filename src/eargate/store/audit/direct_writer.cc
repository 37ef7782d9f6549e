#include "eargate/store/internal/direct_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "eargate/store/internal/segment_io.h"

namespace eargate::store::internal {
namespace {

size_t RoundUp(size_t n) { return (n + DirectWriter::kBlock - 1) & ~(DirectWriter::kBlock - 1); }

}  // namespace

DirectWriter::Buffer& DirectWriter::Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    std::free(data);
    data = std::exchange(o.data, nullptr);
    size = std::exchange(o.size, 0);
    capacity = std::exchange(o.capacity, 0);
  }
  return *this;
}

DirectWriter::Buffer::~Buffer() { std::free(data); }

void DirectWriter::Buffer::Reserve(size_t n) {
  if (n <= capacity) return;
  size_t cap = capacity == 0 ? 64 * kBlock : capacity;
  while (cap < n) cap *= 2;
  void* p = nullptr;
  if (::posix_memalign(&p, kBlock, cap) != 0) throw std::bad_alloc();
  if (size > 0) std::memcpy(p, data, size);
  std::free(data);
  data = static_cast<char*>(p);
  capacity = cap;
}

void DirectWriter::Buffer::Append(const char* p, size_t n) {
  Reserve(size + n);
  std::memcpy(data + size, p, n);
  size += n;
}

absl::StatusOr<std::unique_ptr<DirectWriter>> DirectWriter::Open(const std::string& path, uint64_t at,
                                                                 std::string_view block_head) {
  if (block_head.size() != at % kBlock) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": resuming at offset ", at, " needs the ",
                                                   at % kBlock, " bytes before it in its block"));
  }
  struct statx stx;
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_DIOALIGN, &stx) != 0) return Errno("statx", path);
  if (!(stx.stx_mask & STATX_DIOALIGN) || stx.stx_dio_offset_align == 0 ||
      stx.stx_dio_offset_align > kBlock || stx.stx_dio_mem_align > kBlock) {
    return absl::UnimplementedError(
        absl::StrCat(path, ": the filesystem takes no O_DIRECT writes aligned to ", kBlock, " bytes"));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    if (errno == EINVAL) return absl::UnimplementedError(absl::StrCat(path, ": no O_DIRECT"));
    return Errno("open", path);
  }
  std::unique_ptr<DirectWriter> w(new DirectWriter(fd, path));
  absl::MutexLock lock(&w->mu_);
  w->buf_offset_ = at - block_head.size();
  if (!block_head.empty()) w->buf_.Append(block_head.data(), block_head.size());
  return w;
}

DirectWriter::~DirectWriter() { ::close(fd_); }

void DirectWriter::Append(std::string_view bytes) {
  absl::MutexLock lock(&mu_);
  buf_.Append(bytes.data(), bytes.size());
  unflushed_ = true;
}

uint64_t DirectWriter::end() const {
  absl::MutexLock lock(&mu_);
  return buf_offset_ + buf_.size;
}

absl::Status DirectWriter::Flush() {
  absl::MutexLock flush(&flush_mu_);
  Buffer out;
  uint64_t offset;
  {
    // Take the bytes; appends go on into a buffer that starts with the last, partial block
    // (written now and again by the next flush).
    absl::MutexLock lock(&mu_);
    if (!unflushed_) return absl::OkStatus();
    unflushed_ = false;
    offset = buf_offset_;
    out = std::move(buf_);
    buf_ = std::move(spare_);
    const uint64_t end = offset + out.size;
    const uint64_t tail = end & ~uint64_t{kBlock - 1};
    buf_.Append(out.data + (tail - offset), static_cast<size_t>(end - tail));
    buf_offset_ = tail;
  }
  const size_t n = RoundUp(out.size);
  out.Reserve(n);
  std::memset(out.data + out.size, 0, n - out.size);
  absl::Status s;
  for (size_t done = 0; done < n;) {
    const ssize_t w = ::pwrite(fd_, out.data + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      s = Errno("write", path_);
      break;
    }
    if (w == 0 || static_cast<size_t>(w) % kBlock != 0) {  // a short write must end on a block
      s = absl::InternalError(absl::StrCat("write ", path_, ": short O_DIRECT write"));
      break;
    }
    done += static_cast<size_t>(w);
  }
  absl::MutexLock lock(&mu_);
  out.size = 0;
  spare_ = std::move(out);
  return s;
}

}  // namespace eargate::store::internal
