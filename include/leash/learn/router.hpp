// leash/learn/router.hpp — choosing a model for a query.
//
//   auto registry = leash::learn::builtin_model_registry();
//   leash::learn::HeuristicRouter router(registry);
//   std::string model = leash::learn::route(router, "Prove that sqrt(2) is irrational");
//
// A Router is anything with `select_model(RoutingContext const&)` returning
// the model key (Router below). Three come with leash:
// * HeuristicRouter — fixed rules on size and signals (reference §2.2, in the
//   order its code applies them, which is not the order its docstring gives);
// * LearnedRouter — a query class → model map learned from traces and
//   observations (reference §2.3, with bug §4.9 fixed);
// * BanditRouter — UCB1 or Thompson sampling per query class; not in the
//   reference, which only keeps "bandit" as a search-space value.
// Model sizes come from a ModelRegistry passed in, never from a global one.
#ifndef LEASH_LEARN_ROUTER_HPP
#define LEASH_LEARN_ROUTER_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/query.hpp>
#include <leash/learn/trace.hpp>

#include <array>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace leash::learn {

// ---- the requirement ---------------------------------------------------------

namespace detail {
template <class R> concept has_select_model = requires(R& r, RoutingContext const& c) {
  { r.select_model(c) } -> std::convertible_to<std::string>;
};
}  // namespace detail

/// Router: `r.select_model(ctx)` returns the key of the model to use ("" when
/// it has none to offer). It may change the router (a bandit draws samples).
template <class R>
concept Router = detail::has_select_model<R>;

template <class R>
consteval bool check_router() {
  static_assert(detail::has_select_model<R>,
                "leash::learn::Router: add `std::string select_model(leash::learn::RoutingContext const&)`");
  return true;
}

/// The model `router` picks for `query` (build_routing_context() with
/// `urgency` and the planner's `model`, for its thinking-model budget).
template <class R>
std::string route(R&& router, std::string_view query, double urgency = 0.5, std::string_view model = {}) {
  static_assert(check_router<std::remove_cvref_t<R>>());
  return router.select_model(build_routing_context(query, urgency, model));
}

// ---- models --------------------------------------------------------------------

/// What a router knows of a model.
struct ModelSpec {
  ModelSpec() = default;
  ModelSpec(std::string key_, double parameter_count_b_, double active_parameter_count_b_ = 0.0,
            std::vector<std::string> tags_ = {})
      : key(std::move(key_)),
        parameter_count_b(parameter_count_b_),
        active_parameter_count_b(active_parameter_count_b_),
        tags(std::move(tags_)) {}

  std::string key;                        ///< the id a planner sends ("qwen3:8b")
  double parameter_count_b = 0.0;         ///< total parameters, billions; 0 = unknown
  double active_parameter_count_b = 0.0;  ///< per token, for mixtures of experts; 0 = dense or unknown
  std::vector<std::string> tags;          ///< free-form ("code", "reasoning", "local")
};

/// Model key → ModelSpec. Keys are kept in key order, so "the first model" of
/// a registry is its lexicographically smallest key.
class ModelRegistry {
 public:
  ModelRegistry() = default;
  ModelRegistry(std::initializer_list<ModelSpec> specs);

  /// Adds `spec`; false (and no change) when its key is already registered.
  bool add(ModelSpec spec);
  ModelSpec const* find(std::string_view key) const noexcept;
  bool contains(std::string_view key) const noexcept { return find(key) != nullptr; }
  /// Total parameters in billions; 0 for an unknown model (as the reference).
  double parameter_count_b(std::string_view key) const noexcept;
  std::vector<std::string> keys() const;
  std::size_t size() const noexcept { return models_.size(); }
  bool empty() const noexcept { return models_.empty(); }
  auto begin() const noexcept { return models_.begin(); }
  auto end() const noexcept { return models_.end(); }

 private:
  std::map<std::string, ModelSpec, std::less<>> models_;
};

/// A small catalogue of open-weight models by total size: qwen3:8b (8, the
/// smallest), qwen2.5-coder:14b (14), gpt-oss:20b (20), qwen3:30b-a3b (30
/// total, 3 active), qwen3:32b (32), llama3.3:70b (70), gpt-oss:120b (120,
/// the largest). Sizes are total parameters: that is what routers compare.
ModelRegistry builtin_model_registry();

/// The largest of `models` by total size: the first, replaced by any later
/// strictly larger one. "" when `models` is empty.
std::string largest_model(ModelRegistry const& registry, std::span<std::string const> models);

/// The smallest of `models`: the first (an unknown size counts as infinite),
/// replaced by any later one of known size strictly smaller. "" when empty.
std::string smallest_model(ModelRegistry const& registry, std::span<std::string const> models);

// ---- HeuristicRouter -------------------------------------------------------------

struct HeuristicRouterOptions {
  std::vector<std::string> available_models;  ///< empty: every registry key, in key order
  std::string default_model;
  std::string fallback_model;
};

/// Rules on the context, applied in this order (the reference code's):
///  1. no models                          → default, else fallback, else "";
///  2. urgency > 0.8                      → the smallest model;
///  3. has_code                           → the first key containing "code"
///                                          (any case), else the largest;
///  4. complexity_score ≤ 0.20            → the smallest;
///  5. has_math                           → the largest;
///  6. complexity_score ≥ 0.55 or has_reasoning → the largest;
///  7. default if available, else fallback if available, else the first.
/// A context built by hand keeps complexity_score 0 and so stops at rule 4.
class HeuristicRouter {
 public:
  static constexpr double urgent_above = 0.8;
  static constexpr double trivial_at_most = 0.20;
  static constexpr double complex_from = 0.55;

  explicit HeuristicRouter(ModelRegistry registry, HeuristicRouterOptions options = {});

  std::string select_model(RoutingContext const& ctx) const;

  ModelRegistry const& registry() const noexcept { return registry_; }
  /// The models rules choose from: the options' list, or the registry's keys.
  std::vector<std::string> const& models() const noexcept { return models_; }

 private:
  ModelRegistry registry_;
  HeuristicRouterOptions options_;
  std::vector<std::string> models_;
};

// ---- LearnedRouter ------------------------------------------------------------------

/// Outcome and feedback of one model on one query class.
struct ModelStats {
  std::uint64_t count = 0;
  std::uint64_t successes = 0;
  std::uint64_t feedback_count = 0;
  double feedback_sum = 0.0;

  /// One run: success counts 1 (unknown and failure 0); feedback is clamped to
  /// [0, 1], and a NaN one is treated as absent.
  void add(Outcome outcome, std::optional<double> feedback) noexcept;
  /// Mean over runs of 0.6·success + 0.4·(feedback, or 0.5 when absent) — the
  /// reference's batch `update()` score.
  double per_run_score() const noexcept;
  /// 0.6·success rate + 0.4·mean feedback (0.5 when no run has any) — the
  /// reference's `update_from_traces()` score.
  double pooled_score() const noexcept;
};

/// Which of the reference's two batch updates to apply.
enum class UpdateRule {
  /// `update()`: per_run_score, among models with at least min_samples runs
  /// of the class; a class with no such model keeps its model.
  per_run,
  /// `update_from_traces()`: pooled_score, among every model of the class.
  pooled,
};

struct ModelChange {
  std::string old_model;  ///< "" when the class had none
  std::string new_model;
};

/// What finish_update() did.
struct LearnedRouterUpdate {
  bool updated = false;  ///< some class now routes by this batch (changed or confirmed)
  std::string reason;    ///< why not, when not ("no traces")
  std::map<QueryClass, ModelChange> changes;
  std::map<QueryClass, std::string> policy_map;  ///< the whole map afterwards
  std::size_t total_traces = 0;
  std::size_t query_classes = 0;  ///< classes the batch saw

  /// {"updated", "reason"?, "changes": {class: {"old", "new"}}, "policy_map",
  /// "total_traces", "query_classes"}, with the reference's class names.
  json::object to_json() const;
};

struct LearnedRouterOptions {
  std::vector<std::string> available_models;  ///< empty: any model may be chosen
  std::string default_model;
  std::string fallback_model;
  std::uint64_t min_samples = 5;
};

/// Query class → model, learned from runs (reference §2.3).
///
/// select_model() uses the class's model once the class has min_samples runs
/// (its confidence) and the model is available; otherwise default, fallback,
/// the first available model, or "".
///
/// Batch learning streams: begin_update(), add() every trace (all of them —
/// the reference read only the newest 100), finish_update(). The batch is
/// taken as the history of each class it saw: their statistics are replaced
/// by the batch's and their confidence becomes the batch's run count, so
/// select_model() follows the result at once. (The reference's `update()` set
/// the map but not the confidence, so select_model ignored it: bug §4.9.)
/// Runs with no model count in total_traces and are never chosen (the
/// reference named them "unknown", a model no one can call).
///
/// observe() learns online, one run at a time. While a class has fewer than
/// min_samples runs it follows the reference: a new class takes the model
/// observed; a success with feedback > 0.7 takes over. From then on, where
/// the reference froze, each observation re-decides the class by the
/// per-run rule over everything seen (batch and observations alike).
///
/// Ties go to the lexicographically smaller model key (the reference kept
/// whichever trace it listed first, i.e. the newest); scores within 1e-12 tie.
class LearnedRouter {
 public:
  explicit LearnedRouter(LearnedRouterOptions options = {});

  std::string select_model(RoutingContext const& ctx) const;

  void observe(std::string_view query, std::string_view model, Outcome outcome,
               std::optional<double> feedback = std::nullopt);

  void begin_update();
  void add(Trace const& trace);
  LearnedRouterUpdate finish_update(UpdateRule rule = UpdateRule::per_run);

  /// begin_update(), add() each trace, finish_update(rule).
  template <std::ranges::input_range Traces>
    requires std::convertible_to<std::ranges::range_reference_t<Traces>, Trace const&>
  LearnedRouterUpdate update(Traces&& traces, UpdateRule rule = UpdateRule::per_run);

  std::map<QueryClass, std::string> policy_map() const;
  /// Runs seen for the class (observed or in the last batch that saw it).
  std::uint64_t confidence(QueryClass c) const noexcept;
  /// The class's statistics for `model` (zeros when never seen).
  ModelStats stats(QueryClass c, std::string_view model) const;
  LearnedRouterOptions const& options() const noexcept { return options_; }

 private:
  using ModelTable = std::map<std::string, ModelStats, std::less<>>;
  struct ClassState {
    std::string model;  ///< "" while unmapped
    std::uint64_t runs = 0;
    ModelTable models;
  };
  static std::optional<std::string> best_model(ModelTable const& models, UpdateRule rule, std::uint64_t min_samples);
  bool available(std::string_view model) const;

  LearnedRouterOptions options_;
  std::array<ClassState, query_class_count> classes_;
  std::array<ModelTable, query_class_count> pending_;
  std::array<std::uint64_t, query_class_count> pending_runs_{};
  std::array<bool, query_class_count> pending_seen_{};
  std::size_t pending_total_ = 0;
};

// ---- BanditRouter ----------------------------------------------------------------------

enum class BanditStrategy {
  ucb1,      ///< mean + c·sqrt(ln N / n); every arm once first, in list order
  thompson,  ///< a draw from Beta(1 + Σr, 1 + n − Σr) per arm; the largest wins
};

struct BanditOptions {
  BanditStrategy strategy = BanditStrategy::thompson;
  std::uint64_t seed = 0x1ea5'0f'5eedULL;  ///< same seed, same calls → same choices
  double exploration = 1.4142135623730951;  ///< UCB1's c (√2, Auer et al.)
};

/// One arm: a model within a query class.
struct BanditArm {
  QueryClass query_class = QueryClass::general;
  std::string model;
  std::uint64_t pulls = 0;   ///< rewards received
  double reward_sum = 0.0;

  double mean() const noexcept { return pulls ? reward_sum / static_cast<double>(pulls) : 0.0; }
  double alpha() const noexcept { return 1.0 + reward_sum; }                              ///< Beta posterior
  double beta() const noexcept { return 1.0 + static_cast<double>(pulls) - reward_sum; }  ///< Beta posterior
};

/// A multi-armed bandit per query class over a fixed list of models.
///
/// Rewards are in [0, 1] (HeuristicReward's, or 1/0 for success/failure);
/// Thompson sampling treats a reward r as r of a success and 1 − r of a
/// failure. Arms learn only through update(): selecting without rewarding
/// teaches nothing. Draws come from std::mt19937_64 and Boost.Random's beta
/// distribution, whose algorithm — unlike <random>'s — is the same on every
/// standard library, so a seed replays the same choices everywhere.
class BanditRouter {
 public:
  /// Duplicate keys are dropped (first kept); an empty list selects "".
  explicit BanditRouter(std::vector<std::string> models, BanditOptions options = {});

  std::string select_model(RoutingContext const& ctx);
  std::string select_model(QueryClass c);

  /// Credits `reward` to `model` for the class of ctx.query (or `c`).
  /// Errc::invalid_arguments, and nothing learned, for a reward that is NaN or
  /// outside [0, 1] (rejected, not clamped: a reward of 7 is a bug upstream
  /// that clamping would hide) or a model not in the list.
  result<void> update(RoutingContext const& ctx, std::string_view model, double reward);
  result<void> update(QueryClass c, std::string_view model, double reward);

  /// Every arm, class by class, models in list order.
  std::vector<BanditArm> stats() const;
  std::vector<BanditArm> stats(QueryClass c) const;
  std::vector<std::string> const& models() const noexcept { return models_; }
  BanditOptions const& options() const noexcept { return options_; }

 private:
  struct Arm {
    std::uint64_t pulls = 0;
    double reward_sum = 0.0;
  };
  std::vector<std::string> models_;
  BanditOptions options_;
  std::array<std::vector<Arm>, query_class_count> arms_;
  std::mt19937_64 rng_;
};

static_assert(check_router<HeuristicRouter>() && check_router<LearnedRouter>() && check_router<BanditRouter>());

}  // namespace leash::learn

#include <leash/learn/impl/router.hpp>

#endif
