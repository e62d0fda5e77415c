# ---- ThreadSanitizer (FEDCB_TSAN): the threaded parts, ctest label tsan ----
# scripts/test.sh builds build-tsan and runs `ctest -L tsan` there: the
# agent's store writer and learner threads (test_agent*, and
# cli_agent_federation for the federated learner), the coordinator's server
# thread with gRPC's (test_net_coordinator, test_rpc, test_conn_check), the
# simulate worker pool (test_simulate) and tests/tsan_threads.sh (simulate,
# bench and a networked run of the fedcb program). Every test of this build
# gets TSAN_OPTIONS: a report fails it (halt_on_error=1 exits with 66);
# tests/tsan.supp names the uninstrumented system libraries it excuses.
set(FEDCB_TSAN_TESTS test_agent test_agent_store test_agent_durability test_net_coordinator test_rpc
    test_conn_check test_simulate cli_agent_federation)
add_test(NAME tsan_threads COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tsan_threads.sh $<TARGET_FILE:fedcb> ${PROJECT_SOURCE_DIR})
set_tests_properties(tsan_threads PROPERTIES ENVIRONMENT "OPENBLAS_NUM_THREADS=1" TIMEOUT 600)
foreach(name ${FEDCB_TSAN_TESTS} tsan_threads)
  if(NOT TEST ${name})
    message(FATAL_ERROR "tests/tsan.cmake: no test named ${name}")
  endif()
  set_property(TEST ${name} APPEND PROPERTY LABELS tsan)
endforeach()
get_property(all_tests DIRECTORY PROPERTY TESTS)
foreach(name ${all_tests})
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
               "TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tsan.supp")
endforeach()
