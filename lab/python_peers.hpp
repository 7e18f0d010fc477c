// lab/python_peers.hpp — the seeds' own Python programs, run on CPython beside tandem's models
// ("checked against the real thing", issue 13).
//
// lab/python/ holds the seeds' programs, close to their published code and parametrised by argv:
// Fluent Python's prime checkers (primes_sequential.py, primes_threads.py — the thread-based
// nonsolution —, primes_procs.py), Real Python's sum of squares (sumsq.py: single_process,
// multiple_threads, multiple_processing) and downloaders (download_sync.py, download_threads.py,
// download_processes.py, download_asyncio.py). Each prints what the seed prints, then one JSON line
// with its own timing (peer.py). run_python_peers() runs them with the lab's measurement rules and
// returns the `python` section of results.json (LAB_SCHEMA.md):
//
//   tandem::lab::python::PeerOptions options;
//   options.numbers = {142702110479723, 299593572317531};  // the numbers tandem's primes cases checked
//   options.sumsq_n = 3'000'000;                            // the N tandem's sumsq cases summed
//   options.workers = {2};
//   options.measure = {.runs = 3, .warmup = 0};
//   nlohmann::json section = tandem::lab::python::run_python_peers(options);
//   // {"interpreter": "/usr/bin/python3", "version": "3.11.2", "cases": [...], "skipped": [...]}
//   nlohmann::json rows = tandem::lab::python::compare_speedups(section, programs);  // results.json's
//
// Models carry tandem's names: CPython's threads are "threads" (under its real GIL), its process
// pools "processes", asyncio "coroutines". compare_speedups() sets CPython's threads beside tandem's
// threads-gil and its processes beside tandem's processes, for the same program and workers.
//
// Failure: no interpreter where we looked throws InterpreterNotFound naming every place tried; a
// program that exits non-zero, prints no JSON line or outlives the run timeout throws PeerFailed with
// the command line and the end of its stderr. A program whose modules are missing (the downloaders
// need requests and aiohttp) or whose input was not given is skipped with the reason, not failed.
// Not to be called from inside a running aio event loop (each run is awaited with aio::run).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab/measure.hpp"

namespace tandem::lab::python {

/// The first line of every peer's JSON: {"peer": "tandem-python/1", ...} (lab/python/peer.py).
inline constexpr const char* kPeerSchema = "tandem-python/1";
/// The oldest CPython the programs run on (subscripted SimpleQueue[int], list[int] annotations).
inline constexpr int kMinimumMinor = 9;
/// CPython's and tandem's speedups agree when they differ by at most this fraction of CPython's.
inline constexpr double kAgreement = 0.15;

struct InterpreterNotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct PeerFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Interpreter {
  std::string path;                          // as run
  std::string version;                       // "3.11.2"
  std::vector<std::string> missing_modules;  // of those the downloaders import: "requests", "aiohttp"
};

/// Where to look for python3: `requested` alone when given (a path, or a bare name looked up on
/// PATH; it must run: no fallback that would measure another Python than the one asked for); otherwise each of `fixed` (Debian's, with
/// requests and aiohttp), then `name` in each directory of `path_env` (PATH's value).
struct InterpreterSearch {
  std::optional<std::string> requested = {};
  std::vector<std::string> fixed = {"/usr/bin/python3"};
  std::string name = "python3";
  std::optional<std::string> path_env = {};  // unset: the PATH environment variable
};

/// The interpreter, asked for its version and modules. Throws InterpreterNotFound.
Interpreter find_interpreter(const InterpreterSearch& search = {});

/// The folders where lab/python may be, in order: `requested` alone when given; else next to the
/// executable (`exe`'s ../share/tandem/python, an installed and relocated tandem), the install
/// prefix's share/tandem/python, and the source tree's lab/python (a build tree).
std::vector<std::filesystem::path> program_dirs(const std::optional<std::string>& requested,
                                                const std::filesystem::path& exe);
/// The first of program_dirs(requested, /proc/self/exe) holding primes_sequential.py; throws
/// std::runtime_error naming every folder tried.
std::filesystem::path find_programs(const std::optional<std::string>& requested = {});

struct PeerOptions {
  std::optional<std::string> interpreter;   // InterpreterSearch::requested
  std::optional<std::string> programs_dir;  // find_programs' `requested`
  std::vector<std::uint64_t> numbers;       // primes: the numbers to check (empty: primes is skipped)
  std::uint64_t sumsq_n = 0;                // sumsq: Σ i² below N (0: skipped)
  std::vector<std::string> download_urls;   // download: the sites, taken in turn (empty: skipped)
  std::size_t download_sites = 0;           // download: how many (0: one per URL)
  std::vector<unsigned> download_workers = {};  // download's pools (empty: `workers`; the seed: 5 threads)
  std::vector<unsigned> workers = {2};      // each pool model runs once per count
  std::vector<std::string> programs = {"primes", "sumsq", "download"};  // which to run
  /// Which models besides sequential (always run: the speedups are over it): "threads", "processes",
  /// "coroutines" (the asyncio downloader).
  std::vector<std::string> models = {"threads", "processes", "coroutines"};
  MeasureOptions measure;
  std::chrono::seconds run_timeout{600};  // one run of one program
  ProgressCallback progress;              // after each run (warmups included), over all cases
};

/// Runs each program under each model (sequential first) with options.measure's rules (median,
/// min…max, outliers, warnings), in rounds: each round runs every case once, warmup rounds first, so
/// that a load drifting over CPython's minutes weighs on every case alike. Returns
///   {"interpreter", "version", "cases": [{"program", "model", "workers", "script", "runs_s",
///    "warmup_s", "median_s", "min_s", "max_s", "outliers", "speedup", "warnings", "answer",
///    "answer_matches_tandem"}], "skipped": [{"program", "model", "reason"}]}
/// `speedup` is the program's sequential median over this case's (null without a sequential case).
/// `answer` is the last run's answer as the program printed it (primes: "checked" and "primes";
/// sumsq: "n" and "sum"; download: "sites" and "bytes"), integers as strings;
/// `answer_matches_tandem` compares it with tandem's lab::is_prime / sum_squares_formula (null for
/// download). Throws InterpreterNotFound, PeerFailed.
nlohmann::json run_python_peers(const PeerOptions& options);

/// CPython's speedups beside tandem's: for each CPython case of model threads or processes, the
/// tandem case of the same program and workers under threads-gil or processes, looked up in
/// `programs` (results.json's "programs": each program's "cases", then its "sweep"). One row each:
///   {"program", "workers", "python_model", "tandem_model", "python_speedup", "tandem_speedup",
///    "difference", "agrees", "sentence"}
/// `difference` is |tandem − CPython| / CPython; `agrees` is difference <= kAgreement. CPython cases
/// without a tandem counterpart are left out.
nlohmann::json compare_speedups(const nlohmann::json& python_section, const nlohmann::json& programs);

/// One comparison row from the two speedups (what compare_speedups builds each row with).
nlohmann::json compare_speedup(const std::string& program, unsigned workers, const std::string& python_model,
                               double python_speedup, const std::string& tandem_model, double tandem_speedup);

}  // namespace tandem::lab::python
