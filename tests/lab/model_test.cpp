// One lab::Model, one way to run a workload under it: names in both spellings, each model gets its
// executor, and a workload without a version for a model is told so.
#include "lab/model.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lab/primes.hpp"
#include "lab/sumsq.hpp"

using tandem::lab::Model;

TEST(Model, NamesAreAcceptedSingularAndPlural) {
  const std::pair<const char*, Model> spellings[] = {
      {"sequential", Model::sequential}, {"thread", Model::threads},        {"threads", Model::threads},
      {"thread-gil", Model::threads_gil}, {"threads-gil", Model::threads_gil}, {"process", Model::processes},
      {"processes", Model::processes},    {"coroutine", Model::coroutines},  {"coroutines", Model::coroutines}};
  for (auto [text, model] : spellings) EXPECT_EQ(tandem::lab::parse_model(text), model) << text;
  for (Model m : tandem::lab::kAllModels) {
    EXPECT_EQ(tandem::lab::parse_model(tandem::lab::name(m)), m);
    EXPECT_EQ(tandem::lab::parse_model(tandem::lab::singular_name(m)), m);
  }
}

TEST(Model, AnUnknownNameIsRefusedWithTheChoices) {
  try {
    tandem::lab::parse_model("fibers");
    FAIL() << "fibers parsed";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "'fibers' is not one of {sequential,threads,threads-gil,processes,coroutines,mpi} (singular or plural)");
  }
  const Model sumsq_models[] = {Model::sequential, Model::threads};
  try {
    tandem::lab::parse_model("coroutine", sumsq_models);
    FAIL() << "a model outside the allowed ones parsed";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "'coroutine' is not a model of this program; it runs under {sequential,threads}");
  }
  EXPECT_THROW(tandem::lab::parse_model("Threads"), std::invalid_argument) << "names are exact";
}

TEST(Model, WorkersBelongToThePoolModels) {
  EXPECT_FALSE(tandem::lab::has_workers(Model::sequential));
  EXPECT_TRUE(tandem::lab::has_workers(Model::threads));
  EXPECT_TRUE(tandem::lab::has_workers(Model::threads_gil));
  EXPECT_TRUE(tandem::lab::has_workers(Model::processes));
  EXPECT_TRUE(tandem::lab::has_workers(Model::mpi));
  EXPECT_EQ(tandem::lab::worker_unit(Model::mpi), "MPI ranks");
  EXPECT_FALSE(tandem::lab::has_workers(Model::coroutines));
  EXPECT_EQ(tandem::lab::worker_unit(Model::processes), "processes");
  EXPECT_EQ(tandem::lab::worker_unit(Model::threads_gil), "threads");
}

namespace {

int four() { return 4; }

// The header's example workload.
struct Squares {
  int sequential() const { return 4; }
  template <tandem::Executor E>
  int parallel(E& executor, unsigned /*workers*/) const {
    return executor.submit(+[] { return 4; }).result();
  }
};

// Says which entry point ran, with which executor and width.
struct Probe {
  std::string sequential() const { return "sequential"; }
  template <tandem::Executor E>
  std::string parallel(E& executor, unsigned workers) const {
    std::string kind = std::is_same_v<E, tandem::ThreadPoolExecutor>   ? "threads"
                       : std::is_same_v<E, tandem::lab::GilThreadPool> ? "threads-gil"
                       : std::is_same_v<E, tandem::ProcessPoolExecutor> ? "processes"
                                                                         : "?";
    return kind + "/" + std::to_string(workers) + "/" + std::to_string(executor.submit(&four).result());
  }
  std::string coroutines() const { return "coroutines"; }
};

}  // namespace

TEST(RunModel, HeaderExampleRuns) {
  int result = tandem::lab::run_model({.model = tandem::lab::Model::threads, .workers = 2}, Squares{});
  EXPECT_EQ(result, 4);
}

TEST(RunModel, EachModelGetsItsOwnExecutor) {
  auto run = [](Model m) { return tandem::lab::run_model({.model = m, .workers = 2}, Probe{}); };
  EXPECT_EQ(run(Model::sequential), "sequential");
  EXPECT_EQ(run(Model::threads), "threads/2/4");
  EXPECT_EQ(run(Model::threads_gil), "threads-gil/2/4");
  EXPECT_EQ(run(Model::processes), "processes/2/4");
  EXPECT_EQ(run(Model::coroutines), "coroutines");
}

TEST(RunModel, AWorkloadWithoutACoroutineVersionSaysSo) {
  try {
    tandem::lab::run_model({.model = Model::coroutines}, tandem::lab::SumsqWorkload{10});
    FAIL() << "sumsq ran as coroutines";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "this workload has no coroutines version");
  }
}

TEST(RunModel, PrimesGiveTheSameAnswersUnderEveryModel) {
  const std::vector<std::uint64_t> numbers{2, 9, 97, 1'000'003, 1'000'001, 999'999'937};
  auto primes_of = [&](Model m) {
    auto run = tandem::lab::run_model({.model = m, .workers = 2}, tandem::lab::PrimesWorkload{numbers});
    std::vector<std::uint64_t> primes;
    for (auto& r : run.results)
      if (r.prime) primes.push_back(r.n);
    std::ranges::sort(primes);
    EXPECT_EQ(run.results.size(), numbers.size()) << tandem::lab::name(m);
    return primes;
  };
  const std::vector<std::uint64_t> expected{2, 97, 1'000'003, 999'999'937};
  for (Model m : tandem::lab::kAllModels) {
    if (m == Model::mpi) continue;  // needs the ranks mpirun starts: mpi.cli.models runs it (tests/mpi)
    EXPECT_EQ(primes_of(m), expected) << tandem::lab::name(m);
  }
}

TEST(RunModel, SumsqIsExactUnderEveryPoolModel) {
  for (Model m : {Model::sequential, Model::threads, Model::threads_gil, Model::processes}) {
    auto run = tandem::lab::run_model({.model = m, .workers = 3}, tandem::lab::SumsqWorkload{1'000'003});
    EXPECT_EQ(run.sum, tandem::lab::sum_squares_formula(1'000'003)) << tandem::lab::name(m);
    EXPECT_EQ(run.tasks, m == Model::sequential ? 1u : 3u) << tandem::lab::name(m);
  }
}
