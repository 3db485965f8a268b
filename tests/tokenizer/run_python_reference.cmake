# Encodes the corpus with gpt2_reference.py (needs python3-regex) and compares our ids
# with it. Prints "SKIPPED:" (ctest's skip pattern for this test) when the module is absent.
file(REMOVE "${IDS}")
execute_process(
  COMMAND "${PYTHON}" "${SCRIPT}" "${GPT2_DIR}/encoder.json" "${GPT2_DIR}/vocab.bpe" "${CORPUS}" "${IDS}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(rc EQUAL 77)
  return()  # the script printed "SKIPPED: ..."
elseif(NOT rc EQUAL 0)
  message(FATAL_ERROR "gpt2_reference.py failed (exit ${rc})")
endif()
execute_process(
  COMMAND "${TOOL}" "${GPT2_DIR}/encoder.json" "${GPT2_DIR}/vocab.bpe" "${CORPUS}" "${IDS}" python-regex
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "our ids differ from the Python reference's (exit ${rc})")
endif()
