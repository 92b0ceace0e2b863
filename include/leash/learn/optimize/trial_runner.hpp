// leash/learn/optimize/trial_runner.hpp — the usual TrialRunner: the user's
// agent, configured by the trial's params, evaluated by DatasetEvaluator on
// one or more benchmarks, the scores folded into one TrialResult.
//
//   namespace opt = leash::learn::optimize;
//   namespace learn = leash::learn;
//   auto factory = [](opt::TrialConfig const& trial) -> leash::result<MyAgent> {
//     learn::AgentConfig base;                                // name, turns, … to start from
//     base.name = "coder";
//     auto config = opt::agent_config_from_params(trial.params, base);
//     if (!config) return config.error();                     // a wrong type: a failed trial
//     leash::LoopOptions options;
//     if (auto ok = learn::apply_agent_config<Tools>(config.value(), options); !ok) return ok.error();
//     return learn::loop_agent([options](learn::EvalSample const& s) { return make_loop(s.query, options); });
//   };
//   std::vector<opt::TrialBenchmark> benchmarks(2);
//   benchmarks[0].name = "math";  benchmarks[0].samples = load("math.jsonl");  benchmarks[0].weight = 2;
//   benchmarks[1].name = "facts"; benchmarks[1].samples = load("facts.jsonl");
//   auto runner = opt::make_dataset_trial_runner(std::move(benchmarks), factory);  // result<…>
//   if (!runner) return fail(runner.error());          // no benchmarks, bad weights, …
//   opt::OptimizationEngine engine(std::move(optimizer), std::move(runner).value(), engine_options);
//
// The factory is called once per trial with the trial's configuration and
// returns an EvalAgent (learn/evaluator.hpp) — or result<EvalAgent>, whose
// error fails the trial, as an exception from it does. That agent answers
// every sample of every benchmark of the trial. loop_agent() makes one from a
// factory of the user's Loop type, so a trial runs the user's own loop with
// the options the params chose.
//
// For each benchmark, in order, the first max_samples samples are evaluated
// by a DatasetEvaluator with the agent and the runner's grader, at most
// DatasetTrialRunnerOptions::max_concurrent_samples samples at once. Then:
//
// | TrialResult            | from the benchmarks' reports                              |
// |------------------------|-----------------------------------------------------------|
// | accuracy               | Σ accuracy·weight / Σ weight                              |
// | mean_latency_seconds   | mean over all samples (benchmarks weighted by samples)    |
// | total_tokens           | the agent's tokens, summed                                |
// | total_cost_usd         | the agent's known costs, summed; NaN when none is known   |
// | total_energy_joules    | NaN: not measured                                          |
// | samples_evaluated      | samples, summed                                           |
// | failure_modes          | errored samples only, "id: error" ("bench/id: error" with |
// |                        | several benchmarks), at most max_failure_modes and a count |
// | metrics                | accuracy.<name>, mean_latency_seconds.<name>,             |
// |                        | errors.<name>; grader_tokens and grader_cost_usd when a   |
// |                        | grader (a judge) spent any                                |
//
// Reference: OpenJarvis TrialRunner and MultiBenchTrialRunner
// (reference/openjarvis-learning.md §2.10). Kept: weighted accuracy
// Σacc·w/Σw, latency weighted by samples, tokens and cost summed, failure
// modes only when samples errored, max_samples 200 and weight 1 as
// BenchmarkSpec. Changed: the runner evaluates the user's agent in process
// instead of mapping a recipe to an external eval run (no backends, no output
// files); an unknown cost is NaN, not 0 (types.hpp says why), and a grader's
// (judge's) spending is kept apart in metrics, since it is the measuring, not
// the configuration under test; failure modes name each errored sample
// instead of only counting them; weights are checked (the reference divided
// by `Σw or 1`, so all-zero weights gave accuracy 0 silently); a trial in
// which every sample errored is failed rather than measured — it would
// otherwise sit on the Pareto frontier as the fastest and cheapest of all.
#ifndef LEASH_LEARN_OPTIMIZE_TRIAL_RUNNER_HPP
#define LEASH_LEARN_OPTIMIZE_TRIAL_RUNNER_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/optimize/types.hpp>

#if defined(LEASH_HAS_TOMLPLUSPLUS)
#include <leash/learn/agent_config.hpp>
#endif

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace leash::learn::optimize {

/// One benchmark a trial runs: its samples, how many of them, and how much
/// its accuracy counts (BenchmarkSpec with the samples attached).
struct TrialBenchmark {
  std::string name;                 ///< not empty, unique in a runner; names the metrics
  std::vector<EvalSample> samples;  ///< not empty
  std::size_t max_samples = 200;    ///< the first this many are evaluated; at least 1
  double weight = 1.0;              ///< finite, at least 0; the weights' sum above 0
};

/// A TrialBenchmark from a BenchmarkSpec (as load_optimize_config reads it)
/// and the samples of the benchmark it names.
TrialBenchmark trial_benchmark(BenchmarkSpec const& spec, std::vector<EvalSample> samples);

/// Errc::invalid_config, naming the benchmark and what is wrong, unless
/// `benchmarks` is a list a DatasetTrialRunner can run: not empty, each named
/// (names unique), with samples, max_samples ≥ 1, a finite weight ≥ 0, and
/// the weights summing to more than 0.
result<void> check_trial_benchmarks(std::span<TrialBenchmark const> benchmarks);

#if defined(LEASH_HAS_TOMLPLUSPLUS)

/// `base` with the well-known keys of default_search_space() in `params`
/// applied:
///
/// | param                                       | AgentConfig     | a value must be          |
/// |---------------------------------------------|-----------------|--------------------------|
/// | agent.max_turns                             | max_turns       | a whole number ≥ 1       |
/// | agent.system_prompt, intelligence.system_prompt | system_prompt | a string               |
/// | intelligence.temperature                    | temperature     | a finite number ≥ 0      |
/// | tools.tool_set                              | tools           | a non-empty string array |
///
/// agent.system_prompt wins when both prompts are set (it is the agent's
/// own). Other keys are left to the caller (intelligence.model, say, picks a
/// transport). An empty tool set is refused, because an AgentConfig with no
/// tools means every tool. Errc::invalid_config naming the key, the type
/// expected and the value found.
result<AgentConfig> agent_config_from_params(json::object const& params, AgentConfig base);

#endif

namespace detail {

template <class T>
struct factory_product {
  using type = T;
  static constexpr bool checked = false;
};
template <class T>
  requires std::same_as<T, result<typename T::value_type>>
struct factory_product<T> {
  using type = typename T::value_type;
  static constexpr bool checked = true;
};

template <class F>
concept makes_from_trial = std::invocable<F&, TrialConfig const&>;

template <class F>
using factory_agent_t = typename factory_product<std::remove_cvref_t<std::invoke_result_t<F&, TrialConfig const&>>>::type;

}  // namespace detail

/// TrialAgentFactory: `f(config)` with a TrialConfig const& returns an
/// EvalAgent, or result<EvalAgent> (an error fails the trial).
template <class F>
concept TrialAgentFactory = detail::makes_from_trial<F> && EvalAgent<detail::factory_agent_t<F>>;

template <class F>
consteval bool check_trial_agent_factory() {
  if constexpr (!detail::makes_from_trial<F>)
    static_assert(detail::makes_from_trial<F>,
                  "leash::learn::optimize::TrialAgentFactory: make it callable with "
                  "`leash::learn::optimize::TrialConfig const&`");
  else
    static_assert(EvalAgent<detail::factory_agent_t<F>>,
                  "leash::learn::optimize::TrialAgentFactory: it must return an EvalAgent — callable as "
                  "`boost::asio::awaitable<leash::result<leash::learn::Answer>> (leash::learn::EvalSample const&)`, "
                  "e.g. leash::learn::loop_agent(...) — or a leash::result of one");
  return true;
}

/// How a DatasetTrialRunner evaluates.
struct DatasetTrialRunnerOptions {
  /// Samples of one benchmark in flight at once (EvaluatorOptions::max_concurrent); 0: all.
  std::size_t max_concurrent_samples = 8;
  /// Errored samples listed in TrialResult::failure_modes; more are counted in one last entry.
  std::size_t max_failure_modes = 20;
  /// An error message longer than this (bytes) is cut in failure_modes.
  std::size_t max_error_length = 200;
  /// A trial in which every sample errored is failed (the first error says
  /// why), not measured as accuracy 0 at no cost.
  bool fail_when_every_sample_errs = true;
};

/// A TrialRunner that evaluates the factory's agent on `benchmarks` (see the
/// file comment). run_trial may be called for several trials at once (one
/// agent each); the grader object is shared by all of them.
template <class AgentFactory, class GraderT = ReferenceGrader>
class DatasetTrialRunner {
  static_assert(check_trial_agent_factory<AgentFactory>());
  static_assert(check_grader<GraderT>());

 public:
  /// The benchmarks are not checked here: see validate() and
  /// make_dataset_trial_runner().
  DatasetTrialRunner(std::vector<TrialBenchmark> benchmarks, AgentFactory factory, GraderT grader = {},
                     DatasetTrialRunnerOptions options = {});

  /// Evaluates the agent for `config`. Errc::invalid_config when the
  /// benchmarks cannot be run (validate()); a factory that fails or throws,
  /// or every sample erring, is a TrialResult with `failed` set.
  boost::asio::awaitable<result<TrialResult>> run_trial(TrialConfig const& config);

  /// check_trial_benchmarks(benchmarks()).
  result<void> validate() const { return check_trial_benchmarks(benchmarks_); }

  std::vector<TrialBenchmark> const& benchmarks() const noexcept { return benchmarks_; }
  AgentFactory& factory() noexcept { return factory_; }
  GraderT& grader() noexcept { return grader_; }
  DatasetTrialRunnerOptions const& options() const noexcept { return options_; }

 private:
  std::vector<TrialBenchmark> benchmarks_;
  AgentFactory factory_;
  GraderT grader_;
  DatasetTrialRunnerOptions options_;
};

/// A DatasetTrialRunner whose benchmarks are checked first
/// (check_trial_benchmarks: Errc::invalid_config).
template <class AgentFactory, class GraderT = ReferenceGrader>
result<DatasetTrialRunner<AgentFactory, GraderT>> make_dataset_trial_runner(std::vector<TrialBenchmark> benchmarks,
                                                                            AgentFactory factory, GraderT grader = {},
                                                                            DatasetTrialRunnerOptions options = {});

}  // namespace leash::learn::optimize

#include <leash/learn/optimize/impl/trial_runner.hpp>

#endif
