// leash/learn/spec_search/impl/personal_benchmark.hpp — definitions for
// personal_benchmark.hpp.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_PERSONAL_BENCHMARK_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_PERSONAL_BENCHMARK_HPP

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <map>
#include <utility>

namespace leash::learn::spec_search {

namespace detail {

/// What one model call spent, priced as LlmJudgeGrader prices it: by the
/// model the provider reports, else by the transport's model.
struct Spend {
  std::uint64_t tokens = 0;
  std::optional<double> cost_usd;
};

inline Spend spend_of(llm::Completion const& c, Pricing const& pricing, std::string_view transport_model) {
  Spend s;
  s.tokens = c.usage.input_tokens + c.usage.output_tokens;
  if (!c.model.empty()) s.cost_usd = pricing.estimate_cost(c.usage.input_tokens, c.usage.output_tokens, c.model);
  if (!s.cost_usd) s.cost_usd = pricing.estimate_cost(c.usage.input_tokens, c.usage.output_tokens, transport_model);
  return s;
}

inline std::string render_field(json::object const& o, std::size_t cap) {
  if (o.empty()) return "{}";
  return clip(json::serialize(o), cap);
}

inline std::string render_step(std::size_t number, TraceStep const& step, std::size_t cap) {
  char duration[48];
  std::snprintf(duration, sizeof duration, "%.2f s", step.duration_s);
  std::string line = std::to_string(number) + ". [" + std::string(learn::to_string(step.type)) + "] input=";
  line += render_field(step.input, cap);
  line += " output=";
  line += render_field(step.output, cap);
  line += " (";
  line += duration;
  line += ")\n";
  return line;
}

/// A run that can be a benchmark sample: rated at least `min_feedback`, with
/// something to ask and something to compare against.
inline bool qualifies(Trace const& t, double min_feedback) {
  return t.feedback && *t.feedback >= min_feedback && !learn::detail::trim(t.query).empty() &&
         !learn::detail::trim(t.result).empty();
}

inline bool is_word_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/// `line` starts with the word `word` (ASCII case ignored), not merely with
/// its letters ("Yesterday" is not "Yes").
inline bool starts_with_word(std::string_view line, std::string_view word) {
  if (line.size() < word.size()) return false;
  if (!learn::detail::iequals(line.substr(0, word.size()), word)) return false;
  return line.size() == word.size() || !is_word_char(line[word.size()]);
}

inline std::string feedback_text(double v) { return leash::detail::format_number(v); }

}  // namespace detail

// ---------------------------------------------------------------------------
// TraceJudge

/// A judge's call that was answered: the reply and its spend, and why its
/// score could not be read, if it could not.
struct TraceJudge::Attempt {
  JudgedTrace judged;
  std::optional<Error> error;
};

inline TraceJudge::TraceJudge(llm::AnyTransport transport, TraceJudgeOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {}

inline llm::CompletionRequest TraceJudge::request_for(Trace const& trace) const {
  std::size_t const max_steps = std::max<std::size_t>(1, options_.max_steps);
  std::size_t const n = trace.steps.size();

  std::string user = "Query:\n" + detail::clip(trace.query, options_.max_text_chars) + "\n\n";
  if (n == 0) {
    user += "Steps: none recorded\n";
  } else if (n <= max_steps) {
    user += "Steps (" + std::to_string(n) + "):\n";
    for (std::size_t i = 0; i < n; ++i) user += detail::render_step(i + 1, trace.steps[i], options_.max_field_chars);
  } else {
    // The opening shows the approach, the end shows how it finished: keep
    // both and leave out the middle.
    std::size_t const head = (max_steps + 1) / 2;
    std::size_t const tail = max_steps - head;
    user += "Steps (" + std::to_string(max_steps) + " of " + std::to_string(n) + " shown):\n";
    for (std::size_t i = 0; i < head; ++i) user += detail::render_step(i + 1, trace.steps[i], options_.max_field_chars);
    user += "... (" + std::to_string(n - max_steps) + " steps left out) ...\n";
    for (std::size_t i = n - tail; i < n; ++i)
      user += detail::render_step(i + 1, trace.steps[i], options_.max_field_chars);
  }
  user += "\nFinal Result:\n";
  user += trace.result.empty() ? std::string("(none)") : detail::clip(trace.result, options_.max_text_chars);
  user += "\n\nEnd with the line `Score: X` (X from 0 to 1).";

  llm::CompletionRequest r;
  std::string system =
      options_.system_prompt.empty() ? std::string(default_trace_judge_prompt) : options_.system_prompt;
  r.messages.push_back(llm::ChatMessage{"system", std::move(system), {}, {}});
  r.messages.push_back(llm::ChatMessage{"user", std::move(user), {}, {}});
  r.max_tokens = options_.max_tokens;
  r.temperature = options_.temperature;
  return r;
}

inline boost::asio::awaitable<result<TraceJudge::Attempt>> TraceJudge::attempt(Trace const& trace) {
  if (!transport_) co_return Error{Errc::invalid_config, "TraceJudge has no transport"};
  auto request = request_for(trace);
  auto done = co_await transport_.complete(request);
  if (!done) co_return Error{done.error().code, "the judge failed: " + done.error().what()};
  auto const& c = done.value();
  auto spend = detail::spend_of(c, options_.pricing, transport_.model_id());
  Attempt a;
  a.judged.text = c.text;
  a.judged.tokens = spend.tokens;
  a.judged.cost_usd = spend.cost_usd;
  auto score = parse_judge_score(c.text);
  if (score)
    a.judged.score = score.value();
  else
    a.error = Error{score.error().code, "trace '" + trace.trace_id + "': " + score.error().what()};
  co_return a;
}

inline boost::asio::awaitable<result<JudgedTrace>> TraceJudge::score_trace(Trace const& trace) {
  auto a = co_await attempt(trace);
  if (!a) co_return a.error();
  if (a.value().error) {
    // The spend is lost with the value: say it, so a caller reading the
    // error alone still learns the call was paid for.
    auto const& j = a.value().judged;
    std::string spent = " (the judge's call spent " + std::to_string(j.tokens) + " tokens";
    if (j.cost_usd) spent += ", $" + leash::detail::format_number(*j.cost_usd);
    spent += ")";
    co_return Error{a.value().error->code, a.value().error->what() + spent};
  }
  co_return std::move(a.value().judged);
}

inline boost::asio::awaitable<result<JudgeBatch>> TraceJudge::judge_traces(TraceStore& traces, TraceFilter filter,
                                                                          bool write_feedback) {
  if (!transport_) co_return Error{Errc::invalid_config, "TraceJudge has no transport"};
  if (!filter.limit) filter.limit = 100;
  filter.with_steps = false;  // ids only here; each trace is read whole when its turn comes

  // Ids first, then one trace at a time: judging awaits the model, which the
  // listing's synchronous visitor cannot, and holding every trace with its
  // steps would cost memory the listing is there to save.
  std::vector<std::string> ids;
  JudgeBatch batch;
  std::function<bool(Trace const&)> visit = [&](Trace const& t) {
    if (t.status)
      ids.push_back(t.trace_id);
    else
      ++batch.skipped;
    return true;
  };
  auto listed = co_await traces.for_each(std::move(filter), std::move(visit));
  if (listed.has_error()) co_return listed.error();

  double cost = 0.0;
  bool cost_known = false;
  batch.verdicts.reserve(ids.size());
  for (auto const& id : ids) {
    TraceVerdict v;
    v.trace_id = id;
    std::string wanted = id;
    auto got = co_await traces.get(std::move(wanted));
    if (!got) {
      v.error = "cannot read trace '" + id + "': " + got.error().what();
    } else {
      auto a = co_await attempt(got.value());
      if (!a) {
        v.error = a.error().what();
      } else {
        auto& at = a.value();
        v.text = std::move(at.judged.text);
        v.tokens = at.judged.tokens;
        v.cost_usd = at.judged.cost_usd;
        if (at.error) {
          v.error = at.error->what();
        } else {
          v.score = at.judged.score;
          if (write_feedback) {
            std::string run_id = id;
            std::string source = "judge";
            auto written = co_await traces.set_feedback(std::move(run_id), at.judged.score, std::move(source));
            if (written)
              v.feedback_written = true;
            else
              v.error = "cannot record the judge's score for trace '" + id + "': " + written.error().what();
          }
        }
      }
    }
    batch.tokens += v.tokens;
    if (v.cost_usd) {
      cost += *v.cost_usd;
      cost_known = true;
    }
    if (v.error.empty())
      ++batch.judged;
    else
      ++batch.failed;
    batch.verdicts.push_back(std::move(v));
  }
  if (cost_known) batch.cost_usd = cost;
  co_return batch;
}

// ---------------------------------------------------------------------------
// The personal benchmark

inline std::string category_of_agent(std::string_view agent) {
  auto name = learn::detail::lower_copy(agent);
  auto has_any = [&](std::initializer_list<std::string_view> parts) {
    return std::any_of(parts.begin(), parts.end(),
                       [&](std::string_view p) { return name.find(p) != std::string::npos; });
  };
  if (has_any({"react", "openhands", "orchestrator"})) return "agentic";
  if (has_any({"rag", "memory", "retriev"})) return "rag";
  if (has_any({"reason", "math", "code"})) return "reasoning";
  return "chat";
}

inline std::string query_group_key(std::string_view agent, std::string_view query) {
  // Cut first, then trim, as the reference does: two queries that differ
  // only after 50 bytes are the same question asked twice.
  auto head = query.substr(0, utf8_prefix(query, 50));
  std::string key(agent);
  key += "::";
  key += learn::detail::lower_copy(learn::detail::trim(head));
  return key;
}

inline boost::asio::awaitable<result<std::vector<PersonalSample>>> synthesize_personal_benchmark(
    TraceStore& traces, SynthesisOptions options) {
  if (!(options.min_feedback >= 0.0 && options.min_feedback <= 1.0))
    co_return Error{Errc::invalid_input, "synthesize_personal_benchmark: min_feedback must be in [0, 1], not " +
                                             leash::detail::format_number(options.min_feedback)};
  if (options.max_samples == 0)
    co_return Error{Errc::invalid_input, "synthesize_personal_benchmark: max_samples must be at least 1"};

  struct Group {
    PersonalSample best;
    std::string model;
    std::size_t size = 0;
  };
  // One entry per distinct question, so memory grows with the questions
  // asked, not with the runs.
  std::map<std::string, Group> groups;
  TraceFilter filter;
  filter.with_steps = false;
  if (options.agent) filter.agent = *options.agent;
  double const min_feedback = options.min_feedback;
  std::function<bool(Trace const&)> visit = [&](Trace const& t) {
    if (!detail::qualifies(t, min_feedback)) return true;
    auto [it, fresh] = groups.try_emplace(query_group_key(t.agent, t.query));
    Group& g = it->second;
    ++g.size;
    double const fb = *t.feedback;
    bool const better = fresh || fb > g.best.feedback_score ||
                        (fb == g.best.feedback_score && t.trace_id < g.best.trace_id);
    if (better) {
      g.best.trace_id = t.trace_id;
      g.best.query = t.query;
      g.best.reference_answer = t.result;
      g.best.agent = t.agent;
      g.best.feedback_score = fb;
      g.model = t.model;
    }
    return true;
  };
  auto scanned = co_await traces.for_each(std::move(filter), std::move(visit));
  if (scanned.has_error()) co_return scanned.error();

  std::vector<PersonalSample> out;
  out.reserve(groups.size());
  for (auto& [key, g] : groups) {
    PersonalSample s = std::move(g.best);
    s.category = category_of_agent(s.agent);
    s.metadata["workflow_id"] = options.workflow_id;
    s.metadata["model"] = g.model;
    s.metadata["group_size"] = g.size;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](PersonalSample const& a, PersonalSample const& b) {
    if (a.feedback_score != b.feedback_score) return a.feedback_score > b.feedback_score;
    return a.trace_id < b.trace_id;
  });
  if (out.size() > options.max_samples) out.resize(options.max_samples);
  co_return out;
}

inline std::vector<EvalSample> to_eval_samples(std::vector<PersonalSample> const& samples) {
  std::vector<EvalSample> out;
  out.reserve(samples.size());
  for (auto const& p : samples) {
    EvalSample e;
    e.id = p.trace_id;
    e.query = p.query;
    e.expected = p.reference_answer;
    e.metadata["category"] = p.category;
    e.metadata["cluster"] = p.category;
    e.metadata["trace_id"] = p.trace_id;
    e.metadata["agent"] = p.agent;
    e.metadata["feedback_score"] = p.feedback_score;
    out.push_back(std::move(e));
  }
  return out;
}

inline boost::asio::awaitable<result<ReadinessResult>> check_benchmark_ready(TraceStore& traces,
                                                                             double min_feedback,
                                                                             std::size_t min_samples) {
  if (!(min_feedback >= 0.0 && min_feedback <= 1.0))
    co_return Error{Errc::invalid_input, "check_benchmark_ready: min_feedback must be in [0, 1], not " +
                                             leash::detail::format_number(min_feedback)};
  if (min_samples == 0)
    co_return Error{Errc::invalid_input, "check_benchmark_ready: min_samples must be at least 1"};

  ReadinessResult r;
  std::uint64_t seen = 0, unrated = 0;
  TraceFilter filter;
  filter.with_steps = false;
  std::function<bool(Trace const&)> visit = [&](Trace const& t) {
    ++seen;
    if (!t.feedback) ++unrated;
    if (detail::qualifies(t, min_feedback)) ++r.high_feedback_count;
    return r.high_feedback_count < min_samples;
  };
  auto scanned = co_await traces.for_each(std::move(filter), std::move(visit));
  if (scanned.has_error()) co_return scanned.error();

  std::string const threshold = detail::feedback_text(min_feedback);
  std::string const needed = std::to_string(min_samples);
  r.ready = r.high_feedback_count >= min_samples;
  if (r.ready) {
    // The scan stopped early; the total comes from a count.
    TraceFilter all;
    auto total = co_await traces.count(std::move(all));
    if (total.has_error()) co_return total.error();
    r.trace_count = std::max(total.value(), seen);
    r.message = "ready: at least " + needed + " runs rated " + threshold + " or more, out of " +
                std::to_string(r.trace_count) + " runs";
    co_return r;
  }
  r.trace_count = seen;
  if (seen == 0) {
    r.message = "not ready: the store has no runs yet; a personal benchmark needs " + needed +
                " runs rated " + threshold + " or more";
    co_return r;
  }
  std::uint64_t const missing = min_samples - r.high_feedback_count;
  r.message = "not ready: " + std::to_string(r.high_feedback_count) + " of the " + needed +
              " runs needed are rated " + threshold + " or more (with a query and a result), out of " +
              std::to_string(seen) + " runs, " + std::to_string(unrated) + " of them unrated; rate " +
              std::to_string(missing) + " more good " + (missing == 1 ? "run" : "runs") +
              " (by hand, or with TraceJudge::judge_traces)";
  co_return r;
}

// ---------------------------------------------------------------------------
// ReferenceMatchGrader

inline result<bool> parse_yes_no(std::string_view reply) {
  std::size_t p = 0;
  while (p <= reply.size()) {
    auto nl = reply.find('\n', p);
    auto line = reply.substr(p, nl == std::string_view::npos ? std::string_view::npos : nl - p);
    auto t = learn::detail::trim(line);
    if (!t.empty()) {
      // Models like to bold or quote their verdict: "**YES**", "> No.".
      auto first = t.find_first_not_of(" \t*_`\"'#>");
      auto word = first == std::string_view::npos ? std::string_view() : t.substr(first);
      if (detail::starts_with_word(word, "yes")) return true;
      if (detail::starts_with_word(word, "no")) return false;
      return Error{Errc::llm_bad_response, "the grader's first line says neither YES nor NO: \"" +
                                               learn::detail::shorten(t) + "\""};
    }
    if (nl == std::string_view::npos) break;
    p = nl + 1;
  }
  return Error{Errc::llm_bad_response, "the grader's reply is empty (expected YES or NO on the first line)"};
}

inline ReferenceMatchGrader::ReferenceMatchGrader(llm::AnyTransport transport, JudgeOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {}

inline llm::CompletionRequest ReferenceMatchGrader::request_for(EvalSample const& sample,
                                                                std::string_view answer) const {
  llm::CompletionRequest r;
  std::string system =
      options_.system_prompt.empty() ? std::string(default_reference_match_prompt) : options_.system_prompt;
  std::string user = "Question:\n" + sample.query + "\n\nReference answer:\n" + sample.expected +
                     "\n\nCandidate answer:\n" + std::string(answer) +
                     "\n\nIs the candidate answer at least as good as the reference answer? "
                     "Reply YES or NO on the first line.";
  r.messages.push_back(llm::ChatMessage{"system", std::move(system), {}, {}});
  r.messages.push_back(llm::ChatMessage{"user", std::move(user), {}, {}});
  r.max_tokens = options_.max_tokens;
  r.temperature = options_.temperature;
  return r;
}

inline boost::asio::awaitable<result<Grade>> ReferenceMatchGrader::grade(EvalSample const& sample,
                                                                         std::string_view answer) {
  if (!transport_) co_return Error{Errc::invalid_config, "ReferenceMatchGrader has no transport"};
  auto request = request_for(sample, answer);
  auto done = co_await transport_.complete(request);
  if (!done) co_return Error{done.error().code, "the grader failed: " + done.error().what()};
  auto const& c = done.value();
  auto spend = detail::spend_of(c, options_.pricing, transport_.model_id());
  Grade g;
  g.tokens = spend.tokens;
  g.cost_usd = spend.cost_usd;
  g.detail = c.text;
  auto verdict = parse_yes_no(c.text);
  if (verdict)
    g.score = verdict.value() ? 1.0 : 0.0;
  else
    g.error = verdict.error();
  co_return g;
}

}  // namespace leash::learn::spec_search

#endif
