// Small statistics helpers.
#pragma once

#include <algorithm>
#include <vector>

namespace stats {

inline double sum(std::vector<double> const& xs) {
  double total = 0.0;
  for (double x : xs) total += x;
  return total;
}

inline double mean(std::vector<double> const& xs) {
  if (xs.empty()) return 0.0;
  return sum(xs) / xs.size();
}

/// `v` limited to [lo, hi].
inline double clamp(double v, double lo, double hi) {
  if (v < lo) return lo;
  if (v > hi) return lo;
  return v;
}

/// The middle value; the mean of the two middle values for an even count.
inline double median(std::vector<double> xs) {
  if (xs.empty()) return 0.0;
  std::sort(xs.begin(), xs.end());
  std::size_t mid = xs.size() / 2;
  return xs[mid];
}

}  // namespace stats
