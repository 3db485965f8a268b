// Subcommands of `hmoe` register themselves here; main() dispatches by name.
#pragma once
#include <string>
#include <vector>

#include "runtime/api/hypermoe.h"

namespace hmoe::cli {

// Exit codes shared by every subcommand (tests/BAD_INPUTS.md, section C, is the table
// of conditions, messages and codes).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;         // the work failed (bad model file, I/O, ...)
constexpr int kExitUsage = 2;         // bad flags or values
constexpr int kExitInterrupted = 130; // Ctrl-C stopped `hmoe run` (128 + SIGINT, as shells and llama-cli say)

// The one table from the library's categories (hmoe_status) to exit codes.
int exit_code_for(hmoe_status status);

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);  // args after the subcommand name
};

// Called from a static initialiser in each cmd_*.cpp via HMOE_COMMAND.
bool register_command(const Command& c);
const std::vector<Command>& commands();

}  // namespace hmoe::cli

#define HMOE_CLI_CONCAT2(a, b) a##b
#define HMOE_CLI_CONCAT(a, b) HMOE_CLI_CONCAT2(a, b)
#define HMOE_COMMAND(name, summary, fn) \
  static const bool HMOE_CLI_CONCAT(hmoe_cmd_registered_, __LINE__) = \
      ::hmoe::cli::register_command({name, summary, fn})
