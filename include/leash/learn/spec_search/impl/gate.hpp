// leash/learn/spec_search/impl/gate.hpp — definitions for gate.hpp.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_GATE_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_GATE_HPP

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <string_view>
#include <utility>

namespace leash::learn::spec_search {

namespace detail {

inline std::string fixed3(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

/// A score of `after`, with missing or non-finite read as 0.
inline double score_or_zero(std::map<std::string, double> const& scores, std::string const& cluster) {
  auto it = scores.find(cluster);
  return it != scores.end() && std::isfinite(it->second) ? it->second : 0.0;
}

/// A uniform draw from [0, bound), bound > 0: rejection of the low
/// (2^w mod bound) values, then a remainder, so no value is favoured.
inline std::uint64_t draw_below(std::mt19937& gen, std::uint64_t bound) {
  if (bound <= 0xffffffffull) {
    std::uint64_t const threshold = (0x100000000ull - bound) % bound;
    for (;;) {
      std::uint64_t r = static_cast<std::uint32_t>(gen());
      if (r >= threshold) return r % bound;
    }
  }
  std::uint64_t const threshold = (std::uint64_t{0} - bound) % bound;  // 2^64 mod bound
  for (;;) {
    std::uint64_t const hi = static_cast<std::uint32_t>(gen());  // two statements: the order is fixed
    std::uint64_t const lo = static_cast<std::uint32_t>(gen());
    std::uint64_t r = (hi << 32) | lo;
    if (r >= threshold) return r % bound;
  }
}

/// Calls the scorer's agent without copying it.
template <class A>
struct AgentRef {
  A* agent;
  auto operator()(EvalSample const& sample) -> decltype(std::declval<A&>()(sample)) { return (*agent)(sample); }
};

/// Calls the scorer's grader without copying it.
template <class G>
struct GraderRef {
  G* grader;
  auto grade(EvalSample const& sample, std::string_view answer)
      -> decltype(std::declval<G&>().grade(sample, answer)) {
    return grader->grade(sample, answer);
  }
};

}  // namespace detail

inline std::vector<std::string> regressed_clusters(BenchmarkSnapshot const& baseline, BenchmarkSnapshot const& after,
                                                   double max_regression) {
  std::vector<std::string> out;
  for (auto const& [cluster, before] : baseline.cluster_scores) {
    if (!std::isfinite(before)) continue;
    if (before - detail::score_or_zero(after.cluster_scores, cluster) > max_regression + score_tolerance)
      out.push_back(cluster);
  }
  return out;
}

inline result<void> BenchmarkGate::validate() const {
  auto check = [](double v, char const* name) -> result<void> {
    if (!std::isfinite(v) || v < 0)
      return Error{Errc::invalid_input, std::string("BenchmarkGate: ") + name +
                                            " must be a finite number >= 0, not " + leash::detail::format_number(v)};
    return leash::success();
  };
  BOOST_OUTCOME_TRY(check(max_regression, "max_regression"));
  return check(min_improvement, "min_improvement");
}

inline GateResult BenchmarkGate::judge(BenchmarkSnapshot const& baseline, BenchmarkSnapshot after) const {
  GateResult r;
  r.delta = after.overall_score - baseline.overall_score;
  for (auto const& [cluster, before] : baseline.cluster_scores)
    r.cluster_deltas[cluster] = detail::score_or_zero(after.cluster_scores, cluster) - before;
  r.snapshot = std::move(after);

  if (auto ok = validate(); !ok) {
    r.reason = ok.error().what();
    return r;
  }
  if (!std::isfinite(r.snapshot.overall_score) || !std::isfinite(baseline.overall_score)) {
    r.reason = "the benchmark did not give a finite overall score (before " +
               leash::detail::format_number(baseline.overall_score) + ", after " +
               leash::detail::format_number(r.snapshot.overall_score) + ")";
    return r;
  }
  if (auto regressed = regressed_clusters(baseline, r.snapshot, max_regression); !regressed.empty()) {
    r.reason = "regressed beyond max_regression " + detail::fixed3(max_regression) + ": ";
    for (std::size_t i = 0; i < regressed.size(); ++i) {
      auto const& c = regressed[i];
      double before = baseline.cluster_scores.at(c);
      double now = detail::score_or_zero(r.snapshot.cluster_scores, c);
      if (i) r.reason += "; ";
      r.reason += "cluster '" + c + "' fell by " + detail::fixed3(before - now) + " (" + detail::fixed3(before) +
                  " -> " + detail::fixed3(now) + (r.snapshot.cluster_scores.count(c) ? ")" : ", missing after)");
    }
    return r;
  }
  if (!(r.delta > min_improvement + score_tolerance)) {
    r.reason = "no improvement: overall delta " + detail::fixed3(r.delta) + " (" +
               detail::fixed3(baseline.overall_score) + " -> " + detail::fixed3(r.snapshot.overall_score) +
               ") does not exceed min_improvement " + detail::fixed3(min_improvement);
    return r;
  }
  r.accepted = true;
  r.reason = "improved by " + detail::fixed3(r.delta) + " (" + detail::fixed3(baseline.overall_score) + " -> " +
             detail::fixed3(r.snapshot.overall_score) + "), no cluster regressed";
  return r;
}

inline std::vector<std::size_t> subsample_indices(std::size_t n, std::size_t k, std::uint32_t seed) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  if (k == 0 || k >= n) return idx;
  std::mt19937 gen(seed);
  for (std::size_t i = 0; i < k; ++i) {
    auto j = i + static_cast<std::size_t>(detail::draw_below(gen, n - i));
    std::swap(idx[i], idx[j]);
  }
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

inline std::string cluster_label(EvalSample const& sample) {
  for (std::string_view key : {"cluster", "category"})
    if (auto const* v = sample.metadata.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return "all";
}

template <class Agent, class GraderT>
DatasetScorer<Agent, GraderT>::DatasetScorer(std::vector<EvalSample> benchmark, Agent agent, GraderT grader,
                                             EvaluatorOptions options)
    : benchmark_(std::move(benchmark)), agent_(std::move(agent)), grader_(std::move(grader)), options_(options) {}

template <class Agent, class GraderT>
boost::asio::awaitable<result<BenchmarkSnapshot>> DatasetScorer<Agent, GraderT>::score(ScoreRequest const& request) {
  if (benchmark_.empty()) co_return Error{Errc::invalid_input, "DatasetScorer: the benchmark is empty"};
  auto const start = std::chrono::steady_clock::now();

  auto picked = subsample_indices(benchmark_.size(), request.subsample_size, request.seed);
  std::vector<EvalSample> samples;
  samples.reserve(picked.size());
  for (auto i : picked) samples.push_back(benchmark_[i]);

  EvaluatorOptions options = options_;
  options.max_samples = 0;
  using Eval = DatasetEvaluator<detail::AgentRef<Agent>, detail::GraderRef<GraderT>>;
  Eval evaluator(std::move(samples), detail::AgentRef<Agent>{&agent_}, detail::GraderRef<GraderT>{&grader_},
                      options);
  auto report = co_await evaluator.evaluate();
  if (!report) co_return report.error();
  auto const& rep = report.value();

  BenchmarkSnapshot snap;
  snap.benchmark_version = request.benchmark_version;
  snap.overall_score = rep.accuracy;
  std::map<std::string, std::pair<std::size_t, std::size_t>> tally;  // cluster → (correct, total)
  auto const& scored = evaluator.dataset();
  for (std::size_t i = 0; i < rep.per_sample.size() && i < scored.size(); ++i) {
    auto& t = tally[cluster_label(scored[i])];
    if (rep.per_sample[i].correct) ++t.first;
    ++t.second;
  }
  for (auto const& [cluster, t] : tally)
    snap.cluster_scores[cluster] = static_cast<double>(t.first) / static_cast<double>(t.second);
  snap.task_count = rep.samples;
  snap.cost_usd = rep.total_cost_usd.value_or(0.0);
  snap.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  co_return snap;
}

}  // namespace leash::learn::spec_search

#endif
