// Ctrl-C for `hmoe run`: while an InterruptScope lives, SIGINT sets a flag instead of
// ending the process. The generation loop polls the flag between tokens (the API's
// `cancel`), so Ctrl-C stops generation and the command still prints its statistics,
// as llama-cli does. System calls are not restarted, so a read waiting for input
// returns (LineReader reports Interrupted).
#pragma once
#include <signal.h>

namespace hmoe::cli {

class InterruptScope {
 public:
  // once: the first Ctrl-C sets the flag and the next one ends the process as usual
  // (for a prompt that takes long to evaluate: the flag is only read between tokens).
  explicit InterruptScope(bool once);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  const volatile sig_atomic_t* flag() const;
  bool interrupted() const;
  void clear();  // to go on after a handled Ctrl-C (the next turn of an interactive session)

 private:
  struct sigaction previous_ {};
};

}  // namespace hmoe::cli
