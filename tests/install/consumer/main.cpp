// An outside project using the installed package: exit 0 only if a pool computes the right answer.
#include <tandem/thread_pool.hpp>

#include <cstdio>

int main() {
  tandem::ThreadPoolExecutor pool(2);
  auto f = pool.submit([](int a, int b) { return a * b; }, 6, 7);
  const int answer = f.result();
  std::printf("answer %d\n", answer);
  return answer == 42 ? 0 : 1;
}
