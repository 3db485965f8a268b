// A progress bar on stderr for long work (quantize, perplexity): drawn only when stderr
// is a terminal, so logs and pipes stay clean.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <string>

namespace hmoe::cli {

class ProgressBar {
 public:
  ProgressBar() : tty_(isatty(fileno(stderr)) != 0) {}
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // f in [0, 1]; `what` is shown after the percentage.
  void update(double f, const std::string& what) {
    if (!tty_) return;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    const int width = 30, fill = static_cast<int>(f * width + 0.5);
    std::fprintf(stderr, "\r[%s%s] %3d%% %-48.48s", std::string(fill, '#').c_str(),
                 std::string(width - fill, ' ').c_str(), static_cast<int>(f * 100 + 0.5), what.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  ~ProgressBar() {
    if (drawn_) std::fprintf(stderr, "\n");
  }

 private:
  bool tty_;
  bool drawn_ = false;
};

}  // namespace hmoe::cli
