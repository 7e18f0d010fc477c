// tandem spinner — the seed's concurrent Hello World: animate while slow() computes.
#include <fmt/core.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "lab/spinner.hpp"
#include "lab_options.hpp"

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
  std::string switch_interval = "5";
  CLI::Option* seconds_option = nullptr;
  CLI::Option* slow_ms_option = nullptr;
  CLI::Option* switch_interval_option = nullptr;
};

int run_spinner(const SpinnerCliOptions& o) {
  const double seconds = parse_decimal("--seconds", o.seconds, 0, 3600);
  lab::SpinnerOptions options;
  options.slow = std::chrono::milliseconds(static_cast<long>(std::llround(seconds * 1000)));
  options.animate = stdout_is_terminal();
  options.work = lab::parse_spinner_work(o.work);
  if (!o.number.empty()) options.number = parse_positive_u64("--number", o.number);
  if (o.debug) options.debug = true;
  options.slow_callback_duration = std::chrono::milliseconds(
      static_cast<std::int64_t>(parse_whole_number("--slow-callback-ms", o.slow_ms, 0, kMaxSlowCallbackMs)));
  options.switch_interval = parse_switch_interval(o.switch_interval);
  const lab::Model model = lab::parse_model(o.model, lab::kSpinnerModels);

  // A flag the combination would ignore is an error, not silence.
  if (options.work == lab::SpinnerWork::primes_nap && model != lab::Model::coroutines)
    throw UsageError("--work primes-nap is the coroutine fix (co_await sleep(0)); use it with --model coroutine");
  if (o.seconds_option->count() > 0 && options.work != lab::SpinnerWork::sleep)
    throw UsageError("--seconds is how long slow() sleeps: it applies to --work sleep only");
  if (!o.number.empty() && options.work == lab::SpinnerWork::sleep)
    throw UsageError("--number is what the primes works check: add --work primes");
  if ((o.debug || o.slow_ms_option->count() > 0) && model != lab::Model::coroutines)
    throw UsageError("--debug and --slow-callback-ms are the event loop's: use them with --model coroutine");
  if (o.switch_interval_option->count() > 0 && model != lab::Model::threads_gil)
    throw UsageError("--switch-interval is the emulated GIL's: use it with --model thread-gil");

  const auto report = lab::run_spinner(model, std::cout, options);
  if (options.work != lab::SpinnerWork::sleep)
    std::cout << fmt::format("is_prime({}) = {} in {:.2f}s; the spinner drew {} frames meanwhile\n", options.number,
                             report.prime ? "true" : "false", report.seconds, report.frames);
  if (model == lab::Model::threads_gil)
    std::cout << fmt::format("the GIL changed hands {} times, {} of them forced after a {} ms switch interval\n",
                             report.gil_switches, report.gil_forced_switches,
                             static_cast<double>(options.switch_interval.count()) / 1000);
  std::cout << "Answer: " << report.answer << std::endl;
  return 0;
}

}  // namespace

void add_spinner(CLI::App& app, Runner& run) {
  auto o = std::make_shared<SpinnerCliOptions>();
  auto* sub = app.add_subcommand("spinner", "The seed's spinner: animate while a slow call computes");
  add_model_option(*sub, o->model, lab::kSpinnerModels, /*singular=*/true);
  o->seconds_option = sub->add_option("--seconds", o->seconds, "How long slow() sleeps (--work sleep)")
                          ->type_name("FLOAT")
                          ->capture_default_str();
  sub->add_option("--work", o->work, "What slow() does: sleep, primes (the Quick Quiz), primes-nap (coroutines)")
      ->check(CLI::IsMember({"sleep", "primes", "primes-nap"}))
      ->capture_default_str();
  sub->add_option("--number", o->number, "The number the primes works check (default: 2^63 - 25, a prime)")
      ->type_name("UINT");
  o->switch_interval_option = add_switch_interval_option(*sub, o->switch_interval);
  sub->add_flag("--debug", o->debug, "Coroutines: the loop's debug mode names steps that block it too long");
  o->slow_ms_option = sub->add_option("--slow-callback-ms", o->slow_ms,
                                      "Coroutines: what counts as too long (asyncio's slow_callback_duration)")
                          ->type_name("MS")
                          ->capture_default_str();
  sub->callback([o, &run] { run = [o] { return run_spinner(*o); }; });
}

}  // namespace tandem::cli
