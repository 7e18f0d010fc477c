// tandem — the seeds' programs under every concurrency model, measured on this machine.
#include <fmt/core.h>
#include <sched.h>
#include <unistd.h>

#include <exception>
#include <thread>

#include "cli.hpp"

namespace tandem::cli {

std::uint64_t parse_positive_u64(const std::string& what, const std::string& text) {
  auto bad = [&] { return UsageError(fmt::format("{} must be a positive 64-bit integer, got '{}'", what, text)); };
  if (text.empty() || text.size() > 20) throw bad();
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') throw bad();
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) throw bad();
    v = v * 10 + digit;
  }
  if (v == 0) throw bad();
  return v;
}

unsigned parse_workers(const std::string& text) {
  std::uint64_t v = 0;
  try {
    v = parse_positive_u64("--workers", text);
  } catch (const UsageError&) {
    throw UsageError(fmt::format("--workers must be a whole number from 1 to 4096, got '{}'", text));
  }
  if (v > 4096) throw UsageError(fmt::format("--workers must be a whole number from 1 to 4096, got '{}'", text));
  return static_cast<unsigned>(v);
}

unsigned default_workers() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

}  // namespace tandem::cli

int main(int argc, char** argv) {
  CLI::App app{"tandem — Python's concurrency models in C++20: the seeds' programs, measured"};
  app.require_subcommand(1);
  tandem::cli::Runner run;
  tandem::cli::add_primes(app, run);
  tandem::cli::add_sumsq(app, run);
  tandem::cli::add_spinner(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    app.exit(e);
    return 2;
  }
  try {
    return run ? run() : 2;
  } catch (const tandem::cli::UsageError& e) {
    const auto* sub = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
    fmt::print(stderr, "tandem {}: {}\n", sub ? sub->get_name() : "", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tandem: error: {}\n", e.what());
    return 1;
  }
}
