// leash/learn/spec_search/impl/plan.hpp — definitions for plan.hpp.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_PLAN_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_PLAN_HPP

#include <array>
#include <cctype>
#include <optional>
#include <set>
#include <utility>

namespace leash::learn::spec_search {

namespace detail {

/// A JSON value parsed from the start of `text`; trailing text is allowed,
/// an incomplete value is not.
inline std::optional<json::value> value_at(json::parser& p, std::string_view text) {
  p.reset();
  boost::system::error_code ec;
  p.write_some(text.data(), text.size(), ec);
  if (ec) return std::nullopt;  // json::parser takes the buffer as all there is: a cut-off value is an error
  return p.release();
}

/// The whole text as one JSON value (surrounding blanks allowed).
inline std::optional<json::value> whole_value(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

/// The bodies of the ``` fences of `text`, in order; `json_only` keeps those
/// tagged "json" (any case). An unclosed last fence is left out: its value
/// is probably cut off, and the bracket scan still sees the text.
inline std::vector<std::string_view> fence_bodies(std::string_view text, bool json_only) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  for (;;) {
    auto open = text.find("```", at);
    if (open == std::string_view::npos) break;
    auto line_end = text.find('\n', open + 3);
    if (line_end == std::string_view::npos) break;
    auto tag = text.substr(open + 3, line_end - open - 3);
    while (!tag.empty() && std::isspace(static_cast<unsigned char>(tag.back()))) tag.remove_suffix(1);
    auto close = text.find("```", line_end + 1);
    if (close == std::string_view::npos) break;
    bool is_json = tag.size() == 4 && std::tolower(static_cast<unsigned char>(tag[0])) == 'j' &&
                   std::tolower(static_cast<unsigned char>(tag[1])) == 's' &&
                   std::tolower(static_cast<unsigned char>(tag[2])) == 'o' &&
                   std::tolower(static_cast<unsigned char>(tag[3])) == 'n';
    if (!json_only || is_json) out.push_back(text.substr(line_end + 1, close - line_end - 1));
    at = close + 3;
  }
  return out;
}

/// The position of the last `ch` before `end`; npos when there is none.
inline std::size_t last_before(std::string_view text, char ch, std::size_t end) {
  return end == 0 ? std::string_view::npos : text.rfind(ch, end - 1);
}

/// `base` if no id in `taken` has it, else the first free `base-2`, `base-3`, …;
/// the result is added to `taken`.
inline std::string unique_id(std::string base, std::set<std::string>& taken) {
  if (taken.insert(base).second) return base;
  for (std::size_t k = 2;; ++k) {
    auto candidate = base + "-" + std::to_string(k);
    if (taken.insert(candidate).second) return candidate;
  }
}

/// The readable clusters of an array (ids made unique).
inline std::vector<FailureCluster> clusters_of(json::array const& a) {
  std::vector<FailureCluster> out;
  std::set<std::string> taken;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto c = cluster_from_json(a[i], i);
    if (!c) continue;
    out.push_back(std::move(c).value());
    out.back().id = unique_id(std::move(out.back().id), taken);
  }
  return out;
}

/// The clusters of a fence's value: an array, or an object that names one.
inline std::vector<FailureCluster> clusters_in(json::value const& v) {
  if (auto const* a = v.if_array()) return clusters_of(*a);
  if (auto const* o = v.if_object())
    for (std::string_view key : {"clusters", "failure_clusters"})
      if (auto const* inner = o->if_contains(key); inner && inner->is_array()) return clusters_of(inner->get_array());
  return {};
}

/// The "edits" array of `v`, if `v` is an object that has one.
inline json::array const* edits_array(json::value const& v) {
  auto const* o = v.if_object();
  if (!o) return nullptr;
  auto const* e = o->if_contains("edits");
  return e ? e->if_array() : nullptr;
}

/// What each op's payload holds, for the planning prompt (types.hpp's table).
struct OpDoc {
  EditOp op;
  std::string_view payload;
  std::string_view does;
};

inline constexpr std::array<OpDoc, 11> op_docs{{
    {EditOp::set_model_for_query_class, R"({"query_class": str, "model": str})",
     "route one class of queries to another model"},
    {EditOp::set_model_param, R"({"model": str, "param": str, "value": number | string | boolean})",
     "set a generation parameter of a model (temperature, max_tokens, ...)"},
    {EditOp::patch_system_prompt, R"({"agent"?: str, "diff": str (a unified diff of the prompt)})",
     "change part of an agent's system prompt"},
    {EditOp::replace_system_prompt, R"({"agent"?: str, "new_content": str})",
     "rewrite an agent's system prompt entirely"},
    {EditOp::set_agent_class, R"({"agent"?: str, "new_class": str})", "change the kind of agent"},
    {EditOp::set_agent_param, R"({"agent"?: str, "param": str, "value": number | string | boolean | array of them})",
     "set a parameter of an agent (max_turns, temperature, ...)"},
    {EditOp::edit_few_shot_exemplars, R"({"agent"?: str, "exemplars": [{"input": str, "output": str}, ...]})",
     "give an agent worked examples (at least one)"},
    {EditOp::add_tool_to_agent, R"({"agent"?: str, "tool_name": str})", "let an agent use one more tool"},
    {EditOp::remove_tool_from_agent, R"({"agent"?: str, "tool_name": str})",
     "take a tool away from an agent"},
    {EditOp::edit_tool_description, R"({"tool_name": str, "new_description": str})",
     "rewrite what the model is told a tool does"},
    {EditOp::lora_finetune, R"({...})", "fine-tune the model (only ever applied by a person)"},
}};

}  // namespace detail

inline result<std::vector<FailureCluster>> parse_clusters(std::string_view text) {
  auto fences = detail::fence_bodies(text, true);
  for (auto it = fences.rbegin(); it != fences.rend(); ++it)
    if (auto v = detail::whole_value(*it))
      if (auto found = detail::clusters_in(*v); !found.empty()) return found;

  // Each '[' as the start of an array, the last first: a prose bracket fails
  // to parse at once, and an inner array (trace ids) holds no clusters.
  json::parser p;
  for (auto at = detail::last_before(text, '[', text.size()); at != std::string_view::npos;
       at = detail::last_before(text, '[', at)) {
    auto v = detail::value_at(p, text.substr(at));
    if (!v || !v->is_array()) continue;
    if (auto found = detail::clusters_of(v->get_array()); !found.empty()) return found;
  }
  return Error{Errc::llm_bad_response, "diagnosis produced no actionable clusters"};
}

inline ClusterTriage triage_clusters(std::vector<FailureCluster> clusters) {
  ClusterTriage out;
  for (auto& c : clusters) {
    if (c.student_failure_rate == 0.0 && c.teacher_success_rate == 0.0) {
      c.skill_gap = c.skill_gap.empty() ? "dropped: insufficient evidence"
                                        : "dropped: insufficient evidence; " + c.skill_gap;
      out.dropped.push_back(std::move(c));
    } else {
      out.kept.push_back(std::move(c));
    }
  }
  return out;
}

inline std::string planning_prompt(std::vector<FailureCluster> const& clusters, std::string_view current_config) {
  std::string out = "## Failure clusters\n\n[\n";
  for (std::size_t i = 0; i < clusters.size(); ++i) {
    auto o = to_json(clusters[i]);
    o.erase("addressed_by_edit_ids");  // filled from this call's answer
    out += "  " + json::serialize(o) + (i + 1 < clusters.size() ? ",\n" : "\n");
  }
  out += "]\n\n## Current configuration\n\n";
  if (current_config.empty()) {
    out += "(empty)\n";
  } else {
    out += "```\n";
    out += current_config;
    if (current_config.back() != '\n') out += '\n';
    out += "```\n";
  }
  out +=
      "\n## Edits you can propose\n\n"
      "An edit is an object with \"id\" (short, unique), \"op\", \"target\" (the dotted path it changes, e.g. "
      "\"agents.<agent>.system_prompt\"), \"payload\", \"rationale\", \"expected_improvement\" and \"references\" "
      "(ids of the traces that motivated it). \"agent\"? is optional: without it the agent is the second segment "
      "of the target. The tier is fixed by the op: auto edits are applied when the benchmark improves, review "
      "edits wait for a person, manual ones are never applied automatically.\n\n";
  for (auto const& d : detail::op_docs) {
    out += "- ";
    out += to_string(d.op);
    out += " (tier ";
    out += to_string(risk_tier_of(d.op));
    out += "): ";
    out += d.does;
    out += ". payload: ";
    out += d.payload;
    out += '\n';
  }
  out +=
      "\n## Task\n\n"
      "Propose 1 to 3 edits for each cluster, each with \"expected_improvement\" set to the id of the cluster it "
      "addresses. Reply with one JSON object in a ```json fence:\n"
      "```json\n"
      "{\"edits\": [{\"id\": \"e1\", \"op\": \"add_tool_to_agent\", \"target\": \"agents.default.tools\",\n"
      "  \"payload\": {\"tool_name\": \"calculator\"}, \"rationale\": \"why it should help\",\n"
      "  \"expected_improvement\": \"<cluster id>\", \"references\": [\"<trace id>\"]}]}\n"
      "```\n";
  return out;
}

inline ParsedPlan parse_edits(std::string_view text) {
  json::array const* edits = nullptr;
  std::optional<json::value> holder;
  auto take = [&](std::optional<json::value> v) {
    if (!v) return false;
    if (!detail::edits_array(*v)) return false;
    holder = std::move(v);
    edits = detail::edits_array(*holder);
    return true;
  };

  bool found = take(detail::whole_value(text));
  if (!found) {
    auto fences = detail::fence_bodies(text, false);
    for (auto it = fences.rbegin(); !found && it != fences.rend(); ++it) found = take(detail::whole_value(*it));
  }
  if (!found) {
    // Each '{' as the start of an object, the last first: the inner edit and
    // payload objects have no "edits", so the scan walks out to the plan.
    json::parser p;
    for (auto at = detail::last_before(text, '{', text.size()); !found && at != std::string_view::npos;
         at = detail::last_before(text, '{', at))
      found = take(detail::value_at(p, text.substr(at)));
  }

  ParsedPlan plan;
  if (!found) return plan;
  std::set<std::string> taken;
  for (std::size_t i = 0; i < edits->size(); ++i) {
    auto e = edit_from_json((*edits)[i], i + 1);
    if (!e) {
      plan.rejected.push_back(e.error().what());
      continue;
    }
    plan.edits.push_back(std::move(e).value());
    plan.edits.back().id = detail::unique_id(std::move(plan.edits.back().id), taken);
  }
  return plan;
}

inline void link_clusters(std::vector<FailureCluster>& clusters, std::vector<Edit> const& edits) {
  for (auto& c : clusters) {
    c.addressed_by_edit_ids.clear();
    for (auto const& e : edits)
      if (e.expected_improvement == c.id) c.addressed_by_edit_ids.push_back(e.id);
  }
}

}  // namespace leash::learn::spec_search

#endif
