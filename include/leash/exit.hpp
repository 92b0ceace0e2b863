// leash/exit.hpp — the ExitCondition requirement and the built-in exits.
//
// A model of ExitCondition has
//   std::optional<Exit> evaluate(State const&);
// Exits are evaluated after every normally completed iteration (not after an
// iteration whose plans all failed validation), in order; the first hit ends
// the loop with its status and reason.
#ifndef LEASH_EXIT_HPP
#define LEASH_EXIT_HPP

#include <leash/pricing.hpp>
#include <leash/state.hpp>
#include <leash/status.hpp>

#include <concepts>
#include <optional>
#include <string>
#include <tuple>

namespace leash {

/// How and why a loop ends.
struct Exit {
  Status status;
  std::string reason;
};

namespace detail {
template <class E> concept has_evaluate = requires(E& e, State const& s) {
  { e.evaluate(s) } -> std::convertible_to<std::optional<Exit>>;
};
}  // namespace detail

template <class E>
concept ExitCondition = detail::has_evaluate<E>;

template <class E>
consteval bool check_exit_condition() {
  static_assert(ExitCondition<E>,
                "leash::ExitCondition: add `std::optional<leash::Exit> evaluate(leash::State const&)`");
  return true;
}

/// Exit conditions, as instances.
template <class... Es>
class ExitList {
  static_assert((check_exit_condition<Es>() && ... && true));

 public:
  ExitList() requires(std::default_initializable<Es> && ...) = default;
  explicit ExitList(Es... es) : exits_(std::move(es)...) {}

  /// The first exit that fires, if any.
  std::optional<Exit> evaluate(State const& s) {
    std::optional<Exit> out;
    std::apply([&](auto&... e) { ((out ? void() : void(out = e.evaluate(s))), ...); }, exits_);
    return out;
  }

  template <class E> E& get() noexcept { return std::get<E>(exits_); }

 private:
  std::tuple<Es...> exits_;
};

/// SUCCESS once `Predicate{}(state)` holds.
template <class Predicate>
struct Success {
  Predicate predicate{};
  std::string reason = "goal achieved";
  std::optional<Exit> evaluate(State const& s) const {
    if (predicate(s)) return Exit{Status::success, reason};
    return std::nullopt;
  }
};

/// BUDGET_EXHAUSTED once `n` iterations are recorded.
struct MaxIterations {
  std::uint64_t n = 20;
  std::optional<Exit> evaluate(State const& s) const {
    if (s.iterations.size() >= n)
      return Exit{Status::budget_exhausted, "max_iterations " + std::to_string(n) + " reached"};
    return std::nullopt;
  }
};

/// BUDGET_EXHAUSTED once `n` tokens are spent.
struct TokenLimit {
  std::uint64_t n = 0;
  std::optional<Exit> evaluate(State const& s) const {
    if (s.metrics.total_tokens() >= n)
      return Exit{Status::budget_exhausted, "token_limit " + std::to_string(n) + " reached"};
    return std::nullopt;
  }
};

/// BUDGET_EXHAUSTED once the estimated cost is known and reaches `usd`.
struct CostLimitExit {
  double usd = 0.0;
  std::optional<Exit> evaluate(State const& s) const {
    if (s.metrics.cost_usd && *s.metrics.cost_usd >= usd)
      return Exit{Status::budget_exhausted, "cost_limit " + format_usd(usd) + " reached"};
    return std::nullopt;
  }
};

/// NO_PROGRESS once `N` flat iterations follow each other.
template <std::size_t N = 3>
struct Stagnation {
  std::optional<Exit> evaluate(State const& s) const {
    if (s.no_progress_streak >= N)
      return Exit{Status::no_progress,
                  "stagnation: " + std::to_string(s.no_progress_streak) + " flat iterations"};
    return std::nullopt;
  }
};

}  // namespace leash

#endif
