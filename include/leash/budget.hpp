// leash/budget.hpp — ceilings, and how much one planner call may spend.
//
// Budgets never overshoot: before every planner call (retries and summaries
// included) the loop asks `call_allowance` how many output tokens the call may
// produce, given the input it is about to send. No floor: when nothing is
// left, the call is not made.
#ifndef LEASH_BUDGET_HPP
#define LEASH_BUDGET_HPP

#include <leash/json.hpp>
#include <leash/pricing.hpp>
#include <leash/state.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <variant>

namespace leash {

/// Why the loop must stop spending: the reason of BUDGET_EXHAUSTED.
struct BudgetStop {
  std::string reason;
};

/// The first ceiling `s` has reached, in the reference's order: iterations,
/// tokens, wall clock, cost (the last only when USD accounting is on).
inline std::optional<BudgetStop> ceiling_reached(State const& s, LoopConfig const& c, double elapsed_s,
                                                 bool usd_enabled) {
  if (s.iterations.size() >= c.max_iterations)
    return BudgetStop{"max_iterations (" + std::to_string(c.max_iterations) + ") reached"};
  if (s.metrics.total_tokens() >= c.token_limit)
    return BudgetStop{"token_limit (" + with_thousands(static_cast<long long>(c.token_limit)) + ") reached"};
  if (elapsed_s >= c.wall_clock_s) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "wall_clock limit (%.0fs) reached", c.wall_clock_s);
    return BudgetStop{buf};
  }
  if (c.cost_limit_usd && usd_enabled && s.metrics.cost_usd && *s.metrics.cost_usd >= *c.cost_limit_usd)
    return BudgetStop{"cost_limit (" + format_usd(*c.cost_limit_usd) + ") reached — estimate; tokens authoritative"};
  return std::nullopt;
}

/// Output tokens one call may use, or why it may not be made at all.
///
/// tokens: input estimate + output ≤ token_limit − spent; output ≤ max_tokens_per_call.
/// cost (with a USD limit, USD on and a known price): estimated input cost +
/// output cost ≤ limit − spent.
inline std::variant<std::uint64_t, BudgetStop> call_allowance(State const& s, LoopConfig const& c,
                                                              std::uint64_t estimated_input,
                                                              std::optional<ModelPrice> price,
                                                              bool usd_enabled) {
  std::uint64_t spent = s.metrics.total_tokens();
  std::uint64_t remaining = c.token_limit > spent ? c.token_limit - spent : 0;
  if (estimated_input >= remaining)
    return BudgetStop{"token_limit (" + with_thousands(static_cast<long long>(c.token_limit)) +
                      ") reached: the next call needs about " + std::to_string(estimated_input) +
                      " input tokens and " + std::to_string(remaining) + " remain"};
  std::uint64_t allowed = std::min<std::uint64_t>(c.max_tokens_per_call, remaining - estimated_input);

  if (c.cost_limit_usd && usd_enabled && price) {
    double spent_usd = s.metrics.cost_usd.value_or(0.0);
    double left = *c.cost_limit_usd - spent_usd - double(estimated_input) * price->input_per_million / 1e6;
    auto cost_stop = [&] {
      return BudgetStop{"cost_limit (" + format_usd(*c.cost_limit_usd) +
                        ") reached — estimate; tokens authoritative"};
    };
    if (left <= 0.0) return cost_stop();
    if (price->output_per_million > 0.0) {
      double by_cost = std::floor(left * 1e6 / price->output_per_million);
      // Not one output token affordable: the cost limit stops the call, not the tokens.
      if (by_cost < 1.0) return cost_stop();
      if (by_cost < double(allowed)) allowed = static_cast<std::uint64_t>(by_cost);
    }
  }
  if (allowed == 0)
    return BudgetStop{"token_limit (" + with_thousands(static_cast<long long>(c.token_limit)) +
                      ") reached: no output tokens remain for another call"};
  return allowed;
}

}  // namespace leash

#endif
