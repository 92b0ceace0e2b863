// leash/llm/llm_planner.hpp — the Planner over a language model: turns the
// loop's request into a CompletionRequest, calls a transport, and turns the
// completion into a Plan.
//
//   auto t = leash::llm::make_transport("anthropic:claude-sonnet-4-6");
//   if (!t) return fail(t.error());
//   leash::Loop<leash::LlmPlanner, Tools> agent(goal, leash::LlmPlanner(*t), …);
//
// A transport failure (retries exhausted, key refused, bad response) comes
// back as the planner's error value, code and message kept; the loop then
// ends with status ERROR and that reason, its state saved.
#ifndef LEASH_LLM_LLM_PLANNER_HPP
#define LEASH_LLM_LLM_PLANNER_HPP

#include <leash/error.hpp>
#include <leash/llm/transport.hpp>
#include <leash/planner.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leash {

/// How LlmPlanner asks.
struct LlmPlannerOptions {
  /// Sampling temperature; empty: the provider's default.
  std::optional<double> temperature;
  /// "auto", "required", "none", or one tool's name (see CompletionRequest).
  std::string tool_choice = "auto";
  bool parallel_tool_calls = true;
  /// Stream the reply, handing pieces to `on_delta` as they arrive (for a
  /// live view); the plan is the same either way.
  bool stream = false;
  llm::StreamCallback on_delta;
  /// Keep the provider's raw body on each completion (see last_completion()).
  bool keep_raw = false;
};

/// A model of leash::Planner over an llm::AnyTransport.
///
/// Messages go as they are (the loop speaks system / user / assistant); the
/// tool schemas go as tools; `max_tokens` is the loop's allowance for the
/// call. The plan's model_id is the transport's model (the name a pricing
/// table knows, not a dated snapshot the provider may report), and a provider
/// that reports no usage at all is charged this planner's estimate, so
/// budgets still hold.
class LlmPlanner {
 public:
  explicit LlmPlanner(llm::AnyTransport transport, LlmPlannerOptions options = {});

  boost::asio::awaitable<result<Plan>> plan(PlanRequest const& request);
  std::string_view model_id() const { return transport_.model_id(); }
  std::string_view provider() const { return transport_.provider(); }

  /// Input tokens of `request`, estimated before the call: the messages'
  /// characters and the tool schemas' serialised size (which the loop's own
  /// characters / 4 leaves out, yet every request carries), at 4 characters
  /// a token, plus a few tokens of framing per message. Errs high, as a
  /// budget should.
  std::uint64_t estimate_input_tokens(PlanRequest const& request) const;

  /// The CompletionRequest plan() would send for `request`.
  llm::CompletionRequest to_completion_request(PlanRequest const& request) const;
  /// The completion behind the last plan (text, calls, usage, finish reason, id).
  std::optional<llm::Completion> const& last_completion() const noexcept { return last_; }

  llm::AnyTransport const& transport() const noexcept { return transport_; }
  LlmPlannerOptions const& options() const noexcept { return options_; }

 private:
  llm::AnyTransport transport_;
  LlmPlannerOptions options_;
  std::optional<llm::Completion> last_;
  // Serialised size of the last tool list seen: a ToolSet's schemas are one
  // static array, so this is computed once per loop.
  mutable json::array const* sized_tools_ = nullptr;
  mutable std::size_t tools_chars_ = 0;
};

static_assert(Planner<LlmPlanner>);

}  // namespace leash

#include <leash/llm/impl/llm_planner.hpp>

#endif
