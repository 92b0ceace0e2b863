#ifndef LEASH_IMPL_PLANNER_HPP
#define LEASH_IMPL_PLANNER_HPP

namespace leash {

inline Plan Plan::single_call(std::string tool, json::object args, std::string text, Usage usage) {
  Plan p;
  if (text.empty()) text = tool + " " + json::serialize(args);
  p.text = std::move(text);
  p.tool_calls.push_back(ToolCall{{}, std::move(tool), std::move(args)});
  p.usage = usage;
  return p;
}

inline Plan Plan::text_only(std::string text, Usage usage) {
  Plan p;
  p.text = std::move(text);
  p.usage = usage;
  return p;
}

inline std::size_t PlanRequest::size_chars() const {
  if (source_ && !cache_) return source_->size_chars();
  std::size_t n = 0;
  for (auto const& m : messages()) n += m.content.size();
  return n;
}

inline ScriptedPlanner::ScriptedPlanner(std::initializer_list<Plan> script, std::string model)
    : model_(std::move(model)) {
  for (auto const& p : script) script_.emplace_back(p);
}

inline boost::asio::awaitable<result<Plan>> ScriptedPlanner::plan(PlanRequest const& request) {
  ++calls_;
  if (record_) requests_.push_back(Recorded{request.messages(), request.max_tokens()});
  if (script_.empty()) co_return Error{Errc::planner_failed, "scripted planner has an empty script"};
  auto const& entry = script_[next_];
  if (next_ + 1 < script_.size()) ++next_;
  if (entry.has_error()) co_return entry.error();
  Plan p = entry.value();
  if (p.model_id.empty()) p.model_id = model_;
  co_return p;
}

}  // namespace leash

#endif
