// leash/state.hpp — what a run remembers: plain described structs, so every
// record converts to and from JSON with no hand-written code.
#ifndef LEASH_STATE_HPP
#define LEASH_STATE_HPP

#include <leash/json.hpp>
#include <leash/status.hpp>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace leash {

/// Version of the stored state layout. Stores read this version and the
/// older ones (brought up to date by detail::upgrade_state_json) and refuse
/// newer ones. 2 added State::info.
inline constexpr int state_schema_version = 2;
/// Stamped on summaries so a later build can tell who produced them.
inline constexpr std::string_view engine_version = "0.1.0";
/// Longest args excerpt kept on an action record.
inline constexpr std::size_t args_excerpt_cap = 1024;

/// One measurement of the goal metric.
struct MetricSnapshot {
  double value = 0.0;
  bool regression = false;  ///< the metric itself says something got worse
  json::object detail;      ///< metric-specific facts (failing tests, …)
  friend bool operator==(MetricSnapshot const&, MetricSnapshot const&) = default;
};
BOOST_DESCRIBE_STRUCT(MetricSnapshot, (), (value, regression, detail))

enum class ActionStatus {
  ok,
  error,      ///< the tool threw or returned an error
  aborted,    ///< the tool ran past its timeout
  uncertain,  ///< started before a crash, result unknown (set on resume)
};
BOOST_DESCRIBE_ENUM(ActionStatus, ok, error, aborted, uncertain)

constexpr std::string_view to_string(ActionStatus s) noexcept {
  switch (s) {
    case ActionStatus::ok: return "ok";
    case ActionStatus::error: return "error";
    case ActionStatus::aborted: return "aborted";
    case ActionStatus::uncertain: return "uncertain";
  }
  return "error";
}

/// One executed tool call.
struct ActionRecord {
  std::string tool;
  std::string args_excerpt;    ///< validated args as JSON, capped at 1024 chars
  ActionStatus status = ActionStatus::ok;
  std::string result_excerpt;  ///< output or error text, capped at 16384 chars
  double duration_s = 0.0;
  std::string fingerprint;     ///< identity of (tool, normalised args) for repetition
};
BOOST_DESCRIBE_STRUCT(ActionRecord, (),
                      (tool, args_excerpt, status, result_excerpt, duration_s, fingerprint))

/// One iteration: what was observed, planned and done.
struct IterationRecord {
  std::uint64_t index = 0;
  std::string observation;
  std::string plan_text;
  std::vector<ActionRecord> actions;
  std::optional<MetricSnapshot> metric;
  bool repetition = false;    ///< same set of action fingerprints as the previous iteration
  bool plan_invalid = false;  ///< every plan attempt failed validation
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
};
BOOST_DESCRIBE_STRUCT(IterationRecord, (),
                      (index, observation, plan_text, actions, metric, repetition, plan_invalid,
                       input_tokens, output_tokens))

/// What the run has spent.
struct Metrics {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t llm_calls = 0;
  double elapsed_s = 0.0;
  std::optional<double> cost_usd;  ///< estimate; unknown when the model has no price
  std::uint64_t total_tokens() const noexcept { return input_tokens + output_tokens; }
};
BOOST_DESCRIBE_STRUCT(Metrics, (), (input_tokens, output_tokens, llm_calls, elapsed_s, cost_usd))

/// Who produced a context artifact: lets resume detect summariser drift.
struct ArtifactStamp {
  std::string engine_version;
  std::string model_id;
  std::string prompt_hash;
  friend bool operator==(ArtifactStamp const&, ArtifactStamp const&) = default;
};
BOOST_DESCRIBE_STRUCT(ArtifactStamp, (), (engine_version, model_id, prompt_hash))

/// A summary of an iteration that left the verbatim window, or a pinned fact.
struct ContextArtifact {
  std::string kind;  ///< "summary" or "fact"
  std::optional<std::uint64_t> iteration;
  std::string content;
  ArtifactStamp stamp;
};
BOOST_DESCRIBE_STRUCT(ContextArtifact, (), (kind, iteration, content, stamp))

/// A planned tool call, as the planner named it, with validated arguments.
struct PlannedCall {
  std::string id;
  std::string tool;
  json::object args;
};
BOOST_DESCRIBE_STRUCT(PlannedCall, (), (id, tool, args))

/// A decision recorded on a pending approval by someone other than the
/// program that owns the tools (`leash approve` / `leash deny`); the owner's
/// next resume acts on it.
struct RecordedDecision {
  bool approved = false;
  std::string note;
  double decided_at = 0.0;  ///< seconds since the epoch
};
BOOST_DESCRIBE_STRUCT(RecordedDecision, (), (approved, note, decided_at))

/// A gated action waiting for a decision (headless approval).
///
/// The token itself is a capability and is never stored: only its SHA-256
/// (hex), which resume and `leash approve` compare in constant time.
struct PendingApproval {
  std::string token_sha256;
  std::string tool;
  json::object args;
  std::string reason;
  std::string action_hash;   ///< digest(tool + canonical args + state_version)
  std::uint64_t state_version = 0;
  double created_at = 0.0;   ///< seconds since the epoch
  double ttl_s = 3600.0;
  std::string plan_text;
  std::optional<MetricSnapshot> precondition_metric;  ///< measured right before the gated action
  std::string precondition_observation;  ///< digest of the observation then (no goal metric: this decides)
  std::vector<PlannedCall> remaining_calls;           ///< calls planned after it, kept not dropped
  std::optional<RecordedDecision> decision;           ///< set by `leash approve` / `leash deny`
};
BOOST_DESCRIBE_STRUCT(PendingApproval, (),
                      (token_sha256, tool, args, reason, action_hash, state_version, created_at, ttl_s,
                       plan_text, precondition_metric, precondition_observation, remaining_calls,
                       decision))

/// A tool call of the iteration in flight, journaled before it runs and again
/// when it returns, so a crash can never hide that it started. Stores keep
/// these until the iteration is recorded; load() returns the ones left over.
struct JournaledAction {
  std::uint64_t iteration = 0;  ///< index of the iteration in flight
  std::uint64_t position = 0;   ///< the call's place in that iteration's plan
  std::string tool;
  json::object args;            ///< validated, normalised arguments
  std::string fingerprint;
  std::string plan_text;        ///< the iteration's plan so far, to rebuild it on resume
  std::uint64_t input_tokens = 0;   ///< the iteration's planner tokens so far
  std::uint64_t output_tokens = 0;
  std::optional<ActionRecord> result;  ///< empty: started and not known to have finished
};
BOOST_DESCRIBE_STRUCT(JournaledAction, (),
                      (iteration, position, tool, args, fingerprint, plan_text, input_tokens,
                       output_tokens, result))

/// The limits and settings a run needs to resume exactly as it was configured.
struct LoopConfig {
  std::uint64_t max_iterations = 20;
  std::uint64_t token_limit = 500000;
  double wall_clock_s = 1800.0;
  std::optional<double> cost_limit_usd;
  std::uint64_t verbatim_window = 3;
  std::uint64_t max_tokens_per_call = 4096;
  double approval_ttl_s = 3600.0;
};
BOOST_DESCRIBE_STRUCT(LoopConfig, (),
                      (max_iterations, token_limit, wall_clock_s, cost_limit_usd, verbatim_window,
                       max_tokens_per_call, approval_ttl_s))

/// Who ran a run, what it answered and how it was judged: the fields the
/// learning layer reads back (learn/trace.hpp). The loop fills all of them
/// but the feedback, which a person or a judge attaches later (set_feedback).
struct RunInfo {
  std::string agent;       ///< LoopOptions::agent_name
  std::string model;       ///< the model that made the last plan
  std::string engine;      ///< what served it: the planner's provider()
  std::string result;      ///< the final answer: what the planner last said
  double started_at = 0.0;  ///< seconds since the epoch
  double ended_at = 0.0;    ///< 0 while running or waiting for approval
  json::object metadata;    ///< LoopOptions::run_metadata (source, session ids, …)
  std::optional<double> feedback;  ///< in [0, 1]
  std::string feedback_source;     ///< "cli", "thumbs", "judge", "api", …
  double feedback_at = 0.0;
};
BOOST_DESCRIBE_STRUCT(RunInfo, (),
                      (agent, model, engine, result, started_at, ended_at, metadata, feedback,
                       feedback_source, feedback_at))

/// Everything a run remembers.
struct State {
  int schema_version = state_schema_version;
  std::string run_id;
  std::string goal;
  LoopConfig config;
  std::string tool_schema_hash;
  std::vector<IterationRecord> iterations;
  std::vector<ContextArtifact> artifacts;
  std::vector<std::string> pinned_facts;
  std::vector<std::string> failed_approaches;
  Metrics metrics;
  std::uint64_t no_progress_streak = 0;
  std::uint64_t plan_invalid_streak = 0;
  std::uint64_t state_version = 0;  ///< bumped by every recorded iteration
  std::optional<PendingApproval> pending_approval;
  std::optional<Status> status;     ///< how the last run() ended; empty while running
  std::string reason;
  /// Journal of the iteration in flight when the run last stopped; non-empty
  /// only after a crash (resume turns it into a recorded iteration).
  std::vector<JournaledAction> in_flight;
  RunInfo info;
};
BOOST_DESCRIBE_STRUCT(State, (),
                      (schema_version, run_id, goal, config, tool_schema_hash, iterations,
                       artifacts, pinned_facts, failed_approaches, metrics, no_progress_streak,
                       plan_invalid_streak, state_version, pending_approval, status, reason,
                       in_flight, info))

/// What a run answered, for RunInfo::result: what the planner last said (its
/// final reply when it ended with text), else the output of the last action
/// that succeeded, else "".
inline std::string final_answer(State const& s) {
  for (auto it = s.iterations.rbegin(); it != s.iterations.rend(); ++it)
    if (!it->plan_text.empty()) return it->plan_text;
  for (auto it = s.iterations.rbegin(); it != s.iterations.rend(); ++it)
    for (auto a = it->actions.rbegin(); a != it->actions.rend(); ++a)
      if (a->status == ActionStatus::ok && !a->result_excerpt.empty()) return a->result_excerpt;
  return {};
}

namespace detail {

/// Brings a stored State (or a store's head of one) written with an older
/// layout up to state_schema_version, in place. False when `o` names no
/// version or a newer one: the caller reports that, naming its file.
inline bool upgrade_state_json(json::object& o) {
  auto const* v = o.if_contains("schema_version");
  if (!v || !v->is_int64()) return false;
  auto version = v->get_int64();
  if (version < 1 || version > state_schema_version) return false;
  if (version == 1) {  // before RunInfo: the run's fields were unknown
    if (!o.contains("info")) o["info"] = json::value_from(RunInfo{});
    o["schema_version"] = state_schema_version;
  }
  return true;
}

}  // namespace detail

}  // namespace leash

#endif
