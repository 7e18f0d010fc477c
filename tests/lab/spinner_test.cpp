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
