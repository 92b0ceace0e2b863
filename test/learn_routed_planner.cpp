// A planner that routes each call: the router's choice reaches the right
// transport, the run records the model that answered, and a router that
// learns online is rewarded per call (a failed call: 0).
#include <leash/learn/routed_planner.hpp>
#include <leash/llm/scripted.hpp>
#include <leash/loop.hpp>

#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <memory>
#include <string>
#include <vector>

using leash::learn::BanditRouter;
using leash::learn::HeuristicRouter;
using leash::learn::ModelRegistry;
using leash::learn::RoutedPlanner;
using leash::learn::RoutedPlannerOptions;
using leash::llm::ScriptedTransport;
using leash_test::run_sync;

namespace test_learn_routed_planner {

std::shared_ptr<ScriptedTransport> replies(std::string model, std::size_t n, bool fail = false) {
  std::vector<leash::result<leash::llm::Completion>> script;
  for (std::size_t i = 0; i < n; ++i) {
    if (fail) {
      script.push_back(leash::Error{leash::Errc::llm_server_error, "overloaded"});
    } else {
      leash::llm::Completion c;
      c.text = "answer from " + model;
      c.usage = {100, 20};
      script.push_back(c);
    }
  }
  return std::make_shared<ScriptedTransport>(std::move(script), model);
}

leash::result<leash::Plan> ask(auto& planner, std::string question) {
  static leash::json::array const no_tools;
  std::vector<leash::Message> messages;
  leash::Message system;
  system.role = "system";
  system.content = "You answer questions.";
  messages.push_back(system);
  leash::Message user;
  user.role = "user";
  user.content = std::move(question);
  messages.push_back(user);
  leash::PlanRequest request(std::move(messages), no_tools, 256);
  return run_sync(planner.plan(request));
}

ModelRegistry two_sizes() { return ModelRegistry{{"small-8b", 8.0}, {"big-120b", 120.0}}; }

}  // namespace test_learn_routed_planner

using namespace test_learn_routed_planner;

BOOST_AUTO_TEST_SUITE(learn_routed_planner)

BOOST_AUTO_TEST_CASE(each_call_goes_to_the_model_the_router_names) {
  auto small = replies("small-8b", 5);
  auto big = replies("big-120b", 5);
  RoutedPlanner<HeuristicRouter> planner(HeuristicRouter(two_sizes()),
                                         {leash::llm::AnyTransport(small), leash::llm::AnyTransport(big)});
  BOOST_TEST(planner.model_id() == "small-8b");  // before any call: the first transport

  auto hello = ask(planner, "hello");  // short and simple: the smallest
  BOOST_REQUIRE(hello.has_value());
  BOOST_TEST(hello.value().text == "answer from small-8b");
  BOOST_TEST(planner.model_id() == "small-8b");

  auto hard = ask(planner, "Solve the integral of x^2 sin(x) and explain why each step works, step by step.");
  BOOST_REQUIRE(hard.has_value());
  BOOST_TEST(hard.value().text == "answer from big-120b");
  BOOST_TEST(hard.value().model_id == "big-120b");
  BOOST_TEST(planner.model_id() == "big-120b");
  BOOST_TEST(small->calls() == 1u);
  BOOST_TEST(big->calls() == 1u);
  BOOST_TEST(planner.calls() == 2u);
  BOOST_TEST(planner.provider() == "scripted");
}

BOOST_AUTO_TEST_CASE(a_model_no_transport_serves_falls_back_to_the_first) {
  leash::learn::HeuristicRouterOptions o;
  o.default_model = "not-served";
  ModelRegistry only_unserved{{"not-served", 70.0}};
  auto small = replies("small-8b", 1);
  RoutedPlanner<HeuristicRouter> planner(HeuristicRouter(only_unserved, o), {leash::llm::AnyTransport(small)});
  auto r = ask(planner, "Tell me about the history of bridges in a few paragraphs, please, with care.");
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().text == "answer from small-8b");
}

BOOST_AUTO_TEST_CASE(no_transports_is_a_typed_error) {
  RoutedPlanner<HeuristicRouter> planner(HeuristicRouter(two_sizes()), {});
  auto r = ask(planner, "hello");
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error() == leash::Errc::invalid_config));
}

BOOST_AUTO_TEST_CASE(a_bandit_learns_from_each_call_and_leaves_a_failing_model) {
  auto flaky = replies("flaky", 200, /*fail=*/true);
  auto steady = replies("steady", 200);
  leash::learn::BanditOptions bo;
  bo.strategy = leash::learn::BanditStrategy::ucb1;
  RoutedPlanner<BanditRouter> planner(BanditRouter({"flaky", "steady"}, bo),
                                      {leash::llm::AnyTransport(flaky), leash::llm::AnyTransport(steady)});
  std::size_t failed = 0;
  for (int i = 0; i < 60; ++i) failed += ask(planner, "hello there").has_error();
  auto stats = planner.router().stats();
  std::uint64_t flaky_pulls = 0, steady_pulls = 0;
  double flaky_reward = -1;
  for (auto const& arm : stats) {
    if (arm.model == "flaky") flaky_pulls += arm.pulls, flaky_reward = arm.reward_sum;
    if (arm.model == "steady") steady_pulls += arm.pulls;
  }
  BOOST_TEST(flaky_pulls + steady_pulls == 60u);  // every call rewarded, failures too
  BOOST_TEST(flaky_pulls == failed);
  BOOST_TEST(flaky_reward == 0.0);  // a failed call earns nothing
  BOOST_TEST(steady_pulls > 3 * flaky_pulls);
}

BOOST_AUTO_TEST_CASE(a_loop_records_the_routed_model) {
  auto small = replies("small-8b", 3);
  auto big = replies("big-120b", 3);
  RoutedPlannerOptions options;
  options.query = "hello";  // the goal routes every call
  using Planner = RoutedPlanner<HeuristicRouter>;
  Planner planner(HeuristicRouter(two_sizes()), {leash::llm::AnyTransport(big), leash::llm::AnyTransport(small)},
                  options);
  leash::LoopOptions loop_options;
  loop_options.quiet = true;
  loop_options.limits.max_iterations = 1;
  leash::Loop<Planner, leash::ToolSet<>> loop("hello", planner, {}, {}, {}, {}, loop_options);
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(loop.state().info.model == "small-8b");
  BOOST_TEST(small->calls() == 1u);
  BOOST_TEST(big->calls() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
