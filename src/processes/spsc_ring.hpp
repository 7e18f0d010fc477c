// Private: a single-producer single-consumer byte ring in shared memory, for one pool worker's tasks
// (parent → worker) or results (worker → parent). Records are [u32 length][bytes], wrapping freely.
// Counters are free-running 32-bit byte counts (capacity is a power of two ≤ 2^30), so head/tail are
// also the futex words the two sides sleep on. A record is visible only once `tail` moves past it: a
// writer that dies mid-record leaves nothing half-visible (and the pool discards the ring with it).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tandem::detail {

struct alignas(64) SpscRingHeader {
  alignas(64) std::atomic<std::uint32_t> tail;  // bytes published by the writer
  std::atomic<std::uint32_t> reader_waiting;    // the reader is (about to be) asleep: wake it
  alignas(64) std::atomic<std::uint32_t> head;  // bytes consumed by the reader
  std::atomic<std::uint32_t> writer_waiting;
};

class SpscRing {
 public:
  SpscRing() = default;
  SpscRing(SpscRingHeader* h, char* data, std::uint32_t capacity) : h_(h), data_(data), mask_(capacity - 1) {}

  std::uint32_t capacity() const noexcept { return mask_ + 1; }
  /// Largest payload a record can carry.
  std::uint32_t max_record() const noexcept { return capacity() - 8; }
  SpscRingHeader* header() const noexcept { return h_; }

  // ---- writer ----
  bool fits(std::size_t n) const noexcept {
    std::uint32_t used = h_->tail.load(std::memory_order_relaxed) - h_->head.load(std::memory_order_acquire);
    return n + 4 <= capacity() - used;
  }
  /// Appends one record made of two parts; false (nothing written) if there is no room.
  bool try_write(const void* a, std::size_t na, const void* b, std::size_t nb) noexcept {
    const std::size_t n = na + nb;
    if (!fits(n)) return false;
    std::uint32_t t = h_->tail.load(std::memory_order_relaxed);
    std::uint32_t len = static_cast<std::uint32_t>(n);
    copy_in(t, &len, 4);
    copy_in(t + 4, a, na);
    copy_in(t + 4 + static_cast<std::uint32_t>(na), b, nb);
    h_->tail.store(t + 4 + static_cast<std::uint32_t>(n), std::memory_order_seq_cst);
    return true;
  }
  /// After a write: whether the reader sleeps and must be woken.
  bool reader_needs_wake() const noexcept { return h_->reader_waiting.load(std::memory_order_seq_cst) != 0; }

  // ---- reader ----
  bool empty() const noexcept {
    return h_->tail.load(std::memory_order_acquire) == h_->head.load(std::memory_order_relaxed);
  }
  /// Takes one record into `out`; false if there is none. A corrupt length returns false and sets *corrupt.
  bool try_read(std::vector<char>& out, bool* corrupt = nullptr) {
    std::uint32_t hd = h_->head.load(std::memory_order_relaxed);
    std::uint32_t tl = h_->tail.load(std::memory_order_acquire);
    if (hd == tl) return false;
    std::uint32_t len = 0;
    copy_out(hd, &len, 4);
    if (len > tl - hd - 4 || len > max_record()) {
      if (corrupt) *corrupt = true;
      return false;
    }
    out.resize(len);
    copy_out(hd + 4, out.data(), len);
    h_->head.store(hd + 4 + len, std::memory_order_seq_cst);
    return true;
  }
  bool writer_needs_wake() const noexcept { return h_->writer_waiting.load(std::memory_order_seq_cst) != 0; }

 private:
  void copy_in(std::uint32_t pos, const void* src, std::size_t n) noexcept {
    if (n == 0) return;
    std::uint32_t off = pos & mask_;
    std::size_t first = std::min<std::size_t>(n, capacity() - off);
    std::memcpy(data_ + off, src, first);
    if (first < n) std::memcpy(data_, static_cast<const char*>(src) + first, n - first);
  }
  void copy_out(std::uint32_t pos, void* dst, std::size_t n) const noexcept {
    if (n == 0) return;
    std::uint32_t off = pos & mask_;
    std::size_t first = std::min<std::size_t>(n, capacity() - off);
    std::memcpy(dst, data_ + off, first);
    if (first < n) std::memcpy(static_cast<char*>(dst) + first, data_, n - first);
  }

  SpscRingHeader* h_ = nullptr;
  char* data_ = nullptr;
  std::uint32_t mask_ = 0;
};

}  // namespace tandem::detail
