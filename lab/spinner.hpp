// lab/spinner.hpp — the seed's "concurrent Hello World": a spinner animates while slow() computes.
#pragma once

#include <chrono>
#include <ostream>

namespace tandem::lab {

struct SpinnerOptions {
  std::chrono::milliseconds slow{3000};  // how long slow() takes before returning 42
  bool animate = true;                   // false: no frames at all (output is not a terminal)
};

/// spinner_thread.py: spin() on a tandem::Thread until slow() returns and sets the Event. Writes the
/// "spinner object: <Thread(...)>" line, the animation (if enabled) and returns slow()'s 42.
int spinner_thread(std::ostream& out, const SpinnerOptions& options);

}  // namespace tandem::lab
