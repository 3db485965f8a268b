// The CLI's one table from the library's error categories to exit codes. Every
// category is listed, so a new one must be placed here; the conditions behind each,
// and their messages, are tabled in tests/BAD_INPUTS.md (section C).
#include "tools/cli/command.h"

namespace hmoe::cli {

int exit_code_for(hmoe_status status) {
  switch (status) {
    case HMOE_OK: return kExitOk;
    // The flags were well-formed and only the model or the input makes them fail: a
    // token id past the vocabulary, a context past n_positions, a prompt that does not
    // fit or does not encode, a model without a tokenizer. Exit 1, like the failures
    // below; exit 2 is for what the flags alone get wrong (UsageError).
    case HMOE_ERR_INVALID_ARGUMENT:
    case HMOE_ERR_CONTEXT_FULL:
    case HMOE_ERR_UNSUPPORTED:
    case HMOE_ERR_BUFFER_TOO_SMALL:
    // The work failed.
    case HMOE_ERR_IO:
    case HMOE_ERR_BAD_FILE:
    case HMOE_ERR_OUT_OF_MEMORY:
    case HMOE_ERR_INTERNAL:
      return kExitError;
  }
  return kExitError;
}

}  // namespace hmoe::cli
