#include "tandem/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "tandem/detail/futex.hpp"
#include "tandem/threading.hpp"
#include "../sys/barrier.hpp"
#include "../sys/spin.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define TANDEM_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define TANDEM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define TANDEM_POISON(p, n) ((void)(p), (void)(n))
#define TANDEM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace tandem {

// ---- task memory ----------------------------------------------------------------------------------
// Profiling skynet (1.1 M tasks) showed malloc and free at a quarter of the pool's time: a task's
// state is ~130 bytes, above glibc's fastbins, and tcache keeps only 7 blocks per size, fewer than a
// 10-ary fork holds. Here each thread keeps the blocks it frees, by size class, and reuses them first.
// A block may be freed on another thread than the one that allocated it: it joins that thread's cache
// (or goes back to malloc when that cache is full), which is what malloc would do with it too.
namespace {
// 16-byte classes: malloc's chunk for a block is its size plus 16, rounded to 16, so a 112-byte state in
// a 128-byte block takes 144 bytes, in a 112-byte block 128 (fewer pages to fault in when millions of
// futures are alive at once).
constexpr std::size_t kTaskGranule = 16;
constexpr std::size_t kTaskClasses = 32;                // 16, 32, ... 512 bytes
constexpr std::size_t kTaskCacheBytes = 64 * 1024;      // per class and thread
struct FreeBlock {
  FreeBlock* next;
};
// Trivial and zero-initialised, so that every access is a plain TLS load (no guard): the destructor
// that frees the blocks at thread exit is a separate object, registered on the first free.
struct TaskCache {
  FreeBlock* head[kTaskClasses];
  std::uint32_t count[kTaskClasses];
  bool reaper_registered;
  bool closed;  // the thread is exiting: free directly
};
thread_local TaskCache task_cache;
struct TaskCacheReaper {
  ~TaskCacheReaper() {
    TaskCache& c = task_cache;
    c.closed = true;
    for (std::size_t i = 0; i < kTaskClasses; ++i) {
      while (FreeBlock* b = c.head[i]) {
        TANDEM_UNPOISON(b, (i + 1) * kTaskGranule);
        c.head[i] = b->next;
        ::operator delete(b);
      }
      c.count[i] = 0;
    }
  }
};
thread_local TaskCacheReaper task_cache_reaper;
std::size_t task_class(std::size_t size) { return (size - 1) / kTaskGranule; }
}  // namespace

namespace detail {
void* allocate_task(std::size_t size) {
  const std::size_t cls = task_class(size);
  if (cls >= kTaskClasses) return ::operator new(size);
  TaskCache& c = task_cache;
  if (FreeBlock* b = c.head[cls]) {
    TANDEM_UNPOISON(b, (cls + 1) * kTaskGranule);
    c.head[cls] = b->next;
    --c.count[cls];
    return b;
  }
  return ::operator new((cls + 1) * kTaskGranule);  // the class's size: any state of the class fits
}

void deallocate_task(void* p, std::size_t size) noexcept {
  const std::size_t cls = task_class(size);
  if (cls >= kTaskClasses) return ::operator delete(p, size);
  TaskCache& c = task_cache;
  if (c.closed || c.count[cls] >= kTaskCacheBytes / ((cls + 1) * kTaskGranule)) return ::operator delete(p);
  if (!c.reaper_registered) {
    c.reaper_registered = true;
    (void)&task_cache_reaper;  // odr-use: constructs it, and registers its destructor, on this thread
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = c.head[cls];
  c.head[cls] = b;
  ++c.count[cls];
  TANDEM_POISON(b, (cls + 1) * kTaskGranule);
}
}  // namespace detail

namespace {
std::atomic<std::uint64_t> pool_counter{0};

using detail::PoolTask;
using detail::StateBase;

// A work-stealing deque (Chase & Lev, SPAA 2005; memory orders after Lê et al., PPoPP 2013, with
// seq_cst accesses where the paper has fences, which ThreadSanitizer understands). The owner pushes
// and pops at the bottom (LIFO); anyone steals at the top (FIFO). Indices only grow at the top, so an
// index below top is never reused: the helping rule relies on this (see Impl::help).
class TaskDeque {
 public:
  TaskDeque() {
    rings_.push_back(std::make_unique<Ring>(256));
    ring_.store(rings_.back().get(), std::memory_order_relaxed);
  }

  // Owner only. A release store, as Chase–Lev needs: the caller then orders it before reading the
  // pool's spinner/idle counts with sys::light_barrier() (see Impl::enqueue).
  void push(PoolTask* t) {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed);
    const std::int64_t tp = top_.load(std::memory_order_acquire);
    Ring* r = ring_.load(std::memory_order_relaxed);
    if (b - tp > r->mask) r = grow(r, tp, b);
    r->at(b).store(t, std::memory_order_relaxed);
    bottom_.store(b + 1, sys::light_store_order);  // release (seq_cst under TSan)
  }

  // Owner only: the newest task, or null.
  PoolTask* pop() {
    const std::int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    Ring* r = ring_.load(std::memory_order_relaxed);
    bottom_.store(b, std::memory_order_seq_cst);
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    if (t > b) {
      bottom_.store(b + 1, std::memory_order_release);
      return nullptr;
    }
    PoolTask* x = r->at(b).load(std::memory_order_relaxed);
    if (t == b) {  // the last one: race the thieves for it
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) x = nullptr;
      bottom_.store(b + 1, std::memory_order_release);
    }
    return x;
  }

  // Anyone: the oldest task if its index is at least min_index, or null (also when another thief won).
  PoolTask* steal(std::int64_t min_index = INT64_MIN) {
    std::int64_t t = top_.load(std::memory_order_seq_cst);
    const std::int64_t b = bottom_.load(std::memory_order_seq_cst);
    if (t >= b || t < min_index) return nullptr;
    Ring* r = ring_.load(std::memory_order_acquire);
    PoolTask* x = r->at(t).load(std::memory_order_relaxed);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst, std::memory_order_relaxed)) return nullptr;
    return x;
  }

  bool looks_empty() const {
    return top_.load(std::memory_order_seq_cst) >= bottom_.load(std::memory_order_seq_cst);
  }
  std::int64_t bottom_index() const { return bottom_.load(std::memory_order_relaxed); }  // owner only
  // Owner only, without a fence: top only grows, so a stale top can only make the deque look fuller.
  bool owner_sees_empty() const {
    return bottom_.load(std::memory_order_relaxed) <= top_.load(std::memory_order_relaxed);
  }

 private:
  struct Ring {
    explicit Ring(std::int64_t capacity) : mask(capacity - 1), slots(new std::atomic<PoolTask*>[capacity]) {}
    std::atomic<PoolTask*>& at(std::int64_t i) { return slots[static_cast<std::size_t>(i & mask)]; }
    std::int64_t mask;
    std::unique_ptr<std::atomic<PoolTask*>[]> slots;
  };
  Ring* grow(Ring* old, std::int64_t tp, std::int64_t b) {
    auto bigger = std::make_unique<Ring>((old->mask + 1) * 2);
    for (std::int64_t i = tp; i < b; ++i) bigger->at(i).store(old->at(i).load(std::memory_order_relaxed), std::memory_order_relaxed);
    Ring* r = bigger.get();
    rings_.push_back(std::move(bigger));  // the old ring stays: a thief may be reading it
    ring_.store(r, std::memory_order_release);
    return r;
  }

  alignas(64) std::atomic<std::int64_t> top_{0};
  alignas(64) std::atomic<std::int64_t> bottom_{0};
  std::atomic<Ring*> ring_{nullptr};
  std::vector<std::unique_ptr<Ring>> rings_;  // owner only
};
}  // namespace

// Scheduling (see docs/architecture.md, "threads"):
// - Queues. Each worker owns a Chase–Lev deque: a task submitted by a worker of this pool goes to its own
//   deque (LIFO for the owner, FIFO for thieves); a task submitted from outside goes to the injection
//   list, FIFO as Python's pool. A worker looks at its deque, then the injection list, then steals.
// - Parking (after Go's runtime): a worker with nothing to do may watch for work for a few tens of
//   microseconds, but only one at a time (the "spinner"); a push wakes or starts a worker only when no
//   spinner will see the task; a worker that took work from elsewhere and sees more recruits the next.
// - Helping while waiting (help()): bounded, so that a worker's stack stays proportional to the
//   depth of the user's recursion whatever the queues hold.
struct ThreadPoolExecutor::Impl {
  struct Worker final : detail::WaitHelper {
    Impl* pool = nullptr;
    std::size_t index = 0;
    TaskDeque deque;
    std::uintptr_t stack_hi = 0;  // worker_main's frame: tasks use the stack below (it grows down)
    std::size_t stack_size = 0;   // from there to the end of the stack
    std::uint32_t seed = 1;  // xorshift state: where stealing starts
    Recorder::Lane* lane = nullptr;  // with a recorder: this worker's (its index), else null

    bool run_one(std::span<StateBase* const> awaited) override { return pool->help(*this, awaited); }

    // Arbitrary work may nest only while a quarter of the stack is still unused.
    bool has_headroom() const {
      const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
      return stack_size == 0 || stack_hi - here < stack_size / 4;
    }
  };
  static thread_local Worker* current;

  // A spin-then-futex lock over the injection list and the worker bookkeeping: the critical sections
  // are a few pointer moves, and glibc's mutex would make every contended push or pop a syscall.
  detail::FutexLock mu;
  // Parked workers sleep on this word; a wake-up bumps it, so a wake between a worker's decision to
  // park and its futex_wait is never lost.
  std::atomic<std::uint32_t> wake_seq{0};
  std::atomic<std::size_t> queued{0};       // tasks in the injection list; read without the lock
  std::atomic<int> spinners{0};             // 0 or 1
  std::atomic<std::size_t> recruitable{0};  // parked-and-not-signalled + not-yet-started: 0 = no one to call
  std::atomic<bool> closed{false};          // shutdown() called or an initializer failed: submit throws
  std::atomic<const std::vector<Worker*>*> roster{nullptr};  // the workers, for thieves; replaced on growth
  PoolTask* head = nullptr;
  PoolTask* tail = nullptr;
  std::size_t idle = 0;       // workers parked on wake_seq
  std::size_t signalled = 0;  // of those, already woken: not to be counted on again
  std::size_t spawned = 0;    // workers decided on so far (the std::thread may still be starting)
  std::size_t reaped = 0;     // workers joined (or detached, for a shutdown from inside a task)
  std::size_t max_workers = 0;
  bool shutting_down = false;
  std::string broken;  // non-empty: an initializer failed
  std::string prefix;
  std::function<void()> initializer;
  Recorder* recorder = nullptr;
  std::atomic<std::uint64_t> recorded_submits{0};  // with a recorder: ids of the tasks submitted so far
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Worker>> workers;                      // owned here, under mu
  std::vector<std::unique_ptr<const std::vector<Worker*>>> rosters;  // every roster published, under mu
  std::weak_ptr<Impl> self;  // for workers started from inside the pool

  // ---- the injection list (caller holds mu) ----
  void push_locked(PoolTask* task) {
    if (tail)
      tail->next = task;
    else
      head = task;
    tail = task;
    // Relaxed: every decision that must not miss this task (a worker parking, an enqueue recruiting)
    // is made under mu; the spinner that polls `queued` without it sees the store soon enough.
    queued.store(queued.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  PoolTask* pop_locked() {
    PoolTask* t = head;
    if (t) {
      head = t->next;
      if (!head) tail = nullptr;
      t->next = nullptr;
      queued.store(queued.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    }
    return t;
  }
  PoolTask* take_all_locked() {
    PoolTask* all = head;
    head = tail = nullptr;
    queued.store(0, std::memory_order_relaxed);
    return all;
  }
  static void abandon_all(PoolTask* t, const std::exception_ptr& error) {
    while (t) {
      auto* next = t->next;
      t->abandon(error);
      t = next;
    }
  }
  // Empties every worker's deque (shutdown with cancel_futures, a broken pool).
  void abandon_deques(const std::exception_ptr& error) {
    const auto* all = roster.load(std::memory_order_acquire);
    if (!all) return;
    for (Worker* w : *all) {
      while (!w->deque.looks_empty())
        if (PoolTask* t = w->deque.steal()) t->abandon(error);
    }
  }

  // ---- adding workers ----
  void update_recruitable_locked() {
    const std::size_t startable = shutting_down ? 0 : max_workers - spawned;
    recruitable.store(idle - std::min(idle, signalled) + startable, std::memory_order_seq_cst);
  }
  struct Helping {
    bool wake = false;
    Worker* spawn = nullptr;
  };
  // Caller holds mu. Another worker should join in: a parked one if any, else a new one if allowed.
  Helping recruit_locked() {
    Helping h;
    if (idle > signalled) {
      ++signalled;
      h.wake = true;
    } else if (spawned < max_workers && !shutting_down) {
      auto w = std::make_unique<Worker>();
      w->pool = this;
      w->index = spawned++;
      w->seed = static_cast<std::uint32_t>(w->index * 2654435761u) | 1u;
      auto next = std::make_unique<std::vector<Worker*>>();
      if (const auto* old = roster.load(std::memory_order_relaxed)) *next = *old;
      next->push_back(w.get());
      roster.store(next.get(), std::memory_order_release);  // the old roster stays: a thief may be reading it
      rosters.push_back(std::move(next));
      h.spawn = w.get();
      workers.push_back(std::move(w));
    } else {
      return h;  // nothing changed: skip the store (a seq_cst one, on every outside submit to a busy pool)
    }
    update_recruitable_locked();
    return h;
  }
  // Outside mu: carry out what recruit_locked decided.
  void recruit(const Helping& h) {
    if (h.wake) wake(1);
    if (h.spawn) {
      std::thread t;
      try {
        // Workers share ownership of Impl, so a pool destroyed from one of its own tasks stays valid.
        t = std::thread([impl = self.lock(), w = h.spawn] { impl->worker_main(*w); });
      } catch (const std::system_error& e) {
        worker_not_started(e.what());
        return;
      }
      std::lock_guard lock(mu);
      threads.push_back(std::move(t));
    }
  }
  // After a push by a worker: call another worker unless a spinner will see the task or no one is left
  // to call. Lock-free when every worker is busy, the common case under load.
  void maybe_recruit() {
    if (spinners.load(std::memory_order_seq_cst) != 0 || recruitable.load(std::memory_order_seq_cst) == 0) return;
    Helping h;
    {
      std::lock_guard lock(mu);
      h = recruit_locked();
    }
    recruit(h);
  }
  // The OS refused a thread. Others may still run the queue; with none at all, fail what is queued
  // rather than leave futures that can never resolve.
  void worker_not_started(const std::string& why) {
    PoolTask* orphans = nullptr;
    {
      std::lock_guard lock(mu);
      --spawned;  // the Worker stays in the roster, its deque empty forever
      if (spawned == 0) orphans = take_all_locked();
      update_recruitable_locked();
    }
    abandon_all(orphans, std::make_exception_ptr(BrokenExecutor("cannot start a worker thread: " + why)));
  }
  void wake(int count) {
    wake_seq.fetch_add(1, std::memory_order_release);
    detail::futex_wake(wake_seq, count);
  }

  // ---- finding work ----
  bool work_visible() const {
    if (queued.load(std::memory_order_seq_cst) != 0) return true;
    if (const auto* all = roster.load(std::memory_order_acquire))
      for (const Worker* w : *all)
        if (!w->deque.looks_empty()) return true;
    return false;
  }
  PoolTask* take_injected() {
    if (queued.load(std::memory_order_seq_cst) == 0) return nullptr;
    std::lock_guard lock(mu);
    return pop_locked();
  }
  PoolTask* steal_any(Worker& me) {
    const auto* all = roster.load(std::memory_order_acquire);
    const std::size_t n = all->size();
    if (n < 2) return nullptr;
    me.seed ^= me.seed << 13;
    me.seed ^= me.seed >> 17;
    me.seed ^= me.seed << 5;
    for (int pass = 0; pass < 2; ++pass) {
      bool contended = false;
      for (std::size_t i = 0, start = me.seed % n; i < n; ++i) {
        Worker* victim = (*all)[(start + i) % n];
        if (victim == &me || victim->deque.looks_empty()) continue;
        if (PoolTask* t = victim->deque.steal()) return t;
        contended = true;
      }
      if (!contended) break;
    }
    return nullptr;
  }
  // Own deque first (newest, cache-warm), then the injection list, then the other deques.
  PoolTask* find_work(Worker& me, bool& from_elsewhere) {
    if (PoolTask* t = me.deque.owner_sees_empty() ? nullptr : me.deque.pop()) {
      t->popped_by_home = true;
      return t;
    }
    from_elsewhere = true;
    if (PoolTask* t = take_injected()) return t;
    return steal_any(me);
  }

  // The node has left its queue: run it (its completion lets go of the node in the same atomic), or, if
  // it was cancelled or a waiter claimed it while it sat in the queue, only let go of it.
  static void run_task(Worker& me, PoolTask* t) {
    if (t->claim())
      run_claimed_here(me, t, /*dequeued=*/true);
    else
      t->leave_queue();
  }
  static void run_claimed_here(Worker& me, PoolTask* t, bool dequeued) {
    t->runner_base.store(me.deque.bottom_index(), std::memory_order_relaxed);
    t->runner.store(&me, std::memory_order_release);
    if (Recorder::Lane* lane = me.lane) [[unlikely]] {  // the one check a pool without a recorder pays
      const std::uint64_t id = t->record_id;
      const auto start = Recorder::Clock::now();
      t->run_claimed(dequeued);  // may free t (its future's last reference): id was read first
      lane->add(id, start, Recorder::Clock::now());
      return;
    }
    t->run_claimed(dequeued);
  }

  // The helping rule: what a worker waiting on `awaited` may run. Each allowed task either is the
  // awaited one or was queued after it, on behalf of the frames now waiting, so every nested run goes
  // one level deeper into the user's recursion and the stack stays proportional to that depth:
  //  1. its own deque's newest task, if the awaited task was pushed there and not yet taken off by this
  //     worker: everything above it in the deque was pushed later (and if a thief took it, everything
  //     older went first: what remains is newer still);
  //  2. the awaited task itself, wherever it is queued, if nobody has started it;
  //  3. if another worker runs it, the oldest task that worker queued since it started it (leapfrogging,
  //     Wagner & Calder 1993): a subtask of the awaited one;
  //  4. when awaiting a future that is not this pool's task (a Promise, another pool), any work, but
  //     only while a quarter of the stack is unused: nothing else would let a one-worker pool serve a
  //     task of another pool that waits on this one.
  // Otherwise the waiter sleeps (StateBase::wait_until), looking again now and then for rule 3.
  bool help(Worker& me, std::span<StateBase* const> awaited) {
    bool foreign = false;
    for (StateBase* s : awaited) {
      if (s->done()) continue;
      detail::WorkItem* item = s->work_item();
      if (!item || item->executor != this) {
        foreign = true;
        continue;
      }
      auto* f = static_cast<PoolTask*>(item);
      if (f->home == &me && !f->popped_by_home && f->runner.load(std::memory_order_acquire) != &me &&
          !me.deque.owner_sees_empty()) {
        if (PoolTask* t = me.deque.pop()) {
          t->popped_by_home = true;
          run_task(me, t);
          return true;
        }
      }
      if (f->claim()) {  // the node stays queued; whoever takes it off finds it claimed
        run_claimed_here(me, f, /*dequeued=*/false);
        return true;
      }
      auto* runner = static_cast<Worker*>(const_cast<void*>(f->runner.load(std::memory_order_acquire)));
      if (runner && runner != &me) {
        // If the awaited task finishes between these two reads and the steal, the runner's later work
        // may reuse the indices: the one task taken then is merely not a subtask. Rare, and bounded.
        if (PoolTask* t = runner->deque.steal(f->runner_base.load(std::memory_order_relaxed))) {
          run_task(me, t);
          return true;
        }
      }
    }
    if (foreign && me.has_headroom()) {
      bool from_elsewhere = false;
      if (PoolTask* t = find_work(me, from_elsewhere)) {
        run_task(me, t);
        return true;
      }
    }
    return false;
  }

  // Watch for work briefly (the one spinner only). sched_yield lets a submitting thread that shares
  // the core run meanwhile.
  bool work_arrives_soon() const {
    for (int round = 0; round < 64; ++round) {
      for (int i = 0; i < 32; ++i) {
        if (queued.load(std::memory_order_relaxed) != 0) return true;
        sys::cpu_relax();
      }
      if (work_visible()) return true;
      if (round % 8 == 7) sched_yield();
    }
    return work_visible();
  }

  void worker_main(Worker& me) {
    set_current_thread_name(prefix + "_" + std::to_string(me.index));
    // The stack below this frame is what tasks can use (glibc keeps static TLS above it: ~800 KiB
    // under TSan).
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* lo = nullptr;
      std::size_t size = 0;
      if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
        me.stack_hi = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
        me.stack_size = me.stack_hi - reinterpret_cast<std::uintptr_t>(lo);
      }
      pthread_attr_destroy(&attr);
    }
    if (initializer) {
      try {
        initializer();
      } catch (const std::exception& e) {
        fail_initializer(e.what());
        return;
      } catch (...) {
        fail_initializer("unknown exception");
        return;
      }
    }
    if (recorder) {
      me.lane = &recorder->lane(static_cast<std::uint32_t>(me.index));
      Recorder::set_current_lane(me.lane);
    }
    current = &me;
    detail::current_wait_helper() = &me;
    bool spun_in_vain = false;  // then park: an idle pool must not keep a core busy
    for (;;) {
      bool from_elsewhere = false;
      if (PoolTask* t = find_work(me, from_elsewhere)) {
        spun_in_vain = false;
        // Took work another worker could also have taken, and more is there: fan out.
        if (from_elsewhere && spinners.load(std::memory_order_seq_cst) == 0 &&
            recruitable.load(std::memory_order_seq_cst) != 0 && work_visible())
          maybe_recruit();
        run_task(me, t);
        continue;
      }
      if (closed.load(std::memory_order_seq_cst)) {
        if (work_visible()) continue;  // queued before shutdown: still runs
        break;
      }
      int none = 0;
      if (!spun_in_vain && spinners.compare_exchange_strong(none, 1, std::memory_order_seq_cst)) {
        spun_in_vain = !work_arrives_soon();
        spinners.store(0, std::memory_order_seq_cst);  // then look again: see maybe_recruit()
        continue;
      }
      std::uint32_t seq;
      {
        std::lock_guard lock(mu);
        ++idle;
        update_recruitable_locked();
        seq = wake_seq.load(std::memory_order_acquire);
      }
      // Announced as idle before this last look, with the heavy side of the barrier pair whose light side
      // a worker's push runs (sys/barrier.hpp): a push that this look misses sees us, and recruits.
      sys::heavy_barrier();
      if (!work_visible() && !closed.load(std::memory_order_seq_cst)) detail::futex_wait(wake_seq, seq);
      {
        std::lock_guard lock(mu);
        --idle;
        if (signalled > 0) --signalled;
        update_recruitable_locked();
      }
      spun_in_vain = false;  // woken: work is likely on its way; watch for it once more before parking
    }
    detail::current_wait_helper() = nullptr;
    current = nullptr;
    Recorder::set_current_lane(nullptr);
  }

  void fail_initializer(const std::string& why) {
    PoolTask* pending;
    std::exception_ptr error;
    {
      std::lock_guard lock(mu);
      if (broken.empty())
        broken = "A thread initializer failed (" + why + "), the thread pool is not usable anymore";
      closed.store(true, std::memory_order_seq_cst);
      error = std::make_exception_ptr(BrokenExecutor(broken));
      pending = take_all_locked();
    }
    wake(INT_MAX);
    abandon_all(pending, error);
    abandon_deques(error);
  }

  void enqueue(PoolTask* task) {
    task->executor = this;
    if (recorder)
      task->record_id = static_cast<std::uint32_t>(recorded_submits.fetch_add(1, std::memory_order_relaxed) + 1);
    if (Worker* me = current; me && me->pool == this) {
      if (closed.load(std::memory_order_relaxed)) throw_closed();
      task->home = me;
      me->deque.push(task);
      // The push's store before maybe_recruit's loads: a full fence on every push cost ~12% of a small
      // task; the parking side pays instead (one membarrier system call per park).
      sys::light_barrier();
      maybe_recruit();
      return;
    }
    Helping help;
    {
      std::lock_guard lock(mu);
      if (!broken.empty()) throw BrokenExecutor(broken);
      if (shutting_down) throw ShutdownError();
      push_locked(task);
      // A spinner looks at the list again after it stops spinning, so if it is still registered here it
      // will find this task; otherwise recruit a worker.
      if (spinners.load(std::memory_order_seq_cst) == 0) help = recruit_locked();
    }
    recruit(help);
  }
  void throw_closed() {
    std::lock_guard lock(mu);
    if (!broken.empty()) throw BrokenExecutor(broken);
    throw ShutdownError();
  }
};

thread_local ThreadPoolExecutor::Impl::Worker* ThreadPoolExecutor::Impl::current = nullptr;

std::size_t ThreadPoolExecutor::default_max_workers() {
  return std::min<std::size_t>(32, std::max(1u, std::thread::hardware_concurrency()) + 4);
}

ThreadPoolExecutor::ThreadPoolExecutor(Options options) : impl_(std::make_shared<Impl>()) {
  sys::enable_asymmetric_barriers();  // before any worker of any pool can use them
  if (options.max_workers == 0) throw std::invalid_argument("ThreadPoolExecutor: max_workers must be greater than 0");
  detail::checked_worker_count(options.max_workers, "ThreadPoolExecutor");
  impl_->self = impl_;
  impl_->max_workers = options.max_workers;
  impl_->prefix = options.thread_name_prefix.empty() ? "ThreadPoolExecutor-" + std::to_string(pool_counter++)
                                                     : std::move(options.thread_name_prefix);
  impl_->initializer = std::move(options.initializer);
  impl_->recorder = options.recorder;
  std::lock_guard lock(impl_->mu);
  impl_->update_recruitable_locked();
}

ThreadPoolExecutor::~ThreadPoolExecutor() { shutdown(true, false); }

std::size_t ThreadPoolExecutor::max_workers() const noexcept { return impl_->max_workers; }

void ThreadPoolExecutor::enqueue(detail::PoolTask* task) { impl_->enqueue(task); }

void ThreadPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  Impl& im = *impl_;
  PoolTask* cancelled = nullptr;
  {
    std::lock_guard lock(im.mu);
    im.shutting_down = true;
    im.closed.store(true, std::memory_order_seq_cst);
    im.update_recruitable_locked();
    if (cancel_futures) cancelled = im.take_all_locked();
  }
  im.wake(INT_MAX);
  Impl::abandon_all(cancelled, nullptr);
  if (cancel_futures) im.abandon_deques(nullptr);
  if (!wait) return;
  // Reap until every worker ever decided on is joined: one may still be starting (recruited by a
  // worker just before shutdown) and join the list only after a first pass.
  for (;;) {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(im.mu);
      threads.swap(im.threads);
      if (threads.empty() && im.reaped == im.spawned) return;
    }
    if (threads.empty()) {
      std::this_thread::yield();
      continue;
    }
    for (auto& t : threads) {
      if (t.get_id() == std::this_thread::get_id())
        t.detach();  // shutdown from one of our own tasks: this worker exits when its task returns
      else
        t.join();
    }
    std::lock_guard lock(im.mu);
    im.reaped += threads.size();
  }
}

}  // namespace tandem
