// SharedMemory: naming, errors, RAII, unlinking (Value and Array: sharedctypes_test.cpp).
#include "tandem/ipc/shared_memory.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace {

using tandem::ipc::SharedMemory;

bool exists_in_dev_shm(const std::string& name) {
  struct stat st{};
  return stat(("/dev/shm/" + name).c_str(), &st) == 0;
}

TEST(SharedMemory, CreateAttachShareBytesAndUnlinkOnDestruction) {
  std::string name;
  {
    auto a = SharedMemory::create(4096);
    name = a.name();
    EXPECT_EQ(name.rfind("tandem_", 0), 0u) << name;
    EXPECT_TRUE(exists_in_dev_shm(name));
    struct stat st{};
    ASSERT_EQ(fstat(a.fd(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::memcpy(a.data(), "hello", 6);
    auto b = SharedMemory::attach("/" + name);  // a leading slash is accepted
    EXPECT_EQ(b.size(), 4096u);
    EXPECT_STREQ(static_cast<const char*>(b.data()), "hello");
  }
  EXPECT_FALSE(exists_in_dev_shm(name));
}

TEST(SharedMemory, CollisionsAndMissingNamesGiveClearErrors) {
  auto a = SharedMemory::create(100, "tandem_test_collision_" + std::to_string(getpid()));
  try {
    SharedMemory::create(100, a.name());
    FAIL();
  } catch (const tandem::ipc::FileExistsError& e) {
    EXPECT_NE(std::string(e.what()).find(a.name()), std::string::npos);
  }
  EXPECT_THROW(SharedMemory::attach("tandem_no_such_segment_here"), tandem::ipc::FileNotFoundError);
  EXPECT_THROW(SharedMemory::create(0), std::invalid_argument);
  EXPECT_THROW(SharedMemory::create(10, "a/b"), std::invalid_argument);
}

TEST(SharedMemory, ExplicitUnlinkAndKeepName) {
  auto a = SharedMemory::create(64);
  auto name = a.name();
  a.unlink();
  EXPECT_FALSE(exists_in_dev_shm(name));
  EXPECT_THROW(SharedMemory::attach(name), tandem::ipc::FileNotFoundError);
  {
    auto b = SharedMemory::create(64);
    name = b.name();
    b.keep_name();
  }
  EXPECT_TRUE(exists_in_dev_shm(name));
  auto c = SharedMemory::attach(name);
  c.unlink();
  EXPECT_THROW(c.unlink(), tandem::ipc::FileNotFoundError);
  c.close();
  EXPECT_FALSE(c.valid());
}

TEST(SharedMemory, AnonymousSegmentsHaveNoName) {
  auto a = SharedMemory::anonymous(1 << 16);
  EXPECT_TRUE(a.name().empty());
  EXPECT_EQ(a.size(), 1u << 16);
  static_cast<char*>(a.data())[100] = 'x';
  EXPECT_EQ(static_cast<char*>(a.data())[100], 'x');
}

}  // namespace
