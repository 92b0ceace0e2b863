// leash/progress.hpp — the GoalMetric requirement and the progress engine that
// turns metrics and action fingerprints into trends and streaks.
//
// A model of GoalMetric has
//   MetricSnapshot measure(std::string_view observation, State const&);
// and optionally
//   bool is_success(MetricSnapshot const&) const;   // false when absent
#ifndef LEASH_PROGRESS_HPP
#define LEASH_PROGRESS_HPP

#include <leash/state.hpp>

#include <algorithm>
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash {

namespace detail {
template <class M> concept has_measure = requires(M& m, std::string_view obs, State const& s) {
  { m.measure(obs, s) } -> std::convertible_to<MetricSnapshot>;
};
template <class M> concept has_is_success = requires(M const& m, MetricSnapshot const& snap) {
  { m.is_success(snap) } -> std::convertible_to<bool>;
};
}  // namespace detail

/// The GoalMetric requirement (see the top of this file).
template <class M>
concept GoalMetric = detail::has_measure<M>;

/// A goal metric chosen at runtime (the loop's options hold one).
class AnyGoalMetric {
 public:
  AnyGoalMetric() = default;
  template <GoalMetric M>
    requires(!std::same_as<std::remove_cvref_t<M>, AnyGoalMetric>)
  AnyGoalMetric(M metric) : impl_(std::make_shared<model<M>>(std::move(metric))) {}

  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }
  MetricSnapshot measure(std::string_view observation, State const& s) { return impl_->measure(observation, s); }
  bool is_success(MetricSnapshot const& snap) const { return impl_->is_success(snap); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual MetricSnapshot measure(std::string_view, State const&) = 0;
    virtual bool is_success(MetricSnapshot const&) const = 0;
  };
  template <class M>
  struct model final : concept_t {
    explicit model(M m) : metric(std::move(m)) {}
    MetricSnapshot measure(std::string_view o, State const& s) override { return metric.measure(o, s); }
    bool is_success(MetricSnapshot const& snap) const override {
      if constexpr (detail::has_is_success<M>)
        return metric.is_success(snap);
      else
        return false;
    }
    M metric;
  };
  std::shared_ptr<concept_t> impl_;
};

enum class Trend { unknown, improving, flat, regressing };

constexpr std::string_view to_string(Trend t) noexcept {
  switch (t) {
    case Trend::unknown: return "unknown";
    case Trend::improving: return "improving";
    case Trend::flat: return "flat";
    case Trend::regressing: return "regressing";
  }
  return "unknown";
}

struct ProgressReport {
  Trend trend = Trend::unknown;
  bool repetition = false;
  std::uint64_t no_progress_streak = 0;
  std::uint64_t plan_invalid_streak = 0;
  std::optional<double> metric_delta;
};

/// Judges an iteration against the previous one, before it is appended.
///
/// * repetition: the iteration has actions and the same *set* of action
///   fingerprints as the previous iteration (order and duplicates ignored);
/// * delta: current minus previous metric value, when both exist;
/// * trend: regressing if the metric flags a regression, else unknown without
///   a delta, else improving / regressing / flat by its sign;
/// * no-progress streak: grows when the iteration repeated, failed to plan, or
///   did nothing at all (a text-only reply: the reference reset the streak
///   here, letting a chatty model run to max_iterations) and the metric did not
///   move; resets otherwise.
inline ProgressReport evaluate_progress(State const& state, IterationRecord const& it) {
  ProgressReport r;
  IterationRecord const* prev = state.iterations.empty() ? nullptr : &state.iterations.back();

  auto fingerprint_set = [](IterationRecord const& rec) {
    std::vector<std::string_view> fps;
    fps.reserve(rec.actions.size());
    for (auto const& a : rec.actions) fps.push_back(a.fingerprint);
    std::sort(fps.begin(), fps.end());
    fps.erase(std::unique(fps.begin(), fps.end()), fps.end());
    return fps;
  };
  if (prev && !it.actions.empty()) {
    if (it.actions.size() == 1 && prev->actions.size() == 1)  // the common case, without building sets
      r.repetition = it.actions[0].fingerprint == prev->actions[0].fingerprint;
    else
      r.repetition = fingerprint_set(it) == fingerprint_set(*prev);
  }

  if (prev && prev->metric && it.metric) r.metric_delta = it.metric->value - prev->metric->value;

  if (it.metric && it.metric->regression)
    r.trend = Trend::regressing;
  else if (!r.metric_delta)
    r.trend = Trend::unknown;
  else if (*r.metric_delta > 0)
    r.trend = Trend::improving;
  else if (*r.metric_delta < 0)
    r.trend = Trend::regressing;
  else
    r.trend = Trend::flat;

  bool idle = r.repetition || it.plan_invalid || it.actions.empty();
  bool flat = !r.metric_delta || *r.metric_delta == 0.0;
  r.no_progress_streak = (idle && flat) ? state.no_progress_streak + 1 : 0;
  r.plan_invalid_streak = it.plan_invalid ? state.plan_invalid_streak + 1 : 0;
  return r;
}

}  // namespace leash

#endif
