// The default executor of to_thread() (see tandem/aio/threads.hpp).
#include "tandem/aio/threads.hpp"

namespace tandem::aio {

ThreadPoolExecutor& default_executor() {
  static ThreadPoolExecutor pool(ThreadPoolExecutor::Options{ThreadPoolExecutor::default_max_workers(),
                                                             "tandem-aio-to_thread", {}});
  return pool;
}

}  // namespace tandem::aio
