// lab/lab_run.hpp — `tandem lab`: every program under every model it supports, measured by the rules
// of lab/measure.hpp, one extra traced run per case, the workers sweep and the latency table, as the
// two documents the report reads (results.json, trace.json; the contract: docs/architecture.md, "lab
// and CLI").
//
//   LabOptions options;             // quick, runs, warmup, workers, sizes
//   LabOutput out = run_lab(options, progress);
//   write_lab_output(out, "tandem-lab");   // tandem-lab/results.json, tandem-lab/trace.json
//
// The timed runs never record (the recorder is off: no cost); the traced run that follows each case's
// measurement is not counted in its figures.
#pragma once

#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>

#include "lab/measure.hpp"

namespace tandem::lab {

/// How big each program's input is.
enum class LabSize {
  full,   // the default: each sequential case takes around a second
  quick,  // --quick: the whole lab in under a minute on 2 cores (Release)
  tiny,   // tests: every case in milliseconds (the figures mean nothing; warnings say "too short")
};

struct LabOptions {
  LabSize size = LabSize::full;
  unsigned runs = 5;         // measured runs per case
  unsigned warmup = 1;       // unmeasured runs before them
  unsigned workers = 2;      // pool width of every pooled case (the CLI's default: the cores)
  unsigned sweep_max = 4;    // primes' workers sweep: 1 … sweep_max (0: no sweep)
  unsigned cores = 1;        // the cores this process may use (machine.cores, load warnings)
  std::string tandem_version;  // as `tandem --version` prints it
};

struct LabOutput {
  nlohmann::json results;  // results.json
  nlohmann::json trace;    // trace.json
};

/// Runs the whole matrix. `progress` counts every run (warmups, measured, traced) and latency row.
LabOutput run_lab(const LabOptions& options, const ProgressCallback& progress = {});

/// `tandem lab --python`: the seeds' own Python programs on CPython (lab/python_peers.hpp) — primes,
/// sumsq and the downloaders against a fixture server of its own — then CPython's speedups beside
/// `programs`' (results.json's "programs"). CPython is ~100x slower at this arithmetic, so it gets
/// smaller inputs than tandem's (never larger than --quick's; sumsq's N 1/10 of quick's), at most 3
/// runs and no warmup; the section's "inputs" says which. Speedups, not times, are compared.
/// Returns results.json's "python" section, with "comparison" rows. Throws python::InterpreterNotFound
/// (no interpreter) and python::PeerFailed (a program failed).
nlohmann::json run_lab_python(const LabOptions& options, const nlohmann::json& programs,
                              std::optional<std::string> interpreter, const ProgressCallback& progress = {});

/// Checks that `dir` can hold the lab's files (creates it; writes and removes a probe file): throws
/// std::invalid_argument naming the directory and the cause. Called before the runs, so that a bad
/// --out fails at once rather than after minutes of measuring.
void check_output_dir(const std::filesystem::path& dir);
/// Writes dir/results.json and dir/trace.json (each complete, or std::runtime_error naming it).
void write_lab_output(const LabOutput& output, const std::filesystem::path& dir);

}  // namespace tandem::lab
