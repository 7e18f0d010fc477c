#include "lab/spinner.hpp"

#include <atomic>
#include <optional>
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
    bool stop = false;
    {
      Gil::Released released;  // a blocking wait: the GIL (if this thread holds one) is free meanwhile
      stop = done.wait(options.interval);
    }
    if (stop) break;
  }
  if (options.animate) out << '\r' << std::string(status.size(), ' ') << '\r' << std::flush;
}

int slow(const SpinnerOptions& options, SpinnerReport& report) {
  if (options.work == SpinnerWork::sleep)
    gil_sleep(options.slow);  // time.sleep releases the GIL
  else
    report.prime = is_prime(options.number);  // hands the GIL over at its checks only
  return 42;
}

// spinner_thread.py, with or without a GIL: under one, each thread holds it while it runs.
SpinnerReport spin_on_a_thread(std::ostream& out, const SpinnerOptions& options, Gil* gil) {
  if (options.work == SpinnerWork::primes_nap)
    throw std::invalid_argument("--work primes-nap is the coroutine fix; threads need no napping");
  SpinnerReport report;
  std::atomic<std::size_t> frames{0};
  Event done;
  Thread spinner({.target_name = "spin"}, [&] {
    std::optional<Gil::Holder> hold;
    if (gil) hold.emplace(*gil);
    spin(out, "thinking!", done, options, frames);
  });
  out << "spinner object: " << spinner.repr() << "\n" << std::flush;
  spinner.start();
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::optional<Gil::Holder> hold;
    if (gil) hold.emplace(*gil);
    report.answer = slow(options, report);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  done.set();
  spinner.join();
  report.frames = frames.load();
  if (gil) {
    report.gil_switches = gil->switches();
    report.gil_forced_switches = gil->forced_switches();
  }
  return report;
}

}  // namespace

SpinnerReport spinner_thread(std::ostream& out, const SpinnerOptions& options) {
  return spin_on_a_thread(out, options, nullptr);
}

SpinnerReport spinner_thread_gil(std::ostream& out, const SpinnerOptions& options) {
  Gil gil(options.switch_interval);
  return spin_on_a_thread(out, options, &gil);
}

SpinnerReport run_spinner(Model model, std::ostream& out, const SpinnerOptions& options) {
  switch (model) {
    case Model::threads: return spinner_thread(out, options);
    case Model::threads_gil: return spinner_thread_gil(out, options);
    case Model::processes: return spinner_process(out, options);
    case Model::coroutines: return spinner_coroutine(out, options);
    case Model::sequential:
    case Model::mpi: break;
  }
  throw std::invalid_argument("the spinner runs under " + choices(kSpinnerModels) + ", not " +
                              std::string(name(model)));
}

}  // namespace tandem::lab
