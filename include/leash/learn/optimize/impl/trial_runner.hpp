// leash/learn/optimize/impl/trial_runner.hpp — bodies for learn/optimize/trial_runner.hpp.
#ifndef LEASH_LEARN_OPTIMIZE_IMPL_TRIAL_RUNNER_HPP
#define LEASH_LEARN_OPTIMIZE_IMPL_TRIAL_RUNNER_HPP

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

namespace leash::learn::optimize {

namespace detail {

/// Lends an agent owned by run_trial to each benchmark's evaluator, so one
/// agent (one factory call) answers the whole trial.
template <class A>
struct AgentRef {
  A* agent;
  auto operator()(EvalSample const& sample) { return (*agent)(sample); }
};

/// Lends the runner's grader to each evaluator (they may run at once, for
/// concurrent trials: graders are required to grade many samples at once).
template <class G>
struct GraderRef {
  G* grader;
  auto grade(EvalSample const& sample, std::string_view answer) { return grader->grade(sample, answer); }
};

/// `text` cut to at most `max` bytes, not inside a UTF-8 sequence, with "…" when cut.
inline std::string cut_text(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "…";
}

inline std::string param_text(json::value const& v) { return cut_text(json::serialize(v), 80); }

inline Error bad_param(std::string_view key, std::string_view expected, json::value const& v) {
  return Error{Errc::invalid_config,
               "trial param " + std::string(key) + " must be " + std::string(expected) + ", not " + param_text(v)};
}

}  // namespace detail

inline TrialBenchmark trial_benchmark(BenchmarkSpec const& spec, std::vector<EvalSample> samples) {
  TrialBenchmark b;
  b.name = spec.benchmark;
  b.samples = std::move(samples);
  b.max_samples = spec.max_samples > std::numeric_limits<std::size_t>::max()
                      ? std::numeric_limits<std::size_t>::max()
                      : static_cast<std::size_t>(spec.max_samples);
  b.weight = spec.weight;
  return b;
}

inline result<void> check_trial_benchmarks(std::span<TrialBenchmark const> benchmarks) {
  auto fail = [](std::string why) { return Error{Errc::invalid_config, "DatasetTrialRunner: " + std::move(why)}; };
  if (benchmarks.empty()) return fail("no benchmarks to run");
  std::set<std::string_view> names;
  double sum = 0.0;
  for (std::size_t i = 0; i < benchmarks.size(); ++i) {
    auto const& b = benchmarks[i];
    if (b.name.empty()) return fail("benchmark " + std::to_string(i + 1) + " has no name");
    std::string const which = "benchmark '" + b.name + "'";
    if (!names.insert(b.name).second) return fail(which + " is listed twice");
    if (b.samples.empty()) return fail(which + " has no samples");
    if (b.max_samples == 0) return fail(which + ": max_samples must be at least 1");
    if (!std::isfinite(b.weight) || b.weight < 0.0)
      return fail(which + ": weight must be a finite number of at least 0, not " + std::to_string(b.weight));
    sum += b.weight;
  }
  if (!(sum > 0.0)) return fail("the benchmarks' weights add up to 0: at least one must count");
  return success();
}

#if defined(LEASH_HAS_TOMLPLUSPLUS)

inline result<AgentConfig> agent_config_from_params(json::object const& params, AgentConfig base) {
  if (auto const* v = params.if_contains("agent.max_turns")) {
    std::optional<std::int64_t> n;
    if (v->is_int64()) {
      n = v->get_int64();
    } else if (v->is_uint64()) {
      if (v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        n = static_cast<std::int64_t>(v->get_uint64());
    } else if (v->is_double()) {
      // A model may write 8.0 for 8; a fraction is not a number of turns.
      double const d = v->get_double();
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) <= 1e15) n = static_cast<std::int64_t>(d);
    }
    if (!n || *n < 1 || *n > std::numeric_limits<int>::max())
      return detail::bad_param("agent.max_turns", "a whole number of at least 1", *v);
    base.max_turns = static_cast<int>(*n);
  }
  for (std::string_view key : {std::string_view("intelligence.system_prompt"), std::string_view("agent.system_prompt")}) {
    // In this order, so the agent's own prompt wins when both are set.
    if (auto const* v = params.if_contains(key)) {
      if (!v->is_string()) return detail::bad_param(key, "a string", *v);
      base.system_prompt = std::string(v->get_string());
    }
  }
  if (auto const* v = params.if_contains("intelligence.temperature")) {
    if (!v->is_number()) return detail::bad_param("intelligence.temperature", "a number", *v);
    double const t = v->to_number<double>();
    if (!std::isfinite(t) || t < 0.0)
      return detail::bad_param("intelligence.temperature", "a finite number of at least 0", *v);
    base.temperature = t;
  }
  if (auto const* v = params.if_contains("tools.tool_set")) {
    if (!v->is_array()) return detail::bad_param("tools.tool_set", "an array of tool names", *v);
    std::vector<std::string> tools;
    for (auto const& t : v->get_array()) {
      if (!t.is_string()) return detail::bad_param("tools.tool_set", "an array of tool names (strings)", *v);
      tools.emplace_back(t.get_string());
    }
    if (tools.empty())
      return detail::bad_param("tools.tool_set",
                               "a non-empty array of tool names (an agent config with no tools enables every tool)",
                               *v);
    base.tools = std::move(tools);
  }
  return base;
}

#endif

template <class AgentFactory, class GraderT>
DatasetTrialRunner<AgentFactory, GraderT>::DatasetTrialRunner(std::vector<TrialBenchmark> benchmarks,
                                                              AgentFactory factory, GraderT grader,
                                                              DatasetTrialRunnerOptions options)
    : benchmarks_(std::move(benchmarks)),
      factory_(std::move(factory)),
      grader_(std::move(grader)),
      options_(options) {}

template <class AgentFactory, class GraderT>
boost::asio::awaitable<result<TrialResult>> DatasetTrialRunner<AgentFactory, GraderT>::run_trial(
    TrialConfig const& config) {
  if (auto ok = validate(); ok.has_error()) co_return ok.error();

  TrialResult r;
  r.trial_id = config.trial_id;
  r.config = config;

  using Product = detail::factory_product<std::remove_cvref_t<std::invoke_result_t<AgentFactory&, TrialConfig const&>>>;
  using Agent = typename Product::type;
  std::optional<Agent> agent;
  std::string why;
  try {
    if constexpr (Product::checked) {
      auto made = factory_(config);
      if (made.has_value())
        agent.emplace(std::move(made).value());
      else
        why = made.error().what();
    } else {
      agent.emplace(factory_(config));
    }
  } catch (std::exception const& e) {
    why = std::string("it threw: ") + e.what();
  } catch (...) {
    why = "it threw an exception that is not a std::exception";
  }
  if (!agent) {
    r.failed = true;
    r.error = "the agent factory failed: " + why;
    co_return r;
  }

  std::vector<EvalReport> reports;
  reports.reserve(benchmarks_.size());
  for (auto const& b : benchmarks_) {
    std::size_t const n = std::min(b.samples.size(), b.max_samples);
    std::vector<EvalSample> samples(b.samples.begin(), b.samples.begin() + static_cast<std::ptrdiff_t>(n));
    EvaluatorOptions eo;
    eo.max_concurrent = options_.max_concurrent_samples;
    DatasetEvaluator<detail::AgentRef<Agent>, detail::GraderRef<GraderT>> evaluator(
        std::move(samples), detail::AgentRef<Agent>{&*agent}, detail::GraderRef<GraderT>{&grader_}, eo);
    auto report = co_await evaluator.evaluate();
    if (report.has_error()) {
      r.failed = true;
      r.error = "benchmark '" + b.name + "': " + report.error().what();
      co_return r;
    }
    reports.push_back(std::move(report).value());
  }

  bool const several = benchmarks_.size() > 1;
  double weighted = 0.0, weights = 0.0, latency = 0.0, cost = 0.0, grader_cost = 0.0;
  bool cost_known = false, grader_cost_known = false;
  std::uint64_t grader_tokens = 0;
  std::size_t errors = 0, unlisted = 0;
  std::string first_error;
  for (std::size_t i = 0; i < benchmarks_.size(); ++i) {
    auto const& b = benchmarks_[i];
    auto const& rep = reports[i];
    weighted += rep.accuracy * b.weight;
    weights += b.weight;
    r.samples_evaluated += rep.samples;
    errors += rep.errors;
    for (auto const& s : rep.per_sample) {
      latency += s.latency_s;
      r.total_tokens += s.tokens;
      grader_tokens += s.grader_tokens;
      if (s.cost_usd) {
        cost += *s.cost_usd;
        cost_known = true;
      }
      if (s.grader_cost_usd) {
        grader_cost += *s.grader_cost_usd;
        grader_cost_known = true;
      }
      if (s.error.empty()) continue;
      bool const listed = r.failure_modes.size() < options_.max_failure_modes;
      if (!listed) ++unlisted;
      if (!listed && !first_error.empty()) continue;
      std::string mode = (several ? b.name + "/" : std::string()) + s.id + ": " +
                         detail::cut_text(s.error, options_.max_error_length);
      if (first_error.empty()) first_error = mode;
      if (listed) r.failure_modes.push_back(std::move(mode));
    }
    r.metrics["accuracy." + b.name] = rep.accuracy;
    r.metrics["mean_latency_seconds." + b.name] = rep.mean_latency_s;
    r.metrics["errors." + b.name] = static_cast<std::uint64_t>(rep.errors);
  }
  if (unlisted != 0)
    r.failure_modes.push_back("and " + std::to_string(unlisted) + " more errored sample" + (unlisted == 1 ? "" : "s"));

  r.accuracy = weighted / weights;  // weights > 0: validated
  r.mean_latency_seconds = r.samples_evaluated ? latency / static_cast<double>(r.samples_evaluated) : 0.0;
  r.total_cost_usd = cost_known ? cost : std::numeric_limits<double>::quiet_NaN();
  r.total_energy_joules = std::numeric_limits<double>::quiet_NaN();
  if (grader_tokens != 0) r.metrics["grader_tokens"] = grader_tokens;
  if (grader_cost_known) r.metrics["grader_cost_usd"] = grader_cost;

  if (options_.fail_when_every_sample_errs && errors != 0 && errors == r.samples_evaluated) {
    r.failed = true;
    r.error = "every sample errored; the first: " + first_error;
  }
  co_return r;
}

template <class AgentFactory, class GraderT>
result<DatasetTrialRunner<AgentFactory, GraderT>> make_dataset_trial_runner(std::vector<TrialBenchmark> benchmarks,
                                                                            AgentFactory factory, GraderT grader,
                                                                            DatasetTrialRunnerOptions options) {
  if (auto ok = check_trial_benchmarks(benchmarks); ok.has_error()) return ok.error();
  return DatasetTrialRunner<AgentFactory, GraderT>(std::move(benchmarks), std::move(factory), std::move(grader),
                                                   options);
}

}  // namespace leash::learn::optimize

#endif
