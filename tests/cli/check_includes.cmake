cmake_minimum_required(VERSION 3.16)  # IN_LIST
# The command line stands on the public API: a file of tools/cli that includes an
# internal header (formats/, quant/, runtime/model/, runtime/text/, runtime/kernels/, the
# tools/common/, the generated schema) must also include tools/cli/internal.h, which lists those files and
# why each needs internals. Run by ctest as cli.include_discipline:
#   cmake -DCLI_DIR=tools/cli -P tests/cli/check_includes.cmake
# tools/common headers that use nothing below the public API (scoring arithmetic) are
# not internals: a CLI command may use them as any application would.
set(public_common "tools/common/eval_metrics.h")
file(GLOB sources "${CLI_DIR}/*.cpp" "${CLI_DIR}/*.h")
set(problems "")
set(internal_files "")
foreach(src ${sources})
  get_filename_component(name ${src} NAME)
  if(name STREQUAL "internal.h")
    continue()
  endif()
  file(STRINGS ${src} includes REGEX "^#include \"")
  set(internal_includes "")
  set(declares FALSE)
  foreach(line ${includes})
    if(line MATCHES "^#include \"(formats/|quant/|runtime/model/|runtime/text/|runtime/kernels/|tools/common/|hmoe_generated\\.h)")
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" header "${line}")
      if(NOT header IN_LIST public_common)
        list(APPEND internal_includes ${header})
      endif()
    endif()
    if(line MATCHES "^#include \"tools/cli/internal\\.h\"")
      set(declares TRUE)
    endif()
  endforeach()
  if(internal_includes AND NOT declares)
    string(REPLACE ";" ", " list "${internal_includes}")
    string(APPEND problems "\n  ${name} includes ${list} without tools/cli/internal.h")
  endif()
  if(declares)
    list(APPEND internal_files ${name})
  endif()
endforeach()
if(problems)
  message(FATAL_ERROR "tools/cli reaches below the public API without saying so:${problems}")
endif()
string(REPLACE ";" ", " internal_files "${internal_files}")
message(STATUS "internal: ${internal_files}; every other file of tools/cli uses the public API only")
