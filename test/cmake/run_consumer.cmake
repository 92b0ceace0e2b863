# Builds and runs one consumer project of leash, from a fresh directory:
#
#   cmake -DMODE=install|build_tree|subdir -DSOURCE_DIR=<leash> -DCONSUMER_DIR=<project>
#         -DWORK_DIR=<scratch> [-DEXPECTED_VERSION=x.y.z -DGENERATOR=... ...] -P run_consumer.cmake
#
# install     configure leash (tests, examples, bench OFF), install it into
#             WORK_DIR/prefix, then build the consumer with CMAKE_PREFIX_PATH there
# build_tree  configure leash the same way, then build the consumer with
#             leash_DIR pointing at leash's build tree (its export())
# subdir      build the consumer, which add_subdirectory()s SOURCE_DIR
#
# GENERATOR, GENERATOR_PLATFORM, GENERATOR_TOOLSET, MAKE_PROGRAM, CXX_COMPILER,
# CXX_FLAGS and LAUNCHER are passed through from the calling build; PASS_THROUGH
# is a '|'-separated list of further -D arguments (Boost_DIR, OPENSSL_ROOT_DIR).
# No build type is set: the consumer compiles one file, fastest unoptimised.
cmake_minimum_required(VERSION 3.21)

foreach(var IN ITEMS MODE SOURCE_DIR CONSUMER_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT MODE MATCHES "^(install|build_tree|subdir)$")
  message(FATAL_ERROR "run_consumer.cmake: MODE must be install, build_tree or subdir, not '${MODE}'")
endif()

# Arguments every configure step gets: the caller's toolchain and generator.
set(common_args)
if(GENERATOR)
  list(APPEND common_args -G "${GENERATOR}")
endif()
if(GENERATOR_PLATFORM)
  list(APPEND common_args -A "${GENERATOR_PLATFORM}")
endif()
if(GENERATOR_TOOLSET)
  list(APPEND common_args -T "${GENERATOR_TOOLSET}")
endif()
if(MAKE_PROGRAM)
  list(APPEND common_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER)
  list(APPEND common_args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
endif()
if(CXX_FLAGS)
  list(APPEND common_args "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
endif()
if(LAUNCHER)
  string(REPLACE "|" ";" LAUNCHER "${LAUNCHER}")
  list(APPEND common_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()
if(PASS_THROUGH)
  string(REPLACE "|" ";" PASS_THROUGH "${PASS_THROUGH}")
  list(APPEND common_args ${PASS_THROUGH})
endif()
# Only the package this run installed or exported may be found.
list(APPEND common_args -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

function(step name)
  message(STATUS "[${MODE}] ${name}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc COMMAND_ECHO STDOUT)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${MODE}] ${name} failed (${rc})")
  endif()
endfunction()

# A fresh directory each run: nothing cached from an earlier leash or consumer.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(leash_build "${WORK_DIR}/leash-build")
set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/consumer-build")

set(consumer_args)
if(MODE STREQUAL "install" OR MODE STREQUAL "build_tree")
  if(EXPECTED_VERSION)
    list(APPEND consumer_args "-DLEASH_EXPECTED_VERSION=${EXPECTED_VERSION}")
  endif()
  step("configure leash" ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${leash_build}" ${common_args}
       -DLEASH_INSTALL=ON -DLEASH_BUILD_TESTS=OFF -DLEASH_BUILD_EXAMPLES=OFF
       -DLEASH_BUILD_BENCH=OFF)
  step("build leash" ${CMAKE_COMMAND} --build "${leash_build}")
  if(MODE STREQUAL "install")
    step("install leash" ${CMAKE_COMMAND} --install "${leash_build}" --prefix "${prefix}")
    list(APPEND consumer_args "-DCMAKE_PREFIX_PATH=${prefix}")
    set(expected_leash_dir "${prefix}")
  else()
    list(APPEND consumer_args "-Dleash_DIR=${leash_build}")
    set(expected_leash_dir "${leash_build}")
  endif()
else()
  list(APPEND consumer_args "-DLEASH_SOURCE_DIR=${SOURCE_DIR}")
endif()

step("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_DIR}" -B "${consumer_build}"
     ${common_args} ${consumer_args})

# find_package must have found this run's leash, not one elsewhere on the system.
if(DEFINED expected_leash_dir)
  file(STRINGS "${consumer_build}/CMakeCache.txt" leash_dir_line REGEX "^leash_DIR:")
  string(REGEX REPLACE "^leash_DIR:[A-Z]+=" "" found_dir "${leash_dir_line}")
  file(REAL_PATH "${found_dir}" found_real)
  file(REAL_PATH "${expected_leash_dir}" expected_real)
  string(FIND "${found_real}/" "${expected_real}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "[${MODE}] leash found in '${found_dir}', expected under '${expected_leash_dir}'")
  endif()
endif()

step("build consumer" ${CMAKE_COMMAND} --build "${consumer_build}")
step("run consumer" ${CMAKE_COMMAND} --build "${consumer_build}" --target run_consumer)
message(STATUS "[${MODE}] passed")
