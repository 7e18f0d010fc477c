// Helpers for the http server tests: a blocking raw-socket client that speaks just enough HTTP/1.1 to
// check answers byte by byte (no HTTP library between the test and the server).
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace tandem::http::testing {

/// Descriptors this process has open now.
inline std::size_t open_fd_count() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    --n;  // the directory stream's own descriptor
  }
  return n;
}

/// Polls `done` up to `limit` times, `step` apart; true once it holds. A bound, never an assertion on
/// how long something took.
template <class F>
bool eventually(F done, int limit = 3000, std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
  for (int i = 0; i < limit; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(step);
  }
  return done();
}

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers, without the blank line
  std::string body;
  bool has_header(std::string_view line) const { return head.find(line) != std::string::npos; }
};

/// One blocking TCP connection to 127.0.0.1:port. Reads give up after 30 s (a broken server fails the
/// test instead of hanging it).
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
      const int err = errno;
      ::close(fd_);
      throw std::runtime_error(std::string("connect: ") + std::strerror(err));
    }
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() { close(); }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  /// Closes with RST instead of FIN (SO_LINGER 0): an abandoned connection, no TIME_WAIT.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }
  int fd() const noexcept { return fd_; }

  /// Sends everything; false if the connection broke.
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// The next response (Content-Length bodies only, which is what the server sends); nullopt at EOF
  /// or on a reset before a whole response arrived.
  std::optional<RawResponse> read_response() {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return std::nullopt;
    RawResponse r;
    r.head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    std::size_t length = 0;
    if (auto p = r.head.find("Content-Length: "); p != std::string::npos) length = std::stoul(r.head.substr(p + 16));
    while (buf_.size() < length)
      if (!fill()) return std::nullopt;
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }
  /// True when the server closed the connection (EOF or reset) with nothing more to read.
  bool closed_by_server() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n;
    do n = ::recv(fd_, &c, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) buf_.push_back(c);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  bool fill() {
    char chunk[16384];
    ssize_t n;
    do n = ::recv(fd_, chunk, sizeof chunk, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

/// "GET <path> HTTP/1.1" with a Host header and optional extra header lines (each ending in \r\n).
inline std::string get(std::string_view path, std::string_view extra = {}) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

/// One request on a fresh connection, the response (nullopt if none came).
inline std::optional<RawResponse> fetch(std::uint16_t port, std::string_view request) {
  RawClient c(port);
  if (!c.send(request)) return std::nullopt;
  return c.read_response();
}

}  // namespace tandem::http::testing
