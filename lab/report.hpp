// lab/report.hpp — the lab's results as one self-contained HTML page (report.html).
//
// `tandem lab --out DIR` writes DIR/results.json and DIR/trace.json (the contract: the schema
// "tandem-lab/1" and the Chrome trace event format, described in docs/architecture.md, "The report");
// the report reads only those two files, so it can be rendered and tested from fixtures:
//
//   tandem::lab::write_report("out/results.json", "out/trace.json", "out/report.html");
//
// The page has, per program, a bar chart of the median time per model with min…max whiskers and the
// speedups; the workers sweep with the ideal (linear) line; a timeline per traced case (one lane per
// worker thread, worker process or event loop; the GIL's holds under threads-gil); the latency table
// beside the seed's figures; CPython's speedups beside tandem's when the lab ran them; and a "which
// model when" summary whose every sentence is computed from this run's numbers.
//
// It is self-contained: inline SVG and CSS, no script, no font or image to fetch. The SVG is drawn
// here, in C++, so the same files always give the same bytes. Elements carry stable classes and data
// attributes for tests and for readers' own scripts: `svg.chart.cases[data-program]` holds one
// `rect.bar[data-model]` and one `g.whisker[data-model]` per case, `svg.chart.sweep[data-program]`
// one `circle.point[data-model][data-workers]` per sweep entry and one `line.ideal`,
// `svg.timeline[data-pid]` one `g.lane[data-tid]` per lane, `table.latency` one `tr.latency-row`
// per row, `table.python` one `tr.python-row` per CPython case, `ul.summary` its `li.summary-line`s.
//
// Failure: a file that cannot be read, is not JSON, has another schema, or lacks a required field
// throws ReportError naming the file and the field (`results.json: programs[0].cases[1]: "median_s"
// is missing`). A missing optional section (no sweep, no latency rows, "python": null, no trace for a
// case) is left out of the page or says so; an empty traceEvents draws no timelines.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tandem::lab {

/// The results or the trace could not be read as the report needs them; the message names the file
/// and the field.
class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The HTML page for the texts of results.json and trace.json (an empty `trace_json` means no trace).
std::string render_report(std::string_view results_json, std::string_view trace_json);

/// Reads both files and writes the page to `html_out` (replaced if present).
void write_report(const std::filesystem::path& results_json, const std::filesystem::path& trace_json,
                  const std::filesystem::path& html_out);

}  // namespace tandem::lab
