// A small flag parser shared by the subcommands: declared flags with typed values,
// `--help`, and a one-line error (exit code 2) for anything unknown or malformed; and
// guarded(), which runs a command and turns what it throws into one error line and an
// exit code (tests/BAD_INPUTS.md, section C, is the table).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hmoe::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ArgParser {
 public:
  ArgParser(std::string command, std::string usage_line, std::string description = "");

  // A flag taking a value; `names` like "-m,--model". Absent flags keep the default.
  ArgParser& opt(const std::string& names, std::string* out, const std::string& help);
  // A file name: as opt(), but an empty value is refused ("-m ''" would otherwise read
  // as "no -m" and pick a default the user did not ask for).
  ArgParser& path(const std::string& names, std::string* out, const std::string& help);
  // A thread count in [0, HMOE_MAX_THREADS]; 0 (the default) means the library's default
  // (hypermoe.h, "Threads"), which threads_or_default() resolves.
  ArgParser& threads(const std::string& names, int* out);
  ArgParser& opt(const std::string& names, int64_t* out, const std::string& help);
  ArgParser& opt(const std::string& names, int* out, const std::string& help);
  ArgParser& opt(const std::string& names, double* out, const std::string& help);
  ArgParser& opt(const std::string& names, float* out, const std::string& help);
  // A flag that may repeat; each value is appended.
  ArgParser& multi(const std::string& names, std::vector<std::string>* out, const std::string& help);
  // A switch without a value.
  ArgParser& flag(const std::string& names, bool* out, const std::string& help);
  // Positional arguments (file names: an empty one is refused), in order; `required`
  // ones must be present.
  ArgParser& positional(const std::string& name, std::string* out, const std::string& help,
                        bool required = true);

  // Returns false when --help was printed (caller exits 0). Throws UsageError.
  bool parse(const std::vector<std::string>& args);
  // Whether the flag (any of its names, e.g. "-m") was given.
  bool seen(const std::string& name) const;
  std::string help() const;
  const std::string& command() const { return command_; }

 private:
  struct Opt {
    std::vector<std::string> names;
    std::string help;
    bool takes_value = true;
    bool seen = false;
    std::function<void(const std::string&, const std::string&)> set;  // (flag, value)
  };
  struct Pos {
    std::string name, help;
    std::string* out;
    bool required;
  };
  Opt* find(const std::string& name);
  const Opt* find(const std::string& name) const;
  ArgParser& add(const std::string& names, const std::string& help, bool takes_value,
                 std::function<void(const std::string&, const std::string&)> set);

  std::string command_, usage_, description_;
  std::vector<Opt> opts_;
  std::vector<Pos> pos_;
};

// Runs `body`, then checks that standard output took everything written to it. Turns
// UsageError into "hmoe CMD: message" + exit 2 and any other failure (hypermoe::Error
// through exit_code_for, a write error on stdout, out of memory) into
// "hmoe CMD: error: message" + its exit code; prints nothing else.
int guarded(const std::string& command, const std::function<int()>& body);

// 0 -> the library's default thread count, else n.
int threads_or_default(int n);

// "1,2,3" -> {1,2,3}; throws UsageError naming the bad item.
// "a,b,,c" -> {"a", "b", "", "c"}: empty items are kept, so callers can refuse them.
std::vector<std::string> split_commas(const std::string& text);
std::vector<int32_t> parse_int_list(const std::string& flag, const std::string& text);

}  // namespace hmoe::cli
