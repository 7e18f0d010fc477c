// `tandem lab`'s matrix (lab/lab_run.hpp): programs × models, measured, then traced once.
#include "lab/lab_run.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "lab/download.hpp"
#include "lab/latency.hpp"
#include "lab/model.hpp"
#include "lab/primes.hpp"
#include "lab/python_peers.hpp"
#include "lab/sites.hpp"
#include "lab/spinner.hpp"
#include "lab/sumsq.hpp"
#include "lab/trace.hpp"

namespace tandem::lab {

namespace {

using json = nlohmann::json;
using Clock = Recorder::Clock;

struct Timed {
  double wall_seconds = 0;
  json extra;  // per-run facts a program adds to its case (the spinner's frames)
};

/// One program of the matrix: how to run it once under a model, and how to trace one run.
struct Program {
  std::string name, title, kind;
  std::vector<Model> models;  // sequential first
  std::function<Timed(Model, unsigned workers)> run;
  /// Adds the traced run's timeline to `trace` and returns its pid; null: this program is not traced.
  std::function<std::optional<int>(Model, unsigned workers, Trace&, const std::string& case_name)> trace;
  bool workers_from_run = false;  // the case's workers come from the run (download: each model's default)
  bool pooled = true;             // false: --workers does not apply (the spinner: one thread beside another)
};

std::string case_name(const std::string& program, Model model, unsigned workers) {
  if (!has_workers(model)) return program + " · " + std::string(name(model));
  return fmt::format("{} · {} ({} {})", program, name(model), workers,
                     workers == 1 ? (model == Model::processes ? "process" : "worker")
                                  : (model == Model::processes ? "processes" : "workers"));
}

/// Runs `workload` under `model` with a recorder and files the timeline: pool lanes per worker, the
/// loop's one lane, the GIL's holds under threads-gil. Sequential runs record themselves (`sequential`).
template <class W>
int trace_model_run(Trace& trace, const std::string& case_name, Model model, unsigned workers, const W& workload,
                    const std::function<std::vector<TaskRecord>(Clock::time_point origin)>& sequential) {
  if (model == Model::sequential) {
    const auto origin = Clock::now();
    auto records = sequential(origin);
    return trace.add_case(case_name, "thread", records, origin, {}, "main thread");
  }
  Recorder recorder;
  std::vector<Gil::Hold> holds;
  ModelOptions mo;
  mo.model = model;
  mo.workers = workers;
  mo.thread_name_prefix = "lab";
  mo.recorder = &recorder;
  mo.gil_holds = &holds;
  recorder.clear();  // origin: now, after the recorder's own set-up
  (void)run_model(mo, workload);
  const char* lane = model == Model::processes ? "process" : "worker";
  return trace.add_case(case_name, lane, recorder, holds, model == Model::coroutines ? "event loop" : "");
}

std::vector<std::uint64_t> primes_numbers(LabSize size) {
  switch (size) {
    case LabSize::full: return {kPrimeNumbers.begin(), kPrimeNumbers.end()};
    case LabSize::quick: return {2, 142702110479723, 299593572317531, 3333333333333301, 4444444444444423, 4444444444444444};
    case LabSize::tiny: break;
  }
  return {2, 1000003, 999999937, 4};
}

Program primes_program(const LabOptions& o) {
  auto numbers = std::make_shared<std::vector<std::uint64_t>>(primes_numbers(o.size));
  Program p{"primes", "Prime checker (CPU-bound)", "cpu",
            {Model::sequential, Model::threads, Model::threads_gil, Model::processes, Model::coroutines}, {}, {}};
  p.run = [numbers](Model model, unsigned workers) {
    ModelOptions mo;
    mo.model = model;
    mo.workers = workers;
    mo.thread_name_prefix = "lab";
    return Timed{run_model(mo, PrimesWorkload{*numbers}).wall_seconds, {}};
  };
  p.trace = [numbers](Model model, unsigned workers, Trace& trace, const std::string& name) -> std::optional<int> {
    // Sequentially, one slice per number, from the time the checker reports for it.
    auto sequential = [&](Clock::time_point) {
      std::vector<TaskRecord> records;
      std::uint64_t id = 0;
      check_sequential(*numbers, [&](const PrimeResult& r) {
        const auto end = Clock::now();
        const auto start = end - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(r.seconds));
        records.push_back(TaskRecord{++id, 0, start, end});
      });
      return records;
    };
    return trace_model_run(trace, name, model, workers, PrimesWorkload{*numbers}, sequential);
  };
  return p;
}

std::uint64_t sumsq_n(LabSize size) {
  switch (size) {
    case LabSize::full: return 1'000'000'000;
    case LabSize::quick: return 200'000'000;
    case LabSize::tiny: break;
  }
  return 100'000;
}

Program sumsq_program(const LabOptions& o) {
  const std::uint64_t n = sumsq_n(o.size);
  Program p{"sumsq", "Sum of squares (CPU-bound)", "cpu",
            {Model::sequential, Model::threads, Model::threads_gil, Model::processes}, {}, {}};
  p.run = [n](Model model, unsigned workers) {
    ModelOptions mo;
    mo.model = model;
    mo.workers = workers;
    mo.thread_name_prefix = "lab";
    return Timed{run_model(mo, SumsqWorkload{n}).wall_seconds, {}};
  };
  p.trace = [n](Model model, unsigned workers, Trace& trace, const std::string& name) -> std::optional<int> {
    auto sequential = [&](Clock::time_point) {
      const auto start = Clock::now();
      (void)sumsq_sequential(n);
      return std::vector<TaskRecord>{{1, 0, start, Clock::now()}};
    };
    return trace_model_run(trace, name, model, workers, SumsqWorkload{n}, sequential);
  };
  return p;
}

std::uint64_t spinner_number(LabSize size) {
  switch (size) {
    case LabSize::full: return 100000000000000003;  // the first prime past 10^17: 1.6e8 divisions
    case LabSize::quick: return 3333333333333301;    // a prime of the seed's list: 2.9e7 divisions
    case LabSize::tiny: break;
  }
  return 1000003;
}

SpinnerOptions quiz_options(std::uint64_t number) {
  SpinnerOptions so;
  so.work = SpinnerWork::primes;
  so.number = number;
  so.interval = std::chrono::milliseconds(20);
  so.animate = false;
  so.debug = false;
  return so;
}

// The Quick Quiz: slow() is the blocking is_prime(n) beside a spinner. "sequential" is slow() alone,
// with no spinner: what the other models' slow() costs when nothing runs beside it.
Program spinner_program(const LabOptions& o) {
  const std::uint64_t number = spinner_number(o.size);
  Program p{"spinner", "Spinner quiz: is_prime beside a spinner (CPU-bound)", "cpu",
            {Model::sequential, Model::threads, Model::threads_gil, Model::processes, Model::coroutines}, {}, {}};
  p.pooled = false;
  p.run = [number](Model model, unsigned) {
    if (model == Model::sequential) {
      const auto t0 = Clock::now();
      const bool prime = is_prime(number);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      return Timed{s, {{"frames", 0}, {"prime", prime}}};
    }
    std::ostringstream discard;
    const auto report = run_spinner(model, discard, quiz_options(number));
    return Timed{report.seconds, {{"frames", report.frames}, {"prime", report.prime}}};
  };
  // Traced under coroutines only (the other models are a Thread or a Process, not a pool): the loop's
  // lane shows the spinner's steps, then slow()'s one long step that freezes it.
  p.trace = [number](Model model, unsigned, Trace& trace, const std::string& name) -> std::optional<int> {
    if (model != Model::coroutines) return std::nullopt;
    Recorder recorder;
    SpinnerOptions so = quiz_options(number);
    so.recorder = &recorder;
    std::ostringstream discard;
    recorder.clear();
    (void)run_spinner(model, discard, so);
    return trace.add_case(name, "worker", recorder, {}, "event loop");
  };
  return p;
}

struct DownloadSize {
  std::size_t sites;
  std::chrono::milliseconds latency;
};
DownloadSize download_size(LabSize size) {
  switch (size) {
    case LabSize::full: return {80, std::chrono::milliseconds(50)};
    case LabSize::quick: return {20, std::chrono::milliseconds(20)};
    case LabSize::tiny: break;
  }
  return {4, std::chrono::milliseconds(1)};
}

Program download_program(const LabOptions& o, FixtureServer& server) {
  const auto size = download_size(o.size);
  auto urls = std::make_shared<std::vector<std::string>>(seed_sites(server.url(), size.sites));
  Program p{"download",
            fmt::format("Site downloader: {} sites, {} ms each (I/O-bound)", size.sites, size.latency.count()),
            "io",
            {kDownloadModels.begin(), kDownloadModels.end()},
            {},
            {}};
  p.workers_from_run = true;
  p.run = [urls](Model model, unsigned) {
    auto run = download_all_sites(model, *urls);
    return Timed{run.seconds, {{"workers", run.workers}, {"bytes", std::to_string(run.total)}}};
  };
  p.trace = [urls](Model model, unsigned, Trace& trace, const std::string& name) -> std::optional<int> {
    Recorder recorder;
    recorder.clear();
    (void)download_all_sites(model, *urls, 0, {}, &recorder);
    const char* lane = model == Model::processes ? "process" : "worker";
    const char* single = model == Model::coroutines ? "event loop" : model == Model::sequential ? "main thread" : "";
    return trace.add_case(name, lane, recorder, {}, single);
  };
  return p;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("model name")) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

json load_average() {
  double load[1];
  return ::getloadavg(load, 1) == 1 ? json(load[0]) : json(nullptr);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json stats_fields(const Stats& s) {
  json outliers = json::array();
  for (std::size_t i = 0; i < s.outlier.size(); ++i)
    if (s.outlier[i]) outliers.push_back(i);
  return {{"runs_s", s.seconds}, {"median_s", s.median}, {"min_s", s.min}, {"max_s", s.max}, {"outliers", outliers}};
}

double speedup(double baseline, double median) { return median > 0 ? baseline / median : 0.0; }

class Matrix {
 public:
  Matrix(const LabOptions& o, const ProgressCallback& progress)
      : o_(o), progress_(progress), conditions_(current_conditions(o.cores)), t0_(Clock::now()) {
    measure_.runs = o.runs;
    measure_.warmup = o.warmup;
  }

  void plan(const std::vector<Program>& programs, unsigned sweep_entries, unsigned latency_rows) {
    total_ = latency_rows + sweep_entries * (o_.runs + o_.warmup);
    for (const auto& p : programs) total_ += static_cast<unsigned>(p.models.size()) * (o_.runs + o_.warmup + (p.trace ? 1 : 0));
  }

  json run_program(const Program& p, Trace& trace) {
    json cases = json::array();
    double sequential_median = 0;
    for (Model model : p.models) {
      const unsigned workers = p.pooled && has_workers(model) ? o_.workers : 1;
      std::vector<json> extras;
      auto m = measure(measure_, [&](const RunSlot&) {
        auto t = p.run(model, workers);
        extras.push_back(t.extra);
        tick();
        return t;
      });
      if (model == Model::sequential) sequential_median = m.stats.median;
      json c{{"model", name(model)}, {"workers", workers}};
      c.update(stats_fields(m.stats));
      c["warmup_s"] = m.warmup_seconds;
      c["speedup"] = model == Model::sequential ? 1.0 : speedup(sequential_median, m.stats.median);
      c["warnings"] = warnings(m.stats, conditions_);
      const json& last = extras.back();  // the last measured run's facts
      if (p.workers_from_run && last.contains("workers")) c["workers"] = last["workers"];
      if (last.contains("frames")) {
        json frames = json::array();
        for (std::size_t i = o_.warmup; i < extras.size(); ++i) frames.push_back(extras[i]["frames"]);
        c["frames"] = frames;  // per measured run
      }
      if (p.trace) {
        const std::string traced_name = case_name(p.name, model, c["workers"].get<unsigned>());
        if (auto pid = p.trace(model, workers, trace, traced_name)) c["trace_pid"] = *pid;
        tick();
      }
      cases.push_back(std::move(c));
    }
    return json{{"name", p.name}, {"title", p.title}, {"kind", p.kind}, {"cases", cases}, {"sweep", json::array()}};
  }

  /// The workers sweep of `program` under `models`: 1 … sweep_max workers each.
  json sweep(const Program& p, std::span<const Model> models, double sequential_median) {
    json entries = json::array();
    for (Model model : models) {
      for (unsigned w = 1; w <= o_.sweep_max; ++w) {
        auto m = measure(measure_, [&](const RunSlot&) {
          auto t = p.run(model, w);
          tick();
          return t;
        });
        json e{{"model", name(model)}, {"workers", w}};
        e.update(stats_fields(m.stats));
        e["speedup"] = speedup(sequential_median, m.stats.median);
        e["warnings"] = warnings(m.stats, conditions_);
        entries.push_back(std::move(e));
      }
    }
    return entries;
  }

  json latency() {
    LatencyOptions lo;
    lo.quick = o_.size != LabSize::full;
    lo.runs = o_.size == LabSize::full ? o_.runs : std::min(o_.runs, 3u);
    auto rows = measure_latency(lo, [&](const Progress&) { tick(); });
    const double ghz = cpu_ghz();
    json out = json::array();
    for (const auto& row : rows) {
      json r{{"name", row.name},
             {"median_ns", row.stats.median},
             {"min_ns", row.stats.min},
             {"max_ns", row.stats.max},
             {"runs_ns", row.stats.seconds}};
      r["seed_ns"] = row.seed_ns > 0 ? json(row.seed_ns) : json(nullptr);
      r["instructions"] = ghz > 0 ? json(row.stats.median * ghz) : json(nullptr);  // cycles at the clock
      out.push_back(std::move(r));
    }
    latency_warnings_ = latency_warnings(rows, conditions_);
    return out;
  }
  const std::vector<std::string>& latency_warnings_list() const { return latency_warnings_; }

 private:
  void tick() {
    ++done_;
    if (!progress_) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0_).count();
    const unsigned total = std::max(total_, done_);
    progress_(Progress{done_, total, elapsed, elapsed / done_ * (total - done_)});
  }

  const LabOptions& o_;
  ProgressCallback progress_;
  Conditions conditions_;
  MeasureOptions measure_;
  Clock::time_point t0_;
  unsigned done_ = 0, total_ = 0;
  std::vector<std::string> latency_warnings_;
};

// Latency rows counted for the progress line (measure_latency reports one step per row).
constexpr unsigned kLatencyRowsEstimate = 20;

}  // namespace

LabOutput run_lab(const LabOptions& options, const ProgressCallback& progress) {
  if (options.runs == 0) throw std::invalid_argument("the lab needs at least one run per case");
  if (options.workers == 0) throw std::invalid_argument("the lab's pools need at least one worker");
  json results{{"schema", "tandem-lab/1"},
               {"tandem_version", options.tandem_version},
               {"created", utc_now()},
               {"quick", options.size != LabSize::full},
               {"size", options.size == LabSize::full ? "full" : options.size == LabSize::quick ? "quick" : "tiny"},
               {"runs", options.runs},
               {"warmup", options.warmup}};
  json machine{{"cores", options.cores}, {"cpu_model", cpu_model()}, {"cpu_mhz", cpu_ghz() * 1000.0}};
  machine["load_average_start"] = load_average();
  // The warnings that hold for every case (the load when the lab started); each case repeats them.
  json shared_warnings = json::array();
  if (auto w = load_warning(current_conditions(options.cores))) shared_warnings.push_back(*w);
  results["warnings"] = shared_warnings;

  const auto dsize = download_size(options.size);
  FixtureServer server(dsize.latency);
  std::vector<Program> programs{primes_program(options), sumsq_program(options), spinner_program(options),
                                download_program(options, server)};
  constexpr std::array<Model, 2> kSweepModels = {Model::threads, Model::processes};
  Matrix matrix(options, progress);
  matrix.plan(programs, static_cast<unsigned>(kSweepModels.size()) * options.sweep_max, kLatencyRowsEstimate);

  Trace trace;
  json program_results = json::array();
  for (const auto& p : programs) {
    json r = matrix.run_program(p, trace);
    if (p.name == "primes" && options.sweep_max > 0)
      r["sweep"] = matrix.sweep(p, kSweepModels, r["cases"][0]["median_s"].get<double>());
    program_results.push_back(std::move(r));
  }
  results["programs"] = std::move(program_results);
  results["latency"] = matrix.latency();
  results["latency_warnings"] = matrix.latency_warnings_list();
  results["python"] = nullptr;
  machine["load_average_end"] = load_average();
  results["machine"] = std::move(machine);
  return {std::move(results), trace.json()};
}

json run_lab_python(const LabOptions& options, const json& programs, std::optional<std::string> interpreter,
                    const ProgressCallback& progress) {
  const LabSize size = options.size == LabSize::tiny ? LabSize::tiny : LabSize::quick;
  const auto dsize = download_size(size);
  FixtureServer server(dsize.latency);
  python::PeerOptions po;
  po.interpreter = std::move(interpreter);
  po.numbers = primes_numbers(size);
  po.sumsq_n = std::max<std::uint64_t>(sumsq_n(size) / 10, 1000);
  po.download_urls = {server.url() + "/jython", server.url() + "/dice"};
  po.download_sites = dsize.sites;
  po.workers = {options.workers};
  po.measure.runs = std::min(options.runs, 3u);
  po.measure.warmup = 0;
  po.progress = progress;
  json section = python::run_python_peers(po);
  json numbers = json::array();
  for (auto n : po.numbers) numbers.push_back(std::to_string(n));
  section["inputs"] = {{"primes_numbers", numbers},
                       {"sumsq_n", std::to_string(po.sumsq_n)},
                       {"download_sites", std::to_string(dsize.sites)},
                       {"download_latency_ms", std::to_string(dsize.latency.count())}};
  section["comparison"] = python::compare_speedups(section, programs);
  return section;
}

void check_output_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::invalid_argument(fmt::format("--out {}: cannot create the directory: {}", dir.string(), ec.message()));
  if (!std::filesystem::is_directory(dir, ec))
    throw std::invalid_argument(fmt::format("--out {}: not a directory", dir.string()));
  const auto probe = dir / ".tandem-lab-probe";
  {
    std::ofstream out(probe);
    out << "probe\n";
    out.close();
    if (!out) {
      const int err = errno;
      std::filesystem::remove(probe, ec);
      throw std::invalid_argument(
          fmt::format("--out {}: cannot write there: {}", dir.string(), err ? std::strerror(err) : "write failed"));
    }
  }
  std::filesystem::remove(probe, ec);
}

void write_lab_output(const LabOutput& output, const std::filesystem::path& dir) {
  auto write = [&](const char* file, const json& doc) {
    const auto path = dir / file;
    std::ofstream out(path, std::ios::trunc);
    out << doc.dump(1) << '\n';
    out.close();
    if (!out) throw std::runtime_error(fmt::format("could not write {}: {}", path.string(), std::strerror(errno)));
  };
  write("results.json", output.results);
  write("trace.json", output.trace);
}

}  // namespace tandem::lab
