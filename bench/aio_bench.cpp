// Coroutine-runtime benchmarks, matching bench/python/aio_tasks.py and aio_echo_server.py:
//   bench_aio tasks N [ROUNDS] spawn N tasks that each yield once (co_await sleep(0)), gather them;
//                              ROUNDS times (default 1) in one process, one JSON line per round with
//                              its seconds and the process's peak RSS so far. Round 1 is the cold
//                              start (every frame on a page the kernel must first zero); later rounds
//                              reuse the memory, as a long-running program does.
//   bench_aio echo-server PORT the streams echo server; prints "ready", serves until killed.
//   bench_aio lock TASKS ACQ   TASKS tasks each take one aio::Lock ACQ times, yielding (sleep(0))
//                              while they hold it: every acquisition is contended, a release and a
//                              wake-up. One JSON line with the acquisitions per second.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tandem/aio.hpp"

namespace aio = tandem::aio;

namespace {

aio::Task<void> yield_once() { co_await aio::sleep(0.0); }

aio::Task<double> spawn_all(long n) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<aio::TaskHandle<void>> tasks;
  tasks.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) tasks.push_back(aio::create_task(yield_once()));
  co_await aio::gather(std::move(tasks));
  co_return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

aio::Task<void> lock_worker(aio::Lock& lock, long acquisitions) {
  for (long i = 0; i < acquisitions; ++i) {
    auto guard = co_await lock.scoped();
    co_await aio::sleep(0.0);
  }
}

aio::Task<double> contend(long tasks, long acquisitions) {
  aio::Lock lock;
  std::vector<aio::TaskHandle<void>> workers;
  workers.reserve(static_cast<std::size_t>(tasks));
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < tasks; ++i) workers.push_back(aio::create_task(lock_worker(lock, acquisitions)));
  co_await aio::gather(std::move(workers));
  co_return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

aio::Task<void> echo(aio::StreamReader reader, aio::StreamWriter writer) {
  try {
    for (;;) {
      std::string data = co_await reader.read(65536);
      if (data.empty()) break;
      writer.write(data);
      co_await writer.drain();
    }
  } catch (const aio::ConnectionResetError&) {
  }
  writer.close();
}

aio::Task<void> serve(std::uint16_t port) {
  auto server = co_await aio::start_server(echo, "127.0.0.1", port);
  std::printf("ready\n");
  std::fflush(stdout);
  co_await server.serve_forever();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "tasks" && argc > 2) {
    const long n = std::atol(argv[2]);
    const long rounds = argc > 3 ? std::atol(argv[3]) : 1;
    if (n <= 0 || rounds <= 0) return 2;
    for (long round = 1; round <= rounds; ++round) {
      const double seconds = aio::run(spawn_all(n));
      rusage ru{};
      getrusage(RUSAGE_SELF, &ru);
      std::printf(
          "{\"impl\": \"tandem\", \"tasks\": %ld, \"round\": %ld, \"seconds\": %.6f, \"peak_rss_kib\": %ld}\n", n,
          round, seconds, ru.ru_maxrss);
      std::fflush(stdout);
    }
    return 0;
  }
  if (mode == "lock" && argc > 3) {
    const long tasks = std::atol(argv[2]), acquisitions = std::atol(argv[3]);
    if (tasks <= 0 || acquisitions <= 0) return 2;
    const double seconds = aio::run(contend(tasks, acquisitions));
    std::printf("{\"impl\": \"tandem\", \"acquisitions\": %ld, \"seconds\": %.6f, \"per_second\": %.0f}\n",
                tasks * acquisitions, seconds, static_cast<double>(tasks * acquisitions) / seconds);
    return 0;
  }
  if (mode == "echo-server" && argc > 2) {
    aio::run(serve(static_cast<std::uint16_t>(std::atoi(argv[2]))));
    return 0;
  }
  std::fprintf(stderr, "usage: bench_aio tasks N [ROUNDS] | bench_aio lock TASKS ACQ | bench_aio echo-server PORT\n");
  return 2;
}
