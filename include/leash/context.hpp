// leash/context.hpp — what the planner sees: a system message (leash's
// instruction, the agent's own system prompt if any, goal, pinned facts,
// failed approaches) and a user message (summaries of older iterations,
// the last few verbatim, the current observation).
//
// The manager keeps running sizes of every section, so the loop can estimate a
// request's tokens and report the budget without rendering anything; messages
// are rendered only when a planner reads them.
#ifndef LEASH_CONTEXT_HPP
#define LEASH_CONTEXT_HPP

#include <leash/json.hpp>
#include <leash/planner.hpp>
#include <leash/state.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash {

/// Caps used when rendering iterations for the planner (reference values).
struct RenderCaps {
  std::size_t observation = 2000;
  std::size_t plan = 600;
  std::size_t args = 300;
  std::size_t result = 2000;
};

/// The instruction every plan request starts with.
inline constexpr std::string_view agent_instruction =
    "You are an agent working toward a goal inside a bounded loop. Each turn shows what was "
    "tried so far and what is observed now. Call tools to make progress; answer without tool "
    "calls only when no tool can help further.";

/// The prompt a summariser planner receives, before the rendered iteration.
inline constexpr std::string_view summary_instruction =
    "Summarise this iteration of an agent loop in at most three sentences: what was tried, "
    "what happened, and what it means for the goal.";

/// Output tokens a summary may use (reference: 400).
inline constexpr std::uint64_t summary_max_tokens = 400;

/// "### Iteration i\nObserved:\n…" — one iteration as the planner reads it.
std::string render_iteration(IterationRecord const& it, RenderCaps caps = {});

/// The deterministic summary: the iteration rendered with a 600-char result
/// cap, cut to its first 800 characters.
std::string deterministic_summary(IterationRecord const& it);

/// Token counts of each part of the context (len/4 estimates) and what was spent.
struct BudgetReport {
  std::uint64_t pinned_system_tokens = 0;
  std::uint64_t summary_tokens = 0;
  std::uint64_t verbatim_tokens = 0;
  std::uint64_t observation_tokens = 0;
  std::uint64_t total_context_tokens = 0;
  std::uint64_t spent_input_tokens = 0;
  std::uint64_t spent_output_tokens = 0;
  std::string note = "estimates use a len/4 heuristic; provider-reported usage is authoritative";
  /// In `sp` (the default storage unless one is given).
  json::object to_json(json::storage_ptr sp = {}) const;
};

class ContextManager {
 public:
  /// `system_prompt` (LoopOptions::system_prompt) goes into every system
  /// message, after agent_instruction and before the goal, under the heading
  /// "Agent instructions:"; empty: no such section.
  explicit ContextManager(std::uint64_t verbatim_window = 3, std::string summarizer_model = {},
                          std::string system_prompt = {});

  /// Who produces summaries now: {engine, summariser model or
  /// "deterministic-truncate", digest of the summary prompt}.
  ArtifactStamp const& stamp() const noexcept { return stamp_; }

  /// One line per stored summary whose stamp differs from stamp().
  std::vector<std::string> check_artifact_drift(State const& s) const;

  /// Recompute every running size from `s` (construction, resume).
  void attach(State const& s);
  /// After an iteration was appended to `s`: cache its rendering, account for
  /// new failed approaches. Constant work per call.
  void on_iteration_recorded(State const& s);
  /// Iterations that left the verbatim window and have no summary yet, in order.
  std::vector<std::uint64_t> missing_summaries(State const& s) const;
  /// Store a summary artifact for iteration `index`, stamped with stamp()
  /// unless another producer is named (the deterministic fallback).
  void add_summary(State& s, std::uint64_t index, std::string content,
                   std::optional<ArtifactStamp> producer = std::nullopt);
  /// deterministic_summary(s.iterations[index]), reusing the rendering that
  /// just left the verbatim window when it is the same text (no result
  /// longer than the summary's 600-character cap).
  std::string deterministic_summary_of(State const& s, std::uint64_t index);

  /// A message source for one planning step: base context plus `feedback`
  /// (rejected attempts and their errors, in order).
  class Request final : public MessageSource {
   public:
    Request(ContextManager const& cm, State const& s, std::string_view observation,
            std::vector<Message> const& feedback)
        : cm_(cm), state_(s), observation_(observation), feedback_(feedback) {}
    std::vector<Message> build() const override;
    std::size_t size_chars() const override;

   private:
    ContextManager const& cm_;
    State const& state_;
    std::string_view observation_;
    std::vector<Message> const& feedback_;
  };

  Request request(State const& s, std::string_view observation,
                  std::vector<Message> const& feedback) const {
    return Request(*this, s, observation, feedback);
  }

  BudgetReport budget_report(State const& s, std::string_view observation) const;

  /// The agent's system prompt, as given to the constructor.
  std::string const& system_prompt() const noexcept { return system_prompt_; }

  /// agent_instruction, then "\n\nAgent instructions:\n<system prompt>" when
  /// there is one, then "\n\nGoal: <goal>", pinned facts, failed approaches.
  std::string system_message(State const& s) const;
  std::string user_message(State const& s, std::string_view observation) const;

 private:
  std::size_t system_chars(State const& s) const;
  std::size_t verbatim_chars() const;
  std::size_t user_chars(std::size_t observation) const;

  std::uint64_t window_;
  ArtifactStamp stamp_;
  std::string system_prompt_;
  std::uint64_t summarized_upto_ = 0;  ///< iterations [0, this) have summaries
  std::size_t summary_chars_ = 0;      ///< size of the summary lines
  std::size_t summary_count_ = 0;
  std::size_t failed_seen_ = 0;
  std::size_t failed_chars_ = 0;       ///< size of the failed-approach lines
  std::deque<std::string> recent_;     ///< rendered last `window_` iterations, oldest first
  std::string evicted_;                ///< the rendering that last left `recent_`
  std::optional<std::uint64_t> evicted_index_;  ///< whose it is
};

}  // namespace leash

#include <leash/impl/context.hpp>

#endif
