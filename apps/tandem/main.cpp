// tandem — the seeds' programs under every concurrency model, measured on this machine.
#include <fmt/core.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <thread>

#include "cli.hpp"

namespace tandem::cli {

namespace {

// Decimal digits only (no sign, no spaces, no exponent) that fit in 64 bits; nullopt otherwise.
std::optional<std::uint64_t> decimal_u64(const std::string& text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

}  // namespace

std::uint64_t parse_positive_u64(const std::string& what, const std::string& text) {
  const auto v = decimal_u64(text);
  if (!v || *v == 0) throw UsageError(fmt::format("{} must be a positive 64-bit integer, got '{}'", what, text));
  return *v;
}

std::uint64_t parse_whole_number(const std::string& what, const std::string& text, std::uint64_t min,
                                 std::uint64_t max) {
  const auto v = decimal_u64(text);
  if (!v || *v < min || *v > max)
    throw UsageError(fmt::format("{} must be a whole number from {} to {}, got '{}'", what, min, max, text));
  return *v;
}

unsigned parse_workers(const std::string& text) {
  return static_cast<unsigned>(parse_whole_number("--workers", text, 1, 4096));
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
