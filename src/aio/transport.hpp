// Private: the socket/pipe transport shared by StreamReader and StreamWriter, and the one-shot fd wait.
#pragma once

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "tandem/aio/events.hpp"
#include "tandem/aio/exceptions.hpp"
#include "tandem/aio/locks.hpp"
#include "tandem/aio/task.hpp"
#include "../sys/fd.hpp"

namespace tandem::aio {
namespace detail {

inline constexpr std::size_t kDefaultLimit = 64 * 1024;
inline constexpr std::size_t kReadChunk = 64 * 1024;

[[noreturn]] inline void throw_connection_error(int err, const std::string& what) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ECONNREFUSED) throw ConnectionRefusedError(msg + " (is anything listening there?)", err);
  if (err == ECONNRESET || err == EPIPE) throw ConnectionResetError(msg + " (the peer reset the connection)", err);
  throw ConnectionError(msg, err);
}

inline std::string address_string(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

inline void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// A socket being set up, closed unless released: sockets do not leak when a connect is cancelled or
/// fails. The loop may remember the fd in epoll: it forgets it before the close.
struct FdGuard {
  sys::UniqueFd fd;
  EventLoop* loop = nullptr;
  ~FdGuard() {
    if (fd && loop) LoopAccess::forget_fd(*loop, fd.get());
  }
  int get() const noexcept { return fd.get(); }
  int release() noexcept { return fd.release(); }
};

struct AddrInfoDeleter {
  void operator()(addrinfo* ai) const noexcept { freeaddrinfo(ai); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

/// getaddrinfo for a stream socket. With numeric_only it never touches DNS or /etc/hosts (it cannot
/// block) and returns nullptr for a name; otherwise it may block for as long as the resolver takes, so
/// the loop calls it through resolve_off_loop() (streams.cpp), never directly.
inline AddrInfoPtr resolve(const std::string& host, std::uint16_t port, bool passive, bool numeric_only = false) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) | (numeric_only ? AI_NUMERICHOST : 0);
  addrinfo* out = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &out);
  if (rc == EAI_NONAME && numeric_only && !host.empty()) return nullptr;  // a name: needs the resolver
  if (rc != 0) throw ConnectionError("cannot resolve '" + host + "': " + gai_strerror(rc), 0);
  return AddrInfoPtr(out);
}

/// Received bytes not consumed yet. The block is reused and never zero-filled: each fill() hands the
/// kernel a 64 KiB window, and clearing that much per message cost more than the recv itself.
class ReadBuffer {
 public:
  std::size_t size() const noexcept { return end_ - begin_; }
  std::string_view view() const noexcept { return {data_.get() + begin_, size()}; }
  std::string take(std::size_t n) {
    std::string out(data_.get() + begin_, n);
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
    return out;
  }
  /// Room for `n` more bytes after the buffered ones; commit() what was written there.
  char* prepare(std::size_t n) {
    if (cap_ - end_ < n) {
      const std::size_t used = size();
      if (cap_ - used >= n) {
        if (used) std::memmove(data_.get(), data_.get() + begin_, used);
      } else {
        const std::size_t cap = std::max(cap_ * 2, used + n);
        auto bigger = std::make_unique_for_overwrite<char[]>(cap);
        if (used) std::memcpy(bigger.get(), data_.get() + begin_, used);
        data_ = std::move(bigger);
        cap_ = cap;
      }
      begin_ = 0;
      end_ = used;
    }
    return data_.get() + end_;
  }
  void commit(std::size_t n) noexcept { end_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
};

/// Waits once for an fd to become readable or writable.
class FdWait final : FdWaiter, Suspension {
 public:
  FdWait(int fd, bool write) noexcept : write_(write), fd_(fd) {}
  ~FdWait() {
    if (registered_) LoopAccess::cancel_wait_fd(*loop_, fd_, write_, this);
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    loop_ = &bind("stream I/O").loop();
    if (cancelled_before_suspending()) return false;
    LoopAccess::wait_fd(*loop_, fd_, write_, this);
    registered_ = true;
    suspend(h);
    return true;
  }
  void await_resume() const {
    throw_if_cancelled();
    if (aborted_) throw ConnectionError("the connection was closed while a task waited on it", EBADF);
  }
  /// The transport closed under us: wake the task with an error.
  void abort() noexcept {
    if (!registered_) return;
    LoopAccess::cancel_wait_fd(*loop_, fd_, write_, this);
    registered_ = false;
    aborted_ = true;
    wake();
  }

 private:
  void on_fd_ready() noexcept override {
    registered_ = false;
    wake();
  }
  Cancel on_cancel() noexcept override {
    if (registered_) LoopAccess::cancel_wait_fd(*loop_, fd_, write_, this);
    registered_ = false;
    return Cancel::ends_wait;
  }
  // Small members first: they fill Suspension's tail padding.
  bool write_;
  bool registered_ = false;
  bool aborted_ = false;
  int fd_;
  EventLoop* loop_ = nullptr;
};

/// One connected socket shared by a StreamReader and a StreamWriter.
class Transport final : FdWaiter {
 public:
  /// `socket`: false for pipes (read/write instead of recv/send; write_eof closes).
  Transport(EventLoop& loop, int fd, std::string peer, bool socket = true)
      : loop_(&loop), fd_(fd), peer_(std::move(peer)), socket_(socket) {
    drained_.set();
  }
  Transport(const Transport&) = delete;
  ~Transport() { close_now(); }

  // ---- reading ----
  std::size_t available() const noexcept { return rbuf_.size(); }
  std::string_view buffered() const noexcept { return rbuf_.view(); }
  std::string take(std::size_t n) { return rbuf_.take(n); }
  bool eof() const noexcept { return eof_; }
  bool closed() const noexcept { return closed_; }

  /// Reads at least one more byte into the buffer, or sets eof().
  Task<void> fill() {
    for (;;) {
      if (closed_) throw ConnectionError("read from a closed connection", EBADF);
      if (!maybe_readable_) {
        FdWait wait(fd_, false);
        read_wait_ = &wait;
        struct Clear {
          FdWait*& slot;
          ~Clear() { slot = nullptr; }
        } clear{read_wait_};
        co_await wait;
        maybe_readable_ = true;
        continue;
      }
      char* room = rbuf_.prepare(kReadChunk);
      ssize_t n = socket_ ? ::recv(fd_, room, kReadChunk, 0) : ::read(fd_, room, kReadChunk);
      if (n > 0) {
        rbuf_.commit(static_cast<std::size_t>(n));
        // A short read emptied the kernel's queue: the next read waits for readiness instead of
        // paying a recv that would only say EAGAIN (request/response traffic hits this every time).
        maybe_readable_ = static_cast<std::size_t>(n) == kReadChunk;
        co_return;
      }
      if (n == 0) {
        eof_ = true;
        co_return;
      }
      int err = errno;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EWOULDBLOCK) throw_connection_error(err, "read from " + peer_);
      maybe_readable_ = false;
    }
  }

  std::size_t limit = kDefaultLimit;

  // ---- writing ----
  void write(std::string_view data) {
    if (write_error_) std::rethrow_exception(write_error_);
    if (closing_ || closed_) throw ConnectionError("write() after close() on the connection to " + peer_, EPIPE);
    if (data.empty()) return;
    if (pending() == 0) {  // fast path: straight to the kernel
      ssize_t n = send_some(data.data(), data.size());
      if (n < 0) {
        int err = errno;
        if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR) {
          fail(err);
          std::rethrow_exception(write_error_);
        }
        n = 0;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
      if (data.empty()) return;
    }
    wbuf_.append(data);
    drained_.clear();
    arm_flusher();
  }
  std::size_t pending() const noexcept { return wbuf_.size() - wpos_; }
  Task<void> drain() {
    while (pending() > 0 && !write_error_) co_await drained_.wait();
    if (write_error_) std::rethrow_exception(write_error_);
  }
  void write_eof() {
    if (closed_) return;
    if (!socket_) {  // a pipe cannot be half-closed: closing it is the EOF
      close();
      return;
    }
    if (pending() > 0)
      eof_pending_ = true;
    else
      ::shutdown(fd_, SHUT_WR);
  }
  void close() {
    closing_ = true;
    if (pending() == 0 || write_error_) close_now();
  }
  bool is_closing() const noexcept { return closing_ || closed_; }
  Task<void> wait_closed() { co_await closed_event_.wait(); }
  const std::string& peer() const noexcept { return peer_; }

  void close_now() noexcept {
    if (closed_) return;
    closed_ = true;
    if (flusher_armed_) LoopAccess::cancel_wait_fd(*loop_, fd_, true, this);
    flusher_armed_ = false;
    if (read_wait_) read_wait_->abort();
    LoopAccess::forget_fd(*loop_, fd_);
    ::close(fd_);
    wbuf_.clear();
    wpos_ = 0;
    drained_.set();
    closed_event_.set();
  }

 private:
  ssize_t send_some(const char* p, std::size_t n) {
    return socket_ ? ::send(fd_, p, n, MSG_NOSIGNAL) : ::write(fd_, p, n);  // pipes: SIGPIPE is ignored
  }
  void fail(int err) {
    try {
      throw_connection_error(err, "write to " + peer_);
    } catch (...) {
      write_error_ = std::current_exception();
    }
    wbuf_.clear();
    wpos_ = 0;
    drained_.set();
  }
  void arm_flusher() {
    if (flusher_armed_ || closed_) return;
    LoopAccess::wait_fd(*loop_, fd_, true, this);
    flusher_armed_ = true;
  }
  // Writable again: push out what is queued; re-arm while the kernel buffer is full.
  void on_fd_ready() noexcept override {
    flusher_armed_ = false;
    while (pending() > 0) {
      ssize_t n = send_some(wbuf_.data() + wpos_, pending());
      if (n > 0) {
        wpos_ += static_cast<std::size_t>(n);
        continue;
      }
      int err = errno;
      if (n < 0 && err == EINTR) continue;
      if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
        try {
          arm_flusher();
        } catch (...) {
          fail(EIO);
        }
        return;
      }
      fail(err);
      break;
    }
    wbuf_.clear();
    wpos_ = 0;
    drained_.set();
    if (eof_pending_ && !closed_) ::shutdown(fd_, SHUT_WR);  // (pipes close instead: closing_ is set)
    if (closing_) close_now();
  }

  EventLoop* loop_;
  int fd_;
  std::string peer_;
  bool socket_;
  ReadBuffer rbuf_;
  bool maybe_readable_ = true;
  bool eof_ = false;
  FdWait* read_wait_ = nullptr;
  std::string wbuf_;
  std::size_t wpos_ = 0;
  std::exception_ptr write_error_;
  bool flusher_armed_ = false;
  bool eof_pending_ = false;
  bool closing_ = false;
  bool closed_ = false;
  Event drained_;
  Event closed_event_;
};

}  // namespace detail
}  // namespace tandem::aio
