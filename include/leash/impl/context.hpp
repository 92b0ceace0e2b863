#ifndef LEASH_IMPL_CONTEXT_HPP
#define LEASH_IMPL_CONTEXT_HPP

#include <charconv>

namespace leash {

namespace detail {

// Section headings and fixed lines, kept as constants so sizes and renderings
// cannot disagree.
inline constexpr std::string_view agent_prompt_heading = "\n\nAgent instructions:\n";
inline constexpr std::string_view goal_prefix = "\n\nGoal: ";
inline constexpr std::string_view facts_heading = "\n\nKey facts (pinned):";
inline constexpr std::string_view failed_heading = "\n\nApproaches already tried that FAILED (do not repeat):";
inline constexpr std::string_view bullet = "\n- ";
inline constexpr std::string_view summaries_heading = "## Earlier iterations (summarized)\n";
inline constexpr std::string_view recent_heading = "## Recent iterations\n";
inline constexpr std::string_view observation_heading = "## Current observation\n";
inline constexpr std::string_view observation_trailer = "\n\nDecide the next action(s).";

inline constexpr std::string_view summary_prefix = "- iter ";

inline std::size_t decimal_digits(std::uint64_t n) noexcept {
  std::size_t d = 1;
  while (n >= 10) {
    n /= 10;
    ++d;
  }
  return d;
}

/// Size of "- iter <index>: <content>\n", without building it.
inline std::size_t summary_line_size(std::uint64_t index, std::string_view content) noexcept {
  return summary_prefix.size() + decimal_digits(index) + 2 + content.size() + 1;
}

inline void append_summary_line(std::string& out, std::uint64_t index, std::string_view content) {
  out += summary_prefix;
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, index);
  out.append(buf, r.ptr);
  out += ": ";
  out += content;
  out += '\n';
}

}  // namespace detail

inline std::string render_iteration(IterationRecord const& it, RenderCaps caps) {
  std::string out = "### Iteration " + std::to_string(it.index) + "\nObserved:\n";
  out += excerpt(it.observation, caps.observation);
  if (!it.plan_text.empty()) {
    out += "\nPlanned: ";
    out += excerpt(it.plan_text, caps.plan);
  }
  if (it.plan_invalid) out += "\n(every plan attempt failed validation)";
  for (auto const& a : it.actions) {
    out += "\nAction ";
    out += a.tool;
    out += '(';
    out += excerpt(a.args_excerpt, caps.args);
    out += ") -> [";
    out += to_string(a.status);
    out += "] ";
    out += excerpt(a.result_excerpt, caps.result);
  }
  if (it.metric) {
    out += "\nMetric: ";
    out += detail::format_number(it.metric->value);
    if (it.metric->regression) out += " (REGRESSION)";
  }
  out += '\n';
  return out;
}

inline std::string deterministic_summary(IterationRecord const& it) {
  RenderCaps caps;
  caps.result = 600;
  std::string s = render_iteration(it, caps);
  s.resize(utf8_prefix(s, 800));
  return s;
}

inline json::object BudgetReport::to_json(json::storage_ptr sp) const {
  return json::object({{"pinned_system_tokens", pinned_system_tokens},
                      {"summary_tokens", summary_tokens},
                      {"verbatim_tokens", verbatim_tokens},
                      {"observation_tokens", observation_tokens},
                      {"total_context_tokens", total_context_tokens},
                      {"spent_input_tokens", spent_input_tokens},
                      {"spent_output_tokens", spent_output_tokens},
                      {"note", note}},
                      std::move(sp));
}

inline ContextManager::ContextManager(std::uint64_t verbatim_window, std::string summarizer_model,
                                      std::string system_prompt)
    : window_(verbatim_window),
      stamp_{std::string(engine_version),
             summarizer_model.empty() ? std::string("deterministic-truncate") : std::move(summarizer_model),
             digest(summary_instruction)},
      system_prompt_(std::move(system_prompt)) {}

inline std::vector<std::string> ContextManager::check_artifact_drift(State const& s) const {
  std::vector<std::string> out;
  for (auto const& a : s.artifacts) {
    if (a.kind != "summary" || a.stamp == stamp_) continue;
    out.push_back("summary for iteration " + std::to_string(a.iteration.value_or(0)) +
                  ": produced by " + a.stamp.engine_version + "/" + a.stamp.model_id +
                  ", current is " + stamp_.engine_version + "/" + stamp_.model_id);
  }
  return out;
}

inline void ContextManager::attach(State const& s) {
  summarized_upto_ = 0;
  summary_chars_ = 0;
  summary_count_ = 0;
  for (auto const& a : s.artifacts) {
    if (a.kind != "summary" || !a.iteration) continue;
    summary_chars_ += detail::summary_line_size(*a.iteration, a.content);
    ++summary_count_;
    summarized_upto_ = std::max(summarized_upto_, *a.iteration + 1);
  }
  failed_seen_ = s.failed_approaches.size();
  failed_chars_ = 0;
  for (auto const& f : s.failed_approaches) failed_chars_ += detail::bullet.size() + f.size();
  recent_.clear();
  evicted_.clear();
  evicted_index_.reset();
  auto n = s.iterations.size();
  for (auto i = n > window_ ? n - window_ : 0; i < n; ++i) recent_.push_back(render_iteration(s.iterations[i]));
}

inline void ContextManager::on_iteration_recorded(State const& s) {
  if (window_ > 0) {
    recent_.push_back(render_iteration(s.iterations.back()));
    while (recent_.size() > window_) {
      // recent_ holds the last recent_.size() iterations: its front is this one.
      evicted_index_ = s.iterations.size() - recent_.size();
      evicted_ = std::move(recent_.front());
      recent_.pop_front();
    }
  }
  for (; failed_seen_ < s.failed_approaches.size(); ++failed_seen_)
    failed_chars_ += detail::bullet.size() + s.failed_approaches[failed_seen_].size();
}

inline std::vector<std::uint64_t> ContextManager::missing_summaries(State const& s) const {
  std::vector<std::uint64_t> out;
  std::uint64_t n = s.iterations.size();
  for (std::uint64_t i = summarized_upto_; i + window_ < n; ++i) out.push_back(i);
  return out;
}

inline void ContextManager::add_summary(State& s, std::uint64_t index, std::string content,
                                        std::optional<ArtifactStamp> producer) {
  summary_chars_ += detail::summary_line_size(index, content);
  ++summary_count_;
  summarized_upto_ = std::max(summarized_upto_, index + 1);
  s.artifacts.push_back(
      ContextArtifact{"summary", index, std::move(content), producer ? std::move(*producer) : stamp_});
}

inline std::string ContextManager::deterministic_summary_of(State const& s, std::uint64_t index) {
  IterationRecord const& it = s.iterations[index];
  bool same = evicted_index_ == index &&
              std::all_of(it.actions.begin(), it.actions.end(), [](ActionRecord const& a) {
                return a.result_excerpt.size() <= 600;  // deterministic_summary's cap; the window's is larger
              });
  evicted_index_.reset();
  if (!same) return deterministic_summary(it);
  std::string out = std::move(evicted_);
  evicted_.clear();
  out.resize(utf8_prefix(out, 800));
  if (out.capacity() > out.size() + 64) out.shrink_to_fit();  // it is kept for the rest of the run
  return out;
}

inline std::size_t ContextManager::system_chars(State const& s) const {
  std::size_t n = agent_instruction.size() + detail::goal_prefix.size() + s.goal.size();
  if (!system_prompt_.empty()) n += detail::agent_prompt_heading.size() + system_prompt_.size();
  if (!s.pinned_facts.empty()) {
    // Few and editable by the user at any time: counted here, never cached.
    n += detail::facts_heading.size();
    for (auto const& f : s.pinned_facts) n += detail::bullet.size() + f.size();
  }
  if (!s.failed_approaches.empty()) n += detail::failed_heading.size() + failed_chars_;
  return n;
}

inline std::size_t ContextManager::verbatim_chars() const {
  std::size_t n = 0;
  for (auto const& r : recent_) n += r.size();
  return n;
}

inline std::size_t ContextManager::user_chars(std::size_t observation) const {
  std::size_t n = 0;
  if (summary_count_) n += detail::summaries_heading.size() + summary_chars_ + 1;
  if (!recent_.empty()) n += detail::recent_heading.size() + verbatim_chars() + 1;
  n += detail::observation_heading.size() + observation + detail::observation_trailer.size();
  return n;
}

inline std::string ContextManager::system_message(State const& s) const {
  std::string out(agent_instruction);
  if (!system_prompt_.empty()) {
    out += detail::agent_prompt_heading;
    out += system_prompt_;
  }
  out += detail::goal_prefix;
  out += s.goal;
  if (!s.pinned_facts.empty()) {
    out += detail::facts_heading;
    for (auto const& f : s.pinned_facts) (out += detail::bullet) += f;
  }
  if (!s.failed_approaches.empty()) {
    out += detail::failed_heading;
    for (auto const& f : s.failed_approaches) (out += detail::bullet) += f;
  }
  return out;
}

inline std::string ContextManager::user_message(State const& s, std::string_view observation) const {
  std::string out;
  out.reserve(user_chars(observation.size()));
  if (summary_count_) {
    out += detail::summaries_heading;
    for (auto const& a : s.artifacts)
      if (a.kind == "summary" && a.iteration) detail::append_summary_line(out, *a.iteration, a.content);
    out += '\n';
  }
  if (!recent_.empty()) {
    out += detail::recent_heading;
    for (auto const& r : recent_) out += r;
    out += '\n';
  }
  out += detail::observation_heading;
  out += observation;
  out += detail::observation_trailer;
  return out;
}

inline std::vector<Message> ContextManager::Request::build() const {
  std::vector<Message> out;
  out.reserve(2 + feedback_.size());
  out.push_back(Message{"system", cm_.system_message(state_)});
  out.push_back(Message{"user", cm_.user_message(state_, observation_)});
  out.insert(out.end(), feedback_.begin(), feedback_.end());
  return out;
}

inline std::size_t ContextManager::Request::size_chars() const {
  std::size_t n = cm_.system_chars(state_) + cm_.user_chars(observation_.size());
  for (auto const& m : feedback_) n += m.content.size();
  return n;
}

inline BudgetReport ContextManager::budget_report(State const& s, std::string_view observation) const {
  BudgetReport r;
  r.pinned_system_tokens = system_chars(s) / 4;
  r.summary_tokens = summary_chars_ / 4;
  r.verbatim_tokens = verbatim_chars() / 4;
  r.observation_tokens = observation.size() / 4;
  r.total_context_tokens = (system_chars(s) + user_chars(observation.size())) / 4;
  r.spent_input_tokens = s.metrics.input_tokens;
  r.spent_output_tokens = s.metrics.output_tokens;
  return r;
}

}  // namespace leash

#endif
