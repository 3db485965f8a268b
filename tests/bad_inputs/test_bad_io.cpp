// Rows I, O and S of tests/BAD_INPUTS.md: what hmoe reads (files that are not regular
// files, inputs without end), what it writes (destinations it must refuse, writes that
// fail half-way, standard output that cannot take its results) and mapped files
// truncated under it.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/atomic_file.h"
#include "formats/error.h"
#include "formats/file_io.h"
#include "formats/model_file.h"
#include "runtime/api/hypermoe.hpp"
#include "runtime/model/model.h"
#include "runtime/model/session.h"
#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

using namespace hmoe;
using namespace hmoe::bad_inputs;

namespace {

std::string model() { return seed_model_path("hyper_n4k2_f32_tok"); }

void expect(const CliResult& r, int code, const std::string& fragment) {
  const std::string problem = refusal_problem(r, code, fragment);
  CHECK_MESSAGE(problem.empty(), problem);
}

void write_text(const std::string& path, const std::string& text) { write_file(path, {text.begin(), text.end()}); }

// A Unix socket bound at `path` (closed, the file stays).
void make_socket(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof addr.sun_path);
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  close(fd);
}

// Every command that reads a model file, with `path` as that file.
std::vector<std::vector<std::string>> model_readers(const std::string& path, const std::string& text, const std::string& out) {
  return {{"run", "-m", path, "--ids", "1", "-n", "1"},
          {"logits", "-m", path, "--ids", "1"},
          {"tokenize", "-m", path, "-p", "x"},
          {"perplexity", "-m", path, "-f", text},
          {"inspect", path},
          {"inspect", "-m", path},
          {"quantize", path, out, "--type", "q8"},
          {"bench", "-m", path, "-p", "2", "-n", "0", "-r", "1"}};
}

// Every command that reads a text file, with `path` as that file.
std::vector<std::vector<std::string>> text_readers(const std::string& path) {
  return {{"run", "-m", model(), "-f", path, "-n", "1"},
          {"tokenize", "-m", model(), "-f", path},
          {"perplexity", "-m", model(), "-f", path}};
}

}  // namespace

TEST_CASE("I01 a FIFO, a device, a directory or a socket where a file is read") {
  TempDir dir("i01");
  const std::string fifo = dir.file("fifo"), sock = dir.file("sock"), text = dir.file("text.txt");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  make_socket(sock);
  write_text(text, "In the beginning God created the heaven and the earth.");
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {fifo, "(it is a FIFO)"}, {sock, "(it is a socket)"}, {"/dev/zero", "(it is a character device)"},
      {dir.path(), "(it is a directory)"}};
  for (const auto& [path, kind] : kinds) {
    CAPTURE(path);
    // As a model file: refused without opening it (a FIFO would block open() forever).
    for (const auto& args : model_readers(path, text, dir.file("out.hmoe"))) {
      CAPTURE(args[0]);
      expect(run_hmoe(args, 30), 1, "model file '" + path + "' is not a regular file " + kind);
    }
    // As a text input.
    for (const auto& args : text_readers(path)) {
      CAPTURE(args[0]);
      expect(run_hmoe(args, 30), 1, "input file '" + path + "' is not a regular file " + kind);
    }
  }
  CHECK(!std::filesystem::exists(dir.file("out.hmoe")));
  // The core and the C API: an I/O error, not a bad file, found before opening.
  try {
    ModelFile::open(fifo);
    FAIL("a FIFO opened as a model file");
  } catch (const Error& e) {
    CHECK(e.status() == Status::Io);
    CHECK(std::string(e.what()).find("(it is a FIFO)") != std::string::npos);
  }
  hmoe_model* m = nullptr;
  CHECK(hmoe_model_load(fifo.c_str(), nullptr, &m) == HMOE_ERR_IO);
  CHECK(std::string(hmoe_last_error()).find("is not a regular file (it is a FIFO)") != std::string::npos);
  CHECK_THROWS_WITH_AS(read_regular_file(sock, "input file"), doctest::Contains("(it is a socket)"), IoError);
}

TEST_CASE("I02 text inputs past the size limit: /dev/zero and /dev/urandom on stdin, a huge file") {
  TempDir dir("i02");
  const std::string limit = "is larger than the 64 MiB limit for text inputs";
  RunOptions zero, urandom;
  zero.stdin_path = "/dev/zero";
  urandom.stdin_path = "/dev/urandom";
  // Standard input is read with the limit (it never ends: without one, until memory runs out).
  expect(run_hmoe({"run", "-m", model(), "-f", "-"}, zero), 1, "standard input " + limit);
  expect(run_hmoe({"tokenize", "-m", model(), "-f", "-"}, urandom), 1, "standard input " + limit);
  expect(run_hmoe({"perplexity", "-m", model(), "-f", "-"}, zero), 1, "standard input " + limit);
  // An interactive session reads lines: one without end is refused the same way.
  expect(run_hmoe({"run", "-m", model(), "-i", "-n", "1"}, zero), 1, "a line of standard input " + limit);
  // A regular file past the limit is refused by its size, before it is read (sparse: no disk).
  const std::string huge = dir.file("huge.txt");
  write_text(huge, "");
  std::filesystem::resize_file(huge, kMaxTextInputBytes + 1);
  for (const auto& args : text_readers(huge)) {
    CAPTURE(args[0]);
    expect(run_hmoe(args), 1, "input file '" + huge + "' " + limit);
  }
  // The control: a prompt on standard input is read as -p gives it.
  RunOptions hello;
  hello.use_stdin_data = true;
  hello.stdin_data = "In the beginning";
  const CliResult piped = run_hmoe({"tokenize", "-m", model(), "-f", "-"}, hello);
  const CliResult direct = run_hmoe({"tokenize", "-m", model(), "-p", "In the beginning"});
  CHECK_MESSAGE(piped.exit_code == 0, piped.describe());
  CHECK(piped.out == direct.out);
  CHECK(!piped.out.empty());
}

TEST_CASE("O01 an output that is a directory, a device, or in a place no file can be made") {
  // Devices are stood in for by a FIFO in a temporary directory: a writer that renamed
  // its file over /dev/null, as `hmoe quantize IN /dev/null` did before this row, would
  // replace the system's /dev/null when run as root.
  TempDir dir("o01"), devices("o01_devices");
  const std::string missing_input = dir.file("no_such_input.hmoe"), fifo = devices.file("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {dir.path(), "it is a directory"},
      {"/tmp", "it is a directory"},
      {dir.path() + "/", "it names a directory"},
      {fifo, "it exists and is not a regular file (it is a FIFO)"},
      {"/proc/hmoe_out.hmoe", "cannot create a file in '/proc'"},
      {dir.file("no/such/dir/o.hmoe"), "cannot create a file in '" + dir.file("no/such/dir") + "': No such file"}};
  for (const auto& [out, why] : bad) {
    CAPTURE(out);
    // Refused before any work: the input, which does not exist, is never looked at.
    expect(run_hmoe({"quantize", missing_input, out, "--type", "q8"}), 1, "cannot write '" + out + "': " + why);
    expect(run_hmoe({"quantize", model(), out, "--type", "q8", "--bake-hyper"}), 1, why);
    expect(run_hmoe({"logits", "-m", model(), "--ids", "1,2", "-o", out}), 1, why);
    CHECK_THROWS_WITH_AS(AtomicFile{out}, doctest::Contains(why.c_str()), IoError);
  }
  // Nothing was left anywhere: not "DIR.tmp" beside a directory, not "/tmp.tmp" at the root.
  CHECK(dir.list().empty());
  CHECK(devices.list() == std::vector<std::string>{"fifo"});
  struct stat st {};
  CHECK((stat(fifo.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)));
  // A device is refused the same way, checked without writing anything (AtomicFile alone).
  CHECK_THROWS_WITH_AS(AtomicFile{"/dev/null"}, doctest::Contains("(it is a character device)"), IoError);
  CHECK(!std::filesystem::exists(dir.path() + ".tmp"));
  CHECK(!std::filesystem::exists("/tmp.tmp"));
  // An empty name is a usage error (row C05).
  expect(run_hmoe({"logits", "-m", model(), "--ids", "1", "-o", ""}), 2, "option -o needs a file name");
}

TEST_CASE("O02 a write that fails half-way (a full disk) leaves nothing and says why") {
  TempDir dir("o02");
  RunOptions full;
  full.fsize_limit = 8192;  // the seed model is 77 KiB: every writer fails after 8 KiB
  const std::string out = dir.file("out.hmoe"), npy = dir.file("logits.npy");
  const std::string why = "failed: File too large";
  expect(run_hmoe({"quantize", model(), out, "--type", "q8"}, full), 1, "writing '" + out + "' " + why);
  expect(run_hmoe({"quantize", model(), out, "--type", "q8", "--bake-hyper"}, full), 1, why);
  std::string ids;
  for (int i = 0; i < 16; ++i) ids += (i ? "," : "") + std::to_string(i);  // 16 x 300 logits: 19 KiB
  expect(run_hmoe({"logits", "-m", model(), "--ids", ids, "-o", npy}, full), 1, "writing '" + npy + "' " + why);
  // The synthetic model writer, through bench.
  expect(run_hmoe({"bench", "--synthetic", "d=32,L=1,N=4,k=2,b=8,H=8,V=64,P=16,e=8,pd=8,hin=8,le=4", "-p", "2",
                   "-n", "0", "-r", "1", "--synthetic-dir", dir.path()},
                  full),
         1, why);
  CHECK(dir.list().empty());
  // A failed rewrite leaves the old file as it was.
  const std::vector<uint8_t> old = {'o', 'l', 'd'};
  write_file(out, old);
  expect(run_hmoe({"quantize", model(), out, "--type", "q8"}, full), 1, why);
  CHECK(read_file(out) == old);
  CHECK(dir.list() == std::vector<std::string>{"out.hmoe"});
  // Without the limit, the same commands write whole files.
  const CliResult ok = run_hmoe({"quantize", model(), out, "--type", "q8"});
  CHECK_MESSAGE(ok.exit_code == 0, ok.describe());
  CHECK_NOTHROW(ModelFile::open(out));
  CHECK(dir.list() == std::vector<std::string>{"out.hmoe"});
}

TEST_CASE("O03 standard output that cannot take the results (/dev/full)") {
  TempDir dir("o03");
  const std::string text = dir.file("text.txt");
  write_text(text, "In the beginning God created the heaven and the earth.");
  RunOptions full;
  full.stdout_path = "/dev/full";
  const std::vector<std::vector<std::string>> commands = {
      {"tokenize", "-m", model(), "-p", "hello"},
      {"tokenize", "-m", model(), "-p", "hello", "--json"},
      {"inspect", model()},
      {"inspect", model(), "--json"},
      {"logits", "-m", model(), "--ids", "1,2"},
      {"logits", "-m", model(), "--ids", "1,2", "--greedy", "2"},
      {"run", "-m", model(), "--ids", "1,2", "-n", "2"},
      {"run", "-m", model(), "-p", "In the beginning", "-n", "2"},
      {"perplexity", "-m", model(), "-f", text},
      {"quantize", model(), dir.file("q.hmoe"), "--type", "q8"},
      {"version"},
      {"run", "--help"}};
  for (const auto& args : commands) {
    CAPTURE(args[0]);
    CAPTURE(args.back());
    expect(run_hmoe(args, full), 1, "cannot write to standard output: No space left on device");
  }
  RunOptions to_full;
  to_full.stdout_path = "/dev/full";
  const CliResult usage = run_hmoe({"--help"}, to_full);
  CHECK_MESSAGE(usage.exit_code == 1, usage.describe());
}

TEST_CASE("S01 a model file truncated while it is mapped: SIGBUS, documented") {
  // Decision, not a fix: the weights are mapped, as in llama.cpp; pages cut off by another
  // process's truncation raise SIGBUS on access. hypermoe.h, model_file.h and
  // tests/BAD_INPUTS.md say so, and that files must be replaced by rename (as every
  // writer of the project does, formats/atomic_file.h). This test pins the behaviour.
  TempDir dir("s01");
  const std::string path = dir.file("model.hmoe");
  write_file(path, read_file(model()));
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ModelOptions mo;
    mo.n_threads = 1;
    auto m = Model::load(path, mo);
    if (truncate(path.c_str(), 0) != 0) _exit(3);
    signal(SIGBUS, SIG_DFL);  // a sanitizer's handler would turn the signal into an exit code
    SessionOptions so;
    so.n_threads = 1;
    Session s(m, so);
    const int32_t ids[2] = {1, 2};
    std::vector<float> logits(300);
    s.eval(ids, 2, logits.data());  // touches the lost pages
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGBUS);
  // A replacement by rename leaves the mapping of the old file intact.
  write_file(path, read_file(model()));
  ModelOptions mo;
  mo.n_threads = 1;
  auto m = Model::load(path, mo);
  const std::string next = dir.file("next.hmoe");
  write_file(next, read_file(model()));
  REQUIRE(std::rename(next.c_str(), path.c_str()) == 0);
  SessionOptions so;
  so.n_threads = 1;
  Session s(m, so);
  const int32_t ids[2] = {1, 2};
  std::vector<float> logits(300);
  CHECK_NOTHROW(s.eval(ids, 2, logits.data()));
}
