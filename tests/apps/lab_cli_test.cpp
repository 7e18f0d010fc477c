// `tandem lab`: the files it writes have the contract's shape, every case has its runs, and bad input
// is refused with exit code 2 before anything runs. Inputs are the hidden tiny size: no timing is
// asserted.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "support/shell.hpp"

namespace {

using json = nlohmann::json;
using tandem::testing::Outcome;
using tandem::testing::shell;

const std::string& kTandem = tandem::testing::kTandemCli;

class LabCli : public testing::Test {
 protected:
  void SetUp() override {
#ifndef TANDEM_CLI
    GTEST_SKIP() << "the CLI is not part of this build (TANDEM_BUILD_APPS=OFF)";
#endif
    dir_ = std::filesystem::temp_directory_path() / ("tandem-lab-test-" + std::to_string(::getpid()) + "-" +
                                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Outcome lab(const std::string& args, bool merge_stderr = true) {
    return shell(kTandem + " lab " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null") + " </dev/null");
  }
  static json read(const std::filesystem::path& p) {
    std::ifstream in(p);
    return json::parse(in);
  }
  std::filesystem::path dir_;
};

void expect_results_shape(const json& r, unsigned runs) {
  EXPECT_EQ(r["schema"], "tandem-lab/1");
  EXPECT_TRUE(r["tandem_version"].get<std::string>().starts_with("tandem "));
  EXPECT_TRUE(r["created"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(r["runs"], runs);
  EXPECT_EQ(r["warmup"], 0);
  EXPECT_GE(r["machine"]["cores"].get<int>(), 1);
  EXPECT_TRUE(r["machine"]["cpu_model"].is_string());
  EXPECT_TRUE(r["python"].is_null());
  std::map<std::string, std::set<std::string>> models;
  for (const auto& p : r["programs"]) {
    const std::string name = p["name"];
    EXPECT_TRUE(p["kind"] == "cpu" || p["kind"] == "io") << name;
    ASSERT_FALSE(p["cases"].empty()) << name;
    EXPECT_EQ(p["cases"][0]["model"], "sequential") << name;
    EXPECT_EQ(p["cases"][0]["speedup"], 1.0) << name;
    for (const auto& c : p["cases"]) {
      models[name].insert(c["model"]);
      ASSERT_EQ(c["runs_s"].size(), runs) << name << " " << c["model"];
      for (const auto& s : c["runs_s"]) EXPECT_GE(s.get<double>(), 0.0);
      EXPECT_LE(c["min_s"].get<double>(), c["median_s"].get<double>());
      EXPECT_LE(c["median_s"].get<double>(), c["max_s"].get<double>());
      EXPECT_TRUE(c["speedup"].is_number());
      EXPECT_TRUE(c["warnings"].is_array());
      EXPECT_GE(c["workers"].get<int>(), 1);
    }
  }
  const std::set<std::string> pool_models{"sequential", "threads", "threads-gil", "processes", "coroutines"};
  EXPECT_EQ(models["primes"], pool_models);
  EXPECT_EQ(models["sumsq"], (std::set<std::string>{"sequential", "threads", "threads-gil", "processes"}));
  EXPECT_EQ(models["spinner"], pool_models);
  EXPECT_EQ(models["download"], (std::set<std::string>{"sequential", "threads", "processes", "coroutines"}));
  // The primes sweep: threads and processes from 1 worker up.
  const auto& sweep = r["programs"][0]["sweep"];
  ASSERT_FALSE(sweep.empty());
  for (const auto& e : sweep) {
    EXPECT_GE(e["workers"].get<int>(), 1);
    EXPECT_EQ(e["runs_s"].size(), runs);
    EXPECT_TRUE(e["speedup"].is_number());
  }
  ASSERT_FALSE(r["latency"].empty());
  for (const auto& row : r["latency"]) {
    EXPECT_TRUE(row["name"].is_string());
    EXPECT_TRUE(row["median_ns"].is_number());
    EXPECT_LE(row["min_ns"].get<double>(), row["max_ns"].get<double>());
  }
}

TEST_F(LabCli, WritesResultsAndTraceWithEveryCaseAndItsTimeline) {
  auto out = lab("--size tiny --runs 2 --warmup 0 --workers 2 --out " + dir_.string());
  ASSERT_EQ(out.code, 0) << out.out;
  EXPECT_NE(out.out.find("results.json"), std::string::npos) << out.out;
  const json r = read(dir_ / "results.json");
  const json t = read(dir_ / "trace.json");
  expect_results_shape(r, 2);

  // Every trace_pid names a process of the trace, whose slices sit on tids >= 1.
  std::map<int, std::string> process_names;
  std::map<int, std::set<int>> named_tids, slice_tids;
  std::map<int, std::set<std::string>> cats;
  for (const auto& e : t["traceEvents"]) {
    const int pid = e["pid"];
    if (e["ph"] == "M" && e["name"] == "process_name") process_names[pid] = e["args"]["name"];
    if (e["ph"] == "M" && e["name"] == "thread_name") named_tids[pid].insert(e["tid"].get<int>());
    if (e["ph"] == "X") {
      slice_tids[pid].insert(e["tid"].get<int>());
      cats[pid].insert(e["cat"]);
      EXPECT_TRUE(e["ts"].is_number() && e["dur"].is_number());
    }
  }
  EXPECT_EQ(t["otherData"]["schema"], "tandem-trace/1");
  int traced = 0;
  for (const auto& p : r["programs"]) {
    for (const auto& c : p["cases"]) {
      if (!c.contains("trace_pid")) continue;
      ++traced;
      const int pid = c["trace_pid"];
      ASSERT_TRUE(process_names.count(pid)) << pid;
      EXPECT_NE(process_names[pid].find(c["model"].get<std::string>()), std::string::npos) << process_names[pid];
      EXPECT_FALSE(slice_tids[pid].empty()) << process_names[pid];
      EXPECT_EQ(slice_tids[pid], named_tids[pid]) << process_names[pid];
      EXPECT_EQ(slice_tids[pid].count(0), 0u);
      EXPECT_LE(static_cast<int>(slice_tids[pid].size()), c["workers"].get<int>());
      if (c["model"] == "threads-gil") {
        EXPECT_TRUE(cats[pid].count("gil")) << process_names[pid];
      }
      if (c["model"] == "coroutines") {
        EXPECT_EQ(slice_tids[pid].size(), 1u);  // the loop's one lane
      }
    }
  }
  EXPECT_EQ(traced, 14);  // primes under 5 models, sumsq 4, the spinner under coroutines, download 4
  EXPECT_EQ(static_cast<int>(process_names.size()), traced);

  // The report is written from the two files: one bar per case, one timeline per traced case.
  std::ifstream in(dir_ / "report.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = html.find(needle); at != std::string::npos; at = html.find(needle, at + 1)) ++n;
    return n;
  };
  std::size_t cases = 0;
  for (const auto& p : r["programs"]) cases += p["cases"].size();
  EXPECT_EQ(count("<rect class=\"bar\""), cases);
  EXPECT_EQ(count("class=\"timeline\""), static_cast<std::size_t>(traced));
}

// --python: the seeds' Python programs ran on CPython, their answers matched tandem's, and the report
// shows them beside tandem's speedups.
TEST_F(LabCli, PythonRunsTheSeedsProgramsOnCPythonAndComparesTheSpeedups) {
  if (shell("command -v python3 >/dev/null || test -x /usr/bin/python3").code != 0)
    GTEST_SKIP() << "no python3 on this machine";
  auto out = lab("--size tiny --runs 1 --warmup 0 --workers 2 --python --out " + dir_.string());
  ASSERT_EQ(out.code, 0) << out.out;
  const json r = read(dir_ / "results.json");
  const json& py = r["python"];
  ASSERT_TRUE(py.is_object()) << out.out;
  std::set<std::string> programs;
  for (const auto& c : py["cases"]) {
    programs.insert(c["program"]);
    if (!c["answer_matches_tandem"].is_null()) {
      EXPECT_TRUE(c["answer_matches_tandem"].get<bool>()) << c.dump();
    }
  }
  EXPECT_TRUE(programs.count("primes") && programs.count("sumsq")) << py.dump();
  ASSERT_FALSE(py["comparison"].empty()) << py.dump();
  for (const auto& row : py["comparison"]) EXPECT_TRUE(row["sentence"].is_string());
  EXPECT_TRUE(py["inputs"]["primes_numbers"].is_array());
  std::ifstream in(dir_ / "report.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("CPython"), std::string::npos);
}

TEST_F(LabCli, JsonPrintsResultsJsonOnStdout) {
  auto out = lab("--size tiny --runs 1 --warmup 0 --json --out " + dir_.string(), /*merge_stderr=*/false);
  ASSERT_EQ(out.code, 0) << out.out;
  const json printed = json::parse(out.out);
  EXPECT_EQ(printed, read(dir_ / "results.json"));
  expect_results_shape(printed, 1);
}

TEST_F(LabCli, BadInputExitsTwoWithAMessageBeforeRunning) {
  // --out under a regular file: the directory cannot be made.
  std::filesystem::create_directories(dir_);
  { std::ofstream(dir_ / "file") << "x"; }
  auto out = lab("--size tiny --out " + (dir_ / "file" / "sub").string());
  EXPECT_EQ(out.code, 2) << out.out;
  EXPECT_NE(out.out.find("--out"), std::string::npos) << out.out;
  out = lab("--size tiny --out " + (dir_ / "file").string());
  EXPECT_EQ(out.code, 2) << out.out;
  EXPECT_NE(out.out.find("directory"), std::string::npos) << out.out;

  out = lab("--size tiny --runs 0 --out " + dir_.string());
  EXPECT_EQ(out.code, 2) << out.out;
  EXPECT_NE(out.out.find("--runs"), std::string::npos) << out.out;
  out = lab("--size tiny --workers 0 --out " + dir_.string());
  EXPECT_EQ(out.code, 2) << out.out;
  out = lab("--quick --size tiny --out " + dir_.string());
  EXPECT_EQ(out.code, 2) << out.out;
  out = lab("--size huge --out " + dir_.string());
  EXPECT_EQ(out.code, 2) << out.out;
  EXPECT_NE(out.out.find("full,quick,tiny"), std::string::npos) << out.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "results.json"));
}

TEST_F(LabCli, NoProgressLineWhenStderrIsNotATerminal) {
  auto out = lab("--size tiny --runs 1 --warmup 0 --out " + dir_.string());
  ASSERT_EQ(out.code, 0) << out.out;
  EXPECT_EQ(out.out.find('\r'), std::string::npos);
}

}  // namespace
