// leash/learn/spec_search/plan.hpp — the teacher's two texts a session reads:
// the diagnosis (failure clusters) and the plan (typed edits), with the
// prompts that ask for them.
//
//   namespace ss = leash::learn::spec_search;
//   auto clusters = ss::parse_clusters(diagnosis_reply);     // result<vector<FailureCluster>>
//   if (!clusters) return fail(clusters.error());            // Errc::llm_bad_response
//   auto triage = ss::triage_clusters(std::move(clusters).value());
//   auto prompt = ss::planning_prompt(triage.kept, current_config_text);
//   // one teacher call: system ss::planning_instructions, user `prompt`
//   auto plan = ss::parse_edits(plan_reply);                 // {edits, rejected}
//   ss::link_clusters(triage.kept, plan.edits);
//
// Reference: OpenJarvis spec_search diagnose/plan (reference/
// openjarvis-learning.md §2.14 steps 4 and 5). Kept: clusters in a ```json
// fence, else bracketed arrays in the text; rates as percentages accepted;
// clusters with both rates 0 dropped with their skill gap marked; one planning
// call asking for `{"edits": [...]}`, 1–3 edits per cluster; invalid edits
// left out of the plan; tiers fixed by the op; clusters linked to edits by
// `expected_improvement`. Changed: the reference took the *greedy* span from
// the first `[` (or `{`) to the last `]` (`}`), which prose brackets break;
// here each bracket is tried as the start of a JSON value, the last first, so
// a stray bracket in prose only costs one failed parse. Invalid edits are
// reported with their reason rather than dropped silently, and duplicate edit
// (and cluster) ids are made unique, since later steps key on them. The
// prompts' wording is our own.
//
// The JSON search is not LlmOptimizer's extract_json_object: that one returns
// the *first* object, and both replies here want the *last* value of a given
// shape (the teacher reasons first and answers at the end), arrays included.
#ifndef LEASH_LEARN_SPEC_SEARCH_PLAN_HPP
#define LEASH_LEARN_SPEC_SEARCH_PLAN_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/spec_search/types.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::spec_search {

// ---- diagnosis ------------------------------------------------------------------

/// The teacher's system prompt for diagnosis: read traces and run the student
/// with the tools, find 2–5 failure clusters each backed by at least three
/// runs, and end with a ```json array of clusters (the keys of FailureCluster
/// but addressed_by_edit_ids).
inline constexpr std::string_view diagnosis_instructions =
    "You are the teacher of a smaller agent, the student. Your job now is diagnosis: find out where the "
    "student fails and why, so that its configuration can be improved.\n"
    "\n"
    "Use the tools. Read the student's recent traces, look closely at the ones that went wrong, run the "
    "student on tasks from its benchmark, and solve the same tasks yourself to see what a good answer "
    "takes. Do not guess what a tool would show you: call it.\n"
    "\n"
    "Group the failures into 2 to 5 clusters. A cluster is a set of failures with one cause that one kind "
    "of change could fix (a missing tool, a misleading instruction, a model too weak for a class of "
    "query, ...). Back every cluster with at least 3 runs you have looked at; leave out a suspicion you "
    "could not confirm on 3 runs.\n"
    "\n"
    "End your reply with the clusters as a JSON array in a ```json fence, one object per cluster:\n"
    "```json\n"
    "[{\"id\": \"short-kebab-id\", \"description\": \"what goes wrong and when\",\n"
    "  \"sample_trace_ids\": [\"ids of runs that show it\"],\n"
    "  \"student_failure_rate\": 0.6, \"teacher_success_rate\": 0.9,\n"
    "  \"skill_gap\": \"what the student lacks that you have\"}]\n"
    "```\n"
    "Rates are fractions from 0 to 1 measured on the runs you looked at: how often the student fails on "
    "such tasks, and how often you succeed on them.";

/// Reads the clusters of a diagnosis reply. The array is looked for in each
/// ```json fence (the last first) — an array, or an object whose "clusters"
/// or "failure_clusters" is one — then at each `[` of the text, the last
/// first, as the start of a JSON array (trailing text allowed). The first
/// candidate with at least one readable cluster wins. Elements are read by
/// cluster_from_json with their position (so a missing id is
/// `cluster-<position + 1>`); elements that do not read are skipped; a
/// duplicate id gets a suffix ("-2", "-3", …). No readable cluster anywhere
/// is Errc::llm_bad_response, "diagnosis produced no actionable clusters".
result<std::vector<FailureCluster>> parse_clusters(std::string_view text);

/// The clusters a plan is made for, and those left out.
struct ClusterTriage {
  std::vector<FailureCluster> kept;
  /// Clusters with both rates 0 (no evidence either way); their skill_gap
  /// starts with "dropped: insufficient evidence".
  std::vector<FailureCluster> dropped;
};

/// Splits the clusters: both student_failure_rate and teacher_success_rate 0
/// → dropped (skill_gap prefixed "dropped: insufficient evidence", the old
/// text kept after "; "); the rest kept, in order.
ClusterTriage triage_clusters(std::vector<FailureCluster> clusters);

// ---- planning ---------------------------------------------------------------------

/// The teacher's system prompt for the planning call.
inline constexpr std::string_view planning_instructions =
    "You are the teacher of a smaller agent. A diagnosis has found clusters of failures in its runs. "
    "Propose changes to the agent's configuration that should fix them. You change the configuration "
    "only through the typed edits listed in the request; each edit is applied on its own and kept only "
    "if a benchmark shows it helped without making any cluster worse, so prefer small, targeted edits "
    "whose effect can be measured. Reply with one JSON object and nothing that contradicts it.";

/// The user message of the planning call: the clusters as JSON, the current
/// configuration as given, and the catalogue of ops with their payload keys
/// (the table of Edit) and the tier each op gets; it asks for
/// `{"edits": [...]}`, 1–3 edits per cluster, each with `expected_improvement`
/// set to the id of the cluster it addresses.
std::string planning_prompt(std::vector<FailureCluster> const& clusters, std::string_view current_config);

/// A plan read from the teacher, and the edits that could not be used.
struct ParsedPlan {
  std::vector<Edit> edits;            ///< valid, ids unique, in the teacher's order
  std::vector<std::string> rejected;  ///< one reason per invalid edit (edit_from_json's error)
};

/// Reads the edits of a planning reply. The object holding an "edits" array
/// is looked for in the whole text as JSON, then in each ``` fence (tagged or
/// not, the last first), then at each `{` of the text, the last first, as the
/// start of a JSON object; the first object whose "edits" is an array wins.
/// Element k (from 0) is read by edit_from_json(v, k + 1): a missing id is
/// `edit-<k + 1>`, pillar and risk tier follow from the op whatever the
/// teacher claimed. An invalid element goes to `rejected` with its reason. A
/// duplicate id gets a suffix ("-2", "-3", … the first free one), so ids are
/// unique. Output with no such object is an empty plan, not an error: a
/// session with nothing to try simply ends.
ParsedPlan parse_edits(std::string_view text);

/// Sets each cluster's addressed_by_edit_ids to the ids of the edits whose
/// expected_improvement is that cluster's id, in edit order (what the teacher
/// wrote there before is replaced).
void link_clusters(std::vector<FailureCluster>& clusters, std::vector<Edit> const& edits);

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/plan.hpp>

#endif
