// lab/spinner.hpp — the seed's "concurrent Hello World" and its Quick Quiz, under each model.
//
// supervisor() shows a spinner while slow() computes, then stops the spinner and returns 42.
// The Quick Quiz asks what happens when slow() does blocking CPU work (is_prime) instead of sleeping:
//   - thread:    the spinner keeps spinning (in C++ there is no GIL to contend for);
//   - thread-gil: under the emulated GIL (lab/gil.hpp) the spinner still spins, as in Python, but it
//                draws a frame only when is_prime hands the GIL over, at a switch interval;
//   - process:   the spinner keeps spinning (another process, another core);
//   - coroutine: the loop is frozen until is_prime returns, unless the work "naps" (co_await sleep(0)).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "lab/gil.hpp"
#include "lab/model.hpp"

namespace tandem::lab {

/// The models the spinner runs under (it has no sequential version: it is about concurrency).
inline constexpr std::array<Model, 4> kSpinnerModels = {Model::threads, Model::threads_gil, Model::processes,
                                                        Model::coroutines};

enum class SpinnerWork {
  sleep,       // slow() sleeps: the seed's original program
  primes,      // slow() calls the blocking is_prime(number): the Quick Quiz
  primes_nap,  // coroutines only: is_prime yields to the loop every `nap_every` divisions
};

/// Parses "sleep", "primes", "primes-nap"; throws std::invalid_argument naming the choices.
SpinnerWork parse_spinner_work(const std::string& text);

struct SpinnerOptions {
  SpinnerWork work = SpinnerWork::sleep;
  std::chrono::milliseconds slow{3000};  // SpinnerWork::sleep: how long slow() takes
  /// The primes works check this number. The default, the largest prime below 2^63, takes a few
  /// seconds of trial division: the seed's "is_prime(n) needs 3 seconds".
  std::uint64_t number = 9'223'372'036'854'775'783ull;
  std::uint64_t nap_every = 100'000;     // primes_nap: divisions between two yields to the loop
  std::chrono::milliseconds interval{100};  // between two frames
  std::chrono::microseconds switch_interval = kDefaultSwitchInterval;  // thread-gil
  bool animate = true;  // false: no frames written (output is not a terminal); frames are still counted
  // Coroutines only: the loop's debug mode names any step that holds the loop too long.
  std::optional<bool> debug;  // unset: the TANDEM_AIO_DEBUG environment variable decides
  std::chrono::nanoseconds slow_callback_duration = std::chrono::milliseconds(100);
  std::ostream* debug_out = nullptr;  // where debug reports go (stderr when null)
  // Coroutines only: records each task step on lane 0 (tandem/recorder.hpp), for the lab's trace.
  Recorder* recorder = nullptr;
};

struct SpinnerReport {
  int answer = 0;          // slow()'s 42
  std::size_t frames = 0;  // how many times spin() drew a frame while slow() ran
  bool prime = false;      // the primes works: is_prime's verdict
  double seconds = 0;      // how long slow() took
  std::uint64_t gil_switches = 0;         // thread-gil: times the GIL changed hands
  std::uint64_t gil_forced_switches = 0;  // thread-gil: of those, forced at a switch interval
};

/// spinner_thread.py: spin() on a tandem::Thread until slow() returns and sets the Event. Writes the
/// "spinner object: <Thread(...)>" line and the animation (if enabled).
SpinnerReport spinner_thread(std::ostream& out, const SpinnerOptions& options);

/// spinner_thread.py under the emulated GIL: spin() and slow() each hold the GIL while they run and
/// release it around their blocking waits (the Event wait, the sleep). is_prime hands it over only
/// when the spinner has waited a switch interval for it: each forced switch lets one frame in.
SpinnerReport spinner_thread_gil(std::ostream& out, const SpinnerOptions& options);

/// spinner_proc.py: spin() in a child process (tandem::Process), `done` a process-shared ipc::Event.
/// The child writes its frames to the inherited stdout, not to `out`.
SpinnerReport spinner_process(std::ostream& out, const SpinnerOptions& options);

/// spinner_async.py: spin() as an aio task, cancelled after slow() (CancelledError ends its loop, as the
/// seed's `except asyncio.CancelledError: break`). Writes "spinner object: <Task pending name='spinner'>".
/// With SpinnerWork::primes the loop is frozen and spin() never draws (frames == 0).
SpinnerReport spinner_coroutine(std::ostream& out, const SpinnerOptions& options);

/// The spinner under `model` (one of kSpinnerModels; std::invalid_argument otherwise).
SpinnerReport run_spinner(Model model, std::ostream& out, const SpinnerOptions& options);

}  // namespace tandem::lab
