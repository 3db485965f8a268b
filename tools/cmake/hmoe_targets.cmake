# How the project's targets are declared (included by the top-level CMakeLists.txt).

# Warnings on every target of ours; errors too where HMOE_WERROR is on (CI sets CI=true,
# which turns it on by default, so a warning cannot land).
if(DEFINED ENV{CI} AND NOT "$ENV{CI}" STREQUAL "" AND NOT "$ENV{CI}" STREQUAL "false")
  set(HMOE_WERROR_DEFAULT ON)
else()
  set(HMOE_WERROR_DEFAULT OFF)
endif()
option(HMOE_WERROR "Treat compiler warnings as errors" ${HMOE_WERROR_DEFAULT})

function(hmoe_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C,CXX>:-Wall -Wextra>)
    if(HMOE_WERROR)
      target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C,CXX>:-Werror>)
    endif()
  endif()
endfunction()

# hmoe_headers(target VISIBILITY folder): the headers of the project folder `folder`
# ("formats", "runtime", "tools/common") become includable as "folder/name.h" by the
# target (PRIVATE) or by it and whatever links it (PUBLIC). Each folder gets an include
# root of its own holding one link to it, so a target sees the headers of the folders it
# links and no others: the layering of the project is enforced by the compiler, where an
# include of the project root would let any file reach any header.
function(hmoe_headers target visibility folder)
  set(root ${PROJECT_BINARY_DIR}/include/${folder})
  set(link ${root}/${folder})
  if(NOT IS_SYMLINK ${link})
    get_filename_component(parent ${link} DIRECTORY)
    file(MAKE_DIRECTORY ${parent})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${folder} ${link} SYMBOLIC)
  endif()
  target_include_directories(${target} ${visibility} $<BUILD_INTERFACE:${root}>)
endfunction()

# hmoe_library(name STATIC|OBJECT|... FOLDER folder SOURCES ...): one of our libraries,
# exporting its folder's headers.
function(hmoe_library name type)
  cmake_parse_arguments(A "" "FOLDER" "SOURCES" ${ARGN})
  add_library(${name} ${type} ${A_SOURCES})
  hmoe_headers(${name} PUBLIC ${A_FOLDER})
  hmoe_warnings(${name})
endfunction()
