# Build rules in the style of tink_cc_library / absl_cc_library:
#   kagi_cc_library(NAME foo SRCS ... HDRS ... DEPS ... [STRICT])
#     -> target kagi_<dir>_foo with alias kagi::<dir>::foo
#   kagi_cc_test(NAME foo_test SRCS ... DEPS ...)      (skipped when tests are off)
#   kagi_cc_benchmark(NAME foo_benchmark SRCS ... DEPS ...)
# STRICT adds -Wconversion -Wsign-conversion (libs/crypto, libs/mpc, libs/protocol).

set(KAGI_COMMON_WARNINGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wformat=2)
if(KAGI_WERROR)
  list(APPEND KAGI_COMMON_WARNINGS -Werror)
endif()
set(KAGI_STRICT_WARNINGS -Wconversion -Wsign-conversion)

if(KAGI_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

# Fuzz build (preset `fuzz`, clang only): every library gets coverage
# instrumentation for libFuzzer plus ASan and UBSan; only the fuzz targets
# link libFuzzer's runtime and main (kagi_cc_fuzzer).
if(KAGI_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KAGI_FUZZ needs clang (-fsanitize=fuzzer)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

function(_kagi_prefix out)
  file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  string(REPLACE "/" "_" flat "${rel}")
  string(REGEX REPLACE "^libs_" "" flat "${flat}")
  set(${out} "${flat}" PARENT_SCOPE)
endfunction()

function(kagi_cc_library)
  cmake_parse_arguments(K "STRICT" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  _kagi_prefix(prefix)
  set(target "kagi_${prefix}_${K_NAME}")
  if(K_SRCS)
    add_library(${target} STATIC ${K_SRCS} ${K_HDRS})
    target_include_directories(${target} PUBLIC "${PROJECT_SOURCE_DIR}" "${PROJECT_BINARY_DIR}")
    target_link_libraries(${target} PUBLIC ${K_DEPS})
    target_compile_options(${target} PRIVATE ${KAGI_COMMON_WARNINGS})
    if(K_STRICT)
      # Crypto and MPC code: -O3 unrolls the fixed-length limb loops that
      # constant-time arithmetic is written as (Debug builds keep -O0).
      target_compile_options(${target} PRIVATE ${KAGI_STRICT_WARNINGS}
                             $<$<NOT:$<CONFIG:Debug>>:-O3>)
    endif()
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE "${PROJECT_SOURCE_DIR}" "${PROJECT_BINARY_DIR}")
    target_link_libraries(${target} INTERFACE ${K_DEPS})
  endif()
  string(REPLACE "_" "::" alias_dir "${prefix}")
  add_library(kagi::${alias_dir}::${K_NAME} ALIAS ${target})
endfunction()

function(kagi_cc_test)
  if(NOT KAGI_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(K "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  _kagi_prefix(prefix)
  set(target "kagi_${prefix}_${K_NAME}")
  add_executable(${target} ${K_SRCS})
  target_link_libraries(${target} PRIVATE ${K_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_options(${target} PRIVATE ${KAGI_COMMON_WARNINGS})
  target_compile_definitions(${target} PRIVATE
    KAGI_TEST_VECTORS_DIR="${PROJECT_SOURCE_DIR}/tests/vectors")
  add_test(NAME ${target} COMMAND ${target})
  if(NOT K_TIMEOUT)
    set(K_TIMEOUT 300)
  endif()
  set_tests_properties(${target} PROPERTIES TIMEOUT ${K_TIMEOUT} LABELS "unit;${K_LABELS}")
endfunction()

function(kagi_cc_benchmark)
  if(NOT KAGI_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(K "" "NAME" "SRCS;DEPS" ${ARGN})
  _kagi_prefix(prefix)
  set(target "kagi_${prefix}_${K_NAME}")
  add_executable(${target} ${K_SRCS})
  target_link_libraries(${target} PRIVATE ${K_DEPS} benchmark::benchmark benchmark::benchmark_main)
  target_compile_options(${target} PRIVATE ${KAGI_COMMON_WARNINGS})
endfunction()

# kagi_cc_fuzzer(NAME foo SRCS ... DEPS ...): libFuzzer target kagi_fuzz_foo
# (only with KAGI_FUZZ), part of the `kagi_fuzz` target that builds them all.
function(kagi_cc_fuzzer)
  cmake_parse_arguments(K "" "NAME" "SRCS;DEPS" ${ARGN})
  set(target "kagi_fuzz_${K_NAME}")
  add_executable(${target} ${K_SRCS})
  target_link_libraries(${target} PRIVATE ${K_DEPS})
  target_compile_options(${target} PRIVATE ${KAGI_COMMON_WARNINGS})
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  add_dependencies(kagi_fuzz ${target})
endfunction()
