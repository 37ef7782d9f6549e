# Helpers in the spirit of abseil's absl_cc_library: one static library per module,
# tests and benchmarks declared beside the code they exercise.

# eg_library(NAME name SRCS ... DEPS ... [PUBLIC_DEPS ...])
function(eg_library)
  cmake_parse_arguments(EG "" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(eargate_${EG_NAME} STATIC ${EG_SRCS})
  target_include_directories(eargate_${EG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(eargate_${EG_NAME} PUBLIC ${EG_PUBLIC_DEPS} PRIVATE ${EG_DEPS})
endfunction()

# eg_test(NAME name SRCS ... DEPS ... [LABELS ...])
function(eg_test)
  cmake_parse_arguments(EG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT EARGATE_BUILD_TESTS)
    return()
  endif()
  add_executable(${EG_NAME} ${EG_SRCS})
  target_link_libraries(${EG_NAME} PRIVATE ${EG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${EG_NAME} PRIVATE
    EARGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME ${EG_NAME} COMMAND ${EG_NAME})
  set_tests_properties(${EG_NAME} PROPERTIES
    ENVIRONMENT "EARGATE_DATA_DIR=${PROJECT_SOURCE_DIR}/data"
    LABELS "unit;${EG_LABELS}")
endfunction()

# eg_benchmark(NAME name SRCS ... DEPS ...)
function(eg_benchmark)
  cmake_parse_arguments(EG "" "NAME" "SRCS;DEPS" ${ARGN})
  if(NOT EARGATE_BUILD_BENCHMARKS OR EARGATE_SANITIZE)
    return()
  endif()
  add_executable(${EG_NAME} ${EG_SRCS})
  target_link_libraries(${EG_NAME} PRIVATE ${EG_DEPS} benchmark::benchmark)
  target_compile_definitions(${EG_NAME} PRIVATE EARGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
endfunction()
