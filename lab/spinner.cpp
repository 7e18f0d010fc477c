#include "lab/spinner.hpp"

#include <string>
#include <thread>

#include "tandem/threading.hpp"

namespace tandem::lab {

namespace {

void spin(std::ostream& out, const std::string& msg, Event& done, bool animate) {
  static constexpr char kFrames[] = {'\\', '|', '/', '-'};
  std::string status;
  for (std::size_t i = 0;; ++i) {
    if (animate) {
      status = std::string("\r") + kFrames[i % 4] + " " + msg;
      out << status << std::flush;
    }
    if (done.wait(std::chrono::milliseconds(100))) break;
  }
  if (animate) out << '\r' << std::string(status.size(), ' ') << '\r' << std::flush;
}

int slow(std::chrono::milliseconds how_long) {
  std::this_thread::sleep_for(how_long);
  return 42;
}

}  // namespace

int spinner_thread(std::ostream& out, const SpinnerOptions& options) {
  Event done;
  Thread spinner({.target_name = "spin"}, [&] { spin(out, "thinking!", done, options.animate); });
  out << "spinner object: " << spinner.repr() << "\n" << std::flush;
  spinner.start();
  int result = slow(options.slow);
  done.set();
  spinner.join();
  return result;
}

}  // namespace tandem::lab
