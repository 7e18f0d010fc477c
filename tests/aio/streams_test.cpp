// Specification of TCP streams: open_connection / start_server, reader and writer, errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aio/support.hpp"
#include "tandem/aio.hpp"
#include "tandem/aio/threads.hpp"

namespace aio = tandem::aio;
using namespace std::chrono_literals;
using aio::Task;


namespace {

std::size_t pending() { return aio::get_running_loop().pending_task_count(); }

Task<void> echo_lines(aio::StreamReader reader, aio::StreamWriter writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;  // EOF
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
}

// A port nobody listens on: bind an ephemeral one and let it go.
std::uint16_t free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// A plain listening socket on loopback, so a test can play the peer byte by byte with send(2).
struct RawListener {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::uint16_t port = 0;
  RawListener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 1);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~RawListener() { ::close(fd); }
  int accept() const { return ::accept(fd, nullptr, nullptr); }  // the kernel queued it: does not block
};

void send_all(int fd, std::string_view s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), 0), static_cast<ssize_t>(s.size()));
}

TEST(AioStreams, EchoServerAndClient) {
  auto main = []() -> Task<void> {
    auto server = co_await aio::start_server(echo_lines, "127.0.0.1", 0);
    EXPECT_TRUE(server.is_serving());
    EXPECT_NE(server.port(), 0);
    auto [reader, writer] = co_await aio::open_connection("127.0.0.1", server.port());
    EXPECT_EQ(writer.peername(), "127.0.0.1:" + std::to_string(server.port()));
    writer.write("hello\n");
    writer.write("world\n");
    EXPECT_EQ(co_await reader.readline(), "hello\n");
    EXPECT_EQ(co_await reader.readline(), "world\n");
    writer.write_eof();
    EXPECT_EQ(co_await reader.read(), "");  // the server closed after our EOF
    EXPECT_TRUE(reader.at_eof());
    writer.close();
    co_await writer.wait_closed();
    EXPECT_THROW(writer.write("late"), aio::ConnectionError);
    server.close();
    co_await server.wait_closed();
    EXPECT_FALSE(server.is_serving());
  };
  aio::run(main());
}

TEST(AioStreams, ReadVariants) {
  auto main = []() -> Task<void> {
    auto server = co_await aio::start_server(
        [](aio::StreamReader, aio::StreamWriter w) -> Task<void> {
          w.write("abcdefXYZ--tail");
          w.close();
          co_return;
        },
        "127.0.0.1", 0);
    auto conn = co_await aio::open_connection("127.0.0.1", server.port());
    auto& r = conn.reader;
    EXPECT_EQ(co_await r.readexactly(3), "abc");
    EXPECT_EQ(co_await r.readuntil("XYZ"), "defXYZ");
    EXPECT_EQ(co_await r.read(2), "--");
    try {
      co_await r.readexactly(10);
      ADD_FAILURE();
    } catch (const aio::IncompleteReadError& e) {
      EXPECT_EQ(e.partial(), "tail");
      EXPECT_EQ(e.expected(), 10u);
    }
    EXPECT_TRUE(r.at_eof());
    EXPECT_EQ(co_await r.readline(), "");
    server.close();
  };
  aio::run(main());
}

TEST(AioStreams, ReaduntilRespectsTheLimit) {
  auto main = []() -> Task<void> {
    auto server = co_await aio::start_server(
        [](aio::StreamReader, aio::StreamWriter w) -> Task<void> {
          w.write(std::string(100, 'x'));
          co_await w.drain();
          co_await aio::sleep(1h);  // keeps the connection open; cancelled at shutdown
        },
        "127.0.0.1", 0);
    auto conn = co_await aio::open_connection("127.0.0.1", server.port());
    conn.reader.set_limit(10);
    EXPECT_THROW(co_await conn.reader.readuntil("\n"), aio::LimitOverrunError);
    server.close();
    server.close_clients();
    co_await server.wait_closed();
  };
  aio::run(main());
}

TEST(AioStreams, ConnectionRefusedIsAClearError) {
  auto main = []() -> Task<void> {
    try {
      co_await aio::open_connection("127.0.0.1", free_port());
      ADD_FAILURE();
    } catch (const aio::ConnectionRefusedError& e) {
      EXPECT_EQ(e.code(), ECONNREFUSED);
      EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos);
    }
  };
  aio::run(main());
}

TEST(AioStreams, ConnectionResetIsAClearError) {
  auto main = []() -> Task<void> {
    RawListener peer;
    auto [reader, writer] = co_await aio::open_connection("127.0.0.1", peer.port);
    int c = peer.accept();
    linger lg{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(c);  // RST
    EXPECT_THROW(co_await reader.read(), aio::ConnectionResetError);
  };
  aio::run(main());
}

TEST(AioStreams, ReadTimeoutAndCancellationLeaveNoResidue) {
  auto main = []() -> Task<void> {
    aio::Event release;
    auto server = co_await aio::start_server(
        [&](aio::StreamReader, aio::StreamWriter w) -> Task<void> {
          co_await release.wait();
          w.write("late\n");
          co_await w.drain();
        },
        "127.0.0.1", 0);
    auto conn = co_await aio::open_connection("127.0.0.1", server.port());
    EXPECT_THROW(co_await aio::timeout(2ms, conn.reader.readexactly(1)), tandem::TimeoutError);
    auto reading = aio::create_task(conn.reader.readline());
    co_await aio::sleep(0);
    reading.cancel();
    EXPECT_THROW(co_await reading, tandem::CancelledError);
    release.set();
    EXPECT_EQ(co_await conn.reader.readline(), "late\n");  // the stream is still usable
    server.close();
    co_await server.wait_closed();
    EXPECT_EQ(pending(), 1u);
  };
  aio::run(main());
}

// Reads are satisfied from whatever has arrived, whichever way the bytes were cut on the wire, and a
// reader that found the socket empty is woken when more comes.
TEST(AioStreams, ReadsAcrossArrivals) {
  auto main = []() -> Task<void> {
    RawListener listener;
    auto [reader, writer] = co_await aio::open_connection("127.0.0.1", listener.port);
    int peer = listener.accept();
    send_all(peer, "ab");
    EXPECT_EQ(co_await reader.read(100), "ab");  // a partial read: what is there, no waiting for more
    auto exact = aio::create_task(reader.readexactly(5));
    send_all(peer, "cd");
    co_await aio::sleep(0);
    EXPECT_FALSE(exact.done());  // it has "cd" at most and waits for the rest
    send_all(peer, "efg\nhij");
    EXPECT_EQ(co_await exact, "cdefg");
    send_all(peer, "k\nlm");
    EXPECT_EQ(co_await reader.readline(), "\n");
    EXPECT_EQ(co_await reader.readline(), "hijk\n");
    EXPECT_EQ(co_await reader.read(1), "l");
    ::shutdown(peer, SHUT_WR);
    EXPECT_EQ(co_await reader.readline(), "m");  // the partial last line, then EOF
    EXPECT_EQ(co_await reader.read(100), "");
    EXPECT_TRUE(reader.at_eof());
    ::close(peer);
    writer.close();
  };
  aio::run(main());
}

// More than the 64 KiB the reader asks the kernel for at a time: the buffer grows and slides without
// losing or reordering a byte.
TEST(AioStreams, LargeReadsKeepEveryByteInOrder) {
  auto main = []() -> Task<void> {
    std::string data(300'000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
    data[150'000] = '\n';
    auto server = co_await aio::start_server(
        [&](aio::StreamReader, aio::StreamWriter w) -> Task<void> {
          w.write(data);
          co_await w.drain();
          w.close();
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await aio::open_connection("127.0.0.1", server.port());
    reader.set_limit(1 << 20);
    std::string got = co_await reader.readexactly(70'000);
    got += co_await reader.readline();
    EXPECT_EQ(got.size(), 150'001u);
    got += co_await reader.read(10);
    got += co_await reader.read();
    EXPECT_EQ(got, data);
    writer.close();
    server.close();
    co_await server.wait_closed();
  };
  aio::run(main());
}

// drain() returns at once while the kernel takes everything, and waits while a peer that does not read
// holds the data back.
TEST(AioStreams, DrainWaitsForAPeerThatDoesNotRead) {
  auto main = []() -> Task<void> {
    RawListener listener;
    auto [reader, writer] = co_await aio::open_connection("127.0.0.1", listener.port);
    int peer = listener.accept();
    writer.write("small");
    EXPECT_EQ(writer.write_buffer_size(), 0u);
    co_await writer.drain();
    const std::string big(8 << 20, 'q');
    writer.write(big);
    EXPECT_GT(writer.write_buffer_size(), 0u);  // more than the socket buffers hold
    auto draining = aio::create_task(writer.drain());
    co_await aio::sleep(0);
    co_await aio::sleep(0);
    EXPECT_FALSE(draining.done());
    std::size_t received = 0;
    std::string chunk(1 << 16, '\0');
    while (received < big.size() + 5) {
      ssize_t n = ::recv(peer, chunk.data(), chunk.size(), MSG_DONTWAIT);
      if (n > 0)
        received += static_cast<std::size_t>(n);
      else
        co_await aio::sleep(0);  // the socket buffer is empty: let the writer refill it
    }
    co_await draining;
    EXPECT_EQ(writer.write_buffer_size(), 0u);
    ::close(peer);
    writer.close();
  };
  aio::run(main());
}

TEST(AioStreams, LargeWritesAreFlushedInTheBackground) {
  auto main = []() -> Task<void> {
    std::size_t received = 0;
    auto server = co_await aio::start_server(
        [&](aio::StreamReader r, aio::StreamWriter w) -> Task<void> {
          received = (co_await r.read()).size();
          w.close();
        },
        "127.0.0.1", 0);
    auto conn = co_await aio::open_connection("127.0.0.1", server.port());
    std::string big(8 << 20, 'z');
    conn.writer.write(big);
    conn.writer.write_eof();
    co_await conn.writer.drain();
    EXPECT_EQ(conn.writer.write_buffer_size(), 0u);
    EXPECT_EQ(co_await conn.reader.read(), "");
    server.close();
    co_await server.wait_closed();
    EXPECT_EQ(received, big.size());
  };
  aio::run(main());
}

TEST(AioStreams, AThousandConcurrentConnections) {
  constexpr int kClients = 1000;
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 4 * kClients) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 4 * kClients);
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 2 * kClients + 64) GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low: " << lim.rlim_max;
  auto main = []() -> Task<void> {
    auto server = co_await aio::start_server(echo_lines, "127.0.0.1", 0);
    aio::Event go;
    std::vector<Task<std::string>> clients;
    for (int i = 0; i < kClients; ++i)
      clients.push_back([](std::uint16_t port, int i, aio::Event& go) -> Task<std::string> {
        auto [reader, writer] = co_await aio::open_connection("127.0.0.1", port);
        co_await go.wait();  // all connected at once before anyone talks
        writer.write("client " + std::to_string(i) + "\n");
        std::string line = co_await reader.readline();
        writer.close();
        co_return line;
      }(server.port(), i, go));
    auto all = aio::create_task(aio::gather(std::move(clients)));
    while (server.active_connections() < kClients) co_await aio::sleep(1ms);
    EXPECT_EQ(server.active_connections(), static_cast<std::size_t>(kClients));
    go.set();
    auto lines = co_await all;
    CO_ASSERT_TRUE(lines.size() == static_cast<std::size_t>(kClients));
    for (int i = 0; i < kClients; ++i) EXPECT_EQ(lines[i], "client " + std::to_string(i) + "\n");
    server.close();
    co_await server.wait_closed();
    EXPECT_EQ(server.active_connections(), 0u);
  };
  aio::run(main());
}

TEST(AioStreams, ServeForeverEndsWhenCancelled) {
  auto main = []() -> Task<void> {
    auto server = co_await aio::start_server(echo_lines, "127.0.0.1", 0);
    auto serving = aio::create_task(server.serve_forever());
    co_await aio::sleep(0);
    serving.cancel();
    EXPECT_THROW(co_await serving, tandem::CancelledError);
    EXPECT_FALSE(server.is_serving());
    EXPECT_THROW(co_await aio::open_connection("127.0.0.1", server.port()), aio::ConnectionRefusedError);
  };
  aio::run(main());
}

// ---- a server out of file descriptors --------------------------------------------------------------

// Takes every file descriptor this process may still open: lowers the soft RLIMIT_NOFILE (to at most
// 256, so that filling it is quick) and fills the free numbers below it with /dev/null, so the next
// socket() or accept() fails with EMFILE. The destructor gives them back and restores the limit.
class AllDescriptorsTaken {
 public:
  AllDescriptorsTaken() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 256);
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) taken_.push_back(fd);
    open_errno_ = errno;
  }
  ~AllDescriptorsTaken() {
    for (int fd : taken_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  int open_errno() const { return open_errno_; }

 private:
  rlimit saved_{};
  std::vector<int> taken_;
  int open_errno_ = 0;
};

// A blocking client socket connected to the loopback port: the kernel completes the handshake and
// queues the connection in the server's backlog whether or not the server accepts it.
void connect_to(int fd, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
}

// UBSan's vptr check reads a type it has not met yet by writing its vtable into a pipe; with no
// descriptor left that fails, as a bogus "invalid vptr". So before a test takes every descriptor, its
// server meets what it will meet while paused: an accepted client, and a call_later() timer that fires
// or is cancelled. (It is also the proof that the server worked before.)
Task<void> rehearse(const aio::Server& server) {
  auto [reader, writer] = co_await aio::open_connection("127.0.0.1", server.port());
  (void)co_await reader.read();  // to EOF: the handler ran and closed its side
  writer.close();
  auto& loop = aio::get_running_loop();
  loop.call_later(0s, [] {});
  loop.call_later(1h, [] {}).cancel();
  co_await aio::sleep(1ms);
}

// The servers below pause this long (not the default second): each retry is a step of the test.
constexpr auto kRetry = 20ms;

std::size_t count_containing(const std::vector<std::string>& lines, std::string_view what) {
  return static_cast<std::size_t>(
      std::ranges::count_if(lines, [&](const std::string& l) { return l.find(what) != std::string::npos; }));
}

TEST(AioStreams, AServerOutOfDescriptorsPausesAcceptingThenServesTheQueuedClients) {
  // asyncio's remedy (selector_events.py, _accept_connection): on EMFILE stop watching the listening
  // socket, retry after a delay. Retrying at once took a core and logged ~125,000 lines a second.
  auto main = []() -> Task<void> {
    auto& loop = aio::get_running_loop();
    std::vector<std::string> reports;
    loop.set_report_sink([&](std::string_view line) { reports.emplace_back(line); });
    constexpr int kClients = 5;
    int served = 0;
    aio::ServerOptions options;
    options.accept_retry_delay = kRetry;
    auto server = co_await aio::start_server(
        [&served](aio::StreamReader, aio::StreamWriter writer) -> Task<void> {
          ++served;
          writer.write("hello\n");
          writer.close();
          co_return;
        },
        "127.0.0.1", 0, options);
    std::vector<int> clients;
    for (int i = 0; i < kClients; ++i) clients.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    co_await rehearse(server);
    EXPECT_EQ(served, 1);
    {
      AllDescriptorsTaken taken;
      EXPECT_EQ(taken.open_errno(), EMFILE);
      const auto start = loop.time();
      for (int fd : clients) connect_to(fd, server.port());
      // The first failure, then two retries: the server tried again and failed again.
      while (server.accept_failures() < 3) co_await aio::sleep(kRetry / 2);
      const auto elapsed = loop.time() - start;
      // A failed accept is one per retry period at most, and said once.
      EXPECT_LE(server.accept_failures(), static_cast<std::size_t>(elapsed / kRetry) + 1);
      EXPECT_EQ(count_containing(reports, "cannot accept: out of file descriptors"), 1u);
      EXPECT_EQ(reports.size(), 1u) << (reports.empty() ? "" : reports.back());
      EXPECT_EQ(served, 1);
      EXPECT_TRUE(server.is_serving());
    }
    // Descriptors are free again: the next retry accepts everyone who waited in the backlog.
    for (int i = 0; i < 1000 && served < 1 + kClients; ++i) co_await aio::sleep(kRetry);
    EXPECT_EQ(served, 1 + kClients);
    EXPECT_EQ(count_containing(reports, "accepts connections again"), 1u);
    for (int fd : clients) {
      char buf[16] = {};
      EXPECT_EQ(::recv(fd, buf, sizeof buf, MSG_WAITALL), 6) << "each waiting client got its answer";
      EXPECT_EQ(std::string(buf), "hello\n");
      ::close(fd);
    }
    const auto failures = server.accept_failures();
    auto [reader, writer] = co_await aio::open_connection("127.0.0.1", server.port());
    EXPECT_EQ(co_await reader.readline(), "hello\n");
    EXPECT_EQ(served, 2 + kClients);
    EXPECT_EQ(server.accept_failures(), failures);
    server.close();
    co_await server.wait_closed();
    EXPECT_EQ(loop.timer_count(), 0u);
    loop.set_report_sink({});  // `reports` dies with this frame
  };
  aio::run(main());
}

TEST(AioStreams, ClosingOrDroppingAServerWhileItPausesCancelsTheRetry) {
  auto main = []() -> Task<void> {
    auto& loop = aio::get_running_loop();
    std::vector<std::string> reports;
    loop.set_report_sink([&](std::string_view line) { reports.emplace_back(line); });
    aio::ServerOptions options;
    options.accept_retry_delay = 1h;  // far off: the retries stay pending for the whole test
    auto ignore = [](aio::StreamReader, aio::StreamWriter) -> Task<void> { co_return; };
    auto closed = co_await aio::start_server(ignore, "127.0.0.1", 0, options);
    std::optional<aio::Server> dropped = co_await aio::start_server(ignore, "127.0.0.1", 0, options);
    int client_of_closed = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int client_of_dropped = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    co_await rehearse(closed);
    co_await rehearse(*dropped);
    {
      AllDescriptorsTaken taken;
      connect_to(client_of_closed, closed.port());
      connect_to(client_of_dropped, dropped->port());
      while (closed.accept_failures() == 0 || dropped->accept_failures() == 0) co_await aio::sleep(1ms);
    }
    EXPECT_EQ(loop.timer_count(), 2u);  // one pending retry each (the timer captures its server)
    closed.close();
    EXPECT_EQ(loop.timer_count(), 1u);
    co_await closed.wait_closed();
    EXPECT_FALSE(closed.is_serving());
    dropped.reset();  // the last reference: the server goes away with its socket and its retry
    EXPECT_EQ(loop.timer_count(), 0u);
    EXPECT_EQ(closed.accept_failures(), 1u);  // paused: no retry ran in between
    EXPECT_EQ(count_containing(reports, "cannot accept: out of file descriptors"), 2u);  // one per server
    ::close(client_of_closed);
    ::close(client_of_dropped);
    loop.set_report_sink({});  // `reports` dies with this frame
  };
  aio::run(main());  // returns at once: nothing is left to wait for
}

TEST(AioStreams, AServerWithoutARetryDelayIsRefused) {
  auto main = []() -> Task<void> {
    EXPECT_THROW(co_await aio::start_server(echo_lines, "127.0.0.1", 0, {.accept_retry_delay = 0s}),
                 tandem::InvalidStateError);
  };
  aio::run(main());
}

}  // namespace

// ---- name resolution ----------------------------------------------------------------------------------

// open_connection's name lookup stays off the loop (asyncio resolves in its default executor): with
// every thread of aio::default_executor() held busy, a connect to a *name* waits while the loop keeps
// running, an IP literal connects at once, and cancelling the waiting connect leaves nothing behind.
namespace {

/// Occupies every worker of the default executor until release() (or destruction).
class BusyDefaultExecutor {
 public:
  BusyDefaultExecutor() {
    gate_ = promise_.get_future().share();
    for (std::size_t i = 0; i < tandem::ThreadPoolExecutor::default_max_workers(); ++i)
      blockers_.push_back(aio::default_executor().submit([g = gate_] { g.wait(); }));
  }
  ~BusyDefaultExecutor() { release(); }
  void release() {
    if (released_) return;
    released_ = true;
    promise_.set_value();
    for (auto& b : blockers_) b.result();
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> gate_;
  std::vector<tandem::Future<void>> blockers_;
  bool released_ = false;
};

aio::Task<aio::Server> echo_server() {
  co_return co_await aio::start_server(
      [](aio::StreamReader, aio::StreamWriter writer) -> aio::Task<void> {
        writer.close();
        co_return;
      },
      "127.0.0.1", 0);
}

}  // namespace

TEST(OpenConnectionResolve, ANameIsResolvedOnTheDefaultExecutorWhileTheLoopRuns) {
  BusyDefaultExecutor busy;
  aio::run([&]() -> aio::Task<void> {
    auto server = co_await echo_server();
    auto connect = aio::create_task(aio::open_connection("localhost", server.port()));
    int ticks = 0;
    for (; ticks < 20; ++ticks) co_await aio::sleep(1ms);  // the loop is free meanwhile
    EXPECT_EQ(ticks, 20);
    EXPECT_FALSE(connect.done());  // its lookup waits for a resolver thread
    busy.release();
    auto conn = co_await connect;
    conn.writer.close();
    server.close();
    co_await server.wait_closed();
  }());
}

TEST(OpenConnectionResolve, AnAddressLiteralNeedsNoResolverThread) {
  BusyDefaultExecutor busy;
  aio::run([&]() -> aio::Task<void> {
    auto server = co_await echo_server();  // "127.0.0.1" to bind: no lookup either
    auto conn = co_await aio::open_connection("127.0.0.1", server.port());
    conn.writer.close();
    server.close();
    co_await server.wait_closed();
  }());
}

TEST(OpenConnectionResolve, CancellingAConnectWaitingForItsLookupLeavesNothingBehind) {
  BusyDefaultExecutor busy;
  aio::run([&]() -> aio::Task<void> {
    auto& loop = aio::get_running_loop();
    auto connect = aio::create_task(aio::open_connection("localhost", 9));
    co_await aio::sleep(1ms);
    connect.cancel();
    bool cancelled = false;
    try {
      co_await connect;
    } catch (const tandem::CancelledError&) {
      cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(loop.pending_task_count(), 1u);  // only this one
    EXPECT_EQ(loop.timer_count(), 0u);
  }());
  busy.release();  // the abandoned lookup (cancelled before it started) never runs
}
