// Map-reduce word count: the same sorted counts from every model, every split count, and after a map
// task's worker died.
#include "lab/wordcount.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tandem/process_pool.hpp"
#include "tandem/thread_pool.hpp"

using namespace tandem::lab;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/tandem-wordcount-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
};

const char* kText =
    "The quick brown fox -- the QUICK fox!\n"
    "jumps over the lazy dog; the dog sleeps.\n"
    "Fox's den: foxes, dogs & a fox.\n";

WordcountJob make_job(std::vector<Split> inputs, std::uint32_t reduce_tasks) {
  WordcountJob job;
  job.inputs = std::move(inputs);
  job.reduce_tasks = reduce_tasks;
  return job;
}

}  // namespace

TEST(Wordcount, CountsWordsOfLettersKeepingCase) {
  TempDir dir;
  WordcountJob job = make_job(split_files({dir.write("a.txt", kText)}, 1), 3);
  EXPECT_EQ(format_counts(wordcount_sequential(job)),
            "Fox 1\nQUICK 1\nThe 1\na 1\nbrown 1\nden 1\ndog 2\ndogs 1\nfox 3\nfoxes 1\njumps 1\nlazy 1\n"
            "over 1\nquick 1\ns 1\nsleeps 1\nthe 3\n");
}

TEST(Wordcount, AnySplitGivesTheSameCounts) {
  TempDir dir;
  const auto a = dir.write("a.txt", kText), b = dir.write("b.txt", std::string(kText) + "tail");
  WordcountJob one = make_job(split_files({a, b}, 1), 1);
  const auto expected = format_counts(wordcount_sequential(one));
  for (std::size_t m = 2; m <= 40; m += 3)
    for (std::uint32_t r : {1u, 2u, 7u}) {
      WordcountJob job = make_job(split_files({a, b}, m), r);
      EXPECT_EQ(format_counts(wordcount_sequential(job)), expected) << "M=" << m << " R=" << r;
    }
  // The generated corpus is the same text whatever the number of map tasks.
  const auto gen = format_counts(wordcount_sequential(make_job(split_generated(300000, 1), 2)));
  EXPECT_EQ(format_counts(wordcount_sequential(make_job(split_generated(300000, 4), 5))), gen);
  EXPECT_NE(gen.find(" "), std::string::npos);
}

TEST(Wordcount, EveryModelGivesTheSequentialBytes) {
  WordcountJob job = make_job(split_generated(1 << 20, 6), 3);
  const auto expected = format_counts(wordcount_sequential(job));
  tandem::ThreadPoolExecutor threads(2);
  EXPECT_EQ(format_counts(wordcount_parallel(threads, job)), expected);
  tandem::ProcessPoolExecutor::Options o;
  o.max_workers = 2;
  o.ring_bytes = std::size_t{16} << 20;
  tandem::ProcessPoolExecutor processes(o);
  EXPECT_EQ(format_counts(wordcount_parallel(processes, job)), expected);
}

TEST(Wordcount, AMapTaskWhoseWorkerDiedRunsAgain) {
  TempDir dir;
  WordcountJob job = make_job(split_generated(256 << 10, 4), 2);
  const auto expected = format_counts(wordcount_sequential(job));
  tandem::ProcessPoolExecutor processes(2);
  job.crash_marker = (dir.path / "crashed").string();
  EXPECT_EQ(format_counts(wordcount_parallel(processes, job)), expected);
  EXPECT_TRUE(std::filesystem::exists(job.crash_marker));  // the crash did happen
  EXPECT_GE(processes.workers_replaced(), 1u);

  std::filesystem::remove(job.crash_marker);
  job.attempts = 1;
  EXPECT_THROW(wordcount_parallel(processes, job), tandem::WorkerCrashed);
}

TEST(Wordcount, RefusesBadInput) {
  EXPECT_THROW(split_files({"/nonexistent/file"}, 2), std::invalid_argument);
  EXPECT_THROW(split_files({"/tmp"}, 2), std::invalid_argument);
  EXPECT_THROW(split_generated(100, 0), std::invalid_argument);
  WordcountJob job = make_job(split_generated(100, 1), 0);
  EXPECT_THROW(wordcount_sequential(job), std::invalid_argument);
}
