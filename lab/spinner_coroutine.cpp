// spinner_async.py and the Quick Quiz on coroutines: the blocking is_prime freezes the loop, the
// "power napping" version (co_await sleep(0) every so many divisions) keeps the spinner alive.
#include <string>
#include <string_view>

#include "lab/primes.hpp"
#include "lab/spinner.hpp"
#include "tandem/aio/runners.hpp"
#include "tandem/aio/tasks.hpp"

namespace tandem::lab {

namespace {

namespace aio = tandem::aio;

aio::Task<bool> is_prime_napping(std::uint64_t n, std::uint64_t nap_every) {
  if (n < 2) co_return false;
  if (n == 2) co_return true;
  if (n % 2 == 0) co_return false;
  if (nap_every == 0) nap_every = 1;
  const std::uint64_t root = isqrt(n);
  std::uint64_t since_nap = 0;
  for (std::uint64_t i = 3; i <= root; i += 2) {
    if (n % i == 0) co_return false;
    if (++since_nap == nap_every) {
      since_nap = 0;
      co_await aio::sleep(0.0);  // the power nap: every ready task (the spinner) gets its turn
    }
  }
  co_return true;
}

aio::Task<void> spin(std::string message, std::ostream& out, std::chrono::milliseconds interval, bool animate,
                     std::size_t& frames) {
  static constexpr std::string_view kChars = "\\|/-";
  std::string status;
  for (std::size_t i = 0;; ++i) {
    status = std::string("\r") + kChars[i % kChars.size()] + ' ' + message;
    ++frames;
    if (animate) out << status << std::flush;
    try {
      co_await aio::sleep(interval);
    } catch (const CancelledError&) {  // the seed's `except asyncio.CancelledError: break`
      break;
    }
  }
  if (animate) out << '\r' << std::string(status.size(), ' ') << '\r' << std::flush;
}

aio::Task<int> slow(const SpinnerOptions& options, SpinnerReport& report) {
  switch (options.work) {
    case SpinnerWork::sleep:
      co_await aio::sleep(options.slow);
      break;
    case SpinnerWork::primes:
      report.prime = is_prime(options.number);  // blocks the loop: nothing else runs meanwhile
      break;
    case SpinnerWork::primes_nap:
      report.prime = co_await is_prime_napping(options.number, options.nap_every);
      break;
  }
  co_return 42;
}

aio::Task<int> supervisor(std::ostream& out, const SpinnerOptions& options, SpinnerReport& report) {
  auto spinner =
      aio::create_task(spin("thinking!", out, options.interval, options.animate, report.frames), "spinner");
  out << "spinner object: " << spinner.repr() << '\n' << std::flush;
  const auto t0 = std::chrono::steady_clock::now();
  int result = co_await slow(options, report);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spinner.cancel();
  try {
    co_await spinner;  // let it clear its line (aio::run would cancel it at exit anyway)
  } catch (const CancelledError&) {
  }
  co_return result;
}

aio::Task<int> main_task(std::ostream& out, const SpinnerOptions& options, SpinnerReport& report) {
  // The report sink belongs to the running loop: install it from inside.
  if (options.debug_out)
    aio::get_running_loop().set_report_sink([sink = options.debug_out](std::string_view line) { *sink << line << '\n'; });
  co_return co_await supervisor(out, options, report);
}

}  // namespace

SpinnerReport spinner_coroutine(std::ostream& out, const SpinnerOptions& options) {
  SpinnerReport report;
  aio::LoopOptions loop_options;
  loop_options.recorder = options.recorder;
  loop_options.debug = options.debug;
  loop_options.slow_callback_duration = options.slow_callback_duration;
  report.answer = aio::run(main_task(out, options, report), loop_options);
  return report;
}

}  // namespace tandem::lab
