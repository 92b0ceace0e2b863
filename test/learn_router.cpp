#include <leash/learn/router.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace test_learn_router {

using namespace leash::learn;

ModelRegistry sizes() {
  return ModelRegistry{{"tiny-1b", 1.0}, {"mid-8b", 8.0}, {"huge-70b", 70.0}};
}

ModelRegistry sizes_with_coder() {
  auto r = sizes();
  r.add({"deepseek-coder:6.7b", 6.7});
  return r;
}

/// A context as a router sees one, built by hand: nothing but what is set.
RoutingContext context(double complexity, bool code = false, bool math = false, bool reasoning = false,
                       double urgency = 0.5) {
  RoutingContext c;
  c.complexity_score = complexity;
  c.has_code = code;
  c.has_math = math;
  c.has_reasoning = reasoning;
  c.urgency = urgency;
  return c;
}

Trace run(std::string query, std::string model, Outcome outcome, std::optional<double> feedback) {
  Trace t;
  t.query = std::move(query);
  t.model = std::move(model);
  t.outcome = outcome;
  t.feedback = feedback;
  return t;
}

constexpr char const* code_query = "def quicksort(xs): return sorted(xs)";
constexpr char const* math_query = "Solve the equation 3x + 5 = 20 for x, and compute the integral of x^2 from 0 to 3.";

/// A type with no select_model, for the concept's negative case.
struct NotARouter {
  std::string pick(RoutingContext const&) const { return {}; }
};

}  // namespace test_learn_router

using namespace test_learn_router;

BOOST_AUTO_TEST_SUITE(learn_router)

// ---- the requirement and the registry -----------------------------------------------

BOOST_AUTO_TEST_CASE(router_concept) {
  static_assert(Router<HeuristicRouter> && Router<LearnedRouter> && Router<BanditRouter>);
  static_assert(!Router<NotARouter> && !Router<int>);
  HeuristicRouter h(sizes());
  BOOST_TEST(route(h, "hello") == "tiny-1b");
}

BOOST_AUTO_TEST_CASE(registry_keys_and_sizes) {
  auto r = sizes();
  BOOST_TEST(r.size() == 3u);
  BOOST_TEST(r.parameter_count_b("mid-8b") == 8.0);
  BOOST_TEST(r.parameter_count_b("nope") == 0.0);
  BOOST_TEST(!r.add({"mid-8b", 9.0}));  // duplicate: kept as it was
  BOOST_TEST(r.parameter_count_b("mid-8b") == 8.0);
  BOOST_TEST(!r.add({"", 1.0}));
  BOOST_TEST(!r.add({"neg", -1.0}));
  BOOST_TEST(!r.add({"nan", std::numeric_limits<double>::quiet_NaN()}));
  BOOST_TEST((r.keys() == std::vector<std::string>{"huge-70b", "mid-8b", "tiny-1b"}));  // key order
}

BOOST_AUTO_TEST_CASE(builtin_catalogue, *boost::unit_test::description("reference §3: builtin catalogue")) {
  auto reg = builtin_model_registry();
  auto keys = reg.keys();
  BOOST_TEST(largest_model(reg, keys) == "gpt-oss:120b");
  // Total, not active, parameters: qwen3:30b-a3b runs 3B per token yet is not the smallest.
  BOOST_TEST(reg.find("qwen3:30b-a3b")->active_parameter_count_b < reg.parameter_count_b("qwen3:8b"));
  BOOST_TEST(smallest_model(reg, keys) == "qwen3:8b");
  HeuristicRouterOptions o;
  o.default_model = "qwen3:32b";
  HeuristicRouter router(reg, o);
  BOOST_TEST(router.select_model(context(0.4)) == "qwen3:32b");  // medium → default
  BOOST_TEST(route(router, "hello") == "qwen3:8b");
  BOOST_TEST(route(router, code_query) == "qwen2.5-coder:14b");
  BOOST_TEST(route(router, math_query) == "gpt-oss:120b");
}

BOOST_AUTO_TEST_CASE(largest_and_smallest_rules) {
  ModelRegistry reg{{"a", 5.0}, {"b", 5.0}, {"c", 2.0}};
  std::vector<std::string> models = {"unknown", "a", "b", "c"};
  BOOST_TEST(largest_model(reg, models) == "a");   // first of the equal largest
  BOOST_TEST(smallest_model(reg, models) == "c");  // unknown size is never the smallest…
  BOOST_TEST(smallest_model(reg, std::vector<std::string>{"unknown", "other"}) == "unknown");  // …unless all are
  BOOST_TEST(largest_model(reg, {}) == "");
}

// ---- HeuristicRouter -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(heuristic_short_goes_to_smallest) {
  HeuristicRouter router(sizes());
  BOOST_TEST(route(router, "hello") == "tiny-1b");
}

BOOST_AUTO_TEST_CASE(heuristic_code_goes_to_a_code_model_else_largest) {
  BOOST_TEST(route(HeuristicRouter(sizes_with_coder()), code_query) == "deepseek-coder:6.7b");
  HeuristicRouter plain(sizes());
  BOOST_TEST(route(plain, code_query) == "huge-70b");
  // Before rule 4: a trivial code query still goes to the code model.
  BOOST_TEST(HeuristicRouter(sizes_with_coder()).select_model(context(0.0, true)) == "deepseek-coder:6.7b");
  // Any case.
  BOOST_TEST(HeuristicRouter(ModelRegistry{{"StarCODER", 3.0}, {"big", 9.0}}).select_model(context(0, true)) ==
             "StarCODER");
}

BOOST_AUTO_TEST_CASE(heuristic_math_goes_to_largest) {
  HeuristicRouter router(sizes());
  BOOST_TEST(build_routing_context(math_query).complexity_score > 0.20);
  BOOST_TEST(route(router, math_query) == "huge-70b");
}

BOOST_AUTO_TEST_CASE(heuristic_trivial_math_goes_to_smallest,
                     *boost::unit_test::description("rule 4 comes before rule 5, as in the reference's code")) {
  HeuristicRouter router(sizes());
  auto ctx = build_routing_context("calculate 2+2");
  BOOST_TEST(ctx.has_math);
  BOOST_TEST(ctx.complexity_score == 0.2);
  BOOST_TEST(router.select_model(ctx) == "tiny-1b");
}

BOOST_AUTO_TEST_CASE(heuristic_complex_or_reasoning_goes_to_largest) {
  HeuristicRouterOptions o;
  o.default_model = "mid-8b";
  HeuristicRouter router(sizes(), o);
  BOOST_TEST(route(router, "Explain why the sky is blue") == "huge-70b");
  BOOST_TEST(router.select_model(context(0.55)) == "huge-70b");
  BOOST_TEST(router.select_model(context(0.3, false, false, true)) == "huge-70b");
  BOOST_TEST(router.select_model(context(0.54)) == "mid-8b");
}

BOOST_AUTO_TEST_CASE(heuristic_urgency_always_goes_to_smallest) {
  HeuristicRouter router(sizes_with_coder());
  for (auto const& ctx : {context(0.9, true, true, true, 0.81), context(0.0, false, false, false, 1.0)})
    BOOST_TEST(router.select_model(ctx) == "tiny-1b");
  BOOST_TEST(route(router, code_query, 0.95) == "tiny-1b");
  BOOST_TEST(router.select_model(context(0.9, false, false, false, 0.8)) == "huge-70b");  // 0.8 is not urgent
}

BOOST_AUTO_TEST_CASE(heuristic_default_then_fallback_then_first) {
  HeuristicRouterOptions o;
  o.available_models = {"mid-8b", "huge-70b", "tiny-1b"};
  o.default_model = "huge-70b";
  o.fallback_model = "tiny-1b";
  BOOST_TEST(HeuristicRouter(sizes(), o).select_model(context(0.4)) == "huge-70b");
  o.default_model = "not-available";
  BOOST_TEST(HeuristicRouter(sizes(), o).select_model(context(0.4)) == "tiny-1b");
  o.fallback_model = "";
  BOOST_TEST(HeuristicRouter(sizes(), o).select_model(context(0.4)) == "mid-8b");
}

BOOST_AUTO_TEST_CASE(heuristic_no_models) {
  HeuristicRouterOptions o;
  BOOST_TEST(HeuristicRouter(ModelRegistry{}, o).select_model(context(0.4)) == "");
  o.fallback_model = "fb";
  BOOST_TEST(HeuristicRouter(ModelRegistry{}, o).select_model(context(0.4)) == "fb");
  o.default_model = "df";
  BOOST_TEST(HeuristicRouter(ModelRegistry{}, o).select_model(context(0.4)) == "df");
}

BOOST_AUTO_TEST_CASE(heuristic_single_model_always_chosen) {
  HeuristicRouter router(ModelRegistry{{"only", 7.0}});
  for (auto const& q : {"hello", code_query, math_query, "Explain why the sky is blue"}) {
    BOOST_TEST(route(router, q) == "only");
    BOOST_TEST(route(router, q, 0.99) == "only");
  }
  BOOST_TEST(router.select_model(context(0.4)) == "only");
}

// ---- LearnedRouter -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(learned_no_data_gives_default) {
  LearnedRouterOptions o;
  o.default_model = "d";
  LearnedRouter router(o);
  BOOST_TEST(route(router, code_query) == "d");
  BOOST_TEST(router.policy_map().empty());
}

BOOST_AUTO_TEST_CASE(learned_fallback_chain) {
  LearnedRouterOptions o;
  o.available_models = {"a", "b"};
  o.default_model = "x";
  o.fallback_model = "b";
  BOOST_TEST(route(LearnedRouter(o), "hello") == "b");
  o.fallback_model = "y";
  BOOST_TEST(route(LearnedRouter(o), "hello") == "a");
  BOOST_TEST(route(LearnedRouter(LearnedRouterOptions{}), "hello") == "");
  LearnedRouterOptions unlisted;
  unlisted.fallback_model = "f";
  BOOST_TEST(route(LearnedRouter(unlisted), "hello") == "f");  // no list: any model is available
}

BOOST_AUTO_TEST_CASE(learned_batch_is_used_by_select_model,
                     *boost::unit_test::description("reference §3 learned router; bug §4.9: confidence is set")) {
  for (auto rule : {UpdateRule::per_run, UpdateRule::pooled}) {
    LearnedRouterOptions o;
    o.default_model = "qwen3:8b";
    LearnedRouter router(o);
    router.begin_update();
    for (int i = 0; i < 6; ++i) {
      router.add(run(code_query, "codestral", Outcome::success, 0.9));
      router.add(run(code_query, "qwen3:8b", Outcome::failure, 0.2));
    }
    auto u = router.finish_update(rule);
    BOOST_TEST(u.updated);
    BOOST_TEST(u.total_traces == 12u);
    BOOST_TEST(u.query_classes == 1u);
    BOOST_REQUIRE(u.changes.count(QueryClass::code) == 1u);
    BOOST_TEST(u.changes.at(QueryClass::code).old_model == "");
    BOOST_TEST(u.changes.at(QueryClass::code).new_model == "codestral");
    BOOST_TEST(u.policy_map.at(QueryClass::code) == "codestral");
    BOOST_TEST(router.confidence(QueryClass::code) == 12u);
    // The fix: the reference's batch update left confidence at 0 and this returned the default.
    BOOST_TEST(route(router, code_query) == "codestral");
    BOOST_TEST(route(router, "hello") == "qwen3:8b");  // other classes are untouched
  }
}

BOOST_AUTO_TEST_CASE(learned_update_reads_every_trace,
                     *boost::unit_test::description("the reference read only the newest 100")) {
  std::vector<Trace> traces;
  for (int i = 0; i < 20; ++i) traces.push_back(run(code_query, "good", Outcome::success, 1.0));
  for (int i = 0; i < 100; ++i) traces.push_back(run(code_query, "bad", Outcome::failure, 0.0));
  LearnedRouter router;
  auto u = router.update(traces);
  BOOST_TEST(u.total_traces == 120u);
  BOOST_TEST(router.policy_map().at(QueryClass::code) == "good");
  BOOST_TEST(router.stats(QueryClass::code, "bad").count == 100u);
}

BOOST_AUTO_TEST_CASE(learned_scores_and_rules) {
  ModelStats s;
  s.add(Outcome::success, 1.0);
  s.add(Outcome::failure, std::nullopt);
  s.add(Outcome::unknown, 0.0);
  // per run: (0.6+0.4·1) + (0+0.4·0.5) + (0+0.4·0) over 3; pooled: 0.6·1/3 + 0.4·mean(1, 0)
  BOOST_TEST(s.per_run_score() == (1.0 + 0.2 + 0.0) / 3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.pooled_score() == 0.2 + 0.2, boost::test_tools::tolerance(1e-12));
  ModelStats clamped;
  clamped.add(Outcome::failure, 7.0);
  clamped.add(Outcome::failure, std::numeric_limits<double>::quiet_NaN());
  BOOST_TEST(clamped.feedback_count == 1u);
  BOOST_TEST(clamped.feedback_sum == 1.0);

  // Four perfect runs against five fair ones: per_run needs min_samples runs, pooled does not.
  std::vector<Trace> traces;
  for (int i = 0; i < 4; ++i) traces.push_back(run(code_query, "perfect", Outcome::success, 1.0));
  for (int i = 0; i < 5; ++i) traces.push_back(run(code_query, "fair", Outcome::success, 0.5));
  LearnedRouter per_run, pooled;
  per_run.update(traces, UpdateRule::per_run);
  pooled.update(traces, UpdateRule::pooled);
  BOOST_TEST(per_run.policy_map().at(QueryClass::code) == "fair");
  BOOST_TEST(pooled.policy_map().at(QueryClass::code) == "perfect");
}

BOOST_AUTO_TEST_CASE(learned_ties_go_to_the_smaller_key) {
  std::vector<Trace> traces;
  for (auto const* m : {"zeta", "alpha", "mid"})
    for (int i = 0; i < 5; ++i) traces.push_back(run(code_query, m, Outcome::success, 0.8));
  LearnedRouter router;
  router.update(traces);
  BOOST_TEST(router.policy_map().at(QueryClass::code) == "alpha");
}

BOOST_AUTO_TEST_CASE(learned_batch_edge_cases) {
  LearnedRouter router;
  auto none = router.update(std::vector<Trace>{});
  BOOST_TEST(!none.updated);
  BOOST_TEST(none.reason == "no traces");

  // Runs with no model count but are never chosen.
  std::vector<Trace> traces;
  for (int i = 0; i < 6; ++i) traces.push_back(run(code_query, "", Outcome::success, 1.0));
  auto u = router.update(traces);
  BOOST_TEST(u.total_traces == 6u);
  BOOST_TEST(u.query_classes == 1u);
  BOOST_TEST(!u.updated);
  BOOST_TEST(router.policy_map().empty());

  // begin_update() drops a batch in progress.
  router.begin_update();
  router.add(run(code_query, "m", Outcome::success, 1.0));
  router.begin_update();
  BOOST_TEST(router.finish_update().total_traces == 0u);

  auto j = u.to_json();
  BOOST_TEST(j.at("total_traces").to_number<int>() == 6);
  BOOST_TEST(j.at("changes").as_object().empty());
}

BOOST_AUTO_TEST_CASE(learned_update_json) {
  std::vector<Trace> traces;
  for (int i = 0; i < 5; ++i) traces.push_back(run(math_query, "big", Outcome::success, 0.9));
  LearnedRouter router;
  auto j = router.update(traces).to_json();
  BOOST_TEST(j.at("updated").as_bool());
  BOOST_TEST(j.at("changes").at("math").at("old").as_string() == "");
  BOOST_TEST(j.at("changes").at("math").at("new").as_string() == "big");
  BOOST_TEST(j.at("policy_map").at("math").as_string() == "big");
}

BOOST_AUTO_TEST_CASE(learned_observe_maps_a_new_class, *boost::unit_test::description("reference §3")) {
  LearnedRouterOptions o;
  o.default_model = "d";
  LearnedRouter router(o);
  router.observe(code_query, "m1", Outcome::success, 0.9);
  BOOST_TEST(router.policy_map().at(QueryClass::code) == "m1");
  BOOST_TEST(router.confidence(QueryClass::code) == 1u);
  BOOST_TEST(route(router, code_query) == "d");  // one run is not min_samples
  router.observe("", "", Outcome::success, 1.0);  // no model: ignored
  BOOST_TEST(router.confidence(QueryClass::short_query) == 0u);
}

BOOST_AUTO_TEST_CASE(learned_observe_warm_up_follows_the_reference) {
  LearnedRouter router;
  router.observe(code_query, "a", Outcome::failure, std::nullopt);
  router.observe(code_query, "b", Outcome::success, 0.7);  // not > 0.7
  BOOST_TEST(router.policy_map().at(QueryClass::code) == "a");
  router.observe(code_query, "b", Outcome::failure, 0.9);
  BOOST_TEST(router.policy_map().at(QueryClass::code) == "a");
  router.observe(code_query, "b", Outcome::success, 0.8);
  BOOST_TEST(router.policy_map().at(QueryClass::code) == "b");
  router.observe(code_query, "a", Outcome::success, 0.95);  // 4 runs before it: still warming up
  BOOST_TEST(router.policy_map().at(QueryClass::code) == "a");
  BOOST_TEST(router.confidence(QueryClass::code) == 5u);
  BOOST_TEST(route(router, code_query) == "a");
}

BOOST_AUTO_TEST_CASE(learned_observe_keeps_learning,
                     *boost::unit_test::description("bug §4.9: the reference froze after min_samples")) {
  LearnedRouter router;
  for (int i = 0; i < 5; ++i) router.observe(code_query, "a", Outcome::success, 0.8);
  BOOST_TEST(route(router, code_query) == "a");
  // "a" starts failing; "b" does well. Once "b" has min_samples runs and the
  // better record, the class moves to it.
  for (int i = 0; i < 5; ++i) {
    router.observe(code_query, "a", Outcome::failure, 0.1);
    router.observe(code_query, "b", Outcome::success, 0.9);
  }
  BOOST_TEST(route(router, code_query) == "b");
  BOOST_TEST(router.confidence(QueryClass::code) == 15u);

  // A batch replaces the class's statistics; observations then add to them.
  std::vector<Trace> traces;
  for (int i = 0; i < 5; ++i) traces.push_back(run(code_query, "c", Outcome::success, 1.0));
  router.update(traces);
  BOOST_TEST(route(router, code_query) == "c");
  BOOST_TEST(router.stats(QueryClass::code, "a").count == 0u);
  router.observe(code_query, "c", Outcome::failure, 0.0);
  BOOST_TEST(router.stats(QueryClass::code, "c").count == 6u);
}

BOOST_AUTO_TEST_CASE(learned_respects_available_models) {
  LearnedRouterOptions o;
  o.available_models = {"x", "y"};
  LearnedRouter router(o);
  std::vector<Trace> traces;
  for (int i = 0; i < 5; ++i) traces.push_back(run(code_query, "z", Outcome::success, 1.0));
  router.update(traces);
  BOOST_TEST(router.policy_map().at(QueryClass::code) == "z");
  BOOST_TEST(route(router, code_query) == "x");  // learned, but not available here
}

// ---- BanditRouter ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bandit_ucb1_tries_each_arm_once_first) {
  BanditOptions o;
  o.strategy = BanditStrategy::ucb1;
  BanditRouter bandit({"a", "b", "c"}, o);
  for (auto const* expected : {"a", "b", "c"}) {
    auto m = bandit.select_model(QueryClass::code);
    BOOST_TEST(m == expected);
    BOOST_TEST(bandit.select_model(QueryClass::code) == expected);  // selecting alone teaches nothing
    BOOST_TEST(bandit.update(QueryClass::code, m, 0.5).has_value());
  }
  BOOST_TEST(bandit.select_model(QueryClass::math) == "a");  // classes are separate
}

BOOST_AUTO_TEST_CASE(bandit_learns_the_better_model) {
  for (auto strategy : {BanditStrategy::ucb1, BanditStrategy::thompson}) {
    BanditOptions o;
    o.strategy = strategy;
    o.seed = 42;
    BanditRouter bandit({"bad", "good"}, o);
    auto ctx = build_routing_context(code_query);
    int good = 0;
    for (int i = 0; i < 400; ++i) {
      auto m = bandit.select_model(ctx);
      good += m == "good";
      BOOST_REQUIRE(bandit.update(ctx, m, m == "good" ? 0.9 : 0.1).has_value());
    }
    BOOST_TEST_INFO("strategy " << static_cast<int>(strategy));
    BOOST_TEST(good > 340);
    auto arms = bandit.stats(QueryClass::code);
    BOOST_TEST(arms[1].model == "good");
    BOOST_TEST(arms[1].mean() == 0.9, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(arms[0].pulls + arms[1].pulls == 400u);
  }
}

BOOST_AUTO_TEST_CASE(bandit_same_seed_same_choices) {
  auto play = [](std::uint64_t seed) {
    BanditOptions o;
    o.seed = seed;
    BanditRouter bandit({"a", "b", "c"}, o);
    std::string seq;
    for (int i = 0; i < 60; ++i) {
      auto m = bandit.select_model(QueryClass::general);
      seq += m;
      (void)bandit.update(QueryClass::general, m, m == "c" ? 0.6 : 0.4);
    }
    return seq;
  };
  BOOST_TEST(play(7) == play(7));
  BOOST_TEST(play(7) != play(8));
}

BOOST_AUTO_TEST_CASE(bandit_rejects_bad_rewards) {
  BanditRouter bandit({"a"});
  for (double r : {std::numeric_limits<double>::quiet_NaN(), -0.01, 1.01, std::numeric_limits<double>::infinity()}) {
    auto u = bandit.update(QueryClass::code, "a", r);
    BOOST_REQUIRE(u.has_error());
    BOOST_TEST((u.error() == leash::Errc::invalid_arguments));
  }
  auto unknown = bandit.update(QueryClass::code, "zzz", 0.5);
  BOOST_REQUIRE(unknown.has_error());
  BOOST_TEST(unknown.error().what().find("zzz") != std::string::npos);
  BOOST_TEST(bandit.stats(QueryClass::code)[0].pulls == 0u);
  BOOST_TEST(bandit.update(QueryClass::code, "a", 0.0).has_value());
  BOOST_TEST(bandit.update(QueryClass::code, "a", 1.0).has_value());
}

BOOST_AUTO_TEST_CASE(bandit_stats_and_edges) {
  BanditRouter empty({});
  BOOST_TEST(empty.select_model(QueryClass::code) == "");
  BanditRouter bandit({"a", "b", "a"});
  BOOST_TEST(bandit.models().size() == 2u);
  (void)bandit.update(QueryClass::math, "b", 0.75);
  (void)bandit.update(QueryClass::math, "b", 0.25);
  auto all = bandit.stats();
  BOOST_TEST(all.size() == 2 * query_class_count);
  auto arms = bandit.stats(QueryClass::math);
  BOOST_TEST(arms[1].pulls == 2u);
  BOOST_TEST(arms[1].alpha() == 2.0);
  BOOST_TEST(arms[1].beta() == 2.0);
  BOOST_TEST(arms[0].mean() == 0.0);
  BOOST_TEST(bandit.stats(QueryClass::code)[1].pulls == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
