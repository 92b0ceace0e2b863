// leash/learn/optimize/store.hpp — config-optimisation runs and their trials
// kept in a SQLite file, written as the run goes and read back whole.
//
//   namespace opt = leash::learn::optimize;
//   auto store = opt::OptimizationStore::open(".leash/runs.db");   // may be the run store's file
//   opt::OptimizationRun run;  run.run_id = opt::engine_run_id(seed);  // the id the engine will use
//   store->begin_run(run, space, objectives, "gpt-5-mini", "supergpqa");  // row written now: "running"
//   …                                                   // per trial: store->save_trial(run.run_id, trial, fb, "next")
//   auto done = co_await engine.run();                  // EngineOptions::seed = seed
//   opt::save_progress(*store, *done);                  // every trial (upserted), best, frontier, status
//   auto back = store->get_run(run.run_id);             // result<optional<StoredRun>>
//   for (auto const& r : store->list_runs(10).value()) show(r.run_id, r.status);
//
// Engine integration: the engine's progress callback is handed the run so
// far (EngineOptions::progress), so call save_progress() from it to keep the
// run row, every trial, the best and the frontier current as the run goes
// (leash-optimize does). RecordingRunner, which saves each trial as soon as
// it is measured, suits a runner used outside the engine; save_progress()
// alone after the run also works (it begins the run when the row does not
// exist yet).
//
// Tables, all prefixed `optimization_` so the file can be shared with the
// leash run store (store/sqlite.hpp), whose tables and PRAGMA user_version
// this store never reads or writes: `optimization_schema` (component,
// version: this layout's own version), `optimization_runs` and
// `optimization_trials` (UNIQUE (run_id, trial_id), indexed by run_id).
//
// Reference: OpenJarvis OptimizationStore (reference/openjarvis-learning.md
// §2.11). Kept: WAL, list_runs(limit 50) newest first, the search space as
// JSON, best and frontier kept as trial ids. Changed (§4 item 10): the run row
// is written when the run begins (status "running"), not only at its end, so
// no trial is ever an orphan; created_at is set once; a trial is unique per
// run (saving it again updates it, in place and in order); trials are
// indexed by run; the objectives are kept (as JSON); rows are decoded by
// column name, never by position; a JSON column that does not parse is
// Errc::state_corrupt naming the run (the reference raised a bare decoding
// error); writes are transactions under a busy timeout, and one
// OptimizationStore may be used from several threads (calls are serialised).
// Not kept: sample scores and per-benchmark scores (TrialResult has no such
// fields here); the run's `benchmarks` list (the `benchmark` text names them).
#ifndef LEASH_LEARN_OPTIMIZE_STORE_HPP
#define LEASH_LEARN_OPTIMIZE_STORE_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/optimize/engine.hpp>
#include <leash/learn/optimize/llm_optimizer.hpp>
#include <leash/learn/optimize/search_space.hpp>
#include <leash/learn/optimize/types.hpp>
#include <leash/store/detail/sqlite.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace leash::learn::optimize {

/// The version of the `optimization_` tables this build writes.
inline constexpr int optimization_schema_version = 1;

/// How an OptimizationStore opens its file.
struct OptimizationStoreOptions {
  /// How long a write waits for another connection before Errc::store_failed.
  std::chrono::milliseconds busy_timeout{5000};
  /// Seconds since the epoch for created_at / updated_at; empty: the system clock.
  std::function<double()> clock;
};

/// One trial as stored.
struct StoredTrial {
  TrialResult result;
  json::object feedback;      ///< feedback_to_json(TrialFeedback) or anything the caller saved; {} when none
  std::string proposal_kind;  ///< "initial", "next", "targeted:<primitive>", "merge", or ""
  double created_at = 0;      ///< when first saved
  double updated_at = 0;      ///< when last saved
};

/// One run as stored, with its trials in the order they were first saved.
struct StoredRun {
  std::string run_id;
  std::string status;  ///< "running" until finish_run(); then the run's status
  std::string reason;
  std::string optimizer_model;
  std::string benchmark;
  SearchSpace search_space;
  std::vector<ObjectiveSpec> objectives;
  std::vector<StoredTrial> trials;
  std::optional<std::string> best_trial_id;
  std::vector<std::string> frontier_ids;  ///< in the run's frontier order
  std::optional<std::string> recipe_path;
  double created_at = 0;
  double updated_at = 0;

  /// The trial whose id is best_trial_id, or nullptr.
  StoredTrial const* best() const noexcept;
  /// The run in the engine's shape: trials, feedback (feedback_from_json;
  /// unreadable feedback is kept as its text in summary_text), proposal
  /// kinds, best and frontier as indices (ids no trial has are left out),
  /// status and reason.
  OptimizationRun to_optimization_run() const;
};

/// One line of list_runs().
struct StoredRunSummary {
  std::string run_id;
  std::string status;
  std::string reason;
  std::string optimizer_model;
  std::string benchmark;
  std::optional<std::string> best_trial_id;
  std::optional<std::string> recipe_path;
  std::uint64_t trials = 0;
  double created_at = 0;
  double updated_at = 0;
};

/// TrialFeedback as the JSON object save_trial() keeps: summary_text,
/// failure_patterns, primitive_ratings, suggested_changes, target_primitive,
/// parsed. A default-constructed feedback (none was made) is {}.
json::object feedback_to_json(TrialFeedback const& feedback);
/// The inverse; missing keys keep their defaults, keys of the wrong type are
/// ignored.
TrialFeedback feedback_from_json(json::object const& feedback);

/// Config-optimisation runs in a SQLite file. Synchronous: every call is a
/// short local transaction. Movable, not copyable.
class OptimizationStore {
 public:
  /// Opens (creating, with its directory) the SQLite file at `path`, in WAL
  /// mode with a busy timeout, and creates or migrates the `optimization_`
  /// tables. Errc::state_version_unsupported when the file's optimization
  /// tables are newer than this build; Errc::state_corrupt when it is not a
  /// database; Errc::store_failed otherwise.
  static result<OptimizationStore> open(std::filesystem::path path, OptimizationStoreOptions options = {});

  /// Writes the run's row now, status "running" (run.status and the trials
  /// are not read: save them with save_trial / save_progress). Errc::invalid_input
  /// when the run id is empty or a run of that id exists.
  result<void> begin_run(OptimizationRun const& run, SearchSpace const& space,
                         std::vector<ObjectiveSpec> const& objectives, std::string optimizer_model,
                         std::string benchmark);

  /// Saves `trial` of run `run_id`, or updates it when the run has a trial of
  /// that id (it keeps its place and created_at). `feedback` must be finite
  /// JSON (Errc::invalid_input otherwise, as for NaN in metrics).
  /// Errc::run_not_found when the run was not begun; Errc::invalid_input for
  /// an empty trial id.
  result<void> save_trial(std::string const& run_id, TrialResult const& trial, json::object const& feedback = {},
                          std::string const& proposal_kind = {});

  /// Records the end of `run`: status (Errc::invalid_input when empty),
  /// reason, best trial id, frontier ids, updated_at. created_at never
  /// changes. Errc::run_not_found when the run was not begun.
  result<void> finish_run(OptimizationRun const& run);

  /// Every trial of `run` (with its feedback and proposal kind), best and
  /// frontier, in one transaction; then status and reason when run.status is
  /// set. Begins the run first when it has no row yet (empty space and
  /// objectives, no model or benchmark).
  result<void> save_progress(OptimizationRun const& run);

  /// The run `run_id` with its trials; nullopt when there is none.
  /// Errc::state_corrupt (naming the run, the trial and the column) when a
  /// stored JSON column cannot be read.
  result<std::optional<StoredRun>> get_run(std::string const& run_id);

  /// At most `limit` runs, newest created first.
  result<std::vector<StoredRunSummary>> list_runs(std::size_t limit = 50);

  /// Records where the run's best recipe was exported. Errc::run_not_found
  /// when there is no such run.
  result<void> set_recipe_path(std::string const& run_id, std::filesystem::path const& path);

  std::filesystem::path const& path() const noexcept;

  OptimizationStore(OptimizationStore&&) noexcept = default;
  OptimizationStore& operator=(OptimizationStore&&) noexcept = default;
  ~OptimizationStore();

  struct State;

 private:
  explicit OptimizationStore(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

/// save_progress as a free function, for EngineOptions-style callbacks and
/// for saving a finished run: store.save_progress(run).
result<void> save_progress(OptimizationStore& store, OptimizationRun const& run);

/// The run id OptimizationEngine::run() uses when EngineOptions::seed is
/// `seed`, so the run can be begun before the engine starts.
std::string engine_run_id(std::uint64_t seed);

/// A TrialRunner that runs `Runner` and saves each trial it measured to a
/// store under `run_id` (begun beforehand), so trials are on disk as soon as
/// they exist. A runner error or exception is saved as a failed trial and
/// then passed on unchanged (the engine records it the same way). A save
/// that fails does not stop the run: the error is kept in last_save_error().
/// The store must outlive the runner.
template <TrialRunner Runner>
class RecordingRunner {
 public:
  RecordingRunner(Runner runner, OptimizationStore& store, std::string run_id)
      : runner_(std::move(runner)), store_(&store), run_id_(std::move(run_id)) {}

  boost::asio::awaitable<result<TrialResult>> run_trial(TrialConfig const& config);

  Runner& runner() noexcept { return runner_; }
  std::optional<Error> const& last_save_error() const noexcept { return last_save_error_; }

 private:
  Runner runner_;
  OptimizationStore* store_;
  std::string run_id_;
  std::optional<Error> last_save_error_;
};

}  // namespace leash::learn::optimize

#include <leash/learn/optimize/impl/store.hpp>

#endif
