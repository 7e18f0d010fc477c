// lab/report.hpp: report.html from results.json + trace.json (the fixtures in tests/lab/fixtures/).
// The page is counted by its stable classes and data attributes; the browser test
// (tests/lab/report_browser.py) checks the same counts in a real DOM.
#include "lab/report.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace {

using nlohmann::json;
using tandem::lab::render_report;
using tandem::lab::ReportError;

std::string read(const std::string& name) {
  std::ifstream in(std::string(TANDEM_REPORT_FIXTURES) + "/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json results_fixture() { return json::parse(read("results.json")); }
std::string trace_fixture() { return read("trace.json"); }

std::size_t count(const std::string& text, const std::string& pattern) {
  std::regex re(pattern);
  return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// The text of one element: from the opening tag that contains `marker` to the closing `</tag>`.
std::string element(const std::string& html, const std::string& marker, const std::string& tag) {
  auto at = html.find(marker);
  if (at == std::string::npos) return {};
  auto start = html.rfind("<" + tag, at);
  auto end = html.find("</" + tag + ">", at);
  return html.substr(start, end - start);
}

std::vector<std::string> summary_lines(const std::string& html) {
  std::vector<std::string> lines;
  std::regex re("<li class=\"summary-line\"[^>]*>([^<]*)</li>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), re); it != std::sregex_iterator(); ++it)
    lines.push_back((*it)[1]);
  return lines;
}

std::string render_report_error(const std::string& results, const std::string& trace) {
  try {
    render_report(results, trace);
  } catch (const ReportError& e) {
    return e.what();
  }
  return "no exception";
}

bool has_line(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

TEST(Report, EachProgramsChartHasOneBarAndOneWhiskerPerCase) {
  json results = results_fixture();
  std::string html = render_report(results.dump(), trace_fixture());
  for (const auto& program : results["programs"]) {
    std::string name = program["name"];
    std::string chart = element(html, "class=\"chart cases\" data-program=\"" + name + "\"", "svg");
    ASSERT_FALSE(chart.empty()) << name;
    EXPECT_EQ(count(chart, "<rect class=\"bar\""), program["cases"].size()) << name;
    EXPECT_EQ(count(chart, "<g class=\"whisker\""), program["cases"].size()) << name;
    for (const auto& c : program["cases"]) {
      std::string model = c["model"];
      EXPECT_EQ(count(chart, "<rect class=\"bar\" data-model=\"" + model + "\""), 1u) << name << " " << model;
    }
  }
}

TEST(Report, BarsAreAsLongAsTheirMediansAndWhiskersSpanMinToMax) {
  json results = results_fixture();
  std::string html = render_report(results.dump(), trace_fixture());
  std::string chart = element(html, "class=\"chart cases\" data-program=\"primes\"", "svg");
  std::regex bar("<rect class=\"bar\" data-model=\"([a-z-]+)\"[^>]* x=\"([0-9.]+)\"[^>]* width=\"([0-9.]+)\"");
  std::map<std::string, double> width;
  for (auto it = std::sregex_iterator(chart.begin(), chart.end(), bar); it != std::sregex_iterator(); ++it)
    width[(*it)[1]] = std::stod((*it)[3]);
  ASSERT_EQ(width.size(), 5u);
  // One scale for every bar: width / median is the same for each case (to the drawing's rounding).
  double per_second = width["sequential"] / 0.512;
  for (const auto& c : results["programs"][0]["cases"])
    EXPECT_NEAR(width[c["model"]] / per_second, c["median_s"].get<double>(), 0.002) << c["model"];
  // The whisker's horizontal line runs from min to max on the same scale.
  std::regex whisker("<g class=\"whisker\" data-model=\"sequential\"><line x1=\"([0-9.]+)\" x2=\"([0-9.]+)\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(chart, m, whisker));
  EXPECT_NEAR((std::stod(m[2]) - std::stod(m[1])) / per_second, 0.530 - 0.509, 0.002);
}

TEST(Report, SweepHasOnePointPerEntryAndTheIdealLine) {
  json results = results_fixture();
  std::string html = render_report(results.dump(), trace_fixture());
  std::string sweep = element(html, "class=\"chart sweep\" data-program=\"primes\"", "svg");
  EXPECT_EQ(count(sweep, "<circle class=\"point\""), results["programs"][0]["sweep"].size());
  EXPECT_EQ(count(sweep, "<circle class=\"point\" data-model=\"processes\" data-workers=\"3\""), 1u);
  EXPECT_EQ(count(sweep, "<line class=\"range\""), results["programs"][0]["sweep"].size());  // min…max as speedups
  EXPECT_EQ(count(sweep, "<line class=\"ideal\""), 2u);  // the line and its legend
  // download's sweep is empty: no chart, and nothing breaks.
  EXPECT_EQ(html.find("class=\"chart sweep\" data-program=\"download\""), std::string::npos);
}

TEST(Report, EachTracedCaseHasATimelineWithOneLanePerTid) {
  std::string html = render_report(results_fixture().dump(), trace_fixture());
  // pid → lanes in the fixture: threads, threads-gil and processes have two workers; coroutines one loop.
  std::map<int, std::size_t> lanes{{2, 2}, {3, 2}, {4, 2}, {5, 1}, {6, 1}};
  EXPECT_EQ(count(html, "<svg class=\"timeline\""), lanes.size());
  for (auto [pid, n] : lanes) {
    std::string timeline = element(html, "class=\"timeline\" data-pid=\"" + std::to_string(pid) + "\"", "svg");
    EXPECT_EQ(count(timeline, "<g class=\"lane\""), n) << pid;
    EXPECT_EQ(count(timeline, "<g class=\"lane\" data-tid=\"1\""), 1u) << pid;
  }
  // Only threads-gil holds a GIL; its strip shows the hand-offs, and the caption counts them.
  EXPECT_EQ(count(element(html, "data-pid=\"3\"", "svg"), "class=\"slice gil\""), 101u);
  EXPECT_EQ(count(element(html, "data-pid=\"2\"", "svg"), "class=\"slice gil\""), 0u);
  EXPECT_NE(html.find("the GIL changed hands 100 times in 101 holds (median hold 5.0 ms)"), std::string::npos);
  // The coroutine loop's steps of different tasks interleave in one lane: 40 steps, 40 rects.
  EXPECT_EQ(count(element(html, "data-pid=\"6\"", "svg"), "class=\"slice task\""), 40u);
}

TEST(Report, ThreadLanesRunInParallelAndTheLoopLaneDoesNot) {
  std::string html = render_report(results_fixture().dump(), trace_fixture());
  EXPECT_NE(html.find("primes · threads (2 workers) — 2 lanes, 16 task slices; two or more lanes busy at once 99%"),
            std::string::npos);
  EXPECT_NE(html.find("primes · coroutines (1 event loop) — 1 lane, 8 task slices</figcaption>"), std::string::npos);
}

TEST(Report, TextFromTheFilesIsEscaped) {
  json results = results_fixture();
  results["programs"][0]["title"] = "<script>alert('x')</script> & co";
  results["programs"][0]["cases"][1]["warnings"] = {"min \"0.01 s\" < 50 ms"};
  results["machine"]["cpu_model"] = "CPU <b>";
  std::string trace = trace_fixture();
  std::string html = render_report(results.dump(), trace);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), std::string::npos);
  EXPECT_NE(html.find("min &quot;0.01 s&quot; &lt; 50 ms"), std::string::npos);
  EXPECT_NE(html.find("CPU &lt;b&gt;"), std::string::npos);
}

TEST(Report, SummaryIsDerivedFromTheNumbers) {
  json results = results_fixture();
  std::string html = render_report(results.dump(), trace_fixture());
  auto lines = summary_lines(html);
  for (const char* text : {
           "Prime checker (CPU-bound): threads ×2 was fastest, 265.0 ms median, 1.93x over sequential; next "
           "processes ×2 at 271.0 ms (2% slower)",
           "threads-gil gave no speedup on primes (1.01x with 2 workers)",
           "In its traced run of primes the GIL changed hands 100 times in 101 holds, a median hold of 5.0 ms.",
           "threads-gil kept download&#39;s I/O concurrency (4.66x with 5 workers)",
           "coroutines gave no speedup on primes (0.99x)",
           "threads on primes peaked at 1.93x with 2 workers (97% of linear).",
           "primes threads on CPython gave 0.98x, tandem&#39;s threads-gil 1.01x (+3%): they agree within 15 %.",
           "download processes on CPython gave 1.59x, tandem&#39;s processes 1.97x (+24%): they differ",
           "The emulation agreed with CPython within 15 % on 3 of 4 comparisons.",
           "The machine was loaded (load average 0.31 → 2.31 on 2 cores)",
           "1 of 10 cases carried warnings",
           "I/O-bound work in this run: fastest was coroutines (download)."})
    EXPECT_TRUE(has_line(lines, text)) << text;

  // Make processes the fastest on primes and let threads-gil speed up: the sentences follow.
  auto& cases = results["programs"][0]["cases"];
  cases[3]["median_s"] = 0.200;
  cases[3]["min_s"] = 0.199;
  cases[3]["max_s"] = 0.205;
  cases[3]["speedup"] = 2.56;
  cases[2]["speedup"] = 1.6;
  results["machine"]["load_average_end"] = 0.5;
  auto changed = summary_lines(render_report(results.dump(), trace_fixture()));
  EXPECT_NE(changed, lines);
  for (const char* text : {
           "Prime checker (CPU-bound): processes ×2 was fastest, 200.0 ms median, 2.56x over sequential; "
           "next threads ×2 at 265.0 ms (32% slower).",
           "threads-gil gave 1.60x on primes with 2 workers, more than the 1.10x a GIL allows",
           "CPU-bound work in this run: fastest was processes (primes)."})
    EXPECT_TRUE(has_line(changed, text)) << text;
  EXPECT_FALSE(has_line(changed, "The machine was loaded"));
}

TEST(Report, OverlappingRangesAreSaidToBeIndistinguishable) {
  json results = results_fixture();
  results["programs"][0]["cases"][3]["min_s"] = 0.260;  // processes' fastest run beats threads' slowest
  auto lines = summary_lines(render_report(results.dump(), trace_fixture()));
  EXPECT_NE(lines[0].find("their min…max ranges overlap, so this run cannot tell them apart"), std::string::npos);
}

TEST(Report, LatencyAndPythonTablesHaveOneRowPerEntry) {
  json results = results_fixture();
  std::string html = render_report(results.dump(), trace_fixture());
  EXPECT_EQ(count(html, "<tr class=\"latency-row\">"), results["latency"].size());
  EXPECT_NE(html.find("<td>main memory reference</td><td>92.3 ns</td><td>90.8 ns…97.0 ns</td><td>100.0 ns</td><td>0.92x</td><td>268</td>"),
            std::string::npos);
  // seed_ns 0: a row the seed's table does not have.
  EXPECT_NE(html.find("<td>context switch between two threads</td><td>2.41 µs</td><td>2.29 µs…2.65 µs</td><td>–</td><td>–</td>"),
            std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"python-row\""), results["python"]["cases"].size());
  EXPECT_EQ(count(html, "<td class=\"agree\">agrees"), 3u);
  EXPECT_EQ(count(html, "<td class=\"differ\">differs"), 1u);
}

TEST(Report, EachWarningIsSaidOnceNamingItsCasesAndRunWarningsOnlyAtTheTop) {
  json results = results_fixture();
  std::string load = "the load average (2.31) exceeds the 2 cores";
  results["warnings"] = {load};
  results["latency_warnings"] = {load, "'L1 cache reference': the slowest batch took 2.1x as long as the fastest"};
  auto& cases = results["programs"][0]["cases"];
  cases[0]["warnings"] = {load, "a run took 4.0 ms: under 50 ms"};
  cases[1]["warnings"] = {"a run took 4.0 ms: under 50 ms", load};
  std::string html = render_report(results.dump(), trace_fixture());
  EXPECT_EQ(occurrences(html, "<li>" + load + "</li>"), 1u);
  EXPECT_EQ(occurrences(html, load), 1u);
  EXPECT_EQ(occurrences(html, "<li>sequential, threads ×2: a run took 4.0 ms: under 50 ms</li>"), 1u);
  std::string latency = element(html, "<section class=\"latency\"", "section");
  EXPECT_NE(latency.find("<li>&#39;L1 cache reference&#39;: the slowest batch took 2.1x"), std::string::npos);
}

TEST(Report, CPythonIsComparedAtTheSameWidthOnlyAndANullSpeedupIsNotAFigure) {
  json results = results_fixture();
  auto& py = results["python"]["cases"];
  py[2]["workers"] = 4;        // primes processes: tandem's case ran 2 workers, its sweep 1 to 4
  py[3]["workers"] = 3;        // download threads: tandem ran 5, and has no sweep
  py[4]["speedup"] = nullptr;  // download processes: no CPython sequential to divide by
  py[4]["warnings"] = {"CPython's procs.py answered 7, not tandem's answer"};
  std::string html = render_report(results.dump(), trace_fixture());
  std::string table = element(html, "<table class=\"python\"", "table");
  EXPECT_NE(table.find("<td>primes</td><td>processes</td><td>4</td><td>3.11 s</td><td>1.90x</td><td>processes</td>"
                       "<td>1.88x</td><td class=\"agree\">agrees (-1%)</td>"),
            std::string::npos);  // the sweep's 4-worker entry
  EXPECT_NE(table.find("<td>download</td><td>threads</td><td>3</td><td>419.0 ms</td><td>4.92x</td><td>threads-gil</td>"
                       "<td>not measured</td>"),
            std::string::npos);
  EXPECT_NE(table.find("<td>download</td><td>processes</td><td>2</td><td>1.30 s</td><td>–</td>"), std::string::npos);
  EXPECT_NE(html.find("<li>CPython download processes: CPython&#39;s procs.py answered 7, not tandem&#39;s answer</li>"),
            std::string::npos);
  EXPECT_TRUE(has_line(summary_lines(html), "The emulation agreed with CPython within 15 % on 2 of 2 comparisons."));
}

TEST(Report, MissingSectionsAreLeftOutOrSaidSo) {
  json results = results_fixture();
  results["python"] = nullptr;
  results["latency"] = json::array();
  results.erase("machine");
  results["programs"][1]["cases"] = json::array();
  std::string html = render_report(results.dump(), "");
  EXPECT_EQ(html.find("class=\"python\""), std::string::npos);
  EXPECT_NE(html.find("This run measured no latency rows."), std::string::npos);
  EXPECT_NE(html.find("No case was measured."), std::string::npos);
  EXPECT_EQ(count(html, "<svg class=\"timeline\""), 0u);
  EXPECT_NE(html.find("trace.json has no events for pid 2."), std::string::npos);
  EXPECT_EQ(count(html, "<rect class=\"bar\""), 5u);
}

TEST(Report, MalformedInputThrowsNamingTheFileAndTheField) {
  auto message = render_report_error;
  std::string trace = trace_fixture();
  EXPECT_NE(message("{\"schema\": ", trace).find("results.json: not valid JSON"), std::string::npos);
  EXPECT_EQ(message("{\"schema\": \"tandem-lab/9\"}", trace),
            "results.json: schema: is \"tandem-lab/9\"; this report reads \"tandem-lab/1\"");
  json results = results_fixture();
  results["programs"][0]["cases"][1].erase("median_s");
  EXPECT_EQ(message(results.dump(), trace), "results.json: programs[0].cases[1]: \"median_s\" is missing");
  results = results_fixture();
  results["programs"][1]["cases"][0]["trace_pid"] = "seven";
  EXPECT_EQ(message(results.dump(), trace),
            "results.json: programs[1].cases[0].trace_pid: expected an integer (a number or a string of digits)");
  EXPECT_NE(message(results_fixture().dump(), "[{\"ph\":\"X\"}]").find("trace.json: [0]: \"pid\" is missing"),
            std::string::npos);
  EXPECT_NE(message(results_fixture().dump(), "{\"traceEvents\": [").find("trace.json: not valid JSON"), std::string::npos);
}

TEST(Report, IntegersWrittenAsStringsAreRead) {
  json results = results_fixture();
  results["runs"] = "5";
  results["programs"][0]["cases"][1]["workers"] = "2";
  results["programs"][0]["cases"][1]["trace_pid"] = "2";
  std::string html = render_report(results.dump(), trace_fixture());
  EXPECT_NE(html.find("5 runs per case"), std::string::npos);
  EXPECT_EQ(count(html, "<svg class=\"timeline\" data-pid=\"2\""), 1u);
}

TEST(Report, TheTraceMayBeTheBareEventsArrayAndOtherKeysAreNotEvents) {
  json results = results_fixture();
  json trace = json::parse(trace_fixture());
  std::string from_object = render_report(results.dump(), trace.dump());
  EXPECT_EQ(render_report(results.dump(), trace["traceEvents"].dump()), from_object);
  // An object one level down under another key looks like an event by depth, but is not one.
  trace["otherData"]["nested"] = {{"ph", "X"}, {"pid", 2}, {"tid", 9}, {"ts", 0}, {"dur", 1}, {"name", "not a task"}};
  EXPECT_EQ(render_report(results.dump(), trace.dump()), from_object);
  trace["traceEvents"].push_back(7);
  std::string last = std::to_string(trace["traceEvents"].size() - 1);
  EXPECT_EQ(render_report_error(results.dump(), trace.dump()), "trace.json: traceEvents[" + last + "]: expected an object");
}

TEST(Report, SameInputGivesTheSameBytes) {
  std::string a = render_report(results_fixture().dump(), trace_fixture());
  EXPECT_EQ(a, render_report(results_fixture().dump(), trace_fixture()));
}

TEST(Report, WriteReportWritesTheFileAndNamesAMissingInput) {
  auto dir = std::filesystem::temp_directory_path() / ("tandem-report-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string fixtures = TANDEM_REPORT_FIXTURES;
  auto out = dir / "report.html";
  tandem::lab::write_report(fixtures + "/results.json", fixtures + "/trace.json", out);
  EXPECT_EQ(read("results.json").empty(), false);
  EXPECT_GT(std::filesystem::file_size(out), 10000u);
  try {
    tandem::lab::write_report(dir / "absent.json", fixtures + "/trace.json", out);
    ADD_FAILURE() << "no exception";
  } catch (const ReportError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.json: cannot open it for reading"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
