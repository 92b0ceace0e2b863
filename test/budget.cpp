#include <leash/budget.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <variant>

namespace test_budget {

using leash::BudgetStop;
using leash::LoopConfig;
using leash::State;

State spent(std::uint64_t input, std::uint64_t output, std::size_t iterations = 0) {
  State s;
  s.metrics.input_tokens = input;
  s.metrics.output_tokens = output;
  s.iterations.resize(iterations);
  return s;
}

LoopConfig tokens(std::uint64_t limit, std::uint64_t per_call) {
  LoopConfig c;
  c.token_limit = limit;
  c.max_tokens_per_call = per_call;
  return c;
}

std::string reason_of(std::optional<BudgetStop> const& s) { return s ? s->reason : std::string("<none>"); }

/// The allowance, or 0 and a failed check when the call was refused.
std::uint64_t allowed(std::variant<std::uint64_t, BudgetStop> const& v) {
  if (auto const* stop = std::get_if<BudgetStop>(&v)) {
    BOOST_ERROR("call refused: " << stop->reason);
    return 0;
  }
  return std::get<std::uint64_t>(v);
}

std::string refused(std::variant<std::uint64_t, BudgetStop> const& v) {
  if (auto const* stop = std::get_if<BudgetStop>(&v)) return stop->reason;
  BOOST_ERROR("call allowed " << std::get<std::uint64_t>(v) << " tokens");
  return {};
}

}  // namespace test_budget

using namespace test_budget;

BOOST_AUTO_TEST_SUITE(budget)

BOOST_AUTO_TEST_CASE(nothing_reached) {
  LoopConfig c;
  BOOST_TEST(!leash::ceiling_reached(spent(100, 20, 3), c, 1.0, true).has_value());
}

BOOST_AUTO_TEST_CASE(ceilings_in_reference_order_with_exact_reasons) {
  LoopConfig c;
  c.max_iterations = 1;
  c.token_limit = 120;
  c.wall_clock_s = 0.5;
  c.cost_limit_usd = 2.5;
  State s = spent(100, 20, 1);
  s.metrics.cost_usd = 3.0;
  // Everything reached at once: iterations first.
  BOOST_TEST(reason_of(leash::ceiling_reached(s, c, 10.0, true)) == "max_iterations (1) reached");
  c.max_iterations = 20;
  BOOST_TEST(reason_of(leash::ceiling_reached(s, c, 10.0, true)) == "token_limit (120) reached");
  c.token_limit = 500000;
  BOOST_TEST(reason_of(leash::ceiling_reached(s, c, 10.0, true)) == "wall_clock limit (0s) reached");
  c.wall_clock_s = 1800;
  BOOST_TEST(reason_of(leash::ceiling_reached(s, c, 10.0, true)) ==
             "cost_limit ($2.50) reached — estimate; tokens authoritative");
}

BOOST_AUTO_TEST_CASE(token_reason_uses_thousands_separators) {
  LoopConfig c;
  BOOST_TEST(reason_of(leash::ceiling_reached(spent(500000, 0), c, 0.0, true)) == "token_limit (500,000) reached");
  BOOST_TEST(!leash::ceiling_reached(spent(499999, 0), c, 0.0, true).has_value());
}

BOOST_AUTO_TEST_CASE(wall_clock_at_the_limit) {
  LoopConfig c;
  c.wall_clock_s = 60;
  BOOST_TEST(!leash::ceiling_reached(State{}, c, 59.9, true).has_value());
  BOOST_TEST(reason_of(leash::ceiling_reached(State{}, c, 60.0, true)) == "wall_clock limit (60s) reached");
}

BOOST_AUTO_TEST_CASE(cost_ceiling_needs_limit_usd_and_known_cost) {
  LoopConfig c;
  State s;
  s.metrics.cost_usd = 5.0;
  BOOST_TEST(!leash::ceiling_reached(s, c, 0.0, true).has_value());  // no cost limit
  c.cost_limit_usd = 2.5;
  BOOST_TEST(!leash::ceiling_reached(s, c, 0.0, false).has_value());  // USD off (token-only)
  s.metrics.cost_usd.reset();
  BOOST_TEST(!leash::ceiling_reached(s, c, 0.0, true).has_value());  // unknown model
  s.metrics.cost_usd = 2.49;
  BOOST_TEST(!leash::ceiling_reached(s, c, 0.0, true).has_value());
}

BOOST_AUTO_TEST_CASE(allowance_clamps_to_max_tokens_per_call) {
  BOOST_TEST(allowed(leash::call_allowance(State{}, tokens(500000, 4096), 100, std::nullopt, true)) == 4096u);
  BOOST_TEST(allowed(leash::call_allowance(spent(50, 10), tokens(200, 100), 0, std::nullopt, true)) == 100u);
}

BOOST_AUTO_TEST_CASE(allowance_clamps_to_what_remains_after_the_input,
                     *boost::unit_test::description("reference scenario 42 pattern, without its floor of 16")) {
  auto c = tokens(200, 100);
  BOOST_TEST(allowed(leash::call_allowance(spent(90, 90), c, 0, std::nullopt, true)) == 20u);
  BOOST_TEST(allowed(leash::call_allowance(spent(90, 90), c, 15, std::nullopt, true)) == 5u);
  BOOST_TEST(allowed(leash::call_allowance(spent(100, 0), c, 40, std::nullopt, true)) == 60u);
}

BOOST_AUTO_TEST_CASE(allowance_has_no_floor) {
  auto c = tokens(200, 100);
  auto why = refused(leash::call_allowance(spent(195, 0), c, 10, std::nullopt, true));  // 5 remain, 10 needed
  BOOST_TEST(why.find("token_limit (200) reached") == 0u);
  BOOST_TEST(why.find("10 input tokens and 5 remain") != std::string::npos);
  BOOST_TEST(!refused(leash::call_allowance(spent(195, 0), c, 5, std::nullopt, true)).empty());  // input == remaining
  BOOST_TEST(allowed(leash::call_allowance(spent(195, 0), c, 4, std::nullopt, true)) == 1u);
  BOOST_TEST(!refused(leash::call_allowance(spent(300, 0), c, 0, std::nullopt, true)).empty());  // already over
  BOOST_TEST(refused(leash::call_allowance(State{}, tokens(200, 0), 0, std::nullopt, true)).find("no output tokens") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(allowance_clamps_to_the_cost_limit) {
  auto c = tokens(1'000'000'000, 100'000);
  c.cost_limit_usd = 1.0;
  leash::ModelPrice price{0.0, 10.0};  // $10 per million output tokens
  State s;
  s.metrics.cost_usd = 0.5;             // $0.50 left: 50 000 output tokens
  BOOST_TEST(allowed(leash::call_allowance(s, c, 0, price, true)) == 50'000u);

  leash::ModelPrice with_input{2.0, 10.0};  // 100 000 input tokens cost $0.20 first
  BOOST_TEST(allowed(leash::call_allowance(s, c, 100'000, with_input, true)) == 30'000u);

  // No clamp without a price, with USD off, or with free output.
  BOOST_TEST(allowed(leash::call_allowance(s, c, 0, std::nullopt, true)) == 100'000u);
  BOOST_TEST(allowed(leash::call_allowance(s, c, 0, price, false)) == 100'000u);
  BOOST_TEST(allowed(leash::call_allowance(s, c, 0, leash::ModelPrice{1.0, 0.0}, true)) == 100'000u);
}

BOOST_AUTO_TEST_CASE(allowance_refused_when_the_cost_is_spent) {
  auto c = tokens(1'000'000'000, 100'000);
  c.cost_limit_usd = 1.0;
  State s;
  s.metrics.cost_usd = 1.0;
  std::string const cost_reason = "cost_limit ($1.00) reached — estimate; tokens authoritative";
  BOOST_TEST(refused(leash::call_allowance(s, c, 0, leash::ModelPrice{1.0, 10.0}, true)) == cost_reason);
  // Less than one output token's worth left: refused for cost, not for tokens.
  s.metrics.cost_usd = 1.0 - 5e-6;
  BOOST_TEST(refused(leash::call_allowance(s, c, 0, leash::ModelPrice{0.0, 10.0}, true)) == cost_reason);
}

BOOST_AUTO_TEST_SUITE_END()
