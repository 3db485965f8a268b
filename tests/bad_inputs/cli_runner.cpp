#include "tests/bad_inputs/cli_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

#ifndef HMOE_BUILT_BIN
#error "the build defines HMOE_BUILT_BIN (the hmoe executable)"
#endif

namespace hmoe::bad_inputs {

namespace {

std::string hmoe_binary() {
  const char* bin = std::getenv("HMOE_BIN");
  return bin && *bin ? bin : HMOE_BUILT_BIN;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

std::vector<std::string> CliResult::error_lines() const {
  std::vector<std::string> out;
  for (const std::string& line : lines_of(err))
    if (line.rfind("hmoe ", 0) == 0 || line.rfind("hmoe:", 0) == 0) out.push_back(line);
  return out;
}

std::string CliResult::describe() const {
  std::ostringstream os;
  if (timed_out) os << "timed out; ";
  if (signal) os << "killed by signal " << signal << " (" << strsignal(signal) << "); ";
  else os << "exit " << exit_code << "; ";
  os << "stderr: <<" << err << ">>";
  return os.str();
}

CliResult run_hmoe(const std::vector<std::string>& args, int timeout_s) {
  RunOptions o;
  o.timeout_s = timeout_s;
  return run_hmoe(args, o);
}

CliResult run_hmoe(const std::vector<std::string>& args, const RunOptions& o) {
  const std::string bin = hmoe_binary();
  int out_pipe[2], err_pipe[2], in_pipe[2] = {-1, -1};
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe() failed");
  if (o.use_stdin_data && pipe(in_pipe) != 0) throw std::runtime_error("pipe() failed");
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // A child that exits without reading all of its stdin must not kill this process.
  signal(SIGPIPE, SIG_IGN);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    if (o.use_stdin_data) {
      dup2(in_pipe[0], 0);
      close(in_pipe[0]);
      close(in_pipe[1]);
    } else {
      const int in = open(o.stdin_path.c_str(), O_RDONLY);
      dup2(in, 0);
    }
    if (!o.stdout_path.empty()) {
      const int out = open(o.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
    } else {
      dup2(out_pipe[1], 1);
    }
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    for (const auto& [name, value] : o.env) setenv(name.c_str(), value.c_str(), 1);
    if (o.fsize_limit >= 0) {
      signal(SIGXFSZ, SIG_IGN);  // ignored dispositions survive exec: writes fail with EFBIG
      const rlimit lim{static_cast<rlim_t>(o.fsize_limit), static_cast<rlim_t>(o.fsize_limit)};
      setrlimit(RLIMIT_FSIZE, &lim);
    }
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (o.use_stdin_data) close(in_pipe[0]);

  CliResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {in_pipe[1], POLLOUT, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  size_t written = 0;
  if (o.use_stdin_data && o.stdin_data.empty()) {
    close(in_pipe[1]);
    fds[2].fd = -1;
  }
  bool interrupted = false;
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    if (poll(fds, 3, static_cast<int>(left.count())) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = (fds[2].revents & POLLOUT)
                            ? write(fds[2].fd, o.stdin_data.data() + written, o.stdin_data.size() - written)
                            : -1;
      if (n > 0) written += static_cast<size_t>(n);
      if (n <= 0 || written == o.stdin_data.size()) {
        close(fds[2].fd);
        fds[2].fd = -1;
      }
    }
    if (o.interrupt_after > 0 && !interrupted && r.out.size() >= o.interrupt_after) {
      kill(pid, SIGINT);
      interrupted = true;
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

std::string refusal_problem(const CliResult& r, int code, const std::string& fragment) {
  if (r.timed_out || r.signal) return r.describe();
  if (r.exit_code != code) return "expected exit " + std::to_string(code) + ", got " + r.describe();
  const std::vector<std::string> errors = r.error_lines();
  if (errors.size() != 1) return "expected one 'hmoe ...' error line, got " + std::to_string(errors.size()) + "; " + r.describe();
  const std::vector<std::string> all = lines_of(r.err);
  if (all.empty() || all.back() != errors[0]) return "the error is not stderr's last line; " + r.describe();
  if (errors[0].find(fragment) == std::string::npos) return "the error lacks '" + fragment + "'; " + r.describe();
  return "";
}

}  // namespace hmoe::bad_inputs
