# The layers as build targets, read from a table (src/layers.txt; its header says the format and rules).
#
#   tandem_read_layers(<table>)   sets TANDEM_LAYERS (lowest first) and, per layer,
#                                 TANDEM_LAYER_<l>_LINKS / TANDEM_LAYER_<l>_HEADERS, plus TANDEM_LAYER_ALLOW
#                                 (entries "file|included|why"); used by this file and check_layer.cmake.
#   tandem_add_layers(TABLE <table> ROOT <dir> [PREFIX <p>] [SOURCES_OF <var>] [SKIP <layer>...])
#       For each layer with sources in <dir>/src/<layer>/ (**/*.cpp): a static library <p><layer> (default
#       prefix tandem_) linking the layers its row names (PUBLIC; sys PRIVATE, it is internal), with
#       <dir>/include as its public include directory, and a check step (<p><layer>_layer_check) that
#       must pass before any of its sources compiles. A layer without sources gets no target. Then
#       src/<layer>/CMakeLists.txt, when present, is added (third-party dependencies of that layer).
#       Sets <p>LAYER_TARGETS in the caller to the targets made, lowest first. SKIP names optional layers
#       whose third-party dependency is missing on this machine (mpi without MPI): they get no target,
#       and nothing may link them (a row naming one in its links fails the configure).
include_guard(GLOBAL)
if(NOT CMAKE_SCRIPT_MODE_FILE)
  include(GNUInstallDirs)
endif()
set(TANDEM_LAYER_CHECK_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/check_layer.cmake)

macro(tandem_read_layers table)
  set(TANDEM_LAYERS "")
  set(TANDEM_LAYER_ALLOW "")
  file(STRINGS ${table} _tl_lines)
  foreach(_tl_line IN LISTS _tl_lines)
    string(STRIP "${_tl_line}" _tl_line)
    if(_tl_line STREQUAL "" OR _tl_line MATCHES "^#")
      continue()
    endif()
    string(REPLACE "|" ";" _tl_cols "${_tl_line}")
    list(LENGTH _tl_cols _tl_n)
    list(GET _tl_cols 0 _tl_name)
    string(STRIP "${_tl_name}" _tl_name)
    if(_tl_name STREQUAL "allow")
      if(NOT _tl_n EQUAL 4)
        message(FATAL_ERROR "${table}: an allow entry is 'allow | file | included file | why': ${_tl_line}")
      endif()
      list(GET _tl_cols 1 _tl_file)
      list(GET _tl_cols 2 _tl_inc)
      string(STRIP "${_tl_file}" _tl_file)
      string(STRIP "${_tl_inc}" _tl_inc)
      list(APPEND TANDEM_LAYER_ALLOW "${_tl_file}|${_tl_inc}")
      continue()
    endif()
    if(NOT _tl_n EQUAL 3)
      message(FATAL_ERROR "${table}: a layer row is 'name | links | headers': ${_tl_line}")
    endif()
    list(GET _tl_cols 1 _tl_links)
    list(GET _tl_cols 2 _tl_headers)
    separate_arguments(_tl_links UNIX_COMMAND "${_tl_links}")
    separate_arguments(_tl_headers UNIX_COMMAND "${_tl_headers}")
    foreach(_tl_dep IN LISTS _tl_links)
      if(NOT _tl_dep IN_LIST TANDEM_LAYERS)
        string(REPLACE ";" " " _tl_lower "${TANDEM_LAYERS}")
        message(FATAL_ERROR "${table}:\n  layer '${_tl_name}' links '${_tl_dep}', which is not listed before it\n"
                            "  (a layer links only lower layers, the rows before its own: ${_tl_lower})")
      endif()
    endforeach()
    list(APPEND TANDEM_LAYERS ${_tl_name})
    set(TANDEM_LAYER_${_tl_name}_LINKS ${_tl_links})
    set(TANDEM_LAYER_${_tl_name}_HEADERS ${_tl_headers})
  endforeach()
endmacro()

function(tandem_add_layers)
  cmake_parse_arguments(arg "" "TABLE;ROOT;PREFIX" "SKIP" ${ARGN})
  if(NOT arg_PREFIX)
    set(arg_PREFIX tandem_)
  endif()
  tandem_read_layers(${arg_TABLE})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${arg_TABLE})  # an edited row re-links
  set(made "")
  foreach(layer IN LISTS TANDEM_LAYERS)
    set(target ${arg_PREFIX}${layer})
    if(layer IN_LIST arg_SKIP)
      foreach(other IN LISTS TANDEM_LAYERS)
        if(layer IN_LIST TANDEM_LAYER_${other}_LINKS)
          message(FATAL_ERROR "layer '${other}' links '${layer}', which is not built on this machine")
        endif()
      endforeach()
      continue()
    endif()
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${arg_ROOT}/src/${layer}/*.cpp)
    if(NOT sources)
      continue()
    endif()
    add_library(${target} STATIC ${sources})
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${layer})
    target_include_directories(${target} PUBLIC
      $<BUILD_INTERFACE:${arg_ROOT}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_compile_features(${target} PUBLIC cxx_std_20)
    target_link_libraries(${target} PUBLIC Threads::Threads)
    if(TARGET tandem_warnings)
      target_link_libraries(${target} PRIVATE tandem_warnings)
    endif()
    foreach(dep IN LISTS TANDEM_LAYER_${layer}_LINKS)
      if(NOT TARGET ${arg_PREFIX}${dep})
        continue()  # a layer without sources yet (nothing to link)
      endif()
      if(dep STREQUAL "sys")
        target_link_libraries(${target} PRIVATE ${arg_PREFIX}${dep})
      else()
        target_link_libraries(${target} PUBLIC ${arg_PREFIX}${dep})
      endif()
    endforeach()

    # The check reads every file the layer owns: its sources and private headers, its public headers.
    set(owned ${sources})
    file(GLOB_RECURSE private CONFIGURE_DEPENDS ${arg_ROOT}/src/${layer}/*.hpp ${arg_ROOT}/src/${layer}/*.h)
    list(APPEND owned ${private})
    foreach(pattern IN LISTS TANDEM_LAYER_${layer}_HEADERS)
      if(pattern MATCHES "/$")
        file(GLOB_RECURSE public CONFIGURE_DEPENDS ${arg_ROOT}/include/tandem/${pattern}*)
      else()
        file(GLOB public CONFIGURE_DEPENDS ${arg_ROOT}/include/tandem/${pattern})
      endif()
      list(APPEND owned ${public})
    endforeach()
    set(stamp ${CMAKE_CURRENT_BINARY_DIR}/${target}.layer_check)
    add_custom_command(OUTPUT ${stamp}
      COMMAND ${CMAKE_COMMAND} -DTABLE=${arg_TABLE} -DROOT=${arg_ROOT} -DLAYER=${layer} -DSTAMP=${stamp}
              -P ${TANDEM_LAYER_CHECK_SCRIPT}
      DEPENDS ${owned} ${arg_TABLE} ${TANDEM_LAYER_CHECK_SCRIPT}
      COMMENT "Checking the includes of layer ${layer} against ${arg_TABLE}"
      VERBATIM)
    add_custom_target(${target}_layer_check DEPENDS ${stamp})
    add_dependencies(${target} ${target}_layer_check)
    list(APPEND made ${target})

    if(EXISTS ${arg_ROOT}/src/${layer}/CMakeLists.txt)
      add_subdirectory(${arg_ROOT}/src/${layer} ${CMAKE_CURRENT_BINARY_DIR}/${layer})
    endif()
  endforeach()
  set(${arg_PREFIX}LAYER_TARGETS ${made} PARENT_SCOPE)
endfunction()
