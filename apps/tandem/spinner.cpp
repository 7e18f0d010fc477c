// tandem spinner — the seed's concurrent Hello World: animate while slow() computes.
#include <fmt/core.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "lab/spinner.hpp"

namespace tandem::cli {

namespace {

// An hour, like --seconds: far past any step worth reporting, and far inside a nanosecond Duration.
constexpr std::uint64_t kMaxSlowCallbackMs = 3'600'000;

struct SpinnerCliOptions {
  bool debug = false;
  std::string slow_ms = "100";
  std::string model = "thread";
  std::string seconds = "3";
  std::string work = "sleep";
  std::string number;
};

int run_spinner(const SpinnerCliOptions& o) {
  double seconds = 0;
  std::size_t used = 0;
  try {
    seconds = std::stod(o.seconds, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != o.seconds.size() || !std::isfinite(seconds) || seconds < 0 || seconds > 3600)
    throw UsageError(fmt::format("--seconds must be a number from 0 to 3600, got '{}'", o.seconds));
  lab::SpinnerOptions options;
  options.slow = std::chrono::milliseconds(static_cast<long>(std::llround(seconds * 1000)));
  options.animate = stdout_is_terminal();
  try {
    options.work = lab::parse_spinner_work(o.work);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (!o.number.empty()) options.number = parse_positive_u64("--number", o.number);
  if (options.work == lab::SpinnerWork::primes_nap && o.model != "coroutine")
    throw UsageError("--work primes-nap is the coroutine fix (co_await sleep(0)); use it with --model coroutine");
  if (o.debug) options.debug = true;
  options.slow_callback_duration = std::chrono::milliseconds(
      static_cast<std::int64_t>(parse_whole_number("--slow-callback-ms", o.slow_ms, 0, kMaxSlowCallbackMs)));
  const auto report = o.model == "process"     ? lab::spinner_process(std::cout, options)
                      : o.model == "coroutine" ? lab::spinner_coroutine(std::cout, options)
                                               : lab::spinner_thread(std::cout, options);
  if (options.work != lab::SpinnerWork::sleep)
    std::cout << fmt::format("is_prime({}) = {} in {:.2f}s; the spinner drew {} frames meanwhile\n", options.number,
                             report.prime ? "true" : "false", report.seconds, report.frames);
  std::cout << "Answer: " << report.answer << std::endl;
  return 0;
}

}  // namespace

void add_spinner(CLI::App& app, Runner& run) {
  auto o = std::make_shared<SpinnerCliOptions>();
  auto* sub = app.add_subcommand("spinner", "The seed's spinner: animate while a slow call computes");
  sub->add_option("--model", o->model, "Execution model")->check(CLI::IsMember({"thread", "process", "coroutine"}))->capture_default_str();
  sub->add_option("--seconds", o->seconds, "How long slow() sleeps (--work sleep)")->capture_default_str();
  sub->add_option("--work", o->work, "What slow() does: sleep, primes (the Quick Quiz), primes-nap")
      ->capture_default_str();
  sub->add_flag("--debug", o->debug, "Coroutines: the loop's debug mode names steps that block it too long");
  sub->add_option("--slow-callback-ms", o->slow_ms, "Coroutines, --debug: what counts as too long (asyncio's "
                                                     "slow_callback_duration)")
      ->capture_default_str();
  sub->add_option("--number", o->number, "The number the primes works check (default: 2^63 - 25, a prime)");
  sub->callback([o, &run] { run = [o] { return run_spinner(*o); }; });
}

}  // namespace tandem::cli
