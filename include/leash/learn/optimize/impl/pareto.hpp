// leash/learn/optimize/impl/pareto.hpp — the sort-then-sweep frontier.
#ifndef LEASH_LEARN_OPTIMIZE_IMPL_PARETO_HPP
#define LEASH_LEARN_OPTIMIZE_IMPL_PARETO_HPP

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace leash::learn::optimize {

namespace detail {

/// The non-dominated rows of `values` (n rows of m maximised coordinates,
/// row-major), ascending; rows holding a NaN are left out.
///
/// Why testing against the frontier found so far is enough: sorted
/// lexicographically from best to worst, a point can only be dominated by
/// one before it; and if a point before it that dominates it is itself
/// dominated, what dominates that one dominates it too (dominance is
/// transitive), so some frontier member before it does.
inline std::vector<std::size_t> frontier_rows(std::span<double const> values, std::size_t n, std::size_t m) {
  assert(values.size() == n * m);
  auto row = [&](std::size_t i) { return values.data() + i * m; };

  std::vector<std::size_t> order;
  order.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    double const* p = row(i);
    if (std::none_of(p, p + m, [](double x) { return std::isnan(x); })) order.push_back(i);
  }
  if (m == 0) return order;  // no objectives: every point is as good as any other

  // Best first, lexicographically; equal points end up next to each other.
  // The index breaks ties only so that the order is total.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    double const* x = row(a);
    double const* y = row(b);
    for (std::size_t k = 0; k < m; ++k)
      if (x[k] != y[k]) return x[k] > y[k];
    return a < b;
  });

  std::vector<std::size_t> kept;
  // Points are taken a group of identical ones at a time: a group is on the
  // frontier or off it as a whole, and needs only one test. Every point of an
  // earlier group differs from the current one and is lexicographically
  // greater, so it is ≥ on the first coordinate; it dominates the current
  // point exactly when it is ≥ on all the others too (being different, it is
  // then > somewhere).
  auto const same = [&](double const* a, double const* b) { return std::equal(a, a + m, b); };
  if (m == 2) {
    // An earlier point dominates iff its second coordinate is ≥ ours: keep
    // the largest second coordinate seen so far.
    double best = 0.0;
    bool any = false;
    for (std::size_t g = 0; g < order.size();) {
      double const* p = row(order[g]);
      std::size_t e = g + 1;
      while (e < order.size() && same(p, row(order[e]))) ++e;
      if (!any || p[1] > best) {
        kept.insert(kept.end(), order.begin() + std::ptrdiff_t(g), order.begin() + std::ptrdiff_t(e));
        best = p[1];
        any = true;
      }
      g = e;
    }
  } else {
    std::vector<double> front;  // one representative per frontier group, row-major
    for (std::size_t g = 0; g < order.size();) {
      double const* p = row(order[g]);
      std::size_t e = g + 1;
      while (e < order.size() && same(p, row(order[e]))) ++e;
      bool dominated = false;
      for (std::size_t r = 0; r < front.size() && !dominated; r += m) {
        double const* q = front.data() + r;
        std::size_t k = 1;  // q[0] ≥ p[0] holds by the sort
        while (k < m && q[k] >= p[k]) ++k;
        dominated = k == m;
      }
      if (!dominated) {
        front.insert(front.end(), p, p + m);
        kept.insert(kept.end(), order.begin() + std::ptrdiff_t(g), order.begin() + std::ptrdiff_t(e));
      }
      g = e;
    }
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

}  // namespace detail

inline std::vector<std::size_t> pareto_frontier(std::span<std::vector<double> const> points) {
  std::size_t const n = points.size();
  std::size_t const m = n ? points[0].size() : 0;
  std::vector<double> values(n * m);
  for (std::size_t i = 0; i < n; ++i) {
    assert(points[i].size() == m && "pareto_frontier: every point needs the same number of coordinates");
    if (points[i].size() == m)
      std::copy(points[i].begin(), points[i].end(), values.begin() + std::ptrdiff_t(i * m));
    else if (m)  // without assertions: a malformed point cannot be compared, like a NaN
      values[i * m] = std::numeric_limits<double>::quiet_NaN();
  }
  return detail::frontier_rows(values, n, m);
}

inline std::vector<std::size_t> pareto_frontier(std::span<TrialResult const> trials,
                                                std::span<ObjectiveSpec const> objectives) {
  std::vector<std::size_t> candidates;
  candidates.reserve(trials.size());
  for (std::size_t i = 0; i < trials.size(); ++i)
    if (!trials[i].failed) candidates.push_back(i);

  // Columns of the objectives some candidate measured; the others are ignored.
  std::size_t const n = candidates.size();
  std::vector<std::vector<double>> columns;
  for (auto const& objective : objectives) {
    std::vector<double> column(n);
    bool measured = false;
    for (std::size_t c = 0; c < n; ++c) {
      double v = objective_value(trials[candidates[c]], objective.metric);
      column[c] = objective.direction == ObjectiveSpec::Direction::minimize ? -v : v;
      measured = measured || !std::isnan(v);
    }
    if (measured) columns.push_back(std::move(column));
  }

  std::size_t const m = columns.size();
  std::vector<double> values(n * m);
  for (std::size_t k = 0; k < m; ++k)
    for (std::size_t c = 0; c < n; ++c) values[c * m + k] = columns[k][c];

  auto rows = detail::frontier_rows(values, n, m);  // rows with a NaN are left out
  for (auto& r : rows) r = candidates[r];
  return rows;
}

}  // namespace leash::learn::optimize

#endif
