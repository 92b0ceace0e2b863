// leash/learn/optimize/types.hpp — the records of config optimisation: what
// is optimised (ObjectiveSpec), what a trial tried (TrialConfig) and what it
// measured (TrialResult), and the benchmarks a trial runs (BenchmarkSpec).
//
//   namespace opt = leash::learn::optimize;
//   opt::TrialResult r;
//   r.accuracy = 0.82;
//   r.mean_latency_seconds = 3.1;
//   r.metrics["ttft_seconds"] = 0.4;          // any other objective, by name
//   opt::objective_value(r, "accuracy");       // 0.82, from the field
//   opt::objective_value(r, "ttft_seconds");   // 0.4, from metrics
//   opt::objective_value(r, "mfu");            // NaN: not measured
//
// Reference: OpenJarvis optimize/types.py (reference/openjarvis-learning.md
// §1.4). Kept: the field names, DEFAULT_OBJECTIVES (accuracy up, latency and
// cost down), weight 1 (which the frontier does not use), 12-hex trial ids.
// Changed: a trial that could not be run is a TrialResult with `failed` set
// and an `error`, so a runner failure is a record instead of an exception
// that ends the whole optimisation (§4 item 11); objectives the fields do not
// cover live in one `metrics` object instead of a run summary's statistics;
// and an objective a trial did not measure is NaN, not 0 — the reference's 0
// made a trial that reported no cost the cheapest of all (pareto.hpp says how
// the frontier treats NaN).
#ifndef LEASH_LEARN_OPTIMIZE_TYPES_HPP
#define LEASH_LEARN_OPTIMIZE_TYPES_HPP

#include <leash/json.hpp>

#include <boost/describe/enum.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::optimize {

/// One objective of the optimisation: a metric and which way is better.
struct ObjectiveSpec {
  enum class Direction { maximize, minimize };
  BOOST_DESCRIBE_NESTED_ENUM(Direction, maximize, minimize)

  std::string metric;  ///< a TrialResult field name, or a key of TrialResult::metrics
  Direction direction = Direction::maximize;
  double weight = 1.0;  ///< kept for the record; the Pareto frontier ignores weights (as the reference)

  friend bool operator==(ObjectiveSpec const&, ObjectiveSpec const&) = default;
};

/// "maximize", "minimize": the reference's spelling.
constexpr std::string_view to_string(ObjectiveSpec::Direction d) noexcept {
  return d == ObjectiveSpec::Direction::minimize ? "minimize" : "maximize";
}

/// The direction named `name` ("maximize" or "minimize"); nullopt otherwise.
constexpr std::optional<ObjectiveSpec::Direction> direction_from_string(std::string_view name) noexcept {
  if (name == "maximize") return ObjectiveSpec::Direction::maximize;
  if (name == "minimize") return ObjectiveSpec::Direction::minimize;
  return std::nullopt;
}

inline std::ostream& operator<<(std::ostream& os, ObjectiveSpec::Direction d) { return os << to_string(d); }

/// accuracy (maximize), mean_latency_seconds (minimize), total_cost_usd
/// (minimize), each with weight 1: the reference's DEFAULT_OBJECTIVES.
inline std::vector<ObjectiveSpec> default_objectives() {
  using D = ObjectiveSpec::Direction;
  std::vector<ObjectiveSpec> out(3);
  out[0].metric = "accuracy";
  out[0].direction = D::maximize;
  out[1].metric = "mean_latency_seconds";
  out[1].direction = D::minimize;
  out[2].metric = "total_cost_usd";
  out[2].direction = D::minimize;
  return out;
}

/// One benchmark a trial runs, and how much its accuracy counts.
struct BenchmarkSpec {
  std::string benchmark;
  std::uint64_t max_samples = 200;  ///< at least 1
  double weight = 1.0;              ///< finite, at least 0

  friend bool operator==(BenchmarkSpec const&, BenchmarkSpec const&) = default;
};

/// A configuration to try: values for (some of) the search space's
/// dimensions, keyed by their dotted names, and the proposer's reasons.
struct TrialConfig {
  std::string trial_id;  ///< 12 lowercase hex characters
  json::object params;   ///< "intelligence.temperature" → 0.3, …
  std::string reasoning;
};

/// What one trial measured.
struct TrialResult {
  std::string trial_id;
  TrialConfig config;
  double accuracy = 0.0;               ///< in [0, 1]; weighted over benchmarks
  double mean_latency_seconds = 0.0;
  double total_cost_usd = 0.0;
  double total_energy_joules = 0.0;
  std::uint64_t total_tokens = 0;
  std::uint64_t samples_evaluated = 0;
  std::string analysis;                ///< the optimiser's reading of the trial
  std::vector<std::string> failure_modes;
  /// Any other named objective values (numbers), e.g. "ttft_seconds",
  /// "throughput_tokens_per_second", "avg_power_watts".
  json::object metrics;
  /// The trial could not be run or measured; `error` says why. A failed
  /// trial is never on the Pareto frontier.
  bool failed = false;
  std::string error;
};

/// The value of objective `metric` for `r`: the fields accuracy,
/// mean_latency_seconds, total_cost_usd, total_energy_joules and total_tokens
/// by those names; any other name from `r.metrics` when it holds a number
/// there. NaN when the trial has no number under that name (the frontier
/// then leaves the trial out, see pareto.hpp). A field wins over a metrics
/// entry of the same name.
inline double objective_value(TrialResult const& r, std::string_view metric) {
  if (metric == "accuracy") return r.accuracy;
  if (metric == "mean_latency_seconds") return r.mean_latency_seconds;
  if (metric == "total_cost_usd") return r.total_cost_usd;
  if (metric == "total_energy_joules") return r.total_energy_joules;
  if (metric == "total_tokens") return static_cast<double>(r.total_tokens);
  if (auto const* v = r.metrics.if_contains(metric)) {
    if (v->is_double()) return v->get_double();
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  }
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace leash::learn::optimize

#endif
