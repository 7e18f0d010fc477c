// spinner_async.py from Fluent Python ch. 19, in C++: spin() is a task on the event loop, cancelled
// after slow(); CancelledError ends its loop exactly as the seed's `except asyncio.CancelledError`.
#include <tandem/aio.hpp>

#include <chrono>
#include <iostream>
#include <string>

namespace aio = tandem::aio;
using namespace std::chrono_literals;

aio::Task<void> spin(std::string msg) {
  std::string status;
  for (const char* c = "\\|/-";; c = (*(c + 1) ? c + 1 : "\\|/-")) {
    status = std::string("\r") + *c + " " + msg;
    std::cout << status << std::flush;
    try {
      co_await aio::sleep(100ms);
    } catch (const tandem::CancelledError&) {
      break;
    }
  }
  std::cout << '\r' << std::string(status.size(), ' ') << '\r' << std::flush;
}

aio::Task<int> slow() {
  co_await aio::sleep(3s);
  co_return 42;
}

aio::Task<int> supervisor() {
  auto spinner = aio::create_task(spin("thinking!"), "spinner");
  std::cout << "spinner object: " << spinner.repr() << std::endl;  // <Task pending name='spinner'>
  int result = co_await slow();
  spinner.cancel();
  co_return result;
}

int main() {
  const int result = aio::run(supervisor());  // first: printing "Answer: " must wait for it
  std::cout << "Answer: " << result << "\n";
}
