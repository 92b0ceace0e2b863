// leash/learn/spec_search/gate.hpp — whether an edit helped: a benchmark
// scored before and after it, and the rule that keeps it or rolls it back.
//
//   namespace ss = leash::learn::spec_search;
//   ss::DatasetScorer scorer(benchmark_samples, student_agent);  // a Scorer
//   ss::ScoreRequest req;
//   req.seed = ss::stable_seed(session.id);                       // one subsample per session
//   auto baseline = co_await scorer.score(req);                   // result<BenchmarkSnapshot>
//   // ... apply an edit ...
//   auto after = co_await scorer.score(req);
//   ss::BenchmarkGate gate;                                       // max_regression 0.05
//   auto verdict = gate.judge(baseline.value(), std::move(after).value());
//   if (verdict.accepted) baseline = verdict.snapshot;            // the next edit's baseline
//   else rollback();                                              // verdict.reason says why
//
// Reference: OpenJarvis BenchmarkGate and the scorer callback
// (reference/openjarvis-learning.md §2.14). Kept: delta = after − before on
// the overall score; a cluster of the baseline that fell by more than
// max_regression rejects (a cluster missing afterwards counts as 0; clusters
// new afterwards are ignored); delta ≤ min_improvement rejects; defaults
// 0.05 and 0.0. Changed: the gate only judges two snapshots — scoring is the
// caller's, through a Scorer — so the baseline can be the state after the
// last accepted edit (§4 item 2: the reference always compared with the
// session's first snapshot, so an early gain let a later harmful edit
// through); per-cluster deltas are reported (the reference's were always
// empty); a score that is not a finite number rejects instead of slipping
// through the comparisons; the subsample is drawn from a stable seed by a
// draw of our own, so it is the same on every platform (§4 item 4).
#ifndef LEASH_LEARN_SPEC_SEARCH_GATE_HPP
#define LEASH_LEARN_SPEC_SEARCH_GATE_HPP

#include <leash/error.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/spec_search/types.hpp>

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace leash::learn::spec_search {

// ---- the gate ---------------------------------------------------------------------

/// What the gate decided about one edit.
struct GateResult {
  bool accepted = false;
  BenchmarkSnapshot snapshot;  ///< the "after" snapshot (the next baseline when accepted)
  double delta = 0.0;          ///< after − baseline, overall
  /// after − baseline for each cluster of the baseline (missing after: 0 − baseline).
  std::map<std::string, double> cluster_deltas;
  std::string reason;  ///< why it was rejected, or a one-line summary when accepted
};

/// Scores are compared with this slack, so that a drop of exactly the
/// threshold is not turned into a regression by rounding (0.8 − 0.75 is
/// 0.05000000000000004 in binary).
inline constexpr double score_tolerance = 1e-9;

/// The clusters of `baseline` whose score in `after` is lower by more than
/// `max_regression` (+ score_tolerance), in name order. A cluster missing
/// from `after`, or not a finite number there, counts as 0; a cluster whose
/// baseline score is not finite cannot be compared and is skipped; clusters
/// only in `after` are ignored (nothing to regress from).
std::vector<std::string> regressed_clusters(BenchmarkSnapshot const& baseline, BenchmarkSnapshot const& after,
                                            double max_regression);

/// Keeps an edit only when the benchmark says it helped and hurt no cluster.
///
/// Contract: `baseline` is the snapshot after the last *accepted* edit of the
/// session (the session's first snapshot only until one is accepted), scored
/// with the same benchmark version, subsample size and seed as `after`.
/// Comparing every edit with the session's start would let a harmful edit
/// ride on an earlier one's gain.
class BenchmarkGate {
 public:
  /// The largest drop of any baseline cluster that is tolerated.
  double max_regression = 0.05;
  /// The overall delta must exceed this (a delta equal to it rejects).
  double min_improvement = 0.0;

  /// Errc::invalid_input when either threshold is negative or not finite.
  result<void> validate() const;

  /// In order: thresholds that do not validate → rejected (the validation
  /// message); an `after` overall score that is not finite → rejected; any
  /// regressed cluster → rejected, the reason naming each cluster with its
  /// scores and drop; delta ≤ min_improvement (+ score_tolerance) → rejected,
  /// the reason giving both; else accepted. The snapshot and the deltas are
  /// filled in every case.
  GateResult judge(BenchmarkSnapshot const& baseline, BenchmarkSnapshot after) const;
};

// ---- the Scorer requirement -------------------------------------------------------

/// What a session asks a scorer for. The same request before and after an
/// edit gives comparable snapshots.
struct ScoreRequest {
  std::string benchmark_version = "personal_v1";
  /// How many tasks to score; 0 (or at least the benchmark's size): all.
  std::size_t subsample_size = 50;
  /// Picks the subsample (stable_seed of the session id).
  std::uint32_t seed = 0;
};

namespace detail {
template <class S> concept scores_benchmark = requires(S& s, ScoreRequest const& r) {
  { s.score(r) } -> std::same_as<boost::asio::awaitable<result<BenchmarkSnapshot>>>;
};
}  // namespace detail

/// Scorer: `s.score(request)` returns `awaitable<result<BenchmarkSnapshot>>`,
/// the student as it is when awaited, on the subsample `request` names (the
/// same request, the same tasks). The request is read when the awaitable
/// runs, so it must outlive it. An error means no measurement (the caller
/// rejects the edit or fails the session), never a score of 0.
template <class S>
concept Scorer = detail::scores_benchmark<S>;

template <class S>
consteval bool check_scorer() {
  static_assert(Scorer<S>,
                "leash::learn::spec_search::Scorer: add `boost::asio::awaitable<leash::result<"
                "leash::learn::spec_search::BenchmarkSnapshot>> "
                "score(leash::learn::spec_search::ScoreRequest const&)`");
  return true;
}

// ---- the dataset scorer -----------------------------------------------------------

/// The indices (ascending) of a subsample of `k` of `n` items drawn from
/// `seed`: all of them when k is 0 or k ≥ n. A partial Fisher–Yates shuffle
/// over std::mt19937 (whose output the standard fixes) with an unbiased
/// bounded draw of our own (std::uniform_int_distribution and std::shuffle
/// differ between standard libraries), so the same seed picks the same tasks
/// everywhere.
std::vector<std::size_t> subsample_indices(std::size_t n, std::size_t k, std::uint32_t seed);

/// The cluster a benchmark sample belongs to: its metadata "cluster" string,
/// else its "category" string, else "all".
std::string cluster_label(EvalSample const& sample);

/// A Scorer over a personal benchmark (EvalSamples) and the student (an
/// EvalAgent). Each score(): the subsample of the request
/// (subsample_indices, kept in benchmark order) runs through a
/// DatasetEvaluator made for that call; overall_score is its accuracy,
/// cluster_scores the accuracy per cluster_label, task_count the subsample's
/// size, elapsed_seconds the steady-clock time of the call, cost_usd the
/// report's total cost (agent and grader; 0 when unknown), benchmark_version
/// the request's.
///
/// The scorer owns one agent and one grader, and each evaluator it makes
/// calls them by reference: every score() measures the same student object
/// (whatever state it keeps between calls), and neither needs to be
/// copyable. The scorer must outlive the awaitables score() returns, and two
/// score() calls must not overlap unless the agent and grader allow it.
/// EvaluatorOptions::max_samples is ignored: the request sets the size.
template <class Agent, class GraderT = ReferenceGrader>
class DatasetScorer {
  static_assert(check_eval_agent<Agent>());
  static_assert(check_grader<GraderT>());

 public:
  DatasetScorer(std::vector<EvalSample> benchmark, Agent agent, GraderT grader = {}, EvaluatorOptions options = {});

  /// Errc::invalid_input for an empty benchmark; the evaluator's errors as they are.
  boost::asio::awaitable<result<BenchmarkSnapshot>> score(ScoreRequest const& request);

  std::vector<EvalSample> const& benchmark() const noexcept { return benchmark_; }
  Agent& agent() noexcept { return agent_; }
  GraderT& grader() noexcept { return grader_; }
  EvaluatorOptions& options() noexcept { return options_; }

 private:
  std::vector<EvalSample> benchmark_;
  Agent agent_;
  GraderT grader_;
  EvaluatorOptions options_;
};

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/gate.hpp>

#endif
