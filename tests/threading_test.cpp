// Thread (named, Python's lifecycle and repr) and Event.
#include "tandem/threading.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <regex>
#include <string>

using namespace std::chrono_literals;
using tandem::Event;
using tandem::Thread;

TEST(Event, StartsUnsetAndWaitTimesOutWithFalse) {
  Event e;
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait(1ms));
}

TEST(Event, SetWakesWaitersAndClearResets) {
  Event e;
  std::atomic<bool> woke{false};
  std::thread t([&] { woke = e.wait(30s); });
  e.set();
  t.join();
  EXPECT_TRUE(woke.load());
  EXPECT_TRUE(e.is_set());
  EXPECT_TRUE(e.wait(0ms)) << "a set event returns true at once";
  e.clear();
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.wait(0ms));
}

// Python: threads = [Thread(target=f, args=(i,)) for i in range(n)]
TEST(Thread, ThreadsLiveInAVectorAndMove) {
  std::atomic<int> sum{0};
  std::vector<tandem::Thread> threads;
  for (int i = 1; i <= 4; ++i) threads.emplace_back([&sum](int v) { sum += v; }, i);
  for (auto& t : threads) t.start();
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum.load(), 10);
  tandem::Thread a([&sum] { sum += 100; });
  tandem::Thread b(std::move(a));
  b.start();
  b = tandem::Thread([&sum] { sum += 1000; });  // joins the started one first
  EXPECT_EQ(sum.load(), 110);
  b.start();
  b.join();
  EXPECT_EQ(sum.load(), 1110);
}

TEST(Thread, ReprFollowsPythonsLifecycle) {
  Event go;
  Thread t({.target_name = "spin"}, [&] { go.wait(); });
  EXPECT_TRUE(std::regex_match(t.repr(), std::regex(R"(<Thread\(Thread-\d+ \(spin\), initial\)>)"))) << t.repr();
  EXPECT_FALSE(t.is_alive());
  EXPECT_FALSE(t.native_id().has_value());
  t.start();
  EXPECT_TRUE(t.is_alive());
  go.set();
  t.join();
  EXPECT_FALSE(t.is_alive());
  ASSERT_TRUE(t.native_id().has_value());
  EXPECT_TRUE(std::regex_match(t.repr(), std::regex(R"(<Thread\(Thread-\d+ \(spin\), stopped \d+\)>)"))) << t.repr();
}

TEST(Thread, NamesAreNumberedPerProcess) {
  Thread a([] {}), b([] {});
  auto num = [](const std::string& n) { return std::stoi(n.substr(n.find('-') + 1)); };
  EXPECT_EQ(num(b.name()), num(a.name()) + 1);
}

TEST(Thread, ExplicitNameIsUsedAndSetInTheOs) {
  std::string inside, os;
  Thread t({.name = "spinner"}, [&] {
    inside = tandem::current_thread_name();
    std::ifstream comm("/proc/self/task/" + std::to_string(tandem::get_native_id()) + "/comm");
    std::getline(comm, os);
  });
  t.start();
  t.join();
  EXPECT_EQ(t.name(), "spinner");
  EXPECT_EQ(inside, "spinner");
  EXPECT_EQ(os, "spinner");
}

TEST(Thread, PassesArguments) {
  int out = 0;
  Thread t([](int a, int b, int& r) { r = a * b; }, 6, 7, std::ref(out));
  t.start();
  t.join();
  EXPECT_EQ(out, 42);
}

TEST(Thread, StartTwiceAndJoinBeforeStartAreErrors) {
  Thread t([] {});
  EXPECT_THROW(t.join(), std::logic_error);
  t.start();
  EXPECT_THROW(t.start(), std::logic_error);
  t.join();
}

TEST(Thread, JoinWithTimeoutReportsWhetherTheThreadEnded) {
  Event go;
  Thread t([&] { go.wait(); });
  t.start();
  EXPECT_FALSE(t.join(1ms));
  EXPECT_TRUE(t.is_alive());
  go.set();
  EXPECT_TRUE(t.join(30s));
  EXPECT_FALSE(t.is_alive());
}

TEST(Thread, EscapingExceptionIsReportedNotFatal) {
  testing::internal::CaptureStderr();
  Thread t({.name = "faulty"}, [] { throw std::runtime_error("disk full"); });
  t.start();
  t.join();
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Exception in thread faulty: disk full"), std::string::npos) << err;
}

TEST(Thread, DestructorJoinsAStartedThread) {
  std::atomic<bool> finished{false};
  {
    Thread t([&] { finished = true; });
    t.start();
  }
  EXPECT_TRUE(finished.load());
}

TEST(Thread, MainThreadIsNamedLikePython) {
  // gtest runs tests on the main thread.
  EXPECT_EQ(tandem::current_thread_name(), "MainThread");
}

TEST(Event, WaiterMayDestroyTheEventAsSoonAsItWakes) {
  // The usual stack-Event pattern: the waiter's scope ends right after wait() returns, while set()
  // may still be running on the other thread. Under TSan/ASan this catches a notify after unlock.
  for (int i = 0; i < 200; ++i) {
    auto* e = new Event;
    std::thread setter([e] { e->set(); });
    e->wait();
    delete e;
    setter.join();
  }
}
