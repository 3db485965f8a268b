// Runs the `hmoe` executable ($HMOE_BIN, or the one this build made) and
// checks how it refuses: an exit code, never a signal, and one error line on stderr.
#pragma once
#include <string>
#include <vector>

namespace hmoe::bad_inputs {

struct CliResult {
  int exit_code = -1;  // -1 when killed by a signal or by the timeout
  int signal = 0;      // the signal that ended it, 0 when it exited
  bool timed_out = false;
  std::string out, err;
  // stderr's lines that start with "hmoe " (the command's error lines).
  std::vector<std::string> error_lines() const;
  std::string describe() const;  // for failure messages
};

// Runs `hmoe args...` with stdin from /dev/null; kills it after `timeout_s` seconds.
CliResult run_hmoe(const std::vector<std::string>& args, int timeout_s = 120);

// How else to run it.
struct RunOptions {
  std::string stdin_data;          // written to its stdin through a pipe, then closed
  bool use_stdin_data = false;     // false: stdin is stdin_path
  std::string stdin_path = "/dev/null";
  std::string stdout_path;         // set: stdout goes to this file (e.g. /dev/full), not captured
  std::vector<std::pair<std::string, std::string>> env;  // variables to set
  long long fsize_limit = -1;      // >= 0: RLIMIT_FSIZE in bytes, SIGXFSZ ignored (a "full disk")
  size_t interrupt_after = 0;      // > 0: send SIGINT once stdout holds this many bytes
  int timeout_s = 120;
};
CliResult run_hmoe(const std::vector<std::string>& args, const RunOptions& options);

// How a refusal must look: exit `code` (1 failed work, 2 bad usage), not a signal, and
// exactly one "hmoe CMD: ..." line on stderr, the last one, containing `fragment`.
// Returns "" when it does, else what is wrong.
std::string refusal_problem(const CliResult& r, int code, const std::string& fragment);

}  // namespace hmoe::bad_inputs
