// TCP streams (see tandem/aio/streams.hpp).
#include "tandem/aio/streams.hpp"

#include "tandem/aio/threads.hpp"
#include "transport.hpp"

namespace tandem::aio {
namespace detail {

class ServerState final : FdWaiter, public std::enable_shared_from_this<ServerState> {
 public:
  ServerState(EventLoop& loop, int fd, ClientConnectedCallback cb, Duration accept_retry_delay)
      : loop_(&loop), fd_(fd), cb_(std::move(cb)), accept_retry_delay_(accept_retry_delay) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                     : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  ~ServerState() { stop_listening(); }

  void start() { arm(); }
  std::uint16_t port() const noexcept { return port_; }
  bool serving() const noexcept { return fd_ >= 0; }
  std::size_t active() const noexcept { return handlers_.size(); }
  std::size_t accept_failures() const noexcept { return accept_failures_; }

  void stop_listening() noexcept {
    if (fd_ < 0) return;
    if (armed_) LoopAccess::cancel_wait_fd(*loop_, fd_, false, this);
    armed_ = false;
    retry_.cancel();  // the back-off's timer points at us: it must not outlive the socket
    LoopAccess::forget_fd(*loop_, fd_);
    ::close(fd_);
    fd_ = -1;
    stopped_.set();
    if (handlers_.empty()) all_closed_.set();
  }
  void cancel_handlers() {
    auto copy = handlers_;
    for (auto& h : copy) h.cancel();
  }
  Event stopped_;
  Event all_closed_;

 private:
  void arm() {
    LoopAccess::wait_fd(*loop_, fd_, false, this);
    armed_ = true;
  }
  // accept() failed for lack of resources. The connection stays queued, so the socket stays readable:
  // retrying at once spun a core and logged ~125,000 lines a second. Like asyncio (selector_events.py,
  // _accept_connection), stop watching the socket and try again after accept_retry_delay; report the
  // first failure only, until an accept succeeds.
  void back_off(int err) noexcept {
    ++accept_failures_;
    LoopAccess::forget_fd(*loop_, fd_);  // stop watching: not even one more wake-up for the readable socket
    bool retrying = true;
    try {
      retry_ = loop_->call_later(accept_retry_delay_, [this] { resume_accepting(); });
    } catch (...) {
      retrying = false;
    }
    if (accept_failures_since_++ > 0 && retrying) return;
    const auto pause_ms = std::chrono::duration_cast<std::chrono::milliseconds>(accept_retry_delay_).count();
    try {
      loop_->report("tandem.aio: server on port " + std::to_string(port_) + " cannot accept: " +
                    (err == EMFILE || err == ENFILE ? "out of file descriptors (raise RLIMIT_NOFILE)"
                                                    : "out of kernel memory") +
                    ": " + std::strerror(err) +
                    (retrying ? "; pausing accept() for " + std::to_string(pause_ms) + " ms at a time until it succeeds"
                              : std::string("; it stopped accepting (could not schedule a retry)")));
    } catch (...) {  // no memory even for the line: nothing can be said
    }
  }
  void resume_accepting() {
    retry_ = {};
    if (fd_ < 0) return;
    try {
      arm();
    } catch (...) {
      loop_->report("tandem.aio: the server stopped accepting (epoll registration failed)");
    }
  }
  void on_fd_ready() noexcept override {
    armed_ = false;
    for (int accepted = 0; fd_ >= 0 && accepted < 1024; ++accepted) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int c = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) {
        int err = errno;
        if (err == EINTR || err == ECONNABORTED) continue;
        if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
          back_off(err);
          return;
        }
        break;
      }
      if (accept_failures_since_ > 0) {
        loop_->report("tandem.aio: server on port " + std::to_string(port_) + " accepts connections again (" +
                      std::to_string(accept_failures_since_) + " accept() calls failed meanwhile)");
        accept_failures_since_ = 0;
      }
      set_nodelay(c);
      try {
        auto t = std::make_shared<Transport>(*loop_, c, address_string(reinterpret_cast<sockaddr*>(&ss)));
        auto handle = loop_->create_task(cb_(StreamReader(t), StreamWriter(t)), "connection " + t->peer());
        handlers_.push_back(handle);
        // Strong: the handler may be a lambda living in cb_, so the state outlives every handler.
        // (The cycle state -> handle -> callback -> state ends when the handler finishes.)
        handle.add_done_callback([self = shared_from_this()](const TaskHandle<void>& h) { self->on_handler_done(h); });
      } catch (const std::exception& e) {
        loop_->report(std::string("tandem.aio: could not start a connection handler: ") + e.what());
      }
    }
    if (fd_ >= 0) {
      try {
        arm();
      } catch (...) {
        loop_->report("tandem.aio: the server stopped accepting (epoll registration failed)");
      }
    }
  }
  void on_handler_done(const TaskHandle<void>& h) {
    for (std::size_t i = 0; i < handlers_.size(); ++i)
      if (handlers_[i] == h) {
        handlers_[i] = std::move(handlers_.back());
        handlers_.pop_back();
        break;
      }
    if (handlers_.empty() && fd_ < 0) all_closed_.set();
  }

  EventLoop* loop_;
  int fd_;
  ClientConnectedCallback cb_;
  std::uint16_t port_ = 0;
  bool armed_ = false;
  Duration accept_retry_delay_;
  TimerHandle retry_;                      // pending while accepting is paused
  std::size_t accept_failures_ = 0;        // accept() calls failed for lack of resources, ever
  std::size_t accept_failures_since_ = 0;  // ... since the last successful accept()
  std::vector<TaskHandle<void>> handlers_;
};

}  // namespace detail

// ---- StreamReader ------------------------------------------------------------------------------------

namespace {
detail::Transport& transport(const std::shared_ptr<detail::Transport>& t) {
  if (!t) throw InvalidStateError("this stream is not connected (default-constructed)");
  return *t;
}
}  // namespace

Task<std::string> StreamReader::read(std::ptrdiff_t n) {
  auto keep = t_;
  auto& t = transport(keep);
  if (n == 0) co_return std::string();
  if (n < 0) {
    while (!t.eof()) co_await t.fill();
    co_return t.take(t.available());
  }
  if (t.available() == 0 && !t.eof()) co_await t.fill();
  co_return t.take(std::min(t.available(), static_cast<std::size_t>(n)));
}

Task<std::string> StreamReader::readexactly(std::size_t n) {
  auto keep = t_;
  auto& t = transport(keep);
  while (t.available() < n) {
    if (t.eof()) throw IncompleteReadError(t.take(t.available()), n);
    co_await t.fill();
  }
  co_return t.take(n);
}

Task<std::string> StreamReader::readuntil(std::string separator) {
  auto keep = t_;
  auto& t = transport(keep);
  if (separator.empty()) throw InvalidStateError("readuntil(): the separator must not be empty");
  std::size_t scanned = 0;
  for (;;) {
    auto buf = t.buffered();
    auto pos = buf.find(separator, scanned);
    if (pos != std::string_view::npos) {
      if (pos + separator.size() > t.limit)
        throw LimitOverrunError("readuntil(): separator found, but the chunk exceeds the limit", pos);
      co_return t.take(pos + separator.size());
    }
    if (buf.size() > t.limit)
      throw LimitOverrunError("readuntil(): no separator within the limit of " + std::to_string(t.limit) + " bytes",
                              buf.size());
    scanned = buf.size() >= separator.size() ? buf.size() - separator.size() + 1 : 0;
    if (t.eof()) throw IncompleteReadError(t.take(t.available()), buf.size() + separator.size());
    co_await t.fill();
  }
}

Task<std::string> StreamReader::readline() {
  try {
    co_return co_await readuntil("\n");
  } catch (const IncompleteReadError& e) {
    co_return e.partial();
  }
}

bool StreamReader::at_eof() const { return transport(t_).eof() && transport(t_).available() == 0; }
std::size_t StreamReader::limit() const { return transport(t_).limit; }
void StreamReader::set_limit(std::size_t limit) { transport(t_).limit = limit; }

// ---- StreamWriter ------------------------------------------------------------------------------------

void StreamWriter::write(std::string_view data) { transport(t_).write(data); }
Task<void> StreamWriter::drain() {
  auto keep = t_;
  co_await transport(keep).drain();
}
void StreamWriter::write_eof() { transport(t_).write_eof(); }
void StreamWriter::close() { transport(t_).close(); }
bool StreamWriter::is_closing() const { return transport(t_).is_closing(); }
Task<void> StreamWriter::wait_closed() {
  auto keep = t_;
  co_await transport(keep).wait_closed();
}
std::string StreamWriter::peername() const { return transport(t_).peer(); }
std::size_t StreamWriter::write_buffer_size() const { return transport(t_).pending(); }

// ---- connecting and serving -----------------------------------------------------------------------------

namespace {
// DNS never blocks the loop (asyncio: loop.getaddrinfo runs in the default executor). An IP literal, or
// no host at all, is converted at once without a resolver (asyncio's _ipaddr_info shortcut); a name is
// resolved by getaddrinfo on aio::default_executor(). Cancelling the awaiting task abandons the wait at
// once; a lookup already running finishes on its thread and its result is freed with the future.
Task<detail::AddrInfoPtr> resolve_off_loop(std::string host, std::uint16_t port, bool passive) {
  if (auto literal = detail::resolve(host, port, passive, /*numeric_only=*/true)) co_return literal;
  // The job is built in a statement of its own: GCC 12 miscompiles a lambda capturing a coroutine
  // parameter inside a co_await expression (the capture kept a pointer into the frame).
  auto lookup = [host, port, passive] { return detail::resolve(host, port, passive); };
  Future<detail::AddrInfoPtr> found = default_executor().submit(std::move(lookup));
  co_return co_await std::move(found);
}
}  // namespace

Task<Connection> open_connection(std::string host, std::uint16_t port) {
  auto& loop = get_running_loop();
  auto addrs = co_await resolve_off_loop(host, port, false);
  int last_error = EHOSTUNREACH;
  for (addrinfo* ai = addrs.get(); ai; ai = ai->ai_next) {
    detail::FdGuard sock{
        sys::UniqueFd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol)), &loop};
    if (!sock.fd) {
      last_error = errno;
      continue;
    }
    int rc = ::connect(sock.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno != EINPROGRESS) {
      last_error = errno;
      continue;
    }
    if (rc < 0) {
      {
        detail::FdWait wait(sock.get(), true);
        co_await wait;  // a cancel or timeout here closes the socket through the guard
      }
      detail::LoopAccess::forget_fd(loop, sock.get());
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last_error = err;
        continue;
      }
    }
    detail::set_nodelay(sock.get());
    auto t = std::make_shared<detail::Transport>(loop, sock.release(),
                                                 host + ":" + std::to_string(port));
    co_return Connection{StreamReader(t), StreamWriter(t)};
  }
  detail::throw_connection_error(last_error, "connect to " + host + ":" + std::to_string(port));
}

Task<Server> start_server(ClientConnectedCallback on_client, std::string host, std::uint16_t port, int backlog) {
  ServerOptions options;
  options.backlog = backlog;
  return start_server(std::move(on_client), std::move(host), port, options);
}

Task<Server> start_server(ClientConnectedCallback on_client, std::string host, std::uint16_t port,
                          ServerOptions options) {
  auto& loop = get_running_loop();
  if (!on_client) throw InvalidStateError("start_server() needs a client_connected callback");
  if (options.accept_retry_delay <= Duration::zero())
    throw InvalidStateError("start_server(): ServerOptions::accept_retry_delay must be positive (got " +
                            std::to_string(options.accept_retry_delay.count()) +
                            " ns): without a pause, a server out of descriptors retries accept() in a busy loop");
  auto addrs = co_await resolve_off_loop(host, port, true);
  int last_error = EADDRNOTAVAIL;
  for (addrinfo* ai = addrs.get(); ai; ai = ai->ai_next) {
    detail::FdGuard sock{
        sys::UniqueFd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol))};
    if (!sock.fd) {
      last_error = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (options.reuse_port && ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
      last_error = errno;
      continue;
    }
    if (::bind(sock.get(), ai->ai_addr, ai->ai_addrlen) < 0 || ::listen(sock.get(), options.backlog) < 0) {
      last_error = errno;
      continue;
    }
    auto state = std::make_shared<detail::ServerState>(loop, sock.release(), std::move(on_client),
                                                       options.accept_retry_delay);
    state->start();
    co_return Server(std::move(state));
  }
  throw ConnectionError("cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(last_error),
                        last_error);
}

std::uint16_t Server::port() const { return s_ ? s_->port() : 0; }
bool Server::is_serving() const { return s_ && s_->serving(); }
std::size_t Server::active_connections() const { return s_ ? s_->active() : 0; }
std::size_t Server::accept_failures() const { return s_ ? s_->accept_failures() : 0; }
void Server::close() {
  if (s_) s_->stop_listening();
}
void Server::close_clients() {
  if (s_) s_->cancel_handlers();
}
Task<void> Server::wait_closed() {
  auto keep = s_;
  if (keep) co_await keep->all_closed_.wait();
}
Task<void> Server::serve_forever() {
  auto keep = s_;
  if (!keep) co_return;
  try {
    co_await keep->stopped_.wait();
  } catch (const CancelledError&) {
    keep->stop_listening();
    throw;
  }
}

}  // namespace tandem::aio
