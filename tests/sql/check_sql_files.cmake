# Fails when a C++ file of the SQL stores (src/store/sqlite, src/store/postgres) holds SQL
# text: a string literal, plain or raw, that begins with a statement's first keyword. The
# stores' SQL lives in named statements of src/store/*/sql/*.sql (cmake/EmbedSql.cmake).
# What stays in C++ is the connection's and transaction's plumbing (PRAGMA, SET, BEGIN,
# COMMIT, SAVEPOINT, NOTIFY), some of it built from values that cannot be bound parameters.
#   cmake -DSOURCE_DIR=. -P check_sql_files.cmake
cmake_minimum_required(VERSION 3.25)

# The files still allowed to hold SQL, one a line: remove the line once a file's SQL has moved.
# None today: every statement of the SQL stores is in a .sql file.
set(allowed
)

# A literal's opening quote (plain, or raw with its delimiter), blanks, then one of these
# keywords as a word. Upper case, as the project writes SQL: lower case would also catch
# the stores' operation names ("create reservation").
set(keywords "SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH|REPLACE|MERGE|TRUNCATE|VALUES")
set(opening "(\"|R\"[A-Za-z0-9_]*\\()[ \t\r\n]*(${keywords})([^A-Za-z0-9_-]|$)")

if(NOT DEFINED SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<checkout> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()
get_filename_component(SOURCE_DIR "${SOURCE_DIR}" ABSOLUTE)
file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR}
  ${SOURCE_DIR}/src/store/sqlite/*.cpp ${SOURCE_DIR}/src/store/sqlite/*.hpp
  ${SOURCE_DIR}/src/store/postgres/*.cpp ${SOURCE_DIR}/src/store/postgres/*.hpp)
list(SORT files)
if(NOT files)
  message(FATAL_ERROR "no C++ files under ${SOURCE_DIR}/src/store/{sqlite,postgres}")
endif()

set(found "")
set(checked 0)
foreach(file IN LISTS files)
  if(file IN_LIST allowed)
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  file(READ ${SOURCE_DIR}/${file} text)
  # Hit by hit, so each is reported at its own line; `base` is the line the rest starts on.
  set(base 1)
  string(REGEX MATCH "${opening}" hit "${text}")
  while(NOT hit STREQUAL "")
    string(FIND "${text}" "${hit}" at)
    string(SUBSTRING "${text}" 0 ${at} before)
    string(REGEX MATCHALL "\n" newlines "${before}")
    list(LENGTH newlines n)
    math(EXPR line "${base} + ${n}")
    string(REGEX REPLACE "[ \t\r\n]+" " " shown "${hit}")
    string(APPEND found "  ${file}:${line}: ${shown}...\n")
    string(LENGTH "${hit}" length)
    math(EXPR at "${at} + ${length}")
    string(SUBSTRING "${text}" 0 ${at} skipped)
    string(REGEX MATCHALL "\n" newlines "${skipped}")
    list(LENGTH newlines n)
    math(EXPR base "${base} + ${n}")
    string(SUBSTRING "${text}" ${at} -1 text)
    string(REGEX MATCH "${opening}" hit "${text}")
  endwhile()
endforeach()

# An allowed file that no longer exists is a stale entry: say so, so the list stays true.
foreach(file IN LISTS allowed)
  if(NOT EXISTS ${SOURCE_DIR}/${file})
    string(APPEND found "  ${file}: listed as allowed but gone; remove it from the list\n")
  endif()
endforeach()

if(found)
  message(FATAL_ERROR "SQL in C++ files of the SQL stores (move it to a named statement in "
                      "src/store/<store>/sql/*.sql, see cmake/EmbedSql.cmake):\n${found}")
endif()
message(STATUS "no SQL text in ${checked} C++ files of src/store/sqlite and src/store/postgres")
