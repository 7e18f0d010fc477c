// Parent death: a process that uses pools, daemon processes and ipc objects is SIGKILLed. Nothing of it
// survives (every worker and daemon exits: checked through /proc by pidfd), and nothing it named stays
// in /dev/shm once it and its children are gone.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "faults/support.hpp"
#include "support/harness.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
namespace faults = tandem::faults;

#ifndef TANDEM_FAULT_HARNESS
#define TANDEM_FAULT_HARNESS ""
#endif

using Killed = tandem::test::KilledHarness;

Killed start_and_kill(std::vector<std::string> args) {
  return tandem::test::start_and_kill_harness(TANDEM_FAULT_HARNESS, std::move(args));
}

void expect_nothing_survives(const Killed& k) {
  for (pid_t p : k.pids) EXPECT_TRUE(faults::exits_within(p)) << "process " << p << " outlived its killed parent";
  std::vector<pid_t> owners = k.pids;
  owners.push_back(k.pid);
  EXPECT_TRUE(faults::eventually(
      [&] {
        for (pid_t p : owners)
          if (!faults::segments_of(p).empty()) return false;
        return true;
      },
      30s))
      << "segments of the killed process tree stayed in /dev/shm";
}

class ParentDeath : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_STRNE(TANDEM_FAULT_HARNESS, "");
    if (std::string(GetParam()) == "fork" && faults::under_tsan())
      GTEST_SKIP() << "TSan: fork of a multithreaded process is unsupported";
  }
};

TEST_P(ParentDeath, PoolWorkersRunningTasksDieWithTheirParent) {
  for (int round = 0; round < 2 * faults::scale(); ++round) {
    auto k = start_and_kill({"pool", GetParam()});
    ASSERT_EQ(k.pids.size(), 2u);
    expect_nothing_survives(k);
  }
}

TEST_P(ParentDeath, DaemonProcessesAndPoolsDieWithTheirParent) {
  for (int round = 0; round < 2 * faults::scale(); ++round) {
    auto k = start_and_kill({"process", GetParam()});
    ASSERT_EQ(k.pids.size(), 3u);
    expect_nothing_survives(k);
  }
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ParentDeath, ::testing::Values("spawn", "fork"));

TEST(ParentDeath, NamedIpcObjectsOfAKilledProcessTreeAreRemoved) {
  ASSERT_STRNE(TANDEM_FAULT_HARNESS, "");
  for (int round = 0; round < 2 * faults::scale(); ++round) {
    auto k = start_and_kill({"ipc"});
    ASSERT_EQ(k.pids.size(), 1u);
    expect_nothing_survives(k);
  }
}

}  // namespace
