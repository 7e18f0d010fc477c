// lab/wordcount.hpp — map-reduce word count, MIT 6.824 lab 1 style, on any executor.
//
//   tandem::lab::WordcountJob job;
//   job.inputs = tandem::lab::split_files({"a.txt", "b.txt"}, 8);   // M = 8 map tasks
//   job.reduce_tasks = 4;                                             // R = 4 reduce tasks
//   tandem::ProcessPoolExecutor pool(4);
//   auto counts = tandem::lab::wordcount_parallel(pool, job);   // == wordcount_sequential(job)
//   std::string text = tandem::lab::format_counts(counts);        // "word count\n", sorted by word
//
// Map task m reads its split (a byte range of a file, or blocks of the generated corpus), counts its
// words and emits them partitioned by hash(word) % R, each partition sorted (a combiner: one pair per
// word per map task). Reduce task r merges partition r of every map task. A word is a maximal run of
// ASCII letters, case kept (6.824's wc uses unicode.IsLetter; bytes >= 0x80 separate words here). A
// file split owns the words that start inside it, so any M gives the same counts.
//
// Everything crosses as plain values (paths, offsets, pairs), so threads, processes and MPI ranks run
// the same functions. Reliability: a task whose worker process died (WorkerCrashed, from the process
// pool, which survives it) is submitted again, up to WordcountJob::attempts times, so the answer stays
// exact; under MPI a dead rank ends the job instead (see tandem/mpi/pool.hpp). Intermediate pairs go
// through the client (no shared file system needed); with the process pool, raise ring_bytes for
// inputs with a large vocabulary (a result bigger than a ring fails as RemoteError).
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tandem/executor.hpp"
#include "tandem/futures.hpp"
#include "tandem/process_pool.hpp"

namespace tandem::lab {

using WordCounts = std::vector<std::pair<std::string, std::uint64_t>>;  // sorted by word, unique

/// One map task's input: bytes [begin, end) of `path`, or (path empty) generated blocks [begin, end).
struct Split {
  std::string path;
  std::uint64_t begin = 0, end = 0;
  MSGPACK_DEFINE(path, begin, end);
};

/// Bytes per generated block: the generated corpus is blocks of pseudo-text, block k from seed k.
inline constexpr std::uint64_t kGeneratedBlockBytes = 64 * 1024;

/// M splits covering the files (byte ranges, cut anywhere: words are owned by the split they start in).
/// Throws std::invalid_argument naming a file that cannot be read.
std::vector<Split> split_files(const std::vector<std::string>& paths, std::size_t map_tasks);
/// M splits of a generated corpus of about `bytes` bytes (whole blocks), the same text for every M.
std::vector<Split> split_generated(std::uint64_t bytes, std::size_t map_tasks);

struct WordcountJob {
  std::vector<Split> inputs;
  std::uint32_t reduce_tasks = 4;
  std::uint32_t attempts = 3;  // per task, when the worker dies (WorkerCrashed)
  /// Test hook: when not empty, the first map task to run creates this file and kills its own process
  /// (SIGKILL), so that the retry path runs. A later attempt sees the file and works normally.
  std::string crash_marker;
};

/// The map function (a plain function, so any executor runs it): R partitions of sorted counts.
std::vector<WordCounts> map_split(Split split, std::uint32_t reduce_tasks, std::string crash_marker);
/// The reduce function: partition r of every map task, merged.
WordCounts reduce_partition(std::vector<WordCounts> parts);

/// The reference: every map task, then every reduce task, in this thread.
WordCounts wordcount_sequential(const WordcountJob& job);

/// `word count` lines, sorted by word (the 6.824 output, as one text).
std::string format_counts(const WordCounts& counts);

namespace detail {
WordCounts merge_reduced(std::vector<WordCounts> reduced);  // R disjoint sorted lists → one sorted list
bool worker_died(const std::exception_ptr& e);              // WorkerCrashed: worth another attempt
}  // namespace detail

/// The job on any executor: M map tasks, then R reduce tasks, retrying a task whose worker died.
template <Executor E>
WordCounts wordcount_parallel(E& executor, const WordcountJob& job) {
  if (job.reduce_tasks == 0) throw std::invalid_argument("wordcount: reduce_tasks must be >= 1");
  auto run = [&](auto submit_one, std::size_t n) {
    using F = decltype(submit_one(std::size_t{0}));
    std::vector<F> futures;
    for (std::size_t i = 0; i < n; ++i) futures.push_back(submit_one(i));
    std::vector<std::decay_t<decltype(futures[0].result())>> out;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::uint32_t attempt = 1;; ++attempt) {
        futures[i].wait();
        auto error = futures[i].exception();
        if (!error) break;
        if (attempt >= job.attempts || !detail::worker_died(error)) std::rethrow_exception(error);
        futures[i] = submit_one(i);  // its worker died: run it again (the pool replaced the worker)
      }
      out.push_back(std::move(futures[i]).result());
    }
    return out;
  };
  auto mapped = run(
      [&](std::size_t m) { return executor.submit(&map_split, job.inputs[m], job.reduce_tasks, job.crash_marker); },
      job.inputs.size());
  // Regroup: reduce task r gets partition r of every map task.
  std::vector<std::vector<WordCounts>> groups(job.reduce_tasks);
  for (auto& parts : mapped)
    for (std::uint32_t r = 0; r < job.reduce_tasks; ++r) groups[r].push_back(std::move(parts[r]));
  auto reduced = run([&](std::size_t r) { return executor.submit(&reduce_partition, groups[r]); }, groups.size());
  return detail::merge_reduced(std::move(reduced));
}

}  // namespace tandem::lab
