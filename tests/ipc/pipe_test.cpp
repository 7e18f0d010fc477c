// Pipe: messages both ways, any size, EOF and broken pipe instead of hangs and SIGPIPE.
#include "tandem/ipc/pipe.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include "tandem/process.hpp"

namespace {

using namespace std::chrono_literals;
using tandem::Process;
using tandem::ipc::Connection;
using tandem::ipc::Pipe;

void echo_upper(Connection<std::string> c) {
  for (;;) {
    std::string s;
    try {
      s = c.recv();
    } catch (const tandem::ipc::EOFError&) {
      return;
    }
    if (s == "quit") return;
    for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    c.send(s);
  }
}

TEST(Pipe, MessagesGoBothWaysWithAChild) {
  for (auto method : {tandem::StartMethod::spawn, tandem::StartMethod::fork}) {
    auto [mine, theirs] = Pipe<std::string>();
    Process p({{}, method}, &echo_upper, theirs);
    p.start();
    theirs.close();  // only the child holds that end now
    mine.send("ping");
    EXPECT_EQ(mine.recv(), "PING");
    std::string big(5 << 20, 'q');
    mine.send(big);
    EXPECT_EQ(mine.recv(), std::string(5 << 20, 'Q'));
    mine.send("quit");  // (with fork the child also holds a copy of `mine`, so it would never see EOF)
    p.join();
    EXPECT_EQ(p.exitcode(), 0);
  }
}

void exit_quietly(Connection<int>) {}

TEST(Pipe, TheParentSeesEofWhenTheChildEnds) {
  auto [mine, theirs] = Pipe<int>();
  Process p({{}, tandem::StartMethod::spawn}, &exit_quietly, theirs);
  p.start();  // the started Process drops its copy of `theirs`
  theirs.close();
  p.join();
  EXPECT_THROW(mine.recv(), tandem::ipc::EOFError);
}

TEST(Pipe, EofAndBrokenPipeInsteadOfHangs) {
  auto [a, b] = Pipe<int>();
  b.send(1);
  b.close();
  EXPECT_TRUE(a.poll(1s));
  EXPECT_EQ(a.recv(), 1);
  EXPECT_THROW(a.recv(), tandem::ipc::EOFError);
  EXPECT_THROW(a.send(2), tandem::ipc::BrokenPipeError);
}

TEST(Pipe, OneWayPipe) {
  auto [reader, writer] = Pipe<std::vector<int>>(false);
  EXPECT_FALSE(reader.poll(0ms));
  writer.send({1, 2, 3});
  EXPECT_EQ(reader.recv(), (std::vector<int>{1, 2, 3}));
}

TEST(Pipe, ACorruptMessageIsRejected) {
  auto [a, b] = Pipe<int>();
  auto raw = tandem::ipc::detail::ByteConnection(b.bytes());
  std::vector<char> junk{'\xc1'};
  raw.send_bytes(junk);
  EXPECT_THROW(a.recv(), tandem::ipc::CodecError);
}

}  // namespace
