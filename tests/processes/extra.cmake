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

# Compile-fail checks: a plain struct crossing a process boundary fails with one static_assert naming the
# fix (MSGPACK_DEFINE or the codec hook), not with pages of msgpack internals.
foreach(case IN ITEMS plain_struct_argument:1 plain_struct_result:2)
  string(REPLACE ":" ";" parts ${case})
  list(GET parts 0 name)
  list(GET parts 1 max_errors)
  add_test(NAME CompileFail.${name}
           COMMAND ${CMAKE_COMMAND} -DCXX=${CMAKE_CXX_COMPILER} -DINCLUDE=${PROJECT_SOURCE_DIR}/include
                   -DSOURCE=${CMAKE_CURRENT_LIST_DIR}/compile_fail/${name}.cpp
                   "-DEXPECT=add MSGPACK_DEFINE(its members...) inside the struct"
                   -DMAX_ERRORS=${max_errors}
                   -P ${CMAKE_CURRENT_LIST_DIR}/compile_fail/expect_error.cmake)
  set_tests_properties(CompileFail.${name} PROPERTIES TIMEOUT 120)
endforeach()
