#ifndef LEASH_LEARN_IMPL_ROUTER_HPP
#define LEASH_LEARN_IMPL_ROUTER_HPP

#include <boost/random/beta_distribution.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace leash::learn {

namespace detail {

constexpr std::size_t index_of(QueryClass c) noexcept { return static_cast<std::size_t>(c); }

inline constexpr std::array<QueryClass, query_class_count> all_query_classes = {
    QueryClass::code, QueryClass::math, QueryClass::short_query, QueryClass::long_query, QueryClass::general};

inline bool icontains(std::string_view text, std::string_view lowercase_needle) noexcept {
  if (lowercase_needle.empty()) return true;
  for (std::size_t i = 0; i + lowercase_needle.size() <= text.size(); ++i)
    if (iequals_at(text, i, lowercase_needle)) return true;
  return false;
}

inline bool listed(std::vector<std::string> const& models, std::string_view model) noexcept {
  return std::find(models.begin(), models.end(), model) != models.end();
}

// Scores closer than this are a tie: sums of 0.6s and 0.4s reached in a
// different order differ in the last bits, not in meaning.
inline constexpr double score_tie = 1e-12;

}  // namespace detail

// ---- ModelRegistry ---------------------------------------------------------------

inline ModelRegistry::ModelRegistry(std::initializer_list<ModelSpec> specs) {
  for (auto const& s : specs) add(s);
}

inline bool ModelRegistry::add(ModelSpec spec) {
  auto valid = [](double b) { return std::isfinite(b) && b >= 0.0; };
  if (spec.key.empty() || !valid(spec.parameter_count_b) || !valid(spec.active_parameter_count_b)) return false;
  if (models_.contains(spec.key)) return false;
  std::string key = spec.key;
  models_.emplace(std::move(key), std::move(spec));
  return true;
}

inline ModelSpec const* ModelRegistry::find(std::string_view key) const noexcept {
  auto it = models_.find(key);
  return it == models_.end() ? nullptr : &it->second;
}

inline double ModelRegistry::parameter_count_b(std::string_view key) const noexcept {
  auto const* spec = find(key);
  return spec ? spec->parameter_count_b : 0.0;
}

inline std::vector<std::string> ModelRegistry::keys() const {
  std::vector<std::string> out;
  out.reserve(models_.size());
  for (auto const& [key, spec] : models_) out.push_back(key);
  return out;
}

inline ModelRegistry builtin_model_registry() {
  return ModelRegistry{
      {"qwen3:8b", 8.0, 0.0, {"general", "local"}},
      {"qwen2.5-coder:14b", 14.0, 0.0, {"code", "local"}},
      {"gpt-oss:20b", 20.0, 3.6, {"reasoning", "local"}},
      {"qwen3:30b-a3b", 30.0, 3.0, {"general", "local"}},
      {"qwen3:32b", 32.0, 0.0, {"general", "reasoning"}},
      {"llama3.3:70b", 70.0, 0.0, {"general"}},
      {"gpt-oss:120b", 120.0, 5.1, {"reasoning"}},
  };
}

inline std::string largest_model(ModelRegistry const& registry, std::span<std::string const> models) {
  if (models.empty()) return {};
  std::size_t best = 0;
  double best_size = registry.parameter_count_b(models[0]);
  for (std::size_t i = 1; i < models.size(); ++i) {
    double const size = registry.parameter_count_b(models[i]);
    if (size > best_size) {
      best = i;
      best_size = size;
    }
  }
  return models[best];
}

inline std::string smallest_model(ModelRegistry const& registry, std::span<std::string const> models) {
  if (models.empty()) return {};
  std::size_t best = 0;
  double best_size = registry.parameter_count_b(models[0]);
  if (best_size == 0.0) best_size = std::numeric_limits<double>::infinity();  // unknown is never "small"
  for (std::size_t i = 1; i < models.size(); ++i) {
    double const size = registry.parameter_count_b(models[i]);
    if (size > 0.0 && size < best_size) {
      best = i;
      best_size = size;
    }
  }
  return models[best];
}

// ---- HeuristicRouter ----------------------------------------------------------------

inline HeuristicRouter::HeuristicRouter(ModelRegistry registry, HeuristicRouterOptions options)
    : registry_(std::move(registry)), options_(std::move(options)) {
  models_ = options_.available_models.empty() ? registry_.keys() : options_.available_models;
}

inline std::string HeuristicRouter::select_model(RoutingContext const& ctx) const {
  if (models_.empty()) return !options_.default_model.empty() ? options_.default_model : options_.fallback_model;
  if (ctx.urgency > urgent_above) return smallest_model(registry_, models_);
  if (ctx.has_code) {
    // The reference then tries "coder", which any key containing "coder"
    // already matched here: dead code, left out.
    for (auto const& m : models_)
      if (detail::icontains(m, "code")) return m;
    return largest_model(registry_, models_);
  }
  if (ctx.complexity_score <= trivial_at_most) return smallest_model(registry_, models_);
  if (ctx.has_math) return largest_model(registry_, models_);
  if (ctx.complexity_score >= complex_from || ctx.has_reasoning) return largest_model(registry_, models_);
  if (!options_.default_model.empty() && detail::listed(models_, options_.default_model)) return options_.default_model;
  if (!options_.fallback_model.empty() && detail::listed(models_, options_.fallback_model))
    return options_.fallback_model;
  return models_.front();
}

// ---- LearnedRouter ---------------------------------------------------------------------

inline void ModelStats::add(Outcome outcome, std::optional<double> feedback) noexcept {
  ++count;
  if (outcome == Outcome::success) ++successes;
  if (feedback && !std::isnan(*feedback)) {
    feedback_sum += std::clamp(*feedback, 0.0, 1.0);
    ++feedback_count;
  }
}

inline double ModelStats::per_run_score() const noexcept {
  if (count == 0) return 0.0;
  double const n = static_cast<double>(count);
  double const feedback = feedback_sum + 0.5 * static_cast<double>(count - feedback_count);
  return (0.6 * static_cast<double>(successes) + 0.4 * feedback) / n;
}

inline double ModelStats::pooled_score() const noexcept {
  if (count == 0) return 0.0;
  double const rate = static_cast<double>(successes) / static_cast<double>(count);
  double const feedback = feedback_count ? feedback_sum / static_cast<double>(feedback_count) : 0.5;
  return 0.6 * rate + 0.4 * feedback;
}

inline json::object LearnedRouterUpdate::to_json() const {
  json::object out;
  out["updated"] = updated;
  if (!reason.empty()) out["reason"] = reason;
  json::object ch;
  for (auto const& [c, change] : changes)
    ch[to_string(c)] = json::object{{"old", change.old_model}, {"new", change.new_model}};
  out["changes"] = std::move(ch);
  json::object map;
  for (auto const& [c, model] : policy_map) map[to_string(c)] = model;
  out["policy_map"] = std::move(map);
  out["total_traces"] = total_traces;
  out["query_classes"] = query_classes;
  return out;
}

inline LearnedRouter::LearnedRouter(LearnedRouterOptions options) : options_(std::move(options)) {}

inline bool LearnedRouter::available(std::string_view model) const {
  return options_.available_models.empty() || detail::listed(options_.available_models, model);
}

inline std::string LearnedRouter::select_model(RoutingContext const& ctx) const {
  auto const& cs = classes_[detail::index_of(classify_query(ctx.query))];
  if (!cs.model.empty() && cs.runs >= options_.min_samples && available(cs.model)) return cs.model;
  if (!options_.default_model.empty() && available(options_.default_model)) return options_.default_model;
  if (!options_.fallback_model.empty() && available(options_.fallback_model)) return options_.fallback_model;
  if (!options_.available_models.empty()) return options_.available_models.front();
  return {};
}

inline std::optional<std::string> LearnedRouter::best_model(ModelTable const& models, UpdateRule rule,
                                                            std::uint64_t min_samples) {
  std::optional<std::string> best;
  double best_score = 0.0;
  for (auto const& [model, s] : models) {  // key order: on a tie the smaller key stays
    if (s.count == 0 || (rule == UpdateRule::per_run && s.count < min_samples)) continue;
    double const score = rule == UpdateRule::per_run ? s.per_run_score() : s.pooled_score();
    if (!best || score > best_score + detail::score_tie) {
      best = model;
      best_score = score;
    }
  }
  return best;
}

inline void LearnedRouter::observe(std::string_view query, std::string_view model, Outcome outcome,
                                   std::optional<double> feedback) {
  if (model.empty()) return;  // nothing to route to
  auto& cs = classes_[detail::index_of(classify_query(query))];
  std::uint64_t const before = cs.runs;
  auto it = cs.models.find(model);
  if (it == cs.models.end()) it = cs.models.emplace(std::string(model), ModelStats{}).first;
  it->second.add(outcome, feedback);
  ++cs.runs;

  if (cs.model.empty()) {  // a new class takes the first model seen
    cs.model = std::string(model);
    return;
  }
  if (before < options_.min_samples) {  // the reference's warm-up rule
    if (outcome == Outcome::success && feedback && *feedback > 0.7) cs.model = std::string(model);
    return;
  }
  // Where the reference froze: keep learning from everything seen.
  if (auto best = best_model(cs.models, UpdateRule::per_run, options_.min_samples)) cs.model = std::move(*best);
}

inline void LearnedRouter::begin_update() {
  for (auto& t : pending_) t.clear();
  pending_runs_ = {};
  pending_seen_ = {};
  pending_total_ = 0;
}

inline void LearnedRouter::add(Trace const& trace) {
  auto const c = detail::index_of(classify_query(trace.query));
  ++pending_total_;
  pending_seen_[c] = true;
  if (trace.model.empty()) return;
  auto& table = pending_[c];
  auto it = table.find(trace.model);
  if (it == table.end()) it = table.emplace(trace.model, ModelStats{}).first;
  it->second.add(trace.outcome, trace.feedback);
  ++pending_runs_[c];
}

inline LearnedRouterUpdate LearnedRouter::finish_update(UpdateRule rule) {
  LearnedRouterUpdate u;
  u.total_traces = pending_total_;
  if (pending_total_ == 0) {
    u.reason = "no traces";
  } else {
    for (auto c : detail::all_query_classes) {
      auto const i = detail::index_of(c);
      if (!pending_seen_[i]) continue;
      ++u.query_classes;
      if (pending_runs_[i] == 0) continue;  // only runs without a model: nothing to learn
      auto& cs = classes_[i];
      cs.models = std::move(pending_[i]);
      cs.runs = pending_runs_[i];
      auto best = best_model(cs.models, rule, options_.min_samples);
      if (!best) continue;  // per_run: no model has min_samples runs; the class keeps its model
      u.updated = true;
      if (*best != cs.model) {
        u.changes[c] = ModelChange{cs.model, *best};
        cs.model = std::move(*best);
      }
    }
  }
  u.policy_map = policy_map();
  begin_update();
  return u;
}

template <std::ranges::input_range Traces>
  requires std::convertible_to<std::ranges::range_reference_t<Traces>, Trace const&>
LearnedRouterUpdate LearnedRouter::update(Traces&& traces, UpdateRule rule) {
  begin_update();
  for (Trace const& t : traces) add(t);
  return finish_update(rule);
}

inline std::map<QueryClass, std::string> LearnedRouter::policy_map() const {
  std::map<QueryClass, std::string> out;
  for (auto c : detail::all_query_classes)
    if (auto const& m = classes_[detail::index_of(c)].model; !m.empty()) out.emplace(c, m);
  return out;
}

inline std::uint64_t LearnedRouter::confidence(QueryClass c) const noexcept {
  return classes_[detail::index_of(c)].runs;
}

inline ModelStats LearnedRouter::stats(QueryClass c, std::string_view model) const {
  auto const& table = classes_[detail::index_of(c)].models;
  auto it = table.find(model);
  return it == table.end() ? ModelStats{} : it->second;
}

// ---- BanditRouter --------------------------------------------------------------------------

inline BanditRouter::BanditRouter(std::vector<std::string> models, BanditOptions options)
    : options_(options), rng_(options.seed) {
  for (auto& m : models)
    if (!detail::listed(models_, m)) models_.push_back(std::move(m));
  if (!(std::isfinite(options_.exploration) && options_.exploration >= 0.0))
    options_.exploration = BanditOptions{}.exploration;
  for (auto& arms : arms_) arms.resize(models_.size());
}

inline std::string BanditRouter::select_model(RoutingContext const& ctx) {
  return select_model(classify_query(ctx.query));
}

inline std::string BanditRouter::select_model(QueryClass c) {
  if (models_.empty()) return {};
  auto const& arms = arms_[detail::index_of(c)];
  std::size_t best = 0;
  if (options_.strategy == BanditStrategy::ucb1) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < arms.size(); ++i) {
      if (arms[i].pulls == 0) return models_[i];  // each arm once, in list order
      total += arms[i].pulls;
    }
    double const log_total = std::log(static_cast<double>(total));
    double best_value = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < arms.size(); ++i) {
      double const n = static_cast<double>(arms[i].pulls);
      double const value = arms[i].reward_sum / n + options_.exploration * std::sqrt(log_total / n);
      if (value > best_value) {  // ties: the earlier model
        best = i;
        best_value = value;
      }
    }
  } else {
    double best_draw = -1.0;
    for (std::size_t i = 0; i < arms.size(); ++i) {
      double const alpha = 1.0 + arms[i].reward_sum;
      double const beta = 1.0 + static_cast<double>(arms[i].pulls) - arms[i].reward_sum;
      double const draw = boost::random::beta_distribution<double>(alpha, beta)(rng_);
      if (draw > best_draw) {
        best = i;
        best_draw = draw;
      }
    }
  }
  return models_[best];
}

inline result<void> BanditRouter::update(RoutingContext const& ctx, std::string_view model, double reward) {
  return update(classify_query(ctx.query), model, reward);
}

inline result<void> BanditRouter::update(QueryClass c, std::string_view model, double reward) {
  if (!(reward >= 0.0 && reward <= 1.0))  // NaN fails both
    return Error{Errc::invalid_arguments,
                 "bandit reward for '" + std::string(model) + "' must be in [0, 1], got " +
                     leash::detail::format_number(reward)};
  auto it = std::find(models_.begin(), models_.end(), model);
  if (it == models_.end())
    return Error{Errc::invalid_arguments, "the bandit does not route to '" + std::string(model) +
                                              "': it was built with " + std::to_string(models_.size()) +
                                              " other model(s)"};
  auto& arm = arms_[detail::index_of(c)][static_cast<std::size_t>(it - models_.begin())];
  ++arm.pulls;
  arm.reward_sum += reward;
  return success();
}

inline std::vector<BanditArm> BanditRouter::stats(QueryClass c) const {
  std::vector<BanditArm> out;
  out.reserve(models_.size());
  auto const& arms = arms_[detail::index_of(c)];
  for (std::size_t i = 0; i < models_.size(); ++i) out.push_back({c, models_[i], arms[i].pulls, arms[i].reward_sum});
  return out;
}

inline std::vector<BanditArm> BanditRouter::stats() const {
  std::vector<BanditArm> out;
  out.reserve(models_.size() * query_class_count);
  for (auto c : detail::all_query_classes) {
    auto part = stats(c);
    out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return out;
}

}  // namespace leash::learn

#endif
