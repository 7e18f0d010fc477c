// spinner_proc.py: the spinner in a child process, `done` a process-shared Event.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "lab/primes.hpp"
#include "lab/spinner.hpp"
#include "tandem/process.hpp"
#include "tandem/ipc/sharedctypes.hpp"
#include "tandem/ipc/synchronize.hpp"

namespace tandem::lab {

namespace {

// Runs in the child: a plain function of plain values and ipc objects. It writes to the inherited
// stdout directly (an std::ostream cannot cross a process boundary) and counts frames in shared memory.
void spin_in_child(std::string msg, ipc::Event done, long long interval_ms, bool animate, ipc::Value<std::uint64_t> frames) {
  static constexpr char kFrames[] = {'\\', '|', '/', '-'};
  std::string status;
  for (std::size_t i = 0;; ++i) {
    if (animate) {
      status = std::string("\r") + kFrames[i % 4] + " " + msg;
      std::fwrite(status.data(), 1, status.size(), stdout);
      std::fflush(stdout);
    }
    frames.set(frames.get() + 1);
    if (done.wait(std::chrono::milliseconds(interval_ms))) break;
  }
  if (animate) {
    std::string blank = "\r" + std::string(status.size(), ' ') + "\r";
    std::fwrite(blank.data(), 1, blank.size(), stdout);
    std::fflush(stdout);
  }
}

}  // namespace

SpinnerReport spinner_process(std::ostream& out, const SpinnerOptions& options) {
  if (options.work == SpinnerWork::primes_nap)
    throw std::invalid_argument("--work primes-nap is the coroutine fix; processes need no napping");
  SpinnerReport report;
  ipc::Event done;
  ipc::Value<std::uint64_t> frames(0);
  Process spinner(&spin_in_child, std::string("thinking!"), done, static_cast<long long>(options.interval.count()),
                  options.animate, frames);
  out << "spinner object: " << spinner.repr() << "\n" << std::flush;
  spinner.start();
  const auto t0 = std::chrono::steady_clock::now();
  if (options.work == SpinnerWork::sleep)
    std::this_thread::sleep_for(options.slow);
  else
    report.prime = is_prime(options.number);
  report.answer = 42;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done.set();
  spinner.join();
  if (auto code = spinner.exitcode(); code && *code != 0)
    throw std::runtime_error("the spinner process ended with exit code " + std::to_string(*code));
  report.frames = frames.get();
  return report;
}

}  // namespace tandem::lab
