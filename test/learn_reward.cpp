#include <leash/learn/reward.hpp>
#include <boost/test/unit_test.hpp>

#include <limits>
#include <vector>

namespace test_learn_reward {

using namespace leash::learn;

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

RewardInput input(double latency_s, double cost_usd, std::uint64_t prompt, std::uint64_t completion) {
  RewardInput in;
  in.latency_s = latency_s;
  in.cost_usd = cost_usd;
  in.prompt_tokens = prompt;
  in.completion_tokens = completion;
  return in;
}

HeuristicReward weighted(double latency, double cost, double efficiency, double max_latency = 30.0,
                         double max_cost = 0.01) {
  HeuristicRewardOptions o;
  o.latency_weight = latency;
  o.cost_weight = cost;
  o.efficiency_weight = efficiency;
  o.max_latency_s = max_latency;
  o.max_cost_usd = max_cost;
  return HeuristicReward::make(o).value();
}

BatchSample sample(double accuracy, double energy, double latency, double cost) {
  BatchSample s;
  s.accuracy = accuracy;
  s.energy_j = energy;
  s.latency_s = latency;
  s.cost_usd = cost;
  return s;
}

/// A reward of one's own: the concept is all it needs.
struct SuccessReward {
  double compute(RewardInput const& in) const { return in.outcome == Outcome::success ? 1.0 : 0.0; }
};
struct NotAReward {
  double score(RewardInput const&) const { return 0; }
};

auto const tol = boost::test_tools::tolerance(1e-12);

}  // namespace test_learn_reward

using namespace test_learn_reward;

BOOST_AUTO_TEST_SUITE(learn_reward)

// The reference's nine HeuristicRewardFunction cases (§3), in its order.

BOOST_AUTO_TEST_CASE(instant_free_balanced_is_0_85) {
  BOOST_TEST(HeuristicReward().compute(input(0, 0, 10, 10)) == 0.85, tol);
}

BOOST_AUTO_TEST_CASE(slow_dear_no_completion_is_0) {
  BOOST_TEST(HeuristicReward().compute(input(60, 0.1, 100, 0)) == 0.0, tol);
}

BOOST_AUTO_TEST_CASE(latency_only_at_15s_is_half) {
  BOOST_TEST(weighted(1, 0, 0).compute(input(15, 0, 0, 0)) == 0.5, tol);
}

BOOST_AUTO_TEST_CASE(cost_only_at_half_a_cent_is_half) {
  BOOST_TEST(weighted(0, 1, 0).compute(input(0, 0.005, 0, 0)) == 0.5, tol);
}

BOOST_AUTO_TEST_CASE(efficiency_only_25_75_is_0_75) {
  BOOST_TEST(weighted(0, 0, 1).compute(input(0, 0, 25, 75)) == 0.75, tol);
}

BOOST_AUTO_TEST_CASE(negative_inputs_stay_in_range) {
  HeuristicReward const r;
  for (auto const& in : {input(-5, 0, 10, 10), input(0, -1, 10, 10), input(-100, -100, 0, 1)}) {
    double const v = r.compute(in);
    BOOST_TEST((v >= 0.0 && v <= 1.0));
  }
  // Worth what 0 s and $0 are worth, no more: the reference only floored each part.
  BOOST_TEST(r.compute(input(-30, -0.01, 10, 10)) == r.compute(input(0, 0, 10, 10)), tol);
}

BOOST_AUTO_TEST_CASE(custom_maxima_at_half_each_is_half) {
  BOOST_TEST(weighted(0.4, 0.3, 0.3, 10.0, 1.0).compute(input(5, 0.5, 50, 50)) == 0.5, tol);
}

BOOST_AUTO_TEST_CASE(zero_tokens_is_0_85) {
  BOOST_TEST(HeuristicReward().compute(input(0, 0, 0, 0)) == 0.85, tol);
}

BOOST_AUTO_TEST_CASE(model_query_and_response_are_ignored,
                     *boost::unit_test::description("the reference's 'extra kwargs ignored'")) {
  RewardInput in = input(3, 0.001, 40, 60);
  double const bare = HeuristicReward().compute(in);
  in.model = "gpt-oss:120b";
  in.query = "anything";
  in.response = "a long answer";
  in.outcome = Outcome::failure;
  in.feedback = 0.0;
  BOOST_TEST(HeuristicReward().compute(in) == bare);
}

// ---- beyond the catalogue -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(nan_is_the_worst) {
  HeuristicReward const r;
  BOOST_TEST(r.compute(input(not_a_number, 0, 10, 10)) == 0.45, tol);   // latency part 0
  BOOST_TEST(r.compute(input(0, not_a_number, 10, 10)) == 0.55, tol);   // cost part 0
  BOOST_TEST(r.compute(input(inf, inf, 0, 10)) == 0.3, tol);
}

BOOST_AUTO_TEST_CASE(construction_is_validated) {
  BOOST_TEST(HeuristicReward::make({}).has_value());
  auto bad = [](HeuristicRewardOptions o) {
    auto r = HeuristicReward::make(o);
    return r.has_error() && r.error() == leash::Errc::invalid_config && !r.error().message.empty();
  };
  HeuristicRewardOptions o;
  o.latency_weight = -0.1;
  BOOST_TEST(bad(o));
  o = {};
  o.cost_weight = not_a_number;
  BOOST_TEST(bad(o));
  o = {};
  o.latency_weight = o.cost_weight = o.efficiency_weight = 0.0;
  BOOST_TEST(bad(o));
  o = {};
  o.max_latency_s = 0.0;
  BOOST_TEST(bad(o));
  o = {};
  o.max_cost_usd = -1.0;
  BOOST_TEST(bad(o));
  o = {};
  o.max_cost_usd = inf;
  BOOST_TEST(bad(o));
  auto msg = HeuristicReward::make([] { HeuristicRewardOptions x; x.max_latency_s = 0; return x; }());
  BOOST_TEST(msg.error().message.find("max_latency_s") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reward_of_a_trace) {
  leash::learn::Trace t;
  t.query = "q";
  t.model = "m";
  t.result = "answer";
  t.outcome = Outcome::success;
  t.feedback = 0.7;
  t.total_latency_s = 15.0;
  t.cost_usd = 0.005;
  t.prompt_tokens = 25;
  t.completion_tokens = 75;
  auto in = reward_of(t);
  BOOST_TEST(in.latency_s == 15.0);
  BOOST_TEST(in.cost_usd == 0.005);
  BOOST_TEST(in.prompt_tokens == 25u);
  BOOST_TEST(in.completion_tokens == 75u);
  BOOST_TEST(in.model == "m");
  BOOST_TEST(in.query == "q");
  BOOST_TEST(in.response == "answer");
  BOOST_TEST((in.outcome == Outcome::success));
  BOOST_TEST(in.feedback.value_or(-1) == 0.7);
  BOOST_TEST(HeuristicReward().compute(in) == 0.4 * 0.5 + 0.3 * 0.5 + 0.3 * 0.75, tol);
  t.cost_usd.reset();  // unpriced: free
  BOOST_TEST(reward_of(t).cost_usd == 0.0);
}

BOOST_AUTO_TEST_CASE(reward_concept) {
  static_assert(Reward<HeuristicReward> && Reward<SuccessReward>);
  static_assert(!Reward<NotAReward> && !Reward<int>);
  static_assert(check_reward<SuccessReward>());
  RewardInput in;
  in.outcome = Outcome::success;
  BOOST_TEST(SuccessReward{}.compute(in) == 1.0);
}

BOOST_AUTO_TEST_CASE(batch_needs_two_runs_and_spread) {
  std::vector<BatchSample> one = {sample(1, 10, 2, 0.1)};
  BOOST_TEST(score_batch(one) == std::vector<double>{0.5});
  std::vector<BatchSample> same = {sample(1, 10, 2, 0.1), sample(0, 10, 2, 0.1), sample(1, 10, 2, 0.1)};
  BOOST_TEST(score_batch(same) == (std::vector<double>{0.5, 0.0, 0.5}));
  BOOST_TEST(score_batch({}).empty());
  // Values equal up to rounding are no spread either.
  std::vector<BatchSample> rounding = {sample(0, 0.1, 0, 0), sample(0, 0.1, 0, 0), sample(0, 0.1, 0, 0)};
  BOOST_TEST(score_batch(rounding) == (std::vector<double>{0.0, 0.0, 0.0}));
}

BOOST_AUTO_TEST_CASE(batch_z_scores) {
  // energy 1, 3: mean 2, population sd 1, z = −1, +1; latency and cost flat.
  std::vector<BatchSample> s = {sample(1, 1, 5, 0.2), sample(1, 3, 5, 0.2)};
  auto r = score_batch(s);
  BOOST_TEST(r[0] == 0.5 + 0.1, tol);
  BOOST_TEST(r[1] == 0.5 - 0.1, tol);
  // cost 1, 2, 3: mean 2, sd sqrt(2/3).
  std::vector<BatchSample> c = {sample(0, 0, 0, 1), sample(0, 0, 0, 2), sample(0, 0, 0, 3)};
  auto rc = score_batch(c);
  double const z = 1.0 / std::sqrt(2.0 / 3.0);
  BOOST_TEST(rc[0] == 0.3 * z, tol);
  BOOST_TEST(rc[1] == 0.0, tol);
  BOOST_TEST(rc[2] == -0.3 * z, tol);
  BatchWeights w;
  w.accuracy = 1.0;
  w.cost = 0.0;
  auto rw = score_batch(c, w);
  BOOST_TEST(rw == (std::vector<double>{0.0, 0.0, 0.0}));
}

BOOST_AUTO_TEST_CASE(batch_non_finite_is_the_worst) {
  std::vector<BatchSample> s = {sample(1, 1, 0, 0), sample(1, 3, 0, 0), sample(not_a_number, not_a_number, 0, 0)};
  auto r = score_batch(s);
  BOOST_TEST(r[0] == 0.5 + 0.1, tol);
  BOOST_TEST(r[1] == 0.5 - 0.1, tol);
  BOOST_TEST(r[2] == 0.0 - 0.1, tol);  // accuracy 0, energy as bad as the worst
}

BOOST_AUTO_TEST_SUITE_END()
