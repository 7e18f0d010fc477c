// The CLI as a user meets it: answers, output format, and exit code 2 with a clear message on bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <ostream>
#include <regex>
#include <string>

namespace {

struct Outcome {
  int code = -1;
  std::string out;  // stdout and stderr together
};

Outcome tandem_cli(const std::string& args) {
#ifdef TANDEM_CLI
  std::string cmd = std::string(TANDEM_CLI) + " " + args + " 2>&1 </dev/null";
  Outcome o;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return o;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) o.out.append(buf.data(), n);
  int status = ::pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
#else
  (void)args;
  return {};
#endif
}

class Cli : public testing::Test {
 protected:
  void SetUp() override {
#ifndef TANDEM_CLI
    GTEST_SKIP() << "the CLI is not part of this build (TANDEM_BUILD_APPS=OFF)";
#endif
  }
};

}  // namespace

TEST_F(Cli, PrimesSequentialPrintsTheSeedsTable) {
  auto r = tandem_cli("primes --model sequential 2 9 97");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Checking 3 numbers sequentially:\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n               2  P +\d+\.\d{6}s\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n               9    +\d+\.\d{6}s\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n              97  P +\d+\.\d{6}s\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Total time: \d+\.\d\ds\n$)"))) << r.out;
}

TEST_F(Cli, PrimesOnThreadsReportsTasksAndSpeedup) {
  auto r = tandem_cli("primes --model threads --workers 2 --baseline 1000003 999999937 1000001");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n       999999937  P )"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n         1000003  P )"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n         1000001    )"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Speedup over sequential: \d+\.\d\dx)"))) << r.out;
}

TEST_F(Cli, PrimesJsonIsOneDocument) {
  auto r = tandem_cli("primes --json --model sequential 7");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(R"("prime": true)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.front(), '{');
}

TEST_F(Cli, SumsqPrintsTheExactSumAndTheSeedsOffByOne) {
  auto r = tandem_cli("sumsq 1000 --workers 2");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\n332833500\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the seed prints 331835499"), std::string::npos) << r.out;
}

TEST_F(Cli, SpinnerWithoutATerminalPrintsOnlyTheResultLines) {
  auto r = tandem_cli("spinner --seconds 0");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_match(r.out, std::regex(R"(spinner object: <Thread\(Thread-1 \(spin\), initial\)>\nAnswer: 42\n)")))
      << r.out;
}

TEST_F(Cli, SpinnerQuickQuizOnAThreadReportsTheVerdict) {
  auto r = tandem_cli("spinner --work primes --number 1000000007");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(is_prime\(1000000007\) = true in \d+\.\d\ds; the spinner drew \d+ frames meanwhile\nAnswer: 42\n$)")))
      << r.out;
}

TEST_F(Cli, PrimesOnProcessesGivesTheSameAnswers) {
  auto r = tandem_cli("primes --model processes --workers 2 1000003 999999937 1000001 4");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("with 2 processes"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n       999999937  P )"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n         1000001    )"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n               4    )"))) << r.out;
}

TEST_F(Cli, PrimesOnCoroutinesSaysWhyThereIsNoSpeedup) {
  auto r = tandem_cli("primes --model coroutines 97 98");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("as coroutines on one event loop"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no speedup, by design"), std::string::npos) << r.out;
}

TEST_F(Cli, PrimesSweepPrintsOneRowPerWorkerCount) {
  auto r = tandem_cli("primes --sweep --workers 2 --model threads 1000003 999999937");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n      1 +\d+\.\d\ds +1\.00x\n      2 +\d+\.\d\ds +\d+\.\d\dx\n$)")))
      << r.out;
}

TEST_F(Cli, SumsqOnProcessesIsExact) {
  auto r = tandem_cli("sumsq 1000 --model processes --workers 2");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\n332833500\n"), std::string::npos) << r.out;
}

TEST_F(Cli, SpinnerInAProcessPrintsPythonsProcessRepr) {
  auto r = tandem_cli("spinner --model process --seconds 0");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_match(r.out, std::regex(R"(spinner object: <Process name='Process-1' parent=\d+ initial>\nAnswer: 42\n)")))
      << r.out;
}

TEST_F(Cli, CoroutineQuickQuizBlockingWorkFreezesTheSpinner) {
  auto r = tandem_cli("spinner --model coroutine --work primes --number 1000000007");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("spinner object: <Task pending name='spinner'>"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the spinner drew 0 frames meanwhile"), std::string::npos) << r.out;
}

TEST_F(Cli, CoroutineDebugModeNamesTheBlockingTask) {
  // A zero threshold makes any step "slow": deterministic, and no need for a seconds-long is_prime.
  auto r = tandem_cli("spinner --model coroutine --work primes --debug --slow-callback-ms 0 --number 1000003");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("task 'main' held the event loop"), std::string::npos) << r.out;
}

struct BadInput {
  const char* args;
  const char* message;
};
void PrintTo(const BadInput& input, std::ostream* os) { *os << "tandem " << input.args; }  // names a failing case

class CliBadInput : public Cli, public testing::WithParamInterface<BadInput> {};

TEST_P(CliBadInput, ExitsWithCode2AndSaysWhy) {
  auto r = tandem_cli(GetParam().args);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(GetParam().message), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, CliBadInput,
    testing::Values(BadInput{"primes -f", "The following argument was not expected: -f"},
                    BadInput{"primes --workers 0", "--workers must be a whole number from 1 to 4096, got '0'"},
                    BadInput{"primes --workers abc", "--workers must be a whole number from 1 to 4096, got 'abc'"},
                    BadInput{"primes -- -5", "NUMBER must be a positive 64-bit integer, got '-5'"},
                    BadInput{"primes 0", "NUMBER must be a positive 64-bit integer, got '0'"},
                    BadInput{"primes 18446744073709551616", "got '18446744073709551616'"},
                    BadInput{"primes 3.5", "got '3.5'"},
                    BadInput{"primes --model fibers", "--model: fibers not in {sequential,threads,processes,coroutines,mpi}"},
                    BadInput{"primes --sweep --model sequential", "--sweep compares worker counts"},
                    BadInput{"spinner --slow-callback-ms -5",
                             "--slow-callback-ms must be a whole number from 0 to 3600000, got '-5'"},
                    BadInput{"spinner --model fiber", "--model: fiber not in {thread,process,coroutine}"},
                    BadInput{"wordcount --model fibers", "--model: fibers not in {sequential,threads,processes,mpi}"},
                    BadInput{"wordcount /nonexistent/words.txt", "cannot read /nonexistent/words.txt"},
                    BadInput{"wordcount --map-tasks 0", "--map-tasks must be a whole number from 1 to 100000, got '0'"},
                    BadInput{"wordcount --reduce-tasks x", "--reduce-tasks must be a whole number from 1 to 10000, got 'x'"},
                    BadInput{"sumsq -1", "sumsq"},
                    BadInput{"sumsq 2000000000000", "N must be at most 2^40"},
                    BadInput{"spinner --seconds never", "--seconds must be a number from 0 to 3600, got 'never'"},
                    BadInput{"spinner --work naps", "--work must be one of sleep, primes, primes-nap; got 'naps'"},
                    BadInput{"spinner --work primes-nap", "use it with --model coroutine"},
                    BadInput{"spinner --work primes --number 0", "--number must be a positive 64-bit integer"},
                    BadInput{"sumsq 10 --workers 4097", "--workers must be a whole number from 1 to 4096, got '4097'"},
                    BadInput{"spinner --seconds 3601", "--seconds must be a number from 0 to 3600, got '3601'"}));

// An empty value is a mistake (an unset shell variable, `--workers=$N`), never "use the default": the
// option is named and nothing runs. '--name=' is the same empty value, not "take the next argument".
INSTANTIATE_TEST_SUITE_P(
    EmptyValues, CliBadInput,
    testing::Values(BadInput{"primes --workers ''", "--workers: the value is empty"},
                    BadInput{"primes --workers=", "--workers: the value is empty"},
                    BadInput{"primes --workers= 15", "--workers: the value is empty"},
                    BadInput{"sumsq 1000 --workers ''", "--workers: the value is empty"},
                    BadInput{"spinner --seconds ''", "--seconds: the value is empty"},
                    BadInput{"spinner --seconds=", "--seconds: the value is empty"},
                    BadInput{"spinner --number ''", "--number: the value is empty"},
                    BadInput{"spinner --slow-callback-ms ''", "--slow-callback-ms: the value is empty"},
                    BadInput{"primes --model=", "--model: the value is empty"},
                    BadInput{"spinner --work ''", "--work: the value is empty"},
                    BadInput{"sumsq ''", "N: the value is empty"},
                    BadInput{"primes 7 ''", "NUMBER: the value is empty"}));

// A number past what the program represents is refused, never wrapped: 10^16 ms fit in a long but
// not in a nanosecond duration, where they became a negative threshold.
INSTANTIATE_TEST_SUITE_P(
    OutOfRange, CliBadInput,
    testing::Values(BadInput{"spinner --slow-callback-ms 99999999999999999999",
                             "--slow-callback-ms must be a whole number from 0 to 3600000, got '99999999999999999999'"},
                    BadInput{"spinner --slow-callback-ms 9999999999999999",
                             "--slow-callback-ms must be a whole number from 0 to 3600000, got '9999999999999999'"},
                    BadInput{"spinner --slow-callback-ms 3600001", "got '3600001'"},
                    BadInput{"primes --workers 99999999999999999999", "--workers must be a whole number from 1 to 4096"}));

// A subcommand that does not exist is named, with the ones that do.
INSTANTIATE_TEST_SUITE_P(
    Subcommands, CliBadInput,
    testing::Values(BadInput{"bogus", "tandem: unknown subcommand 'bogus'; the subcommands are primes, sumsq, spinner"},
                    BadInput{"PRIMES", "tandem: unknown subcommand 'PRIMES' (did you mean 'primes'?)"},
                    BadInput{"bogus --workers 2", "unknown subcommand 'bogus'"},
                    BadInput{"--bogus", "'--bogus' is not an option of tandem itself"},
                    BadInput{"", "tandem: a subcommand is required: primes, sumsq, spinner"}));

TEST_F(Cli, WithoutASubcommandItShowsTheUsage) {
  auto r = tandem_cli("");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Usage: \S*tandem \[OPTIONS\] SUBCOMMAND)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  spinner +The seed's spinner)"))) << r.out;
}

TEST_F(Cli, ValuesAfterAnEqualsSignAndFlagsWithOneStillWork) {
  auto r = tandem_cli("primes --model=sequential --workers=2 --json= 7");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(R"("prime": true)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("model": "sequential")"), std::string::npos) << r.out;
}

TEST_F(Cli, AnythingAfterDoubleDashIsANumber) {
  auto r = tandem_cli("primes --model sequential -- --workers=");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("NUMBER must be a positive 64-bit integer, got '--workers='"), std::string::npos) << r.out;
}
