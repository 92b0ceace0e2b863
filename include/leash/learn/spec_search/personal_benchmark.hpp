// leash/learn/spec_search/personal_benchmark.hpp — a benchmark made of the
// user's own well-rated runs, and the judge that rates runs when no person did.
//
//   namespace ss = leash::learn::spec_search;
//   leash::learn::TraceStore traces(store);
//   ss::TraceJudge judge(transport);
//   auto batch = co_await judge.judge_traces(traces, {});        // writes feedback "judge"
//   auto ready = co_await ss::check_benchmark_ready(traces);      // enough good runs yet?
//   auto bench = co_await ss::synthesize_personal_benchmark(traces);
//   leash::learn::DatasetEvaluator eval(ss::to_eval_samples(bench.value()), agent,
//                                       ss::ReferenceMatchGrader(transport));
//
// Reference: OpenJarvis optimize/feedback and optimize/personal, and the cold
// start check of spec_search (reference/openjarvis-learning.md §1.4, §2.12,
// §2.14). Kept: the judge's prompt sections, the synthesizer's threshold,
// grouping key, best-per-group choice, category table, order and cap, and the
// scorer's YES rule. Changed:
//  * the judge's score is read by leash::learn::parse_judge_score, so a reply
//    without an explicit score is an error, never 0.5, and a stray number in
//    the text is never taken for it (§4 item 14);
//  * the judge's tokens and cost are reported, per trace and per batch (§4
//    item 3), also when its reply was unusable;
//  * ties between equally rated runs of a group go to the smallest trace id,
//    not to whichever the listing met first;
//  * readiness looks at every run, not only the newest 2·min_samples (§4
//    item 15), and the synthesizer streams runs instead of loading them;
//  * a run with an empty query or an empty result is no benchmark sample
//    (there is nothing to ask or nothing to compare against);
//  * the scorer's reply must start with YES or NO: anything else is an error,
//    not a silent NO.
#ifndef LEASH_LEARN_SPEC_SEARCH_PERSONAL_BENCHMARK_HPP
#define LEASH_LEARN_SPEC_SEARCH_PERSONAL_BENCHMARK_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/spec_search/types.hpp>
#include <leash/learn/trace.hpp>
#include <leash/learn/trace_store.hpp>
#include <leash/llm/transport.hpp>
#include <leash/pricing.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::spec_search {

// ---------------------------------------------------------------------------
// The trace judge

/// The judge's default instructions: rate how well a run answered its query,
/// ending with a line "Score: X", X from 0 to 1.
inline constexpr std::string_view default_trace_judge_prompt =
    "You review the work of an AI agent. You are given the user's query, the steps the agent took "
    "(model turns and tool calls, with their inputs and outputs) and the agent's final result. Judge "
    "how well the final result satisfies the query: correctness first, then completeness, then "
    "whether the steps were sensible. Explain briefly, then end your reply with one line of the form "
    "`Score: X`, where X is a number from 0 (useless or wrong) to 1 (fully satisfies the query).";

/// Options of TraceJudge.
struct TraceJudgeOptions {
  /// The system prompt; empty: default_trace_judge_prompt.
  std::string system_prompt;
  std::optional<double> temperature = 0.0;
  std::uint64_t max_tokens = 1024;
  /// Prices the judge's calls (Completion::model, else the transport's model).
  Pricing pricing = default_pricing();
  /// Steps shown at most; a longer trace shows its first and last steps and
  /// says how many in between were left out. At least 1.
  std::size_t max_steps = 20;
  /// A step's input or output is cut to this many bytes (UTF-8 safe).
  std::size_t max_field_chars = 400;
  /// The query and the final result are cut to this many bytes.
  std::size_t max_text_chars = 4000;
};

/// One judged trace.
struct JudgedTrace {
  double score = 0.0;              ///< in [0, 1]
  std::string text;                ///< the judge's reply
  std::uint64_t tokens = 0;        ///< the judge's tokens (input and output)
  std::optional<double> cost_usd;  ///< their cost, when the model has a price
};

/// What judge_traces did to one trace.
struct TraceVerdict {
  std::string trace_id;
  std::optional<double> score;     ///< empty when the judge gave none
  std::string text;                ///< the judge's reply ("" if it did not answer)
  std::string error;               ///< why judging or recording failed; "" if neither
  std::uint64_t tokens = 0;        ///< spent on this trace, also when it failed
  std::optional<double> cost_usd;
  bool feedback_written = false;
};

/// What judge_traces did to a batch.
struct JudgeBatch {
  std::vector<TraceVerdict> verdicts;  ///< in listing order (newest first)
  std::size_t judged = 0;   ///< verdicts with a score and no error
  std::size_t failed = 0;   ///< verdicts with an error
  std::size_t skipped = 0;  ///< selected traces not judged: still running (no status)
  std::uint64_t tokens = 0;
  std::optional<double> cost_usd;  ///< sum of known costs; empty when none was known
};

/// A model that rates a run from 0 to 1 (the reference's TraceJudge, §2.12).
class TraceJudge {
 public:
  explicit TraceJudge(llm::AnyTransport transport, TraceJudgeOptions options = {});

  /// Rates one trace (its steps, when it has them). A transport failure is
  /// its error. A reply without a readable score (parse_judge_score) is
  /// Errc::llm_bad_response whose message quotes the reply and says how many
  /// tokens the call spent — the caller cannot total them from an error, so
  /// judge_traces, which must, counts them itself. No transport:
  /// Errc::invalid_config.
  boost::asio::awaitable<result<JudgedTrace>> score_trace(Trace const& trace);

  /// The request score_trace sends: the system prompt, then one user message
  /// with the sections "Query:", "Steps (…):" — numbered
  /// `N. [type] input=… output=… (D s)` lines — and "Final Result:".
  llm::CompletionRequest request_for(Trace const& trace) const;

  /// Judges the traces `filter` selects, one at a time, newest first, and
  /// (when `write_feedback`) stores each score as the run's feedback with
  /// source "judge". As TraceStore::list, the limit defaults to 100 when the
  /// filter sets none, so an unbounded store is never judged by accident;
  /// steps are always read (the filter's with_steps is ignored). A trace that
  /// is still running is skipped; a trace the judge cannot score, or whose
  /// feedback cannot be written, is a failed verdict and the batch goes on.
  /// Only a failure to list the store (or no transport) fails the batch.
  boost::asio::awaitable<result<JudgeBatch>> judge_traces(TraceStore& traces, TraceFilter filter,
                                                          bool write_feedback = true);

  TraceJudgeOptions const& options() const noexcept { return options_; }
  llm::AnyTransport& transport() noexcept { return transport_; }

 private:
  struct Attempt;
  boost::asio::awaitable<result<Attempt>> attempt(Trace const& trace);

  llm::AnyTransport transport_;
  TraceJudgeOptions options_;
};

// ---------------------------------------------------------------------------
// The personal benchmark

/// One sample of the personal benchmark: a query the user asked and the best
/// rated answer the agent gave it.
struct PersonalSample {
  std::string trace_id;          ///< the run the reference answer comes from
  std::string query;
  std::string reference_answer;  ///< that run's result
  std::string agent;
  std::string category = "chat"; ///< category_of_agent(agent)
  double feedback_score = 0.0;
  /// "workflow_id", "model" of the chosen run, "group_size" (how many
  /// well-rated runs asked the same query).
  json::object metadata;
};

/// Options of synthesize_personal_benchmark.
struct SynthesisOptions {
  std::string workflow_id = "default";  ///< copied into each sample's metadata
  double min_feedback = 0.7;            ///< in [0, 1]
  std::size_t max_samples = 100;        ///< at least 1
  std::optional<std::string> agent;     ///< only this agent's runs
};

/// The benchmark category of an agent, from its name (ASCII case ignored):
/// "react", "openhands" or "orchestrator" in it → "agentic"; else "rag",
/// "memory" or "retriev" → "rag"; else "reason", "math" or "code" →
/// "reasoning"; else "chat". Substrings, in that order, as the reference.
std::string category_of_agent(std::string_view agent);

/// The grouping key of a query asked by `agent`: agent + "::" + the first 50
/// bytes of the query (never splitting a UTF-8 character), trimmed and in
/// ASCII lower case. Runs with the same key ask the same thing.
std::string query_group_key(std::string_view agent, std::string_view query);

/// Builds the personal benchmark from the store's runs (streamed, without
/// steps): the runs rated ≥ min_feedback (unrated runs are out; the outcome
/// is ignored, as in the reference — the rating is the verdict) with a
/// non-empty query and result, grouped by query_group_key; each group gives
/// one sample, its best rated run (ties: the smallest trace id). Samples are
/// ordered by feedback, highest first, then trace id, and the first
/// max_samples kept. Options out of range are Errc::invalid_input; a store
/// failure is its error. No qualifying run: an empty benchmark, no error.
boost::asio::awaitable<result<std::vector<PersonalSample>>> synthesize_personal_benchmark(
    TraceStore& traces, SynthesisOptions options = {});

/// The samples as a dataset for DatasetEvaluator: id = trace id, expected =
/// the reference answer, metadata {category, cluster (= category), trace_id,
/// agent, feedback_score}.
std::vector<EvalSample> to_eval_samples(std::vector<PersonalSample> const& samples);

/// Whether the store has enough well-rated runs for a personal benchmark.
struct ReadinessResult {
  bool ready = false;
  std::string message;                   ///< for the user: what is there, what is missing
  std::uint64_t trace_count = 0;         ///< runs in the store (learning records left out)
  /// Runs that would qualify as samples (rated ≥ min_feedback, with a query
  /// and a result). Counting stops at min_samples, so when ready this is
  /// min_samples, not necessarily all of them.
  std::uint64_t high_feedback_count = 0;
};

/// Counts qualifying runs over the whole store (not the newest 2·min_samples
/// only, as the reference: §4 item 15), stopping once min_samples are found.
/// Runs are counted, not query groups: the benchmark may have fewer samples
/// when the user asked the same thing twice. min_feedback outside [0, 1] or
/// min_samples 0 is Errc::invalid_input.
boost::asio::awaitable<result<ReadinessResult>> check_benchmark_ready(TraceStore& traces,
                                                                      double min_feedback = 0.7,
                                                                      std::size_t min_samples = 10);

// ---------------------------------------------------------------------------
// The personal benchmark's grader

/// The scorer's default instructions: answer YES or NO on the first line.
inline constexpr std::string_view default_reference_match_prompt =
    "You compare two answers to the same question. The reference answer is one the user was "
    "satisfied with. Decide whether the candidate answer is at least as good as the reference: as "
    "correct, as complete and as useful (wording and length may differ). Reply with YES or NO on the "
    "first line, then explain briefly.";

/// A Grader for the personal benchmark (the reference's personal scorer): a
/// model is asked whether the candidate answer is at least as good as the
/// sample's reference answer. Score 1 when the first non-empty line of its
/// reply starts with the word YES (any case; leading markdown such as `**`
/// allowed), 0 when it starts with the word NO. An empty reply or any other
/// first line is a Grade with Errc::llm_bad_response in `error`, its tokens
/// and cost still charged. A transport failure is the result's error. Options
/// as LlmJudgeGrader's; an empty system prompt means
/// default_reference_match_prompt.
class ReferenceMatchGrader {
 public:
  explicit ReferenceMatchGrader(llm::AnyTransport transport, JudgeOptions options = {});

  boost::asio::awaitable<result<Grade>> grade(EvalSample const& sample, std::string_view answer);

  /// The request grade() sends.
  llm::CompletionRequest request_for(EvalSample const& sample, std::string_view answer) const;

  JudgeOptions const& options() const noexcept { return options_; }

 private:
  llm::AnyTransport transport_;
  JudgeOptions options_;
};

/// Reads a YES/NO verdict (see ReferenceMatchGrader): true, false, or
/// Errc::llm_bad_response.
result<bool> parse_yes_no(std::string_view reply);

static_assert(check_grader<ReferenceMatchGrader>());

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/personal_benchmark.hpp>

#endif
