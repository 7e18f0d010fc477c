// An outside project using the installed package: exit 0 only if every layer links and answers right
// (tandem::tandem pulls in the layer archives in order: threads, processes over ipc, aio over threads)
// and tandem::http links (its libcurl found through the package's find_dependency).
#include <tandem/aio.hpp>
#include <tandem/http/client.hpp>
#include <tandem/process_pool.hpp>
#include <tandem/thread_pool.hpp>

#include <chrono>
#include <cstdio>

int square(int x) { return x * x; }
tandem::aio::Task<int> later(int x) {
  co_await tandem::aio::sleep(std::chrono::milliseconds(1));
  co_return x;
}

int main() {
  tandem::ThreadPoolExecutor pool(2);
  const int product = pool.submit([](int a, int b) { return a * b; }, 6, 7).result();
  tandem::ProcessPoolExecutor procs(1);
  const int squared = procs.submit(square, 7).result();
  const int awaited = tandem::aio::run(later(42));
  tandem::http::Session session;  // no request: the machine may be offline
  std::printf("thread pool %d, process pool %d, aio %d\n", product, squared, awaited);
  return product == 42 && squared == 49 && awaited == 42 && session.options().verify ? 0 : 1;
}
