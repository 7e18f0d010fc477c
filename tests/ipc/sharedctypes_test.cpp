// Value, Array: typed values in shared memory, written by a child and read by the parent.
#include "tandem/ipc/sharedctypes.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <stdexcept>

#include "tandem/process.hpp"

namespace {

void fill(tandem::ipc::Array<int> arr, tandem::ipc::Value<double> v) {
  for (std::size_t i = 0; i < arr.size(); ++i) arr[i] = static_cast<int>(i * i);
  v.set(3.25);
}

TEST(SharedCtypes, ValueAndArrayAreSharedWithAChild) {
  for (auto method : {tandem::StartMethod::spawn, tandem::StartMethod::fork}) {
    tandem::ipc::Array<int> arr(10);
    tandem::ipc::Value<double> v(0.5);
    EXPECT_EQ(v.get(), 0.5);
    tandem::Process p({{}, method}, &fill, arr, v);
    p.start();
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
    EXPECT_EQ(arr.at(9), 81);
    EXPECT_EQ(arr.snapshot()[3], 9);
    EXPECT_EQ(v.get(), 3.25);
    EXPECT_THROW(arr.at(10), std::out_of_range);
  }
}

TEST(SharedCtypes, ArrayFromAList) {
  tandem::ipc::Array<char> a{'a', 'b', 'c'};
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a[1], 'b');
}

}  // namespace
