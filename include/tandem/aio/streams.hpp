// tandem/aio/streams.hpp — TCP streams on the loop (Python: asyncio.streams).
//
// ```cpp coroutine
//   auto server = co_await aio::start_server(
//       [](aio::StreamReader reader, aio::StreamWriter writer) -> aio::Task<void> {
//         std::string line = co_await reader.readline();
//         writer.write(line);                 // echo
//         co_await writer.drain();
//         writer.close();
//       },
//       "127.0.0.1", 0);                      // port 0: any free port; server.port() tells which
//   auto [reader, writer] = co_await aio::open_connection("127.0.0.1", server.port());
// ```
//
// Errors are exceptions with the errno in them: ConnectionRefusedError (nobody listens),
// ConnectionResetError (the peer reset, or the pipe broke while writing), IncompleteReadError (EOF
// before readexactly/readuntil were satisfied), LimitOverrunError (no separator within limit()).
// Time limits come from the generic scopes: `co_await aio::timeout(2s, reader.readexactly(4))` throws
// TimeoutError and leaves no registration behind. Every read or connect is a suspension point that
// cancellation interrupts cleanly.
//
// Out of file descriptors (or kernel memory), a server does not spin: it reports once, pauses
// accepting for ServerOptions::accept_retry_delay (1 s, as asyncio) at a time, and serves the
// connections queued meanwhile once accept() works again.
//
// A reader and its writer share one socket; it is closed by writer.close() or when the last copy of
// both is gone. Streams belong to the loop that created them: do not keep them past aio::run().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tandem/aio/exceptions.hpp"
#include "tandem/aio/task.hpp"

namespace tandem::aio {

namespace detail {
class Transport;
class ServerState;
}  // namespace detail

/// Reading side of a connection (Python: asyncio.StreamReader).
class StreamReader {
 public:
  StreamReader() = default;
  explicit StreamReader(std::shared_ptr<detail::Transport> t) : t_(std::move(t)) {}

  /// Up to n bytes (at least one unless at EOF, where it returns ""); n < 0 reads until EOF.
  Task<std::string> read(std::ptrdiff_t n = -1);
  /// Exactly n bytes, or IncompleteReadError (holding what arrived) at EOF.
  Task<std::string> readexactly(std::size_t n);
  /// Up to and including "\n"; at EOF the partial line (possibly empty) without error.
  Task<std::string> readline();
  /// Up to and including `separator`; IncompleteReadError at EOF, LimitOverrunError past limit().
  Task<std::string> readuntil(std::string separator = "\n");
  /// True once the peer closed its side and the buffer is empty.
  bool at_eof() const;
  /// Buffer limit for readuntil/readline (64 KiB by default, as asyncio).
  std::size_t limit() const;
  void set_limit(std::size_t limit);

 private:
  std::shared_ptr<detail::Transport> t_;
};

/// Writing side of a connection (Python: asyncio.StreamWriter).
class StreamWriter {
 public:
  StreamWriter() = default;
  explicit StreamWriter(std::shared_ptr<detail::Transport> t) : t_(std::move(t)) {}

  /// Queues data (sent at once if the socket takes it; the rest in the background). Throws
  /// ConnectionError after close() or once the connection broke.
  void write(std::string_view data);
  /// Waits until everything written so far was handed to the kernel; throws if the connection broke.
  Task<void> drain();
  /// Half-closes after the queued data (the peer's read sees EOF; we can still read).
  void write_eof();
  /// Closes the connection once queued data is sent (both directions).
  void close();
  bool is_closing() const;
  /// Waits until the socket is actually closed.
  Task<void> wait_closed();
  /// "host:port" of the peer (Python: get_extra_info('peername')).
  std::string peername() const;
  /// Bytes queued but not yet sent (Python: transport.get_write_buffer_size()).
  std::size_t write_buffer_size() const;

 private:
  std::shared_ptr<detail::Transport> t_;
};

/// The pair open_connection() returns; `auto [reader, writer] = co_await open_connection(...)`.
struct Connection {
  StreamReader reader;
  StreamWriter writer;
};

/// Connects to host:port (IPv4/IPv6 literals or names). Names are resolved off the loop, by getaddrinfo
/// on aio::default_executor() (asyncio does the same), so a slow DNS server delays only this task;
/// cancelling it abandons the lookup. Literals need no lookup. Throws ConnectionRefusedError /
/// ConnectionError (also for a name that does not resolve).
Task<Connection> open_connection(std::string host, std::uint16_t port);

/// A listening server (Python: asyncio.Server). Copies share it.
class Server {
 public:
  Server() = default;
  explicit Server(std::shared_ptr<detail::ServerState> s) : s_(std::move(s)) {}
  /// The port it listens on (useful after binding port 0).
  std::uint16_t port() const;
  bool is_serving() const;
  /// Connections whose handler has not finished yet.
  std::size_t active_connections() const;
  /// accept() calls that failed for lack of resources, each followed by a pause of
  /// ServerOptions::accept_retry_delay. For monitoring: if it grows, RLIMIT_NOFILE is too low.
  std::size_t accept_failures() const;
  /// Stops accepting; running handlers go on.
  void close();
  /// Cancels the handlers still running (Python 3.13: close_clients).
  void close_clients();
  /// Waits until closed and every handler has finished.
  Task<void> wait_closed();
  /// Serves until close(); cancelling it closes the server (Python: serve_forever).
  Task<void> serve_forever();

 private:
  std::shared_ptr<detail::ServerState> s_;
};

/// Handler run as a new task (named "connection <peer>") for each accepted connection. The server keeps
/// the callable alive while any handler runs, so a lambda's captures stay valid.
using ClientConnectedCallback = std::function<Task<void>(StreamReader, StreamWriter)>;

/// How long a server pauses accepting after accept() failed for lack of resources (Python:
/// asyncio.constants.ACCEPT_RETRY_DELAY).
inline constexpr Duration kAcceptRetryDelay = std::chrono::seconds(1);

/// start_server()'s settings beyond the address: `ServerOptions o; o.backlog = 128; start_server(cb, host, port, o)`.
struct ServerOptions {
  /// listen(2)'s backlog: connections the kernel completes and queues until the server accepts them.
  int backlog = 4096;
  /// When accept() fails with EMFILE or ENFILE (no descriptor left for the new socket) or ENOBUFS or
  /// ENOMEM (no kernel memory), the pending connection keeps the listening socket readable, and
  /// retrying at once would take a whole core and fill the log. So the server reports the first
  /// failure (one line to the loop's report sink), stops watching its socket for this long and then
  /// tries again, until an accept succeeds (reported too). Connections arriving meanwhile wait in the
  /// backlog (their connect() succeeds; the answer comes once they are accepted). close(), or dropping
  /// the last copy of the Server, cancels a pending retry. Must be positive (InvalidStateError
  /// otherwise); tests shorten it.
  Duration accept_retry_delay = kAcceptRetryDelay;
  /// SO_REUSEPORT: several sockets (of this or other processes of the same user, each setting it)
  /// listen on one port and the kernel spreads new connections over them — pre-fork servers
  /// (tandem/http/server_prefork.hpp). Off by default: a second server on a taken port then fails.
  bool reuse_port = false;
};

/// Listens on host:port and runs `on_client` for each connection (Python: asyncio.start_server).
/// A failing handler is reported like any task whose exception nobody retrieved.
Task<Server> start_server(ClientConnectedCallback on_client, std::string host, std::uint16_t port,
                          ServerOptions options);
/// The same with default options but `backlog`.
Task<Server> start_server(ClientConnectedCallback on_client, std::string host, std::uint16_t port,
                          int backlog = 4096);

}  // namespace tandem::aio
