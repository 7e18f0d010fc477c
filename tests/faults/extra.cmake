# The fault-injection suite (issue 8): one executable with its own main (it takes --soak), and a harness
# that the parent-death tests start and SIGKILL. Run by ctest like every other test; for a long manual
# run: build/release/tests/faults_suite --soak   (or TANDEM_FAULT_SOAK=N for N times the default sizes).
file(GLOB TANDEM_FAULT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/faults_*.cpp)
add_executable(faults_suite ${TANDEM_FAULT_SOURCES} ${CMAKE_CURRENT_LIST_DIR}/main.cpp
               ${CMAKE_CURRENT_LIST_DIR}/../support/tsan_suppressions.cpp)
target_link_libraries(faults_suite PRIVATE tandem GTest::gtest tandem_warnings)
target_include_directories(faults_suite PRIVATE ${CMAKE_CURRENT_LIST_DIR}/..)

add_executable(tandem_fault_harness ${CMAKE_CURRENT_LIST_DIR}/harness.cpp)
target_link_libraries(tandem_fault_harness PRIVATE tandem tandem_warnings)
add_dependencies(faults_suite tandem_fault_harness)
target_compile_definitions(faults_suite PRIVATE TANDEM_FAULT_HARNESS="$<TARGET_FILE:tandem_fault_harness>")

gtest_discover_tests(faults_suite DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 LABELS faults)
