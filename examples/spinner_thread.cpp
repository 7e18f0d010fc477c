// spinner_thread.py from Fluent Python ch. 19, in C++: a thread animates while the main thread works.
#include <tandem/threading.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

using namespace std::chrono_literals;

void spin(const std::string& msg, tandem::Event& done) {
  std::string status;
  for (const char* c = "\\|/-";; c = (*(c + 1) ? c + 1 : "\\|/-")) {
    status = std::string("\r") + *c + " " + msg;
    std::cout << status << std::flush;
    if (done.wait(100ms)) break;  // true as soon as the event is set
  }
  std::cout << '\r' << std::string(status.size(), ' ') << '\r' << std::flush;
}

int slow() {
  std::this_thread::sleep_for(3s);
  return 42;
}

int supervisor() {
  tandem::Event done;
  tandem::Thread spinner({.target_name = "spin"}, spin, std::string("thinking!"), std::ref(done));
  std::cout << "spinner object: " << spinner.repr() << "\n";  // <Thread(Thread-1 (spin), initial)>
  spinner.start();
  int result = slow();
  done.set();
  spinner.join();
  return result;
}

int main() {
  const int result = supervisor();  // first: printing "Answer: " must wait for it
  std::cout << "Answer: " << result << "\n";
}
