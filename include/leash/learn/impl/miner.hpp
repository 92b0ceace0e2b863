// leash/learn/impl/miner.hpp — TrainingDataMiner and the JSONL writers.
#ifndef LEASH_LEARN_IMPL_MINER_HPP
#define LEASH_LEARN_IMPL_MINER_HPP

#include <algorithm>
#include <cstdint>
#include <utility>

namespace leash::learn {

namespace detail {

/// Hash of a (query, result) pair; the two parts hashed apart, so
/// ("ab", "c") and ("a", "bc") differ.
inline std::size_t pair_hash(std::string_view a, std::string_view b) noexcept {
  std::size_t h = std::hash<std::string_view>{}(a);
  std::size_t g = std::hash<std::string_view>{}(b);
  return h ^ (g + std::size_t(0x9e3779b97f4a7c15ULL) + (h << 6) + (h >> 2));
}

/// The key of the best tally: highest mean, then earliest first trace.
template <class Map>
typename Map::const_iterator best_by_mean(Map const& groups) {
  auto best = groups.end();
  double best_mean = 0.0;
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    double mean = it->second.feedback_sum / double(it->second.count);
    if (best == groups.end() || mean > best_mean ||
        (mean == best_mean && it->second.first_seen < best->second.first_seen)) {
      best = it;
      best_mean = mean;
    }
  }
  return best;
}

}  // namespace detail

inline TrainingDataMiner::TrainingDataMiner(MinerOptions options) : options_(std::move(options)) {}

inline bool TrainingDataMiner::add(Trace const& trace) {
  ++seen_;
  if (options_.agent && trace.agent != *options_.agent) return false;
  // NaN fails the comparison and is left out with the rest.
  if (!trace.feedback || !(*trace.feedback >= options_.min_quality)) return false;
  if (trace.outcome != Outcome::success) return false;
  std::size_t const seq = kept_++;
  double const fb = *trace.feedback;
  std::string cls = detail::class_of(options_.classify, trace.query);

  // SFT: exact duplicates of an earlier (query, result) are left out.
  std::size_t const h = detail::pair_hash(trace.query, trace.result);
  bool duplicate = false;
  for (auto [it, end] = sft_index_.equal_range(h); it != end; ++it) {
    auto const& p = sft_[it->second];
    if (p.input == trace.query && p.output == trace.result) {
      duplicate = true;
      break;
    }
  }
  if (!duplicate) {
    sft_index_.emplace(h, sft_.size());
    sft_.push_back(SftPair{trace.query, trace.result, cls, trace.model, fb});
  }

  auto& c = classes_[std::move(cls)];
  c.feedback_sum += fb;
  ++c.count;

  auto [m, new_model] = c.models.try_emplace(trace.model);
  if (new_model) m->second.first_seen = seq;
  m->second.feedback_sum += fb;
  ++m->second.count;

  auto [a, new_agent] = c.agents.try_emplace(trace.agent);
  if (new_agent) a->second.first_seen = seq;
  a->second.feedback_sum += fb;
  ++a->second.count;
  for (auto const& step : trace.steps) {
    auto tool = step.tool();
    if (tool.empty()) continue;
    auto t = a->second.tools.find(tool);
    if (t == a->second.tools.end()) t = a->second.tools.emplace(std::string(tool), ToolTally{0, tool_calls_}).first;
    ++t->second.count;
    ++tool_calls_;
  }
  return true;
}

inline std::map<std::string, RoutingPair, std::less<>> TrainingDataMiner::routing_pairs() const {
  std::map<std::string, RoutingPair, std::less<>> out;
  for (auto const& [cls, c] : classes_) {
    if (c.count < options_.min_samples_per_class || c.models.empty()) continue;
    RoutingPair r;
    r.best_model = detail::best_by_mean(c.models)->first;
    r.avg_feedback = c.feedback_sum / double(c.count);
    r.sample_count = c.count;
    for (auto const& [model, t] : c.models)
      r.all_models.emplace(model, ModelFeedback{t.feedback_sum / double(t.count), t.count});
    out.emplace(cls, std::move(r));
  }
  return out;
}

inline std::map<std::string, AgentConfigPair, std::less<>> TrainingDataMiner::agent_config_pairs() const {
  std::map<std::string, AgentConfigPair, std::less<>> out;
  for (auto const& [cls, c] : classes_) {
    if (c.count < options_.min_samples_per_class || c.agents.empty()) continue;
    auto best = detail::best_by_mean(c.agents);
    AgentConfigPair p;
    p.best_agent = best->first;
    p.avg_feedback = c.feedback_sum / double(c.count);
    p.sample_count = c.count;
    std::vector<std::pair<std::string_view, ToolTally>> tools(best->second.tools.begin(), best->second.tools.end());
    std::sort(tools.begin(), tools.end(), [](auto const& x, auto const& y) {
      if (x.second.count != y.second.count) return x.second.count > y.second.count;
      return x.second.first_seen < y.second.first_seen;
    });
    p.best_tools.reserve(tools.size());
    for (auto const& [name, tally] : tools) p.best_tools.emplace_back(name);
    out.emplace(cls, std::move(p));
  }
  return out;
}

namespace detail {

inline result<std::size_t> write_jsonl_lines(std::span<SftPair const> pairs, std::ostream& out,
                                             auto const& line_of) {
  std::size_t lines = 0;
  for (auto const& p : pairs) {
    out << json::serialize(line_of(p)) << '\n';
    if (!out) return Error(Errc::store_failed, "SFT export: the output stream failed after " +
                                                   std::to_string(lines) + " lines");
    ++lines;
  }
  out.flush();
  if (!out) return Error(Errc::store_failed, "SFT export: the output stream failed to flush");
  return lines;
}

inline json::object chat_message(std::string_view role, std::string_view content) {
  json::object m;
  m["role"] = role;
  m["content"] = content;
  return m;
}

}  // namespace detail

inline result<std::size_t> write_sft_jsonl_chat(std::span<SftPair const> pairs, std::ostream& out,
                                                std::optional<std::string_view> system_prompt) {
  return detail::write_jsonl_lines(pairs, out, [&](SftPair const& p) {
    json::array messages;
    messages.reserve(system_prompt ? 3 : 2);
    if (system_prompt) messages.emplace_back(detail::chat_message("system", *system_prompt));
    messages.emplace_back(detail::chat_message("user", p.input));
    messages.emplace_back(detail::chat_message("assistant", p.output));
    json::object line;
    line["messages"] = std::move(messages);
    return line;
  });
}

inline result<std::size_t> write_sft_jsonl_plain(std::span<SftPair const> pairs, std::ostream& out) {
  return detail::write_jsonl_lines(pairs, out, [](SftPair const& p) {
    json::object line;
    line["input"] = p.input;
    line["output"] = p.output;
    return line;
  });
}

}  // namespace leash::learn

#endif
