// Running a web::Server from plain code (see tandem/http/server_run.hpp): BackgroundServer, the
// pre-fork supervisor and its workers, run_app.
#include "tandem/http/server_run.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "tandem/aio/events.hpp"
#include "tandem/aio/exceptions.hpp"
#include "tandem/aio/locks.hpp"
#include "tandem/aio/runners.hpp"
#include "tandem/ipc/pipe.hpp"
#include "tandem/process.hpp"

namespace tandem::http::web {

// ---- BackgroundServer ------------------------------------------------------------------------------

struct BackgroundServer::State {
  std::thread thread;
  aio::EventLoop* loop = nullptr;  // set before the constructor returns; valid until the thread ends
  aio::Event stop_requested;       // loop thread only
  Server server;                   // loop thread only
  ServerStats final_stats;         // written by the loop thread before it ends (read after join)
  bool stopped = false;            // owner thread only
};

namespace {
aio::Task<void> background_main(std::shared_ptr<BackgroundServer::State> s, Application app, ServerConfig config,
                                 std::promise<Server>& started) {
  s->server = co_await Server::start(std::move(app), std::move(config));
  s->loop = &aio::get_running_loop();
  started.set_value(s->server);
  co_await s->stop_requested.wait();
  co_await s->server.stop();
  s->final_stats = s->server.stats();
  s->server = Server();
}
}  // namespace

BackgroundServer::BackgroundServer(Application app, ServerConfig config) : state_(std::make_shared<State>()) {
  std::promise<Server> started;
  auto result = started.get_future();
  state_->thread = std::thread([s = state_, app = std::move(app), config = std::move(config), &started]() mutable {
    try {
      aio::run(background_main(s, std::move(app), std::move(config), started));
    } catch (...) {
      if (!s->loop) started.set_exception(std::current_exception());  // it never listened
    }
  });
  try {
    Server server = result.get();
    port_ = server.port();
    url_ = server.url();
  } catch (...) {
    state_->thread.join();
    state_->stopped = true;
    throw;
  }
}

BackgroundServer::~BackgroundServer() { stop(); }

void BackgroundServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  auto s = state_;
  s->loop->call_soon_threadsafe([s] { s->stop_requested.set(); });
  s->thread.join();
}

ServerStats BackgroundServer::stats() {
  if (state_->stopped) return state_->final_stats;
  std::promise<ServerStats> p;
  auto f = p.get_future();
  auto s = state_;
  if (!s->loop->call_soon_threadsafe([s, &p] { p.set_value(s->server.stats()); })) return s->final_stats;
  return f.get();
}

// ---- pre-fork ----------------------------------------------------------------------------------------

namespace {

void report(const std::string& line) { std::fprintf(stderr, "tandem.http: %s\n", line.c_str()); }

// ServerConfig across the process boundary: host + numbers, encoder beside decoder.
std::vector<std::int64_t> config_to_wire(const ServerConfig& c) {
  return {c.port,
          c.backlog,
          c.reuse_port ? 1 : 0,
          static_cast<std::int64_t>(c.max_body_size),
          static_cast<std::int64_t>(c.max_connections),
          c.header_timeout.count(),
          c.body_timeout.count(),
          c.keep_alive_timeout.count(),
          c.write_timeout.count(),
          c.shutdown_grace.count()};
}
ServerConfig config_from_wire(std::string host, const std::vector<std::int64_t>& w) {
  if (w.size() != 10) throw std::invalid_argument("web worker: a server configuration of the wrong size");
  ServerConfig c;
  c.host = std::move(host);
  c.port = static_cast<std::uint16_t>(w[0]);
  c.backlog = static_cast<int>(w[1]);
  c.reuse_port = w[2] != 0;
  c.max_body_size = static_cast<std::size_t>(w[3]);
  c.max_connections = static_cast<std::size_t>(w[4]);
  c.header_timeout = std::chrono::milliseconds(w[5]);
  c.body_timeout = std::chrono::milliseconds(w[6]);
  c.keep_alive_timeout = std::chrono::milliseconds(w[7]);
  c.write_timeout = std::chrono::milliseconds(w[8]);
  c.shutdown_grace = std::chrono::milliseconds(w[9]);
  return c;
}

// Serves until SIGTERM/SIGINT (or `stop` otherwise set), then stops gracefully. `ready` learns the port
// once the server listens.
aio::Task<void> serve_until_signal(Application app, ServerConfig config,
                                   const std::function<void(const Server&)>& ready) {
  auto& loop = aio::get_running_loop();
  aio::Event stop;
  loop.add_signal_handler(SIGTERM, [&stop] { stop.set(); });
  loop.add_signal_handler(SIGINT, [&stop] { stop.set(); });
  struct Unblock {
    aio::EventLoop& loop;
    ~Unblock() {
      loop.remove_signal_handler(SIGTERM);
      loop.remove_signal_handler(SIGINT);
    }
  } unblock{loop};
  auto server = co_await Server::start(std::move(app), std::move(config));
  ready(server);
  co_await stop.wait();
  co_await server.stop();
}

// A worker process's whole life (runs in the child, before its main).
void prefork_worker(tandem::detail::CodeRef<AppFactory> factory, std::string argument, std::string host,
                    std::vector<std::int64_t> config, ipc::Connection<int> ready) {
  ServerConfig c = config_from_wire(std::move(host), config);
  std::function<void(const Server&)> tell = [&ready](const Server& s) { ready.send(static_cast<int>(s.port())); };
  aio::run(serve_until_signal(factory.fn(argument), std::move(c), tell));
}

// The port-holding socket: bound with SO_REUSEPORT, never listening (see the header).
int reserve_port(const std::string& host, std::uint16_t port, std::uint16_t& bound) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list); rc != 0)
    throw aio::ConnectionError("cannot resolve '" + host + "': " + gai_strerror(rc), 0);
  int err = EADDRNOTAVAIL;
  for (addrinfo* ai = list; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 || ::bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
      err = errno;
      ::close(fd);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    bound = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                     : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    ::freeaddrinfo(list);
    return fd;
  }
  ::freeaddrinfo(list);
  throw aio::ConnectionError("cannot listen on " + host + ":" + std::to_string(port) + ": " + std::strerror(err), err);
}

std::string describe_exit(Process& p) {
  const auto code = p.exitcode();
  if (!code) return "still running";
  if (*code < 0) return "killed by " + signal_name(-*code);
  return "exit code " + std::to_string(*code);
}

constexpr auto kBootTimeout = std::chrono::seconds(30);

}  // namespace

struct PreforkServer::State {
  AppFactory factory;
  std::string argument;
  ServerConfig config;
  unsigned processes;
  int reserved_fd = -1;
  int stop_fd = -1;
  bool started = false;
  bool shut_down = false;
  mutable std::mutex mu;         // guards workers' pids as seen by worker_pids(), and restarts
  std::vector<std::optional<Process>> workers;
  std::size_t restarts = 0;

  ~State() {
    shutdown_workers();
    if (reserved_fd >= 0) ::close(reserved_fd);
    if (stop_fd >= 0) ::close(stop_fd);
  }

  // Starts the worker in `slot` and waits until it listens; throws if it ends or stays silent instead.
  void start_worker(std::size_t slot) {
    auto [parent_end, child_end] = ipc::Pipe<int>();
    Process::Options o;
    o.name = "web-worker-" + std::to_string(slot + 1);
    o.daemon = true;
    o.start_method = StartMethod::spawn;  // the parent may run threads (a supervisor thread, a test)
    ServerConfig c = config;
    c.reuse_port = true;
    Process p(o, &prefork_worker, tandem::detail::CodeRef<AppFactory>{factory}, argument, c.host, config_to_wire(c),
              child_end);
    p.start();
    child_end.close();
    pollfd fds[2] = {{parent_end.fileno(), POLLIN, 0}, {p.sentinel(), POLLIN, 0}};
    int rc;
    do rc = ::poll(fds, 2, static_cast<int>(std::chrono::milliseconds(kBootTimeout).count()));
    while (rc < 0 && errno == EINTR);
    std::optional<int> port;
    if (rc > 0 && (fds[0].revents & POLLIN)) {
      try {
        port = parent_end.recv();
      } catch (const ipc::EOFError&) {
      }
    }
    if (!port) {
      if (rc == 0) p.kill();
      p.join();
      throw std::runtime_error("web worker '" + p.name() + "' failed to boot (" +
                               (rc == 0 ? std::string("no word within 30 s") : describe_exit(p)) +
                               "); stopping the server");
    }
    std::lock_guard lock(mu);
    workers[slot].emplace(std::move(p));
  }

  void shutdown_workers() noexcept {
    if (shut_down) return;
    shut_down = true;
    for (auto& w : workers)
      if (w) w->terminate();
    for (auto& w : workers) {
      if (!w) continue;
      try {
        if (!w->join(config.shutdown_grace + std::chrono::seconds(1))) {
          w->kill();
          w->join();
        }
      } catch (...) {
      }
    }
    std::lock_guard lock(mu);
    for (auto& w : workers) w.reset();
  }
};

PreforkServer::PreforkServer(AppFactory factory, std::string argument, ServerConfig config, unsigned processes)
    : s_(std::make_unique<State>()) {
  if (!factory) throw std::invalid_argument("web::PreforkServer: the application factory is null");
  if (processes == 0) throw std::invalid_argument("web::PreforkServer: it needs at least one worker process");
  s_->factory = factory;
  s_->argument = std::move(argument);
  s_->config = std::move(config);
  s_->processes = processes;
  s_->workers.resize(processes);
}

PreforkServer::~PreforkServer() = default;

void PreforkServer::start() {
  if (s_->started) throw InvalidStateError("web::PreforkServer::start() was already called");
  s_->started = true;
  s_->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s_->stop_fd < 0) throw std::system_error(errno, std::generic_category(), "web::PreforkServer: eventfd");
  s_->reserved_fd = reserve_port(s_->config.host, s_->config.port, port_);
  s_->config.port = port_;
  try {
    for (std::size_t i = 0; i < s_->processes; ++i) s_->start_worker(i);
  } catch (...) {
    s_->shutdown_workers();
    throw;
  }
}

std::string PreforkServer::url() const { return url_of(s_->config.host, port_); }

void PreforkServer::stop() noexcept {
  if (s_->stop_fd < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(s_->stop_fd, &one, sizeof one);
}

std::vector<pid_t> PreforkServer::worker_pids() const {
  std::lock_guard lock(s_->mu);
  std::vector<pid_t> pids;
  for (const auto& w : s_->workers) pids.push_back(w ? w->pid() : 0);
  return pids;
}

std::size_t PreforkServer::restarts() const {
  std::lock_guard lock(s_->mu);
  return s_->restarts;
}

void PreforkServer::run(bool stop_on_signals) {
  if (!s_->started || s_->shut_down) throw InvalidStateError("web::PreforkServer::run() needs a successful start()");
  sigset_t signals, old;
  sigemptyset(&signals);
  int sfd = -1;
  if (stop_on_signals) {
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, &old);
    sfd = ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  }
  struct Restore {
    bool on;
    int sfd;
    sigset_t old;
    ~Restore() {
      if (sfd >= 0) ::close(sfd);
      if (on) pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
  } restore{stop_on_signals, sfd, old};
  try {
    for (;;) {
      std::vector<pollfd> fds{{s_->stop_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
      for (auto& w : s_->workers) fds.push_back({w ? w->sentinel() : -1, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "web::PreforkServer: poll");
      }
      if (fds[1].revents) {  // consume it: left pending, it would kill us once the mask is restored
        signalfd_siginfo info;
        while (::read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        }
        break;
      }
      if (fds[0].revents) break;
      for (std::size_t i = 0; i < s_->workers.size(); ++i) {
        if (!fds[i + 2].revents) continue;
        auto& w = *s_->workers[i];
        w.join();
        report("worker '" + w.name() + "' (pid " + std::to_string(w.pid()) + ") ended: " + describe_exit(w) +
               "; starting a new one");
        {
          std::lock_guard lock(s_->mu);
          s_->workers[i].reset();
          ++s_->restarts;
        }
        s_->start_worker(i);
      }
    }
  } catch (...) {
    s_->shutdown_workers();
    throw;
  }
  s_->shutdown_workers();
}

// ---- run_app -------------------------------------------------------------------------------------

void run_app(AppFactory factory, const std::string& argument, RunOptions options) {
  if (!factory) throw std::invalid_argument("web::run_app: the application factory is null");
  if (options.processes > 1) {
    // Blocked before the workers start: starting a daemon Process makes a helper thread, which must
    // inherit the mask, or the kernel may hand SIGINT to it and the default action kills us.
    sigset_t signals, old;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, &old);
    struct Restore {
      sigset_t old;
      ~Restore() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
    } restore{old};
    PreforkServer server(factory, argument, options.server, options.processes);
    server.start();
    if (options.on_started) options.on_started(server.url());
    server.run(true);
    return;
  }
  std::function<void(const Server&)> ready = [&options](const Server& s) {
    if (options.on_started) options.on_started(s.url());
  };
  aio::run(serve_until_signal(factory(argument), std::move(options.server), ready));
}

}  // namespace tandem::http::web
