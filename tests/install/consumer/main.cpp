// An outside project using the installed package: exit 0 only if a pool computes the right answer
// and tandem::http links (its libcurl found through the package's find_dependency).
#include <tandem/http/client.hpp>
#include <tandem/thread_pool.hpp>

#include <cstdio>

int main() {
  tandem::ThreadPoolExecutor pool(2);
  auto f = pool.submit([](int a, int b) { return a * b; }, 6, 7);
  const int answer = f.result();
  std::printf("answer %d\n", answer);
  tandem::http::Session session;  // no request: the machine may be offline
  return answer == 42 && session.options().verify ? 0 : 1;
}
