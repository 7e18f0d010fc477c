// lab_report_render RESULTS_JSON TRACE_JSON OUT_HTML — lab::write_report as a command, for the
// browser test (tests/lab/report_browser.py), which renders the fixtures and loads the page in chromium.
#include <cstdio>
#include <exception>

#include "lab/report.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s RESULTS_JSON TRACE_JSON OUT_HTML\n", argv[0]);
    return 2;
  }
  try {
    tandem::lab::write_report(argv[1], argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lab_report_render: %s\n", e.what());
    return 2;
  }
  return 0;
}
