// The CLI as a user meets it: answers, output format, and exit code 2 with a clear message on bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ostream>
#include <regex>
#include <string>

#include "support/shell.hpp"

namespace {

using tandem::testing::Outcome;
using tandem::testing::shell;

const std::string& kTandem = tandem::testing::kTandemCli;

Outcome tandem_cli(const std::string& args) { return shell(kTandem + " " + args + " 2>&1 </dev/null"); }

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
  auto r = tandem_cli("primes --sweep --workers 2 --runs 3 --model threads 1000003 999999937");
  EXPECT_EQ(r.code, 0) << r.out;
  // workers, median, min…max, speedup of the medians, then every run (outliers marked '*').
  const std::string run = R"(\d+\.\d{3}\*?)";
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(median of 3 runs\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"(\n      1 +\d+\.\d{3}s +\d+\.\d{3}…\d+\.\d{3}s +1\.00x  )" + run + " " + run + " " + run +
                        R"(\n      2 +\d+\.\d{3}s +\d+\.\d{3}…\d+\.\d{3}s +\d+\.\d\dx  )" + run + " " + run + " " +
                        run + "\n")))
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
                    BadInput{"primes --model fibers",
                             "--model: 'fibers' is not one of {sequential,threads,threads-gil,processes,coroutines,mpi} "
                             "(singular or plural)"},
                    BadInput{"primes --sweep --model sequential", "--sweep compares worker counts"},
                    BadInput{"primes --python --model threads-gil", "--python sets CPython's speedup beside tandem's: add --baseline"},
                    BadInput{"primes --baseline --python --model threads",
                             "--python compares CPython's threads with --model threads-gil and its processes with --model processes"},
                    BadInput{"sumsq --model coroutines", "'coroutines' is not a model of this program"},
                    BadInput{"spinner --model sequential", "'sequential' is not a model of this program"},
                    BadInput{"primes --runs 0 --baseline", "--runs must be a whole number from 1 to 1000, got '0'"},
                    BadInput{"sumsq 10 --warmup 1001", "--warmup must be a whole number from 0 to 1000, got '1001'"},
                    BadInput{"primes --model threads-gil --switch-interval 0",
                             "--switch-interval must be a number from 0.01 to 1000, got '0'"},
                    BadInput{"spinner --model thread-gil --switch-interval 5ms", "got '5ms'"},
                    BadInput{"spinner --slow-callback-ms -5",
                             "--slow-callback-ms must be a whole number from 0 to 3600000, got '-5'"},
                    BadInput{"spinner --model fiber", "--model: 'fiber' is not one of {thread,thread-gil,process,coroutine}"},
                    BadInput{"wordcount --model fibers", "--model: 'fibers' is not one of {sequential,threads,processes,mpi}"},
                    BadInput{"wordcount /nonexistent/words.txt", "cannot read /nonexistent/words.txt"},
                    BadInput{"wordcount --map-tasks 0", "--map-tasks must be a whole number from 1 to 100000, got '0'"},
                    BadInput{"wordcount --reduce-tasks x", "--reduce-tasks must be a whole number from 1 to 10000, got 'x'"},
                    BadInput{"sumsq -1", "sumsq"},
                    BadInput{"sumsq 2000000000000", "N must be at most 2^40"},
                    BadInput{"spinner --seconds never", "--seconds must be a number from 0 to 3600, got 'never'"},
                    BadInput{"spinner --work naps", "--work: naps not in {sleep,primes,primes-nap}"},
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
    testing::Values(BadInput{"bogus", "tandem: unknown subcommand 'bogus'; the subcommands are primes, sumsq, spinner, serve, latency"},
                    BadInput{"PRIMES", "tandem: unknown subcommand 'PRIMES' (did you mean 'primes'?)"},
                    BadInput{"bogus --workers 2", "unknown subcommand 'bogus'"},
                    BadInput{"--bogus", "'--bogus' is not an option of tandem itself"},
                    BadInput{"", "tandem: a subcommand is required: primes, sumsq, spinner, serve, latency"}));

TEST_F(Cli, WithoutASubcommandItShowsTheUsage) {
  auto r = tandem_cli("");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Usage: \S*tandem \[OPTIONS\] SUBCOMMAND)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  spinner +The seed's spinner)"))) << r.out;
}

TEST_F(Cli, ValuesAfterAnEqualsSignAndFlagsWithOneStillWork) {
  auto r = tandem_cli("primes --model=threads --workers=2 --json= 7");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(R"("prime": true)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("model": "threads")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"("workers": 2)"), std::string::npos) << r.out;
}

TEST_F(Cli, AnythingAfterDoubleDashIsANumber) {
  auto r = tandem_cli("primes --model sequential -- --workers=");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("NUMBER must be a positive 64-bit integer, got '--workers='"), std::string::npos) << r.out;
}

// A flag the combination would ignore is refused, naming why, instead of being silently dropped.
INSTANTIATE_TEST_SUITE_P(
    IgnoredFlags, CliBadInput,
    testing::Values(BadInput{"primes --runs 3 7", "--runs and --warmup repeat a timed comparison: add --baseline or --sweep"},
                    BadInput{"primes --warmup 1 7", "--runs and --warmup repeat a timed comparison"},
                    BadInput{"primes --sweep --baseline", "--sweep and --baseline: choose one"},
                    BadInput{"primes --baseline --model sequential", "with --model sequential there is nothing to compare"},
                    BadInput{"primes --model sequential --workers 2 7", "--workers sizes a pool; --model sequential has none"},
                    BadInput{"primes --model coroutines --workers 2 7", "--model coroutines has none"},
                    BadInput{"sumsq 10 --model sequential --workers 2", "--workers sizes a pool"},
                    BadInput{"primes --switch-interval 2 7", "--switch-interval is the emulated GIL's"},
                    BadInput{"sumsq 10 --switch-interval 2", "--switch-interval is the emulated GIL's"},
                    BadInput{"spinner --switch-interval 2", "use it with --model thread-gil"},
                    BadInput{"spinner --work primes --seconds 1", "--seconds is how long slow() sleeps"},
                    BadInput{"spinner --number 7", "--number is what the primes works check"},
                    BadInput{"spinner --debug", "use them with --model coroutine"},
                    BadInput{"spinner --model process --slow-callback-ms 5", "use them with --model coroutine"}));

TEST_F(Cli, ModelNamesAreAcceptedSingularAndPlural) {
  auto r = tandem_cli("primes --model process --workers 2 97");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("with 2 processes"), std::string::npos) << r.out;
  r = tandem_cli("primes --model coroutine 97");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("as coroutines on one event loop"), std::string::npos) << r.out;
  r = tandem_cli("sumsq 1000 --model thread --workers 2 --runs 1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("2 threads:"), std::string::npos) << r.out;
  r = tandem_cli("spinner --model threads --seconds 0");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("<Thread("), std::string::npos) << r.out;
  r = tandem_cli("spinner --model coroutines --seconds 0");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("<Task pending name='spinner'>"), std::string::npos) << r.out;
}

TEST_F(Cli, VersionPrintsTheProjectVersion) {
  auto r = tandem_cli("--version");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_match(r.out, std::regex(R"(tandem \d+\.\d+\.\d+\n)"))) << r.out;
}

TEST_F(Cli, AWriteErrorOnStdoutExitsNonZeroAndSaysSo) {
  auto r = shell("{ " + kTandem + " primes --model sequential 7 >/dev/full; } 2>&1 </dev/null");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("tandem: error: could not write to standard output: No space left on device"), std::string::npos)
      << r.out;
}

TEST_F(Cli, HelpShowsNumbersAndTheChoicesOfEveryEnumOption) {
  auto r = tandem_cli("primes --help");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("--model MODEL:{sequential,threads,threads-gil,processes,coroutines,mpi}=threads"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("--workers UINT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--runs UINT=5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--switch-interval MS=5"), std::string::npos) << r.out;
  r = tandem_cli("spinner --help");
  EXPECT_NE(r.out.find("--model MODEL:{thread,thread-gil,process,coroutine}=thread"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--work TEXT:{sleep,primes,primes-nap}=sleep"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--seconds FLOAT=3"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(" TEXT "), std::string::npos) << "a numeric option shown as TEXT:\n" << r.out;
}

TEST_F(Cli, BaselineIsMeasuredAsMediansOfRepeatedRuns) {
  auto r = tandem_cli("primes --baseline --runs 3 --warmup 1 --model threads --workers 2 1000003 999999937");
  EXPECT_EQ(r.code, 0) << r.out;
  const std::string median = R"(median \d+\.\d{3}s \(\d+\.\d{3}…\d+\.\d{3}s, 3 runs\))";
  const std::string runs = R"(\d+\.\d{3}\*? \d+\.\d{3}\*? \d+\.\d{3}\*?)";
  EXPECT_TRUE(std::regex_search(r.out, std::regex("Baseline: " + median + "\n"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("Total time: " + median + "\n"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("Runs \\(s\\): baseline " + runs + "; threads " + runs + "\n"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(Speedup over sequential: \d+\.\d\dx \(.*medians)"))) << r.out;
  // The table is printed once (by the first measured run), not once per run.
  EXPECT_EQ(std::regex_search(r.out, std::regex(R"(999999937  P[^]*999999937  P)")), false) << r.out;
}

TEST_F(Cli, TooShortRunsAreFlagged) {
  auto r = tandem_cli("sumsq 1000 --model sequential --runs 2");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("warning: a run took"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("under 50 ms"), std::string::npos) << r.out;
}

TEST_F(Cli, JsonHoldsEveryRunAndWritesLargeIntegersAsStrings) {
  auto r = shell(kTandem + " primes --json --baseline --runs 3 --warmup 2 --model threads --workers 2 9999999999999999 97 </dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["baseline"]["measurement"]["runs"].size(), 3u) << r.out;
  EXPECT_EQ(doc["baseline"]["measurement"]["warmup_runs"].size(), 2u) << r.out;
  EXPECT_EQ(doc["run"]["measurement"]["runs"].size(), 3u) << r.out;
  EXPECT_TRUE(doc["warnings"].is_array()) << r.out;
  bool found = false;
  for (auto& row : doc["run"]["results"]) found |= row["n"] == "9999999999999999";
  EXPECT_TRUE(found) << "the 64-bit number, digit for digit, as a string:\n" << r.out;

  r = shell(kTandem + " sumsq 1000 --json --runs 4 --model threads-gil --workers 2 </dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto sumsq = nlohmann::json::parse(r.out);
  EXPECT_EQ(sumsq["n"], "1000");
  EXPECT_EQ(sumsq["sum"], "332833500");
  EXPECT_EQ(sumsq["model"], "threads-gil");
  EXPECT_EQ(sumsq["measurement"]["runs"].size(), 4u) << r.out;

  r = shell(kTandem + " primes --json --sweep --runs 2 --workers 2 97 </dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto sweep = nlohmann::json::parse(r.out);
  ASSERT_EQ(sweep["sweep"].size(), 2u) << r.out;
  EXPECT_EQ(sweep["sweep"][1]["measurement"]["runs"].size(), 2u) << r.out;
}

TEST_F(Cli, RedirectedOutputHasNoProgressLine) {
  auto r = tandem_cli("primes --baseline --runs 2 --model threads --workers 2 97");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("runs, "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << r.out;
}

TEST_F(Cli, PrimesUnderTheGilGivesTheSameAnswersAndSaysWhy) {
  auto r = tandem_cli("primes --model threads-gil --workers 2 --switch-interval 1 1000003 999999937 1000001");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("with 2 threads under the emulated GIL"), std::string::npos) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n       999999937  P )"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n         1000001    )"))) << r.out;
}

TEST_F(Cli, SpinnerUnderTheGilReportsTheHandOffs) {
  auto r = tandem_cli("spinner --model thread-gil --work primes --number 1000000007");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(the GIL changed hands \d+ times, \d+ of them forced after a 5 ms switch interval\nAnswer: 42\n$)")))
      << r.out;
  r = tandem_cli("spinner --model thread-gil --seconds 0");
  EXPECT_EQ(r.code, 0) << r.out;
}

TEST_F(Cli, PrimesBaselineWithPythonSetsCPythonsSpeedupBesideTandems) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  auto r = shell(kTandem + " primes --baseline --python --model threads-gil --workers 2 --runs 1 --json 97 1000003 </dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["python"]["cases"].size(), 2u) << r.out;
  EXPECT_EQ(doc["python"]["cases"][0]["script"], "primes_sequential.py");
  EXPECT_EQ(doc["python"]["cases"][1]["script"], "primes_threads.py");
  EXPECT_EQ(doc["python"]["cases"][1]["answer"]["primes"], (nlohmann::json{"97", "1000003"}));
  EXPECT_EQ(doc["python_comparison"]["python_model"], "threads");
  EXPECT_EQ(doc["python_comparison"]["tandem_model"], "threads-gil");
  EXPECT_EQ(doc["python_comparison"]["tandem_speedup"], doc["speedup"]);
  EXPECT_TRUE(doc["python_comparison"]["agrees"].is_boolean());
}

TEST_F(Cli, LatencyTableInJsonHasEveryRowMeasured) {
  auto r = shell(kTandem + " latency --quick --runs 1 --json </dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto doc = nlohmann::json::parse(r.out);
  ASSERT_GE(doc["rows"].size(), 10u) << r.out;
  EXPECT_EQ(doc["rows"][0]["name"], "L1 cache reference");
  EXPECT_EQ(doc["rows"][0]["seed_ns"], 0.5);
  for (auto& row : doc["rows"]) {
    if (row.contains("unavailable"))  // O_DIRECT where no folder allows it: the reason, no number
      EXPECT_TRUE(row["measurement_ns"].is_null()) << row;
    else
      EXPECT_EQ(row["measurement_ns"]["runs"].size(), 1u) << row;
  }
  EXPECT_EQ(tandem_cli("latency --runs 0").code, 2);
}

TEST_F(Cli, OnATerminalALongMeasurementDrawsAProgressLineAndErasesIt) {
  if (shell("command -v script >/dev/null").code != 0) GTEST_SKIP() << "script(1) is not installed";
  // script(1) gives the command a terminal. A run of 10^9 squares takes 0.3 s or more on any machine
  // we know of, so four of them take over a second.
  auto r = shell("script -qec '" + kTandem + " sumsq 1000000000 --model sequential --runs 4' /dev/null </dev/null");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\rsumsq  [123]/4 runs, \d+\.\ds elapsed, ETA \d+\.\ds)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\r +\rsum of i\*i)"))) << "erased before the result:\n" << r.out;
}
