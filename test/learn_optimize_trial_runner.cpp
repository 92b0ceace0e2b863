// Tests of leash/learn/optimize/trial_runner.hpp: DatasetTrialRunner over
// scripted agents and a real Loop, on its own and under OptimizationEngine,
// and agent_config_from_params.
#include <leash/learn/optimize/trial_runner.hpp>
#include <boost/test/unit_test.hpp>

#include <leash/learn/apply_config.hpp>
#include <leash/learn/optimize/engine.hpp>
#include <leash/leash.hpp>
#include <leash/llm/scripted.hpp>
#include <leash/sync_wait.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace test_learn_optimize_trial_runner {

namespace asio = boost::asio;
namespace json = leash::json;
namespace learn = leash::learn;
namespace opt = leash::learn::optimize;
namespace llm = leash::llm;
using leash::Errc;
using learn::Answer;
using learn::EvalSample;

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

/// A sample the MetaAgent answers from its metadata.
EvalSample sample(std::string id, json::object metadata = {}) {
  EvalSample s;
  s.id = std::move(id);
  s.query = "question " + s.id;
  s.expected = "answer " + s.id;
  s.metadata = std::move(metadata);
  return s;
}

EvalSample wrong(std::string id) { return sample(std::move(id), {{"answer", "nope"}}); }
EvalSample erring(std::string id, std::string error) { return sample(std::move(id), {{"error", std::move(error)}}); }

opt::TrialBenchmark bench(std::string name, std::vector<EvalSample> samples, double weight = 1.0) {
  opt::TrialBenchmark b;
  b.name = std::move(name);
  b.samples = std::move(samples);
  b.weight = weight;
  return b;
}

struct Log {
  int factory_calls = 0;
  std::vector<std::string> asked;      ///< sample ids, in the order asked
  std::vector<json::object> configs;   ///< the params each agent was made for
};

/// An EvalAgent answering from each sample's metadata: "answer" (default:
/// the expected text), "error" (the call fails with it), "tokens", "cost",
/// "delay_ms". A trial whose params hold "all_wrong" answers every sample
/// wrongly.
struct MetaAgent {
  std::shared_ptr<Log> log;
  bool all_wrong = false;

  asio::awaitable<leash::result<Answer>> operator()(EvalSample const& s) {
    log->asked.push_back(s.id);
    if (auto const* d = s.metadata.if_contains("delay_ms")) {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(d->to_number<int>()));
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (auto const* e = s.metadata.if_contains("error"))
      co_return leash::Error(Errc::tool_failed, std::string(e->as_string()));
    Answer a;
    a.text = s.expected;
    if (auto const* t = s.metadata.if_contains("answer")) a.text = std::string(t->as_string());
    if (all_wrong) a.text = "nope";
    a.tokens = 10;
    if (auto const* t = s.metadata.if_contains("tokens")) a.tokens = t->to_number<std::uint64_t>();
    if (auto const* c = s.metadata.if_contains("cost")) a.cost_usd = c->to_number<double>();
    co_return a;
  }
};

struct MetaFactory {
  std::shared_ptr<Log> log;
  MetaAgent operator()(opt::TrialConfig const& config) const {
    ++log->factory_calls;
    log->configs.push_back(config.params);
    return MetaAgent{log, config.params.contains("all_wrong")};
  }
};

static_assert(opt::TrialAgentFactory<MetaFactory>);
static_assert(opt::TrialRunner<opt::DatasetTrialRunner<MetaFactory>>);
static_assert(opt::TrialRunner<opt::DatasetTrialRunner<MetaFactory, learn::ExactGrader>>);

/// The same agent, behind result<>: an "unbuildable" param is an error.
struct CheckedFactory {
  std::shared_ptr<Log> log;
  leash::result<MetaAgent> operator()(opt::TrialConfig const& config) const {
    ++log->factory_calls;
    if (config.params.contains("unbuildable"))
      return leash::Error(Errc::invalid_config, "no such model: " + json::serialize(config.params.at("unbuildable")));
    if (config.params.contains("throw")) throw std::runtime_error("factory exploded");
    return MetaAgent{log, false};
  }
};
static_assert(opt::TrialAgentFactory<CheckedFactory>);

struct NotAFactory {
  int operator()(opt::TrialConfig const&) const { return 0; }
};
static_assert(!opt::TrialAgentFactory<NotAFactory>);
static_assert(!opt::TrialAgentFactory<int>);

/// A grader that spends tokens and money on every answer (a judge stand-in).
struct PricedGrader {
  asio::awaitable<leash::result<learn::Grade>> grade(EvalSample const& s, std::string_view answer) const {
    learn::Grade g;
    g.score = answer == s.expected ? 1.0 : 0.0;
    g.tokens = 100;
    g.cost_usd = 0.5;
    co_return g;
  }
};

opt::TrialConfig config(json::object params = {}, std::string id = "0123456789ab") {
  opt::TrialConfig c;
  c.trial_id = std::move(id);
  c.params = std::move(params);
  return c;
}

template <class Runner>
opt::TrialResult run(Runner& runner, opt::TrialConfig const& c) {
  auto r = leash::sync_wait(runner.run_trial(c));
  BOOST_TEST_REQUIRE(r.has_value(), (r ? std::string() : r.error().what()));
  return std::move(r).value();
}

double metric(opt::TrialResult const& r, std::string const& key) { return opt::objective_value(r, key); }

}  // namespace test_learn_optimize_trial_runner

using namespace test_learn_optimize_trial_runner;

BOOST_AUTO_TEST_SUITE(learn_optimize_trial_runner)

BOOST_AUTO_TEST_CASE(defaults_mirror_benchmark_spec) {
  opt::TrialBenchmark b;
  opt::BenchmarkSpec spec;
  BOOST_TEST(b.max_samples == spec.max_samples);
  BOOST_TEST(b.weight == spec.weight);
  opt::DatasetTrialRunnerOptions o;
  BOOST_TEST(o.max_concurrent_samples == 8u);
  BOOST_TEST(o.fail_when_every_sample_errs);

  spec.benchmark = "math";
  spec.max_samples = 3;
  spec.weight = 0.4;
  auto t = opt::trial_benchmark(spec, {sample("a"), sample("b")});
  BOOST_TEST(t.name == "math");
  BOOST_TEST(t.max_samples == 3u);
  BOOST_TEST(t.weight == 0.4);
  BOOST_TEST(t.samples.size() == 2u);
}

BOOST_AUTO_TEST_CASE(one_benchmark_measures_the_trial) {
  auto log = std::make_shared<Log>();
  opt::DatasetTrialRunner runner({bench("qa", {sample("q1", {{"tokens", 7}}), wrong("q2"), sample("q3")})},
                                 MetaFactory{log});
  auto r = run(runner, config({{"agent.max_turns", 4}}));
  BOOST_TEST(!r.failed);
  BOOST_TEST(r.trial_id == "0123456789ab");
  BOOST_TEST(r.config.params.at("agent.max_turns") == json::value(4));
  BOOST_TEST(r.accuracy == 2.0 / 3.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.samples_evaluated == 3u);
  BOOST_TEST(r.total_tokens == 27u);
  BOOST_TEST(std::isnan(r.total_cost_usd));        // no sample had a price: not measured, not 0
  BOOST_TEST(std::isnan(r.total_energy_joules));
  BOOST_TEST(r.mean_latency_seconds >= 0.0);
  BOOST_TEST(r.failure_modes.empty());             // a wrong answer is not a failure mode
  BOOST_TEST(metric(r, "accuracy.qa") == r.accuracy);
  BOOST_TEST(metric(r, "errors.qa") == 0.0);
  BOOST_TEST(metric(r, "mean_latency_seconds.qa") == r.mean_latency_seconds);
  BOOST_TEST(!r.metrics.contains("grader_tokens"));
  // The factory saw the trial's params, once.
  BOOST_TEST(log->factory_calls == 1);
  BOOST_TEST(log->configs.at(0).at("agent.max_turns") == json::value(4));
}

BOOST_AUTO_TEST_CASE(weighted_accuracy_over_three_benchmarks) {
  // Accuracies 1, 0.5 and 0 weighted 0.4, 0.4, 0.2: 0.4 + 0.2 + 0 = 0.6.
  auto make = [](double wa, double wb, double wc) {
    return std::vector<opt::TrialBenchmark>{bench("a", {sample("a1"), sample("a2")}, wa),
                                            bench("b", {sample("b1"), wrong("b2")}, wb),
                                            bench("c", {wrong("c1")}, wc)};
  };
  auto log = std::make_shared<Log>();
  opt::DatasetTrialRunner runner(make(0.4, 0.4, 0.2), MetaFactory{log});
  auto r = run(runner, config());
  BOOST_TEST(r.accuracy == 0.6, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(metric(r, "accuracy.a") == 1.0);
  BOOST_TEST(metric(r, "accuracy.b") == 0.5);
  BOOST_TEST(metric(r, "accuracy.c") == 0.0);
  BOOST_TEST(r.samples_evaluated == 5u);
  BOOST_TEST(log->factory_calls == 1);  // one agent answers every benchmark of the trial
  BOOST_TEST(log->asked == (std::vector<std::string>{"a1", "a2", "b1", "b2", "c1"}));

  // Weights are normalised: 2, 2, 1 is the same mix.
  opt::DatasetTrialRunner scaled(make(2, 2, 1), MetaFactory{std::make_shared<Log>()});
  BOOST_TEST(run(scaled, config()).accuracy == 0.6, boost::test_tools::tolerance(1e-12));
  // A benchmark of weight 0 is run and reported, but does not count.
  opt::DatasetTrialRunner ignored(make(1, 0, 0), MetaFactory{std::make_shared<Log>()});
  auto i = run(ignored, config());
  BOOST_TEST(i.accuracy == 1.0);
  BOOST_TEST(i.samples_evaluated == 5u);
  BOOST_TEST(metric(i, "accuracy.b") == 0.5);
}

BOOST_AUTO_TEST_CASE(latency_is_weighted_by_samples_and_costs_are_summed) {
  // One slow sample against three quick ones: the mean over samples, not the
  // mean of the two benchmarks' means.
  auto log = std::make_shared<Log>();
  opt::DatasetTrialRunner runner(
      {bench("slow", {sample("s1", {{"delay_ms", 30}, {"cost", 0.25}, {"tokens", 100}})}),
       bench("quick", {sample("f1", {{"cost", 0.5}}), sample("f2"), sample("f3", {{"tokens", 1}})})},
      MetaFactory{log});
  auto r = run(runner, config());
  double const slow = metric(r, "mean_latency_seconds.slow"), quick = metric(r, "mean_latency_seconds.quick");
  BOOST_TEST(r.mean_latency_seconds == (slow * 1 + quick * 3) / 4, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(r.samples_evaluated == 4u);
  BOOST_TEST(r.total_cost_usd == 0.75);  // the known costs; f2 and f3 had none
  BOOST_TEST(r.total_tokens == 100u + 10u + 10u + 1u);
}

BOOST_AUTO_TEST_CASE(a_graders_spending_is_kept_apart) {
  auto log = std::make_shared<Log>();
  opt::DatasetTrialRunner runner({bench("qa", {sample("q1"), wrong("q2")})}, MetaFactory{log}, PricedGrader{});
  auto r = run(runner, config());
  BOOST_TEST(r.accuracy == 0.5);
  BOOST_TEST(r.total_tokens == 20u);          // the agent's
  BOOST_TEST(std::isnan(r.total_cost_usd));   // the agent had no price
  BOOST_TEST(metric(r, "grader_tokens") == 200.0);
  BOOST_TEST(metric(r, "grader_cost_usd") == 1.0);
}

BOOST_AUTO_TEST_CASE(failure_modes_list_errored_samples_only_and_are_capped) {
  auto log = std::make_shared<Log>();
  opt::DatasetTrialRunnerOptions o;
  o.max_failure_modes = 2;
  o.max_error_length = 12;
  opt::DatasetTrialRunner runner({bench("qa", {sample("q1"), erring("q7", "timeout"), wrong("q8"),
                                               erring("q9", "rate limited by the provider"), erring("q10", "x"),
                                               erring("q11", "y")})},
                                 MetaFactory{log}, learn::ReferenceGrader{}, o);
  auto r = run(runner, config());
  BOOST_TEST(!r.failed);
  BOOST_TEST(r.accuracy == 1.0 / 6.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(metric(r, "errors.qa") == 4.0);
  BOOST_TEST_REQUIRE(r.failure_modes.size() == 3u);
  BOOST_TEST(r.failure_modes[0] == "q7: timeout");
  BOOST_TEST(r.failure_modes[1] == "q9: rate limited…");  // cut at 12 bytes
  BOOST_TEST(r.failure_modes[2] == "and 2 more errored samples");
}

BOOST_AUTO_TEST_CASE(failure_modes_name_the_benchmark_when_there_are_several) {
  auto log = std::make_shared<Log>();
  opt::DatasetTrialRunner runner({bench("math", {erring("q1", "boom")}), bench("facts", {sample("q1")})},
                                 MetaFactory{log});
  auto r = run(runner, config());
  BOOST_TEST(!r.failed);
  BOOST_TEST(r.failure_modes == (std::vector<std::string>{"math/q1: boom"}));
  BOOST_TEST(metric(r, "errors.math") == 1.0);
  BOOST_TEST(metric(r, "errors.facts") == 0.0);
}

BOOST_AUTO_TEST_CASE(a_trial_where_every_sample_errs_is_failed) {
  std::vector<opt::TrialBenchmark> benchmarks{bench("qa", {erring("q1", "no route to host"), erring("q2", "again")})};
  opt::DatasetTrialRunner runner(benchmarks, MetaFactory{std::make_shared<Log>()});
  auto r = run(runner, config());
  BOOST_TEST(r.failed);
  BOOST_TEST(contains(r.error, "every sample errored"));
  BOOST_TEST(contains(r.error, "q1: no route to host"));
  BOOST_TEST(r.failure_modes.size() == 2u);

  opt::DatasetTrialRunnerOptions o;
  o.fail_when_every_sample_errs = false;
  opt::DatasetTrialRunner measured(benchmarks, MetaFactory{std::make_shared<Log>()}, learn::ReferenceGrader{}, o);
  auto m = run(measured, config());
  BOOST_TEST(!m.failed);
  BOOST_TEST(m.accuracy == 0.0);
}

BOOST_AUTO_TEST_CASE(only_the_first_max_samples_are_evaluated) {
  auto log = std::make_shared<Log>();
  auto b = bench("qa", {sample("q1"), sample("q2"), wrong("q3"), wrong("q4")});
  b.max_samples = 2;
  opt::DatasetTrialRunner runner({b}, MetaFactory{log});
  auto r = run(runner, config());
  BOOST_TEST(r.samples_evaluated == 2u);
  BOOST_TEST(r.accuracy == 1.0);
  BOOST_TEST(log->asked == (std::vector<std::string>{"q1", "q2"}));
}

BOOST_AUTO_TEST_CASE(a_factory_error_or_exception_fails_the_trial) {
  auto log = std::make_shared<Log>();
  opt::DatasetTrialRunner runner({bench("qa", {sample("q1")})}, CheckedFactory{log});
  auto bad = run(runner, config({{"unbuildable", "gpt-9"}}));
  BOOST_TEST(bad.failed);
  BOOST_TEST(contains(bad.error, "the agent factory failed"));
  BOOST_TEST(contains(bad.error, "no such model: \"gpt-9\""));
  BOOST_TEST(bad.trial_id == "0123456789ab");
  BOOST_TEST(log->asked.empty());  // nothing was run

  auto thrown = run(runner, config({{"throw", true}}));
  BOOST_TEST(thrown.failed);
  BOOST_TEST(contains(thrown.error, "factory exploded"));

  auto good = run(runner, config());
  BOOST_TEST(!good.failed);
  BOOST_TEST(good.accuracy == 1.0);
}

BOOST_AUTO_TEST_CASE(benchmarks_are_checked) {
  auto invalid = [](std::vector<opt::TrialBenchmark> bs, std::string const& says) {
    auto checked = opt::check_trial_benchmarks(bs);
    BOOST_TEST_REQUIRE(checked.has_error(), says);
    BOOST_TEST((checked.error() == Errc::invalid_config));
    BOOST_TEST(contains(checked.error().what(), says), checked.error().what());
    auto made = opt::make_dataset_trial_runner(bs, MetaFactory{std::make_shared<Log>()});
    BOOST_TEST(made.has_error());
    // A runner built anyway refuses to run: the engine records a failed trial.
    opt::DatasetTrialRunner runner(bs, MetaFactory{std::make_shared<Log>()});
    BOOST_TEST(runner.validate().has_error());
    auto r = leash::sync_wait(runner.run_trial(config()));
    BOOST_TEST_REQUIRE(r.has_error());
    BOOST_TEST((r.error() == Errc::invalid_config));
  };
  invalid({}, "no benchmarks");
  invalid({bench("", {sample("q")})}, "benchmark 1 has no name");
  invalid({bench("a", {sample("q")}), bench("a", {sample("q")})}, "'a' is listed twice");
  invalid({bench("a", {})}, "'a' has no samples");
  auto none = bench("a", {sample("q")});
  none.max_samples = 0;
  invalid({none}, "max_samples must be at least 1");
  invalid({bench("a", {sample("q")}, -0.5)}, "weight must be a finite number");
  invalid({bench("a", {sample("q")}, std::nan(""))}, "weight must be a finite number");
  invalid({bench("a", {sample("q")}, INFINITY)}, "weight must be a finite number");
  invalid({bench("a", {sample("q")}, 0.0), bench("b", {sample("q")}, 0.0)}, "add up to 0");

  auto fine = opt::make_dataset_trial_runner({bench("a", {sample("q")}, 0.0), bench("b", {sample("q")}, 0.2)},
                                             MetaFactory{std::make_shared<Log>()});
  BOOST_TEST_REQUIRE(fine.has_value());
  BOOST_TEST(fine.value().validate().has_value());
}

BOOST_AUTO_TEST_CASE(agent_config_from_params_applies_the_well_known_keys) {
  learn::AgentConfig base;
  base.name = "calc";
  base.max_turns = 6;
  base.temperature = 0.3;
  base.system_prompt = "base prompt";
  base.tools = {"calculator"};

  auto same = opt::agent_config_from_params({{"intelligence.model", "x"}, {"other", 1}}, base);
  BOOST_TEST_REQUIRE(same.has_value());
  BOOST_TEST((same.value() == base));  // unknown keys are the caller's

  json::object params{{"agent.max_turns", 8.0},
                      {"intelligence.temperature", 0},
                      {"intelligence.system_prompt", "model prompt"},
                      {"tools.tool_set", json::array{"calculator", "lookup"}}};
  auto c = opt::agent_config_from_params(params, base);
  BOOST_TEST_REQUIRE(c.has_value(), (c ? std::string() : c.error().what()));
  BOOST_TEST(c.value().name == "calc");
  BOOST_TEST(c.value().max_turns == 8);
  BOOST_TEST(c.value().temperature == 0.0);
  BOOST_TEST(c.value().system_prompt == "model prompt");
  BOOST_TEST(c.value().tools == (std::vector<std::string>{"calculator", "lookup"}));

  params["agent.system_prompt"] = "agent prompt";  // the agent's own wins
  BOOST_TEST(opt::agent_config_from_params(params, base).value().system_prompt == "agent prompt");
}

BOOST_AUTO_TEST_CASE(agent_config_from_params_refuses_wrong_types) {
  learn::AgentConfig base;
  base.name = "calc";
  auto refused = [&](json::object params, std::string const& says) {
    auto c = opt::agent_config_from_params(params, base);
    BOOST_TEST_REQUIRE(c.has_error(), says);
    BOOST_TEST((c.error() == Errc::invalid_config));
    BOOST_TEST(contains(c.error().what(), says), c.error().what());
  };
  refused({{"agent.max_turns", "8"}}, "agent.max_turns must be a whole number of at least 1, not \"8\"");
  refused({{"agent.max_turns", 2.5}}, "agent.max_turns must be a whole number");
  refused({{"agent.max_turns", 0}}, "agent.max_turns must be a whole number of at least 1, not 0");
  refused({{"agent.max_turns", 1e300}}, "agent.max_turns");
  refused({{"intelligence.temperature", "hot"}}, "intelligence.temperature must be a number");
  refused({{"intelligence.temperature", -0.1}}, "intelligence.temperature must be a finite number of at least 0");
  refused({{"agent.system_prompt", 3}}, "agent.system_prompt must be a string");
  refused({{"intelligence.system_prompt", nullptr}}, "intelligence.system_prompt must be a string");
  refused({{"tools.tool_set", "calculator"}}, "tools.tool_set must be an array of tool names");
  refused({{"tools.tool_set", json::array{"calculator", 1}}}, "tools.tool_set must be an array of tool names");
  refused({{"tools.tool_set", json::array{}}}, "enables every tool");
}

// The user's own Loop type, configured by the trial: the factory maps the
// params onto LoopOptions with agent_config_from_params + apply_agent_config,
// and loop_agent runs a fresh loop per sample.
BOOST_AUTO_TEST_CASE(a_trial_runs_the_users_loop_with_the_trials_config) {
  using Tools = leash::ToolSet<>;
  using Agent = leash::Loop<leash::ScriptedPlanner, Tools>;
  using MakeLoop = std::function<std::unique_ptr<Agent>(EvalSample const&)>;
  auto factory = [](opt::TrialConfig const& trial) -> leash::result<learn::LoopAgent<MakeLoop>> {
    learn::AgentConfig base;
    base.name = "qa";
    auto cfg = opt::agent_config_from_params(trial.params, base);
    if (!cfg) return cfg.error();
    leash::LoopOptions options;
    options.quiet = true;
    if (auto ok = learn::apply_agent_config<Tools>(cfg.value(), options); !ok) return ok.error();
    // The scripted model answers well only under the "careful" prompt.
    bool const careful = options.system_prompt == "careful";
    MakeLoop make = [options, careful](EvalSample const& s) {
      std::string text = careful ? "Answer: " + s.expected : "Answer: no idea";
      return std::make_unique<Agent>(s.query, leash::ScriptedPlanner{leash::Plan::text_only(text)}, Tools{},
                                     leash::DefaultPolicies{}, leash::ExitList<>{}, leash::AnyStore{}, options);
    };
    return learn::loop_agent(std::move(make));
  };
  opt::DatasetTrialRunner runner({bench("qa", {sample("q1"), sample("q2")})}, factory);
  auto good = run(runner, config({{"agent.system_prompt", "careful"}, {"agent.max_turns", 2}}));
  BOOST_TEST(!good.failed);
  BOOST_TEST(good.accuracy == 1.0);
  BOOST_TEST(good.total_tokens > 0u);
  auto poor = run(runner, config({{"agent.system_prompt", "sloppy"}}));
  BOOST_TEST(!poor.failed);
  BOOST_TEST(poor.accuracy == 0.0);
  auto broken = run(runner, config({{"agent.max_turns", "many"}}));
  BOOST_TEST(broken.failed);
  BOOST_TEST(contains(broken.error, "agent.max_turns"));
}

// Under the engine, with trials in flight at once: each trial's agent is
// made for its own config, and the numbers come out right.
BOOST_AUTO_TEST_CASE(the_engine_runs_dataset_trials_concurrently) {
  // One reply serves every proposal and every analysis.
  auto reply = [](std::string params) {
    llm::Completion c;
    c.text = R"({"params": )" + params + R"(, "reasoning": "r", "summary_text": "s"})";
    c.usage = {1, 1};
    return leash::result<llm::Completion>(c);
  };
  auto transport = std::make_shared<llm::ScriptedTransport>(
      std::vector<leash::result<llm::Completion>>{reply(R"({"agent.max_turns": 3})")});
  opt::SearchSpace space;
  auto& turns = space.dimensions.emplace_back();
  turns.name = "agent.max_turns";
  turns.primitive = "agent";
  turns.type = opt::DimensionType::integer;
  turns.low = 1;
  turns.high = 9;
  opt::LlmOptimizerOptions oo;
  oo.search_space = space;
  oo.seed = 1;

  auto log = std::make_shared<Log>();
  std::vector<opt::TrialBenchmark> benchmarks{
      bench("a", {sample("a1", {{"delay_ms", 5}}), wrong("a2")}, 0.4),
      bench("b", {sample("b1", {{"delay_ms", 5}}), sample("b2")}, 0.4),
      bench("c", {erring("c1", "flaky"), sample("c2")}, 0.2)};
  auto runner = opt::make_dataset_trial_runner(std::move(benchmarks), MetaFactory{log});
  BOOST_TEST_REQUIRE(runner.has_value());
  opt::EngineOptions eo;
  eo.max_trials = 4;
  eo.max_concurrent_trials = 2;
  eo.seed = 9;
  opt::OptimizationEngine engine(opt::LlmOptimizer(llm::AnyTransport(transport), std::move(oo)),
                                 std::move(runner).value(), eo);
  auto r = leash::sync_wait(engine.run());
  BOOST_TEST_REQUIRE(r.has_value());
  auto const& run = r.value();
  BOOST_TEST(run.status == "completed");
  BOOST_TEST_REQUIRE(run.trials.size() == 4u);
  BOOST_TEST(log->factory_calls == 4);
  for (auto const& t : run.trials) {
    BOOST_TEST(!t.failed);
    // 0.4 · 0.5 + 0.4 · 1 + 0.2 · 0.5
    BOOST_TEST(t.accuracy == 0.7, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(t.samples_evaluated == 6u);
    BOOST_TEST(t.failure_modes == (std::vector<std::string>{"c/c1: flaky"}));
    BOOST_TEST(t.config.params.at("agent.max_turns") == json::value(3));
  }
}

BOOST_AUTO_TEST_SUITE_END()
