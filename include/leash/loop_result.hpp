// leash/loop_result.hpp — what a finished (or paused) run returns.
#ifndef LEASH_LOOP_RESULT_HPP
#define LEASH_LOOP_RESULT_HPP

#include <leash/state.hpp>
#include <leash/status.hpp>

#include <optional>
#include <string>

namespace leash {

/// How a run ended, what to do next, and a copy (not a view) of what it spent.
struct LoopResult {
  Status status = Status::error;
  std::string reason;
  bool resumable = false;
  std::string recommended_action;
  std::uint64_t iterations = 0;  ///< recorded iterations, cumulative across resumes
  Metrics metrics;
  std::string run_id;            ///< the run's id in its store
  std::optional<std::string> approval_token;  ///< set for AWAITING_APPROVAL only

  static LoopResult make(Status status, std::string reason, std::uint64_t iterations, Metrics metrics,
                         std::string run_id, std::optional<std::string> token = std::nullopt) {
    return LoopResult{status,     std::move(reason), is_resumable(status),
                      std::string(leash::recommended_action(status)), iterations, metrics,
                      std::move(run_id), std::move(token)};
  }
};

}  // namespace leash

#endif
