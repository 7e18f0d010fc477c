file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
# With the CLI come the seeds' Python programs, where lab/python_peers.hpp looks from bin/tandem.
if(EXISTS ${WORK_DIR}/prefix/bin/tandem)
  foreach(program peer.py primes.py prime_jobs.py primes_sequential.py primes_threads.py primes_procs.py sumsq.py download_sync.py
                  download_threads.py download_processes.py download_asyncio.py sites.py)
    if(NOT EXISTS ${WORK_DIR}/prefix/share/tandem/python/${program})
      message(FATAL_ERROR "tandem installed without share/tandem/python/${program}")
    endif()
  endforeach()
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_CXX_FLAGS=${CXX_FLAGS} -DCMAKE_EXE_LINKER_FLAGS=${CXX_FLAGS})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
message(STATUS "installed tandem package: find_package, link and run OK (every layer)")

# Without msgpack-cxx's headers, find_package(tandem) must say which package to install (hidden here by
# ignoring the folders that hold msgpack.hpp).
find_path(msgpack_dir msgpack.hpp PATHS /usr/include /usr/local/include)
if(msgpack_dir)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build-no-msgpack -G ${GENERATOR}
                          -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix "-DCMAKE_IGNORE_PATH=${msgpack_dir}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(FIND "${out}${err}" "libmsgpack-cxx-dev" named)
  if(rc EQUAL 0 OR named EQUAL -1)
    message(FATAL_ERROR "find_package(tandem) without msgpack.hpp: expected a failure naming libmsgpack-cxx-dev, "
                        "got (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "without msgpack.hpp, find_package(tandem) names libmsgpack-cxx-dev")
endif()
