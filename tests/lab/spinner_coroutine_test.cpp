// The seed's coroutine spinner and its Quick Quiz, as behaviour (not timing).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "lab/spinner.hpp"

using namespace std::chrono_literals;
using tandem::lab::SpinnerOptions;
using tandem::lab::SpinnerWork;

TEST(SpinnerCoroutine, SpinsWhileSlowSleepsAndAnswers42) {
  std::ostringstream out;
  SpinnerOptions o;
  o.slow = 20ms;
  o.interval = 1ms;
  auto r = tandem::lab::spinner_coroutine(out, o);
  EXPECT_EQ(r.answer, 42);
  EXPECT_EQ(out.str().rfind("spinner object: <Task pending name='spinner'>\n", 0), 0u) << out.str();
  EXPECT_NE(out.str().find("\r\\ thinking!"), std::string::npos);  // the first frame is drawn at once
  // The seed blanks len(status) characters, and status includes its leading "\r".
  EXPECT_EQ(out.str().substr(out.str().size() - 14), "\r" + std::string(12, ' ') + "\r");
}

TEST(SpinnerCoroutine, BlockingPrimesFreezeTheSpinnerCompletely) {
  std::ostringstream out;
  SpinnerOptions o;
  o.work = SpinnerWork::primes;
  o.number = 1'000'000'007;
  auto r = tandem::lab::spinner_coroutine(out, o);
  EXPECT_EQ(r.answer, 42);
  EXPECT_TRUE(r.prime);
  EXPECT_EQ(r.frames, 0u);  // spin() never got a turn before it was cancelled
}

TEST(SpinnerCoroutine, PowerNappingKeepsTheSpinnerAlive) {
  std::ostringstream out;
  SpinnerOptions o;
  o.work = SpinnerWork::primes_nap;
  o.number = 1'000'000'007;
  o.nap_every = 1000;
  auto r = tandem::lab::spinner_coroutine(out, o);
  EXPECT_EQ(r.answer, 42);
  EXPECT_TRUE(r.prime);
  EXPECT_GE(r.frames, 1u) << "the first nap lets spin() run before the supervisor cancels it";
}

TEST(SpinnerCoroutine, DebugModeNamesTheBlockingStep) {
  std::ostringstream out, debug;
  SpinnerOptions o;
  o.work = SpinnerWork::primes;
  o.number = 1'000'003;
  o.animate = false;
  o.debug = true;
  o.slow_callback_duration = 0ns;  // any step counts: deterministic
  o.debug_out = &debug;
  tandem::lab::spinner_coroutine(out, o);
  EXPECT_NE(debug.str().find("task 'main' held the event loop"), std::string::npos) << debug.str();
}
