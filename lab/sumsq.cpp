#include "lab/sumsq.hpp"

#include <algorithm>
#include <chrono>

#include "lab/gil.hpp"

namespace tandem::lab {

std::pair<std::uint64_t, std::uint64_t> sum_squares_range(std::uint64_t lo, std::uint64_t hi) {
  u128 sum = 0;
  // In blocks, with the eval breaker between two (lab/gil.hpp): free outside the threads-gil model.
  constexpr std::uint64_t kBlock = std::uint64_t{1} << 16;
  for (std::uint64_t block = lo; block < hi;) {
    const std::uint64_t end = hi - block < kBlock ? hi : block + kBlock;
    for (std::uint64_t i = block; i < end; ++i) sum += u128(i) * i;
    gil_check();
    block = end;
  }
  return {static_cast<std::uint64_t>(sum >> 64), static_cast<std::uint64_t>(sum)};
}

u128 sum_squares_formula(std::uint64_t n) {
  if (n == 0) return 0;
  // (n-1)·n·(2n-1) overflows 128 bits only for n near 2^43; divide early where exact.
  u128 a = n - 1, b = n, c = 2 * u128(n) - 1;
  // Exactly one of a, b is even; exactly one of a, b, c is divisible by 3.
  if (a % 2 == 0) a /= 2; else b /= 2;
  if (a % 3 == 0) a /= 3; else if (b % 3 == 0) b /= 3; else c /= 3;
  return a * b * c;
}

std::string to_string(u128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(s.begin(), s.end());
  return s;
}

SumsqRun sumsq_sequential(std::uint64_t n) {
  const auto t0 = std::chrono::steady_clock::now();
  SumsqRun run;
  run.sum = join_halves(sum_squares_range(0, n));
  run.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.tasks = 1;
  return run;
}

}  // namespace tandem::lab
