// leash/learn/orchestrator.hpp — one learning cycle: mine the runs, measure,
// change the agent configs (and train, when configured), measure again, and
// keep the change only when it helped.
//
//   leash::learn::LearningOrchestrator cycle(store, options, my_evaluator);
//   auto report = co_await cycle.run();   // or leash::sync_wait(cycle.run())
//
// The reference's LearningOrchestrator (§2.7), step for step: mine SFT,
// routing and agent-config pairs → nothing mined: `skipped` → baseline
// evaluation → evolve the agent configs → train when a trainer is given and
// there are min_sft_pairs pairs → post evaluation → `completed` when the
// improvement reaches min_improvement (inclusive, 0.02), else `rejected`.
// Where leash differs (reference §4.8):
// * when the configs already say what the runs recommend and nothing is to be
//   trained, the cycle is `skipped` before any evaluation (nothing to test);
// * a rejection restores every config the cycle wrote (and the router's
//   policy), so a change that did not help is undone, not just reported;
// * agent_id filters the evolver as well as the miner;
// * several query classes recommending one agent are merged into one config
//   (tools in order of first recommendation, the largest max_turns) instead of
//   the last class overwriting the others; an existing config keeps its
//   temperature and system prompt;
// * the routing result reaches a router: give a LearnedRouter and it learns
//   from the same pass (restored on rejection too);
// * the store is read once per cycle, streamed, for every analysis;
// * every cycle is recorded in the store as a run of agent `leash.learn`
//   (goal "learning cycle", metadata = this report), so `leash runs` and
//   `leash show` list and explain cycles (metadata: the report and the
//   cycle's inputs); trace listings leave those out.
//
// The evaluator is asked twice; it must read the agent configs when its
// evaluate() runs (the configs in options.config_dir are what changed).
#ifndef LEASH_LEARN_ORCHESTRATOR_HPP
#define LEASH_LEARN_ORCHESTRATOR_HPP

#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <leash/learn/agent_config.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/miner.hpp>
#include <leash/learn/router.hpp>
#include <leash/learn/trace_store.hpp>
#include <leash/learn/trainer.hpp>
#include <leash/store/store.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace leash::learn {

/// "No evaluation": the cycle accepts what it changed, as the reference does
/// without an eval_fn.
struct NoEvaluator {};
/// "No training".
struct NoTrainer {};

struct OrchestratorOptions {
  /// Where the agent configs live (AgentConfigEvolver's directory).
  std::filesystem::path config_dir;
  /// Keep the change when post − baseline ≥ this.
  double min_improvement = 0.02;
  /// Train only with at least this many SFT pairs.
  std::size_t min_sft_pairs = 10;
  /// The miner's quality floor.
  double min_quality = 0.7;
  /// Only this agent's runs, for the miner and the evolver alike.
  std::optional<std::string> agent_id;
  /// Where the SFT dataset for the trainer is written; empty: config_dir/datasets.
  std::filesystem::path dataset_dir;
  /// Passed to the trainer.
  LoraTrainingConfig training;
  /// The base model to train; empty: the trainer's default.
  std::string training_model;
  /// Learns routing from the same pass when set (not owned).
  LearnedRouter* router = nullptr;
  /// Record the cycle as a run in the store.
  bool record_cycle = true;
};

/// One config the cycle wrote.
struct ConfigChange {
  std::string agent;
  std::optional<AgentConfig> before;  ///< empty: there was none
  AgentConfig after;
  std::vector<std::string> query_classes;  ///< the classes that recommended it
  json::object to_json() const;
};

/// What a cycle did: the reference's result map, typed.
struct CycleReport {
  std::string status;  ///< "completed", "rejected", "skipped", "error"
  std::string reason;
  double timestamp = 0.0;  ///< seconds since the epoch, when the cycle started
  std::size_t traces_seen = 0;
  std::size_t sft_pairs = 0;
  std::size_t routing_classes = 0;
  std::size_t agent_classes = 0;
  std::map<std::string, std::string> best_models;  ///< query class → model (routing pairs)
  std::optional<double> baseline_score;
  std::optional<double> post_score;
  std::optional<double> improvement;
  bool accepted = false;
  bool rolled_back = false;  ///< configs (and router) restored after a rejection
  std::vector<ConfigChange> changes;
  bool routing_updated = false;  ///< a router was given and learned from this cycle
  std::optional<TrainingResult> training;
  std::optional<EvalReport> baseline;
  std::optional<EvalReport> post;
  std::string cycle_run_id;  ///< the run recording this cycle; empty when not recorded
  json::object to_json() const;
};

/// Runs learning cycles over `store`'s runs. `Eval` models Evaluator (or is
/// NoEvaluator), `TrainerT` models Trainer (or is NoTrainer).
template <class Eval = NoEvaluator, class TrainerT = NoTrainer>
class LearningOrchestrator {
 public:
  LearningOrchestrator(AnyStore store, OrchestratorOptions options, Eval evaluator = {}, TrainerT trainer = {});

  /// One cycle. Errors reading the store, writing configs or evaluating end
  /// the cycle with an Error, after restoring any config it had written.
  boost::asio::awaitable<result<CycleReport>> run();

  Eval& evaluator() noexcept { return evaluator_; }
  TrainerT& trainer() noexcept { return trainer_; }

 private:
  /// Writes the cycle's run (when options.record_cycle) and returns the report.
  boost::asio::awaitable<result<CycleReport>> record(CycleReport& rep);

  AnyStore store_;
  OrchestratorOptions options_;
  Eval evaluator_;
  TrainerT trainer_;
};

}  // namespace leash::learn

#include <leash/learn/impl/orchestrator.hpp>

#endif
