// tandem — the seeds' programs under every concurrency model, measured on this machine.
#include <fmt/core.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "mpi_model.hpp"

namespace tandem::cli {
void add_serve(CLI::App& app, Runner& run);  // serve.cpp
void add_download(CLI::App& app, Runner& run);  // download.cpp
void add_lab(CLI::App& app, Runner& run, std::string version);  // lab.cpp
}

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

double parse_decimal(const std::string& what, const std::string& text, double min, double max) {
  const bool well_formed = !text.empty() && std::ranges::count(text, '.') <= 1 && text != "." &&
                           std::ranges::all_of(text, [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  const double v = well_formed ? std::strtod(text.c_str(), nullptr) : -1;
  if (!well_formed || !(v >= min && v <= max))
    throw UsageError(fmt::format("{} must be a number from {} to {}, got '{}'", what, min, max, text));
  return v;
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

namespace {

bool takes_a_value(const CLI::Option& option) { return option.get_items_expected_max() > 0; }  // not a flag

// ---- what CLI11 lets through ------------------------------------------------------------------------
// CLI11 stores an empty value like any other, and the subcommands read an empty string as "not given"
// (`--workers ''` ran with the default worker count, `--seconds ''` slept 0 s); it reads "--workers="
// as "--workers" followed by the next argument (`primes --workers= 15` checked the default list with
// 15 workers); and an unknown subcommand only got "A subcommand is required". These helpers close
// those gaps for every option of every subcommand, present and future.

// Every option that takes a value refuses an empty one, before its own checks run (so `--model ''`
// says "empty", not "'' not in {...}"). CLI11 prefixes the message with the option's name.
void refuse_empty_values(CLI::App& app) {
  for (CLI::Option* option : app.get_options())
    if (takes_a_value(*option))
      option->transform(CLI::Validator(
          [](std::string& value) {
            return value.empty() ? "the value is empty; give one, or leave the argument out to get its default"
                                 : std::string();
          },
          "", "non-empty"));
  for (CLI::App* sub : app.get_subcommands(nullptr)) refuse_empty_values(*sub);
}

// argv with each "--name=" (an option that takes a value, written with '=' and nothing after it)
// spelled out as "--name" "", so that CLI11 sees the empty value instead of taking the next argument.
std::vector<std::string> spell_out_empty_assignments(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> out;
  CLI::App* current = &app;      // the (sub)command whose options the arguments are
  bool positional_only = false;  // after "--"
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !positional_only) {
      if (arg == "--") {
        positional_only = true;
      } else if (arg.size() > 3 && arg.starts_with("--") && arg.find('=') == arg.size() - 1) {
        std::string name = arg.substr(0, arg.size() - 1);
        const CLI::Option* option = current->get_option_no_throw(name);
        if (option && takes_a_value(*option)) {
          out.push_back(std::move(name));
          out.emplace_back();
          continue;
        }
      } else if (!arg.starts_with("-")) {
        for (CLI::App* sub : current->get_subcommands(nullptr))
          if (sub->check_name(arg)) current = sub;
      }
    }
    out.push_back(std::move(arg));
  }
  return out;
}

std::string subcommand_names(CLI::App& app) {
  std::string names;
  for (CLI::App* sub : app.get_subcommands(nullptr)) names += (names.empty() ? "" : ", ") + sub->get_name();
  return names;
}

// No subcommand was recognised: say what was typed instead (an unknown name, a stray option) or, when
// nothing was, show the usage. Exit code 2 either way.
int no_subcommand(CLI::App& app) {
  const auto rest = app.remaining();
  const auto typed = std::ranges::find_if(rest, [](const std::string& a) { return !a.starts_with("-"); });
  if (typed != rest.end()) {
    std::string hint;  // `tandem PRIMES`: names are matched exactly
    for (CLI::App* sub : app.get_subcommands(nullptr))
      if (std::ranges::equal(*typed, sub->get_name(), [](unsigned char a, unsigned char b) {
            return std::tolower(a) == std::tolower(b);
          }))
        hint = fmt::format(" (did you mean '{}'?)", sub->get_name());
    fmt::print(stderr,
               "tandem: unknown subcommand '{}'{}; the subcommands are {}\n"
               "Run with --help for more information.\n",
               *typed, hint, subcommand_names(app));
  } else if (!rest.empty()) {
    fmt::print(stderr,
               "tandem: '{}' is not an option of tandem itself; a subcommand comes first: {}\n"
               "Run with --help for more information.\n",
               rest.front(), subcommand_names(app));
  } else {
    fmt::print(stderr, "tandem: a subcommand is required: {}\n\n{}", subcommand_names(app), app.help());
  }
  return 2;
}

// Whether everything printed reached stdout: a full disk or a closed pipe (`tandem primes > /dev/full`)
// is an error the user must hear about, not a silent exit 0 with a truncated table.
int stdout_written() {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int error = errno;
  if (flushed && !std::ferror(stdout)) return 0;
  fmt::print(stderr, "tandem: error: could not write to standard output{}{}\n", error ? ": " : "",
             error ? std::strerror(error) : "");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tandem — Python's concurrency models in C++20: the seeds' programs, measured"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("tandem ") + TANDEM_VERSION);
  tandem::cli::Runner run;
  tandem::cli::add_primes(app, run);
  tandem::cli::add_sumsq(app, run);
  tandem::cli::add_spinner(app, run);
  tandem::cli::add_serve(app, run);
  tandem::cli::add_latency(app, run);
  tandem::cli::add_wordcount(app, run);
  tandem::cli::add_download(app, run);
  tandem::cli::add_lab(app, run, std::string("tandem ") + TANDEM_VERSION);
  refuse_empty_values(app);
  const auto args = spell_out_empty_assignments(app, argc, argv);
  std::vector<const char*> arg_pointers;
  for (const auto& a : args) arg_pointers.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(arg_pointers.size()), arg_pointers.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    if (app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&e)) return no_subcommand(app);
    app.exit(e);
    return 2;
  }
  try {
    const int code = run ? tandem::cli::run_model_ranks(argc, argv, run) : 2;  // --model mpi: rank 0 runs it
    return code == 0 ? stdout_written() : code;
  } catch (const tandem::cli::UsageError& e) {
    const auto* sub = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
    fmt::print(stderr, "tandem {}: {}\n", sub ? sub->get_name() : "", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "tandem: error: {}\n", e.what());
    return 1;
  }
}
