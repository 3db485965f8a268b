// Row U01 of tests/BAD_INPUTS.md: what `cmake --install` gives a user: the `hmoe` CLI
// and the model it runs by default, and a pkg-config file that keeps the library's
// dependencies (Highway) to itself.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/bad_inputs/cli_runner.h"
#include "tests/bad_inputs/model_surgery.h"

#if !defined(HMOE_CMAKE_COMMAND) || !defined(HMOE_BUILD_DIR)
#error "the build defines HMOE_CMAKE_COMMAND and HMOE_BUILD_DIR"
#endif

using namespace hmoe::bad_inputs;

namespace {

// Runs a shell command; its stdout, and the exit status in *rc.
std::string shell(const std::string& command, int* rc) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace

TEST_CASE("U01 cmake --install gives the CLI and its model, and pkg-config keeps Highway private") {
  TempDir dir("u01");
  const std::string prefix = dir.file("prefix");
  int rc = 0;
  const std::string log = shell("'" HMOE_CMAKE_COMMAND "' --install '" HMOE_BUILD_DIR "' --prefix '" + prefix + "' 2>&1", &rc);
  REQUIRE_MESSAGE(rc == 0, log);
  namespace fs = std::filesystem;
  const std::string hmoe = prefix + "/bin/hmoe";
  CHECK(fs::exists(hmoe));
  CHECK(fs::exists(prefix + "/share/hypermoe/models/kjv-hypermoe-q8.hmoe"));
  // The installed CLI finds the installed model without -m (and without $HMOE_MODEL).
  const std::string run = shell("cd / && env -u HMOE_MODEL OMP_NUM_THREADS=1 '" + hmoe +
                                    "' run -p 'And God said' -n 3 --temp 0 2>&1",
                                &rc);
  CHECK_MESSAGE(rc == 0, run);
  CHECK(run.find(prefix + "/bin/../share/hypermoe/models/kjv-hypermoe-q8.hmoe") != std::string::npos);
  // pkg-config: Highway is linked into the library, so its flags must not reach consumers
  // (Requires.private: libhwy put -DHWY_SHARED_DEFINE in every consumer's cflags).
  std::string pc_dir;
  for (const auto& e : fs::recursive_directory_iterator(prefix))
    if (e.path().filename() == "hypermoe.pc") pc_dir = e.path().parent_path().string();
  REQUIRE(!pc_dir.empty());
  const std::string env = "PKG_CONFIG_PATH='" + pc_dir + "' ";
  if (shell("command -v pkg-config >/dev/null 2>&1", &rc), rc == 0) {
    for (const std::string query : {"--cflags", "--cflags --static", "--libs", "--libs --static"}) {
      CAPTURE(query);
      const std::string flags = shell(env + "pkg-config " + query + " hypermoe 2>&1", &rc);
      CHECK_MESSAGE(rc == 0, flags);
      CHECK(flags.find("HWY") == std::string::npos);
    }
    const std::string libs = shell(env + "pkg-config --libs --static hypermoe 2>&1", &rc);
    CHECK(libs.find("-lhwy") != std::string::npos);  // static linking still gets it
  }
}
