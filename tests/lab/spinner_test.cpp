#include "lab/spinner.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

TEST(SpinnerThread, PrintsTheThreadReprAndReturns42) {
  std::ostringstream out;
  int answer = tandem::lab::spinner_thread(out, {.slow = std::chrono::milliseconds(0), .animate = false});
  EXPECT_EQ(answer, 42);
  EXPECT_TRUE(std::regex_match(out.str(), std::regex(R"(spinner object: <Thread\(Thread-\d+ \(spin\), initial\)>\n)")))
      << out.str();
}

TEST(SpinnerThread, AnimatesAndClearsItsLine) {
  std::ostringstream out;
  tandem::lab::spinner_thread(out, {.slow = std::chrono::milliseconds(0), .animate = true});
  const auto s = out.str();
  EXPECT_NE(s.find("\r\\ thinking!"), std::string::npos) << "first frame drawn";
  // The seed blanks len(status) characters, and status includes its leading "\r".
  EXPECT_EQ(s.substr(s.size() - 14), "\r" + std::string(12, ' ') + "\r") << "line blanked at the end";
}
