# The report (lab/report.hpp) is tested twice on the fixtures in tests/lab/fixtures/: its HTML by
# lab_report_test, and the page in a real browser by report_browser.py (label `browser`): Debian's
# chromium, headless, loads it, and the test counts the charts' elements in the DOM against
# results.json and trace.json, takes a screenshot, and fails on any console error or network request.
if(TARGET lab_report_test)
  target_compile_definitions(lab_report_test PRIVATE TANDEM_REPORT_FIXTURES="${CMAKE_CURRENT_LIST_DIR}/fixtures")
endif()
add_executable(lab_report_render ${CMAKE_CURRENT_LIST_DIR}/report_render.cpp)
target_link_libraries(lab_report_render PRIVATE tandem_lab tandem_warnings)
find_program(TANDEM_PYTHON3 NAMES python3)
if(TANDEM_PYTHON3)
  # Exit code 77 (chromium absent) marks the test skipped, with the reason in its output.
  add_test(NAME lab.report.browser
           COMMAND ${TANDEM_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/report_browser.py
                   --render $<TARGET_FILE:lab_report_render> --fixtures ${CMAKE_CURRENT_LIST_DIR}/fixtures
                   --out ${CMAKE_CURRENT_BINARY_DIR}/lab_report_browser)
  set_tests_properties(lab.report.browser PROPERTIES LABELS browser TIMEOUT 120 SKIP_RETURN_CODE 77)
else()
  message(STATUS "python3 not found: the report's browser test (lab.report.browser) is not added")
endif()
