// `tandem serve` as a user meets it: prints a URL that serves the fixtures, stops on SIGTERM/SIGINT with
// exit 0, refuses bad options with exit 2.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "http/support.hpp"
#include "support/shell.hpp"

extern char** environ;

namespace {

using namespace tandem::http::testing;

#ifdef TANDEM_CLI
constexpr const char* kCli = TANDEM_CLI;
#else
constexpr const char* kCli = nullptr;
#endif

// The CLI running with its stdout on a pipe.
class Serving {
 public:
  explicit Serving(std::vector<std::string> args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    args.insert(args.begin(), kCli);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, kCli, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~Serving() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  /// Output until `pattern` matches (or 30 s of silence / EOF).
  std::string read_until(const std::regex& pattern) {
    while (!std::regex_search(text_, pattern)) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 30'000) <= 0) break;
      char buf[4096];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      text_.append(buf, static_cast<std::size_t>(n));
    }
    return text_;
  }
  /// Sends `sig` and returns the exit code (128 + signal if it died of one).
  int stop(int sig) {
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string text_;
};

std::uint16_t port_of(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(R"(http://127\.0\.0\.1:(\d+))"))) return 0;
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

using tandem::testing::Outcome;
Outcome run_cli(const std::string& args) {
  return tandem::testing::shell(std::string(kCli) + " " + args + " 2>&1 </dev/null");
}

class ServeCli : public testing::Test {
 protected:
  void SetUp() override {
    if (!kCli) GTEST_SKIP() << "the CLI is not part of this build (TANDEM_BUILD_APPS=OFF)";
  }
};

TEST_F(ServeCli, PrintsAUrlThatServesTheSeedsSitesAndStopsOnSigterm) {
  Serving serve({"serve", "--port", "0", "--latency", "0"});
  const std::string out = serve.read_until(std::regex(R"(http://127\.0\.0\.1:\d+ )"));
  const auto port = port_of(out);
  ASSERT_NE(port, 0) << out;
  auto dice = fetch(port, get("/dice"));
  ASSERT_TRUE(dice);
  EXPECT_EQ(dice->status, 200);
  EXPECT_EQ(dice->body.size(), 277u);
  auto jython = fetch(port, get("/jython"));
  ASSERT_TRUE(jython);
  EXPECT_EQ(jython->body.size(), 10'394u);
  auto bytes = fetch(port, get("/bytes/1000"));
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->body.size(), 1000u);
  EXPECT_EQ(serve.stop(SIGTERM), 0);
}

TEST_F(ServeCli, PreforkServesFromTwoProcessesAndStopsOnSigint) {
  Serving serve({"serve", "--processes", "2", "--latency", "1ms"});
  const std::string out = serve.read_until(std::regex(R"(http://127\.0\.0\.1:\d+ )"));
  const auto port = port_of(out);
  ASSERT_NE(port, 0) << out;
  EXPECT_NE(out.find("2 processes"), std::string::npos) << out;
  for (int i = 0; i < 20; ++i) {
    auto dice = fetch(port, get("/dice"));
    ASSERT_TRUE(dice);
    EXPECT_EQ(dice->body.size(), 277u);
  }
  EXPECT_EQ(serve.stop(SIGINT), 0);
}

TEST_F(ServeCli, BadValuesExitWith2AndSayWhy) {
  for (const char* bad : {"--latency 100", "--latency 5x", "--latency -1ms", "--latency 2h", "--latency 1.ms"}) {
    auto r = run_cli(std::string("serve ") + bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.out;
    EXPECT_NE(r.out.find("latency"), std::string::npos) << r.out;
  }
  auto port = run_cli("serve --port 70000");
  EXPECT_EQ(port.code, 2);
  EXPECT_NE(port.out.find("--port"), std::string::npos) << port.out;
  auto procs = run_cli("serve --processes 0");
  EXPECT_EQ(procs.code, 2);
  EXPECT_NE(procs.out.find("--processes"), std::string::npos) << procs.out;
}

}  // namespace
