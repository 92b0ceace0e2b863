// leash/learn/spec_search/impl/types.hpp — definitions for types.hpp.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_TYPES_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_TYPES_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <utility>

namespace leash::learn::spec_search {

namespace detail {

template <class E, std::size_t N>
struct EnumNames {
  std::array<std::pair<E, std::string_view>, N> entries;

  constexpr std::string_view name(E v) const noexcept {
    for (auto const& [e, n] : entries)
      if (e == v) return n;
    return "?";
  }
  constexpr std::optional<E> parse(std::string_view s) const noexcept {
    for (auto const& [e, n] : entries)
      if (n == s) return e;
    return std::nullopt;
  }
};

inline constexpr EnumNames<EditPillar, 4> pillar_names{{{
    {EditPillar::intelligence, "intelligence"},
    {EditPillar::agent, "agent"},
    {EditPillar::tools, "tools"},
    {EditPillar::engine, "engine"},
}}};
inline constexpr EnumNames<EditRiskTier, 3> tier_names{{{
    {EditRiskTier::automatic, "auto"},
    {EditRiskTier::review, "review"},
    {EditRiskTier::manual, "manual"},
}}};
inline constexpr EnumNames<EditOp, 11> op_names{{{
    {EditOp::set_model_for_query_class, "set_model_for_query_class"},
    {EditOp::set_model_param, "set_model_param"},
    {EditOp::patch_system_prompt, "patch_system_prompt"},
    {EditOp::replace_system_prompt, "replace_system_prompt"},
    {EditOp::set_agent_class, "set_agent_class"},
    {EditOp::set_agent_param, "set_agent_param"},
    {EditOp::edit_few_shot_exemplars, "edit_few_shot_exemplars"},
    {EditOp::add_tool_to_agent, "add_tool_to_agent"},
    {EditOp::remove_tool_from_agent, "remove_tool_from_agent"},
    {EditOp::edit_tool_description, "edit_tool_description"},
    {EditOp::lora_finetune, "lora_finetune"},
}}};
inline constexpr EnumNames<TriggerKind, 4> trigger_names{{{
    {TriggerKind::scheduled, "scheduled"},
    {TriggerKind::cluster, "cluster"},
    {TriggerKind::user_flag, "user_flag"},
    {TriggerKind::on_demand, "on_demand"},
}}};
inline constexpr EnumNames<AutonomyMode, 3> autonomy_names{{{
    {AutonomyMode::automatic, "auto"},
    {AutonomyMode::tiered, "tiered"},
    {AutonomyMode::manual, "manual"},
}}};
inline constexpr EnumNames<SessionStatus, 8> session_status_names{{{
    {SessionStatus::initiated, "initiated"},
    {SessionStatus::diagnosing, "diagnosing"},
    {SessionStatus::planning, "planning"},
    {SessionStatus::executing, "executing"},
    {SessionStatus::awaiting_review, "awaiting_review"},
    {SessionStatus::completed, "completed"},
    {SessionStatus::failed, "failed"},
    {SessionStatus::rolled_back, "rolled_back"},
}}};
inline constexpr EnumNames<OutcomeStatus, 6> outcome_names{{{
    {OutcomeStatus::applied, "applied"},
    {OutcomeStatus::rejected_by_gate, "rejected_by_gate"},
    {OutcomeStatus::pending_review, "pending_review"},
    {OutcomeStatus::rejected_by_user, "rejected_by_user"},
    {OutcomeStatus::rolled_back, "rolled_back"},
    {OutcomeStatus::skipped, "skipped"},
}}};

/// `text` cut to at most `cap` bytes on a UTF-8 character boundary, saying
/// how many bytes went: what a model is shown of a long field.
inline std::string clip(std::string_view text, std::size_t cap) {
  if (text.size() <= cap) return std::string(text);
  auto n = leash::utf8_prefix(text, cap);
  return std::string(text.substr(0, n)) + "... [" + std::to_string(text.size() - n) + " more bytes]";
}

inline Error bad(std::string message) { return Error{Errc::invalid_input, std::move(message)}; }

inline std::string str_or(json::object const& o, std::string_view key, std::string fallback = {}) {
  if (auto const* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return fallback;
}

inline std::optional<double> number_of(json::value const& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

inline std::optional<double> opt_number(json::object const& o, std::string_view key) {
  if (auto const* v = o.if_contains(key)) return number_of(*v);
  return std::nullopt;
}

inline std::vector<std::string> strings_of(json::object const& o, std::string_view key) {
  std::vector<std::string> out;
  if (auto const* v = o.if_contains(key); v && v->is_array())
    for (auto const& e : v->get_array())
      if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

inline json::array to_array(std::vector<std::string> const& v) {
  json::array a;
  for (auto const& s : v) a.emplace_back(s);
  return a;
}

inline json::object to_object(std::map<std::string, double> const& m) {
  json::object o;
  for (auto const& [k, v] : m) o[k] = v;
  return o;
}

inline std::map<std::string, double> map_of(json::object const& o, std::string_view key) {
  std::map<std::string, double> out;
  if (auto const* v = o.if_contains(key); v && v->is_object())
    for (auto const& [k, x] : v->get_object())
      if (auto n = number_of(x)) out[std::string(k)] = *n;
  return out;
}

/// A required non-empty string field of an edit's payload.
inline result<void> need_string(Edit const& e, std::string_view key) {
  auto const* v = e.payload.if_contains(key);
  if (!v || !v->is_string() || v->get_string().empty())
    return bad("edit '" + e.id + "' (" + std::string(to_string(e.op)) + "): payload needs a non-empty string '" +
               std::string(key) + "'");
  return leash::success();
}

/// An optional string field: absent is fine, present must be a non-empty string.
inline result<void> maybe_string(Edit const& e, std::string_view key) {
  if (!e.payload.contains(key)) return leash::success();
  return need_string(e, key);
}

inline bool scalar(json::value const& v) {
  return v.is_string() || v.is_bool() || (number_of(v) && std::isfinite(*number_of(v)));
}

inline double clamp_rate(json::object const& o, std::string_view key) {
  auto n = opt_number(o, key);
  if (!n || !std::isfinite(*n)) return 0.0;
  double r = *n > 1.0 ? *n / 100.0 : *n;
  return std::clamp(r, 0.0, 1.0);
}

}  // namespace detail

inline std::string_view to_string(EditPillar v) noexcept { return detail::pillar_names.name(v); }
inline std::string_view to_string(EditRiskTier v) noexcept { return detail::tier_names.name(v); }
inline std::string_view to_string(EditOp v) noexcept { return detail::op_names.name(v); }
inline std::string_view to_string(TriggerKind v) noexcept { return detail::trigger_names.name(v); }
inline std::string_view to_string(AutonomyMode v) noexcept { return detail::autonomy_names.name(v); }
inline std::string_view to_string(SessionStatus v) noexcept { return detail::session_status_names.name(v); }
inline std::string_view to_string(OutcomeStatus v) noexcept { return detail::outcome_names.name(v); }

inline std::optional<EditPillar> pillar_from_string(std::string_view s) noexcept {
  return detail::pillar_names.parse(s);
}
inline std::optional<EditRiskTier> risk_tier_from_string(std::string_view s) noexcept {
  return detail::tier_names.parse(s);
}
inline std::optional<EditOp> op_from_string(std::string_view s) noexcept { return detail::op_names.parse(s); }
inline std::optional<TriggerKind> trigger_kind_from_string(std::string_view s) noexcept {
  return detail::trigger_names.parse(s);
}
inline std::optional<AutonomyMode> autonomy_from_string(std::string_view s) noexcept {
  return detail::autonomy_names.parse(s);
}
inline std::optional<SessionStatus> session_status_from_string(std::string_view s) noexcept {
  return detail::session_status_names.parse(s);
}
inline std::optional<OutcomeStatus> outcome_status_from_string(std::string_view s) noexcept {
  return detail::outcome_names.parse(s);
}

inline EditRiskTier risk_tier_of(EditOp op) noexcept {
  switch (op) {
    case EditOp::set_model_for_query_class:
    case EditOp::set_model_param:
    case EditOp::set_agent_param:
    case EditOp::add_tool_to_agent:
    case EditOp::remove_tool_from_agent:
    case EditOp::edit_tool_description:
      return EditRiskTier::automatic;
    case EditOp::patch_system_prompt:
    case EditOp::replace_system_prompt:
    case EditOp::set_agent_class:
    case EditOp::edit_few_shot_exemplars:
      return EditRiskTier::review;
    default:
      return EditRiskTier::manual;
  }
}

inline EditPillar pillar_of(EditOp op) noexcept {
  switch (op) {
    case EditOp::set_model_for_query_class:
    case EditOp::set_model_param:
    case EditOp::lora_finetune:
      return EditPillar::intelligence;
    case EditOp::add_tool_to_agent:
    case EditOp::remove_tool_from_agent:
    case EditOp::edit_tool_description:
      return EditPillar::tools;
    default:
      return EditPillar::agent;
  }
}

inline std::string agent_of(Edit const& edit) {
  if (auto a = detail::str_or(edit.payload, "agent"); !a.empty()) return a;
  auto first = edit.target.find('.');
  if (first != std::string::npos) {
    auto second = edit.target.find('.', first + 1);
    auto seg = edit.target.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    if (!seg.empty()) return seg;
  }
  return "default";
}

inline bool is_sensitive_param(std::string_view name) noexcept {
  std::string lower;
  for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (std::string_view exact : {"url", "base_url", "endpoint", "host"})
    if (lower == exact) return true;
  // Word by word ("max_tokens" counts tokens; "api_key", "accessToken" hold one).
  std::size_t start = 0;
  while (start <= lower.size()) {
    auto end = lower.find_first_of("_-. ", start);
    std::string_view word(lower.data() + start, (end == std::string::npos ? lower.size() : end) - start);
    for (std::string_view tail : {"key", "token", "secret", "password", "passwd", "credential", "credentials"})
      if (word.size() >= tail.size() && word.substr(word.size() - tail.size()) == tail) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

inline result<void> check_edit(Edit const& e) {
  using detail::bad;
  if (e.id.empty()) return bad("an edit needs an id");
  auto need = [&](std::string_view key) { return detail::need_string(e, key); };
  auto maybe = [&](std::string_view key) { return detail::maybe_string(e, key); };
  auto not_sensitive = [&]() -> result<void> {
    auto const* p = e.payload.if_contains("param");
    if (p && p->is_string() && is_sensitive_param(p->get_string()))
      return bad("edit '" + e.id + "' (" + std::string(to_string(e.op)) + "): parameter '" +
                 std::string(p->get_string()) + "' holds a secret or an address; spec search never sets it");
    return leash::success();
  };
  auto value_is = [&](auto pred, std::string_view what) -> result<void> {
    auto const* v = e.payload.if_contains("value");
    if (!v || !pred(*v))
      return bad("edit '" + e.id + "' (" + std::string(to_string(e.op)) + "): payload 'value' must be " +
                 std::string(what));
    return leash::success();
  };
  switch (e.op) {
    case EditOp::set_model_for_query_class: {
      BOOST_OUTCOME_TRY(need("query_class"));
      return need("model");
    }
    case EditOp::set_model_param: {
      BOOST_OUTCOME_TRY(need("model"));
      BOOST_OUTCOME_TRY(need("param"));
      BOOST_OUTCOME_TRY(not_sensitive());
      return value_is(detail::scalar, "a number, a string or a boolean");
    }
    case EditOp::patch_system_prompt: {
      BOOST_OUTCOME_TRY(maybe("agent"));
      return need("diff");
    }
    case EditOp::replace_system_prompt: {
      BOOST_OUTCOME_TRY(maybe("agent"));
      return need("new_content");
    }
    case EditOp::set_agent_class: {
      BOOST_OUTCOME_TRY(maybe("agent"));
      return need("new_class");
    }
    case EditOp::set_agent_param: {
      BOOST_OUTCOME_TRY(maybe("agent"));
      BOOST_OUTCOME_TRY(need("param"));
      BOOST_OUTCOME_TRY(not_sensitive());
      return value_is(
          [](json::value const& v) {
            if (detail::scalar(v)) return true;
            if (!v.is_array()) return false;
            return std::all_of(v.get_array().begin(), v.get_array().end(),
                               [](json::value const& x) { return detail::scalar(x); });
          },
          "a number, a string, a boolean or an array of them");
    }
    case EditOp::edit_few_shot_exemplars: {
      BOOST_OUTCOME_TRY(maybe("agent"));
      auto const* ex = e.payload.if_contains("exemplars");
      if (!ex || !ex->is_array() || ex->get_array().empty())
        return bad("edit '" + e.id + "' (edit_few_shot_exemplars): payload needs a non-empty array 'exemplars'");
      std::size_t k = 0;
      for (auto const& x : ex->get_array()) {
        ++k;
        auto const* o = x.if_object();
        auto ok = [&](std::string_view key) {
          auto const* s = o ? o->if_contains(key) : nullptr;
          return s && s->is_string() && !s->get_string().empty();
        };
        if (!ok("input") || !ok("output"))
          return bad("edit '" + e.id + "' (edit_few_shot_exemplars): exemplar " + std::to_string(k) +
                     " needs non-empty strings 'input' and 'output'");
      }
      return leash::success();
    }
    case EditOp::add_tool_to_agent:
    case EditOp::remove_tool_from_agent: {
      BOOST_OUTCOME_TRY(maybe("agent"));
      return need("tool_name");
    }
    case EditOp::edit_tool_description: {
      BOOST_OUTCOME_TRY(need("tool_name"));
      return need("new_description");
    }
    default: {
      return leash::success();
    }
  }
}

inline result<Edit> edit_from_json(json::value const& v, std::size_t index) {
  auto const* o = v.if_object();
  if (!o) return detail::bad("edit " + std::to_string(index) + " is not a JSON object");
  auto op_name = detail::str_or(*o, "op");
  auto op = op_from_string(op_name);
  if (!op)
    return detail::bad("edit " + std::to_string(index) + ": unknown op '" + op_name + "'" +
                       (op_name.empty() ? " (the 'op' field is missing)" : ""));
  Edit e;
  e.id = detail::str_or(*o, "id", "edit-" + std::to_string(index));
  e.op = *op;
  e.pillar = pillar_of(*op);
  e.risk_tier = risk_tier_of(*op);
  e.target = detail::str_or(*o, "target");
  if (auto const* p = o->if_contains("payload")) {
    if (!p->is_object()) return detail::bad("edit '" + e.id + "': 'payload' must be an object");
    e.payload = p->get_object();
  }
  e.rationale = detail::str_or(*o, "rationale");
  e.expected_improvement = detail::str_or(*o, "expected_improvement");
  e.references = detail::strings_of(*o, "references");
  BOOST_OUTCOME_TRY(check_edit(e));
  return e;
}

inline json::object to_json(Edit const& e) {
  json::object o;
  o["id"] = e.id;
  o["pillar"] = to_string(e.pillar);
  o["op"] = to_string(e.op);
  o["target"] = e.target;
  o["payload"] = e.payload;
  o["rationale"] = e.rationale;
  o["expected_improvement"] = e.expected_improvement;
  o["risk_tier"] = to_string(e.risk_tier);
  o["references"] = detail::to_array(e.references);
  return o;
}

inline result<FailureCluster> cluster_from_json(json::value const& v, std::size_t index) {
  auto const* o = v.if_object();
  if (!o) return detail::bad("cluster " + std::to_string(index + 1) + " is not a JSON object");
  FailureCluster c;
  c.id = detail::str_or(*o, "id", "cluster-" + std::to_string(index + 1));
  c.description = detail::str_or(*o, "description");
  if (c.description.empty()) return detail::bad("cluster '" + c.id + "' has no description");
  c.sample_trace_ids = detail::strings_of(*o, "sample_trace_ids");
  c.student_failure_rate = detail::clamp_rate(*o, "student_failure_rate");
  c.teacher_success_rate = detail::clamp_rate(*o, "teacher_success_rate");
  c.skill_gap = detail::str_or(*o, "skill_gap");
  c.addressed_by_edit_ids = detail::strings_of(*o, "addressed_by_edit_ids");
  return c;
}

inline json::object to_json(FailureCluster const& c) {
  json::object o;
  o["id"] = c.id;
  o["description"] = c.description;
  o["sample_trace_ids"] = detail::to_array(c.sample_trace_ids);
  o["student_failure_rate"] = c.student_failure_rate;
  o["teacher_success_rate"] = c.teacher_success_rate;
  o["skill_gap"] = c.skill_gap;
  o["addressed_by_edit_ids"] = detail::to_array(c.addressed_by_edit_ids);
  return o;
}

inline json::object to_json(LearningPlan const& p) {
  json::object o;
  o["session_id"] = p.session_id;
  o["diagnosis_summary"] = p.diagnosis_summary;
  json::array clusters, edits;
  for (auto const& c : p.failure_clusters) clusters.emplace_back(to_json(c));
  for (auto const& e : p.edits) edits.emplace_back(to_json(e));
  o["failure_clusters"] = std::move(clusters);
  o["edits"] = std::move(edits);
  o["teacher_model"] = p.teacher_model;
  o["estimated_cost_usd"] = p.estimated_cost_usd;
  o["created_at"] = p.created_at;
  return o;
}

inline json::object to_json(BenchmarkSnapshot const& s) {
  json::object o;
  o["benchmark_version"] = s.benchmark_version;
  o["overall_score"] = s.overall_score;
  o["cluster_scores"] = detail::to_object(s.cluster_scores);
  o["task_count"] = s.task_count;
  o["elapsed_seconds"] = s.elapsed_seconds;
  o["cost_usd"] = s.cost_usd;
  return o;
}

inline result<BenchmarkSnapshot> snapshot_from_json(json::value const& v) {
  auto const* o = v.if_object();
  if (!o) return detail::bad("a benchmark snapshot must be a JSON object");
  BenchmarkSnapshot s;
  s.benchmark_version = detail::str_or(*o, "benchmark_version", s.benchmark_version);
  auto overall = detail::opt_number(*o, "overall_score");
  if (!overall || !std::isfinite(*overall) || *overall < 0 || *overall > 1)
    return detail::bad("a benchmark snapshot needs an overall_score in [0, 1]");
  s.overall_score = *overall;
  s.cluster_scores = detail::map_of(*o, "cluster_scores");
  if (auto n = detail::opt_number(*o, "task_count"); n && *n >= 0) s.task_count = static_cast<std::uint64_t>(*n);
  s.elapsed_seconds = detail::opt_number(*o, "elapsed_seconds").value_or(0.0);
  s.cost_usd = detail::opt_number(*o, "cost_usd").value_or(0.0);
  return s;
}

inline json::object to_json(EditOutcome const& x) {
  json::object o;
  o["edit_id"] = x.edit.id;
  o["edit"] = to_json(x.edit);
  o["status"] = to_string(x.status);
  o["benchmark_delta"] = x.benchmark_delta ? json::value(*x.benchmark_delta) : json::value(nullptr);
  o["cluster_deltas"] = detail::to_object(x.cluster_deltas);
  o["error"] = x.error ? json::value(*x.error) : json::value(nullptr);
  o["applied_at"] = x.applied_at ? json::value(*x.applied_at) : json::value(nullptr);
  return o;
}

inline result<EditOutcome> outcome_from_json(json::value const& v) {
  auto const* o = v.if_object();
  if (!o) return detail::bad("an edit outcome must be a JSON object");
  EditOutcome x;
  auto const* e = o->if_contains("edit");
  if (!e) return detail::bad("an edit outcome needs its 'edit'");
  BOOST_OUTCOME_TRY(auto edit, edit_from_json(*e));
  x.edit = std::move(edit);
  auto status = outcome_status_from_string(detail::str_or(*o, "status"));
  if (!status) return detail::bad("edit outcome '" + x.edit.id + "' has an unknown status");
  x.status = *status;
  x.benchmark_delta = detail::opt_number(*o, "benchmark_delta");
  x.cluster_deltas = detail::map_of(*o, "cluster_deltas");
  if (auto const* err = o->if_contains("error"); err && err->is_string()) x.error = std::string(err->get_string());
  x.applied_at = detail::opt_number(*o, "applied_at");
  return x;
}

inline Trigger Trigger::on_demand(json::object metadata) { return Trigger{TriggerKind::on_demand, std::move(metadata)}; }

inline Trigger Trigger::user_flag(std::string trace_id) {
  json::object m;
  m["trace_id"] = std::move(trace_id);
  return Trigger{TriggerKind::user_flag, std::move(m)};
}

inline Trigger Trigger::scheduled(std::string cron, std::uint64_t new_trace_count) {
  json::object m;
  m["cron"] = std::move(cron);
  m["new_trace_count"] = new_trace_count;
  return Trigger{TriggerKind::scheduled, std::move(m)};
}

inline Trigger Trigger::cluster(std::string description, std::vector<std::string> trace_ids, double failure_rate) {
  json::object m;
  m["cluster_description"] = std::move(description);
  m["trace_ids"] = detail::to_array(trace_ids);
  m["failure_rate"] = failure_rate;
  return Trigger{TriggerKind::cluster, std::move(m)};
}

inline json::object to_json(LearningSession const& s) {
  json::object o;
  o["id"] = s.id;
  o["parent_session_id"] = s.parent_session_id ? json::value(*s.parent_session_id) : json::value(nullptr);
  o["trigger"] = to_string(s.trigger.kind);
  o["trigger_metadata"] = s.trigger.metadata;
  o["status"] = to_string(s.status);
  o["autonomy_mode"] = to_string(s.autonomy_mode);
  o["started_at"] = s.started_at;
  o["ended_at"] = s.ended_at ? json::value(*s.ended_at) : json::value(nullptr);
  o["diagnosis_path"] = s.diagnosis_path;
  o["plan_path"] = s.plan_path;
  o["benchmark_before"] = s.benchmark_before ? json::value(to_json(*s.benchmark_before)) : json::value(nullptr);
  o["benchmark_after"] = s.benchmark_after ? json::value(to_json(*s.benchmark_after)) : json::value(nullptr);
  json::array outcomes;
  for (auto const& x : s.edit_outcomes) outcomes.emplace_back(to_json(x));
  o["edit_outcomes"] = std::move(outcomes);
  o["checkpoint_pre"] = s.checkpoint_pre;
  o["checkpoint_post"] = s.checkpoint_post ? json::value(*s.checkpoint_post) : json::value(nullptr);
  o["teacher_cost_usd"] = s.teacher_cost_usd;
  o["error"] = s.error ? json::value(*s.error) : json::value(nullptr);
  return o;
}

inline result<LearningSession> session_from_json(json::value const& v) {
  auto const* o = v.if_object();
  if (!o) return detail::bad("a learning session must be a JSON object");
  LearningSession s;
  s.id = detail::str_or(*o, "id");
  if (s.id.empty()) return detail::bad("a learning session needs an id");
  if (auto p = detail::str_or(*o, "parent_session_id"); !p.empty()) s.parent_session_id = p;
  auto kind = trigger_kind_from_string(detail::str_or(*o, "trigger"));
  auto status = session_status_from_string(detail::str_or(*o, "status"));
  auto mode = autonomy_from_string(detail::str_or(*o, "autonomy_mode"));
  if (!kind || !status || !mode)
    return detail::bad("learning session '" + s.id + "' has an unknown trigger, status or autonomy mode");
  s.trigger.kind = *kind;
  if (auto const* m = o->if_contains("trigger_metadata"); m && m->is_object()) s.trigger.metadata = m->get_object();
  s.status = *status;
  s.autonomy_mode = *mode;
  s.started_at = detail::opt_number(*o, "started_at").value_or(0.0);
  s.ended_at = detail::opt_number(*o, "ended_at");
  s.diagnosis_path = detail::str_or(*o, "diagnosis_path");
  s.plan_path = detail::str_or(*o, "plan_path");
  for (auto [key, out] : {std::pair{"benchmark_before", &s.benchmark_before}, std::pair{"benchmark_after", &s.benchmark_after}}) {
    if (auto const* b = o->if_contains(key); b && b->is_object()) {
      BOOST_OUTCOME_TRY(auto snap, snapshot_from_json(*b));
      *out = std::move(snap);
    }
  }
  if (auto const* a = o->if_contains("edit_outcomes"); a && a->is_array())
    for (auto const& x : a->get_array()) {
      BOOST_OUTCOME_TRY(auto outcome, outcome_from_json(x));
      s.edit_outcomes.push_back(std::move(outcome));
    }
  s.checkpoint_pre = detail::str_or(*o, "checkpoint_pre");
  if (auto p = detail::str_or(*o, "checkpoint_post"); !p.empty()) s.checkpoint_post = p;
  s.teacher_cost_usd = detail::opt_number(*o, "teacher_cost_usd").value_or(0.0);
  if (auto const* err = o->if_contains("error"); err && err->is_string()) s.error = std::string(err->get_string());
  return s;
}

inline std::string make_session_id(double epoch_seconds, std::mt19937_64& rng) {
  auto t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rng() & 0xffffffffu));
  return std::string("session-") + stamp + "_" + hex;
}

inline std::uint32_t stable_seed(std::string_view session_id) {
  auto h = sha256_hex(session_id);
  return static_cast<std::uint32_t>(std::stoul(h.substr(0, 8), nullptr, 16) & 0x7fffffffu);
}

}  // namespace leash::learn::spec_search

#endif
