// leash/learn/reward.hpp — how good a run was, as a number in [0, 1].
//
//   leash::learn::HeuristicReward reward;                 // 0.4 latency, 0.3 cost, 0.3 efficiency
//   double r = reward.compute(leash::learn::reward_of(trace));
//   bandit.update(ctx, trace.model, r);
//
// A Reward is anything with `compute(RewardInput const&)` returning a double
// (Reward below). HeuristicReward is the reference's HeuristicRewardFunction
// (§2.4); score_batch() is its spec-search composite, which scores a batch of
// runs against each other (z-scores) rather than each against fixed maxima.
#ifndef LEASH_LEARN_REWARD_HPP
#define LEASH_LEARN_REWARD_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/trace.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn {

/// What a reward may look at. The views point into the caller's data (for
/// reward_of(), the trace) and are valid while it is.
struct RewardInput {
  double latency_s = 0.0;
  double cost_usd = 0.0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  std::string_view model;
  std::string_view query;
  std::string_view response;
  Outcome outcome = Outcome::unknown;
  std::optional<double> feedback;
};

/// The input of a recorded run. A model without a price (cost_usd empty,
/// e.g. a local one) counts as free, as the reference's cost default of 0.
inline RewardInput reward_of(Trace const& trace) noexcept {
  RewardInput in;
  in.latency_s = trace.total_latency_s;
  in.cost_usd = trace.cost_usd.value_or(0.0);
  in.prompt_tokens = trace.prompt_tokens;
  in.completion_tokens = trace.completion_tokens;
  in.model = trace.model;
  in.query = trace.query;
  in.response = trace.result;
  in.outcome = trace.outcome;
  in.feedback = trace.feedback;
  return in;
}
/// A temporary trace would leave the views dangling.
RewardInput reward_of(Trace&&) = delete;

namespace detail {
template <class R> concept has_compute = requires(R& r, RewardInput const& in) {
  { r.compute(in) } -> std::convertible_to<double>;
};
}  // namespace detail

/// Reward: `r.compute(input)` scores a run, higher is better (in [0, 1] for
/// rewards a BanditRouter consumes).
template <class R>
concept Reward = detail::has_compute<R>;

template <class R>
consteval bool check_reward() {
  static_assert(detail::has_compute<R>,
                "leash::learn::Reward: add `double compute(leash::learn::RewardInput const&)`");
  return true;
}

/// The reference's constants. Weights are not normalised (nor are they there).
struct HeuristicRewardOptions {
  double latency_weight = 0.4;
  double cost_weight = 0.3;
  double efficiency_weight = 0.3;
  double max_latency_s = 30.0;  ///< this slow or slower scores 0 on latency
  double max_cost_usd = 0.01;   ///< this dear or dearer scores 0 on cost
};

/// clamp01(w_l·latency + w_c·cost + w_e·efficiency), where
///   latency    = 1 − latency_s / max_latency_s,
///   cost       = 1 − cost_usd / max_cost_usd,
///   efficiency = completion / (prompt + completion), 0.5 with no tokens,
/// each part clamped to [0, 1]. A NaN latency or cost scores 0 on its part
/// (the worst). Differs from the reference in one point: it only floors parts
/// at 0, so a negative latency or cost earned a bonus above 1 that could lift
/// the others; here it is worth what 0 s or $0 is worth. Model, query and
/// response are not looked at (nor were they).
class HeuristicReward {
 public:
  HeuristicReward() = default;

  /// Errc::invalid_config when a weight is negative or not finite, all are 0,
  /// or a maximum is not a positive finite number (it divides).
  static result<HeuristicReward> make(HeuristicRewardOptions options);

  double compute(RewardInput const& in) const noexcept;

  HeuristicRewardOptions const& options() const noexcept { return options_; }

 private:
  explicit HeuristicReward(HeuristicRewardOptions o) : options_(o) {}
  HeuristicRewardOptions options_;
};

/// One run of a batch scored by score_batch().
struct BatchSample {
  double accuracy = 0.0;  ///< higher is better (typically 0 or 1)
  double energy_j = 0.0;  ///< lower is better, as are the rest
  double latency_s = 0.0;
  double cost_usd = 0.0;
};

struct BatchWeights {
  double accuracy = 0.5;
  double energy = 0.1;
  double latency = 0.1;
  double cost = 0.3;
};

/// The reference's spec-search composite: per run,
///   R = w_a·accuracy − w_e·z(energy) − w_l·z(latency) − w_c·z(cost),
/// z being the z-score within the batch (population standard deviation); a
/// column's z-scores are all 0 when fewer than two runs have a finite value
/// or its deviation is 0 (below 1e-12 of its scale: rounding, not spread). A
/// non-finite value is left out of its column's mean and deviation and gets
/// the column's worst z-score; a non-finite accuracy counts as 0.
std::vector<double> score_batch(std::span<BatchSample const> samples, BatchWeights const& weights = {});

static_assert(check_reward<HeuristicReward>());

// ---- definitions ---------------------------------------------------------------

inline result<HeuristicReward> HeuristicReward::make(HeuristicRewardOptions o) {
  auto weight_ok = [](double w) { return std::isfinite(w) && w >= 0.0; };
  auto max_ok = [](double m) { return std::isfinite(m) && m > 0.0; };
  auto fmt = [](double v) { return leash::detail::format_number(v); };
  if (!weight_ok(o.latency_weight) || !weight_ok(o.cost_weight) || !weight_ok(o.efficiency_weight))
    return Error{Errc::invalid_config, "HeuristicReward weights must be finite and non-negative; got latency " +
                                           fmt(o.latency_weight) + ", cost " + fmt(o.cost_weight) +
                                           ", efficiency " + fmt(o.efficiency_weight)};
  if (o.latency_weight + o.cost_weight + o.efficiency_weight == 0.0)
    return Error{Errc::invalid_config, "HeuristicReward weights are all 0: every run would score 0"};
  if (!max_ok(o.max_latency_s))
    return Error{Errc::invalid_config,
                 "HeuristicReward max_latency_s must be a positive number of seconds, got " + fmt(o.max_latency_s)};
  if (!max_ok(o.max_cost_usd))
    return Error{Errc::invalid_config,
                 "HeuristicReward max_cost_usd must be a positive amount, got " + fmt(o.max_cost_usd)};
  return HeuristicReward(o);
}

inline double HeuristicReward::compute(RewardInput const& in) const noexcept {
  // NaN compares false everywhere: `part` maps it to 0, the worst.
  auto part = [](double v) { return v > 0.0 ? std::min(v, 1.0) : 0.0; };
  double const latency = part(1.0 - in.latency_s / options_.max_latency_s);
  double const cost = part(1.0 - in.cost_usd / options_.max_cost_usd);
  double const tokens = static_cast<double>(in.prompt_tokens) + static_cast<double>(in.completion_tokens);
  double const efficiency = tokens > 0.0 ? static_cast<double>(in.completion_tokens) / tokens : 0.5;
  double const r = options_.latency_weight * latency + options_.cost_weight * cost +
                   options_.efficiency_weight * efficiency;
  return std::clamp(r, 0.0, 1.0);
}

namespace detail {

/// z-scores of one column, lower-is-better values; see score_batch().
inline std::vector<double> batch_z(std::span<BatchSample const> samples, double BatchSample::*field) {
  std::vector<double> z(samples.size(), 0.0);
  double sum = 0.0;
  std::size_t n = 0;
  for (auto const& s : samples)
    if (std::isfinite(s.*field)) {
      sum += s.*field;
      ++n;
    }
  if (n < 2) return z;
  double const mean = sum / static_cast<double>(n);
  double ss = 0.0;
  for (auto const& s : samples)
    if (std::isfinite(s.*field)) ss += (s.*field - mean) * (s.*field - mean);
  double const sd = std::sqrt(ss / static_cast<double>(n));
  if (!(sd > 1e-12 * std::max(1.0, std::abs(mean)))) return z;
  double worst = 0.0;
  for (std::size_t i = 0; i < samples.size(); ++i)
    if (std::isfinite(samples[i].*field)) {
      z[i] = (samples[i].*field - mean) / sd;
      worst = std::max(worst, z[i]);
    }
  for (std::size_t i = 0; i < samples.size(); ++i)
    if (!std::isfinite(samples[i].*field)) z[i] = worst;
  return z;
}

}  // namespace detail

inline std::vector<double> score_batch(std::span<BatchSample const> samples, BatchWeights const& w) {
  auto const ze = detail::batch_z(samples, &BatchSample::energy_j);
  auto const zl = detail::batch_z(samples, &BatchSample::latency_s);
  auto const zc = detail::batch_z(samples, &BatchSample::cost_usd);
  std::vector<double> out(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    double const acc = std::isfinite(samples[i].accuracy) ? samples[i].accuracy : 0.0;
    out[i] = w.accuracy * acc - w.energy * ze[i] - w.latency * zl[i] - w.cost * zc[i];
  }
  return out;
}

}  // namespace leash::learn

#endif
