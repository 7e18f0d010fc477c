// The seeds' Python programs on CPython: found, run, measured, and answering what tandem answers.
#include "lab/python_peers.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "lab/primes.hpp"
#include "lab/sites.hpp"
#include "lab/sumsq.hpp"

namespace py = tandem::lab::python;
namespace fs = std::filesystem;

namespace {

// The tests that run CPython skip where there is none (the error itself is tested below).
std::optional<py::Interpreter> interpreter() {
  try {
    return py::find_interpreter();
  } catch (const py::InterpreterNotFound&) {
    return std::nullopt;
  }
}

#define REQUIRE_PYTHON()                                                          \
  if (!interpreter()) GTEST_SKIP() << "no python3 3.9+ here: the peers cannot run"

// A folder of fake programs, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    char name[] = "/tmp/tandem-python-peers-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() { fs::remove_all(path); }
  void write(const std::string& file, const std::string& text) const { std::ofstream(path / file) << text; }
};

// Primes small enough for CPython to check in milliseconds, with primes and composites among them.
const std::vector<std::uint64_t> kSmallNumbers = {2, 9, 97, 1'000'003, 1'000'004, 999'999'937, 1'000'000'007};

}  // namespace

TEST(PythonPeers, TinyRunHasTheShapeOfTheLabSchemasPythonSection) {
  REQUIRE_PYTHON();
  py::PeerOptions o;
  o.numbers = kSmallNumbers;
  o.sumsq_n = 10'000;
  o.workers = {1, 2};
  o.measure = {.runs = 2, .warmup = 1};
  unsigned progress_calls = 0;
  o.progress = [&](const tandem::lab::Progress& p) {
    ++progress_calls;
    EXPECT_LE(p.done, p.total);
  };
  const auto section = py::run_python_peers(o);
  EXPECT_FALSE(section["interpreter"].get<std::string>().empty());
  EXPECT_EQ(section["version"].get<std::string>().substr(0, 2), "3.");
  // primes and sumsq: sequential, then threads and processes on 1 and 2 workers.
  const auto& cases = section["cases"];
  ASSERT_EQ(cases.size(), 10u);
  EXPECT_EQ(progress_calls, 10u * 3);
  EXPECT_EQ(cases[0]["program"], "primes");
  EXPECT_EQ(cases[0]["model"], "sequential");
  EXPECT_EQ(cases[0]["speedup"], 1.0);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dump());
    EXPECT_EQ(c["runs_s"].size(), 2u);
    EXPECT_EQ(c["warmup_s"].size(), 1u);
    EXPECT_LE(c["min_s"].get<double>(), c["median_s"].get<double>());
    EXPECT_LE(c["median_s"].get<double>(), c["max_s"].get<double>());
    EXPECT_GT(c["min_s"].get<double>(), 0.0);
    EXPECT_TRUE(c["speedup"].is_number());
    EXPECT_TRUE(c["warnings"].is_array());
    EXPECT_EQ(c["answer_matches_tandem"], true);
  }
  EXPECT_EQ(cases[4]["model"], "processes");
  EXPECT_EQ(cases[4]["workers"], 2);
  EXPECT_EQ(cases[4]["script"], "primes_procs.py");
  // The downloaders were not given a URL: skipped, with the reason.
  ASSERT_EQ(section["skipped"].size(), 1u);
  EXPECT_EQ(section["skipped"][0]["program"], "download");
  EXPECT_NE(section["skipped"][0]["reason"].get<std::string>().find("no URL"), std::string::npos);
}

TEST(PythonPeers, CPythonsPrimesAreTandemsPrimes) {
  REQUIRE_PYTHON();
  py::PeerOptions o;
  o.numbers = kSmallNumbers;
  o.workers = {2};
  o.programs = {"primes"};
  o.measure = {.runs = 1};
  const auto section = py::run_python_peers(o);
  std::vector<std::string> tandem_primes;
  auto run = tandem::lab::check_sequential(kSmallNumbers);
  for (const auto& r : run.results)
    if (r.prime) tandem_primes.push_back(std::to_string(r.n));
  ASSERT_EQ(tandem_primes.size(), 5u);  // 2, 97, 1000003, 999999937, 1000000007
  ASSERT_EQ(section["cases"].size(), 3u);
  for (const auto& c : section["cases"]) {
    EXPECT_EQ(c["answer"]["checked"], std::to_string(kSmallNumbers.size())) << c["model"];
    EXPECT_EQ(c["answer"]["primes"].get<std::vector<std::string>>(), tandem_primes) << c["model"];
  }
}

TEST(PythonPeers, CPythonsSumOfSquaresIsTandemsWithTheSeedsLastElementKept) {
  REQUIRE_PYTHON();
  py::PeerOptions o;
  o.sumsq_n = 100'003;  // not a multiple of the workers: the last part takes the remainder
  o.workers = {3};
  o.programs = {"sumsq"};
  o.measure = {.runs = 1};
  const auto section = py::run_python_peers(o);
  const auto tandem_sum = tandem::lab::to_string(tandem::lab::sumsq_sequential(o.sumsq_n).sum);
  ASSERT_EQ(section["cases"].size(), 3u);
  for (const auto& c : section["cases"]) {
    EXPECT_EQ(c["answer"]["sum"], tandem_sum) << c["model"];
    EXPECT_NE(c["answer"]["sum"], tandem::lab::to_string(tandem::lab::seed_sum_squares(o.sumsq_n)));
  }
}

TEST(PythonPeers, CPythonsDownloadersReadTheBytesTandemServes) {
  REQUIRE_PYTHON();
  if (!interpreter()->missing_modules.empty()) GTEST_SKIP() << interpreter()->path << " lacks requests or aiohttp";
  tandem::lab::FixtureServer sites;
  py::PeerOptions o;
  o.download_urls = {sites.url() + "/jython", sites.url() + "/dice"};
  o.download_sites = 20;  // the seed's list: its two sites, ten times
  o.workers = {2};
  o.download_workers = {5};  // the seed's max_workers=5
  o.programs = {"download"};
  o.measure = {.runs = 1};
  const auto section = py::run_python_peers(o);
  ASSERT_EQ(section["cases"].size(), 4u);
  std::vector<std::string> models;
  for (const auto& c : section["cases"]) {
    models.push_back(c["model"]);
    EXPECT_EQ(c["answer"]["sites"], "20");
    EXPECT_EQ(c["answer"]["bytes"], std::to_string(10 * (tandem::lab::kJythonSize + tandem::lab::kDiceSize)));
    EXPECT_TRUE(c["answer_matches_tandem"].is_null());
  }
  EXPECT_EQ(models, (std::vector<std::string>{"sequential", "threads", "processes", "coroutines"}));
  EXPECT_EQ(section["cases"][1]["workers"], 5);
}

TEST(PythonPeers, TheDownloadersAreSkippedWithTheReasonWhenTheirModulesAreMissing) {
  REQUIRE_PYTHON();
  // The same Python without its site-packages (-S): requests and aiohttp are not importable.
  TempDir dir;
  dir.write("python3", "#!/bin/sh\nexec " + interpreter()->path + " -S \"$@\"\n");
  fs::permissions(dir.path / "python3", fs::perms::owner_all);
  py::PeerOptions o;
  o.interpreter = (dir.path / "python3").string();
  o.download_urls = {"http://127.0.0.1:1/dice"};
  o.programs = {"download"};
  const auto section = py::run_python_peers(o);
  EXPECT_TRUE(section["cases"].empty());
  ASSERT_EQ(section["skipped"].size(), 1u);
  EXPECT_EQ(section["skipped"][0]["reason"],
            *o.interpreter + " lacks requests and aiohttp (Debian: apt-get install python3-requests python3-aiohttp)");
}

TEST(PythonPeers, RunsGoInRoundsSoThatADriftingLoadWeighsOnEveryCaseAlike) {
  REQUIRE_PYTHON();
  TempDir dir;
  const std::string fake =
      "import json, os, sys\n"
      "with open(os.path.join(os.path.dirname(__file__), 'log'), 'a') as log:\n"
      "    log.write(os.path.basename(__file__) + '\\n')\n"
      "print(json.dumps({'peer': 'tandem-python/1', 'program': 'primes', 'model': 'm', 'workers': 1,\n"
      "                  'seconds': 0.25, 'checked': '1', 'primes': ['2']}))\n";
  for (const char* script : {"primes_sequential.py", "primes_threads.py", "primes_procs.py"}) dir.write(script, fake);
  py::PeerOptions o;
  o.programs_dir = dir.path.string();
  o.numbers = {2};
  o.models = {"threads"};
  o.measure = {.runs = 2, .warmup = 1};
  const auto section = py::run_python_peers(o);
  std::ifstream log(dir.path / "log");
  std::vector<std::string> order;
  for (std::string line; std::getline(log, line);) order.push_back(line);
  EXPECT_EQ(order, (std::vector<std::string>{"primes_sequential.py", "primes_threads.py", "primes_sequential.py",
                                             "primes_threads.py", "primes_sequential.py", "primes_threads.py"}));
  ASSERT_EQ(section["cases"].size(), 2u);  // procs.py was not asked for
  EXPECT_EQ(section["cases"][1]["runs_s"], (nlohmann::json{0.25, 0.25}));
  EXPECT_EQ(section["cases"][1]["warmup_s"], (nlohmann::json{0.25}));
  EXPECT_EQ(section["cases"][1]["speedup"], 1.0);
  o.measure.runs = 0;
  EXPECT_THROW(py::run_python_peers(o), std::invalid_argument);
}

TEST(PythonPeers, AMissingInterpreterIsAClearError) {
  try {
    py::find_interpreter({.requested = "/nonexistent/python3"});
    FAIL() << "no error";
  } catch (const py::InterpreterNotFound& e) {
    EXPECT_STREQ(e.what(), "the Python interpreter /nonexistent/python3 does not exist");
  }
  TempDir empty;
  try {
    py::find_interpreter({.fixed = {"/nonexistent/python3"}, .path_env = empty.path.string()});
    FAIL() << "no error";
  } catch (const py::InterpreterNotFound& e) {
    EXPECT_STREQ(e.what(),
                 "no usable Python interpreter: tried /nonexistent/python3, python3 on PATH (install python3, or name one)");
  }
  try {
    py::find_interpreter({.requested = "python3.0-nonexistent", .path_env = empty.path.string()});
    FAIL() << "no error";
  } catch (const py::InterpreterNotFound& e) {
    EXPECT_STREQ(e.what(), "the Python interpreter python3.0-nonexistent is not on PATH");
  }
  py::PeerOptions o;
  o.interpreter = "/nonexistent/python3";
  o.numbers = {2};
  EXPECT_THROW(py::run_python_peers(o), py::InterpreterNotFound);
}

TEST(PythonPeers, ABareInterpreterNameIsLookedUpOnPath) {
  REQUIRE_PYTHON();
  const fs::path real = interpreter()->path;
  const auto found = py::find_interpreter({.requested = real.filename().string(),
                                           .path_env = "/nonexistent:" + real.parent_path().string()});
  EXPECT_EQ(found.path, real.string());
}

TEST(PythonPeers, AnInterpreterThatIsNotPythonIsRefusedWithTheReason) {
  TempDir dir;
  dir.write("python3", "#!/bin/sh\necho 2.7.18; exit 0\n");
  fs::permissions(dir.path / "python3", fs::perms::owner_all);
  try {
    py::find_interpreter({.requested = (dir.path / "python3").string()});
    FAIL() << "no error";
  } catch (const py::InterpreterNotFound& e) {
    EXPECT_NE(std::string(e.what()).find("is Python 2.7.18; the seeds' programs need 3.9 or later"), std::string::npos)
        << e.what();
  }
}

TEST(PythonPeers, ProgramsAreFoundInTheBuildTreeAndBesideAnInstalledTandem) {
  const auto dirs = py::program_dirs(std::nullopt, "/opt/tandem/bin/tandem");
  ASSERT_FALSE(dirs.empty());
  EXPECT_EQ(dirs.front(), fs::path("/opt/tandem/share/tandem/python"));
  const fs::path found = py::find_programs();  // this test binary runs in the build tree
  EXPECT_TRUE(fs::is_regular_file(found / "primes_procs.py"));
  EXPECT_TRUE(fs::is_regular_file(found / "sumsq.py"));
  EXPECT_EQ(py::program_dirs(std::string("/somewhere"), "/opt/tandem/bin/tandem"),
            std::vector<fs::path>{"/somewhere"});
  try {
    py::find_programs(std::string("/nonexistent/peers"));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "the seeds' Python programs (primes_sequential.py, ...) are not in /nonexistent/peers");
  }
}

TEST(PythonPeers, AProgramThatFailsOrPrintsNoResultNamesItself) {
  REQUIRE_PYTHON();
  TempDir dir;
  py::PeerOptions o;
  o.programs_dir = dir.path.string();
  o.numbers = {2};
  o.measure = {.runs = 1};
  dir.write("primes_sequential.py", "import sys\nprint('boom', file=sys.stderr)\nsys.exit(3)\n");
  try {
    py::run_python_peers(o);
    FAIL() << "no error";
  } catch (const py::PeerFailed& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("primes_sequential.py 2 exited with 3: boom"), std::string::npos) << what;
  }
  dir.write("primes_sequential.py", "print('Total time: 0.01s')\n");
  try {
    py::run_python_peers(o);
    FAIL() << "no error";
  } catch (const py::PeerFailed& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("did not end its output with a tandem-python/1 JSON line; its last line: Total time: 0.01s"),
              std::string::npos)
        << what;
  }
}

TEST(PythonPeers, ARunLongerThanTheTimeoutIsKilledAndNamed) {
  REQUIRE_PYTHON();
  TempDir dir;
  dir.write("primes_sequential.py", "import time\ntime.sleep(60)\n");
  py::PeerOptions o;
  o.programs_dir = dir.path.string();
  o.numbers = {2};
  o.measure = {.runs = 1};
  o.run_timeout = std::chrono::seconds(1);
  try {
    py::run_python_peers(o);
    FAIL() << "no error";
  } catch (const py::PeerFailed& e) {
    EXPECT_NE(std::string(e.what()).find("ran longer than 1 s and was killed"), std::string::npos) << e.what();
  }
}

TEST(PythonPeers, SpeedupsAreComparedWithTandemsForTheSameProgramAndWorkers) {
  const nlohmann::json python = {
      {"cases",
       {{{"program", "primes"}, {"model", "sequential"}, {"workers", 1}, {"speedup", 1.0}},
        {{"program", "primes"}, {"model", "threads"}, {"workers", 2}, {"speedup", 0.98}},
        {{"program", "primes"}, {"model", "processes"}, {"workers", 2}, {"speedup", 1.90}},
        {{"program", "sumsq"}, {"model", "threads"}, {"workers", 2}, {"speedup", 1.0}}}}};
  const nlohmann::json programs = {
      {{"name", "primes"},
       {"cases",
        {{{"model", "sequential"}, {"workers", 1}, {"speedup", 1.0}},
         {{"model", "threads-gil"}, {"workers", 2}, {"speedup", 1.05}},
         {{"model", "threads"}, {"workers", 2}, {"speedup", 1.95}}}},
       {"sweep", {{{"model", "processes"}, {"workers", 2}, {"speedup", 1.4}}}}}};
  const auto rows = py::compare_speedups(python, programs);
  ASSERT_EQ(rows.size(), 2u);  // sumsq has no tandem counterpart here
  EXPECT_EQ(rows[0]["tandem_model"], "threads-gil");
  EXPECT_EQ(rows[0]["tandem_speedup"], 1.05);
  EXPECT_EQ(rows[0]["agrees"], true);
  EXPECT_EQ(rows[0]["sentence"],
            "primes on 2 workers: CPython's threads 0.98x, tandem's threads-gil 1.05x — they agree (7 % apart; the bar "
            "is 15 %).");
  EXPECT_EQ(rows[1]["python_model"], "processes");
  EXPECT_EQ(rows[1]["tandem_speedup"], 1.4);
  EXPECT_EQ(rows[1]["agrees"], false);
  EXPECT_NEAR(rows[1]["difference"].get<double>(), 0.5 / 1.9, 1e-12);
  EXPECT_TRUE(py::compare_speedups(nullptr, programs).empty());
}
