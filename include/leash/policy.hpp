// leash/policy.hpp — the Policy requirement and the built-in policies.
//
// A model of Policy has one or both of
//   Decision before_iteration(State const&);                 // before observing
//   Decision before_action(State const&, ActionView const&); // before each tool call
// and optionally `static constexpr std::string_view name` (for traces; the
// type's name otherwise). A Decision continues, pauses for approval, or stops
// with a status. A STOP from before_action stops (the reference paused).
#ifndef LEASH_POLICY_HPP
#define LEASH_POLICY_HPP

#include <leash/detail/fixed_name.hpp>
#include <leash/detail/tool_runner.hpp>
#include <leash/pricing.hpp>
#include <leash/state.hpp>
#include <leash/status.hpp>

#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <typeinfo>

namespace leash {

enum class DecisionKind { proceed, pause, stop };

struct Decision {
  DecisionKind kind = DecisionKind::proceed;
  std::string reason;
  std::optional<Status> status;  ///< for stop; none means ERROR

  static Decision proceed() { return {}; }
  static Decision pause(std::string reason = "requires approval") {
    return {DecisionKind::pause, std::move(reason), std::nullopt};
  }
  static Decision stop(std::string reason, std::optional<Status> status = std::nullopt) {
    return {DecisionKind::stop, std::move(reason), status};
  }
};

/// A tool call about to run, as a policy sees it (arguments validated).
struct ActionView {
  std::string_view tool;
  json::object const& args;
};

namespace detail {
template <class P> concept has_before_iteration = requires(P& p, State const& s) {
  { p.before_iteration(s) } -> std::convertible_to<Decision>;
};
template <class P> concept has_before_action = requires(P& p, State const& s, ActionView const& a) {
  { p.before_action(s, a) } -> std::convertible_to<Decision>;
};
template <class P> concept has_static_name = requires {
  { P::name } -> std::convertible_to<std::string_view>;
};

/// "NoProgress" for leash::NoProgress<3>: the type's name without namespace or arguments.
inline std::string short_type_name(char const* mangled) {
  std::string full = demangle(mangled);
  auto lt = full.find('<');
  if (lt != std::string::npos) full.erase(lt);
  auto colon = full.rfind("::");
  if (colon != std::string::npos) full.erase(0, colon + 2);
  return full;
}
}  // namespace detail

/// The Policy requirement (see the top of this file).
template <class P>
concept Policy = detail::has_before_iteration<P> || detail::has_before_action<P>;

template <class P>
consteval bool check_policy() {
  static_assert(Policy<P>,
                "leash::Policy: add `leash::Decision before_iteration(leash::State const&)` or "
                "`leash::Decision before_action(leash::State const&, leash::ActionView const&)`");
  return true;
}

/// The name a policy goes by in traces.
template <class P>
std::string policy_name() {
  if constexpr (detail::has_static_name<P>)
    return std::string(P::name);
  else
    return detail::short_type_name(typeid(P).name());
}

/// Policies, as instances (a policy may carry runtime parameters).
template <class... Ps>
class PolicyList {
  static_assert((check_policy<Ps>() && ... && true));

 public:
  PolicyList() requires(std::default_initializable<Ps> && ...) = default;
  explicit PolicyList(Ps... ps) : policies_(std::move(ps)...) {}

  /// The first STOP among before_iteration hooks, with the policy's name.
  std::optional<std::pair<std::string, Decision>> before_iteration(State const& s);
  /// The first non-continue decision among before_action hooks, with the policy's name.
  std::optional<std::pair<std::string, Decision>> before_action(State const& s, ActionView const& a);

  template <class P> P& get() noexcept { return std::get<P>(policies_); }

 private:
  std::tuple<Ps...> policies_;
};

/// The reference's default: stop after three flat, repeated iterations.
template <std::size_t Window = 3>
struct NoProgress {
  static constexpr std::string_view name = "NoProgress";
  Decision before_iteration(State const& s) const {
    if (s.no_progress_streak >= Window)
      return Decision::stop(std::to_string(s.no_progress_streak) +
                                " consecutive iterations with repeated/invalid actions and zero "
                                "goal-metric delta",
                            Status::no_progress);
    return Decision::proceed();
  }
};

using DefaultPolicies = PolicyList<NoProgress<3>>;

/// Gates the calls `Predicate{}(tool, args)` selects behind an approval.
template <class Predicate>
struct RequireApproval {
  static constexpr std::string_view name = "RequireApproval";
  Predicate matches{};
  std::string reason = "requires approval";

  Decision before_action(State const&, ActionView const& a) const {
    if (matches(a.tool, a.args)) return Decision::pause(reason);
    return Decision::proceed();
  }
};

/// A predicate for RequireApproval: the call's tool is one of `Names`.
template <detail::fixed_name... Names>
struct ToolNamed {
  bool operator()(std::string_view tool, json::object const&) const noexcept {
    return ((tool == std::string_view(Names)) || ...);
  }
};

/// Stops before an iteration once the estimated cost reaches `usd`.
struct CostLimit {
  static constexpr std::string_view name = "CostLimit";
  double usd = 0.0;
  std::string model_id;
  Pricing pricing = default_pricing();

  Decision before_iteration(State const& s) const {
    auto cost = pricing.estimate_cost(s.metrics.input_tokens, s.metrics.output_tokens, model_id);
    if (cost && *cost >= usd)
      return Decision::stop("estimated cost " + format_usd(*cost) + " >= limit " + format_usd(usd) +
                                " (tokens are authoritative)",
                            Status::budget_exhausted);
    return Decision::proceed();
  }
};

}  // namespace leash

#include <leash/impl/policy.hpp>

#endif
