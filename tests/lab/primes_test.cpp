// The seed's prime checker: same numbers, same algorithm, same answers under every model.
#include "lab/primes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tandem/thread_pool.hpp"

using namespace tandem::lab;

namespace {
const std::set<std::uint64_t> kPublishedPrimes = {2,
                                                   142702110479723,
                                                   299593572317531,
                                                   3333333333333301,
                                                   4444444444444423,
                                                   5555555555555503,
                                                   6666666666666719,
                                                   7777777777777753,
                                                   9999999999999917};

std::set<std::uint64_t> primes_of(const PrimesRun& run) {
  std::set<std::uint64_t> out;
  for (auto& r : run.results)
    if (r.prime) out.insert(r.n);
  return out;
}
}  // namespace

TEST(Isqrt, IsExactAtPerfectSquaresAndTheirNeighbours) {
  EXPECT_EQ(isqrt(0), 0u);
  EXPECT_EQ(isqrt(1), 1u);
  EXPECT_EQ(isqrt(3), 1u);
  EXPECT_EQ(isqrt(4), 2u);
  EXPECT_EQ(isqrt(99999999ull * 99999999ull), 99999999u);
  EXPECT_EQ(isqrt(99999999ull * 99999999ull - 1), 99999998u);
  EXPECT_EQ(isqrt(UINT64_MAX), 4294967295u);
  EXPECT_EQ(isqrt(4294967296ull * 4294967296ull - 1), 4294967295u);
}

TEST(IsPrime, FollowsTheSeedsDefinition) {
  EXPECT_FALSE(is_prime(0));
  EXPECT_FALSE(is_prime(1));
  EXPECT_TRUE(is_prime(2));
  EXPECT_TRUE(is_prime(3));
  EXPECT_FALSE(is_prime(4));
  EXPECT_FALSE(is_prime(9));
  EXPECT_TRUE(is_prime(97));
  EXPECT_FALSE(is_prime(3333335652092209ull)) << "a product of two large primes";
}

TEST(PublishedList, SequentialFindsExactlyTheNinePrimes) {
  // The largest members take ~0.1 s each in Release; this checks them all once, by the seed's loop.
  auto run = check_sequential(kPrimeNumbers);
  ASSERT_EQ(run.results.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(run.results[i].n, kPrimeNumbers[i]) << "input order";
  EXPECT_EQ(primes_of(run), kPublishedPrimes);
}

TEST(PlanChunks, CoversEveryOddDivisorUpToTheRootExactlyOnce) {
  const std::uint64_t n = 1000003;  // root 1000
  std::vector<int> open;
  std::vector<PrimeResult> decided;
  std::uint64_t numbers[] = {n};
  auto chunks = detail::plan_chunks(numbers, 7, open, decided);
  ASSERT_FALSE(chunks.empty());
  EXPECT_EQ(open[0], static_cast<int>(chunks.size()));
  std::uint64_t expect_lo = 3;
  for (auto& c : chunks) {
    EXPECT_EQ(c.lo, expect_lo);
    EXPECT_EQ(c.lo % 2, 1u);
    expect_lo = c.hi + 2;
  }
  EXPECT_GE(chunks.back().hi, isqrt(n) - 1);
  EXPECT_LE(chunks.back().hi, isqrt(n));
}

TEST(PlanChunks, DecidesTrivialNumbersWithoutTasks) {
  std::uint64_t numbers[] = {1, 2, 3, 4, 9};
  std::vector<int> open;
  std::vector<PrimeResult> decided;
  auto chunks = detail::plan_chunks(numbers, 100, open, decided);
  ASSERT_EQ(decided.size(), 4u);  // 1, 2, 3 (root < 3), 4
  EXPECT_FALSE(decided[0].prime);
  EXPECT_TRUE(decided[1].prime);
  EXPECT_TRUE(decided[2].prime);
  EXPECT_FALSE(decided[3].prime);
  ASSERT_EQ(chunks.size(), 1u);  // 9: divisor 3
  EXPECT_EQ(numbers[chunks[0].number_index], 9u);
}

TEST(CheckParallel, ThreadsGiveTheSameAnswersAsSequential) {
  // Smaller numbers and tiny chunks: many tasks per number, including cancelled ones.
  std::vector<std::uint64_t> numbers = {2, 15, 97, 7919, 1000003, 1000001, 999999937, 999999938, 1, 25};
  tandem::ThreadPoolExecutor pool(3);
  auto seq = check_sequential(numbers);
  auto par = check_parallel(pool, numbers, {}, 50);
  EXPECT_EQ(par.results.size(), numbers.size());
  EXPECT_EQ(primes_of(par), primes_of(seq));
  EXPECT_GT(par.tasks, numbers.size()) << "work is split finer than one number per task";
  std::vector<std::uint64_t> reported;
  for (auto& r : par.results) reported.push_back(r.n);
  std::sort(reported.begin(), reported.end());
  auto sorted = numbers;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(reported, sorted) << "every number reported exactly once";
}

TEST(CheckParallel, ReportsEachNumberThroughTheCallbackAsDecided) {
  std::vector<std::uint64_t> numbers = {999999937, 4, 1000001};
  tandem::ThreadPoolExecutor pool(2);
  std::vector<PrimeResult> seen;
  check_parallel(pool, numbers, [&](const PrimeResult& r) { seen.push_back(r); }, 1000);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].n, 4u) << "trivial numbers are decided before any task runs";
  auto p = std::find_if(seen.begin(), seen.end(), [](auto& r) { return r.n == 999999937; });
  ASSERT_NE(p, seen.end());
  EXPECT_TRUE(p->prime);
}
