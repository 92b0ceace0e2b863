// Tests of leash/learn/optimize/engine.hpp: the optimisation loop over a
// scripted model and a scripted trial runner.
#include <leash/learn/optimize/engine.hpp>
#include <boost/test/unit_test.hpp>

#include <leash/llm/scripted.hpp>
#include <leash/sync_wait.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace test_learn_optimize_engine {

namespace asio = boost::asio;
namespace json = leash::json;
namespace opt = leash::learn::optimize;
namespace llm = leash::llm;
using leash::Errc;
using opt::DimensionType;

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

opt::SearchSpace space() {
  opt::SearchSpace s;
  auto& model = s.dimensions.emplace_back();
  model.name = "intelligence.model";
  model.primitive = "intelligence";
  model.values = {json::value("small"), json::value("large")};
  auto& temperature = s.dimensions.emplace_back();
  temperature.name = "intelligence.temperature";
  temperature.primitive = "intelligence";
  temperature.type = DimensionType::continuous;
  temperature.low = 0.0;
  temperature.high = 1.0;
  auto& turns = s.dimensions.emplace_back();
  turns.name = "agent.max_turns";
  turns.primitive = "agent";
  turns.type = DimensionType::integer;
  turns.low = 1;
  turns.high = 30;
  return s;
}

/// One reply that serves as a proposal and as an analysis.
std::string universal(std::string target = "") {
  return R"({"params": {"intelligence.temperature": 0.5}, "reasoning": "try it", "summary_text": "ok", "target_primitive": ")" +
         target + R"("})";
}

/// What the scripted runner does on its n-th call (from 0; the last repeats).
struct Outcome {
  double accuracy = 0.5;
  double latency = 1.0;
  double cost = 0.0;
  enum class Kind { ok, error, thrown, marked_failed } kind = Kind::ok;
};

Outcome ok(double accuracy, double latency = 1.0, double cost = 0.0) {
  Outcome o;
  o.accuracy = accuracy;
  o.latency = latency;
  o.cost = cost;
  return o;
}

Outcome failing(Outcome::Kind kind) {
  Outcome o;
  o.kind = kind;
  return o;
}

struct RunnerState {
  std::vector<Outcome> outcomes;
  std::vector<opt::TrialConfig> seen;
};

/// A TrialRunner replaying `outcomes`.
struct ScriptedRunner {
  std::shared_ptr<RunnerState> state;

  asio::awaitable<leash::result<opt::TrialResult>> run_trial(opt::TrialConfig const& config) {
    auto const n = state->seen.size();
    state->seen.push_back(config);
    Outcome const o = state->outcomes.at(std::min(n, state->outcomes.size() - 1));
    if (o.kind == Outcome::Kind::error) co_return leash::Error(Errc::tool_failed, "benchmark server down");
    if (o.kind == Outcome::Kind::thrown) throw std::runtime_error("segfault in the harness");
    opt::TrialResult r;  // trial_id and config left for the engine to fill
    r.accuracy = o.accuracy;
    r.mean_latency_seconds = o.latency;
    r.total_cost_usd = o.cost;
    if (o.kind == Outcome::Kind::marked_failed) r.failed = true;
    co_return r;
  }
};
static_assert(opt::TrialRunner<ScriptedRunner>);

struct NotARunner {
  int run_trial(opt::TrialConfig const&) { return 0; }
};
static_assert(!opt::TrialRunner<NotARunner>);

struct Harness {
  std::shared_ptr<llm::ScriptedTransport> transport;
  std::shared_ptr<RunnerState> runner = std::make_shared<RunnerState>();
  opt::EngineOptions options;

  explicit Harness(std::vector<Outcome> outcomes, std::vector<leash::result<llm::Completion>> replies = {}) {
    if (replies.empty()) replies.push_back(reply(universal()));
    transport = std::make_shared<llm::ScriptedTransport>(std::move(replies));
    transport->record_requests();
    runner->outcomes = std::move(outcomes);
    options.seed = 42;
  }

  static leash::result<llm::Completion> reply(std::string text) {
    llm::Completion c;
    c.text = std::move(text);
    c.usage = {10, 2};
    return c;
  }

  opt::OptimizationRun run() {
    opt::LlmOptimizerOptions o;
    o.search_space = space();
    o.seed = 3;
    opt::OptimizationEngine<ScriptedRunner> engine(opt::LlmOptimizer(llm::AnyTransport(transport), std::move(o)),
                                                   ScriptedRunner{runner}, options);
    auto r = leash::sync_wait(engine.run());
    BOOST_TEST_REQUIRE(r.has_value(), (r ? std::string() : r.error().what()));
    return std::move(r).value();
  }

  /// The user messages of the proposal requests (analysis requests left out).
  std::vector<std::string> proposal_prompts() const {
    std::vector<std::string> out;
    for (auto const& r : transport->requests())
      if (r.temperature && *r.temperature > 0.5) out.push_back(r.messages.at(1).content);
    return out;
  }
};


/// What the delayed runner does on its n-th call (by start order; the last repeats).
struct Timed {
  Outcome outcome;
  int delay_ms = 1;
};

Timed timed(Outcome o, int delay_ms) { return Timed{o, delay_ms}; }

struct DelayedState {
  std::vector<Timed> script;
  std::vector<opt::TrialConfig> started;  ///< in start order
  std::vector<std::string> finished;      ///< trial ids, in the order the runner finished them
  std::size_t in_flight = 0;
  std::size_t most_in_flight = 0;
};

/// A TrialRunner whose trials wait on a timer of their own, so that later
/// trials can finish first; it counts how many are in flight at once.
struct DelayedRunner {
  std::shared_ptr<DelayedState> state;

  asio::awaitable<leash::result<opt::TrialResult>> run_trial(opt::TrialConfig const& config) {
    auto const n = state->started.size();
    state->started.push_back(config);
    state->most_in_flight = std::max(state->most_in_flight, ++state->in_flight);
    Timed const t = state->script.at(std::min(n, state->script.size() - 1));
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(t.delay_ms));
    co_await timer.async_wait(asio::use_awaitable);
    --state->in_flight;
    state->finished.push_back(config.trial_id);
    if (t.outcome.kind == Outcome::Kind::error) co_return leash::Error(Errc::tool_failed, "benchmark server down");
    opt::TrialResult r;
    r.accuracy = t.outcome.accuracy;
    r.mean_latency_seconds = t.outcome.latency;
    r.total_cost_usd = t.outcome.cost;
    co_return r;
  }
};
static_assert(opt::TrialRunner<DelayedRunner>);

struct ConcurrentHarness {
  std::shared_ptr<llm::ScriptedTransport> transport;
  std::shared_ptr<DelayedState> runner = std::make_shared<DelayedState>();
  opt::EngineOptions options;

  explicit ConcurrentHarness(std::vector<Timed> script) {
    transport = std::make_shared<llm::ScriptedTransport>(
        std::vector<leash::result<llm::Completion>>{Harness::reply(universal())});
    transport->record_requests();
    runner->script = std::move(script);
    options.seed = 42;
  }

  opt::OptimizationRun run() {
    opt::LlmOptimizerOptions o;
    o.search_space = space();
    o.seed = 3;
    opt::OptimizationEngine<DelayedRunner> engine(opt::LlmOptimizer(llm::AnyTransport(transport), std::move(o)),
                                                  DelayedRunner{runner}, options);
    asio::io_context io;
    auto r = leash::sync_wait(io, engine.run());
    BOOST_TEST_REQUIRE(r.has_value(), (r ? std::string() : r.error().what()));
    BOOST_TEST(runner->in_flight == 0u);  // nothing left running
    return std::move(r).value();
  }

  /// The user messages of the proposal requests, in the order they were sent.
  std::vector<std::string> proposal_prompts() const {
    std::vector<std::string> out;
    for (auto const& r : transport->requests())
      if (r.temperature && *r.temperature > 0.5) out.push_back(r.messages.at(1).content);
    return out;
  }

  /// The start index of the trial `id` (its number − 1).
  std::size_t start_index(std::string const& id) const {
    for (std::size_t i = 0; i < runner->started.size(); ++i)
      if (runner->started[i].trial_id == id) return i;
    BOOST_FAIL("trial " + id + " was never started");
    return 0;
  }
};

}  // namespace test_learn_optimize_engine

using namespace test_learn_optimize_engine;

BOOST_AUTO_TEST_SUITE(learn_optimize_engine)

BOOST_AUTO_TEST_CASE(defaults) {
  opt::EngineOptions o;
  BOOST_TEST(o.max_trials == 20u);
  BOOST_TEST(o.patience == 5u);
  BOOST_TEST(o.merge_every == 5u);
  BOOST_TEST(o.max_failures_in_a_row == 3u);
  BOOST_TEST((o.early_stop == opt::EngineOptions::EarlyStop::best_score));
}

BOOST_AUTO_TEST_CASE(a_run_records_trials_feedback_ids_and_calls) {
  Harness h({ok(0.5), ok(0.6)});
  h.options.max_trials = 2;
  auto run = h.run();
  BOOST_TEST(run.status == "completed");
  BOOST_TEST(run.reason == "max_trials");
  BOOST_TEST(run.run_id.size() == 16u);
  BOOST_TEST(run.run_id.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST_REQUIRE(run.trials.size() == 2u);
  BOOST_TEST(run.feedback.size() == 2u);
  BOOST_TEST(run.proposal_kinds == (std::vector<std::string>{"initial", "next"}));
  for (std::size_t i = 0; i < 2; ++i) {
    auto const& t = run.trials[i];
    BOOST_TEST(t.trial_id.size() == 12u);
    BOOST_TEST(t.trial_id == h.runner->seen[i].trial_id);
    BOOST_TEST(t.config.params.at("intelligence.temperature") == json::value(0.5));
    BOOST_TEST(t.analysis == "ok");
    BOOST_TEST(run.feedback[i].summary_text == "ok");
  }
  BOOST_TEST(run.trials[0].trial_id != run.trials[1].trial_id);
  // initial, analysis, next, analysis
  BOOST_TEST(run.llm_calls == 4u);
  BOOST_TEST(h.transport->calls() == 4u);
  BOOST_TEST(run.usage.input_tokens == 40u);
  BOOST_TEST_REQUIRE(run.best.has_value());
  BOOST_TEST(*run.best == 1u);
  BOOST_TEST(run.frontier == (std::vector<std::size_t>{1}));
  // The second proposal saw the first trial in its history.
  auto prompts = h.proposal_prompts();
  BOOST_TEST_REQUIRE(prompts.size() == 2u);
  BOOST_TEST(contains(prompts[1], "### Trial 1 (id=" + run.trials[0].trial_id + ") [FRONTIER]"));
}

BOOST_AUTO_TEST_CASE(early_stop_after_patience_keeps_the_first_best) {
  Harness h({ok(0.9), ok(0.5), ok(0.5), ok(0.5)});
  h.options.max_trials = 10;
  h.options.patience = 3;
  auto run = h.run();
  BOOST_TEST(run.trials.size() == 4u);
  BOOST_TEST(run.status == "completed");
  BOOST_TEST(run.reason == "patience");
  BOOST_TEST_REQUIRE(run.best.has_value());
  BOOST_TEST(*run.best == 0u);
}

BOOST_AUTO_TEST_CASE(improving_trials_do_not_stop_early) {
  Harness h({ok(0.1), ok(0.2), ok(0.3), ok(0.4), ok(0.5), ok(0.6)});
  h.options.max_trials = 6;
  h.options.patience = 2;
  auto run = h.run();
  BOOST_TEST(run.trials.size() == 6u);
  BOOST_TEST(run.reason == "max_trials");
  BOOST_TEST_REQUIRE(run.best.has_value());
  BOOST_TEST(*run.best == 5u);
}

BOOST_AUTO_TEST_CASE(progress_is_reported_after_every_trial) {
  Harness h({ok(0.1), ok(0.2), ok(0.3)});
  h.options.max_trials = 3;
  std::vector<std::pair<std::size_t, std::size_t>> seen;
  h.options.progress = [&](std::size_t t, std::size_t max) { seen.emplace_back(t, max); };
  h.run();
  BOOST_TEST_REQUIRE(seen.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(seen[i].first == i + 1);
    BOOST_TEST(seen[i].second == 3u);
  }
}

BOOST_AUTO_TEST_CASE(merge_is_proposed_at_trial_five_with_two_frontier_members) {
  // Accuracy and latency rise together: every trial is a trade-off, all on the frontier.
  Harness h({ok(0.1, 1), ok(0.2, 2), ok(0.3, 3), ok(0.4, 4), ok(0.5, 5), ok(0.6, 6)});
  h.options.max_trials = 6;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 6u);
  BOOST_TEST(run.proposal_kinds[5] == "merge");
  for (std::size_t i = 1; i < 5; ++i) BOOST_TEST(run.proposal_kinds[i] == "next");
  auto prompts = h.proposal_prompts();
  BOOST_TEST_REQUIRE(prompts.size() == 6u);
  auto const& merge = prompts[5];
  BOOST_TEST(contains(merge, "## Candidates"));
  // The first three frontier members, no more.
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(contains(merge, "### Candidate " + std::to_string(i + 1) + " (id=" + run.trials[i].trial_id + ")"));
  BOOST_TEST(!contains(merge, "### Candidate 4"));
}

BOOST_AUTO_TEST_CASE(no_merge_with_a_single_frontier_member) {
  Harness h({ok(0.1), ok(0.2), ok(0.3), ok(0.4), ok(0.5), ok(0.6)});
  h.options.max_trials = 6;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 6u);
  BOOST_TEST(run.proposal_kinds[5] == "next");
}

BOOST_AUTO_TEST_CASE(targeted_after_trial_two_when_the_feedback_names_a_target) {
  Harness h({ok(0.1), ok(0.2), ok(0.3), ok(0.4)}, {Harness::reply(universal("agent"))});
  h.options.max_trials = 4;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 4u);
  BOOST_TEST(run.feedback[0].target_primitive == "agent");
  BOOST_TEST(run.proposal_kinds ==
             (std::vector<std::string>{"initial", "next", "next", "targeted:agent"}));
  auto prompts = h.proposal_prompts();
  BOOST_TEST_REQUIRE(prompts.size() == 4u);
  BOOST_TEST(contains(prompts[3], "## Target Primitive: agent"));
  // The base is trial 3's configuration; the reply's key is not under agent., so the base is kept.
  BOOST_TEST(run.trials[3].config.params == run.trials[2].config.params);
}

BOOST_AUTO_TEST_CASE(a_failing_runner_marks_the_trial_failed_and_the_loop_continues) {
  Harness h({ok(0.5), failing(Outcome::Kind::error), failing(Outcome::Kind::thrown),
             failing(Outcome::Kind::marked_failed), ok(0.7)});
  h.options.max_trials = 5;
  h.options.patience = 2;  // failures do not count towards it
  h.options.max_failures_in_a_row = 4;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 5u);
  BOOST_TEST(run.status == "completed");
  BOOST_TEST(!run.trials[0].failed);
  BOOST_TEST(run.trials[1].failed);
  BOOST_TEST(contains(run.trials[1].error, "benchmark server down"));
  BOOST_TEST(run.trials[2].failed);
  BOOST_TEST(contains(run.trials[2].error, "threw"));
  BOOST_TEST(contains(run.trials[2].error, "segfault in the harness"));
  BOOST_TEST(run.trials[3].failed);
  BOOST_TEST(!run.trials[3].error.empty());
  BOOST_TEST(!run.trials[4].failed);
  BOOST_TEST(run.trials[1].trial_id == h.runner->seen[1].trial_id);
  BOOST_TEST(run.trials[1].config.params == h.runner->seen[1].params);
  // Failed trials are not analysed, not on the frontier, and are followed by a next proposal.
  BOOST_TEST(run.feedback[1].summary_text == "");
  BOOST_TEST(run.proposal_kinds[2] == "next");
  BOOST_TEST(run.frontier == (std::vector<std::size_t>{4}));
  BOOST_TEST_REQUIRE(run.best.has_value());
  BOOST_TEST(*run.best == 4u);
  // 5 proposals + 2 analyses
  BOOST_TEST(run.llm_calls == 7u);
}

BOOST_AUTO_TEST_CASE(too_many_failures_in_a_row_fail_the_run) {
  Harness h({ok(0.5), failing(Outcome::Kind::error)});
  h.options.max_trials = 10;
  h.options.max_failures_in_a_row = 3;
  auto run = h.run();
  BOOST_TEST(run.trials.size() == 4u);
  BOOST_TEST(run.status == "failed");
  BOOST_TEST(contains(run.reason, "3 trials failed in a row"));
  BOOST_TEST(contains(run.reason, "benchmark server down"));
  BOOST_TEST_REQUIRE(run.best.has_value());  // the one success is still the best
  BOOST_TEST(*run.best == 0u);
}

BOOST_AUTO_TEST_CASE(no_successful_trial_fails_the_run) {
  Harness h({failing(Outcome::Kind::thrown)});
  h.options.max_trials = 2;
  h.options.max_failures_in_a_row = 0;  // never by the count
  auto run = h.run();
  BOOST_TEST(run.trials.size() == 2u);
  BOOST_TEST(run.status == "failed");
  BOOST_TEST(contains(run.reason, "no trial succeeded"));
  BOOST_TEST(contains(run.reason, "segfault in the harness"));
  BOOST_TEST(!run.best.has_value());
  BOOST_TEST(run.frontier.empty());
}

BOOST_AUTO_TEST_CASE(a_proposal_the_llm_could_not_make_is_a_failed_trial) {
  Harness h({ok(0.5)}, {leash::result<llm::Completion>(leash::Error(Errc::llm_unreachable, "no route to host")),
                        Harness::reply(universal())});
  h.options.max_trials = 2;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 2u);
  BOOST_TEST(run.trials[0].failed);
  BOOST_TEST(contains(run.trials[0].error, "no route to host"));
  BOOST_TEST(run.trials[0].trial_id.size() == 12u);
  BOOST_TEST(h.runner->seen.size() == 1u);  // the failed proposal was never run
  BOOST_TEST(!run.trials[1].failed);
  BOOST_TEST(run.proposal_kinds[1] == "next");
  BOOST_TEST(run.status == "completed");
}

BOOST_AUTO_TEST_CASE(a_failed_analysis_keeps_the_measured_trial) {
  // initial proposal ok, then the analysis call fails, then all is well.
  Harness h({ok(0.5)}, {Harness::reply(universal()),
                        leash::result<llm::Completion>(leash::Error(Errc::llm_server_error, "overloaded")),
                        Harness::reply(universal())});
  h.options.max_trials = 1;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 1u);
  BOOST_TEST(!run.trials[0].failed);
  BOOST_TEST(contains(run.trials[0].analysis, "analysis failed"));
  BOOST_TEST(contains(run.trials[0].analysis, "overloaded"));
  BOOST_TEST(run.status == "completed");
  BOOST_TEST(run.frontier == (std::vector<std::size_t>{0}));
}

BOOST_AUTO_TEST_CASE(a_custom_score_changes_the_best) {
  std::vector<Outcome> outcomes = {ok(0.9, 1.0, 0.5), ok(0.8, 1.0, 0.0)};
  {
    Harness h(outcomes);
    h.options.max_trials = 2;
    auto run = h.run();
    BOOST_TEST_REQUIRE(run.best.has_value());
    BOOST_TEST(*run.best == 0u);  // accuracy
  }
  {
    Harness h(outcomes);
    h.options.max_trials = 2;
    h.options.score = [](opt::TrialResult const& r) { return r.accuracy - r.total_cost_usd; };
    auto run = h.run();
    BOOST_TEST_REQUIRE(run.best.has_value());
    BOOST_TEST(*run.best == 1u);
  }
}

BOOST_AUTO_TEST_CASE(frontier_growth_early_stopping) {
  // Each of trials 2-4 is less accurate but faster: a new frontier point each
  // time, never a better accuracy. Trials 5 and 6 repeat trial 4 exactly.
  std::vector<Outcome> outcomes = {ok(0.9, 5.0), ok(0.5, 1.0), ok(0.4, 0.5), ok(0.3, 0.2), ok(0.3, 0.2)};
  {
    Harness h(outcomes);
    h.options.max_trials = 10;
    h.options.patience = 2;
    auto run = h.run();
    BOOST_TEST(run.trials.size() == 3u);  // best_score: stale after trials 2 and 3
    BOOST_TEST(run.reason == "patience");
  }
  {
    Harness h(outcomes);
    h.options.max_trials = 10;
    h.options.patience = 2;
    h.options.early_stop = opt::EngineOptions::EarlyStop::frontier_growth;
    auto run = h.run();
    BOOST_TEST(run.trials.size() == 6u);  // grows through trial 4; copies of it are no growth
    BOOST_TEST(run.reason == "patience");
    BOOST_TEST(run.frontier == (std::vector<std::size_t>{0, 1, 2, 3, 4, 5}));
    BOOST_TEST_REQUIRE(run.best.has_value());
    BOOST_TEST(*run.best == 0u);
  }
}

/// The engine's error for options that cannot work (`e` after `change`).
leash::result<opt::OptimizationRun> run_with(void (*change)(opt::EngineOptions&)) {
  opt::LlmOptimizerOptions o;
  o.search_space = space();
  opt::EngineOptions e;
  change(e);
  opt::OptimizationEngine<ScriptedRunner> engine(opt::LlmOptimizer(llm::AnyTransport(), std::move(o)),
                                                 ScriptedRunner{std::make_shared<RunnerState>()}, e);
  return leash::sync_wait(engine.run());
}

BOOST_AUTO_TEST_CASE(zero_max_trials_or_zero_concurrent_trials_is_a_config_error) {
  auto no_trials = run_with([](opt::EngineOptions& e) { e.max_trials = 0; });
  BOOST_TEST_REQUIRE(no_trials.has_error());
  BOOST_TEST((no_trials.error() == Errc::invalid_config));
  auto no_slots = run_with([](opt::EngineOptions& e) { e.max_concurrent_trials = 0; });
  BOOST_TEST_REQUIRE(no_slots.has_error());
  BOOST_TEST((no_slots.error() == Errc::invalid_config));
}

BOOST_AUTO_TEST_CASE(one_trial_at_a_time_numbers_trials_in_order) {
  Harness h({ok(0.1), ok(0.2), ok(0.3)});
  h.options.max_trials = 3;
  BOOST_TEST(h.options.max_concurrent_trials == 1u);
  auto run = h.run();
  BOOST_TEST(run.trial_numbers == (std::vector<std::size_t>{1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(progress_may_take_the_run_so_far) {
  Harness h({ok(0.1), failing(Outcome::Kind::error), ok(0.3)});
  h.options.max_trials = 3;
  struct Seen {
    std::size_t trial, max, trials, numbers;
    std::string last_id, status;
    bool has_best;
    std::uint64_t llm_calls;
  };
  std::vector<Seen> seen;
  h.options.progress = [&](std::size_t t, std::size_t max, opt::OptimizationRun const& so_far) {
    seen.push_back({t, max, so_far.trials.size(), so_far.trial_numbers.size(), so_far.trials.back().trial_id,
                    so_far.status, so_far.best.has_value(), so_far.llm_calls});
  };
  auto run = h.run();
  BOOST_TEST_REQUIRE(seen.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(seen[i].trial == i + 1);
    BOOST_TEST(seen[i].max == 3u);
    BOOST_TEST(seen[i].trials == i + 1);  // the trial just recorded is in it
    BOOST_TEST(seen[i].numbers == i + 1);
    BOOST_TEST(seen[i].last_id == run.trials[i].trial_id);
    BOOST_TEST(seen[i].status == "");  // set when the run ends
    BOOST_TEST(seen[i].has_best);
  }
  // Proposal and analysis of trial 1, then proposal of trial 2 (failed: not analysed), …
  BOOST_TEST(seen[0].llm_calls == 2u);
  BOOST_TEST(seen[1].llm_calls == 3u);
  BOOST_TEST(seen[2].llm_calls == run.llm_calls);
  // The two-argument form is still accepted, and a callback can be cleared.
  opt::EngineOptions o;
  o.progress = [](std::size_t, std::size_t) {};
  BOOST_TEST(static_cast<bool>(o.progress));
  o.progress = nullptr;
  BOOST_TEST(!o.progress);
}

BOOST_AUTO_TEST_CASE(concurrent_trials_are_recorded_as_they_complete_with_stable_numbers) {
  // Trial 1 is slow; trials 2-4 are quick, so they complete first, one slot
  // running them in turn while trial 1 holds the other.
  ConcurrentHarness h({timed(ok(0.9), 300), timed(ok(0.2), 1), timed(ok(0.3), 1), timed(ok(0.4), 1)});
  h.options.max_trials = 4;
  h.options.max_concurrent_trials = 2;
  std::vector<std::size_t> progress;
  h.options.progress = [&](std::size_t t, std::size_t, opt::OptimizationRun const& so_far) {
    BOOST_TEST(so_far.trials.size() == t);
    progress.push_back(so_far.trial_numbers.back());
  };
  auto run = h.run();
  BOOST_TEST(run.status == "completed");
  BOOST_TEST(run.reason == "max_trials");
  BOOST_TEST_REQUIRE(run.trials.size() == 4u);
  BOOST_TEST(h.runner->started.size() == 4u);
  BOOST_TEST(h.runner->most_in_flight == 2u);
  BOOST_TEST(run.trial_numbers == (std::vector<std::size_t>{2, 3, 4, 1}));
  BOOST_TEST(progress == run.trial_numbers);
  BOOST_TEST(run.proposal_kinds == (std::vector<std::string>{"next", "next", "next", "initial"}));
  // Each record is the trial of its number: same id, same configuration, same outcome.
  for (std::size_t i = 0; i < 4; ++i) {
    auto const& t = run.trials[i];
    std::size_t const number = run.trial_numbers[i];
    BOOST_TEST(h.start_index(t.trial_id) == number - 1);
    BOOST_TEST(t.config.params == h.runner->started[number - 1].params);
    BOOST_TEST(t.analysis == "ok");
  }
  BOOST_TEST(run.trials[3].accuracy == 0.9);
  BOOST_TEST(h.runner->finished == (std::vector<std::string>{run.trials[0].trial_id, run.trials[1].trial_id,
                                                             run.trials[2].trial_id, run.trials[3].trial_id}));
  BOOST_TEST_REQUIRE(run.best.has_value());
  BOOST_TEST(*run.best == 3u);  // an index into trials: trial 1, recorded last
  // Trial 2 was proposed while trial 1 ran: nothing recorded yet. Trial 3 saw trial 2.
  auto prompts = h.proposal_prompts();
  BOOST_TEST_REQUIRE(prompts.size() == 4u);
  BOOST_TEST(contains(prompts[1], "No trials have been run yet."));
  BOOST_TEST(contains(prompts[2], "(id=" + run.trials[0].trial_id + ")"));
  BOOST_TEST(!contains(prompts[2], "(id=" + run.trials[3].trial_id + ")"));
  // One proposal and one analysis per trial, no more.
  BOOST_TEST(run.llm_calls == 8u);
}

BOOST_AUTO_TEST_CASE(no_more_than_max_concurrent_trials_are_in_flight) {
  std::vector<Timed> script = {timed(ok(0.1), 120), timed(ok(0.2), 60), timed(ok(0.3), 90), timed(ok(0.4), 5),
                               timed(ok(0.5), 40),  timed(ok(0.6), 5),  timed(ok(0.7), 20), timed(ok(0.8), 5),
                               timed(ok(0.9), 5)};
  ConcurrentHarness h(script);
  h.options.max_trials = 9;
  h.options.patience = 0;
  h.options.max_concurrent_trials = 3;
  auto run = h.run();
  BOOST_TEST(h.runner->most_in_flight == 3u);
  BOOST_TEST(h.runner->started.size() == 9u);
  BOOST_TEST_REQUIRE(run.trials.size() == 9u);
  // Every number once; every started trial recorded once, under its number.
  auto numbers = run.trial_numbers;
  std::sort(numbers.begin(), numbers.end());
  BOOST_TEST(numbers == (std::vector<std::size_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  for (std::size_t i = 0; i < run.trials.size(); ++i) {
    std::size_t const number = run.trial_numbers[i];
    BOOST_TEST(run.trials[i].trial_id == h.runner->started[number - 1].trial_id);
    BOOST_TEST(run.trials[i].accuracy == script[number - 1].outcome.accuracy);
  }
  BOOST_TEST(!std::is_sorted(run.trial_numbers.begin(), run.trial_numbers.end()));  // recorded out of order
  BOOST_TEST(run.status == "completed");
  BOOST_TEST_REQUIRE(run.best.has_value());
  BOOST_TEST(run.trial_numbers[*run.best] == 9u);
}

BOOST_AUTO_TEST_CASE(more_slots_than_trials_start_max_trials_only) {
  ConcurrentHarness h({timed(ok(0.5), 5)});
  h.options.max_trials = 3;
  h.options.max_concurrent_trials = 8;
  auto run = h.run();
  BOOST_TEST(h.runner->started.size() == 3u);
  BOOST_TEST(run.trials.size() == 3u);
  BOOST_TEST(h.runner->most_in_flight <= 3u);
}

BOOST_AUTO_TEST_CASE(a_stop_waits_for_the_trials_in_flight) {
  // Trial 1 sets the best; trial 3 (quick) does not improve and ends the run
  // on patience while trial 2 is still running: trial 2 is awaited and
  // recorded, and no trial 4 is started.
  ConcurrentHarness h({timed(ok(0.9), 1), timed(ok(0.95), 300), timed(ok(0.5), 1), timed(ok(0.5), 1)});
  h.options.max_trials = 10;
  h.options.patience = 1;
  h.options.max_concurrent_trials = 2;
  auto run = h.run();
  BOOST_TEST(h.runner->started.size() == 3u);
  BOOST_TEST_REQUIRE(run.trials.size() == 3u);
  BOOST_TEST(run.trial_numbers == (std::vector<std::size_t>{1, 3, 2}));
  BOOST_TEST(run.status == "completed");
  BOOST_TEST(run.reason == "patience");
  BOOST_TEST(run.trials[2].analysis == "ok");  // the late trial is analysed too
  BOOST_TEST_REQUIRE(run.best.has_value());
  BOOST_TEST(*run.best == 2u);  // and counts for the best
}

BOOST_AUTO_TEST_CASE(the_first_reason_to_stop_is_kept) {
  // Trials 1 and 3 fail quickly (two in a row: the run fails); trial 2 then
  // succeeds, but the run has already stopped as failed.
  ConcurrentHarness h({timed(failing(Outcome::Kind::error), 1), timed(ok(0.7), 300),
                       timed(failing(Outcome::Kind::error), 1)});
  h.options.max_trials = 10;
  h.options.max_failures_in_a_row = 2;
  h.options.max_concurrent_trials = 2;
  auto run = h.run();
  BOOST_TEST(h.runner->started.size() == 3u);
  BOOST_TEST_REQUIRE(run.trials.size() == 3u);
  BOOST_TEST(run.trial_numbers == (std::vector<std::size_t>{1, 3, 2}));
  BOOST_TEST(run.status == "failed");
  BOOST_TEST(contains(run.reason, "2 trials failed in a row"));
  BOOST_TEST(!run.trials[2].failed);
  BOOST_TEST_REQUIRE(run.best.has_value());
  BOOST_TEST(*run.best == 2u);
}

BOOST_AUTO_TEST_CASE(a_failed_proposal_is_recorded_and_its_slot_refilled) {
  ConcurrentHarness h({timed(ok(0.5), 1)});
  h.transport = std::make_shared<llm::ScriptedTransport>(std::vector<leash::result<llm::Completion>>{
      leash::result<llm::Completion>(leash::Error(Errc::llm_unreachable, "no route to host")),
      Harness::reply(universal())});
  h.transport->record_requests();
  h.options.max_trials = 3;
  h.options.max_concurrent_trials = 2;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 3u);
  BOOST_TEST(h.runner->started.size() == 2u);  // the failed proposal was never run
  BOOST_TEST(run.trial_numbers[0] == 1u);
  BOOST_TEST(run.trials[0].failed);
  BOOST_TEST(contains(run.trials[0].error, "no route to host"));
  auto rest = std::vector<std::size_t>(run.trial_numbers.begin() + 1, run.trial_numbers.end());
  std::sort(rest.begin(), rest.end());
  BOOST_TEST(rest == (std::vector<std::size_t>{2, 3}));
  BOOST_TEST(run.status == "completed");
}

BOOST_AUTO_TEST_CASE(concurrent_merge_goes_by_trial_number) {
  // Trials 1 and 2 finish first, both on the frontier (a trade-off). Trial 3
  // is proposed after trial 1 alone (next); trial 4 after trial 2, with two
  // frontier members: 4 − 1 is a multiple of merge_every (3), so a merge.
  ConcurrentHarness h({timed(ok(0.5, 1.0), 1), timed(ok(0.6, 2.0), 40), timed(ok(0.1, 9.0), 300),
                       timed(ok(0.1, 9.0), 1)});
  h.options.max_trials = 4;
  h.options.merge_every = 3;
  h.options.max_concurrent_trials = 2;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 4u);
  BOOST_TEST(run.trial_numbers == (std::vector<std::size_t>{1, 2, 4, 3}));
  BOOST_TEST(run.proposal_kinds == (std::vector<std::string>{"initial", "next", "merge", "next"}));
  auto prompts = h.proposal_prompts();
  BOOST_TEST_REQUIRE(prompts.size() == 4u);
  BOOST_TEST(contains(prompts[3], "## Candidates"));
  BOOST_TEST(contains(prompts[3], "(id=" + run.trials[0].trial_id + ")"));
  BOOST_TEST(contains(prompts[3], "(id=" + run.trials[1].trial_id + ")"));
}

BOOST_AUTO_TEST_CASE(concurrent_targeted_goes_by_trial_number) {
  // Every analysis names "agent". Trial 4 (4 > 3) is targeted at the trial
  // whose completion freed its slot; trials 2 and 3 are not.
  ConcurrentHarness h({timed(ok(0.1), 1), timed(ok(0.2), 300), timed(ok(0.3), 1), timed(ok(0.4), 1)});
  h.transport = std::make_shared<llm::ScriptedTransport>(
      std::vector<leash::result<llm::Completion>>{Harness::reply(universal("agent"))});
  h.transport->record_requests();
  h.options.max_trials = 4;
  h.options.max_concurrent_trials = 2;
  auto run = h.run();
  BOOST_TEST_REQUIRE(run.trials.size() == 4u);
  BOOST_TEST(run.trial_numbers == (std::vector<std::size_t>{1, 3, 4, 2}));
  BOOST_TEST(run.proposal_kinds == (std::vector<std::string>{"initial", "next", "targeted:agent", "next"}));
  BOOST_TEST(run.trials[2].config.params == run.trials[1].config.params);  // based on trial 3
}

BOOST_AUTO_TEST_SUITE_END()
