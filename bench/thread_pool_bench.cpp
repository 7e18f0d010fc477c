// Thread-pool benchmarks. One JSON line per repetition; bench/run computes medians and ratios.
//   bench_thread_pool [workers] [tasks] [reps] [window]
//     empty tasks, submit → result, on W workers (beside CPython's ThreadPoolExecutor):
//     {"impl": "tandem", "workers": 2, "tasks": 2000000, "seconds": 0.31}
//   bench_thread_pool fork-join [workers] [reps] [fib|skynet|nqueens|merge: only that one]
//     recursive fork-join, the workloads of tzcnt/runtime-benchmarks (fib(30) with cutoff 1, skynet,
//     nqueens(11), merge sort of 10 M ints), run sequentially, on tandem and on TBB's task_group:
//     {"workload": "fib(30)", "impl": "tandem", "workers": 2, "seconds": 0.05}
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "tandem/thread_pool.hpp"

#ifdef TANDEM_BENCH_HAVE_TBB
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void emit(const char* impl, unsigned workers, long tasks, long window, double seconds) {
  std::printf("{\"impl\": \"%s\", \"workers\": %u, \"tasks\": %ld, \"window\": %ld, \"seconds\": %.6f}\n", impl,
              workers, tasks, window, seconds);
  std::fflush(stdout);
}

// Every task gets its own future, and every future's result is read: the submit → result round trip
// that concurrent.futures users pay for. `window` futures are in flight at a time (submit a window,
// read its results, repeat); window == tasks is the list-comprehension pattern
// `fs = [pool.submit(f) for ...]; [f.result() for f in fs]`.
double run_tandem(unsigned workers, long tasks, long window) {
  tandem::ThreadPoolExecutor pool(workers, "bench");
  pool.submit([] {}).result();  // workers started before the clock
  std::vector<tandem::Future<void>> futures;
  futures.reserve(static_cast<std::size_t>(window));
  const auto t0 = Clock::now();
  for (long done = 0; done < tasks; done += window) {
    futures.clear();
    for (long i = 0; i < window && done + i < tasks; ++i) futures.push_back(pool.submit([] {}));
    for (auto& f : futures) f.result();
  }
  return seconds_since(t0);
}

#ifdef TANDEM_BENCH_HAVE_TBB
// TBB's task_group has no per-task future: run() N times, then one wait() for all of them. The waiting
// thread executes tasks too, so the arena is limited to `workers` threads in all.
double run_tbb(unsigned workers, long tasks) {
  tbb::task_arena arena(static_cast<int>(workers), /*reserved_for_masters=*/1);
  double seconds = 0;
  arena.execute([&] {
    tbb::task_group warm;
    warm.run([] {});
    warm.wait();
    tbb::task_group group;
    const auto t0 = Clock::now();
    for (long i = 0; i < tasks; ++i) group.run([] {});
    group.wait();
    seconds = seconds_since(t0);
  });
  return seconds;
}
#endif


// ---- fork-join -----------------------------------------------------------------------------------
// Each workload is written three times with the same recursion: plain calls, tandem (submit one part,
// compute the other inline, wait on the future) and TBB (task_group::run one part, compute the other,
// wait). Both pools have `workers` threads doing work: tandem's workers (the main thread only waits),
// TBB's arena of `workers` slots including the main thread.

void emit_fj(const char* workload, const char* impl, unsigned workers, double seconds, long check) {
  std::printf("{\"workload\": \"%s\", \"impl\": \"%s\", \"workers\": %u, \"seconds\": %.6f, \"check\": %ld}\n",
              workload, impl, workers, seconds, check);
  std::fflush(stdout);
}

// fib(n) with cutoff 1: every call with n >= 2 forks.
// The sequential versions recurse through a volatile function pointer, or GCC folds skynet to a
// constant and rewrites fib into a loop: the column is the same recursion without tasks.
long fib_seq(int n);
long (*volatile fib_seq_call)(int) = fib_seq;
long fib_seq(int n) { return n < 2 ? n : fib_seq_call(n - 1) + fib_seq_call(n - 2); }
struct FibTandem {
  tandem::ThreadPoolExecutor& pool;
  long operator()(int n) const {
    if (n < 2) return n;
    auto left = pool.submit(*this, n - 1);
    const long right = (*this)(n - 2);
    return std::move(left).result() + right;
  }
};

// skynet: a 10-ary tree of 1 M leaves, each leaf returns its number, the root sums them.
constexpr long kSkynetLeaves = 1'000'000;
long skynet_seq(long num, long size);
long (*volatile skynet_seq_call)(long, long) = skynet_seq;
long skynet_seq(long num, long size) {
  if (size == 1) return num;
  long sum = 0;
  for (long i = 0; i < 10; ++i) sum += skynet_seq_call(num + i * (size / 10), size / 10);
  return sum;
}
struct SkynetTandem {
  tandem::ThreadPoolExecutor& pool;
  long operator()(long num, long size) const {
    if (size == 1) return num;
    std::array<tandem::Future<long>, 9> children;
    for (long i = 0; i < 9; ++i) children[static_cast<std::size_t>(i)] = pool.submit(*this, num + i * (size / 10), size / 10);
    long sum = (*this)(num + 9 * (size / 10), size / 10);
    for (auto& c : children) sum += std::move(c).result();
    return sum;
  }
};

// nqueens(n): count placements; a task per valid queen position, with its own copy of the board.
constexpr int kQueens = 11;
struct Board {
  std::array<signed char, 16> col{};  // col[row] = column of the queen in that row
};
bool safe(const Board& b, int row, int c) {
  for (int r = 0; r < row; ++r) {
    const int d = b.col[static_cast<std::size_t>(r)] - c;
    if (d == 0 || d == row - r || d == r - row) return false;
  }
  return true;
}
long queens_seq(Board b, int row) {
  if (row == kQueens) return 1;
  long n = 0;
  for (int c = 0; c < kQueens; ++c)
    if (safe(b, row, c)) {
      b.col[static_cast<std::size_t>(row)] = static_cast<signed char>(c);
      n += queens_seq(b, row + 1);
    }
  return n;
}
struct QueensTandem {
  tandem::ThreadPoolExecutor& pool;
  long operator()(Board b, int row) const {
    if (row == kQueens) return 1;
    std::array<tandem::Future<long>, kQueens> children;
    int forked = 0;
    for (int c = 0; c < kQueens; ++c)
      if (safe(b, row, c)) {
        b.col[static_cast<std::size_t>(row)] = static_cast<signed char>(c);
        children[static_cast<std::size_t>(forked++)] = pool.submit(*this, b, row + 1);
      }
    long n = 0;
    for (int i = 0; i < forked; ++i) n += std::move(children[static_cast<std::size_t>(i)]).result();
    return n;
  }
};

// Merge sort of 10 M ints: sort both halves (one forked), merge through a buffer; below 32 elements
// std::sort. The sequential column merges sequentially; the parallel ones merge large runs in parallel.
constexpr std::size_t kSortSize = 10'000'000;
constexpr std::size_t kSortLeaf = 32;
void merge_halves(std::span<int> a, std::span<int> buf) {
  const auto mid = a.size() / 2;
  std::merge(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(mid), a.begin() + static_cast<std::ptrdiff_t>(mid),
             a.end(), buf.begin());
  std::copy(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(a.size()), a.begin());
}
void msort_seq(std::span<int> a, std::span<int> buf) {
  if (a.size() <= kSortLeaf) return std::sort(a.begin(), a.end());
  const auto mid = a.size() / 2;
  msort_seq(a.first(mid), buf.first(mid));
  msort_seq(a.subspan(mid), buf.subspan(mid));
  merge_halves(a, buf);
}
// The parallel versions merge in parallel too (the textbook fix: with a sequential merge the top
// levels leave all workers but one idle; on 2 cores that capped the speed-up at ~1.78x): split the
// larger run at its middle, find that value's place in the other by binary search, merge the two
// pairs as two tasks; then copy back in parallel. Pieces below kMergeLeaf elements are merged
// sequentially.
constexpr std::size_t kMergeLeaf = 32 * 1024;
struct MergeSplit {
  std::size_t x_mid, y_mid;
};
MergeSplit split_merge(std::span<const int>& x, std::span<const int>& y) {
  if (x.size() < y.size()) std::swap(x, y);
  const std::size_t x_mid = x.size() / 2;
  const auto y_mid = static_cast<std::size_t>(std::lower_bound(y.begin(), y.end(), x[x_mid]) - y.begin());
  return {x_mid, y_mid};
}
struct PmergeTandem {
  tandem::ThreadPoolExecutor& pool;
  void operator()(std::span<const int> x, std::span<const int> y, std::span<int> out) const {
    if (x.size() + y.size() <= kMergeLeaf) {
      std::merge(x.begin(), x.end(), y.begin(), y.end(), out.begin());
      return;
    }
    const auto [xm, ym] = split_merge(x, y);
    auto left = pool.submit(*this, x.first(xm), y.first(ym), out.first(xm + ym));
    (*this)(x.subspan(xm), y.subspan(ym), out.subspan(xm + ym));
    left.result();
  }
};
struct PcopyTandem {
  tandem::ThreadPoolExecutor& pool;
  void operator()(std::span<const int> from, std::span<int> to) const {
    if (from.size() <= kMergeLeaf) {
      std::copy(from.begin(), from.end(), to.begin());
      return;
    }
    const auto mid = from.size() / 2;
    auto left = pool.submit(*this, from.first(mid), to.first(mid));
    (*this)(from.subspan(mid), to.subspan(mid));
    left.result();
  }
};
struct MsortTandem {
  tandem::ThreadPoolExecutor& pool;
  void operator()(std::span<int> a, std::span<int> buf) const {
    if (a.size() <= kSortLeaf) return std::sort(a.begin(), a.end());
    const auto mid = a.size() / 2;
    auto left = pool.submit(*this, a.first(mid), buf.first(mid));
    (*this)(a.subspan(mid), buf.subspan(mid));
    left.result();
    if (a.size() <= kMergeLeaf) return merge_halves(a, buf);
    PmergeTandem{pool}(a.first(mid), a.subspan(mid), buf.first(a.size()));
    PcopyTandem{pool}(buf.first(a.size()), a);
  }
};
std::vector<int> sort_input() {
  std::vector<int> v(kSortSize);
  std::mt19937 rng(42);
  for (auto& x : v) x = static_cast<int>(rng());
  return v;
}
long sorted_check(const std::vector<int>& v) { return std::is_sorted(v.begin(), v.end()) ? static_cast<long>(v.size()) : -1; }

#ifdef TANDEM_BENCH_HAVE_TBB
long fib_tbb(int n) {
  if (n < 2) return n;
  long left = 0;
  tbb::task_group g;
  g.run([&] { left = fib_tbb(n - 1); });
  const long right = fib_tbb(n - 2);
  g.wait();
  return left + right;
}
long skynet_tbb(long num, long size) {
  if (size == 1) return num;
  std::array<long, 9> sums{};
  tbb::task_group g;
  for (long i = 0; i < 9; ++i) g.run([&sums, i, num, size] { sums[static_cast<std::size_t>(i)] = skynet_tbb(num + i * (size / 10), size / 10); });
  long sum = skynet_tbb(num + 9 * (size / 10), size / 10);
  g.wait();
  for (long s : sums) sum += s;
  return sum;
}
long queens_tbb(Board b, int row) {
  if (row == kQueens) return 1;
  std::array<long, kQueens> counts{};
  tbb::task_group g;
  for (int c = 0; c < kQueens; ++c)
    if (safe(b, row, c)) {
      b.col[static_cast<std::size_t>(row)] = static_cast<signed char>(c);
      g.run([&counts, b, row, c] { counts[static_cast<std::size_t>(c)] = queens_tbb(b, row + 1); });
    }
  g.wait();
  long n = 0;
  for (long x : counts) n += x;
  return n;
}
void pmerge_tbb(std::span<const int> x, std::span<const int> y, std::span<int> out) {
  if (x.size() + y.size() <= kMergeLeaf) {
    std::merge(x.begin(), x.end(), y.begin(), y.end(), out.begin());
    return;
  }
  const auto [xm, ym] = split_merge(x, y);
  tbb::task_group g;
  g.run([&, xm = xm, ym = ym] { pmerge_tbb(x.first(xm), y.first(ym), out.first(xm + ym)); });
  pmerge_tbb(x.subspan(xm), y.subspan(ym), out.subspan(xm + ym));
  g.wait();
}
void pcopy_tbb(std::span<const int> from, std::span<int> to) {
  if (from.size() <= kMergeLeaf) {
    std::copy(from.begin(), from.end(), to.begin());
    return;
  }
  const auto mid = from.size() / 2;
  tbb::task_group g;
  g.run([&] { pcopy_tbb(from.first(mid), to.first(mid)); });
  pcopy_tbb(from.subspan(mid), to.subspan(mid));
  g.wait();
}
void msort_tbb(std::span<int> a, std::span<int> buf) {
  if (a.size() <= kSortLeaf) return std::sort(a.begin(), a.end());
  const auto mid = a.size() / 2;
  tbb::task_group g;
  g.run([&] { msort_tbb(a.first(mid), buf.first(mid)); });
  msort_tbb(a.subspan(mid), buf.subspan(mid));
  g.wait();
  if (a.size() <= kMergeLeaf) return merge_halves(a, buf);
  pmerge_tbb(a.first(mid), a.subspan(mid), buf.first(a.size()));
  pcopy_tbb(buf.first(a.size()), a);
}
#endif

template <class F>
double timed(F&& f) {
  const auto t0 = Clock::now();
  f();
  return seconds_since(t0);
}

void run_fork_join(unsigned workers, int reps, const std::string& only) {
  auto wanted = [&](const char* workload) { return only.empty() || std::string(workload).starts_with(only); };
  const std::vector<int> input = wanted("merge") ? sort_input() : std::vector<int>{};
  tandem::ThreadPoolExecutor pool(workers, "bench");
  // Start every worker before the clock: a burst of sleeps, one per worker, all in flight at once.
  {
    std::vector<tandem::Future<void>> warm;
    for (unsigned i = 0; i < workers; ++i)
      warm.push_back(pool.submit([] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); }));
    for (auto& f : warm) f.result();
  }
#ifdef TANDEM_BENCH_HAVE_TBB
  tbb::task_arena arena(static_cast<int>(workers), /*reserved_for_masters=*/1);
#endif
  for (int r = 0; r < reps; ++r) {
    long check = 0;
    double s = 0;
    if (wanted("fib")) {
    s = timed([&] { check = fib_seq(30); });
    emit_fj("fib(30)", "sequential", 1, s, check);
    s = timed([&] { check = pool.submit(FibTandem{pool}, 30).result(); });
    emit_fj("fib(30)", "tandem", workers, s, check);
#ifdef TANDEM_BENCH_HAVE_TBB
    s = timed([&] { arena.execute([&] { check = fib_tbb(30); }); });
    emit_fj("fib(30)", "tbb task_group", workers, s, check);
#endif

    }
    if (wanted("skynet")) {
    s = timed([&] { check = skynet_seq(0, kSkynetLeaves); });
    emit_fj("skynet (1 M leaves)", "sequential", 1, s, check);
    s = timed([&] { check = pool.submit(SkynetTandem{pool}, 0L, kSkynetLeaves).result(); });
    emit_fj("skynet (1 M leaves)", "tandem", workers, s, check);
#ifdef TANDEM_BENCH_HAVE_TBB
    s = timed([&] { arena.execute([&] { check = skynet_tbb(0, kSkynetLeaves); }); });
    emit_fj("skynet (1 M leaves)", "tbb task_group", workers, s, check);
#endif

    }
    if (wanted("nqueens")) {
    s = timed([&] { check = queens_seq(Board{}, 0); });
    emit_fj("nqueens(11)", "sequential", 1, s, check);
    s = timed([&] { check = pool.submit(QueensTandem{pool}, Board{}, 0).result(); });
    emit_fj("nqueens(11)", "tandem", workers, s, check);
#ifdef TANDEM_BENCH_HAVE_TBB
    s = timed([&] { arena.execute([&] { check = queens_tbb(Board{}, 0); }); });
    emit_fj("nqueens(11)", "tbb task_group", workers, s, check);
#endif

    }
    if (wanted("merge")) {
    std::vector<int> data = input, buf(input.size());
    s = timed([&] { msort_seq(data, buf); });
    emit_fj("merge sort (10 M ints)", "sequential", 1, s, sorted_check(data));
    data = input;
    s = timed([&] { pool.submit(MsortTandem{pool}, std::span<int>(data), std::span<int>(buf)).result(); });
    emit_fj("merge sort (10 M ints)", "tandem", workers, s, sorted_check(data));
#ifdef TANDEM_BENCH_HAVE_TBB
    data = input;
    s = timed([&] { arena.execute([&] { msort_tbb(data, buf); }); });
    emit_fj("merge sort (10 M ints)", "tbb task_group", workers, s, sorted_check(data));
#endif
    }
  }
}
}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "fork-join") == 0) {
    const unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 2;
    const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
    if (workers == 0 || reps <= 0) {
      std::fprintf(stderr, "usage: bench_thread_pool fork-join [workers>0] [reps>0] [workload prefix]\n");
      return 2;
    }
    run_fork_join(workers, reps, argc > 4 ? argv[4] : "");
    return 0;
  }
  const unsigned workers = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 2;
  const long tasks = argc > 2 ? std::atol(argv[2]) : 2'000'000;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  const long window = argc > 4 ? std::atol(argv[4]) : tasks;
  if (workers == 0 || tasks <= 0 || reps <= 0 || window <= 0) {
    std::fprintf(stderr, "usage: bench_thread_pool [workers>0] [tasks>0] [reps>0] [window>0]\n");
    return 2;
  }
  // TBB has no per-task futures, so it has no window: it runs only in the all-at-once pass.
  for (int r = 0; r < reps; ++r) {
    emit("tandem", workers, tasks, window, run_tandem(workers, tasks, window));
#ifdef TANDEM_BENCH_HAVE_TBB
    if (window >= tasks) emit("tbb task_group", workers, tasks, tasks, run_tbb(workers, tasks));
#endif
  }
}
