// Thread-pool throughput: empty tasks, submit → result, on W workers. One JSON line per repetition:
//   {"impl": "tandem", "workers": 2, "tasks": 2000000, "seconds": 0.31}
// bench/run runs this beside CPython's ThreadPoolExecutor and computes medians and ratios.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
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

}  // namespace

int main(int argc, char** argv) {
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
