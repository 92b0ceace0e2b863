// Tests of leash/learn/optimize/pareto.hpp, and of the objective records of
// leash/learn/optimize/types.hpp that the frontier reads.
#include <leash/learn/optimize/pareto.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace test_learn_optimize_pareto {

namespace json = leash::json;
namespace opt = leash::learn::optimize;
using opt::ObjectiveSpec;
using opt::TrialResult;
using Direction = ObjectiveSpec::Direction;
using Indices = std::vector<std::size_t>;

double const nan = std::numeric_limits<double>::quiet_NaN();
double const inf = std::numeric_limits<double>::infinity();

TrialResult trial(std::string id, double accuracy, double latency, double cost) {
  TrialResult t;
  t.trial_id = std::move(id);
  t.config.trial_id = t.trial_id;
  t.accuracy = accuracy;
  t.mean_latency_seconds = latency;
  t.total_cost_usd = cost;
  return t;
}

ObjectiveSpec objective(std::string metric, Direction direction) {
  ObjectiveSpec o;
  o.metric = std::move(metric);
  o.direction = direction;
  return o;
}

Indices frontier(std::vector<TrialResult> const& trials, std::vector<ObjectiveSpec> const& objectives) {
  return opt::pareto_frontier(trials, objectives);
}

Indices frontier(std::vector<std::vector<double>> const& points) { return opt::pareto_frontier(points); }

/// The definition, pair by pair: i is kept unless some j is ≥ everywhere and
/// > somewhere. Points with a NaN are left out, as the library documents.
Indices naive_frontier(std::vector<std::vector<double>> const& p) {
  auto has_nan = [](std::vector<double> const& x) {
    for (double v : x)
      if (std::isnan(v)) return true;
    return false;
  };
  Indices out;
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (has_nan(p[i])) continue;
    bool dominated = false;
    for (std::size_t j = 0; j < p.size() && !dominated; ++j) {
      if (j == i || has_nan(p[j])) continue;
      bool all_ge = true, some_gt = false;
      for (std::size_t k = 0; k < p[i].size(); ++k) {
        all_ge = all_ge && p[j][k] >= p[i][k];
        some_gt = some_gt || p[j][k] > p[i][k];
      }
      dominated = all_ge && some_gt;
    }
    if (!dominated) out.push_back(i);
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(learn_optimize_pareto)

// -- the records ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(default_objectives_are_the_references) {
  auto d = opt::default_objectives();
  BOOST_REQUIRE(d.size() == 3u);
  BOOST_TEST(d[0].metric == "accuracy");
  BOOST_TEST(d[0].direction == Direction::maximize);
  BOOST_TEST(d[1].metric == "mean_latency_seconds");
  BOOST_TEST(d[1].direction == Direction::minimize);
  BOOST_TEST(d[2].metric == "total_cost_usd");
  BOOST_TEST(d[2].direction == Direction::minimize);
  for (auto const& o : d) BOOST_TEST(o.weight == 1.0);
  BOOST_TEST(ObjectiveSpec{}.direction == Direction::maximize);
}

BOOST_AUTO_TEST_CASE(direction_names) {
  BOOST_TEST(opt::to_string(Direction::maximize) == "maximize");
  BOOST_TEST(opt::to_string(Direction::minimize) == "minimize");
  BOOST_TEST((opt::direction_from_string("minimize") == Direction::minimize));
  BOOST_TEST((opt::direction_from_string("maximize") == Direction::maximize));
  BOOST_TEST(!opt::direction_from_string("max").has_value());
}

BOOST_AUTO_TEST_CASE(objective_values_from_fields_then_metrics) {
  auto t = trial("a", 0.75, 2.5, 0.125);
  t.total_energy_joules = 40.0;
  t.total_tokens = 1234;
  t.metrics["ttft_seconds"] = 0.25;
  t.metrics["requests"] = 7;
  t.metrics["big"] = std::uint64_t(1) << 63;
  t.metrics["label"] = "fast";
  t.metrics["accuracy"] = 0.1;  // a field wins over a metric of the same name
  BOOST_TEST(opt::objective_value(t, "accuracy") == 0.75);
  BOOST_TEST(opt::objective_value(t, "mean_latency_seconds") == 2.5);
  BOOST_TEST(opt::objective_value(t, "total_cost_usd") == 0.125);
  BOOST_TEST(opt::objective_value(t, "total_energy_joules") == 40.0);
  BOOST_TEST(opt::objective_value(t, "total_tokens") == 1234.0);
  BOOST_TEST(opt::objective_value(t, "ttft_seconds") == 0.25);
  BOOST_TEST(opt::objective_value(t, "requests") == 7.0);
  BOOST_TEST(opt::objective_value(t, "big") == 9223372036854775808.0);
  BOOST_TEST(std::isnan(opt::objective_value(t, "label")));  // not a number
  BOOST_TEST(std::isnan(opt::objective_value(t, "mfu")));    // not measured
}

// -- the reference's cases --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(single_trial_is_kept) {
  BOOST_TEST(frontier({trial("a", 0.5, 1, 1)}, opt::default_objectives()) == Indices{0});
}

BOOST_AUTO_TEST_CASE(dominated_trial_is_dropped) {
  // b is less accurate, slower and dearer than a; c is worse only on cost.
  auto objectives = opt::default_objectives();
  BOOST_TEST(frontier({trial("a", 0.9, 1, 0.1), trial("b", 0.8, 2, 0.2)}, objectives) == Indices{0});
  BOOST_TEST(frontier({trial("c", 0.9, 1, 0.2), trial("a", 0.9, 1, 0.1)}, objectives) == Indices{1});
}

BOOST_AUTO_TEST_CASE(trade_offs_are_kept) {
  // Accurate but slow, fast but less accurate, cheap but neither: all on the frontier.
  std::vector<TrialResult> trials{trial("accurate", 0.9, 10, 1.0), trial("fast", 0.6, 1, 1.0),
                                  trial("cheap", 0.5, 5, 0.01), trial("worst", 0.5, 10, 1.0)};
  BOOST_TEST(frontier(trials, opt::default_objectives()) == (Indices{0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(identical_trials_are_all_kept) {
  std::vector<TrialResult> trials{trial("a", 0.8, 1, 1), trial("b", 0.8, 1, 1), trial("c", 0.7, 2, 2),
                                  trial("d", 0.7, 2, 2)};
  BOOST_TEST(frontier(trials, opt::default_objectives()) == (Indices{0, 1}));  // c, d: dominated together
  BOOST_TEST(frontier({{1.0, 2.0}, {1.0, 2.0}, {1.0, 2.0}}) == (Indices{0, 1, 2}));
  BOOST_TEST(frontier({{1.0, 2.0, 3.0}, {0.0, 0.0, 0.0}, {1.0, 2.0, 3.0}}) == (Indices{0, 2}));
}

BOOST_AUTO_TEST_CASE(no_trials_no_frontier) {
  BOOST_TEST(frontier(std::vector<TrialResult>{}, opt::default_objectives()).empty());
  BOOST_TEST(frontier(std::vector<TrialResult>{}, {}).empty());
  BOOST_TEST(frontier(std::vector<std::vector<double>>{}).empty());
}

BOOST_AUTO_TEST_CASE(no_objectives_keeps_every_trial) {
  std::vector<TrialResult> trials{trial("a", 0.9, 1, 1), trial("b", 0.1, 9, 9), trial("c", 0.5, 5, 5)};
  BOOST_TEST(frontier(trials, {}) == (Indices{0, 1, 2}));
  BOOST_TEST(frontier({{}, {}, {}}) == (Indices{0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(minimised_objectives_prefer_lower_values) {
  std::vector<TrialResult> trials{trial("slow", 0.8, 5, 1), trial("fast", 0.8, 1, 1)};
  BOOST_TEST(frontier(trials, {objective("mean_latency_seconds", Direction::minimize)}) == Indices{1});
  BOOST_TEST(frontier(trials, {objective("mean_latency_seconds", Direction::maximize)}) == Indices{0});
  // accuracy ↑ vs energy ↓ from metrics-free fields: a trade-off and a loser.
  trials = {trial("a", 0.9, 1, 1), trial("b", 0.7, 1, 1), trial("c", 0.6, 1, 1)};
  trials[0].total_energy_joules = 100;
  trials[1].total_energy_joules = 20;
  trials[2].total_energy_joules = 50;
  std::vector<ObjectiveSpec> energy{objective("accuracy", Direction::maximize),
                                    objective("total_energy_joules", Direction::minimize)};
  BOOST_TEST(frontier(trials, energy) == (Indices{0, 1}));
}

BOOST_AUTO_TEST_CASE(objectives_from_metrics) {
  // Power ↓ and throughput ↑ reported by the runner under names of its own.
  std::vector<TrialResult> trials(3);
  trials[0].metrics["avg_power_watts"] = 300;
  trials[0].metrics["throughput"] = 90.0;
  trials[1].metrics["avg_power_watts"] = 150;
  trials[1].metrics["throughput"] = 60.0;
  trials[2].metrics["avg_power_watts"] = 200;
  trials[2].metrics["throughput"] = 50.0;
  std::vector<ObjectiveSpec> objectives{objective("avg_power_watts", Direction::minimize),
                                        objective("throughput", Direction::maximize)};
  BOOST_TEST(frontier(trials, objectives) == (Indices{0, 1}));
}

// -- leash's changes ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(failed_trials_are_never_on_the_frontier) {
  // The failed trial would dominate everything; it is not on the frontier and
  // pushes nothing off it.
  std::vector<TrialResult> trials{trial("a", 0.5, 5, 1), trial("broken", 1.0, 0, 0), trial("b", 0.6, 6, 1)};
  trials[1].failed = true;
  trials[1].error = "runner crashed";
  BOOST_TEST(frontier(trials, opt::default_objectives()) == (Indices{0, 2}));
  BOOST_TEST(frontier(trials, {}) == (Indices{0, 2}));  // not even with no objectives
  trials[0].failed = trials[2].failed = true;
  BOOST_TEST(frontier(trials, opt::default_objectives()).empty());
}

BOOST_AUTO_TEST_CASE(missing_objective_values) {
  std::vector<ObjectiveSpec> objectives{objective("accuracy", Direction::maximize),
                                        objective("ttft_seconds", Direction::minimize)};
  std::vector<TrialResult> trials{trial("a", 0.9, 1, 1), trial("b", 0.5, 1, 1), trial("c", 0.4, 1, 1)};
  // Nobody measured ttft: it is ignored, accuracy alone decides.
  BOOST_TEST(frontier(trials, objectives) == Indices{0});
  // b and c measured it, a did not: a cannot be compared, so it is left out
  // and does not push b or c off; of b and c, b is better on both.
  trials[1].metrics["ttft_seconds"] = 0.5;
  trials[2].metrics["ttft_seconds"] = 0.9;
  BOOST_TEST(frontier(trials, objectives) == Indices{1});
  trials[2].metrics["ttft_seconds"] = 0.1;  // now a trade-off
  BOOST_TEST(frontier(trials, objectives) == (Indices{1, 2}));
  // A value that is not a number counts as missing.
  trials[0].metrics["ttft_seconds"] = "quick";
  BOOST_TEST(frontier(trials, objectives) == (Indices{1, 2}));
  trials[0].metrics["ttft_seconds"] = 0.05;
  BOOST_TEST(frontier(trials, objectives) == (Indices{0}));
  // A failed trial's measurement does not make the objective count.
  trials[1].metrics.erase("ttft_seconds");
  trials[2].metrics.erase("ttft_seconds");
  trials[0].failed = true;
  BOOST_TEST(frontier(trials, objectives) == Indices{1});
}

BOOST_AUTO_TEST_CASE(raw_points_nan_and_infinity) {
  BOOST_TEST(frontier({{nan, 5.0}, {1.0, 1.0}, {0.0, 2.0}}) == (Indices{1, 2}));
  BOOST_TEST(frontier({{1.0, 1.0, nan}, {0.0, 0.0, 0.0}}) == Indices{1});
  BOOST_TEST(frontier({{nan}, {nan}}).empty());
  BOOST_TEST(frontier({{inf, 0.0}, {5.0, 5.0}, {-inf, inf}, {-inf, 4.0}}) == (Indices{0, 1, 2}));
  BOOST_TEST(frontier({{-0.0, 1.0}, {0.0, 1.0}}) == (Indices{0, 1}));  // -0 == 0: identical
}

BOOST_AUTO_TEST_CASE(one_objective_keeps_every_best) {
  BOOST_TEST(frontier({{3.0}, {5.0}, {1.0}, {5.0}}) == (Indices{1, 3}));
}

BOOST_AUTO_TEST_CASE(result_is_in_input_order) {
  // The best by the first objective comes last in the input.
  BOOST_TEST(frontier({{1.0, 9.0, 0.0}, {5.0, 5.0, 5.0}, {9.0, 1.0, 0.0}}) == (Indices{0, 1, 2}));
  BOOST_TEST(frontier({{0.0, 3.0}, {1.0, 2.0}, {2.0, 1.0}, {3.0, 0.0}}) == (Indices{0, 1, 2, 3}));
}

/// `n` points of `m` coordinates; with `levels` > 0, every coordinate is one
/// of `levels` values (many ties and duplicates), else uniform in [0, 1).
std::vector<std::vector<double>> random_points(std::mt19937_64& rng, std::size_t n, std::size_t m, int levels) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<std::vector<double>> points(n, std::vector<double>(m));
  for (auto& p : points)
    for (auto& x : p) x = levels > 0 ? double(rng() % unsigned(levels)) : uniform(rng);
  return points;
}

BOOST_AUTO_TEST_CASE(random_points_match_the_pairwise_definition) {
  std::mt19937_64 rng(20240611);
  for (std::size_t m : {2u, 3u, 5u}) {
    for (int levels : {0, 3, 10}) {
      // Anti-correlated points too, so that the frontier is large.
      for (bool spread : {false, true}) {
        auto points = random_points(rng, 2000, m, levels);
        if (spread)
          for (auto& p : points) {
            double sum = 0;
            for (std::size_t k = 1; k < m; ++k) sum += p[k];
            p[0] = levels > 0 ? double(levels) * double(m) - sum : double(m) - sum;
          }
        // Duplicate a few points exactly, so identical pairs are certain.
        for (std::size_t i = 0; i < 20; ++i) points[rng() % points.size()] = points[rng() % points.size()];
        auto fast = frontier(points);
        auto slow = naive_frontier(points);
        BOOST_TEST(fast == slow, "m " << m << ", levels " << levels << ", spread " << spread);
        BOOST_TEST(!fast.empty());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(random_trials_match_the_pairwise_definition) {
  // Trials with discrete values (ties), random directions, a few failed.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<TrialResult> trials(300);
    std::vector<std::vector<double>> points;
    Indices alive;
    bool const minimise_latency = round % 2 == 0;
    for (std::size_t i = 0; i < trials.size(); ++i) {
      auto& t = trials[i];
      t.accuracy = double(rng() % 6) / 5.0;
      t.mean_latency_seconds = double(rng() % 8);
      t.metrics["throughput"] = double(rng() % 5);
      t.failed = rng() % 10 == 0;
      if (t.failed) continue;
      alive.push_back(i);
      points.push_back({t.accuracy, minimise_latency ? -t.mean_latency_seconds : t.mean_latency_seconds,
                        t.metrics["throughput"].as_double()});
    }
    std::vector<ObjectiveSpec> objectives{
        objective("accuracy", Direction::maximize),
        objective("mean_latency_seconds", minimise_latency ? Direction::minimize : Direction::maximize),
        objective("throughput", Direction::maximize)};
    Indices expected;
    for (auto i : naive_frontier(points)) expected.push_back(alive[i]);
    BOOST_TEST(frontier(trials, objectives) == expected, "round " << round);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_optimize_pareto
