// The fuzzer's seed corpus replayed through the fuzz target's own checks in every test build (GCC,
// Release and the sanitizers), so the corpus and the checks stay alive without clang. A violated check
// traps, which fails this test.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

TEST(WebFuzzCorpus, EverySeedPassesTheFuzzersChecks) {
  int seeds = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TANDEM_FUZZ_CORPUS)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0);
    ++seeds;
  }
  EXPECT_GE(seeds, 10);
}
