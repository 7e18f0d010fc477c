// The prime checker on a thread pool, Python's concurrent.futures style: submit, then as_completed.
// (tandem's own `tandem primes` splits each number finer; this is the textbook one-number-per-task form.)
#include <tandem/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

bool is_prime(std::uint64_t n) {
  if (n < 2) return false;
  if (n == 2) return true;
  if (n % 2 == 0) return false;
  for (std::uint64_t i = 3; i <= n / i; i += 2)
    if (n % i == 0) return false;
  return true;
}

int main() {
  const std::vector<std::uint64_t> numbers = {2, 142702110479723, 299593572317531, 3333333333333301,
                                              3333333333333333, 4444444444444423, 5555555555555503};
  tandem::ThreadPoolExecutor pool;  // Python's default size: min(32, cores + 4)
  std::vector<tandem::Future<bool>> futures;
  for (auto n : numbers) futures.push_back(pool.submit(is_prime, n));
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& f : tandem::as_completed(futures)) {
    std::size_t i = 0;
    while (!(futures[i] == f)) ++i;
    std::printf("%16llu  %c\n", static_cast<unsigned long long>(numbers[i]), f.result() ? 'P' : ' ');
  }
  std::printf("Total time: %.2fs\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}
