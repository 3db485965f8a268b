#include "tools/cli/args.h"

#include <cctype>
#include <cerrno>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "runtime/api/hypermoe.h"
#include "tools/cli/output.h"

namespace hmoe::cli {

namespace {

int64_t to_int(const std::string& flag, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE)
    throw UsageError("invalid integer '" + v + "' for " + flag);
  return x;
}

double to_double(const std::string& flag, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x))
    throw UsageError("invalid number '" + v + "' for " + flag);
  return x;
}
}  // namespace

ArgParser::ArgParser(std::string command, std::string usage_line, std::string description)
    : command_(std::move(command)), usage_(std::move(usage_line)), description_(std::move(description)) {}

ArgParser& ArgParser::add(const std::string& names, const std::string& help, bool takes_value,
                          std::function<void(const std::string&, const std::string&)> set) {
  opts_.push_back({split_commas(names), help, takes_value, false, std::move(set)});
  return *this;
}

ArgParser& ArgParser::opt(const std::string& names, std::string* out, const std::string& help) {
  return add(names, help, true, [out](const std::string&, const std::string& v) { *out = v; });
}
ArgParser& ArgParser::opt(const std::string& names, int64_t* out, const std::string& help) {
  return add(names, help, true, [out](const std::string& f, const std::string& v) { *out = to_int(f, v); });
}
ArgParser& ArgParser::opt(const std::string& names, int* out, const std::string& help) {
  return add(names, help, true, [out](const std::string& f, const std::string& v) {
    int64_t x = to_int(f, v);
    if (x < -2147483647LL || x > 2147483647LL) throw UsageError("value '" + v + "' for " + f + " is out of range");
    *out = static_cast<int>(x);
  });
}
ArgParser& ArgParser::opt(const std::string& names, double* out, const std::string& help) {
  return add(names, help, true, [out](const std::string& f, const std::string& v) { *out = to_double(f, v); });
}
ArgParser& ArgParser::opt(const std::string& names, float* out, const std::string& help) {
  return add(names, help, true, [out](const std::string& f, const std::string& v) {
    // A double past FLT_MAX would become an infinity as a float (and the cast is UB).
    const double x = to_double(f, v);
    if (std::fabs(x) > static_cast<double>(FLT_MAX)) throw UsageError("value '" + v + "' for " + f + " is out of range");
    *out = static_cast<float>(x);
  });
}
ArgParser& ArgParser::path(const std::string& names, std::string* out, const std::string& help) {
  return add(names, help, true, [out](const std::string& f, const std::string& v) {
    if (v.empty()) throw UsageError("option " + f + " needs a file name, got ''");
    *out = v;
  });
}
ArgParser& ArgParser::threads(const std::string& names, int* out) {
  const std::string help = "threads, 0 = the default: OMP_NUM_THREADS or the processors, at most the processors (default 0)";
  return add(names, help, true, [out](const std::string& f, const std::string& v) {
    const int64_t x = to_int(f, v);
    if (x < 0 || x > HMOE_MAX_THREADS)
      throw UsageError("--threads must be in [0, " + std::to_string(HMOE_MAX_THREADS) + "] (0: the default), got " + v);
    *out = static_cast<int>(x);
  });
}
ArgParser& ArgParser::multi(const std::string& names, std::vector<std::string>* out, const std::string& help) {
  return add(names, help, true, [out](const std::string&, const std::string& v) { out->push_back(v); });
}
ArgParser& ArgParser::flag(const std::string& names, bool* out, const std::string& help) {
  return add(names, help, false, [out](const std::string&, const std::string&) { *out = true; });
}
ArgParser& ArgParser::positional(const std::string& name, std::string* out, const std::string& help,
                                 bool required) {
  pos_.push_back({name, help, out, required});
  return *this;
}

ArgParser::Opt* ArgParser::find(const std::string& name) {
  for (auto& o : opts_)
    for (auto& n : o.names)
      if (n == name) return &o;
  return nullptr;
}
const ArgParser::Opt* ArgParser::find(const std::string& name) const {
  return const_cast<ArgParser*>(this)->find(name);
}
bool ArgParser::seen(const std::string& name) const {
  const Opt* o = find(name);
  return o && o->seen;
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  size_t npos = 0;
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (!only_positional && (a == "-h" || a == "--help")) {
      const std::string text = help();
      write_stdout(text.data(), text.size());
      return false;
    }
    if (!only_positional && a == "--") {
      only_positional = true;
      continue;
    }
    if (!only_positional && a.size() > 1 && a[0] == '-' && !(a.size() > 1 && (std::isdigit((unsigned char)a[1]) || a[1] == '.'))) {
      std::string value;
      bool has_inline = false;
      const size_t eq = a.find('=');
      if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_inline = true;
      }
      Opt* o = find(a);
      if (!o) throw UsageError("unknown option '" + a + "' (see --help)");
      o->seen = true;
      if (o->takes_value) {
        if (!has_inline) {
          if (i + 1 >= args.size()) throw UsageError("option " + a + " needs a value");
          value = args[++i];
        }
        o->set(a, value);
      } else {
        if (has_inline) throw UsageError("option " + a + " takes no value");
        o->set(a, "");
      }
      continue;
    }
    if (npos >= pos_.size()) throw UsageError("unexpected argument '" + a + "' (see --help)");
    // Positional arguments are file names: an empty one is a mistake, never "the default".
    if (a.empty()) throw UsageError(pos_[npos].name + " needs a file name, got ''");
    *pos_[npos++].out = a;
  }
  for (size_t i = npos; i < pos_.size(); ++i)
    if (pos_[i].required) throw UsageError("missing " + pos_[i].name + " (see --help)");
  return true;
}

std::string ArgParser::help() const {
  std::ostringstream os;
  os << "usage: hmoe " << command_ << ' ' << usage_ << "\n";
  if (!description_.empty()) os << "\n" << description_ << "\n";
  if (!pos_.empty()) {
    os << "\narguments:\n";
    for (auto& p : pos_) os << "  " << p.name << std::string(p.name.size() < 24 ? 24 - p.name.size() : 1, ' ') << p.help << "\n";
  }
  os << "\noptions:\n";
  for (auto& o : opts_) {
    std::string n;
    for (size_t i = 0; i < o.names.size(); ++i) n += (i ? ", " : "") + o.names[i];
    if (o.takes_value) n += " V";
    os << "  " << n << std::string(n.size() < 24 ? 24 - n.size() : 1, ' ') << o.help << "\n";
  }
  os << "  -h, --help              show this help\n";
  return os.str();
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    const size_t comma = text.find(',', pos);
    out.push_back(text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) return out;
    pos = comma + 1;
  }
}

std::vector<int32_t> parse_int_list(const std::string& flag, const std::string& text) {
  std::vector<int32_t> out;
  for (std::string item : split_commas(text)) {
    // trim spaces
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    int64_t v = to_int(flag, item);
    if (v < INT32_MIN || v > INT32_MAX) throw UsageError("value '" + item + "' for " + flag + " is out of range");
    out.push_back(static_cast<int32_t>(v));
  }
  if (out.empty()) throw UsageError(flag + " needs a comma-separated list of integers");
  return out;
}

}  // namespace hmoe::cli
