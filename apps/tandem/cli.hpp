// Shared pieces of the tandem CLI: each subcommand lives in its own file and registers itself here.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace tandem::cli {

/// Bad input discovered after parsing: printed as "tandem <cmd>: <message>", exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A whole number in [1, 2^64), or UsageError naming `what` and the text as given.
std::uint64_t parse_positive_u64(const std::string& what, const std::string& text);
/// A whole number in [min, max] (digits only), or UsageError naming `what`, the range and the text as
/// given. Every numeric option goes through a range check: a value past what the program can represent
/// (a duration in nanoseconds, a count) must be refused, not wrapped into a negative or garbage one.
std::uint64_t parse_whole_number(const std::string& what, const std::string& text, std::uint64_t min,
                                 std::uint64_t max);
/// A decimal number (digits with at most one '.') in [min, max], or UsageError naming `what`, the
/// range and the text as given.
double parse_decimal(const std::string& what, const std::string& text, double min, double max);
/// A worker count in [1, 4096].
unsigned parse_workers(const std::string& text);
/// Default worker count: the cores this process may run on.
unsigned default_workers();
/// Whether stdout is a terminal (the spinner animates only there).
bool stdout_is_terminal();

/// What the chosen subcommand will run once parsing succeeded; returns the exit code.
using Runner = std::function<int()>;

void add_primes(CLI::App& app, Runner& run);
void add_sumsq(CLI::App& app, Runner& run);
void add_spinner(CLI::App& app, Runner& run);
void add_latency(CLI::App& app, Runner& run);
void add_wordcount(CLI::App& app, Runner& run);

}  // namespace tandem::cli
