// The scores `hmoe eval` reports, as GLUE computes them: exact-match accuracy of
// stripped strings, and Pearson and Spearman correlation (ties given their average
// rank, as scipy) for regression tasks.
#pragma once
#include <string>
#include <vector>

namespace hmoe {

// `s` without leading and trailing spaces, tabs, CRs and newlines.
std::string strip_answer(const std::string& s);

// True when `s` is a finite number in full (strtod), written to *v.
bool parse_number(const std::string& s, double* v);

// NaN when fewer than two pairs or either side is constant.
double pearson(const std::vector<double>& a, const std::vector<double>& b);
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace hmoe
