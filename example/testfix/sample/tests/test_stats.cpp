// test_stats NAME: runs one test, exits 0 when it passes.
#include "stats.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>

static int failures = 0;

static void expect_near(double got, double want, char const* what) {
  if (std::fabs(got - want) > 1e-9) {
    std::printf("FAIL %s: got %g, want %g\n", what, got, want);
    ++failures;
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test_stats NAME\n");
    return 2;
  }
  char const* name = argv[1];
  if (!std::strcmp(name, "sum")) {
    expect_near(stats::sum({1, 2, 3.5}), 6.5, "sum({1, 2, 3.5})");
    expect_near(stats::sum({}), 0, "sum({})");
  } else if (!std::strcmp(name, "mean")) {
    expect_near(stats::mean({2, 4, 9}), 5, "mean({2, 4, 9})");
    expect_near(stats::mean({}), 0, "mean({})");
  } else if (!std::strcmp(name, "clamp")) {
    expect_near(stats::clamp(5, 0, 10), 5, "clamp(5, 0, 10)");
    expect_near(stats::clamp(-1, 0, 10), 0, "clamp(-1, 0, 10)");
    expect_near(stats::clamp(11, 0, 10), 10, "clamp(11, 0, 10)");
  } else if (!std::strcmp(name, "median")) {
    expect_near(stats::median({3, 1, 2}), 2, "median({3, 1, 2})");
    expect_near(stats::median({4, 1, 3, 2}), 2.5, "median({4, 1, 3, 2})");
  } else {
    std::fprintf(stderr, "unknown test %s\n", name);
    return 2;
  }
  return failures == 0 ? 0 : 1;
}
