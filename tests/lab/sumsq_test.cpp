// The seed's sum of squares: exact in 128 bits, and the seed's off-by-one made explicit.
#include "lab/sumsq.hpp"

#include <gtest/gtest.h>

#include "tandem/thread_pool.hpp"

using namespace tandem::lab;

TEST(Sumsq, LoopMatchesFormula) {
  for (std::uint64_t n : {0ull, 1ull, 2ull, 3ull, 10ull, 1000ull, 123457ull})
    EXPECT_EQ(join_halves(sum_squares_range(0, n)), sum_squares_formula(n)) << n;
}

TEST(Sumsq, FormulaIsExactBeyond64Bits) {
  EXPECT_EQ(to_string(sum_squares_formula(100'000'000)), "333333328333333350000000");
  // n = 2^32: (2^32-1)·2^32·(2^33-1)/6 needs ~96 bits.
  EXPECT_EQ(to_string(sum_squares_formula(4294967296ull)), "26409387495531407161709035520");
}

TEST(Sumsq, SeedsAnswerDropsTheLastElement) {
  EXPECT_EQ(to_string(seed_sum_squares(100'000'000)), "333333318333333549999999");
  EXPECT_EQ(seed_sum_squares(10), sum_squares_formula(9));
}

TEST(Sumsq, RangesAddUp) {
  auto whole = join_halves(sum_squares_range(0, 100000));
  auto split = join_halves(sum_squares_range(0, 33333)) + join_halves(sum_squares_range(33333, 100000));
  EXPECT_EQ(whole, split);
}

TEST(Sumsq, ParallelOnThreadsIsExactForAnyPartCount) {
  tandem::ThreadPoolExecutor pool(3);
  for (std::size_t parts : {1u, 2u, 3u, 7u, 64u}) {
    auto run = sumsq_parallel(pool, 1'000'003, parts);
    EXPECT_EQ(run.sum, sum_squares_formula(1'000'003)) << parts << " parts";
    EXPECT_EQ(run.tasks, parts);
  }
}

TEST(Sumsq, ToStringOfZeroAndLargeValues) {
  EXPECT_EQ(to_string(0), "0");
  EXPECT_EQ(to_string(~u128(0)), "340282366920938463463374607431768211455");
}
