#include "lab/spinner.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

using tandem::lab::SpinnerOptions;
using tandem::lab::SpinnerWork;

TEST(SpinnerThread, PrintsTheThreadReprAndReturns42) {
  std::ostringstream out;
  SpinnerOptions options;
  options.slow = std::chrono::milliseconds(0);
  options.animate = false;
  auto report = tandem::lab::spinner_thread(out, options);
  EXPECT_EQ(report.answer, 42);
  EXPECT_TRUE(std::regex_match(out.str(), std::regex(R"(spinner object: <Thread\(Thread-\d+ \(spin\), initial\)>\n)")))
      << out.str();
}

TEST(SpinnerThread, AnimatesAndClearsItsLine) {
  std::ostringstream out;
  SpinnerOptions options;
  options.slow = std::chrono::milliseconds(0);
  tandem::lab::spinner_thread(out, options);
  const auto s = out.str();
  EXPECT_NE(s.find("\r\\ thinking!"), std::string::npos) << "first frame drawn";
  // The seed blanks len(status) characters, and status includes its leading "\r".
  EXPECT_EQ(s.substr(s.size() - 14), "\r" + std::string(12, ' ') + "\r") << "line blanked at the end";
}

TEST(SpinnerThread, QuickQuizPrimesWorkGivesTheVerdictAndTheAnswer) {
  std::ostringstream out;
  SpinnerOptions options;
  options.work = SpinnerWork::primes;
  options.animate = false;
  options.number = 1'000'000'007;  // prime
  auto report = tandem::lab::spinner_thread(out, options);
  EXPECT_EQ(report.answer, 42);
  EXPECT_TRUE(report.prime);
  options.number = 1'000'000'007ull * 3;
  EXPECT_FALSE(tandem::lab::spinner_thread(out, options).prime);
}

TEST(SpinnerThread, PrimesNapIsForCoroutinesOnly) {
  std::ostringstream out;
  SpinnerOptions options;
  options.work = SpinnerWork::primes_nap;
  EXPECT_THROW(tandem::lab::spinner_thread(out, options), std::invalid_argument);
}

TEST(SpinnerWork, ParsesTheCliNames) {
  EXPECT_EQ(tandem::lab::parse_spinner_work("sleep"), SpinnerWork::sleep);
  EXPECT_EQ(tandem::lab::parse_spinner_work("primes"), SpinnerWork::primes);
  EXPECT_EQ(tandem::lab::parse_spinner_work("primes-nap"), SpinnerWork::primes_nap);
  EXPECT_THROW(tandem::lab::parse_spinner_work("naps"), std::invalid_argument);
}

TEST(SpinnerThreadGil, SleepReleasesTheGilSoTheSpinnerKeepsSpinning) {
  std::ostringstream out;
  SpinnerOptions options;
  options.animate = false;
  options.slow = std::chrono::milliseconds(30);
  options.interval = std::chrono::milliseconds(1);
  auto report = tandem::lab::spinner_thread_gil(out, options);
  EXPECT_EQ(report.answer, 42);
  EXPECT_GE(report.frames, 2u) << "the spinner drew while slow() slept";
  EXPECT_EQ(report.gil_forced_switches, 0u) << "a sleeping thread holds no GIL: nothing had to be forced";
}

TEST(SpinnerThreadGil, QuickQuizSpinnerGetsItsFramesInThroughForcedSwitches) {
  // While is_prime holds the GIL the spinner can draw only when is_prime hands it over at a switch
  // interval; each forced switch serves one frame. (Frames can also come when the GIL happens to be
  // free — at the start, at the end, or while the main thread is still waking up to take it back —
  // so the frame count has no exact bound.)
  std::ostringstream out;
  SpinnerOptions options;
  options.work = SpinnerWork::primes;
  options.animate = false;
  options.number = 1'000'000'000'000'037ull;  // prime: about 16 million divisions
  options.interval = std::chrono::milliseconds(1);
  options.switch_interval = std::chrono::milliseconds(1);
  auto report = tandem::lab::spinner_thread_gil(out, options);
  EXPECT_TRUE(report.prime);
  EXPECT_GE(report.gil_forced_switches, 1u) << "the spinner never got a frame in while is_prime ran";
  EXPECT_LE(report.gil_forced_switches, report.frames) << "a forced switch that served no frame";
  EXPECT_GE(report.gil_switches, 2 * report.gil_forced_switches) << "each forced switch is a hand-off there and back";
}

TEST(SpinnerThread, WithoutAGilNothingIsForced) {
  std::ostringstream out;
  SpinnerOptions options;
  options.work = SpinnerWork::primes;
  options.animate = false;
  options.number = 1'000'000'007;
  auto report = tandem::lab::spinner_thread(out, options);
  EXPECT_EQ(report.gil_switches, 0u);
  EXPECT_EQ(report.gil_forced_switches, 0u);
}

TEST(RunSpinner, TakesEverySpinnerModelAndRefusesSequential) {
  std::ostringstream out;
  SpinnerOptions options;
  options.slow = std::chrono::milliseconds(0);
  options.animate = false;
  for (auto model : tandem::lab::kSpinnerModels) EXPECT_EQ(tandem::lab::run_spinner(model, out, options).answer, 42);
  EXPECT_THROW(tandem::lab::run_spinner(tandem::lab::Model::sequential, out, options), std::invalid_argument);
}
