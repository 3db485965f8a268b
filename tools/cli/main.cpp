// `hmoe`: the command-line front end. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/cli/command.h"
#include "tools/cli/output.h"

namespace hmoe::cli {

static std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
bool register_command(const Command& c) {
  registry().push_back(c);
  return true;
}
const std::vector<Command>& commands() { return registry(); }

}  // namespace hmoe::cli

static void print_usage(FILE* out) {
  std::fprintf(out, "usage: hmoe COMMAND [options]   (hmoe COMMAND --help for its options)\n\ncommands:\n");
  for (const auto& c : hmoe::cli::commands()) std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return hmoe::cli::kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(stdout);
    const std::string lost = hmoe::cli::stdout_error();
    if (lost.empty()) return hmoe::cli::kExitOk;
    std::fprintf(stderr, "hmoe: error: %s\n", lost.c_str());
    return hmoe::cli::kExitError;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const auto& c : hmoe::cli::commands())
    if (name == c.name) return c.run(args);
  if (name == "--version" || name == "version") {
    for (const auto& c : hmoe::cli::commands())
      if (std::strcmp(c.name, "version") == 0) return c.run(args);
  }
  std::fprintf(stderr, "hmoe: unknown command '%s' (see hmoe --help)\n", name.c_str());
  return hmoe::cli::kExitUsage;
}
