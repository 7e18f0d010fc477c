// spinner_proc.py from Fluent Python ch. 19, in C++: the spinner runs in a child process and `done` is
// a process-shared Event. The target is a plain function: code does not cross process boundaries.
#include <tandem/process.hpp>
#include <tandem/ipc/synchronize.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

using namespace std::chrono_literals;

void spin(std::string msg, tandem::ipc::Event done) {
  std::string status;
  for (const char* c = "\\|/-";; c = (*(c + 1) ? c + 1 : "\\|/-")) {
    status = std::string("\r") + *c + " " + msg;
    std::fputs(status.c_str(), stdout);
    std::fflush(stdout);
    if (done.wait(100ms)) break;
  }
  std::printf("\r%s\r", std::string(status.size(), ' ').c_str());
  std::fflush(stdout);
}

int slow() {
  std::this_thread::sleep_for(3s);
  return 42;
}

int supervisor() {
  tandem::ipc::Event done;
  tandem::Process spinner(&spin, std::string("thinking!"), done);
  std::cout << "spinner object: " << spinner.repr() << std::endl;  // <Process name='Process-1' parent=... initial>
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
