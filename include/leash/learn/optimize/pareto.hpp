// leash/learn/optimize/pareto.hpp — the Pareto frontier of trials: the ones
// no other trial beats on every objective at once.
//
//   namespace opt = leash::learn::optimize;
//   std::vector<opt::TrialResult> trials = …;
//   auto objectives = opt::default_objectives();  // accuracy↑, latency↓, cost↓
//   for (std::size_t i : opt::pareto_frontier(trials, objectives))
//     mark_frontier(trials[i]);                     // indices, in input order
//
//   // The core, on points where every coordinate is to be maximised:
//   std::vector<std::vector<double>> points = {{0.9, -3.0}, {0.8, -1.0}, {0.7, -4.0}};
//   opt::pareto_frontier(points);                   // {0, 1}
//
// Semantics are OpenJarvis's compute_pareto_frontier (reference §2.10):
// minimised objectives are negated; trial i is dropped iff some trial j is at
// least as good on every objective and strictly better on one; identical
// trials are all kept; the result keeps input order; no trials → none; no
// objectives → all. Changed:
//   * speed — the reference compares every pair, O(n²·m) always; here the
//     points are sorted once and each is tested only against the frontier
//     found so far (see Complexity below);
//   * a trial with `failed` set is never on the frontier, and does not push
//     others off it (the reference had no failed trials: a runner failure
//     ended the run);
//   * an objective a trial did not measure (objective_value() is NaN) is not
//     taken as 0, which made a trial without a cost the cheapest of all.
//     An objective that no (non-failed) trial measured is ignored, as if it
//     were not listed; otherwise a trial lacking one of the remaining
//     objectives cannot be compared fairly, so it is left out: it is not on
//     the frontier and does not push others off it. (Taking the missing value
//     as the worst instead would put an unmeasured trial on the frontier
//     whenever it is best at something else, and show it as a good trade-off
//     while its cost, say, is unknown.)
//
// Complexity, for n points and m objectives, f the size of the frontier:
//   m = 2: O(n log n) — sort, then one sweep keeping the best second value;
//   m ≥ 3: O(m·n log n) to sort plus O(m·n·f) for the tests. For points
//          spread at random f grows like log^(m−1) n, so this is near
//          n log n; the worst case (every point on the frontier) is the
//          reference's O(m·n²).
// Identical points are tested once per group, so many copies of one point
// cost no more than one.
#ifndef LEASH_LEARN_OPTIMIZE_PARETO_HPP
#define LEASH_LEARN_OPTIMIZE_PARETO_HPP

#include <leash/learn/optimize/types.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace leash::learn::optimize {

/// Indices of the trials on the Pareto frontier of `objectives`, ascending.
/// Failed trials and trials missing a value of a measured objective are never
/// on it (see the file comment); with no objectives (or none that any trial
/// measured) every trial that did not fail is on it. ObjectiveSpec::weight is
/// not used.
std::vector<std::size_t> pareto_frontier(std::span<TrialResult const> trials,
                                         std::span<ObjectiveSpec const> objectives);

/// Indices of the non-dominated points, ascending, every coordinate to be
/// maximised (negate a coordinate to minimise it). All points must have the
/// same number of coordinates (checked by an assertion); a point with a NaN
/// coordinate is left out, as it cannot be compared. ±infinity compares as
/// usual. Points with no coordinates are all kept.
std::vector<std::size_t> pareto_frontier(std::span<std::vector<double> const> points);

}  // namespace leash::learn::optimize

#include <leash/learn/optimize/impl/pareto.hpp>

#endif
