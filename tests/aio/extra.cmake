# In sanitizer builds the frame pool is off by default (so that ASan/LSan/TSan see every frame), which
# would leave the pool itself unchecked. Run every aio test binary (and the asyncio conformance ports
# in tests/conformance) once more with the pool on: ASan then sees its poisoned free blocks and TSan
# its cross-thread frees. Leak checking stays with the default run (blocks in the pool are not
# malloc's, so LSan cannot account for them).
if(TANDEM_SANITIZE)
  file(GLOB TANDEM_AIO_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*_test.cpp
       ${CMAKE_CURRENT_LIST_DIR}/../conformance/*_test.cpp)
  foreach(src IN LISTS TANDEM_AIO_TESTS)
    get_filename_component(stem ${src} NAME_WE)
    get_filename_component(area ${src} DIRECTORY)
    get_filename_component(area ${area} NAME)
    set(target ${area}_${stem})
    if(TARGET ${target})
      add_test(NAME ${target}.with_frame_pool COMMAND ${target})
      set_tests_properties(${target}.with_frame_pool PROPERTIES TIMEOUT 300
        ENVIRONMENT "TANDEM_AIO_POOL=1;ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1")
    endif()
  endforeach()
endif()
