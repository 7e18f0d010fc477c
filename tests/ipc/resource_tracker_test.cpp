// The resource tracker: a process killed without a chance to clean up leaves none of its names in
// /dev/shm (except those it asked to keep), and its tracker does not outlive it.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "support/dev_shm.hpp"
#include "tandem/process.hpp"
#include "tandem/ipc/queues.hpp"
#include "tandem/ipc/shared_memory.hpp"
#include "tandem/ipc/synchronize.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Process;
using tandem::StartMethod;
using tandem::ipc::SharedMemory;
using tandem::ipc::SimpleQueue;
using tandem::ipc::detail::resource_tracker_pid;
using tandem::test::exits_within;
using tandem::test::in_dev_shm;
using tandem::test::wait_until_gone;

struct Created {
  std::vector<std::string> names;  // to be removed when the creator dies
  std::string kept;                // given keep_name(): to stay
  int tracker = 0;                 // the creator's tracker
  MSGPACK_DEFINE(names, kept, tracker);
};

// Creates one of each kind of named object, reports them, then waits to be killed — with its whole
// process group, which it leads (a kill of the creator's group must not take its tracker along).
void create_named_objects_and_wait(SimpleQueue<Created> report) {
  setpgid(0, 0);
  auto shm = SharedMemory::create(4096);
  auto kept = SharedMemory::create(4096);
  kept.keep_name();
  tandem::ipc::Event event(tandem::ipc::named);
  tandem::ipc::Queue<std::string> queue(tandem::ipc::named, 0, 4096);
  for (int i = 0; i < 3; ++i) queue.put(std::string(1 << 20, 'x'));  // big items, beyond its ring
  report.put({{shm.name(), event.segment()->name(), queue.segment()->name()}, kept.name(), resource_tracker_pid()});
  for (;;) pause();
}

class ResourceTracker : public ::testing::TestWithParam<StartMethod> {};

TEST_P(ResourceTracker, AKilledCreatorsNamesAreRemovedExceptTheKeptOnes) {
  SimpleQueue<Created> report;
  Process p(Process::Options{{}, GetParam()}, &create_named_objects_and_wait, report);
  p.start();
  auto created = report.get(120s);  // a bound so that a broken build fails instead of hanging
  ASSERT_TRUE(created.has_value());
  ASSERT_EQ(created->names.size(), 3u);
  for (const auto& n : created->names) EXPECT_TRUE(in_dev_shm(n)) << n;
  ASSERT_GT(created->tracker, 0) << "the creator has no tracker";
  EXPECT_NE(created->tracker, resource_tracker_pid()) << "a fork child needs a tracker of its own";

  ASSERT_EQ(kill(-p.pid(), SIGKILL), 0);
  p.join();
  EXPECT_EQ(p.exitcode(), -SIGKILL);

  std::set<std::string> names(created->names.begin(), created->names.end());
  EXPECT_EQ(wait_until_gone(names), std::set<std::string>{});
  EXPECT_TRUE(exits_within(created->tracker)) << "the tracker outlived its creator";
  EXPECT_TRUE(in_dev_shm(created->kept)) << "a kept name was removed";
  SharedMemory::attach(created->kept).unlink();
}

INSTANTIATE_TEST_SUITE_P(StartMethods, ResourceTracker, ::testing::Values(StartMethod::spawn, StartMethod::fork),
                         [](const auto& info) { return std::string(tandem::to_string(info.param)); });

void use_anonymous_objects(SimpleQueue<int> report) {
  tandem::ipc::Queue<std::string> queue(0, 4096);
  queue.put(std::string(1 << 20, 'x'));
  tandem::ipc::Event event;
  auto shm = SharedMemory::anonymous(4096);
  report.put(resource_tracker_pid());
}

TEST(ResourceTracker, AProcessThatCreatesNoNameStartsNoTracker) {
  SimpleQueue<int> report;
  Process p(&use_anonymous_objects, report);
  p.start();
  EXPECT_EQ(report.get(120s), 0);
  p.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(ResourceTracker, NamesUnlinkedOrKeptAreForgottenAndTheOthersGoWithTheProcess) {
  // In this process: unlink() and keep_name() reach the tracker, and a normal exit is the same as a
  // death for it (what is still registered goes).
  auto a = SharedMemory::create(64);
  int tracker = resource_tracker_pid();
  ASSERT_GT(tracker, 0);
  a.unlink();
  auto b = SharedMemory::create(64);
  EXPECT_EQ(resource_tracker_pid(), tracker) << "one tracker per process";
  b.keep_name();
  EXPECT_TRUE(in_dev_shm(b.name()));
  SharedMemory::attach(b.name()).unlink();
}

}  // namespace
