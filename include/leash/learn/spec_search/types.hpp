// leash/learn/spec_search/types.hpp — the records of spec search: the edits a
// teacher proposes, the failure clusters they address, the benchmark
// snapshots that judge them, and the session that holds it all.
//
//   namespace ss = leash::learn::spec_search;
//   auto edit = ss::edit_from_json(json::parse(R"({"op": "add_tool_to_agent",
//       "target": "agents.calc.tools", "payload": {"agent": "calc", "tool_name": "calculator"},
//       "rationale": "arithmetic fails without it", "expected_improvement": "arith"})"));
//   // edit.value().risk_tier == EditRiskTier::automatic, pillar == EditPillar::tools
//
// Reference: OpenJarvis spec_search/models.py (reference/openjarvis-learning.md
// §1.5). Kept: every enum value and its spelling, the fields, the payload
// keys of each op, the session id format. Changed: the risk tier and the
// pillar of an edit follow from its op (the reference overwrote the tier
// after parsing and trusted the teacher's pillar; here both are derived, so
// an edit can never claim a lower tier); `check_edit` validates the payload
// of each op with its types, so a malformed edit is a typed error before any
// applier sees it; an outcome keeps its edit and its per-cluster deltas (the
// reference's `cluster_deltas` was always empty); seeds come from a stable
// hash (§4 item 4).
#ifndef LEASH_LEARN_SPEC_SEARCH_TYPES_HPP
#define LEASH_LEARN_SPEC_SEARCH_TYPES_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::spec_search {

// ---- enums -------------------------------------------------------------------
// Enumerators that would be C++ keywords get a spelled-out name ("auto" →
// `automatic`); to_string and the *_from_string functions use the reference's
// spellings, which are what JSON, the store and the CLI read and write.

/// Which part of the agent an edit changes. `engine` has no appliers.
enum class EditPillar { intelligence, agent, tools, engine };

/// Who may apply an edit: the gate alone, a person, or nobody automatically.
enum class EditRiskTier { automatic, review, manual };

/// What an edit does (the reference's ops, same spelling).
enum class EditOp {
  set_model_for_query_class,
  set_model_param,
  patch_system_prompt,
  replace_system_prompt,
  set_agent_class,
  set_agent_param,
  edit_few_shot_exemplars,
  add_tool_to_agent,
  remove_tool_from_agent,
  edit_tool_description,
  lora_finetune,
};

/// What started a session.
enum class TriggerKind { scheduled, cluster, user_flag, on_demand };

/// How much a session may apply on its own: everything the gate accepts
/// (`auto`), only auto-tier edits (`tiered`, the default), or nothing (`manual`).
enum class AutonomyMode { automatic, tiered, manual };

/// Where a session is, or how it ended.
enum class SessionStatus {
  initiated,
  diagnosing,
  planning,
  executing,
  awaiting_review,
  completed,
  failed,
  rolled_back,
};

/// What became of one edit.
enum class OutcomeStatus { applied, rejected_by_gate, pending_review, rejected_by_user, rolled_back, skipped };

std::string_view to_string(EditPillar v) noexcept;
std::string_view to_string(EditRiskTier v) noexcept;
std::string_view to_string(EditOp v) noexcept;
std::string_view to_string(TriggerKind v) noexcept;
std::string_view to_string(AutonomyMode v) noexcept;
std::string_view to_string(SessionStatus v) noexcept;
std::string_view to_string(OutcomeStatus v) noexcept;

std::optional<EditPillar> pillar_from_string(std::string_view s) noexcept;
std::optional<EditRiskTier> risk_tier_from_string(std::string_view s) noexcept;
std::optional<EditOp> op_from_string(std::string_view s) noexcept;
std::optional<TriggerKind> trigger_kind_from_string(std::string_view s) noexcept;
std::optional<AutonomyMode> autonomy_from_string(std::string_view s) noexcept;
std::optional<SessionStatus> session_status_from_string(std::string_view s) noexcept;
std::optional<OutcomeStatus> outcome_status_from_string(std::string_view s) noexcept;

inline std::ostream& operator<<(std::ostream& os, EditPillar v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, EditRiskTier v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, EditOp v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, TriggerKind v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, AutonomyMode v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, SessionStatus v) { return os << to_string(v); }
inline std::ostream& operator<<(std::ostream& os, OutcomeStatus v) { return os << to_string(v); }

/// The reference's tier table (§2.14 step 5): auto = model for a query class,
/// model param, agent param, add/remove tool, tool description; review =
/// patch/replace prompt, agent class, few-shot exemplars; manual = LoRA.
EditRiskTier risk_tier_of(EditOp op) noexcept;

/// The pillar an op belongs to: model ops and LoRA → intelligence; prompts,
/// agent class, agent params and few-shot → agent; tools and their
/// descriptions → tools.
EditPillar pillar_of(EditOp op) noexcept;

// ---- edits -------------------------------------------------------------------

/// One proposed change to the agent's configuration.
///
/// Payload keys per op (all strings unless said):
///
/// | op                        | payload                                                  |
/// |---------------------------|----------------------------------------------------------|
/// | set_model_for_query_class | query_class, model                                       |
/// | set_model_param           | model, param, value (number, string or boolean)          |
/// | patch_system_prompt       | agent?, diff (a unified diff of the prompt)              |
/// | replace_system_prompt     | agent?, new_content                                      |
/// | set_agent_class           | agent?, new_class                                        |
/// | set_agent_param           | agent?, param, value (number, string, boolean or array)  |
/// | edit_few_shot_exemplars   | agent?, exemplars: [{input, output}, …] (at least one)   |
/// | add_tool_to_agent         | agent?, tool_name                                        |
/// | remove_tool_from_agent    | agent?, tool_name                                        |
/// | edit_tool_description     | tool_name, new_description                               |
/// | lora_finetune             | anything (never applied automatically)                   |
///
/// `agent?`: when absent, the agent is the second segment of `target`
/// (`agents.<agent>.…`), else "default" (agent_of).
struct Edit {
  std::string id;
  EditPillar pillar = EditPillar::agent;
  EditOp op = EditOp::set_agent_param;
  std::string target;  ///< dotted, e.g. "agents.calc.system_prompt"
  json::object payload;
  std::string rationale;
  std::string expected_improvement;  ///< the id of the cluster it should help
  EditRiskTier risk_tier = EditRiskTier::automatic;
  std::vector<std::string> references;  ///< trace ids that motivated it
};

/// The agent an edit is about: payload "agent", else the second segment of a
/// dotted target, else "default" (the reference's rule).
std::string agent_of(Edit const& edit);

/// Whether a setting's name says it holds a secret or where requests go:
/// a word of it (words split at '_', '-', '.', any case) ends with "key",
/// "token", "secret", "password", "passwd" or "credential(s)" — so
/// "api_key" and "accessToken" do, "max_tokens" does not — or it is "url",
/// "base_url", "endpoint" or "host". Spec search
/// never lets an edit set such a parameter, and never shows its value to the
/// teacher.
bool is_sensitive_param(std::string_view name) noexcept;

/// Errc::invalid_input, naming the edit and the field, when the payload does
/// not have the keys and types its op needs (see Edit), when the id is empty,
/// when an exemplar lacks input or output, or when a set_model_param or
/// set_agent_param names a sensitive parameter (is_sensitive_param). Pillar and tier are not
/// checked: edit_from_json derives them from the op.
result<void> check_edit(Edit const& edit);

/// Reads an edit from the teacher's JSON: `op` required; `id` (default
/// `edit-<k>` with k = `index`), `target`, `payload`, `rationale`,
/// `expected_improvement`, `references` optional. `pillar` and `risk_tier` are
/// derived from the op whatever the JSON says. Then check_edit.
result<Edit> edit_from_json(json::value const& v, std::size_t index = 0);
json::object to_json(Edit const& e);

// ---- diagnosis and plan --------------------------------------------------------

/// A group of failures with one cause, as the teacher diagnosed it.
struct FailureCluster {
  std::string id;
  std::string description;
  std::vector<std::string> sample_trace_ids;
  double student_failure_rate = 0.0;  ///< in [0, 1]
  double teacher_success_rate = 0.0;  ///< in [0, 1]
  std::string skill_gap;
  std::vector<std::string> addressed_by_edit_ids;
};

/// Reads a cluster: `id` (default `cluster-<k>`, k = index + 1), rates given
/// as percentages (> 1) are divided by 100, then clamped to [0, 1] (the
/// reference's leniency); a rate that is not a number is 0. Errc::invalid_input
/// when `v` is not an object or has no description.
result<FailureCluster> cluster_from_json(json::value const& v, std::size_t index = 0);
json::object to_json(FailureCluster const& c);

/// What a session decided to try.
struct LearningPlan {
  std::string session_id;
  std::string diagnosis_summary;
  std::vector<FailureCluster> failure_clusters;
  std::vector<Edit> edits;
  std::string teacher_model;
  double estimated_cost_usd = 0.0;
  double created_at = 0.0;  ///< seconds since the epoch
};
json::object to_json(LearningPlan const& p);

// ---- measuring -------------------------------------------------------------------

/// A benchmark score, overall and per cluster.
struct BenchmarkSnapshot {
  std::string benchmark_version = "personal_v1";
  double overall_score = 0.0;              ///< in [0, 1]
  std::map<std::string, double> cluster_scores;
  std::uint64_t task_count = 0;
  double elapsed_seconds = 0.0;
  /// What scoring spent (a judge, the student's model); part of the session's cost.
  double cost_usd = 0.0;
};
json::object to_json(BenchmarkSnapshot const& s);
result<BenchmarkSnapshot> snapshot_from_json(json::value const& v);

/// What became of one edit: the edit itself, its status, and what the gate measured.
struct EditOutcome {
  Edit edit;
  OutcomeStatus status = OutcomeStatus::skipped;
  std::optional<double> benchmark_delta;         ///< after − baseline, overall
  std::map<std::string, double> cluster_deltas;  ///< after − baseline, per cluster of the baseline
  std::optional<std::string> error;              ///< why it was rejected or skipped
  std::optional<double> applied_at;              ///< seconds since the epoch
};
json::object to_json(EditOutcome const& o);
result<EditOutcome> outcome_from_json(json::value const& v);

// ---- sessions ----------------------------------------------------------------------

/// What started a session, and what the trigger knows.
struct Trigger {
  TriggerKind kind = TriggerKind::on_demand;
  json::object metadata;

  static Trigger on_demand(json::object metadata = {});
  static Trigger user_flag(std::string trace_id);
  static Trigger scheduled(std::string cron = "0 3 * * *", std::uint64_t new_trace_count = 0);
  static Trigger cluster(std::string description, std::vector<std::string> trace_ids, double failure_rate);
};

/// One diagnose → plan → execute → gate round.
struct LearningSession {
  std::string id;  ///< session-<YYYYMMDDTHHMMSS UTC>_<8 hex>
  std::optional<std::string> parent_session_id;
  Trigger trigger;
  SessionStatus status = SessionStatus::initiated;
  AutonomyMode autonomy_mode = AutonomyMode::tiered;
  double started_at = 0.0;
  std::optional<double> ended_at;
  std::string diagnosis_path;
  std::string plan_path;
  std::optional<BenchmarkSnapshot> benchmark_before;
  std::optional<BenchmarkSnapshot> benchmark_after;
  std::vector<EditOutcome> edit_outcomes;
  /// A fingerprint of the configuration files before and after (the
  /// reference's git checkpoints): SHA-256 over the files an edit can touch.
  std::string checkpoint_pre;
  std::optional<std::string> checkpoint_post;
  double teacher_cost_usd = 0.0;
  std::optional<std::string> error;
};
json::object to_json(LearningSession const& s);
result<LearningSession> session_from_json(json::value const& v);

/// "session-20261207T175200_1a2b3c4d": the UTC time and 32 random bits.
std::string make_session_id(double epoch_seconds, std::mt19937_64& rng);

/// A seed for a session's benchmark subsample that is the same in every
/// process and on every machine: the first 31 bits of SHA-256(session id).
/// (The reference used Python's hash(), randomised per process: §4 item 4.)
std::uint32_t stable_seed(std::string_view session_id);

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/types.hpp>

#endif
