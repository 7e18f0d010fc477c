// Runs a shell command line for the CLI tests and collects what it prints (stdout, and whatever the
// line redirects there) with its exit code (128 + signal when a signal ended it).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace tandem::testing {

struct Outcome {
  int code = -1;    // -1: the shell could not be started
  std::string out;  // stdout (and stderr, where the line says 2>&1)
};

inline Outcome shell(const std::string& cmd) {
  Outcome o;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return o;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) o.out.append(buf.data(), n);
  int status = ::pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
}

/// The tandem CLI this test target was built against (the TANDEM_CLI define), or "false" (a command
/// that fails) where the CLI is not part of the build.
#ifdef TANDEM_CLI
inline const std::string kTandemCli = TANDEM_CLI;
#else
inline const std::string kTandemCli = "false";
#endif

}  // namespace tandem::testing
