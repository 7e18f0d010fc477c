// main() of the fault suite: gtest's, plus --soak (many times the default sizes, for manual runs).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "faults/support.hpp"

namespace tandem::faults {
int& scale_storage() {
  static int s = 1;
  return s;
}
}  // namespace tandem::faults

int main(int argc, char** argv) {
  if (const char* env = std::getenv("TANDEM_FAULT_SOAK")) tandem::faults::scale_storage() = std::max(1, std::atoi(env));
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--soak") == 0) {
      tandem::faults::scale_storage() = std::max(tandem::faults::scale_storage(), 50);
      continue;
    }
    argv[out++] = argv[i];
  }
  argc = out;
  argv[argc] = nullptr;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
