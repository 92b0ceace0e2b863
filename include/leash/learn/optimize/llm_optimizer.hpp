// leash/learn/optimize/llm_optimizer.hpp — a language model as the proposer
// of config optimisation: it reads the search space, the objectives and the
// trials so far, and answers with the next configuration to try; after each
// trial it reads the results and says what went wrong and where to look next.
//
//   namespace opt = leash::learn::optimize;
//   opt::LlmOptimizerOptions o;
//   o.search_space = opt::default_search_space();     // or load_optimize_config(path)->search_space
//   opt::LlmOptimizer optimizer(transport, std::move(o));  // leash::llm::AnyTransport
//
//   auto first = co_await optimizer.propose_initial();      // result<Proposal>
//   if (!first) co_return first.error();                    // the transport failed
//   run(first->config);                                     // params valid for the space, fixed applied
//   auto next = co_await optimizer.propose_next(history, frontier);
//   auto feedback = co_await optimizer.analyze(history.back());  // result<TrialFeedback>
//
// Every reply is expected to hold one JSON object, `{"params": {...},
// "reasoning": "..."}` (analysis: the five TrialFeedback keys). It is looked
// for, in this order, in the first ```json fence, the first ``` fence of any
// kind, then at each `{` of the text (the first that starts a JSON object
// wins); a candidate that is not a JSON object is passed over. Missing keys
// are tolerated (no params, no reasoning).
//
// Reference: OpenJarvis LLMOptimizer (reference/openjarvis-learning.md §2.9,
// §1.4 TrialFeedback). Kept: max_tokens 2048, temperature 0.7 to propose and
// 0.3 to analyse; the four kinds of proposal (initial, next with the history
// and its [FRONTIER] marks, targeted at one primitive keeping the rest of a
// base configuration, merge of candidates); the parse order; a reply that
// does not parse gives the space's fixed values and says so; analysis that
// does not parse keeps the raw reply as its summary; 12-hex trial ids; fixed
// values overwrite every proposal. Prompts and system prompts are our own.
// Changed (§4 item 11):
//   * a proposal is checked against the space (SearchSpace::check_proposal):
//     when a value is out of range, not an option or not a parameter, the
//     problems go back to the model once, in the same conversation, asking
//     for a corrected object; whatever is still wrong after that is repaired
//     by SearchSpace::clamp_proposal. Both the first problems and the repairs
//     are kept on the Proposal, so a run's record shows them. The reference
//     sent any value straight to a trial;
//   * targeted proposals take keys under exactly `primitive.`, and analyze()
//     maps the model's target to a primitive of the space (exact, then case
//     and a plural "s" ignored; otherwise no target), replacing the
//     reference's `rstrip("s")` prefix hack;
//   * objectives shown to the model are the configured ones, not a fixed
//     sentence; a failed trial shows as FAILED with its error in the history;
//   * a transport failure is returned as the Error (the engine decides what
//     to do), never thrown; the calls and tokens each proposal took are
//     counted on it.
#ifndef LEASH_LEARN_OPTIMIZE_LLM_OPTIMIZER_HPP
#define LEASH_LEARN_OPTIMIZE_LLM_OPTIMIZER_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/optimize/search_space.hpp>
#include <leash/learn/optimize/types.hpp>
#include <leash/llm/transport.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::optimize {

/// The proposer's system prompt (ours, not the reference's).
inline constexpr std::string_view default_proposal_system_prompt =
    "You tune the configuration of an AI agent system. You are shown the parameters that may change, what is "
    "being optimised and what earlier trials measured; you answer with the next configuration worth trying and "
    "why. Use only the parameters and values the search space allows. Answer with one JSON object in a ```json "
    "fence.";

/// The analyst's system prompt (ours, not the reference's).
inline constexpr std::string_view default_analysis_system_prompt =
    "You read the results of one trial of an AI agent configuration and explain them: what went wrong, how each "
    "part of the configuration did, and which part to change next. Be concrete and brief. Answer with one JSON "
    "object in a ```json fence.";

/// How an LlmOptimizer asks.
struct LlmOptimizerOptions {
  SearchSpace search_space = default_search_space();
  /// Shown to the model as what to optimise (and used by the engine for the frontier).
  std::vector<ObjectiveSpec> objectives = default_objectives();
  std::uint64_t max_tokens = 2048;
  double proposal_temperature = 0.7;
  double analysis_temperature = 0.3;
  std::string proposal_system_prompt = std::string(default_proposal_system_prompt);
  std::string analysis_system_prompt = std::string(default_analysis_system_prompt);
  /// Seeds the trial-id generator; empty: std::random_device. Tests set it.
  std::optional<std::uint64_t> seed;
};

/// A configuration the model proposed, and how it came to be.
struct Proposal {
  TrialConfig config;  ///< a fresh 12-hex id; params valid for the space, fixed applied
  /// What check_proposal() found wrong with the first answer (sent back to
  /// the model once); empty when the first answer was valid.
  std::vector<ProposalError> errors_first_try;
  /// What clamp_proposal() repaired in the answer used (the corrected one
  /// when it parsed, else the first); empty when it was valid.
  std::vector<ProposalChange> clamped;
  /// false: no reply held a JSON object; the params are the space's fixed
  /// values (targeted: the base's) and the reasoning says so.
  bool parsed = true;
  std::uint64_t llm_calls = 0;  ///< 1, or 2 with a corrective round trip
  Usage usage;                  ///< of those calls together
};

/// The model's reading of one trial (the reference's TrialFeedback).
struct TrialFeedback {
  std::string summary_text;  ///< the raw reply when it did not parse
  std::vector<std::string> failure_patterns;
  std::map<std::string, std::string> primitive_ratings;  ///< primitive → "high" | "medium" | "low"
  std::vector<std::string> suggested_changes;
  /// A primitive of the search space to change next, or "" (see the file comment).
  std::string target_primitive;
  bool parsed = true;  ///< false: the reply held no JSON object
};

/// The reply text given when no reply could be parsed.
inline constexpr std::string_view unparsed_reasoning = "the optimizer's reply could not be parsed";

/// Asks a model for configurations to try and for readings of trials. One
/// LlmOptimizer is used by one coroutine at a time (it counts calls and draws
/// trial ids).
class LlmOptimizer {
 public:
  explicit LlmOptimizer(llm::AnyTransport transport, LlmOptimizerOptions options = {});

  /// A first configuration, from the space and the objectives alone.
  boost::asio::awaitable<result<Proposal>> propose_initial();

  /// The next configuration, given the trials so far (`history`), the indices
  /// of those on the Pareto frontier (marked [FRONTIER]) and, optionally, the
  /// model's feedback on each trial (parallel to `history`; shorter is fine).
  boost::asio::awaitable<result<Proposal>> propose_next(std::span<TrialResult const> history,
                                                        std::span<std::size_t const> frontier,
                                                        std::span<TrialFeedback const> feedback = {});

  /// `base` with only the parameters of `primitive` changed: the proposal's
  /// keys under `primitive.` are taken, every other key is ignored, and all
  /// of base's params are kept otherwise.
  boost::asio::awaitable<result<Proposal>> propose_targeted(TrialConfig const& base, std::string_view primitive);

  /// A configuration combining the strengths of `candidates` (e.g. frontier members).
  boost::asio::awaitable<result<Proposal>> propose_merge(std::span<TrialResult const> candidates);

  /// The model's reading of `trial`, at the analysis temperature.
  boost::asio::awaitable<result<TrialFeedback>> analyze(TrialResult const& trial);

  /// The prompts the proposals send (as the user message), for inspection.
  std::string initial_prompt() const;
  std::string next_prompt(std::span<TrialResult const> history, std::span<std::size_t const> frontier,
                          std::span<TrialFeedback const> feedback = {}) const;
  std::string targeted_prompt(TrialConfig const& base, std::string_view primitive) const;
  std::string merge_prompt(std::span<TrialResult const> candidates) const;
  std::string analysis_prompt(TrialResult const& trial) const;

  /// A fresh trial id: 12 lowercase hex characters.
  std::string new_trial_id();

  LlmOptimizerOptions const& options() const noexcept { return options_; }
  /// Calls made and tokens used by this optimizer so far (failed calls included).
  std::uint64_t llm_calls() const noexcept { return llm_calls_; }
  Usage const& usage() const noexcept { return usage_; }

 private:
  boost::asio::awaitable<result<llm::Completion>> call(std::vector<llm::ChatMessage> const& messages,
                                                       double temperature, Proposal* proposal);
  boost::asio::awaitable<result<Proposal>> ask(std::string prompt, TrialConfig const* base,
                                               std::string primitive);

  llm::AnyTransport transport_;
  LlmOptimizerOptions options_;
  std::mt19937_64 rng_;
  std::uint64_t llm_calls_ = 0;
  Usage usage_;
};

namespace detail {

/// The first JSON object of a model's reply, looked for in the order of the
/// file comment; nullopt when there is none.
std::optional<json::object> extract_json_object(std::string_view text);

}  // namespace detail

}  // namespace leash::learn::optimize

#include <leash/learn/optimize/impl/llm_optimizer.hpp>

#endif
