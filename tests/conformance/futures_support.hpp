// Shared by the concurrent.futures ports: small task functions (plain functions, so that process
// workers can run them) and pool options.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstddef>

#include "tandem/process_pool.hpp"
#include "tandem/ipc/synchronize.hpp"
#include "tandem/thread_pool.hpp"

namespace tandem::conformance {

using namespace std::chrono_literals;
using tandem::Future;
using tandem::ProcessPoolExecutor;
using tandem::ThreadPoolExecutor;

inline int mul(int a, int b) { return a * b; }
inline void sleep_100ms() { usleep(100'000); }
inline int wait_on(tandem::ipc::Event gate, int i) {
  if (i == 2) gate.wait();
  return i;
}

inline tandem::ProcessPoolExecutor::Options workers(std::size_t n) {
  tandem::ProcessPoolExecutor::Options o;
  o.max_workers = n;
  return o;
}

}  // namespace tandem::conformance
