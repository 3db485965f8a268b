// Where the C++ API tests find make_api_models.py's output: $HMOE_API_MODELS, else the
// folder the build's api_models test writes.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace api_test {

inline std::string model_dir() {
  const char* d = std::getenv("HMOE_API_MODELS");
#ifdef HMOE_API_MODELS_DEFAULT
  if (!d || !*d) d = HMOE_API_MODELS_DEFAULT;
#endif
  if (!d || !*d) throw std::runtime_error("set HMOE_API_MODELS to make_api_models.py's --work folder");
  return d;
}

// n8k2.ref: the reference's prompt, its ids and the greedy continuation; sw.ref: an
// encoder input (input_ids) and the greedy answer.
struct Reference {
  std::string prompt;
  std::vector<int32_t> prompt_ids, input_ids, greedy;
};

inline Reference read_reference(const std::string& name = "n8k2") {
  const std::string path = model_dir() + "/" + name + ".ref";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  Reference r;
  std::string line;
  auto ids = [](const std::string& rest) {
    std::istringstream is(rest);
    std::vector<int32_t> out;
    for (int32_t v; is >> v;) out.push_back(v);
    return out;
  };
  while (std::getline(f, line)) {
    if (line.rfind("prompt_ids ", 0) == 0) r.prompt_ids = ids(line.substr(11));
    else if (line.rfind("input_ids ", 0) == 0) r.input_ids = ids(line.substr(10));
    else if (line.rfind("greedy ", 0) == 0) r.greedy = ids(line.substr(7));
    else if (line.rfind("prompt ", 0) == 0) r.prompt = line.substr(7);
  }
  return r;
}

}  // namespace api_test
