// Child harness for processes_orphans_test: starts pool workers or standalone processes, prints their
// pids on one line, then waits to be killed. The test SIGKILLs this process and checks what survives.
//   tandem_orphan_harness                      a pool of 3 workers
//   tandem_orphan_harness process spawn|fork daemon|plain   one standalone Process
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "tandem/process.hpp"
#include "tandem/process_pool.hpp"

namespace {
void wait_forever() {
  for (;;) pause();
}
int never_returns(int) {
  wait_forever();
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<tandem::ProcessPoolExecutor> pool;
  std::unique_ptr<tandem::Process> proc;
  std::vector<pid_t> pids;
  if (argc == 4 && std::strcmp(argv[1], "process") == 0) {
    tandem::Process::Options o;
    o.start_method = std::strcmp(argv[2], "fork") == 0 ? tandem::StartMethod::fork : tandem::StartMethod::spawn;
    o.daemon = std::strcmp(argv[3], "daemon") == 0;
    proc = std::make_unique<tandem::Process>(o, &wait_forever);
    proc->start();
    pids.push_back(proc->pid());
  } else {
    pool = std::make_unique<tandem::ProcessPoolExecutor>(3);
    for (int i = 0; i < 3; ++i) pool->submit(&never_returns, i);  // workers start on demand: keep three busy
    while ((pids = pool->worker_pids()).size() < 3) usleep(1000);
  }
  for (pid_t pid : pids) std::printf("%d ", static_cast<int>(pid));
  std::printf("\n");
  std::fflush(stdout);
  wait_forever();
}
