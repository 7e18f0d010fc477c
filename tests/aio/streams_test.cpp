// Specification of TCP streams: open_connection / start_server, reader and writer, errors.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "aio/support.hpp"
#include "tandem/aio.hpp"

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

}  // namespace
