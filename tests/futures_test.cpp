// Future/Promise state machine, wait() and as_completed(), following concurrent.futures semantics.
#include "tandem/futures.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace std::chrono_literals;
using tandem::Future;
using tandem::FutureState;
using tandem::Promise;

namespace {

struct CustomError : std::runtime_error {
  using std::runtime_error::runtime_error;
  int code = 7;
};

}  // namespace

// The seed's idiom: future_to_url = {executor.submit(load_url, url): url for url in URLS}
TEST(Future, FuturesAreMapKeys) {
  tandem::Promise<int> a, b;
  std::unordered_map<tandem::Future<int>, std::string> names{{a.get_future(), "a"}, {b.get_future(), "b"}};
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(names.at(a.get_future()), "a");  // another handle to the same state finds it
  EXPECT_EQ(names.at(b.get_future()), "b");
}

TEST(Future, StartsPendingAndNotDone) {
  Promise<int> p;
  auto f = p.get_future();
  EXPECT_EQ(f.state(), FutureState::pending);
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
}

TEST(Future, PendingToRunningToFinishedWithValue) {
  Promise<int> p;
  auto f = p.get_future();
  ASSERT_TRUE(p.set_running_or_notify_cancel());
  EXPECT_TRUE(f.running());
  EXPECT_FALSE(f.done());
  p.set_result(42);
  EXPECT_EQ(f.state(), FutureState::finished);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_EQ(f.result(), 42);
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(Future, PendingFutureCanBeSetWithoutRunning) {
  Promise<std::string> p;
  p.set_result("direct");
  EXPECT_EQ(p.get_future().result(), "direct");
}

TEST(Future, CancelSucceedsOnlyWhilePending) {
  Promise<int> pending;
  auto f = pending.get_future();
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_TRUE(f.cancel()) << "cancelling twice still reports cancelled";
  EXPECT_FALSE(pending.set_running_or_notify_cancel()) << "the executor must skip a cancelled task";

  Promise<int> running;
  ASSERT_TRUE(running.set_running_or_notify_cancel());
  EXPECT_FALSE(running.get_future().cancel());
  EXPECT_TRUE(running.get_future().running());

  Promise<int> finished;
  finished.set_result(1);
  EXPECT_FALSE(finished.get_future().cancel());
  EXPECT_FALSE(finished.get_future().cancelled());
}

TEST(Future, CancelledFutureThrowsCancelledErrorFromResultAndException) {
  Promise<int> p;
  auto f = p.get_future();
  f.cancel();
  EXPECT_THROW(f.result(), tandem::CancelledError);
  EXPECT_THROW(f.exception(), tandem::CancelledError);
}

TEST(Future, SettingADoneFutureIsInvalidState) {
  Promise<int> p;
  p.set_result(1);
  EXPECT_THROW(p.set_result(2), tandem::InvalidStateError);
  EXPECT_THROW(p.set_exception(std::runtime_error("late")), tandem::InvalidStateError);
  EXPECT_EQ(p.get_future().result(), 1);

  Promise<int> c;
  c.get_future().cancel();
  EXPECT_THROW(c.set_result(3), tandem::InvalidStateError);
}

TEST(Future, SetRunningTwiceIsInvalidState) {
  Promise<int> p;
  ASSERT_TRUE(p.set_running_or_notify_cancel());
  EXPECT_THROW(p.set_running_or_notify_cancel(), tandem::InvalidStateError);
}

TEST(Future, ExceptionIsRethrownAsTheSameType) {
  Promise<int> p;
  p.set_exception(CustomError("bad input"));
  auto f = p.get_future();
  try {
    f.result();
    FAIL() << "result() should rethrow";
  } catch (const CustomError& e) {
    EXPECT_STREQ(e.what(), "bad input");
    EXPECT_EQ(e.code, 7);
  }
  auto ep = f.exception();
  ASSERT_NE(ep, nullptr);
  EXPECT_THROW(std::rethrow_exception(ep), CustomError);
}

TEST(Future, ResultWithTimeoutThrowsTimeoutErrorWhileStillPending) {
  Promise<int> p;
  auto f = p.get_future();
  EXPECT_THROW(f.result(1ms), tandem::TimeoutError);
  EXPECT_THROW(f.exception(1ms), tandem::TimeoutError);
  EXPECT_FALSE(f.wait_for(0ms));
  EXPECT_FALSE(f.done()) << "a timed-out wait leaves the future alone";
  p.set_result(5);
  EXPECT_EQ(f.result(1ms), 5);
}

TEST(Future, ResultBlocksUntilAnotherThreadSetsIt) {
  Promise<int> p;
  auto f = p.get_future();
  std::thread producer([p = std::move(p)]() mutable { p.set_result(99); });
  EXPECT_EQ(f.result(), 99);
  producer.join();
}

TEST(Future, ExceptionCrossesThreads) {
  Promise<void> p;
  auto f = p.get_future();
  std::thread producer([&] {
    try {
      throw std::out_of_range("index 3");
    } catch (...) {
      p.set_exception(std::current_exception());
    }
  });
  producer.join();
  EXPECT_THROW(f.result(), std::out_of_range);
}

TEST(Future, VoidFuture) {
  Promise<void> p;
  auto f = p.get_future();
  p.set_result();
  f.result();
  EXPECT_TRUE(f.done());
}

TEST(Future, MoveOnlyValueIsMovedOutOfAnRvalueFuture) {
  Promise<std::unique_ptr<int>> p;
  p.set_result(std::make_unique<int>(11));
  auto f = p.get_future();
  EXPECT_EQ(*f.result(), 11) << "lvalue result() gives a reference";
  std::unique_ptr<int> owned = std::move(f).result();
  ASSERT_NE(owned, nullptr);
  EXPECT_EQ(*owned, 11);
}

TEST(Future, CopiesShareOneState) {
  Promise<int> p;
  auto a = p.get_future();
  auto b = a;
  EXPECT_TRUE(a == b);
  b.cancel();
  EXPECT_TRUE(a.cancelled());
}

TEST(Future, DefaultConstructedFutureReportsMissingState) {
  Future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_THROW(f.done(), tandem::InvalidStateError);
  EXPECT_THROW(f.result(), tandem::InvalidStateError);
}

TEST(Future, DestroyedPromiseBreaksItsFuture) {
  Future<int> f;
  {
    Promise<int> p;
    f = p.get_future();
  }
  EXPECT_THROW(f.result(), tandem::BrokenPromise);
}

TEST(Future, DoneCallbackRunsOnCompletionWithTheFuture) {
  Promise<int> p;
  auto f = p.get_future();
  int seen = 0;
  f.add_done_callback([&](Future<int> done) { seen = done.result(); });
  EXPECT_EQ(seen, 0);
  p.set_result(3);
  EXPECT_EQ(seen, 3);
}

TEST(Future, DoneCallbackRunsAtOnceIfAlreadyDone) {
  Promise<int> p;
  p.set_result(8);
  int seen = 0;
  p.get_future().add_done_callback([&](Future<int> f) { seen = f.result(); });
  EXPECT_EQ(seen, 8);
}

TEST(Future, DoneCallbacksRunOnCancelInOrder) {
  Promise<int> p;
  auto f = p.get_future();
  std::vector<int> order;
  f.add_done_callback([&](Future<int> g) { order.push_back(g.cancelled() ? 1 : -1); });
  f.add_done_callback([&](Future<int>) { order.push_back(2); });
  f.cancel();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(Future, ThrowingCallbackDoesNotStopTheOthers) {
  Promise<int> p;
  auto f = p.get_future();
  bool second = false;
  f.add_done_callback([](Future<int>) { throw std::runtime_error("callback bug"); });
  f.add_done_callback([&](Future<int>) { second = true; });
  testing::internal::CaptureStderr();
  p.set_result(1);
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(second);
  EXPECT_NE(err.find("callback bug"), std::string::npos);
}

TEST(Future, ToStringNamesStatesLikePython) {
  EXPECT_STREQ(tandem::to_string(FutureState::pending), "PENDING");
  EXPECT_STREQ(tandem::to_string(FutureState::running), "RUNNING");
  EXPECT_STREQ(tandem::to_string(FutureState::cancelled), "CANCELLED");
  EXPECT_STREQ(tandem::to_string(FutureState::finished), "FINISHED");
}

// ---- wait -----------------------------------------------------------------------------------------

TEST(Wait, AllCompletedWaitsForEveryFuture) {
  std::vector<Promise<int>> ps(3);
  std::vector<Future<int>> fs;
  for (auto& p : ps) fs.push_back(p.get_future());
  std::thread t([&] {
    for (int i = 0; i < 3; ++i) ps[i].set_result(i);
  });
  auto r = tandem::wait(fs);
  t.join();
  EXPECT_EQ(r.done.size(), 3u);
  EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, FirstCompletedReturnsOnceOneIsDone) {
  Promise<int> a, b;
  std::vector<Future<int>> fs{a.get_future(), b.get_future()};
  std::thread t([&] { b.set_result(2); });
  auto r = tandem::wait(fs, tandem::FIRST_COMPLETED);
  t.join();
  ASSERT_GE(r.done.size(), 1u);
  EXPECT_TRUE(r.done[0] == fs[1]);
  ASSERT_EQ(r.not_done.size(), 1u);
  EXPECT_TRUE(r.not_done[0] == fs[0]);
}

TEST(Wait, FirstExceptionReturnsOnTheFirstFailure) {
  Promise<int> ok, bad, never;
  std::vector<Future<int>> fs{ok.get_future(), bad.get_future(), never.get_future()};
  ok.set_result(1);
  std::thread t([&] { bad.set_exception(std::runtime_error("boom")); });
  auto r = tandem::wait(fs, tandem::FIRST_EXCEPTION);
  t.join();
  EXPECT_EQ(r.done.size(), 2u);
  ASSERT_EQ(r.not_done.size(), 1u);
  EXPECT_TRUE(r.not_done[0] == fs[2]);
}

TEST(Wait, FirstExceptionWithoutFailuresActsAsAllCompleted) {
  Promise<int> a, b;
  std::vector<Future<int>> fs{a.get_future(), b.get_future()};
  a.get_future().cancel();  // cancellation is not a failure
  std::thread t([&] { b.set_result(2); });
  auto r = tandem::wait(fs, tandem::FIRST_EXCEPTION);
  t.join();
  EXPECT_EQ(r.done.size(), 2u);
  EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, AlreadyFailedFutureSatisfiesFirstExceptionAtOnce) {
  Promise<int> bad, never;
  bad.set_exception(std::runtime_error("x"));
  auto r = tandem::wait(std::vector{bad.get_future(), never.get_future()}, tandem::FIRST_EXCEPTION);
  EXPECT_EQ(r.done.size(), 1u);
  EXPECT_EQ(r.not_done.size(), 1u);
}

TEST(Wait, TimeoutReturnsWhatIsDoneWithoutThrowing) {
  Promise<int> a, b;
  a.set_result(1);
  auto r = tandem::wait(std::vector{a.get_future(), b.get_future()}, tandem::ALL_COMPLETED, 5ms);
  EXPECT_EQ(r.done.size(), 1u);
  EXPECT_EQ(r.not_done.size(), 1u);
}

TEST(Wait, EmptyInputReturnsAtOnce) {
  auto r = tandem::wait(std::vector<Future<int>>{});
  EXPECT_TRUE(r.done.empty());
  EXPECT_TRUE(r.not_done.empty());
}

TEST(Wait, DuplicateFuturesAreCountedOnce) {
  Promise<int> p;
  auto f = p.get_future();
  std::thread t([&] { p.set_result(1); });
  auto r = tandem::wait(std::vector{f, f});
  t.join();
  EXPECT_EQ(r.done.size(), 2u) << "each input lands in one list";
}

// ---- as_completed ---------------------------------------------------------------------------------

TEST(AsCompleted, YieldsInCompletionOrder) {
  std::vector<Promise<int>> ps(4);
  std::vector<Future<int>> fs;
  for (auto& p : ps) fs.push_back(p.get_future());
  ps[2].set_result(2);  // already done: comes first
  std::vector<int> seen;
  auto range = tandem::as_completed(fs);
  auto it = range.begin();
  seen.push_back(it->result());
  ps[0].set_result(0);
  ++it;
  seen.push_back(it->result());
  ps[3].set_result(3);
  ++it;
  seen.push_back(it->result());
  ps[1].set_result(1);
  ++it;
  seen.push_back(it->result());
  ++it;
  EXPECT_TRUE(it == range.end());
  EXPECT_EQ(seen, (std::vector<int>{2, 0, 3, 1}));
}

TEST(AsCompleted, WorksWithProducersOnOtherThreads) {
  constexpr int n = 64;
  std::vector<Promise<int>> ps(n);
  std::vector<Future<int>> fs;
  for (auto& p : ps) fs.push_back(p.get_future());
  std::thread t([&] {
    for (int i = n - 1; i >= 0; --i) ps[i].set_result(i);
  });
  long sum = 0;
  int count = 0;
  for (auto& f : tandem::as_completed(fs)) {
    sum += f.result();
    ++count;
  }
  t.join();
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

TEST(AsCompleted, TimeoutNamesTheUnfinishedCount) {
  Promise<int> a, b, c;
  a.set_result(1);
  auto range = tandem::as_completed(std::vector{a.get_future(), b.get_future(), c.get_future()}, 5ms);
  auto it = range.begin();
  EXPECT_EQ(it->result(), 1);
  try {
    ++it;
    FAIL() << "expected TimeoutError";
  } catch (const tandem::TimeoutError& e) {
    EXPECT_STREQ(e.what(), "2 (of 3) futures unfinished");
  }
}

TEST(AsCompleted, CancelledFuturesAreYieldedToo) {
  Promise<int> a;
  auto f = a.get_future();
  std::thread t([&] { f.cancel(); });
  int n = 0;
  for (auto& g : tandem::as_completed(std::vector{f})) {
    EXPECT_TRUE(g.cancelled());
    ++n;
  }
  t.join();
  EXPECT_EQ(n, 1);
}

TEST(AsCompleted, AbandonedIterationUnregistersCleanly) {
  Promise<int> a, b;
  {
    auto range = tandem::as_completed(std::vector{a.get_future(), b.get_future()});
    (void)range;
  }
  a.set_result(1);  // must not touch the destroyed waiter
  b.set_result(2);
  EXPECT_EQ(a.get_future().result(), 1);
}

// ---- AnyFuture: futures of different result types in one wait/as_completed (Python: wait({f1, f2})) ----

TEST(AnyFuture, WaitTakesFuturesOfDifferentResultTypes) {
  Promise<int> count;
  Promise<std::string> page;
  Future<int> c = count.get_future();
  Future<std::string> p = page.get_future();
  page.set_result("<html>");
  auto [done, not_done] = tandem::wait({c, p}, tandem::FIRST_COMPLETED);
  ASSERT_EQ(done.size(), 1u);
  ASSERT_EQ(not_done.size(), 1u);
  EXPECT_TRUE(done[0] == p);  // compares with the typed future it came from
  EXPECT_TRUE(not_done[0] == c);
  EXPECT_TRUE(done[0].holds<std::string>());
  EXPECT_FALSE(done[0].holds<int>());
  EXPECT_EQ(done[0].as<std::string>().result(), "<html>");
  EXPECT_THROW(done[0].as<int>(), tandem::InvalidStateError);
  count.set_result(3);
  auto all = tandem::wait({c, p});
  EXPECT_EQ(all.done.size(), 2u);
  EXPECT_TRUE(all.not_done.empty());
}

TEST(AnyFuture, AsCompletedYieldsEachInCompletionOrderWithItsType) {
  Promise<int> a;
  Promise<std::string> b;
  Promise<void> c;
  // The range watches the futures from its construction: made before any completes, it yields them in
  // completion order (futures already done when it is made come first, in input order, as Python's).
  auto completed = tandem::as_completed({a.get_future(), b.get_future(), c.get_future()});
  std::thread t([&] {
    b.set_result("b");
    c.set_exception(std::make_exception_ptr(std::runtime_error("c failed")));
    a.set_result(1);
  });
  std::vector<tandem::AnyFuture> order;
  for (auto& f : completed) order.push_back(f);
  t.join();
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0].as<std::string>().result(), "b");
  EXPECT_THROW(order[1].result(), std::runtime_error);  // the outcome, without knowing the type
  EXPECT_NE(order[1].exception(), nullptr);
  EXPECT_EQ(order[2].as<int>().result(), 1);
  EXPECT_NO_THROW(order[2].result());
}

TEST(AnyFuture, SharesTheStateHashesAsItsFutureAndForwardsCancel) {
  Promise<int> p;
  Future<int> f = p.get_future();
  tandem::AnyFuture any = f;
  EXPECT_EQ(std::hash<tandem::AnyFuture>()(any), std::hash<Future<int>>()(f));
  EXPECT_FALSE(any.done());
  EXPECT_FALSE(any.wait_for(1ms));
  std::vector<tandem::AnyFuture> seen;
  any.add_done_callback([&](tandem::AnyFuture g) { seen.push_back(g); });
  EXPECT_TRUE(any.cancel());
  EXPECT_TRUE(f.cancelled());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0] == f);
  EXPECT_TRUE(seen[0].holds<int>());
  EXPECT_THROW(any.result(), tandem::CancelledError);
  EXPECT_THROW(tandem::AnyFuture().done(), tandem::InvalidStateError);
}
