#include <leash/learn/session_loop.hpp>
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_learn_session_loop {

namespace asio = boost::asio;
using leash::Errc;
using leash::learn::CostBudget;
using leash::learn::DefaultStops;
using leash::learn::SessionBudget;
using leash::learn::SessionFailed;
using leash::learn::SessionHistory;
using leash::learn::SessionLoop;
using leash::learn::SessionRecord;
using leash::learn::Stagnation;
using leash::learn::StopKind;
using leash::learn::StopList;
using leash::learn::StopReason;

/// What one scripted session does.
struct Step {
  std::optional<double> score;
  double cost = 0.0;
  bool failed = false;
  bool error = false;       ///< return an Error instead of a record
  bool raise = false;       ///< throw instead of returning
  double charge = 0.0;      ///< charged through the SessionBudget before ending
};

Step scored(double score, double cost = 0.0) {
  Step s;
  s.score = score;
  s.cost = cost;
  return s;
}

/// Plays its steps in order (the last one again when they run out) and keeps
/// the budgets it was handed.
struct ScriptedSession {
  std::vector<Step> steps;
  std::shared_ptr<std::vector<SessionBudget>> budgets = std::make_shared<std::vector<SessionBudget>>();
  std::size_t next = 0;

  asio::awaitable<leash::result<SessionRecord>> run(SessionBudget budget) {
    budgets->push_back(budget);
    Step const step = steps.at(std::min(next, steps.size() - 1));
    ++next;
    budget.charge(step.charge);
    if (step.raise) throw std::runtime_error("teacher crashed");
    if (step.error) co_return leash::Error{Errc::planner_failed, "teacher unreachable"};
    SessionRecord r;
    r.score = step.score;
    r.cost_usd = step.cost;
    r.failed = step.failed;
    if (step.failed) r.error = "not enough traces";
    co_return r;
  }
};

static_assert(leash::learn::Session<ScriptedSession>);
static_assert(leash::learn::StopCondition<Stagnation<1>>);  // the twin of Stagnation<0>, which must not compile
static_assert(leash::learn::StopCondition<CostBudget>);
static_assert(leash::learn::StopCondition<SessionFailed>);
static_assert(leash::learn::StopCondition<DefaultStops>);

/// The reference's loop: SpecSearchLoop(stagnation_k = k, stagnation_eps = eps,
/// max_total_cost_usd = budget).
template <int K>
using RefStops = StopList<SessionFailed, Stagnation<K>, CostBudget>;

template <int K>
RefStops<K> ref_stops(double budget = 50.0, double eps = 0.001) {
  Stagnation<K> stagnation;
  stagnation.eps = eps;
  return RefStops<K>(SessionFailed{}, stagnation, CostBudget::make(budget).value());
}

template <int K>
leash::learn::SessionLoopResult run(std::vector<Step> steps, RefStops<K> stops) {
  SessionLoop<ScriptedSession, RefStops<K>> loop(ScriptedSession{std::move(steps)}, std::move(stops));
  auto r = loop.run();
  BOOST_TEST_REQUIRE(r.has_value(), (r ? std::string() : r.error().what()));
  return std::move(r).value();
}

}  // namespace test_learn_session_loop

using namespace test_learn_session_loop;

BOOST_AUTO_TEST_SUITE(learn_session_loop)

// ---- the reference's seven cases (§3 "multi-session [7]") ------------------

BOOST_AUTO_TEST_CASE(zero_budget_is_rejected, *boost::unit_test::description("budget 0 → ValueError in the reference")) {
  auto zero = CostBudget::make(0.0);
  BOOST_TEST_REQUIRE(zero.has_error());
  BOOST_TEST(zero.error() == Errc::invalid_config);
  BOOST_TEST(zero.error().what().find("max_total_usd") != std::string::npos);
  BOOST_TEST(CostBudget::make(-1.0).has_error());
  BOOST_TEST(CostBudget::make(std::nan("")).has_error());
  BOOST_TEST(CostBudget::make(0.01).has_value());
  BOOST_TEST(CostBudget{}.max_total_usd() == 50.0);
}

BOOST_AUTO_TEST_CASE(zero_k_is_a_compile_error,
                     *boost::unit_test::description("k 0 → ValueError in the reference; here Stagnation<0> does not "
                                                    "compile (static_assert), and k and eps keep their defaults")) {
  BOOST_TEST(Stagnation<>::k == 5);
  BOOST_TEST(Stagnation<>{}.eps == 0.001);
  BOOST_TEST(Stagnation<1>::k == 1);
  // An eps that cannot work is refused before the first session.
  Stagnation<3> bad;
  bad.eps = -0.1;
  BOOST_TEST(bad.validate().has_error());
  bad.eps = std::numeric_limits<double>::quiet_NaN();
  BOOST_TEST(bad.validate().has_error());
}

BOOST_AUTO_TEST_CASE(flat_scores_stagnate, *boost::unit_test::description("four sessions at 0.6, k 3 → stagnation after 4, best 0.6")) {
  auto r = run<3>({scored(0.6), scored(0.6), scored(0.6), scored(0.6), scored(0.6)}, ref_stops<3>());
  BOOST_TEST(r.sessions.size() == 4u);
  BOOST_TEST((r.stop_reason.kind == StopKind::stagnation));
  BOOST_TEST(r.best_overall_score == 0.6);
  BOOST_TEST(r.stop_reason.message.find("stagnation") == 0u);
}

BOOST_AUTO_TEST_CASE(budget_stops_rising_scores, *boost::unit_test::description("costs 2,2,2,2,3, budget 10 → budget after 5, best 0.9")) {
  auto r = run<5>({scored(0.5, 2), scored(0.6, 2), scored(0.7, 2), scored(0.8, 2), scored(0.9, 3), scored(1.0, 1)},
                  ref_stops<5>(10.0));
  BOOST_TEST(r.sessions.size() == 5u);
  BOOST_TEST((r.stop_reason.kind == StopKind::budget));
  BOOST_TEST(r.best_overall_score == 0.9);
  BOOST_TEST(r.total_cost_usd == 11.0);
}

BOOST_AUTO_TEST_CASE(failed_session_stops, *boost::unit_test::description("2nd session failed → failed, 2 sessions")) {
  Step failed;
  failed.failed = true;
  auto r = run<5>({scored(0.5, 1), failed, scored(0.9, 1)}, ref_stops<5>());
  BOOST_TEST(r.sessions.size() == 2u);
  BOOST_TEST((r.stop_reason.kind == StopKind::failed));
  BOOST_TEST(r.sessions[1].failed);
  BOOST_TEST(r.stop_reason.message.find("not enough traces") != std::string::npos);
  BOOST_TEST(r.best_overall_score == 0.5);
}

BOOST_AUTO_TEST_CASE(costs_add_up, *boost::unit_test::description("costs 1+2+3 → 6.0")) {
  auto r = run<3>({scored(0.0, 1), scored(0.0, 2), scored(0.0, 3)}, ref_stops<3>());
  BOOST_TEST(r.sessions.size() == 3u);
  BOOST_TEST((r.stop_reason.kind == StopKind::stagnation));
  BOOST_TEST(r.total_cost_usd == 6.0);
}

BOOST_AUTO_TEST_CASE(improvements_below_eps_do_not_count,
                     *boost::unit_test::description("0.5, 0.5005, 0.5009 (eps 0.001, k 2) → stagnation after 3, best 0.5")) {
  auto r = run<2>({scored(0.5), scored(0.5005), scored(0.5009), scored(0.9)}, ref_stops<2>(50.0, 0.001));
  BOOST_TEST(r.sessions.size() == 3u);
  BOOST_TEST((r.stop_reason.kind == StopKind::stagnation));
  BOOST_TEST(r.best_overall_score == 0.5);
}

// ---- precedence and the default list ---------------------------------------

BOOST_AUTO_TEST_CASE(stagnation_wins_over_budget) {
  // Session 3 both completes the streak (k 2) and spends the budget.
  auto r = run<2>({scored(0.5, 1), scored(0.5, 1), scored(0.5, 1)}, ref_stops<2>(3.0));
  BOOST_TEST(r.sessions.size() == 3u);
  BOOST_TEST((r.stop_reason.kind == StopKind::stagnation));
}

BOOST_AUTO_TEST_CASE(failed_wins_over_stagnation_and_budget) {
  Step failed;
  failed.failed = true;
  failed.cost = 5.0;
  auto r = run<2>({scored(0.5, 1), scored(0.5, 1), failed}, ref_stops<2>(3.0));
  BOOST_TEST(r.sessions.size() == 3u);
  BOOST_TEST((r.stop_reason.kind == StopKind::failed));
  BOOST_TEST(r.total_cost_usd == 7.0);
}

BOOST_AUTO_TEST_CASE(default_stops_are_the_reference) {
  SessionLoop<ScriptedSession> loop(ScriptedSession{{scored(0.7, 1)}});
  auto r = loop.run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().sessions.size() == 6u);  // one improvement, then five flat sessions
  BOOST_TEST((r.value().stop_reason.kind == StopKind::stagnation));
  BOOST_TEST(loop.stops().get<CostBudget>().max_total_usd() == 50.0);
  BOOST_TEST(loop.history().size() == 6u);
}

BOOST_AUTO_TEST_CASE(unmeasured_score_counts_as_zero) {
  Step unmeasured;  // no score
  auto r = run<2>({unmeasured, unmeasured}, ref_stops<2>());
  BOOST_TEST(r.sessions.size() == 2u);
  BOOST_TEST(r.best_overall_score == 0.0);
}

// ---- what leash does better -------------------------------------------------

BOOST_AUTO_TEST_CASE(session_is_handed_the_remaining_budget) {
  ScriptedSession session{{scored(0.5, 3), scored(0.6, 4), scored(0.7, 2.5), scored(0.8, 1)}};
  auto budgets = session.budgets;
  SessionLoop<ScriptedSession, RefStops<5>> loop(std::move(session), ref_stops<5>(10.0));
  auto r = loop.run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST_REQUIRE(budgets->size() == 4u);
  BOOST_TEST((*budgets)[0].remaining_usd == 10.0);
  BOOST_TEST((*budgets)[1].remaining_usd == 7.0);
  BOOST_TEST((*budgets)[2].remaining_usd == 3.0);
  BOOST_TEST((*budgets)[3].remaining_usd == 0.5);
  BOOST_TEST((*budgets)[3].session_index == 3u);
  BOOST_TEST((r.value().stop_reason.kind == StopKind::budget));
  BOOST_TEST(r.value().total_cost_usd == 10.5);  // the session's own report; it was told 0.5 was its ceiling
}

BOOST_AUTO_TEST_CASE(no_ceiling_without_a_budget_condition) {
  ScriptedSession session{{scored(0.5, 3)}};
  auto budgets = session.budgets;
  SessionLoop<ScriptedSession, StopList<Stagnation<1>>> loop(std::move(session));
  auto r = loop.run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST_REQUIRE(budgets->size() == 2u);
  BOOST_TEST(std::isinf((*budgets)[0].remaining_usd));
}

BOOST_AUTO_TEST_CASE(error_result_is_a_failed_session_with_its_cost) {
  Step error;
  error.error = true;
  error.charge = 1.25;  // what the session spent before it gave up
  auto r = run<5>({scored(0.5, 1), error}, ref_stops<5>());
  BOOST_TEST_REQUIRE(r.sessions.size() == 2u);
  BOOST_TEST((r.stop_reason.kind == StopKind::failed));
  BOOST_TEST(r.sessions[1].failed);
  BOOST_TEST(r.sessions[1].cost_usd == 1.25);
  BOOST_TEST(r.sessions[1].error.find("teacher unreachable") != std::string::npos);
  BOOST_TEST(r.total_cost_usd == 2.25);
}

BOOST_AUTO_TEST_CASE(exception_is_a_failed_session_with_its_cost) {
  Step raise;
  raise.raise = true;
  raise.charge = 0.5;
  auto r = run<5>({raise}, ref_stops<5>());
  BOOST_TEST_REQUIRE(r.sessions.size() == 1u);
  BOOST_TEST((r.stop_reason.kind == StopKind::failed));
  BOOST_TEST(r.sessions[0].error.find("teacher crashed") != std::string::npos);
  BOOST_TEST(r.total_cost_usd == 0.5);
}

BOOST_AUTO_TEST_CASE(charged_cost_is_never_undercounted) {
  Step s = scored(0.5, 0.25);
  s.charge = 0.75;  // reported less than it charged: the charge counts
  auto r = run<1>({s}, ref_stops<1>(0.5));
  BOOST_TEST_REQUIRE(r.sessions.size() == 1u);
  BOOST_TEST((r.stop_reason.kind == StopKind::budget));
  BOOST_TEST(r.total_cost_usd == 0.75);
  BOOST_TEST(r.sessions[0].cost_usd == 0.75);
}

BOOST_AUTO_TEST_CASE(without_failed_condition_a_failure_is_no_improvement) {
  Step failed = scored(0.9);
  failed.failed = true;
  SessionLoop<ScriptedSession, StopList<Stagnation<2>>> loop(ScriptedSession{{scored(0.5), failed, failed}});
  auto r = loop.run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().sessions.size() == 3u);
  BOOST_TEST(r.value().best_overall_score == 0.5);
}

BOOST_AUTO_TEST_CASE(invalid_eps_fails_before_any_session) {
  Stagnation<2> stagnation;
  stagnation.eps = -1.0;
  ScriptedSession session{{scored(0.5)}};
  auto budgets = session.budgets;
  SessionLoop<ScriptedSession, StopList<Stagnation<2>>> loop(std::move(session), StopList<Stagnation<2>>(stagnation));
  auto r = loop.run();
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::invalid_config);
  BOOST_TEST(budgets->empty());
}

BOOST_AUTO_TEST_CASE(history_uses_the_stagnation_eps) {
  // eps 0.1: 0.55 is no improvement on 0.5, so the best stays 0.5.
  auto r = run<2>({scored(0.5), scored(0.55), scored(0.58)}, ref_stops<2>(50.0, 0.1));
  BOOST_TEST(r.sessions.size() == 3u);
  BOOST_TEST(r.best_overall_score == 0.5);

  SessionHistory h(0.001);
  SessionRecord a, b;
  a.score = 0.5;
  b.score = 0.55;
  h.add(a);
  h.add(b);
  BOOST_TEST(h.best_score() == 0.55);
  BOOST_TEST(h.streak() == 0u);
  BOOST_TEST(h.streak_for(0.1) == 1u);
  BOOST_TEST(h.best_score_for(0.1) == 0.5);
}

BOOST_AUTO_TEST_CASE(bad_costs_count_as_zero) {
  SessionHistory h;
  SessionRecord a;
  a.cost_usd = -3.0;
  h.add(a);
  a.cost_usd = std::nan("");
  h.add(a);
  BOOST_TEST(h.total_cost_usd() == 0.0);
}

/// A user's own stop condition: ends the loop once a target score is reached.
struct TargetScore {
  double target = 0.8;
  std::optional<StopReason> evaluate(SessionHistory const& h) const {
    if (h.best_score() >= target) return StopReason{StopKind::stagnation, "target reached"};
    return std::nullopt;
  }
};
static_assert(leash::learn::StopCondition<TargetScore>);

BOOST_AUTO_TEST_CASE(user_stop_condition) {
  SessionLoop<ScriptedSession, StopList<SessionFailed, TargetScore, CostBudget>> loop(
      ScriptedSession{{scored(0.5), scored(0.7), scored(0.85), scored(0.9)}});
  auto r = loop.run();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().sessions.size() == 3u);
  BOOST_TEST(r.value().stop_reason.message == "target reached");
}

BOOST_AUTO_TEST_CASE(async_run_shares_an_io_context) {
  asio::io_context io;
  SessionLoop<ScriptedSession, RefStops<1>> a(ScriptedSession{{scored(0.5)}}, ref_stops<1>());
  SessionLoop<ScriptedSession, RefStops<2>> b(ScriptedSession{{scored(0.5)}}, ref_stops<2>());
  std::optional<leash::result<leash::learn::SessionLoopResult>> ra, rb;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { ra.emplace(co_await a.async_run()); }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { rb.emplace(co_await b.async_run()); }, asio::detached);
  io.run();
  BOOST_TEST_REQUIRE((ra && ra->has_value() && rb && rb->has_value()));
  BOOST_TEST(ra->value().sessions.size() == 2u);
  BOOST_TEST(rb->value().sessions.size() == 3u);
}

BOOST_AUTO_TEST_CASE(stop_kind_names) {
  BOOST_TEST(leash::learn::to_string(StopKind::stagnation) == "stagnation");
  BOOST_TEST(leash::learn::to_string(StopKind::budget) == "budget");
  BOOST_TEST(leash::learn::to_string(StopKind::failed) == "failed");
}

BOOST_AUTO_TEST_CASE(session_budget_accounting) {
  SessionBudget b(2.0);
  SessionBudget copy = b;
  copy.charge(0.5);
  b.charge(-1.0);
  b.charge(std::nan(""));
  BOOST_TEST(b.spent_usd() == 0.5);
  BOOST_TEST(b.left_usd() == 1.5);
  copy.charge(2.0);
  BOOST_TEST(b.exhausted());
  BOOST_TEST(std::isinf(SessionBudget{}.remaining_usd));
}

BOOST_AUTO_TEST_SUITE_END()
