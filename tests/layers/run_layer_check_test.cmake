# cmake -DTANDEM_SOURCE_DIR=<repo> -DWORK_DIR=<scratch> -DGENERATOR=<gen> -P run_layer_check_test.cmake
#
# Builds tests/layers/fixture as it is (it must build, link the top layer alone, and run), then once per
# reach-in below, each added alone to a fresh copy: the build (or, for a bad table, the configure) must
# fail with a message naming the file and line, the include, and the rule it breaks.
set(fixture ${CMAKE_CURRENT_LIST_DIR}/fixture)
set(tree ${WORK_DIR}/tree)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

function(fresh_tree)
  file(REMOVE_RECURSE ${tree})
  file(COPY ${fixture}/ DESTINATION ${tree})
endfunction()

# configure_and_build(<out rc> <out log>)
function(configure_and_build out_rc out_log)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${tree} -B ${build} -G ${GENERATOR}
                          -DTANDEM_SOURCE_DIR=${TANDEM_SOURCE_DIR}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    execute_process(COMMAND ${CMAKE_COMMAND} --build ${build}
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out2 ERROR_VARIABLE err2)
    string(APPEND out "${out2}")
    string(APPEND err "${err2}")
  endif()
  set(${out_rc} ${rc} PARENT_SCOPE)
  set(${out_log} "${out}\n${err}" PARENT_SCOPE)
endfunction()

fresh_tree()
configure_and_build(rc log)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the fixture without reach-ins must build, but did not:\n${log}")
endif()
execute_process(COMMAND ${build}/fixture_app RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fixture_app (linked to the top layer only) returned ${rc}, expected 0")
endif()

# reach_in(<name> <file> <text to append or REPLACE:old=>new> <expected fragment>...)
set(failures "")
function(reach_in name file edit)
  fresh_tree()
  if(edit MATCHES "^REPLACE:(.*)=>(.*)$")
    file(READ ${tree}/${file} content)
    string(REPLACE "${CMAKE_MATCH_1}" "${CMAKE_MATCH_2}" content "${content}")
    file(WRITE ${tree}/${file} "${content}")
  else()
    file(APPEND ${tree}/${file} "${edit}\n")
  endif()
  configure_and_build(rc log)
  if(rc EQUAL 0)
    set(failures "${failures}\n${name}: built although ${file} now has: ${edit}" PARENT_SCOPE)
    return()
  endif()
  foreach(expected IN LISTS ARGN)
    string(FIND "${log}" "${expected}" at)
    if(at EQUAL -1)
      set(failures "${failures}\n${name}: failed, but without '${expected}' in:\n${log}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(STATUS "${name}: refused as expected")
endfunction()

reach_in(upward_include src/low/low.cpp "#include \"tandem/high.hpp\""
  "src/low/low.cpp:4: #include \"tandem/high.hpp\" (include/tandem/high.hpp)"
  "layer low may not include layer high, which is above it")
reach_in(relative_private_header src/high/high.cpp "#include \"../mid/private.hpp\""
  "src/high/high.cpp:4: #include \"../mid/private.hpp\" (src/mid/private.hpp)"
  "src/mid/ is private to layer mid")
reach_in(lower_layer_not_linked src/mid/mid.cpp "#include \"tandem/other.hpp\""
  "src/mid/mid.cpp:5: #include \"tandem/other.hpp\""
  "layer mid does not link layer other")
reach_in(installed_header_includes_src include/tandem/low.hpp "#include \"../../src/sys/sys.hpp\""
  "include/tandem/low.hpp:3:"
  "an installed header (include/) may include only installed headers")
reach_in(angle_include_upward include/tandem/mid/mid.hpp "#include <tandem/high.hpp>"
  "include/tandem/mid/mid.hpp:4: #include <tandem/high.hpp>"
  "layer mid may not include layer high")
reach_in(header_of_no_layer src/low/low.cpp "#include \"tandem/stray.hpp\""
  "include/tandem/stray.hpp belongs to no layer")
reach_in(stale_allow_entry src/high/high.cpp "REPLACE:#include \"../mid/known.hpp\"=>// known.hpp no longer included"
  "the allow entry 'src/high/high.cpp -> src/mid/known.hpp' matches no violation any more")
reach_in(table_links_upward src/layers.txt "REPLACE:low   | sys     |=>low   | high sys |"
  "layer 'low' links 'high', which is not listed before it")

if(failures)
  message(FATAL_ERROR "the layer check let a reach-in through or did not say why:${failures}")
endif()
message(STATUS "layer check: the clean fixture builds; every reach-in fails the build with its rule")
