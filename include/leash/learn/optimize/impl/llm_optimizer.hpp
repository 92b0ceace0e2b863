// leash/learn/optimize/impl/llm_optimizer.hpp — prompts, reply parsing and
// the corrective round trip of LlmOptimizer.
#ifndef LEASH_LEARN_OPTIMIZE_IMPL_LLM_OPTIMIZER_HPP
#define LEASH_LEARN_OPTIMIZE_IMPL_LLM_OPTIMIZER_HPP

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

namespace leash::learn::optimize {

namespace detail {

/// A JSON object parsed from the start of `text`; trailing text is allowed.
inline std::optional<json::object> object_at(std::string_view text) {
  json::parser p;
  boost::system::error_code ec;
  p.write_some(text.data(), text.size(), ec);
  if (ec) return std::nullopt;  // incomplete input is an error too
  json::value v = p.release();
  if (!v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

/// A whole fence body as one JSON object (surrounding blanks allowed).
inline std::optional<json::object> object_of(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

/// The body of the first fence opening with "```" + `tag` (the rest of the
/// opening line skipped), up to the next "```"; nullopt when there is none.
inline std::optional<std::string_view> fence_body(std::string_view text, std::string_view tag) {
  auto open = text.find(std::string("```") + std::string(tag));
  if (open == std::string_view::npos) return std::nullopt;
  auto start = text.find('\n', open + 3);
  if (start == std::string_view::npos) return std::nullopt;
  ++start;
  auto close = text.find("```", start);
  if (close == std::string_view::npos) return std::nullopt;
  return text.substr(start, close - start);
}

inline std::string fixed4(double v) {
  if (std::isnan(v)) return "not measured";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

inline std::string join(std::vector<std::string> const& items, std::string_view sep) {
  std::string out;
  for (auto const& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

/// A JSON value as a string for feedback fields: strings as they are, the rest as JSON.
inline std::string as_text(json::value const& v) {
  if (v.is_string()) return std::string(v.get_string());
  return to_text(v);
}

inline std::vector<std::string> string_list(json::object const& data, std::string_view key) {
  std::vector<std::string> out;
  auto const* v = data.if_contains(key);
  if (!v) return out;
  if (v->is_array()) {
    for (auto const& item : v->get_array()) out.push_back(as_text(item));
  } else if (v->is_string() && !v->get_string().empty()) {
    out.emplace_back(v->get_string());
  }
  return out;
}

/// params and reasoning of a parsed reply, tolerating missing keys; a
/// `params` that is not an object is reported as a ProposalError.
struct ParsedConfig {
  json::object params;
  std::string reasoning;
  std::vector<ProposalError> shape_errors;
};

inline ParsedConfig read_config(json::object const& data) {
  ParsedConfig out;
  if (auto const* p = data.if_contains("params")) {
    if (p->is_object())
      out.params = p->get_object();
    else if (!p->is_null())
      out.shape_errors.push_back(
          {"params", "must be a JSON object mapping dotted parameter names to values, not " + brief(*p)});
  }
  if (auto const* r = data.if_contains("reasoning"); r && r->is_string()) out.reasoning = r->get_string();
  return out;
}

/// Only the keys of `params` under `primitive.`.
inline json::object only_under(json::object const& params, std::string_view primitive) {
  json::object out;
  std::string prefix = std::string(primitive) + ".";
  for (auto const& [k, v] : params)
    if (std::string_view(k).starts_with(prefix)) out[k] = v;
  return out;
}

inline std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// The primitives of `space`, sorted, each once ("" left out).
inline std::vector<std::string> primitives(SearchSpace const& space) {
  std::set<std::string> found;
  for (auto const& d : space.dimensions) {
    auto p = d.primitive.empty() ? primitive_of(d.name) : d.primitive;
    if (!p.empty()) found.insert(p);
  }
  return {found.begin(), found.end()};
}

/// `name` as one of `known`: exact, else ignoring case and a trailing "s"
/// on either side; "" when none matches.
inline std::string match_primitive(std::string_view name, std::vector<std::string> const& known) {
  for (auto const& p : known)
    if (p == name) return p;
  auto stem = [](std::string s) {
    if (s.size() > 1 && s.back() == 's') s.pop_back();
    return s;
  };
  auto want = stem(lowercase(name));
  if (want.empty()) return {};
  for (auto const& p : known)
    if (stem(lowercase(p)) == want) return p;
  return {};
}

inline std::string objectives_text(std::vector<ObjectiveSpec> const& objectives) {
  std::string out = "## Objectives\n\n";
  if (objectives.empty()) return out + "- maximize accuracy\n";
  for (auto const& o : objectives) out += "- " + std::string(to_string(o.direction)) + " " + o.metric + "\n";
  out += "\nNo single trial need be best at all of them: good trade-offs are worth finding too.\n";
  return out;
}

/// "accuracy: 0.8000, mean_latency_seconds: …" — the result fields and any
/// other objective the trial measured.
inline std::string measurements(TrialResult const& r, std::vector<ObjectiveSpec> const& objectives) {
  std::vector<std::string> parts = {
      "accuracy: " + fixed4(r.accuracy), "mean_latency_seconds: " + fixed4(r.mean_latency_seconds),
      "total_cost_usd: " + fixed4(r.total_cost_usd), "total_energy_joules: " + fixed4(r.total_energy_joules)};
  std::set<std::string_view> shown = {"accuracy", "mean_latency_seconds", "total_cost_usd", "total_energy_joules"};
  for (auto const& o : objectives)
    if (shown.insert(o.metric).second) parts.push_back(o.metric + ": " + fixed4(objective_value(r, o.metric)));
  return join(parts, ", ");
}

inline std::string params_text(json::object const& params) { return to_text(json::value(params)); }

inline std::string config_request(std::string_view what) {
  return "Reply with one JSON object in a ```json fence, with the keys:\n"
         "- \"params\": an object mapping dotted parameter names to values, " +
         std::string(what) +
         "\n"
         "- \"reasoning\": a few sentences on why this configuration should do better\n";
}

}  // namespace detail

inline std::optional<json::object> detail::extract_json_object(std::string_view text) {
  if (auto body = fence_body(text, "json"))
    if (auto o = object_of(*body)) return o;
  if (auto body = fence_body(text, ""))
    if (auto o = object_of(*body)) return o;
  for (auto at = text.find('{'); at != std::string_view::npos; at = text.find('{', at + 1))
    if (auto o = object_at(text.substr(at))) return o;
  return std::nullopt;
}

inline LlmOptimizer::LlmOptimizer(llm::AnyTransport transport, LlmOptimizerOptions options)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      rng_(options_.seed ? *options_.seed : std::random_device{}()) {}

inline std::string LlmOptimizer::new_trial_id() {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(rng_() & 0xffffffffffffULL));
  return buf;
}

// -- prompts ---------------------------------------------------------------------

inline std::string LlmOptimizer::initial_prompt() const {
  return options_.search_space.to_prompt() + "\n" + detail::objectives_text(options_.objectives) +
         "\n## Task\n\nNo trial has been run yet. Propose a first configuration: a sound starting point from "
         "which later trials can explore.\n\n" +
         detail::config_request("for the parameters you want to set (leave out the rest)");
}

inline std::string LlmOptimizer::next_prompt(std::span<TrialResult const> history,
                                             std::span<std::size_t const> frontier,
                                             std::span<TrialFeedback const> feedback) const {
  std::string out = options_.search_space.to_prompt() + "\n" + detail::objectives_text(options_.objectives) +
                    "\n## Optimization History\n\n";
  if (history.empty()) out += "No trials have been run yet.\n";
  for (std::size_t i = 0; i < history.size(); ++i) {
    auto const& t = history[i];
    bool const on_frontier = std::find(frontier.begin(), frontier.end(), i) != frontier.end();
    out += "### Trial " + std::to_string(i + 1) + " (id=" + t.trial_id + ")" + (on_frontier ? " [FRONTIER]" : "") +
           "\n\n";
    out += "Params: " + detail::params_text(t.config.params) + "\n";
    if (t.failed) {
      out += "FAILED: " + t.error + "\n";
    } else {
      out += "Results: " + detail::measurements(t, options_.objectives) + "\n";
    }
    TrialFeedback const* fb = i < feedback.size() ? &feedback[i] : nullptr;
    if (fb && fb->parsed && (!fb->summary_text.empty() || !fb->failure_patterns.empty())) {
      if (!fb->summary_text.empty()) out += "Analysis: " + fb->summary_text + "\n";
      if (!fb->failure_patterns.empty()) out += "Failure patterns: " + detail::join(fb->failure_patterns, "; ") + "\n";
      if (!fb->primitive_ratings.empty()) {
        std::vector<std::string> ratings;
        for (auto const& [p, r] : fb->primitive_ratings) ratings.push_back(p + "=" + r);
        out += "Ratings: " + detail::join(ratings, ", ") + "\n";
      }
      if (!fb->target_primitive.empty()) out += "Change next: " + fb->target_primitive + "\n";
    } else if (!t.analysis.empty()) {
      out += "Analysis: " + t.analysis + "\n";
    }
    if (!t.failure_modes.empty()) out += "Failure modes: " + detail::join(t.failure_modes, "; ") + "\n";
    out += "\n";
  }
  if (!frontier.empty())
    out += "Trials marked [FRONTIER] are on the Pareto frontier: no other trial beats them on every objective.\n\n";
  out += "## Task\n\nPropose the next configuration. Learn from the history: do not repeat a configuration "
         "that was tried, and change what the analyses point at.\n\n" +
         detail::config_request("for the parameters you want to set (leave out the rest)");
  return out;
}

inline std::string LlmOptimizer::targeted_prompt(TrialConfig const& base, std::string_view primitive) const {
  std::vector<std::pair<std::string_view, json::value const*>> sorted;
  for (auto const& [k, v] : base.params) sorted.emplace_back(k, &v);
  std::sort(sorted.begin(), sorted.end());
  std::string out = options_.search_space.to_prompt() + "\n" + detail::objectives_text(options_.objectives) +
                    "\n## Current Configuration\n\n";
  if (sorted.empty()) out += "(no parameters set)\n";
  for (auto const& [k, v] : sorted) out += "- " + std::string(k) + " = " + detail::to_text(*v) + "\n";
  out += "\n## Target Primitive: " + std::string(primitive) + "\n\nChange only parameters whose names start with `" +
         std::string(primitive) + ".`; everything else stays as it is (other keys are ignored).\n\n" +
         detail::config_request("only for parameters under `" + std::string(primitive) + ".`");
  return out;
}

inline std::string LlmOptimizer::merge_prompt(std::span<TrialResult const> candidates) const {
  std::string out = options_.search_space.to_prompt() + "\n" + detail::objectives_text(options_.objectives) +
                    "\n## Candidates\n\nThese configurations each did well on some objectives:\n\n";
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    auto const& c = candidates[i];
    out += "### Candidate " + std::to_string(i + 1) + " (id=" + c.trial_id + ")\n\n";
    out += "Params: " + detail::params_text(c.config.params) + "\n";
    out += "Results: " + detail::measurements(c, options_.objectives) + "\n\n";
  }
  out += "## Task\n\nPropose one configuration that combines the strengths of the candidates: take from each "
         "what made it good.\n\n" +
         detail::config_request("for the parameters you want to set (leave out the rest)");
  return out;
}

inline std::string LlmOptimizer::analysis_prompt(TrialResult const& trial) const {
  std::string out = "# Trial " + trial.trial_id + "\n\n## Configuration\n\n";
  out += "Params: " + detail::params_text(trial.config.params) + "\n";
  if (!trial.config.reasoning.empty()) out += "Why it was proposed: " + trial.config.reasoning + "\n";
  out += "\n## Results\n\n";
  if (trial.failed) {
    out += "The trial FAILED: " + trial.error + "\n";
  } else {
    out += detail::measurements(trial, options_.objectives) + "\n";
    out += "total_tokens: " + std::to_string(trial.total_tokens) +
           ", samples_evaluated: " + std::to_string(trial.samples_evaluated) + "\n";
    for (auto const& [k, v] : trial.metrics) out += std::string(k) + ": " + detail::to_text(v) + "\n";
  }
  if (!trial.failure_modes.empty()) out += "Failure modes: " + detail::join(trial.failure_modes, "; ") + "\n";
  auto prims = detail::primitives(options_.search_space);
  out += "\n## Task\n\nExplain these results. The primitives of the configuration are: " +
         (prims.empty() ? std::string("(none)") : detail::join(prims, ", ")) +
         ".\n\nReply with one JSON object in a ```json fence, with the keys:\n"
         "- \"summary_text\": a short reading of the results\n"
         "- \"failure_patterns\": a list of recurring ways the trial went wrong\n"
         "- \"primitive_ratings\": an object rating each primitive \"high\", \"medium\" or \"low\"\n"
         "- \"suggested_changes\": a list of concrete changes to try\n"
         "- \"target_primitive\": the one primitive to change next, or \"\"\n";
  return out;
}

// -- calls -------------------------------------------------------------------------

inline boost::asio::awaitable<result<llm::Completion>> LlmOptimizer::call(
    std::vector<llm::ChatMessage> const& messages, double temperature, Proposal* proposal) {
  llm::CompletionRequest request;
  request.messages = messages;
  request.max_tokens = options_.max_tokens;
  request.temperature = temperature;
  ++llm_calls_;
  if (proposal) ++proposal->llm_calls;
  if (!transport_) co_return Error(Errc::invalid_config, "LlmOptimizer: no transport");
  result<llm::Completion> done = co_await transport_.complete(request);
  if (done) {
    usage_.input_tokens += done.value().usage.input_tokens;
    usage_.output_tokens += done.value().usage.output_tokens;
    if (proposal) {
      proposal->usage.input_tokens += done.value().usage.input_tokens;
      proposal->usage.output_tokens += done.value().usage.output_tokens;
    }
  }
  co_return done;
}

inline boost::asio::awaitable<result<Proposal>> LlmOptimizer::ask(std::string prompt, TrialConfig const* base,
                                                                  std::string primitive) {
  auto const& space = options_.search_space;
  Proposal p;
  p.config.trial_id = new_trial_id();
  std::vector<llm::ChatMessage> messages = {{"system", options_.proposal_system_prompt, {}, {}},
                                            {"user", std::move(prompt), {}, {}}};
  auto narrow = [&](detail::ParsedConfig c) {
    if (base) c.params = detail::only_under(c.params, primitive);
    return c;
  };

  auto first = co_await call(messages, options_.proposal_temperature, &p);
  if (!first) co_return first.error();
  auto data = detail::extract_json_object(first.value().text);
  if (!data) {
    p.parsed = false;
    p.config.params = space.apply_fixed(base ? base->params : json::object());
    p.config.reasoning = std::string(unparsed_reasoning);
    co_return p;
  }
  auto config = narrow(detail::read_config(*data));
  auto errors = config.shape_errors;
  auto more = space.check_proposal(config.params);
  errors.insert(errors.end(), more.begin(), more.end());

  if (!errors.empty()) {
    p.errors_first_try = errors;
    messages.push_back({"assistant", first.value().text, {}, {}});
    messages.push_back(
        {"user",
         "Some of what you proposed is not allowed by the search space:\n\n" + format_proposal_errors(errors) +
             "\nReply again with the whole corrected JSON object (keys \"params\" and \"reasoning\") in a ```json "
             "fence. Values that are still not allowed will be clamped into range or dropped.",
         {},
         {}});
    auto second = co_await call(messages, options_.proposal_temperature, &p);
    if (!second) co_return second.error();
    if (auto again = detail::extract_json_object(second.value().text)) {
      auto corrected = narrow(detail::read_config(*again));
      if (corrected.reasoning.empty()) corrected.reasoning = std::move(config.reasoning);
      config = std::move(corrected);
    }
  }

  auto repaired = space.clamp_proposal(config.params);
  p.clamped = std::move(repaired.changes);
  json::object params = base ? base->params : json::object();
  for (auto const& [k, v] : repaired.params) params[k] = v;
  p.config.params = space.apply_fixed(std::move(params));
  p.config.reasoning = std::move(config.reasoning);
  co_return p;
}

inline boost::asio::awaitable<result<Proposal>> LlmOptimizer::propose_initial() {
  auto prompt = initial_prompt();
  std::string no_primitive;  // named: GCC 12 mishandles temporaries passed to coroutines
  co_return co_await ask(std::move(prompt), nullptr, std::move(no_primitive));
}

inline boost::asio::awaitable<result<Proposal>> LlmOptimizer::propose_next(std::span<TrialResult const> history,
                                                                           std::span<std::size_t const> frontier,
                                                                           std::span<TrialFeedback const> feedback) {
  auto prompt = next_prompt(history, frontier, feedback);
  std::string no_primitive;
  co_return co_await ask(std::move(prompt), nullptr, std::move(no_primitive));
}

inline boost::asio::awaitable<result<Proposal>> LlmOptimizer::propose_targeted(TrialConfig const& base,
                                                                               std::string_view primitive) {
  auto prompt = targeted_prompt(base, primitive);
  std::string target(primitive);
  co_return co_await ask(std::move(prompt), &base, std::move(target));
}

inline boost::asio::awaitable<result<Proposal>> LlmOptimizer::propose_merge(std::span<TrialResult const> candidates) {
  auto prompt = merge_prompt(candidates);
  std::string no_primitive;
  co_return co_await ask(std::move(prompt), nullptr, std::move(no_primitive));
}

inline boost::asio::awaitable<result<TrialFeedback>> LlmOptimizer::analyze(TrialResult const& trial) {
  std::vector<llm::ChatMessage> messages = {{"system", options_.analysis_system_prompt, {}, {}},
                                            {"user", analysis_prompt(trial), {}, {}}};
  auto reply = co_await call(messages, options_.analysis_temperature, nullptr);
  if (!reply) co_return reply.error();
  TrialFeedback fb;
  auto data = detail::extract_json_object(reply.value().text);
  if (!data) {
    fb.summary_text = reply.value().text;
    fb.parsed = false;
    co_return fb;
  }
  if (auto const* s = data->if_contains("summary_text")) fb.summary_text = detail::as_text(*s);
  fb.failure_patterns = detail::string_list(*data, "failure_patterns");
  fb.suggested_changes = detail::string_list(*data, "suggested_changes");
  if (auto const* r = data->if_contains("primitive_ratings"); r && r->is_object())
    for (auto const& [k, v] : r->get_object()) fb.primitive_ratings[std::string(k)] = detail::as_text(v);
  if (auto const* t = data->if_contains("target_primitive"); t && t->is_string())
    fb.target_primitive = detail::match_primitive(t->get_string(), detail::primitives(options_.search_space));
  co_return fb;
}

}  // namespace leash::learn::optimize

#endif
