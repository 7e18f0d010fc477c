// The coroutine client (see tandem/http/client_session.hpp): libcurl's multi_socket API driven by the
// aio loop.
//
//   libcurl ──CURLMOPT_SOCKETFUNCTION(fd, IN/OUT/REMOVE)──▶ MultiDriver::on_socket ──▶ loop.wait_fd / forget_fd
//   libcurl ──CURLMOPT_TIMERFUNCTION(ms)─────────────────▶ MultiDriver::on_timer  ──▶ the shard's TimerNode
//   loop: fd ready ──▶ SocketWatch::on_fd_ready ──▶ curl_multi_socket_action(fd) ─┐
//   loop: timer    ──▶ Shard::on_fire           ──▶ curl_multi_socket_action(TIMEOUT)
//                                                   └▶ collect_done(): CURLMSG_DONE ▶ Transfer::complete ▶ task.wake()
//
// The transfers are spread over shards, each a multi handle with its own connection cache holding at
// most kTransfersPerShard transfers (one shard while `limit` fits in one, or while a per-host limit
// is set). libcurl 7.88 walks a multi handle's whole connection cache to start a transfer (looking for
// a connection to reuse) and again to remove one (close_connect_only), so one handle with n
// connections costs O(n) per request; shards bound n. While sharding, the Pacer admits at most one
// shard's worth of transfers per loop iteration, so that connecting the later ones overlaps with the
// earlier ones' round trips. See docs/architecture.md for the measurements.
//
// A Transfer lives in the frame of the request() coroutine that awaits it; the driver points to it
// while it waits in the driver's queue (more than `limit` requests) or its easy handle is in a multi
// handle, and a completion admits the next queued one (admit_waiting). Cancellation
// (Transfer::cancel_wait) and close() unlink it from the queue or take the handle out with
// curl_multi_remove_handle, after which libcurl calls nothing of it.
// Readiness uses the loop's one-shot FdWaiter (called synchronously from epoll dispatch, no
// std::function per event) and is re-armed after each socket_action while libcurl still wants it;
// libcurl's timer is a TimerNode inside the shard (re-armed in place, nothing allocated per update).
#include "tandem/http/client_session.hpp"

#include <curl/curl.h>

#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "curl_request.hpp"
#include "tandem/aio/events.hpp"

namespace tandem::http::detail {

class Transfer;

/// Transfers one multi handle holds at once when the session shards (see the file comment): 32 to 1,000
/// measured alike at 10,000 requests (libcurl's CPU 0.4 s against 1.1 s with one handle); 256 keeps a
/// session with aiohttp's default limit of 100 on one handle.
constexpr std::size_t kTransfersPerShard = 256;

class MultiDriver {
 public:
  MultiDriver(aio::EventLoop& loop, ClientSessionOptions options);
  ~MultiDriver() { close(); }
  MultiDriver(const MultiDriver&) = delete;
  MultiDriver& operator=(const MultiDriver&) = delete;

  struct Shard;

  aio::EventLoop& loop() const noexcept { return *loop_; }
  const ClientSessionOptions& options() const noexcept { return options_; }
  bool closed() const noexcept { return closed_; }
  std::size_t in_flight() const noexcept { return active_count_ + waiting_count_; }
  std::size_t watched_sockets() const noexcept { return sockets_.size(); }

  /// Hands t to libcurl now, or queues it while `limit` transfers are in libcurl already. False if
  /// it could not start (t holds the error); nothing is woken then.
  bool start(Transfer* t) noexcept;
  /// Takes t back (cancellation): out of the queue, or out of libcurl (its connection closes, none of
  /// its callbacks runs afterwards).
  void abandon(Transfer* t) noexcept;
  void give_back_easy(CURL* easy) noexcept;
  void close() noexcept;

  /// One multi handle, its connection cache and libcurl's timer for it (a TimerNode: re-armed in
  /// place on every timer update).
  struct Shard final : aio::detail::TimerNode {
    MultiDriver* driver = nullptr;
    CURLM* multi = nullptr;
    std::size_t active = 0;  // transfers in this multi handle
    static void on_fire(aio::detail::TimerNode* n) noexcept {
      auto* self = static_cast<Shard*>(n);
      self->driver->on_timeout(*self);
    }
  };

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
    Shard* shard;
    int fd;
    bool want_read = false, want_write = false;
    SocketWatch read, write;
  };

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* shard, void* socketp) noexcept;
  static int on_timer(CURLM* multi, long timeout_ms, void* shard) noexcept;
  void on_ready(Socket& s, bool write) noexcept;
  void on_timeout(Shard& shard) noexcept;
  /// Arms each side libcurl wants and is not armed; disarms the others.
  void sync_watch(Socket& s);
  void forget(Socket& s) noexcept;
  void collect_done(Shard& shard) noexcept;
  bool has_room() const noexcept { return options_.limit == 0 || active_count_ < options_.limit; }
  /// Room, and this loop iteration's admissions are not spent (see Pacer).
  bool may_admit() const noexcept { return has_room() && (!pacing_ || admitted_this_round_ < per_shard_); }
  /// Counts one admission against this iteration's budget; arms the pacer that resets it.
  void count_admission() noexcept;
  /// The first shard with room for one more transfer, made if every shard is full.
  Shard& shard_with_room();
  Shard& add_shard();
  /// Configures an easy handle for t and adds it to a multi handle; false (t holds the error) if not.
  bool add_to_multi(Transfer* t) noexcept;
  /// t's handle leaves its multi handle (done, cancelled or closed).
  void remove_from_multi(Transfer* t) noexcept;
  /// Starts queued transfers while there is room.
  void admit_waiting() noexcept;
  CURL* take_easy();
  void report(const std::string& what) const noexcept;

  aio::EventLoop* loop_;
  ClientSessionOptions options_;
  std::size_t per_shard_;  // transfers one multi handle takes (0: no cap, one shard)
  std::vector<std::unique_ptr<Shard>> shards_;
  bool closed_ = false;
  std::unordered_map<int, std::unique_ptr<Socket>> sockets_;
  aio::detail::List active_;   // in libcurl (Transfer is the node)
  std::size_t active_count_ = 0;
  aio::detail::List waiting_;  // queued for room, FIFO
  std::size_t waiting_count_ = 0;
  std::vector<CURL*> idle_easy_;
  /// Admits at most per_shard_ transfers per loop iteration while sharding: libcurl connects every
  /// transfer added to a multi handle in one socket_action call, so 10,000 added at once would all
  /// connect before the first request is sent. A TimerNode due at once fires on the next iteration.
  struct Pacer final : aio::detail::TimerNode {
    MultiDriver* driver = nullptr;
    static void on_fire(aio::detail::TimerNode* n) noexcept;
  } pacer_;
  bool pacing_ = false;
  std::size_t admitted_this_round_ = 0;
};

/// One request in flight: the awaitable the request() coroutine suspends on. Linked into the driver's
/// queue while it waits for room, into its list of active transfers while in libcurl; it gets an easy
/// handle only when it enters libcurl.
class Transfer final : public aio::detail::ListNode, aio::detail::Suspension {
 public:
  Transfer(MultiDriver& driver, std::string method, std::string url, std::string body, RequestOptions options)
      : driver_(&driver), req_(std::move(method), std::move(url), std::move(body)), options_(std::move(options)) {}
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (shard_ || linked()) driver_->abandon(this);  // the frame died without a cancel (loop torn down)
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
  /// The shard whose multi handle holds the easy handle (nullptr: not in libcurl).
  MultiDriver::Shard* shard() const noexcept { return shard_; }
  void set_shard(MultiDriver::Shard* s) noexcept { shard_ = s; }
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
  MultiDriver::Shard* shard_ = nullptr;
  std::exception_ptr error_;
  CURLcode result_ = CURLE_OK;
  bool session_closed_ = false;
};

// ---- MultiDriver ------------------------------------------------------------------------------------------

MultiDriver::MultiDriver(aio::EventLoop& loop, ClientSessionOptions options)
    : loop_(&loop), options_(std::move(options)) {
  ensure_curl_initialized();
  // libcurl enforces a per-host limit per multi handle: with one, a single shard keeps it exact.
  per_shard_ = options_.limit_per_host > 0 ? 0 : kTransfersPerShard;
  if (per_shard_ > 0 && options_.limit > 0 && options_.limit <= per_shard_) per_shard_ = 0;
  pacing_ = per_shard_ > 0;
  pacer_.driver = this;
  pacer_.fire = &Pacer::on_fire;
  add_shard();  // the first now: a session that cannot make one fails here, not at its first request
}

MultiDriver::Shard& MultiDriver::add_shard() {
  shards_.reserve(shards_.size() + 1);
  auto s = std::make_unique<Shard>();
  s->driver = this;
  s->fire = &Shard::on_fire;
  s->multi = curl_multi_init();
  if (!s->multi) throw Error("libcurl could not create a multi handle (out of memory?)", {});
  CURLM* m = s->multi;
  curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, &MultiDriver::on_socket);
  curl_multi_setopt(m, CURLMOPT_SOCKETDATA, static_cast<void*>(s.get()));
  curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, &MultiDriver::on_timer);
  curl_multi_setopt(m, CURLMOPT_TIMERDATA, static_cast<void*>(s.get()));
  // A shard holds at most per_shard_ transfers, so that many connections (the session's limit when
  // there is one shard).
  const std::size_t cap = per_shard_ ? per_shard_ : options_.limit;
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(cap));
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.limit_per_host));
  // Keep as many idle connections as may be open at once, so a burst of requests to one host reuses
  // all of them (libcurl's default cache is 4 per easy handle added).
  if (cap > 0) curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, static_cast<long>(cap));
  shards_.push_back(std::move(s));
  return *shards_.back();
}

MultiDriver::Shard& MultiDriver::shard_with_room() {
  if (per_shard_ == 0) return *shards_.front();
  for (auto& s : shards_)
    if (s->active < per_shard_) return *s;
  return add_shard();
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
  if (may_admit()) {
    count_admission();
    return add_to_multi(t);
  }
  waiting_.push_back(t);  // libcurl gets at most `limit` transfers: see admit_waiting()
  ++waiting_count_;
  return true;
}

void MultiDriver::count_admission() noexcept {
  if (!pacing_) return;
  ++admitted_this_round_;
  if (pacer_.armed()) return;
  try {
    pacer_.when = loop_->time();
    aio::detail::LoopAccess::add_timer(*loop_, &pacer_);
  } catch (...) {
    pacing_ = false;  // out of memory for the timer heap: admit without pacing rather than stall
  }
}

void MultiDriver::Pacer::on_fire(aio::detail::TimerNode* n) noexcept {
  MultiDriver* d = static_cast<Pacer*>(n)->driver;
  d->admitted_this_round_ = 0;
  d->admit_waiting();
}

bool MultiDriver::add_to_multi(Transfer* t) noexcept {
  try {
    Shard& shard = shard_with_room();
    t->prepare(take_easy(), options_.defaults);
    CURLMcode rc = curl_multi_add_handle(shard.multi, t->easy());
    if (rc != CURLM_OK) {
      if (rc == CURLM_OUT_OF_MEMORY) throw std::bad_alloc();
      throw Error(std::string("libcurl refused the transfer: ") + curl_multi_strerror(rc), {});
    }
    t->set_shard(&shard);
    ++shard.active;
    active_.push_back(t);
    ++active_count_;
    return true;
  } catch (...) {
    t->set_error(std::current_exception());
    return false;
  }
}

void MultiDriver::remove_from_multi(Transfer* t) noexcept {
  Shard* shard = t->shard();
  curl_multi_remove_handle(shard->multi, t->easy());
  t->set_shard(nullptr);
  --shard->active;
  t->unlink();
  --active_count_;
}

// Queued transfers wait here rather than in libcurl: libcurl 7.88 keeps transfers that wait for a
// connection in a list that curl_multi_remove_handle scans, so 10,000 requests handed to it at once
// cost O(n^2) (35% of the client's time in remove_handle at 10,000 requests, limit 100).
void MultiDriver::admit_waiting() noexcept {
  while (!closed_ && may_admit() && !waiting_.empty()) {
    Transfer* t = Transfer::from(waiting_.pop_front());
    --waiting_count_;
    count_admission();
    if (!add_to_multi(t)) t->fail();
  }
}

void MultiDriver::abandon(Transfer* t) noexcept {
  if (t->shard()) {
    remove_from_multi(t);
    admit_waiting();
  } else if (t->linked()) {
    t->unlink();
    --waiting_count_;
  }
}

void MultiDriver::close() noexcept {
  if (closed_) return;
  // Fail what is in flight first: its tasks wake (on the next iteration) and throw ConnectionError.
  while (!waiting_.empty()) {
    Transfer::from(waiting_.pop_front())->fail_session_closed();
    --waiting_count_;
  }
  while (!active_.empty()) {
    Transfer* t = Transfer::from(active_.front());
    remove_from_multi(t);
    t->fail_session_closed();
  }
  closed_ = true;  // from here on, callbacks only let go (on_socket REMOVE), they arm nothing
  for (auto& s : shards_) {
    curl_multi_cleanup(s->multi);  // closes the cached connections
    s->multi = nullptr;
    if (s->armed()) aio::detail::LoopAccess::remove_timer(*loop_, s.get());
  }
  if (pacer_.armed()) aio::detail::LoopAccess::remove_timer(*loop_, &pacer_);
  for (auto& [fd, s] : sockets_) forget(*s);
  sockets_.clear();
  shards_.clear();
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

int MultiDriver::on_socket(CURL*, curl_socket_t fd, int what, void* shard, void*) noexcept {
  auto* sh = static_cast<Shard*>(shard);
  MultiDriver* d = sh->driver;
  auto it = d->sockets_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    if (it != d->sockets_.end()) {
      d->forget(*it->second);  // libcurl may close the fd right after: the loop must forget it now
      d->sockets_.erase(it);
    }
    return 0;
  }
  if (d->closed_) return 0;
  try {
    if (it == d->sockets_.end()) {
      auto s = std::make_unique<Socket>();
      s->fd = fd;
      s->read.socket = s->write.socket = s.get();
      s->write.write = true;
      it = d->sockets_.emplace(fd, std::move(s)).first;
    }
    Socket& s = *it->second;
    s.shard = sh;
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

int MultiDriver::on_timer(CURLM*, long timeout_ms, void* shard) noexcept {
  auto* sh = static_cast<Shard*>(shard);
  aio::EventLoop& loop = *sh->driver->loop_;
  if (sh->armed()) aio::detail::LoopAccess::remove_timer(loop, sh);
  if (timeout_ms < 0 || sh->driver->closed_) return 0;
  try {
    sh->when = loop.time() + std::chrono::milliseconds(timeout_ms);
    aio::detail::LoopAccess::add_timer(loop, sh);
    return 0;
  } catch (...) {
    sh->driver->report("cannot arm libcurl's timer (out of memory)");
    return -1;
  }
}

void MultiDriver::SocketWatch::on_fd_ready() noexcept {
  armed = false;  // the loop has just dropped this one-shot wait
  socket->shard->driver->on_ready(*socket, write);
}

void MultiDriver::on_ready(Socket& s, bool write) noexcept {
  if (closed_) return;
  const int fd = s.fd;
  Shard& shard = *s.shard;
  int running = 0;
  curl_multi_socket_action(shard.multi, fd, write ? CURL_CSELECT_OUT : CURL_CSELECT_IN, &running);
  // s may be gone now (libcurl removed the socket): look it up again.
  collect_done(shard);
  // libcurl re-announces interest only when it changes: keep watching while the socket is still wanted.
  if (auto it = sockets_.find(fd); it != sockets_.end() && !closed_) {
    try {
      sync_watch(*it->second);
    } catch (const std::exception& e) {
      report(std::string("cannot watch a socket: ") + e.what());
    }
  }
}

void MultiDriver::on_timeout(Shard& shard) noexcept {
  if (closed_) return;
  int running = 0;
  curl_multi_socket_action(shard.multi, CURL_SOCKET_TIMEOUT, 0, &running);
  collect_done(shard);
}

void MultiDriver::collect_done(Shard& shard) noexcept {
  int left = 0;
  while (!closed_) {
    CURLMsg* msg = curl_multi_info_read(shard.multi, &left);
    if (!msg) break;
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;  // msg dies with the removal below
    void* priv = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    auto* t = static_cast<Transfer*>(priv);
    if (t && t->shard() == &shard) {
      remove_from_multi(t);
      t->complete(result);
    } else {
      curl_multi_remove_handle(shard.multi, easy);
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
