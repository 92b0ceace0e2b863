#include <leash/policy.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

namespace test_policy {

namespace bj = leash::json;
using leash::Decision;
using leash::DecisionKind;
using leash::State;
using leash::Status;

State with_streak(std::uint64_t streak) {
  State s;
  s.no_progress_streak = streak;
  return s;
}

/// Gates only calls whose `name` argument is "t1".
struct OnlyT1 {
  bool operator()(std::string_view, bj::object const& args) const {
    auto it = args.find("name");
    return it != args.end() && it->value().is_string() && it->value().get_string() == "t1";
  }
};

/// A custom policy with no name: it goes by its type's short name.
struct Unnamed {
  int stops = 0;
  Decision before_iteration(State const&) {
    ++stops;
    return Decision::stop("unnamed says stop", Status::error);
  }
};

template <int N>
struct Templated {
  Decision before_action(State const&, leash::ActionView const&) const { return Decision::stop("templated"); }
};

struct Named {
  static constexpr std::string_view name = "my-policy";
  Decision before_iteration(State const& s) const {
    return s.goal == "stop" ? Decision::stop("named stop", Status::plan_failed) : Decision::proceed();
  }
};

struct NoHooks {};

static_assert(leash::Policy<leash::NoProgress<3>>);
static_assert(leash::Policy<leash::RequireApproval<OnlyT1>>);
static_assert(leash::Policy<leash::CostLimit>);
static_assert(leash::Policy<Templated<1>>);
static_assert(!leash::Policy<NoHooks>);
static_assert(std::is_same_v<leash::DefaultPolicies, leash::PolicyList<leash::NoProgress<3>>>);

leash::Pricing one_dollar_per_million() { return leash::Pricing{"2026-01-15", {{"m", {1.0, 1.0}}}}; }

}  // namespace test_policy

using namespace test_policy;

BOOST_AUTO_TEST_SUITE(policy)

BOOST_AUTO_TEST_CASE(no_progress_stops_at_its_window, *boost::unit_test::description("reference scenario 4")) {
  leash::NoProgress<3> p;
  BOOST_TEST((p.before_iteration(with_streak(2)).kind == DecisionKind::proceed));
  Decision d = p.before_iteration(with_streak(3));
  BOOST_TEST((d.kind == DecisionKind::stop));
  BOOST_TEST(d.reason == "3 consecutive iterations with repeated/invalid actions and zero goal-metric delta");
  BOOST_TEST((d.status == Status::no_progress));
  BOOST_TEST(p.before_iteration(with_streak(5)).reason.find("5 consecutive") == 0u);
  BOOST_TEST((leash::NoProgress<1>{}.before_iteration(with_streak(1)).kind == DecisionKind::stop));
  BOOST_TEST(leash::policy_name<leash::NoProgress<3>>() == "NoProgress");
}

BOOST_AUTO_TEST_CASE(require_approval_by_tool_name) {
  leash::RequireApproval<leash::ToolNamed<"fix">> gate;
  bj::object args{{"name", "t1"}};
  Decision d = gate.before_action(State{}, {"fix", args});
  BOOST_TEST((d.kind == DecisionKind::pause));
  BOOST_TEST(d.reason == "requires approval");
  BOOST_TEST((gate.before_action(State{}, {"edit", args}).kind == DecisionKind::proceed));
  BOOST_TEST((gate.before_action(State{}, {"fixer", args}).kind == DecisionKind::proceed));

  leash::RequireApproval<leash::ToolNamed<"edit", "delete">> two{{}, "writes need a human"};
  BOOST_TEST((two.before_action(State{}, {"delete", args}).kind == DecisionKind::pause));
  BOOST_TEST(two.before_action(State{}, {"edit", args}).reason == "writes need a human");
  BOOST_TEST((two.before_action(State{}, {"fix", args}).kind == DecisionKind::proceed));
}

BOOST_AUTO_TEST_CASE(require_approval_with_a_custom_predicate) {
  leash::RequireApproval<OnlyT1> gate;
  bj::object t1{{"name", "t1"}};
  bj::object t2{{"name", "t2"}};
  BOOST_TEST((gate.before_action(State{}, {"fix", t1}).kind == DecisionKind::pause));
  BOOST_TEST((gate.before_action(State{}, {"fix", t2}).kind == DecisionKind::proceed));
  BOOST_TEST((gate.before_action(State{}, {"fix", bj::object{}}).kind == DecisionKind::proceed));
}

BOOST_AUTO_TEST_CASE(cost_limit_stops_at_the_estimate, *boost::unit_test::description("reference scenario 39")) {
  leash::CostLimit limit{2.5, "m", one_dollar_per_million()};
  State s;
  s.metrics.input_tokens = 2'000'000;
  BOOST_TEST((limit.before_iteration(s).kind == DecisionKind::proceed));
  s.metrics.input_tokens = 3'000'000;
  Decision d = limit.before_iteration(s);
  BOOST_TEST((d.kind == DecisionKind::stop));
  BOOST_TEST(d.reason == "estimated cost $3.00 >= limit $2.50 (tokens are authoritative)");
  BOOST_TEST((d.status == Status::budget_exhausted));

  // Output tokens count too; an unknown model is never stopped.
  s.metrics.input_tokens = 1'500'000;
  s.metrics.output_tokens = 1'000'000;
  BOOST_TEST((limit.before_iteration(s).kind == DecisionKind::stop));
  leash::CostLimit unknown{0.0, "no-such-model", one_dollar_per_million()};
  BOOST_TEST((unknown.before_iteration(s).kind == DecisionKind::proceed));
}

BOOST_AUTO_TEST_CASE(policy_list_returns_the_first_stop_with_its_name) {
  leash::PolicyList<leash::RequireApproval<OnlyT1>, Named, leash::NoProgress<1>, Unnamed> list;
  State s = with_streak(0);
  s.goal = "go";
  auto first = list.before_iteration(s);
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(first->first == "Unnamed");  // the only one stopping
  BOOST_TEST(first->second.reason == "unnamed says stop");

  s.no_progress_streak = 1;
  auto second = list.before_iteration(s);
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(second->first == "NoProgress");
  BOOST_TEST((second->second.status == Status::no_progress));
  BOOST_TEST(list.get<Unnamed>().stops == 1);  // later policies are not asked after a stop

  s.goal = "stop";
  auto third = list.before_iteration(s);
  BOOST_REQUIRE(third.has_value());
  BOOST_TEST(third->first == "my-policy");
  BOOST_TEST((third->second.status == Status::plan_failed));

  leash::PolicyList<> none;
  BOOST_TEST(!none.before_iteration(s).has_value());
}

BOOST_AUTO_TEST_CASE(policy_list_before_action_returns_the_first_pause_or_stop) {
  leash::PolicyList<leash::NoProgress<3>, leash::RequireApproval<OnlyT1>, Templated<2>> list;
  bj::object t1{{"name", "t1"}};
  bj::object t2{{"name", "t2"}};
  auto paused = list.before_action(State{}, {"fix", t1});
  BOOST_REQUIRE(paused.has_value());
  BOOST_TEST(paused->first == "RequireApproval");
  BOOST_TEST((paused->second.kind == DecisionKind::pause));

  auto stopped = list.before_action(State{}, {"fix", t2});
  BOOST_REQUIRE(stopped.has_value());
  BOOST_TEST(stopped->first == "Templated");
  BOOST_TEST((stopped->second.kind == DecisionKind::stop));
  BOOST_TEST(!stopped->second.status.has_value());  // a stop without a status ends as ERROR

  leash::PolicyList<leash::RequireApproval<OnlyT1>> only_gate;
  BOOST_TEST(!only_gate.before_action(State{}, {"fix", t2}).has_value());
}

BOOST_AUTO_TEST_CASE(policy_names) {
  BOOST_TEST(leash::policy_name<Unnamed>() == "Unnamed");
  BOOST_TEST(leash::policy_name<Templated<7>>() == "Templated");
  BOOST_TEST(leash::policy_name<Named>() == "my-policy");
  BOOST_TEST(leash::policy_name<leash::CostLimit>() == "CostLimit");
  BOOST_TEST(leash::policy_name<leash::RequireApproval<OnlyT1>>() == "RequireApproval");
}

BOOST_AUTO_TEST_CASE(decision_factories) {
  BOOST_TEST((Decision::proceed().kind == DecisionKind::proceed));
  BOOST_TEST(Decision::pause().reason == "requires approval");
  Decision stop = Decision::stop("why");
  BOOST_TEST((stop.kind == DecisionKind::stop));
  BOOST_TEST(!stop.status.has_value());
}

BOOST_AUTO_TEST_SUITE_END()
