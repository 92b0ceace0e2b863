// leash/learn/evaluator.hpp — how well an agent answers a dataset: accuracy,
// latency, tokens and cost, per sample and in total.
//
//   auto data = leash::learn::load_dataset("qa.jsonl");          // result<vector<EvalSample>>
//   if (!data) return fail(data.error());
//   leash::learn::DatasetEvaluator eval(std::move(data).value(),
//                                       leash::learn::loop_agent(make_my_loop),
//                                       leash::learn::ReferenceGrader{});
//   auto report = co_await eval.evaluate();                        // result<EvalReport>
//   std::cout << json::serialize(report.value().to_json()) << '\n';
//
// An Evaluator is anything with `evaluate()` returning
// `awaitable<result<EvalReport>>`; the LearningOrchestrator asks one before and
// after it changes anything (the reference's `eval_fn`, §2.7, which returned a
// bare float). DatasetEvaluator is the usual model: it runs an Agent over every
// sample of a dataset, concurrently on the caller's executor, and scores each
// answer with a Grader.
//
// Graders (score in [0, 1]; a sample is correct when its score is ≥ 0.5):
//   ExactGrader      trimmed, case-insensitive equality
//   ContainsGrader   the expected text appears in the answer (case-insensitive)
//   NumericGrader    the answer's last number equals the expected number (tolerance)
//   ReferenceGrader  the reference's grade_answer chain (§2.8): equality, then
//                    the extracted answer ("answer: X", "= X", the last line), then numeric
//   LlmJudgeGrader   a model reads question, reference answer and answer and gives a
//                    score; its tokens and cost are charged to the report (§4 item 3),
//                    and only an explicit score counts (§4 item 14 fixed)
//
// See docs/learn-evaluation.md.
#ifndef LEASH_LEARN_EVALUATOR_HPP
#define LEASH_LEARN_EVALUATOR_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/llm/transport.hpp>
#include <leash/pricing.hpp>
#include <leash/status.hpp>

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace leash::learn {

// ---------------------------------------------------------------------------
// Datasets

/// One question of a dataset and the answer expected.
struct EvalSample {
  std::string id;        ///< the file's "id", else "line-N" (N: the line in the file, from 1)
  std::string query;     ///< what the agent is asked
  std::string expected;  ///< the reference answer (a number in the file is kept as its text)
  json::object metadata;
};

/// Parses a dataset in JSON Lines: one object per line,
///
///   {"id": "q1", "query": "What is 6 * 7?", "expected": 42, "metadata": {"topic": "math"}}
///
/// "query" (a string) and "expected" (a string or a number, kept as text: 42,
/// 0.5, 1e-9) are required; "id" (a string) and "metadata" (an object) are
/// optional. Blank lines are skipped; a UTF-8 byte-order mark and CR line ends
/// are accepted. Anything else — a line that is not a JSON object, a missing or
/// mistyped field, an unknown key (a typo would otherwise pass silently), an id
/// used twice — is Errc::invalid_input, "SOURCE:LINE: what is wrong". An empty
/// dataset is not an error here (DatasetEvaluator refuses it).
result<std::vector<EvalSample>> parse_dataset(std::string_view text, std::string source = "dataset");

/// Reads and parses the file at `path` (parse_dataset, the path as source). A
/// file that cannot be read is Errc::store_failed naming the path.
result<std::vector<EvalSample>> load_dataset(std::filesystem::path const& path);

// ---------------------------------------------------------------------------
// Graders

/// The score from which an answer counts as correct.
inline constexpr double pass_score = 0.5;

/// What a grader that spends something (a judge model) reports.
struct Grade {
  double score = 0.0;               ///< in [0, 1]
  std::uint64_t tokens = 0;         ///< tokens the grading itself spent
  std::optional<double> cost_usd;   ///< its cost, when the model has a price
  std::string detail;               ///< e.g. the judge's reply
  /// Set when grading failed after spending (the judge answered without a
  /// score): the sample counts as an error and `tokens`/`cost_usd` are still
  /// charged. A failure that spent nothing is the result's error instead.
  std::optional<Error> error;
};

namespace detail {
template <class G> concept grades_score = requires(G& g, EvalSample const& s, std::string_view answer) {
  { g.grade(s, answer) } -> std::same_as<boost::asio::awaitable<result<double>>>;
};
template <class G> concept grades_detailed = requires(G& g, EvalSample const& s, std::string_view answer) {
  { g.grade(s, answer) } -> std::same_as<boost::asio::awaitable<result<Grade>>>;
};
}  // namespace detail

/// Grader: `g.grade(sample, answer)` returns `awaitable<result<double>>`, a
/// score in [0, 1] (≥ pass_score: correct), or `awaitable<result<Grade>>` when
/// grading itself spends tokens. An error marks the sample as errored (and
/// wrong); a score outside [0, 1] is clamped. The answer view is valid until
/// the awaitable completes. One grader object grades many samples at once.
template <class G>
concept Grader = detail::grades_score<G> || detail::grades_detailed<G>;

template <class G>
consteval bool check_grader() {
  static_assert(Grader<G>,
                "leash::learn::Grader: add `boost::asio::awaitable<leash::result<double>> "
                "grade(leash::learn::EvalSample const&, std::string_view answer)` "
                "(or one returning leash::result<leash::learn::Grade>)");
  return true;
}

/// Trimmed, case-insensitive (ASCII) equality: 1 or 0. The reference's first rule.
struct ExactGrader {
  boost::asio::awaitable<result<double>> grade(EvalSample const& sample, std::string_view answer) const;
};

/// 1 when the (trimmed) expected text appears in the answer, ignoring ASCII
/// case; else 0. An empty expected text is Errc::invalid_input (it is in
/// every answer).
struct ContainsGrader {
  boost::asio::awaitable<result<double>> grade(EvalSample const& sample, std::string_view answer) const;
};

/// 1 when the last number in the answer equals the expected number, else 0
/// (also when the answer has no number). The last, because answers end with
/// their result ("6 × 7: 6 · 7 = 42"), and the first number is usually an
/// operand. Equal means |a − e| ≤ max(relative_tolerance · max(|a|, |e|),
/// absolute_tolerance) (Python's math.isclose). Numbers may have a sign,
/// thousands commas (1,234.5) and an exponent. An expected text that is not a
/// number is Errc::invalid_input.
struct NumericGrader {
  double relative_tolerance = 1e-6;
  double absolute_tolerance = 0.0;
  boost::asio::awaitable<result<double>> grade(EvalSample const& sample, std::string_view answer) const;
};

/// The reference's grade_answer (§2.8), 1 or 0: trimmed case-insensitive
/// equality; then equality of the extracted answer (extract_answer) with the
/// expected text; then, when the expected text is a number, numeric equality
/// of the extracted answer's last number (relative tolerance 1e-6). Never an
/// error: an answer that matches nothing is simply wrong.
struct ReferenceGrader {
  double relative_tolerance = 1e-6;
  boost::asio::awaitable<result<double>> grade(EvalSample const& sample, std::string_view answer) const;
};

/// Options of LlmJudgeGrader.
struct JudgeOptions {
  /// The system prompt; empty: default_judge_prompt.
  std::string system_prompt;
  std::uint64_t max_tokens = 512;
  std::optional<double> temperature = 0.0;
  /// Prices the judge's calls (Completion::model, else the transport's model).
  Pricing pricing = default_pricing();
};

/// The default judge instructions: grade against the reference answer and end
/// with a line "Score: X", X from 0 to 1.
inline constexpr std::string_view default_judge_prompt =
    "You grade answers to questions. You are given a question, a reference answer and a candidate "
    "answer. Judge whether the candidate answers the question correctly, using the reference answer "
    "as the truth; wording and form may differ. Explain briefly, then end your reply with one line "
    "of the form `Score: X`, where X is a number from 0 (wrong) to 1 (fully correct).";

/// A model as grader. It is sent the question, the reference answer and the
/// candidate answer, and its reply is read by parse_judge_score. A reply
/// without a readable score is an errored sample (never a silent 0.5, as the
/// reference gave); a transport failure likewise. The judge's tokens and cost
/// go into the report.
class LlmJudgeGrader {
 public:
  explicit LlmJudgeGrader(llm::AnyTransport transport, JudgeOptions options = {});

  boost::asio::awaitable<result<Grade>> grade(EvalSample const& sample, std::string_view answer);

  /// The request grade() sends.
  llm::CompletionRequest request_for(EvalSample const& sample, std::string_view answer) const;

  JudgeOptions const& options() const noexcept { return options_; }
  llm::AnyTransport& transport() noexcept { return transport_; }

 private:
  llm::AnyTransport transport_;
  JudgeOptions options_;
};

/// Reads a judge's score from its reply, in this order:
///  1. the last labelled score — "Score: 0.8", "rating = 7/10", "**Quality:** 9",
///     "Grade: 85%" (labels score, rating, quality, grade; any case);
///  2. a reply that is only a score ("0.85", "8/10", "85%", a final "." allowed);
///  3. a last (then first) line that is only a score.
/// A fraction n/d is n ÷ d; a percentage is ÷ 100; a labelled number above 1
/// without a denominator is out of 10 ("Quality: 9" → 0.9). An unlabelled
/// number above 1 without a denominator is ambiguous and not read, and other
/// numbers in the text are never taken (the reference took the first number
/// anywhere: §4 item 14). A score above its scale ("Score: 11", "12/10") or a
/// zero denominator is not clamped but refused: the judge did not follow the
/// instructions. No score, or a refused one, is Errc::llm_bad_response.
result<double> parse_judge_score(std::string_view reply);

/// The answer a text states, for comparison: the rest of the line after the
/// last "answer:" / "answer is" (any case); else after the last "=" of the
/// last line that has one; else the last non-empty line. Trimmed of spaces,
/// '*', '"', '`' and a final '.'.
std::string extract_answer(std::string_view text);

/// The last number in `text` (see NumericGrader), if any.
std::optional<double> last_number(std::string_view text);

/// `text` (trimmed) read as one number, if it is one.
std::optional<double> parse_number(std::string_view text);

// ---------------------------------------------------------------------------
// Agents and the dataset evaluator

/// What an agent answered, and what answering cost.
struct Answer {
  std::string text;
  std::uint64_t tokens = 0;
  std::optional<double> cost_usd;
  std::string run_id;            ///< the run in the agent's store, if it is a loop
  std::optional<Status> status;  ///< how that run ended
};

namespace detail {
template <class A> concept answers_samples = requires(A& a, EvalSample const& s) {
  { a(s) } -> std::same_as<boost::asio::awaitable<result<Answer>>>;
};
}  // namespace detail

/// EvalAgent: `a(sample)` returns `awaitable<result<Answer>>`. It is called
/// for many samples at once (on one executor); the sample outlives the call.
/// An error (or an exception) marks that sample as errored; others go on.
template <class A>
concept EvalAgent = detail::answers_samples<A>;

template <class A>
consteval bool check_eval_agent() {
  static_assert(detail::answers_samples<A>,
                "leash::learn::EvalAgent: make it callable as "
                "`boost::asio::awaitable<leash::result<leash::learn::Answer>> (leash::learn::EvalSample const&)`");
  return true;
}

/// One sample's outcome.
struct SampleResult {
  std::string id;
  bool correct = false;           ///< score ≥ pass_score and no error
  double score = 0.0;
  std::string answer;
  std::string error;              ///< why the agent or the grader failed ("" if neither)
  double latency_s = 0.0;         ///< the agent's call, steady clock (grading excluded)
  std::uint64_t tokens = 0;       ///< the agent's
  std::optional<double> cost_usd; ///< the agent's
  std::string run_id;
  std::uint64_t grader_tokens = 0;        ///< spent grading (a judge)
  std::optional<double> grader_cost_usd;  ///< its cost, when known
  std::optional<Status> status;           ///< how the agent's run ended, if it says

  json::object to_json() const;
};

/// A dataset's outcome.
struct EvalReport {
  double accuracy = 0.0;            ///< correct / samples (errors count as wrong)
  double mean_latency_s = 0.0;      ///< over all samples
  std::uint64_t total_tokens = 0;   ///< agents' and graders'
  std::optional<double> total_cost_usd;  ///< sum of known costs; empty when no sample had a known cost
  std::size_t samples = 0;
  std::size_t errors = 0;
  std::vector<SampleResult> per_sample;   ///< in dataset order
  std::uint64_t grader_tokens = 0;        ///< the graders' part of total_tokens
  std::optional<double> grader_cost_usd;  ///< the graders' part of total_cost_usd

  /// Everything but per_sample, unless `with_samples`. Unknown costs are null.
  json::object to_json(bool with_samples = false) const;
};

namespace detail {
template <class E> concept has_evaluate = requires(E& e) {
  { e.evaluate() } -> std::same_as<boost::asio::awaitable<result<EvalReport>>>;
};
}  // namespace detail

/// Evaluator: `e.evaluate()` returns `awaitable<result<EvalReport>>`. It is
/// asked more than once (before and after a change) and must measure the
/// agent as it is when asked.
template <class E>
concept Evaluator = detail::has_evaluate<E>;

template <class E>
consteval bool check_evaluator() {
  static_assert(detail::has_evaluate<E>,
                "leash::learn::Evaluator: add `boost::asio::awaitable<leash::result<leash::learn::EvalReport>> "
                "evaluate()`");
  return true;
}

/// How DatasetEvaluator runs.
struct EvaluatorOptions {
  /// Samples in flight at once; 0: all of them.
  std::size_t max_concurrent = 8;
  /// Evaluate only the first N samples (in dataset order); 0: all.
  std::size_t max_samples = 0;
};

/// Runs `Agent` over every sample (the first max_samples) and grades each
/// answer. Samples run as coroutines on the executor evaluate() is awaited
/// on, at most max_concurrent at once, taken in dataset order; the report
/// keeps dataset order whatever the finishing order. A failing sample never
/// stops the others. An empty dataset is Errc::invalid_input.
template <class Agent, class GraderT = ReferenceGrader>
class DatasetEvaluator {
  static_assert(check_eval_agent<Agent>());
  static_assert(check_grader<GraderT>());

 public:
  DatasetEvaluator(std::vector<EvalSample> dataset, Agent agent, GraderT grader = {}, EvaluatorOptions options = {});

  boost::asio::awaitable<result<EvalReport>> evaluate();

  std::vector<EvalSample> const& dataset() const noexcept { return dataset_; }
  Agent& agent() noexcept { return agent_; }
  GraderT& grader() noexcept { return grader_; }
  EvaluatorOptions& options() noexcept { return options_; }

 private:
  struct Shared;
  boost::asio::awaitable<void> worker(Shared& shared);
  boost::asio::awaitable<void> run_sample(EvalSample const& sample, SampleResult& out);

  std::vector<EvalSample> dataset_;
  Agent agent_;
  GraderT grader_;
  EvaluatorOptions options_;
};

/// Adapts the user's Loop type to EvalAgent. `Factory` is
/// `(EvalSample const&) -> std::unique_ptr<LoopT>`: a fresh loop per sample
/// (Loop is not movable), its goal usually the sample's query. The answer is
/// the run's final answer (`state().info.result`), with its tokens, cost,
/// run id and status. A run that ends in any status is an answer (a failed run
/// is simply graded); a loop that cannot start (async_run's error) or a null
/// loop is an error.
template <class Factory>
class LoopAgent {
 public:
  explicit LoopAgent(Factory factory) : factory_(std::move(factory)) {}
  boost::asio::awaitable<result<Answer>> operator()(EvalSample const& sample);

 private:
  Factory factory_;
};

template <class Factory>
LoopAgent<Factory> loop_agent(Factory factory) {
  return LoopAgent<Factory>(std::move(factory));
}

}  // namespace leash::learn

#include <leash/learn/impl/evaluator.hpp>

#endif
