// The wire codec: round trips, and every kind of bad input rejected with CodecError.
#include "tandem/ipc/codec.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {

using tandem::ipc::CodecError;
using tandem::ipc::decode;
using tandem::ipc::encode;

struct Point {
  double x = 0, y = 0;
  std::string label;
  MSGPACK_DEFINE(x, y, label);
  friend bool operator==(const Point&, const Point&) = default;
};

TEST(Codec, RoundTripsValuesContainersAndStructs) {
  EXPECT_EQ(decode<int>(encode(-42)), -42);
  EXPECT_EQ(decode<std::uint64_t>(encode(std::uint64_t{9999999999999917})), 9999999999999917u);
  EXPECT_EQ(decode<std::string>(encode(std::string("héllo"))), "héllo");
  std::map<std::string, std::vector<int>> m{{"a", {1, 2}}, {"b", {}}};
  EXPECT_EQ((decode<std::map<std::string, std::vector<int>>>(encode(m))), m);
  auto t = std::make_tuple(1, 2.5, std::string("x"), true);
  EXPECT_EQ((decode<std::tuple<int, double, std::string, bool>>(encode(t))), t);
  Point p{1.5, -2, "origin"};
  EXPECT_EQ(decode<Point>(encode(p)), p);
  std::vector<char> big(1 << 20, 'z');
  EXPECT_EQ(decode<std::vector<char>>(encode(big)), big);
}

TEST(Codec, TruncatedMessagesAreRejected) {
  auto bytes = encode(std::string("a fairly long string value"));
  bytes.resize(bytes.size() - 3);
  try {
    decode<std::string>(bytes);
    FAIL();
  } catch (const CodecError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(Codec, EmptyTrailingAndGarbageAreRejected) {
  EXPECT_THROW(decode<int>(std::vector<char>{}), CodecError);
  auto bytes = encode(7);
  bytes.push_back('\x01');
  EXPECT_THROW(decode<int>(bytes), CodecError);
  std::vector<char> garbage{'\xc1', '\xc1', '\xc1'};  // 0xc1 is "never used" in msgpack
  EXPECT_THROW(decode<int>(garbage), CodecError);
}

TEST(Codec, TypeMismatchNamesTheExpectedType) {
  auto bytes = encode(std::string("not a number"));
  try {
    decode<int>(bytes);
    FAIL();
  } catch (const CodecError& e) {
    EXPECT_NE(std::string(e.what()).find("int"), std::string::npos) << e.what();
  }
  EXPECT_THROW(decode<Point>(encode(42)), CodecError);
}

TEST(Codec, AHugeLengthPrefixIsRefusedWithoutAllocating) {
  // array32 claiming 4 billion elements, followed by nothing.
  std::vector<char> evil{'\xdd', '\xff', '\xff', '\xff', '\xff', '\x01'};
  EXPECT_THROW(decode<std::vector<int>>(evil), CodecError);
  std::vector<char> evil_str{'\xdb', '\x7f', '\xff', '\xff', '\xff', 'a'};  // str32 of 2 GiB
  EXPECT_THROW(decode<std::string>(evil_str), CodecError);
}

TEST(Codec, ExceptionsAreDescribedByTypeAndMessage) {
  try {
    throw std::out_of_range("index 9");
  } catch (...) {
    auto info = tandem::ipc::describe_current_exception();
    EXPECT_EQ(info.type, "std::out_of_range");
    EXPECT_EQ(info.message, "index 9");
    auto back = decode<tandem::ipc::ErrorInfo>(encode(info));
    EXPECT_EQ(back.type, info.type);
  }
  try {
    throw 42;
  } catch (...) {
    EXPECT_EQ(tandem::ipc::describe_current_exception().type, "int");
  }
}

}  // namespace
