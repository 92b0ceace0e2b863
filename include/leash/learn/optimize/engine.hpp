// leash/learn/optimize/engine.hpp — the config-optimisation loop: propose a
// configuration, run it as a trial, have it analysed, keep the Pareto
// frontier and the best trial, propose the next; stop when the trials run
// out or stop improving.
//
//   struct Runner {   // a TrialRunner: runs one configuration, measures it
//     asio::awaitable<leash::result<opt::TrialResult>> run_trial(opt::TrialConfig const& config);
//   };
//   opt::LlmOptimizer optimizer(transport, std::move(optimizer_options));
//   opt::EngineOptions o;
//   o.max_trials = 20;
//   o.score = [](opt::TrialResult const& r) { return r.accuracy - 10 * r.total_cost_usd; };  // optional
//   o.max_concurrent_trials = 4;              // optional: trials in flight at once
//   o.progress = [&](std::size_t n, std::size_t max, opt::OptimizationRun const& so_far) {
//     opt::save_progress(store, so_far);       // optional: save or print as it goes
//   };
//   opt::OptimizationEngine<Runner> engine(std::move(optimizer), Runner{...}, std::move(o));
//   auto run = co_await engine.run();          // result<OptimizationRun>
//   if (run && run->best) use(run->trials[*run->best].config);
//
// DatasetTrialRunner (trial_runner.hpp) is the usual runner: the user's agent,
// configured by the trial's params, evaluated on one or more datasets.
//
// Concurrent trials. With max_concurrent_trials = 1 (the default) trials run
// one after another, exactly as the loop below describes. With N > 1 up to N
// trials are in flight at once, as coroutines on a strand of the executor
// run() is awaited on (so the runner is called again before its earlier
// calls have finished):
//   * trial k is the k-th trial started; a proposal for it is made when a
//     slot is free, from the trials recorded at that moment (trials still in
//     flight are not in its history). The first N proposals are the initial
//     one and then "next" proposals over whatever has been recorded;
//   * the proposal rules go by trial number: trial k is a merge when k − 1 is
//     a multiple of merge_every (and the frontier has two or more members),
//     else targeted when k > 3 and the trial whose completion freed the slot
//     named a primitive (that trial is the base), else next; after a failed
//     trial, next;
//   * trials are recorded (analysed, put in OptimizationRun::trials, scored,
//     counted towards patience and failures in a row, reported to progress)
//     in the order they complete; OptimizationRun::trial_numbers keeps each
//     one's number, so numbers stay stable while positions follow completion;
//   * max_trials counts trials started (a proposal that could not be made
//     counts: it is recorded as a failed trial) and is never exceeded. When
//     the run stops (patience, failures in a row), no trial is started any
//     more; the trials in flight are awaited, analysed and recorded, and the
//     first reason to stop is the one reported;
//   * the optimizer is called by one coroutine at a time (proposals and
//     analyses take turns, first come first served). The history it is shown
//     is in recorded order, so its "Trial i" is the i-th recorded.
//
// Reference: OpenJarvis OptimizationEngine (reference/openjarvis-learning.md
// §2.10). Kept: max_trials 20, patience 5, a 16-hex run id; the loop (an
// initial proposal; each trial analysed; the frontier recomputed; the best
// replaced only by a strictly greater score, otherwise one more stale trial;
// stop when stale ≥ patience; then a merge of the first three frontier
// members every merge_every trials when the frontier has two or more, else a
// proposal targeted at the primitive the analysis named (base: this trial)
// after trial 2, else a next proposal from the whole history); the progress
// callback after every trial. Added: trials may run concurrently (above), and
// the progress callback may take the run so far.
// Changed (§4 item 11):
//   * the best trial may be chosen by any score (`score`, default accuracy as
//     the reference), and early stopping may follow the growth of the Pareto
//     frontier instead (EarlyStop::frontier_growth: a trial that adds a new
//     point to the frontier resets the count);
//   * a failure no longer ends the run. A runner error, a runner exception or
//     a proposal the LLM could not make marks that trial failed
//     (TrialResult::failed, error) and the loop continues with a next
//     proposal; failed trials do not count towards patience. After
//     max_failures_in_a_row failures in a row, or when no trial succeeded by
//     the end, the run ends with status "failed" and a reason naming the last
//     error. An analysis the LLM could not make leaves the trial as measured
//     (it is not failed: its numbers are good) with analysis "analysis
//     failed: …";
//   * proposals are checked against the space and corrected once (see
//     llm_optimizer.hpp), and the LLM calls of the run are counted.
// The model's structured feedback has no field on TrialResult (types.hpp);
// it is kept in OptimizationRun::feedback, parallel to the trials, and its
// summary is copied to TrialResult::analysis.
#ifndef LEASH_LEARN_OPTIMIZE_ENGINE_HPP
#define LEASH_LEARN_OPTIMIZE_ENGINE_HPP

#include <leash/error.hpp>
#include <leash/learn/optimize/llm_optimizer.hpp>
#include <leash/learn/optimize/pareto.hpp>
#include <leash/learn/optimize/types.hpp>

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace leash::learn::optimize {

/// Runs one configuration and measures it. A failure may be an Error, a
/// TrialResult with `failed` set, or an exception; the engine records each as
/// a failed trial. With EngineOptions::max_concurrent_trials > 1, run_trial
/// is called again while earlier calls are still in flight (on one strand).
template <class R>
concept TrialRunner = requires(R& r, TrialConfig const& config) {
  { r.run_trial(config) } -> std::same_as<boost::asio::awaitable<result<TrialResult>>>;
};

struct OptimizationRun;

/// The engine's progress callback: called after each trial is recorded with
/// (trials recorded so far, max_trials, the run so far). It may be set from a
/// callable taking all three, or only the first two (the older form). The
/// run is complete but for `status` and `reason`, which are set when the run
/// ends. It runs inside the engine's loop (on its strand, with concurrent
/// trials), before the next proposal: a slow callback holds the run up.
class ProgressCallback {
 public:
  ProgressCallback() = default;
  ProgressCallback(std::nullptr_t) noexcept {}

  template <class F>
    requires std::invocable<F&, std::size_t, std::size_t, OptimizationRun const&>
  ProgressCallback(F f) : fn_(std::move(f)) {}

  template <class F>
    requires(std::invocable<F&, std::size_t, std::size_t> &&
             !std::invocable<F&, std::size_t, std::size_t, OptimizationRun const&>)
  ProgressCallback(F f)
      : fn_([f = std::move(f)](std::size_t trial, std::size_t max, OptimizationRun const&) mutable { f(trial, max); }) {}

  explicit operator bool() const noexcept { return static_cast<bool>(fn_); }
  void operator()(std::size_t trial, std::size_t max, OptimizationRun const& run) const { fn_(trial, max, run); }

 private:
  std::function<void(std::size_t, std::size_t, OptimizationRun const&)> fn_;
};

/// How an OptimizationEngine runs.
struct EngineOptions {
  std::size_t max_trials = 20;
  /// Stop after this many successful trials in a row without progress (see
  /// early_stop); failed trials do not count. 0: never stop early.
  std::size_t patience = 5;
  /// Propose a merge of frontier members after every this many trials; 0: never.
  std::size_t merge_every = 5;
  /// End the run as failed after this many failed trials in a row; 0: never.
  std::size_t max_failures_in_a_row = 3;
  /// What "best" means; empty: accuracy (the reference). A NaN score never wins.
  std::function<double(TrialResult const&)> score;
  enum class EarlyStop {
    best_score,       ///< progress = a strictly better score
    frontier_growth,  ///< progress = the trial adds a new point to the Pareto frontier
  };
  EarlyStop early_stop = EarlyStop::best_score;
  /// Trials in flight at once, at least 1; 1: one after another (see the
  /// file comment for what changes with more).
  std::size_t max_concurrent_trials = 1;
  /// Called after each trial is recorded with (trials recorded so far, from 1;
  /// max_trials; the run so far). See ProgressCallback.
  ProgressCallback progress;
  /// Seeds the run id; empty: std::random_device.
  std::optional<std::uint64_t> seed;
};

/// What an optimisation did.
struct OptimizationRun {
  std::string run_id;  ///< 16 lowercase hex characters
  /// In the order they were recorded: the order of completion.
  std::vector<TrialResult> trials;
  /// The number of each trial (parallel to `trials`): trial k was the k-th
  /// started, from 1. With one trial at a time, trial_numbers[i] == i + 1.
  std::vector<std::size_t> trial_numbers;
  /// The model's reading of each trial (parallel to `trials`; empty for a
  /// failed trial or a failed analysis).
  std::vector<TrialFeedback> feedback;
  /// How each trial's configuration was proposed (parallel to `trials`):
  /// "initial", "next", "targeted:<primitive>", "merge"; and the Proposal's
  /// first-try errors and repairs.
  std::vector<std::string> proposal_kinds;
  std::vector<std::vector<ProposalError>> proposal_errors;
  std::vector<std::vector<ProposalChange>> proposal_changes;
  std::optional<std::size_t> best;  ///< index into `trials`
  std::vector<std::size_t> frontier;  ///< indices into `trials`, ascending
  std::string status;  ///< "completed" | "failed"
  std::string reason;  ///< why the run stopped: "max_trials", "patience", or the failure
  std::uint64_t llm_calls = 0;
  Usage usage;  ///< of the optimizer's calls during the run
};

/// The optimisation loop over one optimizer and one runner.
template <TrialRunner Runner>
class OptimizationEngine {
 public:
  OptimizationEngine(LlmOptimizer optimizer, Runner runner, EngineOptions options = {});

  /// Runs the loop (see the file comment). An Error only for options that
  /// cannot work (max_trials or max_concurrent_trials 0: Errc::invalid_config);
  /// every other failure is recorded in the run (status "failed").
  boost::asio::awaitable<result<OptimizationRun>> run();

  LlmOptimizer& optimizer() noexcept { return optimizer_; }
  Runner& runner() noexcept { return runner_; }
  EngineOptions const& options() const noexcept { return options_; }

 private:
  struct RunState;
  double score(TrialResult const& r) const;
  boost::asio::awaitable<void> worker(RunState& s);
  boost::asio::awaitable<result<Proposal>> propose(RunState& s, std::size_t number, std::optional<std::size_t> last,
                                                   std::string& kind);
  boost::asio::awaitable<TrialResult> run_one(TrialConfig const& config);
  std::size_t record(RunState& s, std::size_t number, std::string kind, TrialResult trial, TrialFeedback feedback,
                     std::vector<ProposalError> errors, std::vector<ProposalChange> changes);

  LlmOptimizer optimizer_;
  Runner runner_;
  EngineOptions options_;
};

}  // namespace leash::learn::optimize

#include <leash/learn/optimize/impl/engine.hpp>

#endif
