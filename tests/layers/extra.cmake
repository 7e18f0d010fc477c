# A reach-in across layers must fail the build: tests/layers/fixture is built clean and then with one
# deliberately wrong include at a time (run_layer_check_test.cmake); each must fail naming its rule.
add_test(NAME layers.reach_in_fails_the_build
  COMMAND ${CMAKE_COMMAND}
    -DTANDEM_SOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/layers_fixture
    -DGENERATOR=${CMAKE_GENERATOR}
    -P ${CMAKE_CURRENT_LIST_DIR}/run_layer_check_test.cmake)
set_tests_properties(layers.reach_in_fails_the_build PROPERTIES TIMEOUT 300)
