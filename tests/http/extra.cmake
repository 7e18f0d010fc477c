# The `tandem serve` test runs the real CLI binary; without the CLI in the build it skips itself.
if(TARGET tandem_cli AND TARGET http_serve_cli_test)
  target_compile_definitions(http_serve_cli_test PRIVATE TANDEM_CLI="$<TARGET_FILE:tandem_cli>")
  add_dependencies(http_serve_cli_test tandem_cli)
endif()
