// The parent that faults_parent_death SIGKILLs. It starts what its arguments name, prints one line of
// the pids it started (pool workers, daemon processes), and waits to be killed:
//   tandem_fault_harness pool spawn|fork     a pool of 2 workers, each running a task that never ends
//   tandem_fault_harness process spawn|fork  a daemon Process, and a pool beside it
//   tandem_fault_harness ipc                 named SharedMemory, Event, Lock and Queue (with spilled
//                                            items), and a daemon child that attached to them
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tandem/process.hpp"
#include "tandem/process_pool.hpp"
#include "tandem/ipc/queues.hpp"
#include "tandem/ipc/shared_memory.hpp"
#include "tandem/ipc/synchronize.hpp"

namespace {

[[noreturn]] void wait_forever() {
  for (;;) pause();
}
int never_returns(int) { wait_forever(); }
void hold(tandem::ipc::Event started, tandem::ipc::Queue<std::string> q, tandem::ipc::Lock lock) {
  lock.acquire();
  q.put(std::string(1 << 20, 'c'));  // a spilled item from the child too
  started.set();
  wait_forever();
}

tandem::StartMethod method(const char* s) {
  return std::strcmp(s, "fork") == 0 ? tandem::StartMethod::fork : tandem::StartMethod::spawn;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  std::vector<pid_t> pids;
  std::unique_ptr<tandem::ProcessPoolExecutor> pool;
  std::unique_ptr<tandem::Process> proc;
  // Kept alive until the kill:
  std::unique_ptr<tandem::ipc::SharedMemory> shm;
  std::unique_ptr<tandem::ipc::Event> event;
  std::unique_ptr<tandem::ipc::Lock> lock;
  std::unique_ptr<tandem::ipc::Queue<std::string>> queue;

  if ((mode == "pool" || mode == "process") && argc == 3) {
    tandem::ProcessPoolExecutor::Options o;
    o.max_workers = 2;
    o.start_method = method(argv[2]);
    pool = std::make_unique<tandem::ProcessPoolExecutor>(o);
    if (mode == "process") {
      proc = std::make_unique<tandem::Process>(
          tandem::Process::Options{.name = "daemon", .start_method = method(argv[2]), .daemon = true}, &wait_forever);
      proc->start();
      pids.push_back(proc->pid());
    }
    pool->submit(&never_returns, 1);
    pool->submit(&never_returns, 2);
    std::vector<pid_t> workers;
    while ((workers = pool->worker_pids()).size() < 2) usleep(1000);  // the manager starts them
    for (pid_t p : workers) pids.push_back(p);
  } else if (mode == "ipc") {
    shm = std::make_unique<tandem::ipc::SharedMemory>(tandem::ipc::SharedMemory::create(1 << 16));
    event = std::make_unique<tandem::ipc::Event>(tandem::ipc::named);
    lock = std::make_unique<tandem::ipc::Lock>(tandem::ipc::named);
    queue = std::make_unique<tandem::ipc::Queue<std::string>>(tandem::ipc::named, 0, 1 << 16);
    for (int i = 0; i < 3; ++i) queue->put(std::string(1 << 20, static_cast<char>('a' + i)));
    queue->put("small");
    proc = std::make_unique<tandem::Process>(tandem::Process::Options{.name = "holder", .start_method = {}, .daemon = true}, &hold,
                                             *event, *queue, *lock);
    proc->start();
    if (!event->wait(std::chrono::seconds(60))) return 3;
    pids.push_back(proc->pid());
  } else {
    return 2;
  }
  for (pid_t p : pids) std::printf("%d ", static_cast<int>(p));
  std::printf("\n");
  std::fflush(stdout);
  wait_forever();
}
