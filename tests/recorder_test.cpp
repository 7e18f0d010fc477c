// Recorder: what the thread pool, the process pool and the event loop record, and that a lane per
// worker keeps the records apart.
#include "tandem/recorder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "tandem/aio/runners.hpp"
#include "tandem/aio/tasks.hpp"
#include "tandem/aio/timeouts.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/thread_pool.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Recorder;
using tandem::TaskRecord;

int spin_for_a_while(int x) {
  volatile std::uint64_t sink = 0;
  for (int i = 0; i < 200'000; ++i) sink = sink + static_cast<std::uint64_t>(i) * x;
  return x;
}

void expect_well_formed(const std::vector<TaskRecord>& records, std::size_t workers) {
  for (const auto& r : records) {
    EXPECT_LT(r.worker, workers);
    EXPECT_LE(r.start, r.end);
    EXPECT_NE(r.task, 0u);
  }
  for (std::size_t i = 1; i < records.size(); ++i) EXPECT_LE(records[i - 1].start, records[i].start);
}

TEST(Recorder, LanesKeepTheirIndexAndRecordsComeBackSortedByStart) {
  Recorder recorder;
  auto& a = recorder.lane(3);
  auto& b = recorder.lane(1);
  EXPECT_EQ(&recorder.lane(3), &a);
  const auto t = Recorder::Clock::now();
  a.add(7, t + 2ms, t + 3ms);
  b.add(8, t + 1ms, t + 4ms);
  auto all = recorder.records();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].task, 8u);
  EXPECT_EQ(all[0].worker, 1u);
  EXPECT_EQ(all[1].worker, 3u);
  EXPECT_EQ(recorder.size(), 2u);
  recorder.clear();
  EXPECT_EQ(recorder.size(), 0u);
}

TEST(Recorder, ThreadPoolRecordsEveryTaskOnceWithIdsInSubmissionOrder) {
  Recorder recorder;
  constexpr int kTasks = 200;
  {
    tandem::ThreadPoolExecutor::Options o;
    o.max_workers = 3;
    o.recorder = &recorder;
    tandem::ThreadPoolExecutor pool(o);
    std::vector<tandem::Future<int>> futures;
    for (int i = 0; i < kTasks; ++i) futures.push_back(pool.submit(spin_for_a_while, i));
    for (auto& f : futures) f.result();
  }
  auto records = recorder.records();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kTasks));
  expect_well_formed(records, 3);
  std::set<std::uint64_t> ids;
  for (const auto& r : records) ids.insert(r.task);
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTasks));
  EXPECT_EQ(*ids.begin(), 1u);
  EXPECT_EQ(*ids.rbegin(), static_cast<std::uint64_t>(kTasks));
}

TEST(Recorder, ThreadPoolRecordsNestedTasksRunWhileWaiting) {
  Recorder recorder;
  {
    tandem::ThreadPoolExecutor::Options o;
    o.max_workers = 1;
    o.recorder = &recorder;
    tandem::ThreadPoolExecutor pool(o);
    // One worker: the child runs inside the parent's wait, so its slice lies inside the parent's.
    pool.submit([&pool] { return pool.submit(spin_for_a_while, 2).result(); }).result();
  }
  auto records = recorder.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].task, 1u);  // the parent started first
  EXPECT_EQ(records[1].task, 2u);
  EXPECT_LE(records[0].start, records[1].start);
  EXPECT_GE(records[0].end, records[1].end);
}

TEST(Recorder, ThreadPoolWorkersExposeTheirLaneToTheirTasks) {
  Recorder recorder;
  std::uint32_t seen = 99;
  {
    tandem::ThreadPoolExecutor::Options o;
    o.max_workers = 1;
    o.recorder = &recorder;
    tandem::ThreadPoolExecutor pool(o);
    seen = pool.submit([] { return Recorder::current_lane() ? Recorder::current_lane()->index() : 98u; }).result();
  }
  EXPECT_EQ(seen, 0u);
  EXPECT_EQ(Recorder::current_lane(), nullptr);  // not a worker
}

TEST(Recorder, ThreadPoolWithoutRecorderGivesItsWorkersNoLane) {
  tandem::ThreadPoolExecutor pool(2);
  EXPECT_EQ(pool.submit([] { return Recorder::current_lane(); }).result(), nullptr);
}

TEST(Recorder, ProcessPoolRecordsTimesTakenInTheWorkers) {
  Recorder recorder;
  constexpr int kTasks = 40;
  const auto before = Recorder::Clock::now();
  {
    tandem::ProcessPoolExecutor::Options o;
    o.max_workers = 2;
    o.recorder = &recorder;
    tandem::ProcessPoolExecutor pool(o);
    std::vector<tandem::Future<int>> futures;
    for (int i = 0; i < kTasks; ++i) futures.push_back(pool.submit(&spin_for_a_while, i));
    for (int i = 0; i < kTasks; ++i) EXPECT_EQ(futures[static_cast<std::size_t>(i)].result(), i);
  }
  const auto after = Recorder::Clock::now();
  auto records = recorder.records();
  ASSERT_EQ(records.size(), static_cast<std::size_t>(kTasks));
  expect_well_formed(records, 2);
  std::set<std::uint64_t> ids;
  for (const auto& r : records) {
    ids.insert(r.task);
    EXPECT_GE(r.start, before);  // one clock across processes
    EXPECT_LE(r.end, after);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kTasks));
}

TEST(Recorder, ProcessPoolWithoutRecorderStillWorks) {
  tandem::ProcessPoolExecutor pool(1);
  EXPECT_EQ(pool.submit(&spin_for_a_while, 5).result(), 5);
}

tandem::aio::Task<void> steps(int n) {
  for (int i = 0; i < n; ++i) co_await tandem::aio::sleep(0ms);
}

tandem::aio::Task<void> two_interleaved() {
  auto a = tandem::aio::create_task(steps(3));
  auto b = tandem::aio::create_task(steps(3));
  co_await a;
  co_await b;
}

TEST(Recorder, EventLoopRecordsOneSlicePerStepAndTheStepsInterleave) {
  Recorder recorder;
  tandem::aio::LoopOptions o;
  o.recorder = &recorder;
  o.recorder_lane = 4;
  tandem::aio::run(two_interleaved(), o);
  auto records = recorder.records();
  expect_well_formed(records, 5);
  for (const auto& r : records) EXPECT_EQ(r.worker, 4u);
  // Each child: 4 steps (start + 3 resumptions after sleep(0)); the main task at least 2.
  std::map<std::uint64_t, int> per_task;
  for (const auto& r : records) ++per_task[r.task];
  ASSERT_GE(per_task.size(), 3u);
  std::vector<int> counts;
  for (auto [task, n] : per_task) counts.push_back(n);
  EXPECT_EQ(std::count(counts.begin(), counts.end(), 4), 2);
  // The two children's steps alternate: A B A B ..., not A A A A B B B B.
  std::vector<std::uint64_t> order;
  for (const auto& r : records)
    if (per_task[r.task] == 4) order.push_back(r.task);
  ASSERT_EQ(order.size(), 8u);
  int switches = 0;
  for (std::size_t i = 1; i < order.size(); ++i) switches += order[i] != order[i - 1];
  EXPECT_EQ(switches, 7);
  // Slices on one loop never overlap.
  for (std::size_t i = 1; i < records.size(); ++i) EXPECT_LE(records[i - 1].end, records[i].start);
}

}  // namespace
