// The seeds' Python programs on CPython: finding the interpreter and the programs, running them
// (each run awaited on an aio event loop as a subprocess), and setting their speedups beside tandem's.
#include "lab/python_peers.hpp"

#include <fmt/core.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "lab/primes.hpp"
#include "lab/sumsq.hpp"
#include "tandem/aio/runners.hpp"
#include "tandem/aio/subprocess.hpp"
#include "tandem/aio/timeouts.hpp"

namespace tandem::lab::python {

namespace {

namespace fs = std::filesystem;

struct Output {
  int code = 0;
  std::string out, err;
  bool timed_out = false;
};

aio::Task<Output> run_process(std::string program, std::vector<std::string> args, std::chrono::seconds limit) {
  aio::SubprocessOptions o;
  o.stdin_mode = aio::Stdio::devnull;
  o.stdout_mode = aio::Stdio::pipe;
  o.stderr_mode = aio::Stdio::pipe;
  // Named first: GCC 12 mishandles temporaries inside co_await expressions.
  auto spawn = aio::create_subprocess_exec(std::move(program), std::move(args), o);
  auto proc = co_await std::move(spawn);
  Output result;
  bool timed_out = false;
  try {
    auto communicate = proc.communicate();
    auto bounded = aio::timeout(limit, std::move(communicate));
    auto [out, err] = co_await std::move(bounded);
    result.out = std::move(out);
    result.err = std::move(err);
  } catch (const TimeoutError&) {
    timed_out = true;
  }
  if (timed_out) {  // no co_await in a catch block
    proc.kill();
    auto reaped = proc.wait();
    co_await std::move(reaped);
    result.timed_out = true;
  }
  result.code = proc.returncode().value_or(-1);
  co_return result;
}

Output run_sync(const std::string& program, const std::vector<std::string>& args, std::chrono::seconds limit) {
  return aio::run(run_process(program, args, limit));
}

std::string command_line(const std::string& program, const std::vector<std::string>& args) {
  std::string s = program;
  for (auto& a : args) s += " " + a;
  return s;
}

std::string tail_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  while (pos > 0 && text[pos - 1] == '\n') --pos;
  const std::size_t end = pos;
  for (std::size_t n = 0; pos > 0; --pos)
    if (text[pos - 1] == '\n' && ++n == lines) break;
  return text.substr(pos, end - pos);
}

bool executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

// The interpreter's version and which of the downloaders' modules it lacks; nullopt if it does not run.
std::optional<Interpreter> probe(const std::string& path, std::string& why) {
  static const std::string script =
      "import sys, importlib.util\n"
      "print('%d.%d.%d' % sys.version_info[:3])\n"
      "print(' '.join(m for m in ('requests', 'aiohttp') if importlib.util.find_spec(m) is None))\n";
  Output o;
  try {
    o = run_sync(path, {"-c", script}, std::chrono::seconds(30));
  } catch (const std::exception& e) {
    why = e.what();
    return std::nullopt;
  }
  if (o.code != 0) {
    why = fmt::format("exited with {}: {}", o.code, tail_lines(o.err, 3));
    return std::nullopt;
  }
  std::istringstream lines(o.out);
  Interpreter found;
  found.path = path;
  std::string missing;
  std::getline(lines, found.version);
  std::getline(lines, missing);
  std::istringstream words(missing);
  for (std::string m; words >> m;) found.missing_modules.push_back(m);
  int major = 0, minor = 0;
  if (std::sscanf(found.version.c_str(), "%d.%d", &major, &minor) != 2 || major != 3 || minor < kMinimumMinor) {
    why = fmt::format("is Python {}; the seeds' programs need 3.{} or later", found.version, kMinimumMinor);
    return std::nullopt;
  }
  return found;
}

// The executables called `name` in the directories of `path` (PATH's syntax), in order.
std::vector<fs::path> on_path(const std::string& name, const std::string& path) {
  std::vector<fs::path> found;
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && executable(fs::path(dir) / name)) found.push_back(fs::path(dir) / name);
  return found;
}

}  // namespace

Interpreter find_interpreter(const InterpreterSearch& search) {
  std::string why;
  const char* env = std::getenv("PATH");
  const std::string path = search.path_env ? *search.path_env : env ? env : "";
  if (search.requested) {
    fs::path p = *search.requested;
    if (search.requested->find('/') == std::string::npos) {  // a bare name, as a shell would look it up
      const auto found = on_path(*search.requested, path);
      if (found.empty()) throw InterpreterNotFound(fmt::format("the Python interpreter {} is not on PATH", p.string()));
      p = found.front();
    }
    if (!executable(p))
      throw InterpreterNotFound(fmt::format("the Python interpreter {} {}", *search.requested,
                                            fs::exists(p) ? "is not an executable file" : "does not exist"));
    if (auto found = probe(p.string(), why)) return *found;
    throw InterpreterNotFound(fmt::format("the Python interpreter {} {}", *search.requested, why));
  }
  std::vector<std::string> tried;
  auto attempt = [&](const fs::path& p) -> std::optional<Interpreter> {
    if (!executable(p)) return std::nullopt;
    if (auto found = probe(p.string(), why)) return found;
    tried.push_back(fmt::format("{} ({})", p.string(), why));
    return std::nullopt;
  };
  for (const auto& f : search.fixed)
    if (auto found = attempt(f)) return *found;
  for (const auto& candidate : on_path(search.name, path))
    if (auto found = attempt(candidate)) return *found;
  std::string places;
  for (const auto& f : search.fixed) places += f + ", ";
  places += search.name + " on PATH";
  std::string failures;
  for (const auto& t : tried) failures += "; " + t;
  throw InterpreterNotFound(fmt::format("no usable Python interpreter: tried {}{} (install python3, or name one)",
                                        places, failures));
}

std::vector<fs::path> program_dirs(const std::optional<std::string>& requested, const fs::path& exe) {
  if (requested) return {fs::path(*requested)};
  std::vector<fs::path> dirs;
  if (!exe.empty()) dirs.push_back(exe.parent_path().parent_path() / "share" / "tandem" / "python");
#ifdef TANDEM_PYTHON_INSTALL_DIR
  dirs.emplace_back(TANDEM_PYTHON_INSTALL_DIR);
#endif
#ifdef TANDEM_PYTHON_SOURCE_DIR
  dirs.emplace_back(TANDEM_PYTHON_SOURCE_DIR);
#endif
  return dirs;
}

fs::path find_programs(const std::optional<std::string>& requested) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::string tried;
  for (const auto& dir : program_dirs(requested, ec ? fs::path() : exe)) {
    if (fs::is_regular_file(dir / "primes_sequential.py", ec)) return dir;
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  throw std::runtime_error(fmt::format("the seeds' Python programs (primes_sequential.py, ...) are not in {}{}",
                                       tried, requested ? "" : " (install tandem, or run it from its build tree)"));
}

namespace {

// One (program, model, workers) to run: the script and its arguments.
struct Case {
  std::string program, model;
  unsigned workers = 1;
  std::string script;
  std::vector<std::string> args;
};

struct PeerRun {
  nlohmann::json line;  // the program's JSON line
  double wall_seconds = 0;
};

// The cores this process may use (the load warning's yardstick).
unsigned cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string digits(std::uint64_t v) { return std::to_string(v); }

std::vector<Case> plan_cases(const PeerOptions& o, const Interpreter& interpreter, nlohmann::json& skipped) {
  auto wanted = [&](const char* program) { return std::ranges::find(o.programs, program) != o.programs.end(); };
  auto skip = [&](const std::string& program, const std::string& model, const std::string& reason) {
    skipped.push_back({{"program", program}, {"model", model}, {"reason", reason}});
  };
  std::vector<Case> cases;
  if (wanted("primes")) {
    if (o.numbers.empty()) {
      skip("primes", "all", "no numbers given");
    } else {
      std::vector<std::string> numbers;
      for (auto n : o.numbers) numbers.push_back(digits(n));
      cases.push_back({"primes", "sequential", 1, "primes_sequential.py", numbers});
      for (const char* model : {"threads", "processes"})
        for (unsigned w : o.workers) {
          std::vector<std::string> args{std::to_string(w)};
          args.insert(args.end(), numbers.begin(), numbers.end());
          cases.push_back({"primes", model, w,
                           std::string(model) == "threads" ? "primes_threads.py" : "primes_procs.py", args});
        }
    }
  }
  if (wanted("sumsq")) {
    if (o.sumsq_n == 0) {
      skip("sumsq", "all", "no N given");
    } else {
      const std::string n = digits(o.sumsq_n);
      cases.push_back({"sumsq", "sequential", 1, "sumsq.py", {"single_process", n}});
      for (auto [model, mode] : {std::pair{"threads", "multiple_threads"}, std::pair{"processes", "multiple_processing"}})
        for (unsigned w : o.workers) cases.push_back({"sumsq", model, w, "sumsq.py", {mode, n, std::to_string(w)}});
    }
  }
  if (wanted("download")) {
    std::string missing;
    for (auto& m : interpreter.missing_modules) missing += (missing.empty() ? "" : " and ") + m;
    if (o.download_urls.empty()) {
      skip("download", "all", "no URL given (the lab serves its sites with tandem serve and passes their URLs)");
    } else if (!missing.empty()) {
      skip("download", "all",
           fmt::format("{} lacks {} (Debian: apt-get install python3-requests python3-aiohttp)", interpreter.path,
                       missing));
    } else {
      const std::size_t sites = o.download_sites ? o.download_sites : o.download_urls.size();
      std::vector<std::string> urls{digits(sites)};
      urls.insert(urls.end(), o.download_urls.begin(), o.download_urls.end());
      cases.push_back({"download", "sequential", 1, "download_sync.py", urls});
      for (const char* model : {"threads", "processes"})
        for (unsigned w : o.download_workers.empty() ? o.workers : o.download_workers) {
          std::vector<std::string> args{std::to_string(w)};
          args.insert(args.end(), urls.begin(), urls.end());
          cases.push_back({"download", model, w, fmt::format("download_{}.py", model), args});
        }
      cases.push_back({"download", "coroutines", 1, "download_asyncio.py", urls});
    }
  }
  std::erase_if(cases, [&](const Case& c) {
    return c.model != "sequential" && std::ranges::find(o.models, c.model) == o.models.end();
  });
  return cases;
}

PeerRun run_case(const Interpreter& interpreter, const fs::path& dir, const Case& c, std::chrono::seconds limit) {
  std::vector<std::string> args{"-B", (dir / c.script).string()};  // -B: no __pycache__ beside the programs
  args.insert(args.end(), c.args.begin(), c.args.end());
  const Output o = run_sync(interpreter.path, args, limit);
  const std::string command = command_line(interpreter.path, args);
  if (o.timed_out)
    throw PeerFailed(fmt::format("{} ran longer than {} s and was killed", command, limit.count()));
  if (o.code != 0)
    throw PeerFailed(fmt::format("{} exited with {}: {}", command, o.code, tail_lines(o.err, 5)));
  const std::string last = tail_lines(o.out, 1);
  nlohmann::json line = nlohmann::json::parse(last, nullptr, false);
  if (!line.is_object() || line.value("peer", "") != kPeerSchema || !line.contains("seconds") ||
      !line["seconds"].is_number())
    throw PeerFailed(fmt::format("{} did not end its output with a {} JSON line; its last line: {}", command,
                                 kPeerSchema, last));
  return {line, line["seconds"].get<double>()};
}

std::uint64_t parse_u64(const nlohmann::json& v) { return std::stoull(v.get<std::string>()); }

// Whether CPython's answer is tandem's: the same primes among the numbers, the same sum.
nlohmann::json matches_tandem(const Case& c, const nlohmann::json& line, const PeerOptions& o) {
  try {
    if (c.program == "primes") {
      std::vector<std::uint64_t> expected, got;
      for (auto n : o.numbers)
        if (is_prime(n)) expected.push_back(n);
      std::ranges::sort(expected);
      for (auto& p : line.at("primes")) got.push_back(parse_u64(p));
      return got == expected && parse_u64(line.at("checked")) == o.numbers.size();
    }
    if (c.program == "sumsq") return line.at("sum").get<std::string>() == to_string(sum_squares_formula(o.sumsq_n));
  } catch (const std::exception&) {
    return false;  // a missing or malformed answer is not tandem's
  }
  return nullptr;
}

nlohmann::json answer_of(const nlohmann::json& line) {
  nlohmann::json answer = nlohmann::json::object();
  for (auto& [key, value] : line.items())
    if (key != "peer" && key != "program" && key != "model" && key != "workers" && key != "seconds")
      answer[key] = value;
  return answer;
}

}  // namespace

nlohmann::json run_python_peers(const PeerOptions& options) {
  if (options.measure.runs == 0) throw std::invalid_argument("a measurement needs at least one run");
  const Interpreter interpreter = find_interpreter({.requested = options.interpreter});
  const fs::path dir = find_programs(options.programs_dir);
  nlohmann::json skipped = nlohmann::json::array();
  const auto cases = plan_cases(options, interpreter, skipped);

  // Rounds, not case after case: round r runs every case once (warmup rounds first), so that a load
  // that drifts during the minutes CPython takes (other programs starting or ending) lands on every
  // case alike instead of on whichever ran last — a speedup is a ratio of two cases' medians.
  const unsigned rounds = options.measure.warmup + options.measure.runs;
  const unsigned total = rounds * static_cast<unsigned>(cases.size());
  const auto t0 = std::chrono::steady_clock::now();
  unsigned done = 0;
  std::vector<std::vector<double>> seconds(cases.size()), warmup_seconds(cases.size());
  std::vector<nlohmann::json> last_line(cases.size());
  for (unsigned round = 0; round < rounds; ++round)
    for (std::size_t k = 0; k < cases.size(); ++k) {
      const PeerRun run = run_case(interpreter, dir, cases[k], options.run_timeout);
      (round < options.measure.warmup ? warmup_seconds : seconds)[k].push_back(run.wall_seconds);
      last_line[k] = run.line;
      if (options.progress) {
        ++done;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        options.progress(Progress{done, total, elapsed, elapsed / done * (total - done)});
      }
    }

  const Conditions conditions = current_conditions(cores());
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    const Stats stats = summarize(seconds[k]);
    nlohmann::json outliers = nlohmann::json::array();
    for (std::size_t i = 0; i < stats.outlier.size(); ++i)
      if (stats.outlier[i]) outliers.push_back(i);
    const auto& line = last_line[k];
    nlohmann::json row{{"program", c.program},
                       {"model", c.model},
                       {"workers", c.workers},
                       {"script", c.script},
                       {"runs_s", stats.seconds},
                       {"warmup_s", warmup_seconds[k]},
                       {"median_s", stats.median},
                       {"min_s", stats.min},
                       {"max_s", stats.max},
                       {"outliers", outliers},
                       {"speedup", nullptr},
                       {"warnings", warnings(stats, conditions)},
                       {"answer", answer_of(line)},
                       {"answer_matches_tandem", matches_tandem(c, line, options)}};
    if (row["answer_matches_tandem"] == false)
      row["warnings"].push_back(fmt::format("CPython's {} answered {}, not tandem's answer", c.script, row["answer"].dump()));
    out.push_back(std::move(row));
  }
  for (auto& row : out) {
    for (const auto& base : out)
      if (base["program"] == row["program"] && base["model"] == "sequential") {
        const double median = row["median_s"].get<double>();
        if (median > 0) row["speedup"] = base["median_s"].get<double>() / median;
      }
  }
  return {{"interpreter", interpreter.path}, {"version", interpreter.version}, {"cases", out}, {"skipped", skipped}};
}

nlohmann::json compare_speedup(const std::string& program, unsigned workers, const std::string& python_model,
                               double python_speedup, const std::string& tandem_model, double tandem_speedup) {
  const double difference = python_speedup > 0 ? std::abs(tandem_speedup - python_speedup) / python_speedup : INFINITY;
  const bool agrees = difference <= kAgreement;
  const std::string sentence = fmt::format(
      "{} on {} workers: CPython's {} {:.2f}x, tandem's {} {:.2f}x — {} ({:.0f} % apart; the bar is {:.0f} %).", program,
      workers, python_model, python_speedup, tandem_model, tandem_speedup,
      agrees ? "they agree" : "they do not agree", std::isfinite(difference) ? 100 * difference : 100.0,
      100 * kAgreement);
  return {{"program", program},
          {"workers", workers},
          {"python_model", python_model},
          {"tandem_model", tandem_model},
          {"python_speedup", python_speedup},
          {"tandem_speedup", tandem_speedup},
          {"difference", std::isfinite(difference) ? nlohmann::json(difference) : nlohmann::json(nullptr)},
          {"agrees", agrees},
          {"sentence", sentence}};
}

nlohmann::json compare_speedups(const nlohmann::json& python_section, const nlohmann::json& programs) {
  nlohmann::json rows = nlohmann::json::array();
  if (!python_section.is_object() || !programs.is_array()) return rows;
  auto tandem_speedup = [&](const std::string& program, const std::string& model,
                            unsigned workers) -> std::optional<double> {
    for (const auto& p : programs) {
      if (p.value("name", "") != program) continue;
      for (const char* list : {"cases", "sweep"}) {
        if (!p.contains(list)) continue;
        for (const auto& c : p[list])
          if (c.value("model", "") == model && c.value("workers", 0u) == workers && c.contains("speedup") &&
              c["speedup"].is_number())
            return c["speedup"].get<double>();
      }
    }
    return std::nullopt;
  };
  for (const auto& c : python_section.value("cases", nlohmann::json::array())) {
    const std::string model = c.value("model", "");
    if ((model != "threads" && model != "processes") || !c.contains("speedup") || !c["speedup"].is_number()) continue;
    const std::string tandem_model = model == "threads" ? "threads-gil" : "processes";
    const std::string program = c.value("program", "");
    const unsigned workers = c.value("workers", 0u);
    if (auto t = tandem_speedup(program, tandem_model, workers))
      rows.push_back(compare_speedup(program, workers, model, c["speedup"].get<double>(), tandem_model, *t));
  }
  return rows;
}

}  // namespace tandem::lab::python
