// leash/explain.hpp — why a loop stopped: signals and the decision chain,
// rendered as markdown for a person.
#ifndef LEASH_EXPLAIN_HPP
#define LEASH_EXPLAIN_HPP

#include <leash/context.hpp>
#include <leash/loop_result.hpp>
#include <leash/pricing.hpp>
#include <leash/state.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace leash {

struct ExplainReport {
  std::string status;  ///< "SUCCESS", …, or "RUNNING" before the loop ended
  std::string reason;
  std::vector<std::pair<std::string, std::string>> signals;  ///< in a fixed order
  std::vector<std::string> decision_chain;                   ///< one line per iteration, then the exit
  std::vector<std::string> warnings;                         ///< e.g. stale pricing

  /// "# Why the loop stopped: STATUS", the reason, "## Signals", "## Decision chain".
  std::string render() const;
};

/// The report for a state and, when the loop ended, its result.
ExplainReport explain(State const& s, std::optional<LoopResult> const& result = std::nullopt);

namespace detail {
/// "$1.50", but "$0.000400" below a cent, where two decimals would read "$0.00".
inline std::string format_cost(double usd) {
  if (usd == 0.0 || usd >= 0.01) return format_usd(usd);
  char buf[64];
  std::snprintf(buf, sizeof buf, "$%.6f", usd);
  return buf;
}
}  // namespace detail

inline std::string ExplainReport::render() const {
  std::string out = "# Why the loop stopped: " + status + "\n\n**Reason:** " + reason + "\n\n## Signals\n";
  for (auto const& [k, v] : signals) out += "- " + k + ": " + v + "\n";
  if (!warnings.empty()) {
    out += "\n## Warnings\n";
    for (auto const& w : warnings) out += "- " + w + "\n";
  }
  out += "\n## Decision chain\n";
  std::size_t n = 1;
  for (auto const& line : decision_chain) out += std::to_string(n++) + ". " + line + "\n";
  return out;
}

inline ExplainReport explain(State const& s, std::optional<LoopResult> const& result) {
  ExplainReport r;
  if (result) {
    r.status = std::string(to_string(result->status));
    r.reason = result->reason;
  } else {
    r.status = "RUNNING";
    r.reason = "loop has not exited";
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", s.metrics.elapsed_s);
  std::string last_metric = "None";
  for (auto it = s.iterations.rbegin(); it != s.iterations.rend(); ++it)
    if (it->metric) {
      last_metric = json::serialize(json::value_from(*it->metric));
      break;
    }
  r.signals = {
      {"iterations", std::to_string(s.iterations.size())},
      {"input_tokens", std::to_string(s.metrics.input_tokens)},
      {"output_tokens", std::to_string(s.metrics.output_tokens)},
      {"llm_calls", std::to_string(s.metrics.llm_calls)},
      {"elapsed_s", buf},
      {"cost_usd_estimate", s.metrics.cost_usd ? detail::format_cost(*s.metrics.cost_usd) : std::string("None")},
      {"no_progress_streak", std::to_string(s.no_progress_streak)},
      {"plan_invalid_streak", std::to_string(s.plan_invalid_streak)},
      {"last_metric", last_metric},
      {"failed_approaches", std::to_string(s.failed_approaches.size())},
  };
  for (auto const& it : s.iterations) {
    std::string line = "iteration " + std::to_string(it.index) + ":";
    if (it.plan_invalid) line += " plan failed validation;";
    for (auto const& a : it.actions) line += " " + a.tool + "[" + std::string(to_string(a.status)) + "]";
    if (it.actions.empty() && !it.plan_invalid && !it.plan_text.empty()) line += " text only";
    if (it.metric) {
      line += " metric=" + detail::format_number(it.metric->value);
      if (it.metric->regression) line += " (REGRESSION)";
    }
    if (it.repetition) line += " (repetition flagged)";
    r.decision_chain.push_back(std::move(line));
    for (auto const& a : it.actions)
      if (a.status == ActionStatus::uncertain)
        r.warnings.push_back("iteration " + std::to_string(it.index) + ": '" + a.tool + "' " + a.args_excerpt +
                             " was running when the process stopped; its outcome is unknown — check its "
                             "effect before relying on it");
  }
  if (result) r.decision_chain.push_back("exit: " + r.status + " — " + r.reason);
  return r;
}

}  // namespace leash

#endif
