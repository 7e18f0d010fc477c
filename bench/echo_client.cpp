// bench_echo_client — one load generator for every echo server (tandem's, asyncio's, uvloop's), so
// that they are compared under the same client. Plain epoll, no tandem code.
//
//   bench_echo_client PORT CONNECTIONS MESSAGES_PER_CONNECTION [SIZE] [THREADS]
//
// THREADS (default 1) spreads the connections over that many client threads, each with its own epoll:
// on a machine with cores to spare, so that the server, not the client, is what gets measured.
// Each connection keeps one message in flight (ping-pong): send SIZE bytes, wait for all SIZE back,
// record the round trip. Prints one JSON line: messages, seconds, messages/s, p50/p99 latency (µs).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::size_t received = 0;
  long remaining = 0;
  Clock::time_point sent_at;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "bench_echo_client: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

/// One thread's share of the connections, driven by its own epoll. Returns the round trips in µs.
std::vector<double> drive(const sockaddr_in& addr, std::size_t nconn, long per_conn, std::size_t size) {
  std::vector<char> payload(size, 'x'), sink(65536);
  std::vector<Conn> conns(nconn);
  std::vector<double> latencies_us;
  latencies_us.reserve(nconn * static_cast<std::size_t>(per_conn));
  int ep = epoll_create1(0);
  for (std::size_t i = 0; i < conns.size(); ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) die("connect");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    conns[i].fd = fd;
    conns[i].remaining = per_conn;
  }
  for (auto& c : conns) {
    c.sent_at = Clock::now();
    if (::send(c.fd, payload.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) die("send");
  }
  std::size_t open = nconn;
  std::vector<epoll_event> events(256);
  while (open > 0) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10'000);
    if (n == 0) {
      std::fprintf(stderr, "bench_echo_client: no reply for 10 s\n");
      std::exit(1);
    }
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[events[k].data.u64];
      for (;;) {
        ssize_t r = ::recv(c.fd, sink.data(), sink.size(), 0);
        if (r > 0) {
          c.received += static_cast<std::size_t>(r);
          continue;
        }
        if (r == 0) {
          std::fprintf(stderr, "bench_echo_client: server closed a connection\n");
          std::exit(1);
        }
        break;  // EAGAIN
      }
      while (c.received >= size && c.remaining > 0) {
        c.received -= size;
        latencies_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - c.sent_at).count());
        if (--c.remaining == 0) {
          --open;
          break;
        }
        c.sent_at = Clock::now();
        if (::send(c.fd, payload.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) die("send");
      }
    }
  }
  for (auto& c : conns) ::close(c.fd);
  ::close(ep);
  return latencies_us;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: bench_echo_client PORT CONNECTIONS MESSAGES_PER_CONNECTION [SIZE] [THREADS]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int nconn = std::atoi(argv[2]);
  const long per_conn = std::atol(argv[3]);
  const std::size_t size = argc > 4 ? static_cast<std::size_t>(std::atol(argv[4])) : 64;
  const int nthreads = argc > 5 ? std::atoi(argv[5]) : 1;
  if (port <= 0 || nconn <= 0 || per_conn <= 0 || size == 0 || nthreads <= 0 || nthreads > nconn) return 2;

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<std::vector<double>> per_thread(static_cast<std::size_t>(nthreads));
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int t = 0; t < nthreads; ++t) {
    // Connections dealt out evenly: thread t drives conns t, t + T, t + 2T, ...
    std::size_t mine = static_cast<std::size_t>(nconn / nthreads + (t < nconn % nthreads ? 1 : 0));
    threads.emplace_back([&, t, mine] { per_thread[static_cast<std::size_t>(t)] = drive(addr, mine, per_conn, size); });
  }
  for (auto& th : threads) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> latencies_us;
  for (auto& v : per_thread) latencies_us.insert(latencies_us.end(), v.begin(), v.end());
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) { return latencies_us[static_cast<std::size_t>(p * (latencies_us.size() - 1))]; };
  std::printf("{\"messages\": %zu, \"seconds\": %.6f, \"per_second\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f}\n",
              latencies_us.size(), seconds, latencies_us.size() / seconds, pct(0.5), pct(0.99));
}
