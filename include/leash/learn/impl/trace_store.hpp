#ifndef LEASH_LEARN_IMPL_TRACE_STORE_HPP
#define LEASH_LEARN_IMPL_TRACE_STORE_HPP

#include <boost/json/parse.hpp>

namespace leash::learn {

namespace detail {

/// An action's arguments as stored (JSON text, cut at 1 KiB): the object when
/// it still parses, else the text itself.
inline json::value args_of(std::string const& excerpt) {
  boost::system::error_code ec;
  json::value v = json::parse(excerpt, ec);
  if (!ec && v.is_object()) return v;
  return json::value(excerpt);
}

}  // namespace detail

inline Trace to_trace(State const& s, bool with_steps) {
  Trace t;
  t.trace_id = s.run_id;
  t.query = s.goal;
  t.agent = s.info.agent;
  t.model = s.info.model;
  t.engine = s.info.engine;
  t.result = s.info.result;
  t.status = s.status;
  t.outcome = outcome_of(s.status);
  t.feedback = s.info.feedback;
  t.feedback_source = s.info.feedback_source;
  t.started_at = s.info.started_at;
  t.ended_at = s.info.ended_at;
  t.prompt_tokens = s.metrics.input_tokens;
  t.completion_tokens = s.metrics.output_tokens;
  t.total_latency_s = s.metrics.elapsed_s;
  t.cost_usd = s.metrics.cost_usd;
  t.metadata = s.info.metadata;
  if (!s.reason.empty()) t.metadata["reason"] = s.reason;
  if (!with_steps) return t;

  t.steps.reserve(s.iterations.size() * 2 + 1);
  for (auto const& it : s.iterations) {
    if (!it.plan_text.empty() || it.input_tokens + it.output_tokens > 0) {
      TraceStep g;
      g.type = StepType::generate;
      g.output["content"] = it.plan_text;
      g.output["tokens"] = it.output_tokens;
      g.input["tokens"] = it.input_tokens;
      g.metadata["iteration"] = it.index;
      if (it.plan_invalid) g.metadata["plan_invalid"] = true;
      t.steps.push_back(std::move(g));
    }
    for (auto const& a : it.actions) {
      TraceStep c;
      c.type = StepType::tool_call;
      c.duration_s = a.duration_s;
      c.input["tool"] = a.tool;
      c.input["args"] = detail::args_of(a.args_excerpt);
      c.output["content"] = a.result_excerpt;
      c.output["status"] = to_string(a.status);
      c.metadata["iteration"] = it.index;
      t.steps.push_back(std::move(c));
    }
  }
  if (s.status && s.status != Status::awaiting_approval && !s.info.result.empty()) {
    TraceStep r;
    r.type = StepType::respond;
    r.timestamp = s.info.ended_at;
    r.output["content"] = s.info.result;
    t.steps.push_back(std::move(r));
  }
  return t;
}

inline RunQuery TraceStore::query_of(TraceFilter const& f) {
  RunQuery q;
  q.agent = f.agent;
  q.model = f.model;
  q.outcome = f.outcome;
  q.since = f.since;
  q.until = f.until;
  q.limit = f.limit;
  q.with_iterations = f.with_steps;
  if (!f.include_learning_records) q.exclude_agent = learning_agent;
  return q;
}

inline auto TraceStore::list(TraceFilter filter) -> task<std::vector<Trace>> {
  if (!filter.limit) filter.limit = 100;
  std::vector<Trace> out;
  auto scanned = co_await store_.scan_runs(query_of(filter), [&](State&& s) {
    out.push_back(to_trace(s, filter.with_steps));
    return true;
  });
  if (scanned.has_error()) co_return scanned.error();
  co_return out;
}

inline auto TraceStore::for_each(TraceFilter filter, std::function<bool(Trace const&)> visit) -> task<void> {
  co_return co_await store_.scan_runs(query_of(filter),
                                      [&](State&& s) { return visit(to_trace(s, filter.with_steps)); });
}

inline auto TraceStore::count(TraceFilter filter) -> task<std::uint64_t> {
  RunQuery q = query_of(filter);
  q.with_iterations = false;
  co_return co_await store_.count_runs(std::move(q));
}

inline auto TraceStore::get(std::string trace_id) -> task<Trace> {
  auto loaded = co_await store_.load(std::move(trace_id));
  if (loaded.has_error()) co_return loaded.error();
  co_return to_trace(loaded.value());
}

inline auto TraceStore::search(std::string text, std::uint64_t limit) -> task<std::vector<Trace>> {
  RunQuery q;
  q.text = std::move(text);
  q.limit = limit;
  q.exclude_agent = learning_agent;
  q.with_iterations = true;
  std::vector<Trace> out;
  auto scanned = co_await store_.scan_runs(std::move(q), [&](State&& s) {
    out.push_back(to_trace(s));
    return true;
  });
  if (scanned.has_error()) co_return scanned.error();
  co_return out;
}

inline auto TraceStore::set_feedback(std::string trace_id, double score, std::string source) -> task<void> {
  co_return co_await store_.set_feedback(std::move(trace_id), score, std::move(source));
}

}  // namespace leash::learn

#endif
