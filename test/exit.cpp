#include <leash/exit.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>

namespace test_exit {

using leash::Exit;
using leash::State;
using leash::Status;

State with_iterations(std::size_t n) {
  State s;
  s.iterations.resize(n);
  return s;
}

struct AtLeastOneIteration {
  bool operator()(State const& s) const { return !s.iterations.empty(); }
};

/// A user-written exit: stops once the goal text says so, counting its calls.
struct GoalSaysDone {
  int calls = 0;
  std::optional<Exit> evaluate(State const& s) {
    ++calls;
    if (s.goal == "done") return Exit{Status::success, "the goal says done"};
    return std::nullopt;
  }
};

struct NotAnExit {
  bool evaluate() const { return true; }
};

static_assert(leash::ExitCondition<leash::MaxIterations>);
static_assert(leash::ExitCondition<leash::Stagnation<2>>);
static_assert(leash::ExitCondition<leash::Success<AtLeastOneIteration>>);
static_assert(leash::ExitCondition<GoalSaysDone>);
static_assert(!leash::ExitCondition<NotAnExit>);
static_assert(!leash::ExitCondition<int>);

// The suite's namespace would clash with ::exit at global scope; inside ours it does not.
BOOST_AUTO_TEST_SUITE(exit)

BOOST_AUTO_TEST_CASE(success_when_the_predicate_holds, *boost::unit_test::description("reference scenario 38")) {
  leash::Success<AtLeastOneIteration> e;
  BOOST_TEST(!e.evaluate(with_iterations(0)).has_value());
  auto hit = e.evaluate(with_iterations(1));
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST((hit->status == Status::success));
  BOOST_TEST(hit->reason == "goal achieved");
  leash::Success<AtLeastOneIteration> custom{{}, "one done"};
  BOOST_TEST(custom.evaluate(with_iterations(1))->reason == "one done");
}

BOOST_AUTO_TEST_CASE(max_iterations, *boost::unit_test::description("reference scenario 38")) {
  leash::MaxIterations e{2};
  BOOST_TEST(!e.evaluate(with_iterations(1)).has_value());
  auto hit = e.evaluate(with_iterations(2));
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST((hit->status == Status::budget_exhausted));
  BOOST_TEST(hit->reason == "max_iterations 2 reached");
  BOOST_TEST(e.evaluate(with_iterations(3)).has_value());
  BOOST_TEST(leash::MaxIterations{}.n == 20u);
}

BOOST_AUTO_TEST_CASE(token_limit, *boost::unit_test::description("reference scenario 38: 120 tokens after 2 iterations")) {
  leash::TokenLimit e{100};
  State s;
  s.metrics.input_tokens = 50;
  s.metrics.output_tokens = 10;
  BOOST_TEST(!e.evaluate(s).has_value());
  s.metrics.input_tokens = 100;
  s.metrics.output_tokens = 20;
  auto hit = e.evaluate(s);
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST((hit->status == Status::budget_exhausted));
  BOOST_TEST(hit->reason == "token_limit 100 reached");
  s.metrics.input_tokens = 90;
  s.metrics.output_tokens = 10;  // exactly the limit
  BOOST_TEST(e.evaluate(s).has_value());
}

BOOST_AUTO_TEST_CASE(cost_limit_needs_a_known_cost, *boost::unit_test::description("reference scenario 38")) {
  leash::CostLimitExit e{0.0};
  State s;
  s.metrics.input_tokens = 1'000'000;
  BOOST_TEST(!e.evaluate(s).has_value());  // unknown model: cost_usd empty, never fires
  s.metrics.cost_usd = 0.000225;
  auto hit = e.evaluate(s);
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST((hit->status == Status::budget_exhausted));
  BOOST_TEST(hit->reason == "cost_limit $0.00 reached");

  leash::CostLimitExit two{2.0};
  s.metrics.cost_usd = 1.99;
  BOOST_TEST(!two.evaluate(s).has_value());
  s.metrics.cost_usd = 2.0;
  BOOST_TEST(two.evaluate(s)->reason == "cost_limit $2.00 reached");
}

BOOST_AUTO_TEST_CASE(stagnation, *boost::unit_test::description("reference scenario 38")) {
  leash::Stagnation<2> e;
  State s;
  s.no_progress_streak = 1;
  BOOST_TEST(!e.evaluate(s).has_value());
  s.no_progress_streak = 2;
  auto hit = e.evaluate(s);
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST((hit->status == Status::no_progress));
  BOOST_TEST(hit->reason == "stagnation: 2 flat iterations");
  s.no_progress_streak = 4;
  BOOST_TEST(e.evaluate(s)->reason == "stagnation: 4 flat iterations");  // the streak, not the threshold
  s.no_progress_streak = 2;
  BOOST_TEST(!leash::Stagnation<>{}.evaluate(s).has_value());  // default 3
}

BOOST_AUTO_TEST_CASE(exit_list_first_hit_wins) {
  leash::ExitList<GoalSaysDone, leash::MaxIterations, leash::Stagnation<1>> list{GoalSaysDone{},
                                                                                  leash::MaxIterations{2},
                                                                                  leash::Stagnation<1>{}};
  State s = with_iterations(1);
  s.goal = "keep going";
  BOOST_TEST(!list.evaluate(s).has_value());

  s.no_progress_streak = 1;
  s.iterations.resize(2);  // both MaxIterations and Stagnation fire: the earlier one wins
  auto hit = list.evaluate(s);
  BOOST_REQUIRE(hit.has_value());
  BOOST_TEST(hit->reason == "max_iterations 2 reached");

  s.goal = "done";
  auto user = list.evaluate(s);
  BOOST_REQUIRE(user.has_value());
  BOOST_TEST((user->status == Status::success));
  BOOST_TEST(user->reason == "the goal says done");
  BOOST_TEST(list.get<GoalSaysDone>().calls == 3);

  leash::ExitList<> none;
  BOOST_TEST(!none.evaluate(s).has_value());
}

BOOST_AUTO_TEST_CASE(exit_list_stops_asking_after_a_hit) {
  leash::ExitList<leash::MaxIterations, GoalSaysDone> list{leash::MaxIterations{1}, GoalSaysDone{}};
  BOOST_TEST(list.evaluate(with_iterations(1)).has_value());
  BOOST_TEST(list.get<GoalSaysDone>().calls == 0);
  BOOST_TEST(!list.evaluate(with_iterations(0)).has_value());
  BOOST_TEST(list.get<GoalSaysDone>().calls == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_exit
