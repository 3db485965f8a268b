#include "tools/cli/interrupt.h"

namespace hmoe::cli {

namespace {
volatile sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }
}  // namespace

InterruptScope::InterruptScope(bool once) {
  g_interrupted = 0;
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = once ? SA_RESETHAND : 0;  // no SA_RESTART: a waiting read returns EINTR
  sigaction(SIGINT, &sa, &previous_);
}

InterruptScope::~InterruptScope() { sigaction(SIGINT, &previous_, nullptr); }

const volatile sig_atomic_t* InterruptScope::flag() const { return &g_interrupted; }
bool InterruptScope::interrupted() const { return g_interrupted != 0; }
void InterruptScope::clear() { g_interrupted = 0; }

}  // namespace hmoe::cli
