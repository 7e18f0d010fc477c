# The `tandem serve` test runs the real CLI binary; without the CLI in the build it skips itself.
if(TARGET tandem_cli AND TARGET http_serve_cli_test)
  target_compile_definitions(http_serve_cli_test PRIVATE TANDEM_CLI="$<TARGET_FILE:tandem_cli>")
  add_dependencies(http_serve_cli_test tandem_cli)
endif()
# The fuzz target's checks, replayed over the seed corpus in every build (scripts/fuzz-http fuzzes it).
if(TARGET http_fuzz_corpus_test)
  target_sources(http_fuzz_corpus_test PRIVATE ${CMAKE_CURRENT_LIST_DIR}/fuzz_server.cpp)
  target_compile_definitions(http_fuzz_corpus_test PRIVATE TANDEM_FUZZ_CORPUS="${CMAKE_CURRENT_LIST_DIR}/fuzz_corpus")
endif()
