#include "lab/spinner.hpp"

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "lab/primes.hpp"
#include "tandem/threading.hpp"

namespace tandem::lab {

SpinnerWork parse_spinner_work(const std::string& text) {
  if (text == "sleep") return SpinnerWork::sleep;
  if (text == "primes") return SpinnerWork::primes;
  if (text == "primes-nap") return SpinnerWork::primes_nap;
  throw std::invalid_argument("--work must be one of sleep, primes, primes-nap; got '" + text + "'");
}

namespace {

void spin(std::ostream& out, const std::string& msg, Event& done, const SpinnerOptions& options,
          std::atomic<std::size_t>& frames) {
  static constexpr char kFrames[] = {'\\', '|', '/', '-'};
  std::string status;
  for (std::size_t i = 0;; ++i) {
    if (options.animate) {
      status = std::string("\r") + kFrames[i % 4] + " " + msg;
      out << status << std::flush;
    }
    frames.fetch_add(1, std::memory_order_relaxed);
    if (done.wait(options.interval)) break;
  }
  if (options.animate) out << '\r' << std::string(status.size(), ' ') << '\r' << std::flush;
}

int slow(const SpinnerOptions& options, SpinnerReport& report) {
  if (options.work == SpinnerWork::sleep)
    std::this_thread::sleep_for(options.slow);
  else
    report.prime = is_prime(options.number);
  return 42;
}

}  // namespace

SpinnerReport spinner_thread(std::ostream& out, const SpinnerOptions& options) {
  if (options.work == SpinnerWork::primes_nap)
    throw std::invalid_argument("--work primes-nap is the coroutine fix; threads need no napping");
  SpinnerReport report;
  std::atomic<std::size_t> frames{0};
  Event done;
  Thread spinner({.target_name = "spin"}, [&] { spin(out, "thinking!", done, options, frames); });
  out << "spinner object: " << spinner.repr() << "\n" << std::flush;
  spinner.start();
  const auto t0 = std::chrono::steady_clock::now();
  report.answer = slow(options, report);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done.set();
  spinner.join();
  report.frames = frames.load();
  return report;
}

}  // namespace tandem::lab
