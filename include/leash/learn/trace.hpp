// leash/learn/trace.hpp — a recorded run seen as learning data.
//
// Every run a store holds is a Trace: the goal is the query, the planner's
// model and the loop's agent name say who answered, and each iteration turns
// into steps in execution order (the plan as a `generate` step, each action as
// a `tool_call` step, the final answer as a `respond` step). The learning layer
// never needs a trace format of its own; leash::learn::TraceStore (trace_store.hpp)
// builds these from any store.
//
// Field names follow OpenJarvis's Trace (reference §1.1, §5) so mined data and
// configs mean the same thing; `outcome` is typed instead of a nullable string.
#ifndef LEASH_LEARN_TRACE_HPP
#define LEASH_LEARN_TRACE_HPP

#include <leash/json.hpp>
#include <leash/status.hpp>

#include <boost/describe/enum.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn {

/// The agent name of the learning layer's own records (one run per learning
/// cycle). Trace listings leave them out unless asked: they are not agent
/// runs and must not be mined.
inline constexpr std::string_view learning_agent = "leash.learn";

/// What a step of a trace did.
enum class StepType { route, retrieve, generate, tool_call, respond };
BOOST_DESCRIBE_ENUM(StepType, route, retrieve, generate, tool_call, respond)

/// How a run ended (success, failure, unknown): leash::Outcome, from status.hpp.
using leash::Outcome;
using leash::outcome_of;

/// One step, in execution order. Conventions the analyses rely on: a
/// `tool_call` step names its tool in input["tool"] (arguments under
/// input["args"]); `generate` and `respond` steps carry output["content"] and
/// output["tokens"]; a skill invocation is tagged metadata["skill"].
struct TraceStep {
  StepType type = StepType::generate;
  double timestamp = 0.0;  ///< seconds since the epoch (0: not recorded)
  double duration_s = 0.0;
  json::object input;
  json::object output;
  json::object metadata;

  /// The tool a tool_call step ran ("" for other steps).
  std::string_view tool() const noexcept {
    if (type != StepType::tool_call) return {};
    auto const* t = input.if_contains("tool");
    return t && t->is_string() ? std::string_view(t->get_string()) : std::string_view();
  }
};

/// One run as learning data.
struct Trace {
  std::string trace_id;  ///< the run id
  std::string query;     ///< the goal, exactly as given
  std::string agent;     ///< LoopOptions::agent_name
  std::string model;     ///< the planner's model id (router and registry key)
  std::string engine;    ///< the transport that served it ("openai", "scripted", …)
  std::string result;    ///< the final answer or the last thing the agent said
  Outcome outcome = Outcome::unknown;
  std::optional<Status> status;     ///< leash's own ending; empty while running
  std::optional<double> feedback;   ///< in [0, 1], attached after the run
  std::string feedback_source;      ///< "api", "thumbs", "judge", "cli", …
  double started_at = 0.0;          ///< seconds since the epoch
  double ended_at = 0.0;            ///< 0 while running
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  double total_latency_s = 0.0;
  std::optional<double> cost_usd;   ///< unknown when the model has no price
  json::object metadata;
  std::vector<TraceStep> steps;     ///< empty when listed without steps

  std::uint64_t total_tokens() const noexcept { return prompt_tokens + completion_tokens; }
  bool succeeded() const noexcept { return outcome == Outcome::success; }
};

using leash::to_string;

constexpr std::string_view to_string(StepType t) noexcept {
  switch (t) {
    case StepType::route: return "route";
    case StepType::retrieve: return "retrieve";
    case StepType::generate: return "generate";
    case StepType::tool_call: return "tool_call";
    default: return "respond";
  }
}

}  // namespace leash::learn

#endif
