# Child harness for "a killed parent leaves no orphans" (tests/processes/orphans_test.cpp).
add_executable(tandem_orphan_harness ${CMAKE_CURRENT_LIST_DIR}/orphan_harness.cpp)
target_link_libraries(tandem_orphan_harness PRIVATE tandem)
if(TARGET tandem_warnings)
  target_link_libraries(tandem_orphan_harness PRIVATE tandem_warnings)
endif()
if(TARGET processes_orphans_test)
  add_dependencies(processes_orphans_test tandem_orphan_harness)
  target_compile_definitions(processes_orphans_test PRIVATE
    TANDEM_ORPHAN_HARNESS="$<TARGET_FILE:tandem_orphan_harness>")
endif()
