// The coroutine client (see tandem/http/client_session.hpp): libcurl's multi_socket API driven by the
// aio loop.
//
//   libcurl ──CURLMOPT_SOCKETFUNCTION(fd, IN/OUT/REMOVE)──▶ MultiDriver::on_socket ──▶ loop.wait_fd / forget_fd
//   libcurl ──CURLMOPT_TIMERFUNCTION(ms)─────────────────▶ MultiDriver::on_timer  ──▶ loop.call_later
//   loop: fd ready ──▶ SocketWatch::on_fd_ready ──▶ curl_multi_socket_action(fd) ─┐
//   loop: timer    ──▶ MultiDriver::on_timeout  ──▶ curl_multi_socket_action(TIMEOUT)
//                                                   └▶ collect_done(): CURLMSG_DONE ▶ Transfer::complete ▶ task.wake()
//
// A Transfer lives in the frame of the request() coroutine that awaits it; the driver points to it
// while it waits in the driver's queue (more than `limit` requests) or its easy handle is in the multi
// handle, and a completion admits the next queued one (admit_waiting). Cancellation
// (Transfer::cancel_wait) and close() unlink it from the queue or take the handle out with
// curl_multi_remove_handle, after which libcurl calls nothing of it.
// Readiness uses the loop's one-shot FdWaiter (called synchronously from epoll dispatch, no
// std::function per event) and is re-armed after each socket_action while libcurl still wants it.
#include "tandem/http/client_session.hpp"

#include <curl/curl.h>

#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "curl_request.hpp"
#include "tandem/aio/events.hpp"

namespace tandem::http::detail {

class Transfer;

class MultiDriver {
 public:
  MultiDriver(aio::EventLoop& loop, ClientSessionOptions options);
  ~MultiDriver() { close(); }
  MultiDriver(const MultiDriver&) = delete;
  MultiDriver& operator=(const MultiDriver&) = delete;

  aio::EventLoop& loop() const noexcept { return *loop_; }
  const ClientSessionOptions& options() const noexcept { return options_; }
  bool closed() const noexcept { return multi_ == nullptr; }
  std::size_t in_flight() const noexcept { return active_.size() + waiting_count_; }
  std::size_t watched_sockets() const noexcept { return sockets_.size(); }

  /// Hands t to libcurl now, or queues it while `limit` transfers are in libcurl already. False if
  /// it could not start (t holds the error); nothing is woken then.
  bool start(Transfer* t) noexcept;
  /// Takes t back (cancellation): out of the queue, or out of libcurl (its connection closes, none of
  /// its callbacks runs afterwards).
  void abandon(Transfer* t) noexcept;
  void give_back_easy(CURL* easy) noexcept;
  void close() noexcept;

 private:
  struct Socket;
  /// One side (read or write) of a watched socket: the loop calls it once when ready.
  struct SocketWatch final : aio::detail::FdWaiter {
    Socket* socket = nullptr;
    bool write = false;
    bool armed = false;
    void on_fd_ready() noexcept override;
  };
  struct Socket {
    MultiDriver* driver;
    int fd;
    bool want_read = false, want_write = false;
    SocketWatch read, write;
  };

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp) noexcept;
  static int on_timer(CURLM* multi, long timeout_ms, void* self) noexcept;
  void on_ready(int fd, bool write) noexcept;
  void on_timeout() noexcept;
  /// Arms each side libcurl wants and is not armed; disarms the others.
  void sync_watch(Socket& s);
  void forget(Socket& s) noexcept;
  void collect_done() noexcept;
  bool has_room() const noexcept { return options_.limit == 0 || active_.size() < options_.limit; }
  /// Configures an easy handle for t and adds it to the multi handle; false (t holds the error) if not.
  bool add_to_multi(Transfer* t) noexcept;
  /// Starts queued transfers while there is room.
  void admit_waiting() noexcept;
  CURL* take_easy();
  void report(const std::string& what) const noexcept;

  aio::EventLoop* loop_;
  ClientSessionOptions options_;
  CURLM* multi_ = nullptr;
  std::unordered_map<int, std::unique_ptr<Socket>> sockets_;
  std::unordered_set<Transfer*> active_;  // in libcurl
  aio::detail::List waiting_;             // queued for room, FIFO (Transfer is the node)
  std::size_t waiting_count_ = 0;
  std::vector<CURL*> idle_easy_;
  aio::TimerHandle timer_;
};

/// One request in flight: the awaitable the request() coroutine suspends on. Linked into the driver's
/// queue while it waits for room; it gets an easy handle only when it enters libcurl.
class Transfer final : public aio::detail::ListNode, aio::detail::Suspension {
 public:
  Transfer(MultiDriver& driver, std::string method, std::string url, std::string body, RequestOptions options)
      : driver_(&driver), req_(std::move(method), std::move(url), std::move(body)), options_(std::move(options)) {}
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (in_multi_ || linked()) driver_->abandon(this);  // the frame died without a cancel (loop torn down)
    if (easy_) {
      if (driver_->closed())
        curl_easy_cleanup(easy_);
      else
        driver_->give_back_easy(easy_);
    }
  }

  static Transfer* from(aio::detail::ListNode* n) noexcept { return static_cast<Transfer*>(n); }
  CURL* easy() const noexcept { return easy_; }
  /// Entering libcurl: its easy handle, configured here (the errors land in the co_await).
  void prepare(CURL* easy, const SessionOptions& defaults) {
    easy_ = easy;
    req_.configure(easy_, defaults, options_);
    curl_easy_setopt(easy_, CURLOPT_PRIVATE, static_cast<void*>(this));  // collect_done() finds us
  }
  void set_in_multi(bool in) noexcept { in_multi_ = in; }
  void set_error(std::exception_ptr e) noexcept { error_ = std::move(e); }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    bind("ClientSession::request");
    if (cancelled_before_suspending()) return false;
    if (driver_->closed()) {
      session_closed_ = true;
      return false;
    }
    if (!driver_->start(this)) return false;  // error_ is set: resume at once and throw it
    suspend(h);
    return true;
  }
  Response await_resume() {
    throw_if_cancelled();
    if (session_closed_) req_.throw_session_closed();
    if (error_) std::rethrow_exception(error_);
    return req_.finish(easy_, result_);
  }

  /// libcurl finished it (the handle is already out of the multi handle).
  void complete(CURLcode result) noexcept {
    result_ = result;
    wake();
  }
  /// A queued transfer that could not enter libcurl (error_ is set).
  void fail() noexcept { wake(); }
  /// The session closed under it.
  void fail_session_closed() noexcept {
    session_closed_ = true;
    wake();
  }

 private:
  // cancel() of the awaiting task, also after libcurl finished it but before the task ran (the
  // response is dropped then: the co_await throws CancelledError, as every aio suspension does).
  Cancel on_cancel() noexcept override {
    if (!woken()) driver_->abandon(this);  // nothing of this transfer runs after this line
    return Cancel::ends_wait;
  }

  MultiDriver* driver_;
  CurlRequest req_;
  RequestOptions options_;
  CURL* easy_ = nullptr;
  std::exception_ptr error_;
  CURLcode result_ = CURLE_OK;
  bool in_multi_ = false;
  bool session_closed_ = false;
};

// ---- MultiDriver ------------------------------------------------------------------------------------------

MultiDriver::MultiDriver(aio::EventLoop& loop, ClientSessionOptions options)
    : loop_(&loop), options_(std::move(options)) {
  ensure_curl_initialized();
  multi_ = curl_multi_init();
  if (!multi_) throw Error("libcurl could not create a multi handle (out of memory?)", {});
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &MultiDriver::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &MultiDriver::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, static_cast<void*>(this));
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options_.limit));
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.limit_per_host));
  // Keep as many idle connections as may be open at once, so a burst of requests to one host reuses
  // all of them (libcurl's default cache is 4 per easy handle added).
  if (options_.limit > 0) curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.limit));
}

CURL* MultiDriver::take_easy() {
  if (!idle_easy_.empty()) {
    CURL* easy = idle_easy_.back();
    idle_easy_.pop_back();
    return easy;
  }
  CURL* easy = curl_easy_init();
  if (!easy) throw std::bad_alloc();
  return easy;
}

void MultiDriver::give_back_easy(CURL* easy) noexcept {
  curl_easy_reset(easy);
  const std::size_t keep = options_.limit ? options_.limit : 100;
  if (idle_easy_.size() >= keep) {
    curl_easy_cleanup(easy);
    return;
  }
  try {
    idle_easy_.push_back(easy);
  } catch (...) {
    curl_easy_cleanup(easy);
  }
}

bool MultiDriver::start(Transfer* t) noexcept {
  if (has_room()) return add_to_multi(t);
  waiting_.push_back(t);  // libcurl gets at most `limit` transfers: see admit_waiting()
  ++waiting_count_;
  return true;
}

bool MultiDriver::add_to_multi(Transfer* t) noexcept {
  try {
    t->prepare(take_easy(), options_.defaults);
    active_.insert(t);
    CURLMcode rc = curl_multi_add_handle(multi_, t->easy());
    if (rc != CURLM_OK) {
      active_.erase(t);
      if (rc == CURLM_OUT_OF_MEMORY) throw std::bad_alloc();
      throw Error(std::string("libcurl refused the transfer: ") + curl_multi_strerror(rc), {});
    }
    t->set_in_multi(true);
    return true;
  } catch (...) {
    t->set_error(std::current_exception());
    return false;
  }
}

// Queued transfers wait here rather than in libcurl: libcurl 7.88 keeps transfers that wait for a
// connection in a list that curl_multi_remove_handle scans, so 10,000 requests handed to it at once
// cost O(n^2) (35% of the client's time in remove_handle at 10,000 requests, limit 100).
void MultiDriver::admit_waiting() noexcept {
  while (multi_ && has_room() && !waiting_.empty()) {
    Transfer* t = Transfer::from(waiting_.pop_front());
    --waiting_count_;
    if (!add_to_multi(t)) t->fail();
  }
}

void MultiDriver::abandon(Transfer* t) noexcept {
  if (t->linked()) {
    t->unlink();
    --waiting_count_;
    return;
  }
  if (!active_.erase(t)) return;
  t->set_in_multi(false);
  if (multi_) curl_multi_remove_handle(multi_, t->easy());
  admit_waiting();
}

void MultiDriver::close() noexcept {
  if (!multi_) return;
  // Fail what is in flight first: its tasks wake (on the next iteration) and throw ConnectionError.
  while (!waiting_.empty()) {
    Transfer::from(waiting_.pop_front())->fail_session_closed();
    --waiting_count_;
  }
  auto in_flight = std::move(active_);
  active_.clear();
  for (Transfer* t : in_flight) {
    curl_multi_remove_handle(multi_, t->easy());
    t->set_in_multi(false);
    t->fail_session_closed();
  }
  CURLM* multi = multi_;
  multi_ = nullptr;  // from here on, callbacks only let go (on_socket REMOVE), they arm nothing
  curl_multi_cleanup(multi);  // closes the cached connections
  for (auto& [fd, s] : sockets_) forget(*s);
  sockets_.clear();
  timer_.cancel();
  for (CURL* easy : idle_easy_) curl_easy_cleanup(easy);
  idle_easy_.clear();
}

void MultiDriver::report(const std::string& what) const noexcept {
  try {
    loop_->report("http::ClientSession: " + what);
  } catch (...) {
  }
}

// ---- libcurl → loop -----------------------------------------------------------------------------------------

int MultiDriver::on_socket(CURL*, curl_socket_t fd, int what, void* self, void*) noexcept {
  auto* d = static_cast<MultiDriver*>(self);
  auto it = d->sockets_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    if (it != d->sockets_.end()) {
      d->forget(*it->second);  // libcurl may close the fd right after: the loop must forget it now
      d->sockets_.erase(it);
    }
    return 0;
  }
  if (!d->multi_) return 0;
  try {
    if (it == d->sockets_.end()) {
      auto s = std::make_unique<Socket>();
      s->driver = d;
      s->fd = fd;
      s->read.socket = s->write.socket = s.get();
      s->write.write = true;
      it = d->sockets_.emplace(fd, std::move(s)).first;
    }
    Socket& s = *it->second;
    s.want_read = what == CURL_POLL_IN || what == CURL_POLL_INOUT;
    s.want_write = what == CURL_POLL_OUT || what == CURL_POLL_INOUT;
    d->sync_watch(s);
    return 0;
  } catch (const std::exception& e) {
    d->report(std::string("cannot watch a socket: ") + e.what());
    return -1;  // libcurl fails the transfers using it
  }
}

void MultiDriver::sync_watch(Socket& s) {
  for (SocketWatch* w : {&s.read, &s.write}) {
    const bool want = w->write ? s.want_write : s.want_read;
    if (want && !w->armed) {
      aio::detail::LoopAccess::wait_fd(*loop_, s.fd, w->write, w);
      w->armed = true;
    } else if (!want && w->armed) {
      aio::detail::LoopAccess::cancel_wait_fd(*loop_, s.fd, w->write, w);
      w->armed = false;
    }
  }
}

void MultiDriver::forget(Socket& s) noexcept {
  for (SocketWatch* w : {&s.read, &s.write})
    if (w->armed) {
      aio::detail::LoopAccess::cancel_wait_fd(*loop_, s.fd, w->write, w);
      w->armed = false;
    }
  aio::detail::LoopAccess::forget_fd(*loop_, s.fd);
}

int MultiDriver::on_timer(CURLM*, long timeout_ms, void* self) noexcept {
  auto* d = static_cast<MultiDriver*>(self);
  d->timer_.cancel();
  if (timeout_ms < 0 || !d->multi_) return 0;
  try {
    d->timer_ = d->loop_->call_later(std::chrono::milliseconds(timeout_ms), [d] { d->on_timeout(); });
    return 0;
  } catch (...) {
    d->report("cannot arm libcurl's timer (out of memory)");
    return -1;
  }
}

void MultiDriver::SocketWatch::on_fd_ready() noexcept {
  armed = false;  // the loop has just dropped this one-shot wait
  socket->driver->on_ready(socket->fd, write);
}

void MultiDriver::on_ready(int fd, bool write) noexcept {
  if (!multi_) return;
  int running = 0;
  curl_multi_socket_action(multi_, fd, write ? CURL_CSELECT_OUT : CURL_CSELECT_IN, &running);
  collect_done();
  // libcurl re-announces interest only when it changes: keep watching while the socket is still wanted.
  if (auto it = sockets_.find(fd); it != sockets_.end() && multi_) {
    try {
      sync_watch(*it->second);
    } catch (const std::exception& e) {
      report(std::string("cannot watch a socket: ") + e.what());
    }
  }
}

void MultiDriver::on_timeout() noexcept {
  if (!multi_) return;
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  collect_done();
}

void MultiDriver::collect_done() noexcept {
  int left = 0;
  while (multi_) {
    CURLMsg* msg = curl_multi_info_read(multi_, &left);
    if (!msg) break;
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;  // msg dies with the removal below
    void* priv = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    curl_multi_remove_handle(multi_, easy);
    auto* t = static_cast<Transfer*>(priv);
    if (active_.erase(t)) {
      t->set_in_multi(false);
      t->complete(result);
    }
  }
  admit_waiting();
}

}  // namespace tandem::http::detail

namespace tandem::http {

ClientSession::ClientSession(ClientSessionOptions options)
    : driver_(std::make_shared<detail::MultiDriver>(aio::get_running_loop(), std::move(options))) {}

ClientSession::~ClientSession() { close(); }

void ClientSession::close() noexcept { driver_->close(); }
bool ClientSession::closed() const noexcept { return driver_->closed(); }
std::size_t ClientSession::in_flight() const noexcept { return driver_->in_flight(); }
std::size_t ClientSession::watched_sockets() const noexcept { return driver_->watched_sockets(); }

aio::Task<Response> ClientSession::request(std::string method, std::string url, std::string body,
                                           RequestOptions options) {
  auto driver = driver_;  // the frame keeps the driver alive even if the session goes first
  detail::Transfer transfer(*driver, std::move(method), std::move(url), std::move(body), std::move(options));
  co_return co_await transfer;
}

aio::Task<Response> ClientSession::get(std::string url, RequestOptions options) {
  return request("GET", std::move(url), {}, std::move(options));
}

aio::Task<Response> ClientSession::post(std::string url, std::string body, RequestOptions options) {
  return request("POST", std::move(url), std::move(body), std::move(options));
}

}  // namespace tandem::http
