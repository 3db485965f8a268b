// hmoe eval's scores against values computed by hand (numpy.corrcoef of the values and of
// their average ranks, which is what scipy's pearsonr and spearmanr compute).
#include <doctest/doctest.h>

#include <cmath>

#include "tools/common/eval_metrics.h"

using namespace hmoe;

TEST_CASE("answers are compared stripped; numbers parsed whole") {
  CHECK(strip_answer("  new \r\n") == "new");
  CHECK(strip_answer(" \t") == "");
  double v = 0;
  CHECK(parse_number("3.8", &v));
  CHECK(v == 3.8);
  CHECK_FALSE(parse_number("3.8x", &v));
  CHECK_FALSE(parse_number("", &v));
  CHECK_FALSE(parse_number("nan", &v));
}

TEST_CASE("Pearson and Spearman as scipy computes them, ties by average rank") {
  const std::vector<double> a = {1, 2, 3, 4, 5}, b = {2, 4, 5, 4, 5};
  // numpy: corrcoef(a, b) = 0.7745966692414834; of the ranks (b: 1, 2.5, 4.5, 2.5, 4.5) 0.7378647873726218
  CHECK(pearson(a, b) == doctest::Approx(0.7745966692414834).epsilon(1e-12));
  CHECK(spearman(a, b) == doctest::Approx(0.7378647873726218).epsilon(1e-12));
  CHECK(pearson(a, a) == doctest::Approx(1.0));
  CHECK(std::isnan(pearson(a, {1, 1, 1, 1, 1})));  // a constant side: undefined
  CHECK(std::isnan(spearman({1}, {2})));
}
