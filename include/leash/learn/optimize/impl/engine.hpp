// leash/learn/optimize/impl/engine.hpp — the optimisation loop.
#ifndef LEASH_LEARN_OPTIMIZE_IMPL_ENGINE_HPP
#define LEASH_LEARN_OPTIMIZE_IMPL_ENGINE_HPP

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <random>
#include <span>
#include <utility>

namespace leash::learn::optimize {

namespace detail {

inline std::string run_id(std::optional<std::uint64_t> seed) {
  std::mt19937_64 rng(seed ? *seed : std::random_device{}());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

/// Trial `i` is on `now` and adds a point none of `before` had (an identical
/// copy of a frontier member is no growth).
inline bool frontier_grew(std::span<TrialResult const> trials, std::span<ObjectiveSpec const> objectives,
                          std::span<std::size_t const> before, std::span<std::size_t const> now, std::size_t i) {
  if (std::find(now.begin(), now.end(), i) == now.end()) return false;
  auto same = [&](std::size_t j) {
    for (auto const& o : objectives) {
      double a = objective_value(trials[i], o.metric), b = objective_value(trials[j], o.metric);
      if (!(a == b || (std::isnan(a) && std::isnan(b)))) return false;
    }
    return true;
  };
  return std::none_of(before.begin(), before.end(), same);
}

inline TrialResult failed_trial(TrialConfig const& config, std::string error) {
  TrialResult r;
  r.trial_id = config.trial_id;
  r.config = config;
  r.failed = true;
  r.error = std::move(error);
  return r;
}

}  // namespace detail

template <TrialRunner Runner>
OptimizationEngine<Runner>::OptimizationEngine(LlmOptimizer optimizer, Runner runner, EngineOptions options)
    : optimizer_(std::move(optimizer)), runner_(std::move(runner)), options_(std::move(options)) {}

template <TrialRunner Runner>
double OptimizationEngine<Runner>::score(TrialResult const& r) const {
  return options_.score ? options_.score(r) : r.accuracy;
}

template <TrialRunner Runner>
boost::asio::awaitable<result<OptimizationRun>> OptimizationEngine<Runner>::run() {
  if (options_.max_trials == 0) co_return Error(Errc::invalid_config, "OptimizationEngine: max_trials is 0");

  OptimizationRun run;
  run.run_id = detail::run_id(options_.seed);
  auto const calls_before = optimizer_.llm_calls();
  auto const usage_before = optimizer_.usage();
  auto const objectives = optimizer_.options().objectives;

  std::optional<result<Proposal>> pending;
  pending.emplace(co_await optimizer_.propose_initial());
  std::string kind = "initial";

  double best = -std::numeric_limits<double>::infinity();
  std::size_t stale = 0, failures_in_a_row = 0, succeeded = 0;
  std::string last_error;
  bool out_of_patience = false;

  for (std::size_t t = 1; t <= options_.max_trials; ++t) {
    TrialResult trial;
    TrialFeedback feedback;
    std::vector<ProposalError> errors;
    std::vector<ProposalChange> changes;

    if (!*pending) {
      TrialConfig none;
      none.trial_id = optimizer_.new_trial_id();
      trial = detail::failed_trial(none, "the optimizer could not propose a configuration: " +
                                             pending->error().what());
    } else {
      Proposal& proposal = pending->value();
      errors = proposal.errors_first_try;
      changes = proposal.clamped;
      TrialConfig const& config = proposal.config;
      std::optional<result<TrialResult>> ran;
      std::string thrown;
      try {
        ran.emplace(co_await runner_.run_trial(config));
      } catch (std::exception const& e) {
        thrown = e.what();
      } catch (...) {
        thrown = "an exception that is not a std::exception";
      }
      if (!ran) {
        trial = detail::failed_trial(config, "the trial runner threw: " + thrown);
      } else if (!*ran) {
        trial = detail::failed_trial(config, "the trial runner failed: " + ran->error().what());
      } else {
        trial = std::move(ran->value());
        if (trial.trial_id.empty()) trial.trial_id = config.trial_id;
        if (trial.config.trial_id.empty()) trial.config = config;
        if (trial.failed && trial.error.empty()) trial.error = "the trial runner marked the trial failed";
      }
    }

    if (!trial.failed) {
      auto analysed = co_await optimizer_.analyze(trial);
      if (analysed) {
        feedback = std::move(analysed).value();
        trial.analysis = feedback.summary_text;
      } else {
        trial.analysis = "analysis failed: " + analysed.error().what();
      }
    }

    std::size_t const index = run.trials.size();
    run.trials.push_back(std::move(trial));
    run.feedback.push_back(std::move(feedback));
    run.proposal_kinds.push_back(kind);
    run.proposal_errors.push_back(std::move(errors));
    run.proposal_changes.push_back(std::move(changes));
    auto const before = std::move(run.frontier);
    run.frontier = pareto_frontier(run.trials, objectives);

    TrialResult const& done = run.trials[index];
    if (done.failed) {
      ++failures_in_a_row;
      last_error = done.error;
    } else {
      failures_in_a_row = 0;
      ++succeeded;
      double const s = score(done);
      bool const improved = s > best;  // NaN: never
      if (improved) {
        best = s;
        run.best = index;
      }
      bool const progressed = options_.early_stop == EngineOptions::EarlyStop::best_score
                                  ? improved
                                  : detail::frontier_grew(run.trials, objectives, before, run.frontier, index);
      stale = progressed ? 0 : stale + 1;
    }

    if (options_.progress) options_.progress(t, options_.max_trials);

    if (options_.max_failures_in_a_row != 0 && failures_in_a_row >= options_.max_failures_in_a_row) {
      run.status = "failed";
      run.reason = std::to_string(failures_in_a_row) + " trials failed in a row; the last: " + last_error;
      break;
    }
    if (options_.patience != 0 && stale >= options_.patience) {
      out_of_patience = true;
      break;
    }
    if (t == options_.max_trials) break;

    // The next proposal.
    TrialFeedback const& fb = run.feedback[index];
    if (done.failed) {
      kind = "next";
      pending.emplace(co_await optimizer_.propose_next(run.trials, run.frontier, run.feedback));
    } else if (options_.merge_every != 0 && t % options_.merge_every == 0 && run.frontier.size() >= 2) {
      std::vector<TrialResult> candidates;
      for (std::size_t k = 0; k < run.frontier.size() && k < 3; ++k) candidates.push_back(run.trials[run.frontier[k]]);
      kind = "merge";
      pending.emplace(co_await optimizer_.propose_merge(candidates));
    } else if (!fb.target_primitive.empty() && t > 2) {
      kind = "targeted:" + fb.target_primitive;
      pending.emplace(co_await optimizer_.propose_targeted(done.config, fb.target_primitive));
    } else {
      kind = "next";
      pending.emplace(co_await optimizer_.propose_next(run.trials, run.frontier, run.feedback));
    }
  }

  if (run.status.empty()) {
    if (succeeded == 0) {
      run.status = "failed";
      run.reason = "no trial succeeded; the last error: " + last_error;
    } else {
      run.status = "completed";
      run.reason = out_of_patience ? "patience" : "max_trials";
    }
  }
  run.llm_calls = optimizer_.llm_calls() - calls_before;
  run.usage.input_tokens = optimizer_.usage().input_tokens - usage_before.input_tokens;
  run.usage.output_tokens = optimizer_.usage().output_tokens - usage_before.output_tokens;
  co_return run;
}

}  // namespace leash::learn::optimize

#endif
