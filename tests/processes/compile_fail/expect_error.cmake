# cmake -DCXX=<compiler> -DINCLUDE=<dir> -DSOURCE=<file> -DEXPECT=<text> -DMAX_ERRORS=<n> -P expect_error.cmake
# Compiles SOURCE and passes only if that fails with EXPECT in the diagnostics and at most MAX_ERRORS
# "error:" lines (a wall of library internals is the failure this guards against).
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDE} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(FIND "${err}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the diagnostics do not contain '${EXPECT}':\n${err}")
endif()
string(REGEX MATCHALL "error: " errors "${err}")
list(LENGTH errors n)
if(n GREATER MAX_ERRORS)
  message(FATAL_ERROR "${n} errors (at most ${MAX_ERRORS} expected):\n${err}")
endif()
message(STATUS "${SOURCE}: ${n} error(s), naming the fix")
