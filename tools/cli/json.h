// JSON string quoting for the commands' --json output.
#pragma once
#include <string>
#include <string_view>

namespace hmoe::cli {

// `s` as a JSON string literal: quotes, backslash and control characters escaped, valid
// UTF-8 kept as it is, any other byte replaced by \ufffd (so the output is valid JSON).
std::string json_quote(std::string_view s);

}  // namespace hmoe::cli
