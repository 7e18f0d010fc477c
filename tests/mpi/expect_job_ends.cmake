# cmake -DMPIRUN=<mpirun> -DPROGRAM=<mpi_pool_mpi> -P expect_job_ends.cmake
# Runs the crash test under mpirun -n 3: a worker rank SIGKILLs itself mid-task. Passes when the job
# ends (bounded: a hang fails by timeout) with a non-zero status and a message naming the dead rank.
set(ENV{TANDEM_MPI_CRASH_TEST} 1)
execute_process(COMMAND ${MPIRUN} --allow-run-as-root --oversubscribe -n 3 ${PROGRAM} --gtest_filter=MpiPoolCrash.*
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
message("${out}${err}")
if(rc STREQUAL "0" OR rc MATCHES "timeout")
  message(FATAL_ERROR "expected the job to end with an error when a rank dies, got: ${rc}")
endif()
if(NOT "${out}${err}" MATCHES "rank [12] with PID [0-9]+ on node [^ ]+ exited on signal 9")
  message(FATAL_ERROR "mpirun's output does not say which rank died and how")
endif()
if("${out}${err}" MATCHES "the job outlived a killed rank")
  message(FATAL_ERROR "rank 0 went on after a worker died")
endif()
