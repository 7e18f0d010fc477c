// tandem/recorder.hpp — when each task ran, and where (Python: none; the seeds draw these timelines
// by hand, Perfetto and chrome://tracing draw them from the records).
//
// An executor given a Recorder writes one record per task it runs: the task's id, the worker that ran
// it, and its start and end on the steady clock. Each worker appends to its own lane, so recording
// takes no lock; an executor without a recorder pays one pointer check per task.
//
// ```cpp body
//   tandem::Recorder recorder;
//   {
//     tandem::ThreadPoolExecutor::Options options;
//     options.max_workers = 2;
//     options.recorder = &recorder;
//     tandem::ThreadPoolExecutor pool(options);
//     pool.submit([] { return 1; }).result();
//   }                                                  // the pool is shut down: its lanes are complete
//   for (const tandem::TaskRecord& r : recorder.records())
//     std::printf("task %llu on worker %u: %lld ns\n", static_cast<unsigned long long>(r.task), r.worker,
//                 static_cast<long long>((r.end - r.start).count()));
// ```
//
// Contract:
// - ThreadPoolExecutor (Options::recorder): one record per task run, on the lane of the worker thread
//   that ran it (0 … max_workers − 1); ids count the pool's submissions from 1 in submission order
//   (modulo 2^32: the id lives in the task node, kept small). A task a worker runs while it waits on
//   a future (see thread_pool.hpp) is recorded too, its slice inside the waiting task's. Cancelled tasks that never ran leave no record.
// - ProcessPoolExecutor (Options::recorder): start and end are taken in the worker process, around the
//   task's call (argument decoding and result encoding included), and sent back in the result record:
//   the pool's manager thread, the only writer, files them on the lane of the worker's slot (0 …
//   max_workers − 1; a replacement worker takes its predecessor's slot). The steady clock is
//   CLOCK_MONOTONIC, one clock for every process of the machine. Ids are the pool's task ids.
// - aio::EventLoop (LoopOptions::recorder, lane LoopOptions::recorder_lane): one record per step of a
//   task, from its resumption to its next suspension (or its end), so the steps of tasks that await
//   interleave on the loop's one lane; plain callbacks are not recorded. Ids are the tasks' numbers
//   (the N of their "Task-N" names).
// - A lane has one writer at a time: the executor's. records(), size() and clear() may be called only
//   while nothing records (the executor shut down or idle, the loop finished): they read the lanes
//   without a lock. lane() and current_lane() are thread-safe.
// - The recorder must outlive every executor it is given to.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace tandem {

/// One task run (or one coroutine step): which task, on which lane, from when to when.
struct TaskRecord {
  std::uint64_t task = 0;
  std::uint32_t worker = 0;  // lane: the worker's index in its executor
  std::chrono::steady_clock::time_point start;
  std::chrono::steady_clock::time_point end;
};

class Recorder {
 public:
  using Clock = std::chrono::steady_clock;

  /// One worker's records, appended by that worker only.
  class Lane {
   public:
    explicit Lane(std::uint32_t index) : index_(index) {}
    std::uint32_t index() const noexcept { return index_; }
    void add(std::uint64_t task, Clock::time_point start, Clock::time_point end) {
      records_.push_back(TaskRecord{task, index_, start, end});
    }
    const std::vector<TaskRecord>& records() const noexcept { return records_; }

   private:
    friend class Recorder;
    std::uint32_t index_;
    std::vector<TaskRecord> records_;
  };

  Recorder() : origin_(Clock::now()) {}
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// When the recorder was made (or last cleared): the natural zero of a timeline.
  Clock::time_point origin() const noexcept { return origin_; }

  /// The lane of worker `index`, made on first use; its address stays valid for the recorder's life.
  Lane& lane(std::uint32_t index);

  /// Every record of every lane, ordered by start (then lane). Only while nothing records.
  std::vector<TaskRecord> records() const;
  /// How many records the lanes hold. Only while nothing records.
  std::size_t size() const;
  /// Drops every record and moves the origin to now. Only while nothing records.
  void clear();

  /// The lane the calling thread records to: set by a ThreadPoolExecutor's worker thread for the
  /// recorder its pool was given, null elsewhere. Lets code that runs inside tasks (the lab's
  /// emulated GIL) file its own events under the same lane.
  static const Lane* current_lane() noexcept;
  /// Sets the calling thread's lane (executors do this; null to unset).
  static void set_current_lane(const Lane* lane) noexcept;

 private:
  Clock::time_point origin_;
  mutable std::mutex mu_;             // guards lanes_ (not the lanes' contents)
  std::deque<Lane> lanes_;            // deque: addresses stay put as lanes are added
};

}  // namespace tandem
