// leash/status.hpp — how a loop ended, and what the user should do next.
//
// Every ending is one of eight statuses. Each says whether the run can be
// resumed and what to do about it, so a caller never has to guess.
#ifndef LEASH_STATUS_HPP
#define LEASH_STATUS_HPP

#include <boost/describe/enum.hpp>

#include <optional>
#include <ostream>
#include <string_view>

namespace leash {

enum class Status {
  success,            ///< the goal was reached
  budget_exhausted,   ///< a ceiling was hit: iterations, tokens, wall clock or cost
  no_progress,        ///< repeated or invalid actions with a flat goal metric
  plan_failed,        ///< the planner produced invalid plans twice in a row
  approval_denied,    ///< a person or callback denied a gated action
  awaiting_approval,  ///< a gated action waits for approval (headless); resume with the token
  pending_expired,    ///< the approval's time to live ran out before it was given
  error,              ///< something failed that no other status describes
};
BOOST_DESCRIBE_ENUM(Status, success, budget_exhausted, no_progress, plan_failed, approval_denied,
                    awaiting_approval, pending_expired, error)

/// "SUCCESS", "BUDGET_EXHAUSTED", …: the names reports, traces and stores use.
constexpr std::string_view to_string(Status s) noexcept {
  switch (s) {
    case Status::success: return "SUCCESS";
    case Status::budget_exhausted: return "BUDGET_EXHAUSTED";
    case Status::no_progress: return "NO_PROGRESS";
    case Status::plan_failed: return "PLAN_FAILED";
    case Status::approval_denied: return "APPROVAL_DENIED";
    case Status::awaiting_approval: return "AWAITING_APPROVAL";
    case Status::pending_expired: return "PENDING_EXPIRED";
    case Status::error: return "ERROR";
  }
  return "ERROR";
}

inline std::ostream& operator<<(std::ostream& os, Status s) { return os << to_string(s); }

/// The inverse of to_string; nullopt for an unknown name.
constexpr std::optional<Status> status_from_string(std::string_view name) noexcept {
  for (Status s : {Status::success, Status::budget_exhausted, Status::no_progress,
                   Status::plan_failed, Status::approval_denied, Status::awaiting_approval,
                   Status::pending_expired, Status::error})
    if (to_string(s) == name) return s;
  return std::nullopt;
}

/// Whether `Loop::resume` can continue a run that ended this way.
constexpr bool is_resumable(Status s) noexcept {
  return s != Status::success && s != Status::error;
}

/// How a run ended, as learning data sees it (learn/trace.hpp): SUCCESS is
/// success; a run still going or waiting for a person is unknown; every other
/// ending is failure.
enum class Outcome { unknown, success, failure };
BOOST_DESCRIBE_ENUM(Outcome, unknown, success, failure)

constexpr Outcome outcome_of(std::optional<Status> s) noexcept {
  if (!s || *s == Status::awaiting_approval) return Outcome::unknown;
  return *s == Status::success ? Outcome::success : Outcome::failure;
}

/// "success", "failure", "unknown": the names traces, filters and the CLI use.
constexpr std::string_view to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::success: return "success";
    case Outcome::failure: return "failure";
    case Outcome::unknown: return "unknown";
  }
  return "unknown";
}

constexpr std::optional<Outcome> outcome_from_string(std::string_view name) noexcept {
  for (Outcome o : {Outcome::unknown, Outcome::success, Outcome::failure})
    if (to_string(o) == name) return o;
  return std::nullopt;
}

/// One sentence: what to do next.
constexpr std::string_view recommended_action(Status s) noexcept {
  switch (s) {
    case Status::success: return "done";
    case Status::budget_exhausted:
      return "inspect snapshot; Loop::resume(store, run_id, {}, extend) with a larger budget";
    case Status::no_progress: return "change tools, goal, or limits, then Loop::resume(...)";
    case Status::plan_failed: return "fix tool schemas or prompt, then Loop::resume(...)";
    case Status::approval_denied: return "adjust plan or policy, then Loop::resume(...)";
    case Status::awaiting_approval:
      return "approve via token: Loop::resume(store, run_id, Approval{token, true})";
    case Status::pending_expired: return "resume to re-request approval";
    case Status::error: return "inspect trace via loop.explain()";
  }
  return "inspect trace via loop.explain()";
}

}  // namespace leash

#endif
