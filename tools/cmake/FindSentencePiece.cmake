# find_package(SentencePiece) for Debian's libsentencepiece-dev, which ships a
# pkg-config file but no CMake package. Defines SentencePiece::SentencePiece: the
# header sentencepiece_processor.h and libsentencepiece only. (The .pc file also names
# libsentencepiece_train, the trainer, which the runtime does not use.)
#
# Searched under SentencePiece_ROOT first when it is set: the aarch64 cross build
# points it at an unpacked copy of the arm64 packages (.ci/aarch64.sh), because
# libsentencepiece-dev:arm64 cannot be installed next to the amd64 one (not Multi-Arch).
find_path(SentencePiece_INCLUDE_DIR sentencepiece_processor.h)
find_library(SentencePiece_LIBRARY sentencepiece)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(SentencePiece
  REQUIRED_VARS SentencePiece_LIBRARY SentencePiece_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install Debian's libsentencepiece-dev (tools/install-deps.sh)")

if(SentencePiece_FOUND AND NOT TARGET SentencePiece::SentencePiece)
  add_library(SentencePiece::SentencePiece UNKNOWN IMPORTED)
  set_target_properties(SentencePiece::SentencePiece PROPERTIES
    IMPORTED_LOCATION "${SentencePiece_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SentencePiece_INCLUDE_DIR}")
endif()
mark_as_advanced(SentencePiece_INCLUDE_DIR SentencePiece_LIBRARY)
