// tandem/aio.hpp — the asyncio-style coroutine runtime, everything at once (Python: import asyncio).
//
// ```cpp
//   #include "tandem/aio.hpp"
//   namespace aio = tandem::aio;
//   using namespace std::chrono_literals;
//   aio::Task<int> slow() { co_await aio::sleep(3s); co_return 42; }
//   int main() { return aio::run(slow()) == 42 ? 0 : 1; }
// ```
#pragma once

#include "tandem/aio/events.hpp"
#include "tandem/aio/exceptions.hpp"
#include "tandem/aio/futures.hpp"
#include "tandem/aio/locks.hpp"
#include "tandem/aio/queues.hpp"
#include "tandem/aio/runners.hpp"
#include "tandem/aio/streams.hpp"
#include "tandem/aio/subprocess.hpp"
#include "tandem/aio/task.hpp"
#include "tandem/aio/taskgroups.hpp"
#include "tandem/aio/tasks.hpp"
#include "tandem/aio/threads.hpp"
#include "tandem/aio/timeouts.hpp"
