include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Every layer's archive is installed and exported (tandem::core, tandem::aio, ... and tandem::sys, which
# the others link and nobody else should: its headers stay in src/ and are not installed); users link
# tandem::tandem, the INTERFACE target over all of them.
install(TARGETS tandem ${TANDEM_LAYER_TARGETS} tandem_warnings EXPORT tandemTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/tandem DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET tandem_cli)
  install(TARGETS tandem_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # The seeds' Python programs, which the lab runs on CPython beside its models (lab/python_peers.hpp
  # finds them at ../share/tandem/python from the executable).
  install(DIRECTORY lab/python/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tandem/python FILES_MATCHING PATTERN "*.py")
endif()
install(EXPORT tandemTargets NAMESPACE tandem:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tandem)
# tandemConfig.cmake finds what the exported targets need: Threads, msgpack-cxx's headers, and libcurl
# when the http layer is built.
if(TARGET tandem_http)
  set(TANDEM_CONFIG_NEEDS_CURL ON)
else()
  set(TANDEM_CONFIG_NEEDS_CURL OFF)
endif()
if(TARGET tandem_mpi)
  set(TANDEM_CONFIG_NEEDS_MPI ON)
else()
  set(TANDEM_CONFIG_NEEDS_MPI OFF)
endif()
configure_package_config_file(cmake/tandemConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tandemConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tandem)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tandemConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tandemConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/tandemConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tandem)
