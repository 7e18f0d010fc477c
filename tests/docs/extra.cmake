# Every ```cpp block of README.md is a program that must compile and link against tandem: each becomes
# a target of the build (readme_snippet_<n>), so a snippet that stops compiling fails the build, and
# ctest runs each one (they are small and end by themselves).
file(READ ${PROJECT_SOURCE_DIR}/README.md TANDEM_README)
string(REPLACE ";" "@SEMICOLON@" TANDEM_README "${TANDEM_README}")  # CMake lists split at ';'
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/README.md)
string(REGEX MATCHALL "```cpp\n[^`]*```" TANDEM_README_SNIPPETS "${TANDEM_README}")
set(n 0)
foreach(block IN LISTS TANDEM_README_SNIPPETS)
  math(EXPR n "${n} + 1")
  string(REGEX REPLACE "^```cpp\n" "" code "${block}")
  string(REGEX REPLACE "```$" "" code "${code}")
  string(REPLACE "@SEMICOLON@" ";" code "${code}")
  set(file ${CMAKE_CURRENT_BINARY_DIR}/readme_snippets/snippet_${n}.cpp)
  file(CONFIGURE OUTPUT ${file} CONTENT "// Generated from README.md's C++ block ${n}: edit README.md.\n${code}" @ONLY)
  add_executable(readme_snippet_${n} ${file} ${CMAKE_CURRENT_LIST_DIR}/../support/tsan_suppressions.cpp)
  target_link_libraries(readme_snippet_${n} PRIVATE tandem)
  add_test(NAME ReadmeSnippet.${n} COMMAND readme_snippet_${n})
  set_tests_properties(ReadmeSnippet.${n} PROPERTIES TIMEOUT 120)
endforeach()
if(n EQUAL 0)
  message(FATAL_ERROR "tests/docs/extra.cmake: README.md has no ```cpp block (did the fence change?)")
endif()
