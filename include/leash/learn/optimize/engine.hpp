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
//   opt::OptimizationEngine<Runner> engine(std::move(optimizer), Runner{...}, std::move(o));
//   auto run = co_await engine.run();          // result<OptimizationRun>
//   if (run && run->best) use(run->trials[*run->best].config);
//
// Trials run one at a time, in order (this version has no concurrency).
//
// Reference: OpenJarvis OptimizationEngine (reference/openjarvis-learning.md
// §2.10). Kept: max_trials 20, patience 5, a 16-hex run id; the loop (an
// initial proposal; each trial analysed; the frontier recomputed; the best
// replaced only by a strictly greater score, otherwise one more stale trial;
// stop when stale ≥ patience; then a merge of the first three frontier
// members every merge_every trials when the frontier has two or more, else a
// proposal targeted at the primitive the analysis named (base: this trial)
// after trial 2, else a next proposal from the whole history); the progress
// callback after every trial.
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
#include <vector>

namespace leash::learn::optimize {

/// Runs one configuration and measures it. A failure may be an Error, a
/// TrialResult with `failed` set, or an exception; the engine records each as
/// a failed trial.
template <class R>
concept TrialRunner = requires(R& r, TrialConfig const& config) {
  { r.run_trial(config) } -> std::same_as<boost::asio::awaitable<result<TrialResult>>>;
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
  /// Called after each trial with (trial number from 1, max_trials).
  std::function<void(std::size_t trial, std::size_t max)> progress;
  /// Seeds the run id; empty: std::random_device.
  std::optional<std::uint64_t> seed;
};

/// What an optimisation did.
struct OptimizationRun {
  std::string run_id;  ///< 16 lowercase hex characters
  std::vector<TrialResult> trials;
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
  /// cannot work (max_trials 0: Errc::invalid_config); every other failure is
  /// recorded in the run (status "failed").
  boost::asio::awaitable<result<OptimizationRun>> run();

  LlmOptimizer& optimizer() noexcept { return optimizer_; }
  Runner& runner() noexcept { return runner_; }
  EngineOptions const& options() const noexcept { return options_; }

 private:
  double score(TrialResult const& r) const;

  LlmOptimizer optimizer_;
  Runner runner_;
  EngineOptions options_;
};

}  // namespace leash::learn::optimize

#include <leash/learn/optimize/impl/engine.hpp>

#endif
