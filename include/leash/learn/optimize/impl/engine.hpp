// leash/learn/optimize/impl/engine.hpp — the optimisation loop.
#ifndef LEASH_LEARN_OPTIMIZE_IMPL_ENGINE_HPP
#define LEASH_LEARN_OPTIMIZE_IMPL_ENGINE_HPP

#include <leash/detail/workers.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
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

/// One coroutine's hold on the engine's turn: the right to call the
/// optimizer and to change the run record. The gate is a channel with room
/// for one message: sending takes the turn (waiting, first come first
/// served, while another holds it) and receiving gives it back. Without a
/// gate (one trial at a time) there is nobody to take turns with.
class EngineTurn {
 public:
  using Gate = boost::asio::experimental::channel<void(boost::system::error_code)>;

  explicit EngineTurn(std::shared_ptr<Gate> gate) noexcept : gate_(std::move(gate)) {}
  EngineTurn(EngineTurn const&) = delete;
  EngineTurn& operator=(EngineTurn const&) = delete;
  ~EngineTurn() { release(); }

  bool gated() const noexcept { return gate_ != nullptr; }

  boost::asio::awaitable<void> take() {
    if (held_) co_return;
    co_await gate_->async_send(boost::system::error_code{}, boost::asio::use_awaitable);
    held_ = true;
  }

  void release() noexcept {
    if (!held_) return;
    held_ = false;
    gate_->try_receive([](boost::system::error_code) {});
  }

 private:
  std::shared_ptr<Gate> gate_;  // shared: a slot's frame may be destroyed after the run's
  bool held_ = false;
};

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
struct OptimizationEngine<Runner>::RunState {
  OptimizationRun run;
  std::vector<ObjectiveSpec> objectives;
  std::uint64_t calls_before = 0;
  Usage usage_before;
  double best = -std::numeric_limits<double>::infinity();
  std::size_t stale = 0, failures_in_a_row = 0, succeeded = 0;
  std::size_t started = 0;  ///< trials started (failed proposals included): the last trial number given
  std::string last_error;
  bool stopping = false;        ///< start no more trials
  bool out_of_patience = false;
  std::string failure;          ///< set when failures in a row ended the run
  std::shared_ptr<detail::EngineTurn::Gate> gate;  ///< only with several trials in flight
};

template <TrialRunner Runner>
boost::asio::awaitable<result<OptimizationRun>> OptimizationEngine<Runner>::run() {
  namespace asio = boost::asio;
  if (options_.max_trials == 0) co_return Error(Errc::invalid_config, "OptimizationEngine: max_trials is 0");
  if (options_.max_concurrent_trials == 0)
    co_return Error(Errc::invalid_config, "OptimizationEngine: max_concurrent_trials is 0 (at least 1 trial must run)");

  RunState s;
  s.run.run_id = detail::run_id(options_.seed);
  s.calls_before = optimizer_.llm_calls();
  s.usage_before = optimizer_.usage();
  s.objectives = optimizer_.options().objectives;

  std::size_t const slots = std::min(options_.max_concurrent_trials, options_.max_trials);
  if (slots == 1) {
    co_await worker(s);
  } else {
    // The workers share the run record and the optimizer: a strand keeps
    // them from running in parallel should the executor have several
    // threads, and the turn keeps their optimizer calls from interleaving.
    auto const ex = co_await asio::this_coro::executor;
    auto strand = asio::make_strand(ex);
    s.gate = std::make_shared<detail::EngineTurn::Gate>(strand, 1);
    auto make_worker = [this, &s] { return worker(s); };
    co_await asio::co_spawn(strand, ::leash::detail::run_workers(slots, make_worker), asio::use_awaitable);
  }

  OptimizationRun& run = s.run;
  if (!s.failure.empty()) {
    run.status = "failed";
    run.reason = std::move(s.failure);
  } else if (s.succeeded == 0) {
    run.status = "failed";
    run.reason = "no trial succeeded; the last error: " + s.last_error;
  } else {
    run.status = "completed";
    run.reason = s.out_of_patience ? "patience" : "max_trials";
  }
  run.llm_calls = optimizer_.llm_calls() - s.calls_before;
  run.usage.input_tokens = optimizer_.usage().input_tokens - s.usage_before.input_tokens;
  run.usage.output_tokens = optimizer_.usage().output_tokens - s.usage_before.output_tokens;
  co_return std::move(run);
}

// One slot: propose a trial, run it, have it analysed and record it; again
// until the run stops or every trial has started. Everything but the trial
// itself happens while holding the turn.
template <TrialRunner Runner>
boost::asio::awaitable<void> OptimizationEngine<Runner>::worker(RunState& s) {
  detail::EngineTurn turn(s.gate);
  std::optional<std::size_t> last;  // where this slot's latest trial was recorded
  if (turn.gated()) co_await turn.take();
  while (!s.stopping && s.started < options_.max_trials) {
    std::size_t const number = ++s.started;
    std::string kind;
    auto proposal = co_await propose(s, number, last, kind);
    if (!proposal) {
      TrialConfig none;
      none.trial_id = optimizer_.new_trial_id();
      last = record(s, number, std::move(kind),
                    detail::failed_trial(none, "the optimizer could not propose a configuration: " +
                                                   proposal.error().what()),
                    {}, {}, {});
      continue;
    }
    Proposal& p = proposal.value();
    turn.release();
    TrialResult trial = co_await run_one(p.config);
    if (turn.gated()) co_await turn.take();

    TrialFeedback feedback;
    if (!trial.failed) {
      auto analysed = co_await optimizer_.analyze(trial);
      if (analysed) {
        feedback = std::move(analysed).value();
        trial.analysis = feedback.summary_text;
      } else {
        trial.analysis = "analysis failed: " + analysed.error().what();
      }
    }
    last = record(s, number, std::move(kind), std::move(trial), std::move(feedback), std::move(p.errors_first_try),
                  std::move(p.clamped));
  }
}

template <TrialRunner Runner>
boost::asio::awaitable<result<Proposal>> OptimizationEngine<Runner>::propose(RunState& s, std::size_t number,
                                                                             std::optional<std::size_t> last,
                                                                             std::string& kind) {
  OptimizationRun const& run = s.run;
  if (number == 1) {
    kind = "initial";
    co_return co_await optimizer_.propose_initial();
  }
  // `last` is the trial whose completion freed this slot (none for the first
  // trials of a concurrent run); with one slot, the trial just before.
  if (last && !run.trials[*last].failed) {
    if (options_.merge_every != 0 && (number - 1) % options_.merge_every == 0 && run.frontier.size() >= 2) {
      std::vector<TrialResult> candidates;
      for (std::size_t k = 0; k < run.frontier.size() && k < 3; ++k) candidates.push_back(run.trials[run.frontier[k]]);
      kind = "merge";
      co_return co_await optimizer_.propose_merge(candidates);
    }
    TrialFeedback const& fb = run.feedback[*last];
    if (!fb.target_primitive.empty() && number > 3) {
      kind = "targeted:" + fb.target_primitive;
      co_return co_await optimizer_.propose_targeted(run.trials[*last].config, fb.target_primitive);
    }
  }
  kind = "next";
  co_return co_await optimizer_.propose_next(run.trials, run.frontier, run.feedback);
}

template <TrialRunner Runner>
boost::asio::awaitable<TrialResult> OptimizationEngine<Runner>::run_one(TrialConfig const& config) {
  std::optional<result<TrialResult>> ran;
  std::string thrown;
  try {
    ran.emplace(co_await runner_.run_trial(config));
  } catch (std::exception const& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "an exception that is not a std::exception";
  }
  if (!ran) co_return detail::failed_trial(config, "the trial runner threw: " + thrown);
  if (!*ran) co_return detail::failed_trial(config, "the trial runner failed: " + ran->error().what());
  TrialResult trial = std::move(ran->value());
  if (trial.trial_id.empty()) trial.trial_id = config.trial_id;
  if (trial.config.trial_id.empty()) trial.config = config;
  if (trial.failed && trial.error.empty()) trial.error = "the trial runner marked the trial failed";
  co_return trial;
}

template <TrialRunner Runner>
std::size_t OptimizationEngine<Runner>::record(RunState& s, std::size_t number, std::string kind, TrialResult trial,
                                                TrialFeedback feedback, std::vector<ProposalError> errors,
                                                std::vector<ProposalChange> changes) {
  OptimizationRun& run = s.run;
  std::size_t const index = run.trials.size();
  run.trials.push_back(std::move(trial));
  run.trial_numbers.push_back(number);
  run.feedback.push_back(std::move(feedback));
  run.proposal_kinds.push_back(std::move(kind));
  run.proposal_errors.push_back(std::move(errors));
  run.proposal_changes.push_back(std::move(changes));
  auto const before = std::move(run.frontier);
  run.frontier = pareto_frontier(run.trials, s.objectives);

  TrialResult const& done = run.trials[index];
  if (done.failed) {
    ++s.failures_in_a_row;
    s.last_error = done.error;
  } else {
    s.failures_in_a_row = 0;
    ++s.succeeded;
    double const sc = score(done);
    bool const improved = sc > s.best;  // NaN: never
    if (improved) {
      s.best = sc;
      run.best = index;
    }
    bool const progressed = options_.early_stop == EngineOptions::EarlyStop::best_score
                                ? improved
                                : detail::frontier_grew(run.trials, s.objectives, before, run.frontier, index);
    s.stale = progressed ? 0 : s.stale + 1;
  }

  run.llm_calls = optimizer_.llm_calls() - s.calls_before;
  run.usage.input_tokens = optimizer_.usage().input_tokens - s.usage_before.input_tokens;
  run.usage.output_tokens = optimizer_.usage().output_tokens - s.usage_before.output_tokens;
  if (options_.progress) options_.progress(run.trials.size(), options_.max_trials, run);

  // The first reason to stop is kept; trials still in flight are recorded
  // after it without changing it.
  if (!s.stopping) {
    if (options_.max_failures_in_a_row != 0 && s.failures_in_a_row >= options_.max_failures_in_a_row) {
      s.failure = std::to_string(s.failures_in_a_row) + " trials failed in a row; the last: " + s.last_error;
      s.stopping = true;
    } else if (options_.patience != 0 && s.stale >= options_.patience) {
      s.out_of_patience = true;
      s.stopping = true;
    }
  }
  return index;
}

}  // namespace leash::learn::optimize

#endif
