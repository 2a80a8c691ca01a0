# Proves that the build enforces the layers (src/CMakeLists.txt): a probe file is preprocessed
# with the exact flags of a real source file of a layer (from compile_commands.json), once
# including a header of a layer it may use (must work: the flags are right) and once a header
# of a layer above or beside it (must fail: the header is not reachable). Also checks that no
# file under src/ reaches a header by a relative path, which would go around the include roots.
#   cmake -DCOMPILE_COMMANDS=build/compile_commands.json -DSOURCE_DIR=. -DWORK_DIR=dir -P check_layers.cmake
cmake_minimum_required(VERSION 3.25)

# layer source file | a header it may include | a header it must not reach
set(cases
  "src/core/errors.cpp|core/clock.hpp|store/store.hpp"
  "src/core/errors.cpp|core/clock.hpp|runtime/blocking_pool.hpp"
  "src/runtime/blocking_pool.cpp|runtime/stop_signals.hpp|obs/log.hpp"
  "src/obs/metrics.cpp|core/clock.hpp|http/router.hpp"
  "src/store/store_url.cpp|core/sandbox.hpp|service/allocation_service.hpp"
  "src/store/store_url.cpp|core/sandbox.hpp|store/sqlite/sqlite_store.hpp"
  "src/store/sqlite/backup.cpp|store/store.hpp|store/postgres/postgres_store.hpp"
  "src/store/sqlite/backup.cpp|store/store.hpp|provider/provider.hpp"
  "src/provider/backoff.cpp|runtime/stoppable_sleep.hpp|jobs/worker.hpp"
  "src/provider/backoff.cpp|runtime/stoppable_sleep.hpp|store/store.hpp"
  "src/jobs/job.cpp|provider/provider.hpp|service/admin_service.hpp"
  "src/service/cursor.cpp|jobs/job.hpp|http/router.hpp"
  "src/http/router.cpp|service/allocation_service.hpp|app/background_jobs.hpp"
  "src/http/router.cpp|store/store.hpp|store/sqlite/sqlite_store.hpp"
  "src/http/router.cpp|store/store.hpp|provider/sim/csp_sim.hpp"
  "src/provider/sim/sim_ids.cpp|http/router.hpp|app/background_jobs.hpp")

set(wanted "")
foreach(case ${cases})
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 source)
  list(APPEND wanted ${SOURCE_DIR}/${source})
endforeach()
# CMake writes one key a line; each line is read as a JSON object of its own, which is much
# quicker than looking entries up in the whole document.
file(STRINGS ${COMPILE_COMMANDS} lines REGEX "^ *\"(directory|command|file)\": ")
foreach(line ${lines})
  string(REGEX REPLACE ",$" "" line "${line}")
  string(REGEX MATCH "^ *\"([a-z]+)\"" key "${line}")
  set(key ${CMAKE_MATCH_1})
  string(JSON ${key} GET "{${line}}" ${key})
  if(key STREQUAL "file" AND file IN_LIST wanted)
    set(command_${file} "${command}")
    set(directory_${file} "${directory}")
  endif()
endforeach()

# The compile command of `source`, made to preprocess `probe` into nothing (no object, no
# dependency file: the build's own files stay as they are).
function(probe_command source probe out)
  if(NOT DEFINED command_${source})
    message(FATAL_ERROR "${source} is not in ${COMPILE_COMMANDS}: update the cases of ${CMAKE_CURRENT_LIST_FILE}")
  endif()
  separate_arguments(arguments UNIX_COMMAND "${command_${source}}")
  set(result "")
  set(skip_next FALSE)
  foreach(argument ${arguments})
    if(skip_next)
      set(skip_next FALSE)
    elseif(argument MATCHES "^-(o|c|MT|MF|MQ)$")
      set(skip_next TRUE)
    elseif(NOT argument MATCHES "^-(MD|MMD)$")
      list(APPEND result "${argument}")
    endif()
  endforeach()
  list(APPEND result -E -o /dev/null ${probe})
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

file(MAKE_DIRECTORY ${WORK_DIR})
set(failures "")
set(index 0)
foreach(case ${cases})
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 source)
  list(GET case 1 allowed)
  list(GET case 2 forbidden)
  set(full ${SOURCE_DIR}/${source})
  foreach(kind allowed forbidden)
    math(EXPR index "${index} + 1")
    set(probe ${WORK_DIR}/probe_${index}.cpp)
    file(WRITE ${probe} "#include \"${${kind}}\"\n")
    probe_command(${full} ${probe} command)
    execute_process(COMMAND ${command} WORKING_DIRECTORY ${directory_${full}}
                    RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
    if(kind STREQUAL "allowed" AND NOT status EQUAL 0)
      list(APPEND failures "${source} cannot include ${allowed}, which its layer may use:\n${output}")
    elseif(kind STREQUAL "forbidden")
      if(status EQUAL 0)
        list(APPEND failures "${source} can include ${forbidden}, which its layer must not reach")
      elseif(NOT output MATCHES "No such file or directory")
        list(APPEND failures "including ${forbidden} from ${source} failed, but not for want of the header:\n${output}")
      else()
        message(STATUS "refused as it should be: ${source} -> ${forbidden}")
      endif()
    endif()
  endforeach()
endforeach()

# Every project include names its folder from src/ ("store/store.hpp"): a relative one
# ("sqlite/x.hpp" from store/, "../x.hpp") is found next to the including file and would
# reach a header of a layer not linked.
file(GLOB_RECURSE files ${SOURCE_DIR}/src/*.cpp ${SOURCE_DIR}/src/*.hpp)
foreach(file ${files})
  file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line ${includes})
    string(REGEX REPLACE "^[^\"]*\"([^\"]*)\".*$" "\\1" header "${line}")
    # "sql/…" are the statements and schema scripts cmake/EmbedSql.cmake generates into the
    # build tree.
    if(NOT EXISTS ${SOURCE_DIR}/src/${header} AND NOT header MATCHES "^sql/[a-z_]+_(queries|schema)\\.hpp$")
      file(RELATIVE_PATH name ${SOURCE_DIR} ${file})
      list(APPEND failures "${name} includes \"${header}\", not a path from src/")
    endif()
  endforeach()
endforeach()

if(failures)
  list(JOIN failures "\n" text)
  message(FATAL_ERROR "${text}")
endif()
list(LENGTH cases count)
message(STATUS "layers enforced: ${count} forbidden includes refused, their allowed controls compiled")
