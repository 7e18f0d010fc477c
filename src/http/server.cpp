// The HTTP server on aio streams (see tandem/http/server.hpp).
//
// One task per connection (aio::start_server makes it) runs serve(): read with a deadline, feed the
// ConnectionProtocol, answer each complete request in order, repeat. The deadline depends on where the
// connection is: waiting for a request (header_timeout for the first one, keep_alive_timeout later),
// inside its request line and headers (header_timeout from their first byte: a slowloris client is cut
// there), inside its body (body_timeout from the end of the headers). ServerState keeps a list of the
// open connections so that stop() can close the idle ones and let the busy ones finish.
#include "tandem/http/server.hpp"

#include <algorithm>
#include <list>

#include "tandem/aio/events.hpp"
#include "tandem/aio/exceptions.hpp"
#include "tandem/aio/locks.hpp"
#include "tandem/aio/streams.hpp"
#include "tandem/aio/timeouts.hpp"
#include "tandem/errors.hpp"

namespace tandem::http::web {

// ---- routing ---------------------------------------------------------------------------------------

void Application::add_route(std::string method, std::string path, Handler handler) {
  if (!handler) throw std::invalid_argument("web::Application: the handler for " + path + " is empty");
  routes_.push_back(Route{std::move(method), std::move(path), false, std::move(handler)});
}

void Application::add_prefix_route(std::string method, std::string prefix, Handler handler) {
  if (!handler) throw std::invalid_argument("web::Application: the handler for " + prefix + "* is empty");
  routes_.push_back(Route{std::move(method), std::move(prefix), true, std::move(handler)});
}

const Handler* Application::resolve(Request& request, int& status, std::string& allow) const {
  auto method_ok = [&](const Route& r) {
    return r.method == "*" || r.method == request.method || (request.method == "HEAD" && r.method == "GET");
  };
  auto add_allow = [&](const Route& r) {
    if (allow.find(r.method) != std::string::npos) return;
    allow += (allow.empty() ? "" : ", ") + r.method;
    if (r.method == "GET") allow += ", HEAD";
  };
  // Exact routes first; then the longest prefix that matches.
  bool path_known = false;
  for (const auto& r : routes_)
    if (!r.prefix && r.path == request.path) {
      if (method_ok(r)) return &r.handler;
      path_known = true;
      add_allow(r);
    }
  std::size_t longest = 0;
  if (!path_known)
    for (const auto& r : routes_)
      if (r.prefix && request.path.starts_with(r.path)) longest = std::max(longest, r.path.size() + 1);
  if (longest > 0)
    for (const auto& r : routes_)
      if (r.prefix && r.path.size() + 1 == longest && request.path.starts_with(r.path)) {
        if (method_ok(r)) {
          request.match_tail = request.path.substr(r.path.size());
          return &r.handler;
        }
        path_known = true;
        add_allow(r);
      }
  status = path_known ? 405 : 404;
  return nullptr;
}

// ---- the server --------------------------------------------------------------------------------------

namespace detail {

namespace {
constexpr std::size_t kReadSize = 64 * 1024;
// Responses to pipelined requests pile up in the write buffer while the client sends more; past this
// much the connection waits (write_timeout at most) for the client to read before answering more.
constexpr std::size_t kMaxQueuedOutput = 256 * 1024;
// After an error answer the client may still be sending (a refused body): read and drop what comes for
// this long, at most kLingerBytes, so that closing does not reset the connection before the client
// has read the answer (nginx's lingering close).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 8 * 1024 * 1024;

aio::Task<void> discard_input(aio::StreamReader& reader) {
  std::size_t dropped = 0;
  while (dropped < kLingerBytes) {
    auto chunk = co_await reader.read(kReadSize);
    if (chunk.empty()) break;
    dropped += chunk.size();
  }
}

Response error_response(int status, const std::string& message) {
  return Response::text(std::to_string(status) + " " + std::string(reason_phrase(status)) + ": " + message + "\n",
                        status);
}
}  // namespace

class ServerState : public std::enable_shared_from_this<ServerState> {
 public:
  ServerState(Application app, ServerConfig config) : app_(std::move(app)), config_(std::move(config)) {}
  ~ServerState() { listener_.close(); }

  aio::Task<void> serve(aio::StreamReader reader, aio::StreamWriter writer);
  aio::Task<void> stop();
  ServerStats stats() const {
    ServerStats s = stats_;
    s.connections = connections_.size();
    return s;
  }

  aio::Server listener_;
  const ServerConfig& config() const noexcept { return config_; }

 private:
  struct Connection {
    aio::StreamWriter writer;
    bool idle = true;  // waiting for the first byte of a request: stop() may close it
  };

  aio::Task<Response> dispatch(Request& request);
  aio::Task<void> drain(aio::StreamWriter& writer);
  aio::Task<void> answer_error_and_close(aio::StreamReader& reader, aio::StreamWriter& writer, int status,
                                         const std::string& message);

  Application app_;
  ServerConfig config_;
  ServerStats stats_;
  std::list<Connection> connections_;
  bool stopping_ = false;
  bool stop_started_ = false;
  aio::Event stopped_;
};

aio::Task<Response> ServerState::dispatch(Request& request) {
  int status = 404;
  std::string allow;
  const Handler* handler = app_.resolve(request, status, allow);
  if (!handler) {
    Response r = error_response(status, status == 405 ? request.method + " is not allowed on " + request.path
                                                      : request.path + " is not here");
    if (!allow.empty()) r.headers.add("Allow", allow);
    co_return r;
  }
  std::string failure;
  try {
    co_return co_await (*handler)(request);
  } catch (const HTTPException& e) {
    co_return error_response(e.status() >= 100 && e.status() <= 999 ? e.status() : 500, e.what());
  } catch (const CancelledError&) {
    throw;
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "an exception that is not a std::exception";
  }
  ++stats_.handler_errors;
  aio::get_running_loop().report("tandem.http: the handler of " + request.method + " " + request.path +
                                 " failed (answered 500): " + failure);
  co_return error_response(500, "the handler failed");
}

aio::Task<void> ServerState::drain(aio::StreamWriter& writer) {
  if (writer.write_buffer_size() == 0) co_return;
  co_await aio::timeout(config_.write_timeout, writer.drain());
}

aio::Task<void> ServerState::answer_error_and_close(aio::StreamReader& reader, aio::StreamWriter& writer, int status,
                                                    const std::string& message) {
  std::string out;
  serialize_response(out, error_response(status, message), false);
  writer.write(out);
  writer.write_eof();
  try {
    co_await drain(writer);
    co_await aio::timeout(kLingerTime, discard_input(reader));
  } catch (const TimeoutError&) {
  }
}

aio::Task<void> ServerState::serve(aio::StreamReader reader, aio::StreamWriter writer) {
  auto& loop = aio::get_running_loop();
  if (stopping_) co_return;  // accepted just before stop(): the socket closes with the streams
  if (connections_.size() >= config_.max_connections) {
    ++stats_.rejected;
    Response r = error_response(503, "the server is at its connection limit; try again");
    r.headers.add("Retry-After", "1");
    std::string out;
    serialize_response(out, r, false);
    try {
      writer.write(out);
      co_await drain(writer);
    } catch (const CancelledError&) {
      throw;
    } catch (const std::exception&) {
    }
    co_return;
  }
  connections_.push_front(Connection{writer});
  const auto self = connections_.begin();
  struct Leave {
    std::list<Connection>& list;
    std::list<Connection>::iterator it;
    ~Leave() { list.erase(it); }
  } leave{connections_, self};

  ConnectionProtocol protocol(ProtocolLimits{config_.max_body_size});
  const std::string peer = writer.peername();
  std::string out;
  bool first = true;
  bool eof = false;
  aio::TimePoint idle_since = loop.time(), head_since = idle_since, body_since = idle_since;
  try {
    for (;;) {
      while (!protocol.has_request() && !protocol.finished()) {
        const bool idle = !protocol.in_request();
        self->idle = idle;
        if (idle && stopping_) co_return;
        if (protocol.wants_continue()) {  // every earlier answer is out: nothing is queued
          writer.write("HTTP/1.1 100 Continue\r\n\r\n");
          protocol.continue_sent();
        }
        const aio::TimePoint deadline =
            idle ? idle_since + (first ? config_.header_timeout : config_.keep_alive_timeout)
            : !protocol.head_complete() ? head_since + config_.header_timeout
                                        : body_since + config_.body_timeout;
        std::string data;
        bool timed_out = false;
        try {
          data = co_await aio::timeout_at(deadline, reader.read(kReadSize));
        } catch (const TimeoutError&) {
          timed_out = true;
        }
        if (timed_out) {
          ++stats_.timeouts;
          if (idle && !first) co_return;  // a quiet kept-alive connection: close without a word
          self->idle = false;
          // A named string, not a temporary in the co_await expression (GCC 12 destroys those wrongly).
          const std::string why = idle                       ? "no request arrived in time"
                                  : protocol.head_complete() ? "the request body did not arrive in time"
                                                             : "the request headers did not arrive in time";
          co_await answer_error_and_close(reader, writer, 408, why);
          co_return;
        }
        if (data.empty()) {
          eof = true;
          protocol.feed_eof();
          break;
        }
        const bool was_in = protocol.in_request() || protocol.has_request();
        const bool was_head = protocol.head_complete();
        protocol.feed(data);
        const auto now = loop.time();
        if (!was_in) head_since = now;
        if (!was_head && protocol.head_complete()) body_since = now;
      }
      self->idle = false;
      if (protocol.has_request()) {
        Request request = protocol.next_request();
        request.peer = peer;
        Response response = co_await dispatch(request);
        ++stats_.requests;
        // After the client's EOF (a half-close after its last request) the requests already queued
        // are still answered; the connection closes after the last of them.
        const bool keep = request.keep_alive && !stopping_ && !(eof && !protocol.has_request());
        out.clear();
        try {
          serialize_response(out, response, request, keep);
        } catch (const std::invalid_argument& e) {
          ++stats_.handler_errors;
          loop.report("tandem.http: the response of " + request.method + " " + request.path +
                      " cannot be sent (answered 500): " + e.what());
          out.clear();
          serialize_response(out, error_response(500, "the handler's response was invalid"), request, keep);
        }
        writer.write(out);
        if (!keep) {
          co_await drain(writer);
          co_return;
        }
        if (writer.write_buffer_size() > kMaxQueuedOutput) co_await drain(writer);
        first = false;
        idle_since = loop.time();
        continue;
      }
      if (protocol.error() && !eof) {
        ++stats_.protocol_errors;
        const ProtocolError error = *protocol.error();
        co_await answer_error_and_close(reader, writer, error.status, error.message);
      }
      co_await drain(writer);
      co_return;
    }
  } catch (const CancelledError&) {
    throw;
  } catch (const aio::ConnectionError&) {  // the client went away (reset, broken pipe) or stop() closed it
  } catch (const TimeoutError&) {          // a client that does not read its answers (write_timeout)
    ++stats_.timeouts;
  }
}

aio::Task<void> ServerState::stop() {
  if (stop_started_) {
    co_await stopped_.wait();
    co_return;
  }
  stop_started_ = true;
  stopping_ = true;
  listener_.close();
  for (auto& c : connections_)
    if (c.idle) c.writer.close();  // wakes its read with ConnectionError: the task ends
  bool late = false;
  try {
    co_await aio::timeout(config_.shutdown_grace, listener_.wait_closed());
  } catch (const TimeoutError&) {
    late = true;
  }
  if (late) {  // the grace is over: cancel what still runs
    listener_.close_clients();
    co_await listener_.wait_closed();
  }
  stopped_.set();
}

namespace {
aio::Task<void> serve_connection(std::weak_ptr<ServerState> weak, aio::StreamReader reader,
                                 aio::StreamWriter writer) {
  auto state = weak.lock();
  if (state) co_await state->serve(std::move(reader), std::move(writer));
}
}  // namespace

}  // namespace detail

aio::Task<Server> Server::start(Application app, ServerConfig config) {
  if (config.max_connections == 0) throw InvalidStateError("web::Server: max_connections must be at least 1");
  auto state = std::make_shared<detail::ServerState>(std::move(app), config);
  aio::ServerOptions options;
  options.backlog = config.backlog;
  options.reuse_port = config.reuse_port;
  std::weak_ptr<detail::ServerState> weak = state;
  // Named, not temporaries in the co_await expression: GCC 12 destroyed the callback temporary (and
  // the weak_ptr in it) twice there.
  aio::ClientConnectedCallback on_client = [weak](aio::StreamReader r, aio::StreamWriter w) {
    return detail::serve_connection(weak, std::move(r), std::move(w));
  };
  std::string host = config.host;
  state->listener_ = co_await aio::start_server(std::move(on_client), std::move(host), config.port, options);
  co_return Server(std::move(state));
}

std::uint16_t Server::port() const { return s_ ? s_->listener_.port() : 0; }

std::string url_of(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Server::url() const { return s_ ? url_of(s_->config().host, port()) : std::string(); }

ServerStats Server::stats() const { return s_ ? s_->stats() : ServerStats{}; }

aio::Task<void> Server::stop() {
  auto keep = s_;
  if (keep) co_await keep->stop();
}

}  // namespace tandem::http::web
