# The mpi layer's tests run under mpirun (and one as an MPI singleton that spawns its workers), so they
# are added here rather than by the *_test.cpp glob. Skipped when MPI was not found (no tandem_mpi).
if(NOT TARGET tandem_mpi)
  return()
endif()
add_executable(mpi_pool_mpi ${CMAKE_CURRENT_SOURCE_DIR}/mpi/pool_mpi.cpp ${CMAKE_CURRENT_SOURCE_DIR}/support/tsan_suppressions.cpp)
target_link_libraries(mpi_pool_mpi PRIVATE tandem_mpi tandem_lab tandem GTest::gtest tandem_warnings)

# Open MPI refuses root without these, and 3 ranks on a 2-core machine need --oversubscribe. Open MPI's
# own allocations that live until exit are not leaks of ours: LSan skips libmpi / libopen-pal / ORTE /
# PMIx (tests/mpi/lsan.supp), and nothing else; TSan skips one lock-order report inside Open MPI's TCP
# transport (tests/mpi/tsan.supp), with scripts/test's other TSan options kept.
set(TANDEM_MPIRUN ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe)
set(TANDEM_MPI_ENV "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1;LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/mpi/lsan.supp:fast_unwind_on_malloc=0;TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=${CMAKE_CURRENT_SOURCE_DIR}/mpi/tsan.supp")
add_test(NAME mpi.pool.mpirun
         COMMAND ${TANDEM_MPIRUN} ${MPIEXEC_NUMPROC_FLAG} 3 $<TARGET_FILE:mpi_pool_mpi> --gtest_filter=MpiPool.*)
add_test(NAME mpi.pool.spawn COMMAND $<TARGET_FILE:mpi_pool_mpi> --gtest_filter=MpiPool.*)
# A rank killed mid-task: the job must end, non-zero, with mpirun naming the rank, within the timeout.
add_test(NAME mpi.pool.rank_killed
         COMMAND ${CMAKE_COMMAND} -DMPIRUN=${MPIEXEC_EXECUTABLE} -DPROGRAM=$<TARGET_FILE:mpi_pool_mpi>
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/mpi/expect_job_ends.cmake)
# A spawned worker killed mid-task: the singleton outlives it, its futures fail with BrokenExecutor.
add_test(NAME mpi.pool.spawned_worker_killed COMMAND $<TARGET_FILE:mpi_pool_mpi> --gtest_filter=MpiPoolCrash.*)
set_tests_properties(mpi.pool.mpirun mpi.pool.spawn mpi.pool.rank_killed mpi.pool.spawned_worker_killed PROPERTIES
                     TIMEOUT 180 ENVIRONMENT "${TANDEM_MPI_ENV}" RUN_SERIAL TRUE LABELS mpi)
set_property(TEST mpi.pool.spawned_worker_killed APPEND PROPERTY ENVIRONMENT TANDEM_MPI_CRASH_TEST=1)

# The CLI under every model, mpi under mpirun and as a spawning singleton: wordcount's output is the
# same bytes as the sequential reference, and primes / sumsq run (tests/mpi/cli_models.cmake).
if(TARGET tandem_cli)
  add_test(NAME mpi.cli.models
           COMMAND ${CMAKE_COMMAND} -DMPIRUN=${MPIEXEC_EXECUTABLE} -DTANDEM=$<TARGET_FILE:tandem_cli>
                   -DWORK=${CMAKE_CURRENT_BINARY_DIR}/mpi_cli -P ${CMAKE_CURRENT_SOURCE_DIR}/mpi/cli_models.cmake)
  set_tests_properties(mpi.cli.models PROPERTIES TIMEOUT 300 ENVIRONMENT "${TANDEM_MPI_ENV}" RUN_SERIAL TRUE LABELS mpi)
endif()
