# Builds the one relocatable object libhypermoe.a holds: the API objects plus what they
# need from the runtime's archives, partially linked, with every strong symbol except
# the C API (hmoe_*) made local. An application that links the static library then
# sees the same symbols as with the shared one, and its own code cannot collide with
# the runtime's. Weak symbols (inline functions, template instances) stay global so
# the linker can still merge their COMDAT groups with the application's copies.
#
# cmake -DLINKER= -DNM= -DOBJCOPY= -DOBJECTS=a.o|b.o -DARCHIVES=x.a|y.a -DOUTPUT=out.o -P merge_static.cmake
# (lists separated by '|', which survives the command line where ';' would not)
cmake_minimum_required(VERSION 3.20)
foreach(v LINKER NM OBJCOPY OBJECTS ARCHIVES OUTPUT)
  if(NOT ${v})
    message(FATAL_ERROR "merge_static.cmake: ${v} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" OBJECTS "${OBJECTS}")
string(REPLACE "|" ";" ARCHIVES "${ARCHIVES}")

set(partial "${OUTPUT}.partial.o")
execute_process(COMMAND ${LINKER} -r -o ${partial} ${OBJECTS} --start-group ${ARCHIVES} --end-group
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "partial link failed: ${err}")
endif()

execute_process(COMMAND ${NM} --defined-only --extern-only ${partial}
  RESULT_VARIABLE rc OUTPUT_VARIABLE symbols ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed: ${err}")
endif()
string(REPLACE "\n" ";" lines "${symbols}")
set(private "")
foreach(line IN LISTS lines)
  # "<address> <type> <name>": strong definitions are upper-case B D G R S T.
  if(line MATCHES "^[0-9a-fA-F]* *([BDGRST]) (.+)$")
    set(name "${CMAKE_MATCH_2}")
    if(NOT name MATCHES "^hmoe_")
      string(APPEND private "${name}\n")
    endif()
  endif()
endforeach()
file(WRITE "${OUTPUT}.private-symbols.txt" "${private}")

execute_process(COMMAND ${OBJCOPY} --localize-symbols=${OUTPUT}.private-symbols.txt ${partial} ${OUTPUT}
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "objcopy failed: ${err}")
endif()
file(REMOVE ${partial})
