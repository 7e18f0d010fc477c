# The CLI tests run the real binary; without the CLI in the build they skip themselves.
if(TARGET tandem_cli AND TARGET apps_tandem_cli_test)
  target_compile_definitions(apps_tandem_cli_test PRIVATE TANDEM_CLI="$<TARGET_FILE:tandem_cli>")
  add_dependencies(apps_tandem_cli_test tandem_cli)
endif()
if(TARGET tandem_cli AND TARGET apps_download_cli_test)
  target_compile_definitions(apps_download_cli_test PRIVATE TANDEM_CLI="$<TARGET_FILE:tandem_cli>")
  add_dependencies(apps_download_cli_test tandem_cli)
endif()
