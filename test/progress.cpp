#include <leash/progress.hpp>
#include <boost/test/unit_test.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace test_progress {

using leash::IterationRecord;
using leash::State;
using leash::Trend;

IterationRecord iteration(std::initializer_list<char const*> fingerprints, std::optional<double> metric = std::nullopt,
                          bool regression = false) {
  IterationRecord it;
  for (auto fp : fingerprints) {
    leash::ActionRecord a;
    a.tool = "fix";
    a.fingerprint = fp;
    it.actions.push_back(a);
  }
  if (metric) {
    it.metric = leash::MetricSnapshot{};
    it.metric->value = *metric;
    it.metric->regression = regression;
  }
  return it;
}

IterationRecord invalid_plan(std::optional<double> metric = std::nullopt) {
  IterationRecord it = iteration({}, metric);
  it.plan_invalid = true;
  return it;
}

/// Appends `it` the way the loop records it: evaluate, then store flags and streaks.
leash::ProgressReport record(State& s, IterationRecord it) {
  auto r = leash::evaluate_progress(s, it);
  it.index = s.iterations.size();
  it.repetition = r.repetition;
  s.no_progress_streak = r.no_progress_streak;
  s.plan_invalid_streak = r.plan_invalid_streak;
  s.iterations.push_back(std::move(it));
  return r;
}

State after(IterationRecord prev, std::uint64_t streak = 0) {
  State s;
  s.iterations.push_back(std::move(prev));
  s.no_progress_streak = streak;
  return s;
}

struct Measures {
  leash::MetricSnapshot measure(std::string_view obs, State const&) const {
    leash::MetricSnapshot m;
    m.value = double(obs.size());
    return m;
  }
};
struct MeasuresAndJudges : Measures {
  bool is_success(leash::MetricSnapshot const& m) const { return m.value == 0.0; }
};

static_assert(leash::GoalMetric<Measures>);
static_assert(!leash::GoalMetric<int>);

}  // namespace test_progress

using namespace test_progress;

BOOST_AUTO_TEST_SUITE(progress)

BOOST_AUTO_TEST_CASE(repetition_compares_fingerprint_sets) {
  State s = after(iteration({"a", "b"}));
  BOOST_TEST(leash::evaluate_progress(s, iteration({"a", "b"})).repetition);
  BOOST_TEST(leash::evaluate_progress(s, iteration({"b", "a", "a"})).repetition);  // order, duplicates ignored
  BOOST_TEST(!leash::evaluate_progress(s, iteration({"a"})).repetition);
  BOOST_TEST(!leash::evaluate_progress(s, iteration({"a", "b", "c"})).repetition);
}

BOOST_AUTO_TEST_CASE(repetition_needs_actions_and_a_previous_iteration) {
  State empty_prev = after(iteration({}));
  BOOST_TEST(!leash::evaluate_progress(empty_prev, iteration({})).repetition);
  State first;
  BOOST_TEST(!leash::evaluate_progress(first, iteration({"a"})).repetition);
}

BOOST_AUTO_TEST_CASE(delta_and_trend) {
  State s = after(iteration({"x"}, -2.0));
  auto up = leash::evaluate_progress(s, iteration({"y"}, -1.0));
  BOOST_TEST(up.metric_delta.value() == 1.0);
  BOOST_TEST((up.trend == Trend::improving));

  auto down = leash::evaluate_progress(s, iteration({"y"}, -3.0));
  BOOST_TEST(down.metric_delta.value() == -1.0);
  BOOST_TEST((down.trend == Trend::regressing));

  auto same = leash::evaluate_progress(s, iteration({"y"}, -2.0));
  BOOST_TEST(same.metric_delta.value() == 0.0);
  BOOST_TEST((same.trend == Trend::flat));

  // The metric's own regression flag wins over a rising value.
  auto flagged = leash::evaluate_progress(s, iteration({"y"}, 5.0, true));
  BOOST_TEST((flagged.trend == Trend::regressing));
  BOOST_TEST(flagged.metric_delta.value() == 7.0);

  // No delta without both metrics.
  auto none = leash::evaluate_progress(s, iteration({"y"}));
  BOOST_TEST(!none.metric_delta.has_value());
  BOOST_TEST((none.trend == Trend::unknown));
  State no_prev_metric = after(iteration({"x"}));
  auto unknown = leash::evaluate_progress(no_prev_metric, iteration({"y"}, 1.0));
  BOOST_TEST(!unknown.metric_delta.has_value());
  BOOST_TEST((unknown.trend == Trend::unknown));

  BOOST_TEST(leash::to_string(Trend::unknown) == "unknown");
  BOOST_TEST(leash::to_string(Trend::improving) == "improving");
  BOOST_TEST(leash::to_string(Trend::flat) == "flat");
  BOOST_TEST(leash::to_string(Trend::regressing) == "regressing");
}

BOOST_AUTO_TEST_CASE(streak_grows_on_repetition_with_flat_or_unknown_delta) {
  State flat = after(iteration({"a"}, -1.0), 2);
  BOOST_TEST(leash::evaluate_progress(flat, iteration({"a"}, -1.0)).no_progress_streak == 3u);
  State unknown = after(iteration({"a"}), 2);
  BOOST_TEST(leash::evaluate_progress(unknown, iteration({"a"})).no_progress_streak == 3u);
}

BOOST_AUTO_TEST_CASE(streak_resets_when_the_metric_moves_or_actions_change) {
  State s = after(iteration({"a"}, -2.0), 2);
  BOOST_TEST(leash::evaluate_progress(s, iteration({"a"}, -1.0)).no_progress_streak == 0u);  // repeated, but moved
  BOOST_TEST(leash::evaluate_progress(s, iteration({"a"}, -3.0)).no_progress_streak == 0u);  // moved the wrong way
  BOOST_TEST(leash::evaluate_progress(s, iteration({"b"}, -2.0)).no_progress_streak == 0u);  // new action
}

BOOST_AUTO_TEST_CASE(streak_grows_on_plan_invalid) {
  State s = after(iteration({"a"}, -1.0), 1);
  auto r = leash::evaluate_progress(s, invalid_plan(-1.0));
  BOOST_TEST(r.no_progress_streak == 2u);
  BOOST_TEST(r.plan_invalid_streak == 1u);
  BOOST_TEST(leash::evaluate_progress(s, invalid_plan(0.0)).no_progress_streak == 0u);  // metric moved
}

BOOST_AUTO_TEST_CASE(text_only_iterations_count_as_no_progress_unlike_reference_bug_9,
                     *boost::unit_test::description("the reference reset the streak here (tightloop §5 item 9, scenario 47)")) {
  State s = after(iteration({"a"}, -1.0), 1);
  BOOST_TEST(leash::evaluate_progress(s, iteration({}, -1.0)).no_progress_streak == 2u);
  BOOST_TEST(leash::evaluate_progress(s, iteration({})).no_progress_streak == 2u);
  BOOST_TEST(leash::evaluate_progress(s, iteration({}, 0.0)).no_progress_streak == 0u);  // the world changed anyway

  // A chatty planner that never calls a tool stalls from its first iteration.
  State chat;
  std::vector<std::uint64_t> streaks;
  for (int i = 0; i < 3; ++i) streaks.push_back(record(chat, iteration({})).no_progress_streak);
  BOOST_TEST((streaks == std::vector<std::uint64_t>{1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(plan_invalid_streak_counts_consecutive_invalid_plans) {
  State s;
  BOOST_TEST(record(s, invalid_plan()).plan_invalid_streak == 1u);
  BOOST_TEST(record(s, invalid_plan()).plan_invalid_streak == 2u);
  BOOST_TEST(s.no_progress_streak == 2u);  // reference scenario 3: streaks go 1, then 2
  BOOST_TEST(record(s, iteration({"a"})).plan_invalid_streak == 0u);
  BOOST_TEST(record(s, invalid_plan()).plan_invalid_streak == 1u);
}

BOOST_AUTO_TEST_CASE(reference_scenario_4_repetition_flags_and_streaks) {
  State s;
  std::vector<bool> repetition;
  std::vector<std::uint64_t> streaks;
  for (int i = 0; i < 4; ++i) {
    auto r = record(s, iteration({"fp-zz"}, -2.0));
    repetition.push_back(r.repetition);
    streaks.push_back(r.no_progress_streak);
  }
  BOOST_TEST((repetition == std::vector<bool>{false, true, true, true}));
  BOOST_TEST((streaks == std::vector<std::uint64_t>{0, 1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(reference_scenario_60_trends) {
  State s;
  std::vector<Trend> trends;
  trends.push_back(record(s, iteration({"a"}, 0.0)).trend);
  trends.push_back(record(s, iteration({"b"}, -1.0)).trend);
  trends.push_back(record(s, iteration({"c"}, -1.0, true)).trend);
  trends.push_back(record(s, iteration({"d"}, 5.0)).trend);
  std::vector<Trend> expected{Trend::unknown, Trend::regressing, Trend::regressing, Trend::improving};
  BOOST_TEST((trends == expected));
}

BOOST_AUTO_TEST_CASE(any_goal_metric_forwards_and_defaults_is_success_to_false) {
  leash::AnyGoalMetric none;
  BOOST_TEST(!none);

  State s;
  leash::AnyGoalMetric plain{Measures{}};
  BOOST_TEST(static_cast<bool>(plain));
  auto m = plain.measure("", s);
  BOOST_TEST(m.value == 0.0);
  BOOST_TEST(!plain.is_success(m));  // no is_success: never success

  leash::AnyGoalMetric judged{MeasuresAndJudges{}};
  BOOST_TEST(judged.is_success(judged.measure("", s)));
  BOOST_TEST(!judged.is_success(judged.measure("abc", s)));
  BOOST_TEST(judged.measure("abc", s).value == 3.0);
}

BOOST_AUTO_TEST_SUITE_END()
