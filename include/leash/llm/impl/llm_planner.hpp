#ifndef LEASH_LLM_IMPL_LLM_PLANNER_HPP
#define LEASH_LLM_IMPL_LLM_PLANNER_HPP

#include <utility>

namespace leash {

namespace detail {
/// Tokens of framing a chat API adds per message (role, separators).
inline constexpr std::uint64_t llm_message_overhead_tokens = 4;
}  // namespace detail

inline LlmPlanner::LlmPlanner(llm::AnyTransport transport, LlmPlannerOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {}

inline llm::CompletionRequest LlmPlanner::to_completion_request(PlanRequest const& request) const {
  llm::CompletionRequest r;
  auto const& messages = request.messages();
  r.messages.reserve(messages.size());
  for (auto const& m : messages) r.messages.push_back(llm::ChatMessage{m.role, m.content, {}, {}});
  r.tools = request.tools();
  r.max_tokens = request.max_tokens();
  r.temperature = options_.temperature;
  r.tool_choice = options_.tool_choice;
  r.parallel_tool_calls = options_.parallel_tool_calls;
  r.keep_raw = options_.keep_raw;
  return r;
}

inline std::uint64_t LlmPlanner::estimate_input_tokens(PlanRequest const& request) const {
  if (sized_tools_ != &request.tools()) {
    sized_tools_ = &request.tools();
    tools_chars_ = request.tools().empty() ? 0 : json::serialize(request.tools()).size();
  }
  std::size_t chars = request.size_chars() + tools_chars_;
  // Two messages (system, user) is what the loop sends; retries add two more.
  std::uint64_t messages = 2 + 2 * std::uint64_t(request.attempt());
  return (chars + 3) / 4 + messages * detail::llm_message_overhead_tokens;
}

inline boost::asio::awaitable<result<Plan>> LlmPlanner::plan(PlanRequest const& request) {
  if (!transport_) co_return Error{Errc::planner_failed, "LlmPlanner has no transport"};
  llm::CompletionRequest call = to_completion_request(request);
  result<llm::Completion> done = Error{Errc::planner_failed};
  if (options_.stream)
    done = co_await transport_.stream(call, options_.on_delta);
  else
    done = co_await transport_.complete(call);
  if (done.has_error()) co_return done.error();

  llm::Completion& c = done.value();
  Plan p;
  p.text = c.text;
  p.tool_calls = c.tool_calls;
  p.usage = c.usage;
  p.model_id = std::string(transport_.model_id());
  p.retries = c.retries;
  p.retry_wait_s = c.retry_wait_s;
  if (p.usage.input_tokens == 0 && p.usage.output_tokens == 0) {
    // No usage reported (some local servers): charge an estimate rather than nothing.
    std::size_t out = c.text.size();
    for (auto const& t : c.tool_calls) out += t.name.size() + json::serialize(t.args).size();
    p.usage = Usage{estimate_input_tokens(request), (out + 3) / 4};
  }
  last_ = std::move(c);
  co_return p;
}

}  // namespace leash

#endif
