// A tiny HTTP/1.1 server for the client tests: plain threads and blocking sockets (one thread per
// connection), so it shares nothing with the code under test. Keep-alive, and routes that misbehave
// on purpose:
//
//   /echo            200, body "method=M\nbody=B\nx-test=V" (V: the request's X-Test header);
//                    response header X-Echo-Method: M
//   /bytes/N         200, N bytes of 'a'..'z' repeated
//   /redirect/N      302 to /redirect/N-1; /redirect/0 answers 200 "redirected"
//   /status/N        status N, body "status N"
//   /slow/MS         200 "slow" after MS milliseconds (early if the client goes away)
//   /hold            never answers; counts the client closing the connection (closed_by_client)
//   /truncate        Content-Length 1000, sends 500 bytes, closes
//   /reset           Content-Length 1000, sends 100 bytes, resets (RST)
//   /close           closes without answering
//
// Counters: accepts() connections accepted, max_concurrent() most connections open at once,
// holding() requests parked in /hold now, closed_by_client() clients that went away while waiting.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tandem::http::testing {

class TestServer {
 public:
  TestServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(listen_fd_, 1024) < 0)
      throw std::runtime_error("test server: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~TestServer() { stop(); }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int accepts() const { return accepts_.load(); }
  int max_concurrent() const { return max_open_.load(); }
  int holding() const { return holding_.load(); }
  int closed_by_client() const { return closed_by_client_.load(); }

  /// Stops accepting, wakes every connection thread and joins them all (their sockets are closed).
  void stop() {
    if (stopping_.exchange(true)) return;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
  }

 private:
  struct Request {
    std::string method, path, body;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string header(const std::string& name) const {
      for (auto& [n, v] : headers)
        if (n == name) return v;
      return {};
    }
  };

  void accept_loop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      std::lock_guard lock(mu_);
      if (stopping_) {
        ::close(fd);
        return;
      }
      ++accepts_;
      open_.insert(fd);
      int now = static_cast<int>(open_.size());
      if (now > max_open_) max_open_ = now;
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    std::string buf;
    bool linger_reset = false;
    while (!stopping_) {
      Request req;
      if (!read_request(fd, buf, req)) break;
      if (!respond(fd, req, linger_reset)) break;
      if (req.header("connection") == "close") break;
    }
    {
      std::lock_guard lock(mu_);
      open_.erase(fd);
    }
    if (linger_reset) {
      linger l{1, 0};  // close with RST
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
  }

  static bool read_request(int fd, std::string& buf, Request& req) {
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more(fd, buf)) return false;
    }
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    auto sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) return false;
    req.method = line.substr(0, sp1);
    req.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string field = head.substr(pos, e - pos);
      pos = e + 2;
      auto colon = field.find(':');
      if (colon == std::string::npos) continue;
      std::string name = field.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string value = field.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      req.headers.emplace_back(name, value);
    }
    std::size_t length = 0;
    if (auto cl = req.header("content-length"); !cl.empty()) length = std::stoul(cl);
    while (buf.size() < length)
      if (!read_more(fd, buf)) return false;
    req.body = buf.substr(0, length);
    buf.erase(0, length);
    return true;
  }

  static bool read_more(int fd, std::string& buf) {
    char chunk[16384];
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  static bool send_all(int fd, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  static std::string response(int status, const std::string& body, const std::string& extra = {}) {
    const char* reason = status == 200 ? "OK" : status == 302 ? "Found" : status == 404 ? "Not Found" : "Status";
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n" + extra + "\r\n" + body;
  }

  /// Waits up to `ms` for the client to go away (true) or the time to pass / the server to stop (false).
  bool client_gone_within(int fd, int ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stopping_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (ms >= 0 && left.count() <= 0) return false;
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, ms < 0 ? 50 : static_cast<int>(std::min<long long>(left.count(), 50)));
      if (r > 0) {
        char c;
        if (::recv(fd, &c, 1, MSG_PEEK) <= 0) return true;  // EOF or reset: the client is gone
      }
    }
    return false;
  }

  bool respond(int fd, const Request& req, bool& linger_reset) {
    std::string path = req.path.substr(0, req.path.find('?'));
    auto number_after = [&](const std::string& prefix) { return std::stol(path.substr(prefix.size())); };
    if (path == "/echo") {
      return send_all(fd, response(200, "method=" + req.method + "\nbody=" + req.body + "\nx-test=" + req.header("x-test"),
                                   "X-Echo-Method: " + req.method + "\r\n"));
    }
    if (path.starts_with("/bytes/")) {
      std::string body(static_cast<std::size_t>(number_after("/bytes/")), ' ');
      for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
      return send_all(fd, response(200, body));
    }
    if (path.starts_with("/redirect/")) {
      long n = number_after("/redirect/");
      if (n <= 0) return send_all(fd, response(200, "redirected"));
      return send_all(fd, response(302, "", "Location: /redirect/" + std::to_string(n - 1) + "\r\n"));
    }
    if (path.starts_with("/status/")) {
      int status = static_cast<int>(number_after("/status/"));
      return send_all(fd, response(status, "status " + std::to_string(status)));
    }
    if (path.starts_with("/slow/")) {
      if (client_gone_within(fd, static_cast<int>(number_after("/slow/")))) {
        ++closed_by_client_;
        return false;
      }
      return send_all(fd, response(200, "slow"));
    }
    if (path == "/hold") {
      ++holding_;
      bool gone = client_gone_within(fd, -1);
      --holding_;
      if (gone) ++closed_by_client_;
      return false;
    }
    if (path == "/truncate") {
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(500, 'x'));
      return false;
    }
    if (path == "/reset") {
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(100, 'x'));
      linger_reset = true;
      return false;
    }
    if (path == "/close") return false;
    return send_all(fd, response(404, "no route " + path));
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepts_{0}, max_open_{0}, holding_{0}, closed_by_client_{0};
  std::mutex mu_;
  std::set<int> open_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

/// A port where nothing listens: bound (so nobody else takes it) but not listening.
struct RefusingPort {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  std::uint16_t port = 0;
  RefusingPort() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/"; }
};

/// Descriptors open in this process now (the entries of /proc/self/fd, less the one listing them).
inline int open_fd_count() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n - 1;
}

}  // namespace tandem::http::testing
