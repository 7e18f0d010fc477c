// Child harness for processes_orphans_test: starts a process pool, prints its workers' pids on one
// line, then waits to be killed. The test SIGKILLs this process and checks that the workers exit too.
#include <unistd.h>

#include <cstdio>

#include "tandem/process_pool.hpp"

namespace {
int identity(int x) { return x; }
}  // namespace

int main() {
  tandem::ProcessPoolExecutor pool(3);
  pool.submit(&identity, 1).result();  // every worker is started before the first task is dispatched
  for (pid_t pid : pool.worker_pids()) std::printf("%d ", static_cast<int>(pid));
  std::printf("\n");
  std::fflush(stdout);
  for (;;) pause();
}
