#include "lab/primes.hpp"

#include <chrono>
#include <cmath>

#include "lab/gil.hpp"

namespace tandem::lab {

std::uint64_t isqrt(std::uint64_t n) {
  auto r = static_cast<std::uint64_t>(std::sqrt(static_cast<long double>(n)));
  // long double has a 64-bit mantissa, but correct the last step anyway: the answer must be exact.
  while (r > 0 && r > n / r) --r;
  while ((r + 1) <= n / (r + 1)) ++r;
  return r;
}

namespace {

// Whether an odd number in [lo, hi] (lo odd) divides n: the seed's loop, in blocks of
// kDivisionsPerCheck divisions with the eval breaker between two blocks.
bool has_odd_divisor(std::uint64_t n, std::uint64_t lo, std::uint64_t hi) {
  constexpr std::uint64_t kBlockSpan = 2 * (kDivisionsPerCheck - 1);
  for (std::uint64_t block = lo; block <= hi;) {
    const std::uint64_t end = hi - block <= kBlockSpan ? hi : block + kBlockSpan;
    for (std::uint64_t d = block; d <= end; d += 2)
      if (n % d == 0) return true;
    gil_check();
    if (hi - end < 2) break;
    block = end + 2;
  }
  return false;
}

}  // namespace

bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  if (n == 2) return true;
  if (n % 2 == 0) return false;
  return !has_odd_divisor(n, 3, isqrt(n));
}

namespace detail {

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

double seconds_since(std::uint64_t start_ns) { return static_cast<double>(now_ns() - start_ns) / 1e9; }

std::vector<Chunk> plan_chunks(std::span<const std::uint64_t> numbers, std::uint64_t divisors_per_chunk,
                               std::vector<int>& open_chunks, std::vector<PrimeResult>& decided) {
  std::vector<Chunk> chunks;
  open_chunks.assign(numbers.size(), 0);
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    const std::uint64_t n = numbers[i];
    if (n < 2 || n == 2 || n % 2 == 0) {
      decided.push_back({n, n == 2, 0.0});
      continue;
    }
    const std::uint64_t root = isqrt(n);
    if (root < 3) {
      decided.push_back({n, true, 0.0});
      continue;
    }
    const std::uint64_t span = 2 * divisors_per_chunk;
    for (std::uint64_t lo = 3; lo <= root; lo += span) {
      std::uint64_t hi = lo + span - 2 > root ? root : lo + span - 2;
      chunks.push_back({i, lo, hi});
      ++open_chunks[i];
      if (hi == root) break;
    }
  }
  return chunks;
}

}  // namespace detail

std::pair<bool, double> find_odd_divisor(std::uint64_t n, std::uint64_t lo, std::uint64_t hi) {
  const auto t0 = detail::now_ns();
  const bool found = has_odd_divisor(n, lo, hi);
  return {found, detail::seconds_since(t0)};
}

PrimesRun check_sequential(std::span<const std::uint64_t> numbers, const PrimeCallback& on_result) {
  PrimesRun run;
  const auto t0 = detail::now_ns();
  for (auto n : numbers) {
    const auto t = detail::now_ns();
    PrimeResult r{n, is_prime(n), 0.0};
    r.seconds = detail::seconds_since(t);
    run.work_seconds += r.seconds;
    run.results.push_back(r);
    if (on_result) on_result(r);
  }
  run.wall_seconds = detail::seconds_since(t0);
  run.tasks = numbers.size();
  return run;
}

}  // namespace tandem::lab
