#ifndef LEASH_IMPL_LOOP_HPP
#define LEASH_IMPL_LOOP_HPP

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <iostream>
#include <utility>

namespace leash {

namespace detail {

/// Approval tokens are capabilities: traces carry their digest, never the token.
inline std::string token_id(std::string_view token) { return digest(token); }

inline double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

inline json::value metric_json(std::optional<MetricSnapshot> const& m, json::storage_ptr const& sp = {}) {
  return m ? json::value_from(*m, sp) : json::value(nullptr, sp);
}

}  // namespace detail

template <class ToolSet_>
result<void> check_tool_names(std::vector<std::string> const& names, std::string_view what) {
  std::vector<std::string_view> unknown;
  for (auto const& n : names)
    if (!ToolSet_::find(n) && std::find(unknown.begin(), unknown.end(), n) == unknown.end()) unknown.push_back(n);
  if (unknown.empty()) return success();
  std::string msg(what);
  msg += unknown.size() == 1 ? " names a tool" : " names tools";
  msg += " the ToolSet does not have:";
  for (std::size_t i = 0; i < unknown.size(); ++i) ((msg += i ? ", '" : " '") += unknown[i]) += '\'';
  msg += "; available:";
  if (ToolSet_::names().empty()) msg += " none";
  for (std::size_t i = 0; i < ToolSet_::names().size(); ++i)
    ((msg += i ? ", '" : " '") += ToolSet_::names()[i]) += '\'';
  return Error{Errc::invalid_config, std::move(msg)};
}

template <class P, class TS, class PL, class EL, class S>
Loop<P, TS, PL, EL, S>::Loop(std::string goal, P planner, TS tools, PL policies, EL exits, S store,
                             LoopOptions options)
    : planner_(std::move(planner)),
      tools_(std::move(tools)),
      policies_(std::move(policies)),
      exits_(std::move(exits)),
      store_(std::move(store)),
      options_(std::move(options)),
      context_(options_.limits.verbatim_window,
               options_.summarizer ? std::string(options_.summarizer.model_id()) : std::string(),
               options_.system_prompt),
      tracer_(options_.trace_sinks),
      pool_(options_.tool_threads) {
  state_.goal = std::move(goal);
  state_.run_id = options_.run_id.empty() ? new_run_id() : options_.run_id;
  state_.config = options_.limits;
  state_.tool_schema_hash = TS::schema_hash();
  state_.info.agent = options_.agent_name;
  state_.info.metadata = options_.run_metadata;
  state_.info.model = std::string(planner_.model_id());
  state_.info.engine = std::string(provider_of(planner_));
  context_.attach(state_);
  // Events for the store are buffered and appended once per iteration: one
  // store call per iteration, not per event. (Loop is not movable, so the
  // buffer's address is stable.)
  if (options_.trace_to_store) tracer_.set_store_buffer(&store_events_);
  tool_enabled_.fill(true);
  if (options_.enabled_tools) {
    if (auto checked = check_tool_names<TS>(*options_.enabled_tools, "LoopOptions::enabled_tools");
        checked.has_error())
      config_error_ = checked.error();
    tool_enabled_.fill(false);
    for (auto const& n : *options_.enabled_tools)
      if (auto index = TS::find(n)) tool_enabled_[*index] = true;
    for (std::size_t i = 0; i < TS::size; ++i)
      if (tool_enabled_[i]) enabled_schemas_.push_back(TS::schemas()[i]);
  }
  if (state_.config.cost_limit_usd && !config_error_) {
    auto usd = check_pricing_staleness(options_.pricing, options_.pricing_staleness);
    if (usd.has_error()) {
      config_error_ = usd.error();
    } else {
      usd_enabled_ = usd.value();
      if (usd_enabled_ && !options_.pricing.is_fresh()) {
        warnings_.push_back("pricing table as of " + options_.pricing.as_of +
                            " is more than 90 days old; USD limits use stale prices");
        if (!options_.quiet)
          (options_.console ? *options_.console : std::cerr) << "[leash] warning: " << warnings_.back() << '\n';
      }
    }
  }
}

template <class P, class TS, class PL, class EL, class S>
result<LoopResult> Loop<P, TS, PL, EL, S>::block_on(
    std::function<boost::asio::awaitable<result<LoopResult>>()> start) {
  if (detail::tool_depth > 0)
    return Error{Errc::nested_loop, "nested loop: a loop cannot run from inside one of its tools"};
  boost::asio::io_context io;
  std::optional<result<LoopResult>> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await start()); },
      [&](std::exception_ptr e) {
        if (e && !out) out.emplace(Error{Errc::invalid_config, "loop coroutine failed unexpectedly"});
      });
  io.run();
  if (!out) return Error{Errc::invalid_config, "loop did not complete"};
  return std::move(*out);
}

template <class P, class TS, class PL, class EL, class S>
result<LoopResult> Loop<P, TS, PL, EL, S>::run() {
  return block_on([this] { return async_run(); });
}

template <class P, class TS, class PL, class EL, class S>
result<LoopResult> Loop<P, TS, PL, EL, S>::resume(std::string run_id, ResumeOptions options) {
  return block_on([this, id = std::move(run_id), opts = std::move(options)]() mutable {
    return async_resume(std::move(id), std::move(opts));
  });
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<result<LoopResult>> Loop<P, TS, PL, EL, S>::async_run() {
  if (detail::tool_depth > 0)
    co_return Error{Errc::nested_loop, "nested loop: a loop cannot run from inside one of its tools"};
  if (config_error_) co_return *config_error_;
  if (state_.pending_approval)
    co_return Error{Errc::pending_approval, "run '" + state_.run_id + "' waits for approval of '" +
                                                state_.pending_approval->tool +
                                                "'; resume it with the approval token instead"};
  if (!run_created_) {
    state_.info.started_at = Tracer::now();
    auto created = co_await store_.create_run(state_);
    if (created.has_error())
      co_return Error{Errc::store_failed, "cannot create run '" + state_.run_id + "': " + created.error().what()};
    run_created_ = true;
  }
  start_session();
  announce();
  std::string failure;
  try {
    co_return co_await main_loop();
  } catch (...) {
    failure = detail::describe_current_exception();
  }
  // Only a bug in leash or a throwing user callback gets here; the run still
  // ends as a status, with its state saved.
  co_return co_await finish(Status::error, "unexpected exception: " + failure);
}

template <class P, class TS, class PL, class EL, class S>
void Loop<P, TS, PL, EL, S>::start_session() {
  session_start_ = std::chrono::steady_clock::now();
  elapsed_base_ = state_.metrics.elapsed_s;
  state_.status.reset();
  state_.reason.clear();
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<result<LoopResult>> Loop<P, TS, PL, EL, S>::async_resume(std::string run_id,
                                                                               ResumeOptions options) {
  if (detail::tool_depth > 0)
    co_return Error{Errc::nested_loop, "nested loop: a loop cannot run from inside one of its tools"};
  auto loaded = co_await store_.load(run_id);
  if (loaded.has_error()) co_return loaded.error();
  State stored = std::move(loaded).value();

  if (stored.tool_schema_hash != TS::schema_hash() && !options.allow_schema_change)
    co_return Error{Errc::schema_changed,
                    "the tools of run '" + run_id + "' had schema " + stored.tool_schema_hash + ", these have " +
                        TS::schema_hash() + " (a name, description or argument changed); pass "
                        "ResumeOptions::allow_schema_change to resume anyway"};
  auto& c = stored.config;
  auto const& x = options.extend;
  if (x.max_iterations) c.max_iterations = *x.max_iterations;
  if (x.token_limit) c.token_limit = *x.token_limit;
  if (x.wall_clock_s) c.wall_clock_s = *x.wall_clock_s;
  if (x.cost_limit_usd) c.cost_limit_usd = *x.cost_limit_usd;
  if (x.verbatim_window) c.verbatim_window = *x.verbatim_window;
  if (x.max_tokens_per_call) c.max_tokens_per_call = *x.max_tokens_per_call;
  if (x.approval_ttl_s) c.approval_ttl_s = *x.approval_ttl_s;

  ContextManager context(c.verbatim_window,
                         options_.summarizer ? std::string(options_.summarizer.model_id()) : std::string(),
                         options_.system_prompt);
  if (!options.allow_artifact_drift) {
    auto drift = context.check_artifact_drift(stored);
    if (!drift.empty()) {
      std::string list;
      for (auto const& d : drift) (list += "\n  ") += d;
      co_return Error{Errc::artifact_drift, "run '" + run_id + "' has summaries from another summariser:" + list +
                                                "\npass ResumeOptions::allow_artifact_drift to resume anyway"};
    }
  }
  // The limits may now include a USD limit the constructor never saw.
  usd_enabled_ = true;
  if (c.cost_limit_usd) {
    auto usd = check_pricing_staleness(options_.pricing, options_.pricing_staleness);
    if (usd.has_error()) co_return usd.error();
    usd_enabled_ = usd.value();
  }

  std::vector<JournaledAction> in_flight = std::move(stored.in_flight);
  stored.in_flight.clear();
  state_ = std::move(stored);
  context_ = std::move(context);
  context_.attach(state_);
  run_created_ = true;
  last_journaled_.reset();
  start_session();

  std::string failure;
  try {
    if (!in_flight.empty())
      if (auto ended = co_await recover_in_flight(std::move(in_flight))) co_return std::move(*ended);
    if (state_.pending_approval) {
      auto settled = co_await settle_pending(options);
      if (settled.has_error()) co_return settled.error();
      if (settled.value()) co_return std::move(*settled.value());
    }
    // As the reference does: loop.start comes after an approved action's iteration.
    announce();
    co_return co_await main_loop();
  } catch (...) {
    failure = detail::describe_current_exception();
  }
  co_return co_await finish(Status::error, "unexpected exception: " + failure);
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<std::optional<LoopResult>> Loop<P, TS, PL, EL, S>::recover_in_flight(
    std::vector<JournaledAction> entries) {
  IterationRecord it;
  it.index = state_.iterations.size();
  it.observation = "(recovered: the process stopped during this iteration)";
  for (auto const& e : entries) {
    if (e.iteration != it.index) continue;  // a leftover of a recorded iteration: already counted
    it.plan_text = e.plan_text;
    it.input_tokens = e.input_tokens;
    it.output_tokens = e.output_tokens;
  }
  // The iteration's planner tokens were spent but never reached the head.
  state_.metrics.input_tokens += it.input_tokens;
  state_.metrics.output_tokens += it.output_tokens;
  if (it.input_tokens + it.output_tokens > 0) state_.metrics.llm_calls += 1;

  for (auto& e : entries) {
    if (e.iteration != it.index) continue;
    if (e.result) {
      it.actions.push_back(std::move(*e.result));
      continue;
    }
    if (TS::is_idempotent(e.tool)) {
      auto call = validate_call(e.tool, json::value(e.args));
      if (call.has_value()) {
        if (auto ended = co_await execute_journaled(it, call.value())) co_return ended;
        continue;
      }
    }
    it.actions.push_back(ActionRecord{e.tool, excerpt(json::serialize(e.args), args_excerpt_cap),
                                      ActionStatus::uncertain,
                                      "started before the process stopped; its outcome is unknown and it "
                                      "was not re-run (the tool is not declared idempotent)",
                                      0.0, e.fingerprint});
    tracer_.emit(event::action_uncertain, [&](json::storage_ptr const& sp) {
      return json::object({{"tool", e.tool}, {"iteration", e.iteration}, {"position", e.position}}, sp);
    });
  }
  co_return co_await record(std::move(it));
}

template <class P, class TS, class PL, class EL, class S>
auto Loop<P, TS, PL, EL, S>::settle_pending(ResumeOptions const& options)
    -> boost::asio::awaitable<result<std::optional<LoopResult>>> {
  PendingApproval& p = *state_.pending_approval;
  std::string const id = p.token_sha256.substr(0, 16);
  double const now = Tracer::now();

  // Expiry first, as the reference does: an expired request needs no token.
  if (now - p.created_at > p.ttl_s) {
    double age = now - p.created_at;
    tracer_.emit(event::approval_expired, [&](json::storage_ptr const& sp) {
      return json::object({{"token_id", id}, {"age_s", detail::round3(age)}}, sp);
    });
    state_.pending_approval.reset();
    co_return co_await stop_with(Status::pending_expired, "approval token " + id + " expired after " +
                                                           detail::format_number(std::floor(age)) + "s");
  }

  bool approved = false;
  std::string note;
  if (options.approval) {
    if (!token_matches(options.approval->token, p.token_sha256))
      co_return Error{Errc::approval_token_mismatch,
                      "the approval token does not match the pending request of run '" + state_.run_id + "'"};
    approved = options.approval->approved;
    note = approved ? "approved via resume token" : "denied via resume token";
  } else if (p.decision) {
    approved = p.decision->approved;
    note = !p.decision->note.empty() ? p.decision->note
                                     : (approved ? "approved via leash approve" : "denied via leash deny");
  } else {
    co_return Error{Errc::approval_required,
                    "run '" + state_.run_id + "' waits for approval of '" + p.tool +
                        "'; pass ResumeOptions::approval {token, approved} or record a decision with "
                        "`leash approve`"};
  }
  if (p.state_version > state_.state_version || action_hash(p.tool, p.args, p.state_version) != p.action_hash)
    co_return Error{Errc::approval_action_mismatch,
                    "the pending action of run '" + state_.run_id + "' ('" + p.tool +
                        "') does not match its action hash; the stored run was changed after the request"};
  tracer_.emit(event::approval_decision, [&](json::storage_ptr const& sp) {
    return json::object({{"token_id", id},
                        {"decision", to_string(approved ? ApprovalDecision::approved : ApprovalDecision::denied)},
                        {"note", note}}, sp);
  });
  if (!approved) {
    state_.pending_approval.reset();
    co_return co_await stop_with(Status::approval_denied, note);
  }
  auto call = validate_call(p.tool, json::value(p.args));
  if (call.has_error())
    co_return Error{Errc::approval_action_mismatch,
                    "the approved action no longer validates against the tools: " + call.error().what()};

  // The precondition: the situation now against the one the approver saw.
  auto observed = observe();
  if (observed.has_error()) co_return co_await stop_with(Status::error, observed.error().what());
  auto measured = measure(observed.value());
  if (measured.has_error()) co_return co_await stop_with(Status::error, measured.error().what());
  std::optional<MetricSnapshot> metric = std::move(measured).value();
  std::string observation_digest = digest(observed.value());
  std::string changed;
  if (p.precondition_metric && metric && !(*p.precondition_metric == *metric))
    changed = "goal metric differs";
  else if (!options_.goal_metric && options_.observe && !p.precondition_observation.empty() &&
           observation_digest != p.precondition_observation)
    changed = "observation differs";
  if (!changed.empty()) {
    std::string token = new_approval_token();
    tracer_.emit(event::approval_invalidated, [&](json::storage_ptr const& sp) {
      return json::object({{"old_token_id", id},
                          {"new_token_id", detail::token_id(token)},
                          {"reason", "precondition changed since approval was requested"}}, sp);
    });
    p.token_sha256 = sha256_hex(token);
    p.created_at = now;
    p.precondition_metric = metric;
    p.precondition_observation = observation_digest;
    p.decision.reset();
    co_return co_await stop_with(Status::awaiting_approval,
                              "the situation changed since this approval was requested (" + changed +
                                  "); approval re-requested with a new token",
                              token);
  }
  if (auto hit = ceiling()) {
    // The approval stays: resume with a raised limit and the same decision.
    keep_pending_on_finish_ = true;
    co_return co_await stop_with(Status::budget_exhausted, hit->reason);
  }

  // Cleared durably before the action runs: a crash during it leaves an
  // uncertain action, never an approval that could run it a second time.
  PendingApproval granted = std::move(p);
  state_.pending_approval.reset();
  auto saved = co_await store_.save_head(state_);
  if (saved.has_error())
    co_return co_await stop_with(Status::error, "could not record the approval: " + saved.error().what());

  IterationRecord it;
  it.index = state_.iterations.size();
  it.observation = std::move(observed).value();
  last_observation_ = it.observation;
  it.metric = std::move(metric);
  it.plan_text = granted.plan_text.empty() ? "approved action " + granted.tool : granted.plan_text;
  bool const more_follow = !granted.remaining_calls.empty();
  if (auto ended = co_await execute_journaled(it, call.value(), more_follow)) co_return ended;

  std::vector<call_type> rest;
  for (auto const& planned : granted.remaining_calls) {
    auto next = validate_call(planned.tool, json::value(planned.args));
    if (next.has_value())
      rest.push_back(std::move(next).value());
    else
      it.actions.push_back(ActionRecord{planned.tool, excerpt(json::serialize(planned.args), args_excerpt_cap),
                                        ActionStatus::error, "not run: " + next.error().what(), 0.0, {}});
  }
  if (auto ended = co_await run_calls(it, rest, 0)) co_return ended;
  if (auto failed = co_await record(std::move(it))) co_return failed;
  if (auto hit = exits_.evaluate(state_)) co_return co_await stop_with(hit->status, hit->reason);
  co_return std::optional<LoopResult>();
}

template <class P, class TS, class PL, class EL, class S>
void Loop<P, TS, PL, EL, S>::announce() {
  auto const& c = state_.config;
  std::string limits = std::to_string(c.max_iterations) + " iterations, " +
                       with_thousands(static_cast<long long>(c.token_limit)) + " tokens, " +
                       detail::format_number(c.wall_clock_s) + "s wall-clock";
  if (c.cost_limit_usd) limits += ", " + format_usd(*c.cost_limit_usd) + " cost";
  if (!options_.quiet)
    (options_.console ? *options_.console : std::cerr)
        << "[leash] goal='" << state_.goal << "' | limits: " << limits << '\n';
  tracer_.emit(event::loop_start, [&](json::storage_ptr const& sp) {
    return json::object({{"goal", state_.goal}, {"limits", limits}, {"run_id", state_.run_id}}, sp);
  });
}

template <class P, class TS, class PL, class EL, class S>
double Loop<P, TS, PL, EL, S>::elapsed() const {
  return elapsed_base_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - session_start_).count();
}

template <class P, class TS, class PL, class EL, class S>
std::optional<ModelPrice> Loop<P, TS, PL, EL, S>::price_of(std::string_view model) const {
  auto it = options_.pricing.models.find(model);
  if (it == options_.pricing.models.end()) return std::nullopt;
  return it->second;
}

template <class P, class TS, class PL, class EL, class S>
std::optional<double> Loop<P, TS, PL, EL, S>::account_call(Usage const& usage, std::string_view model) {
  auto& m = state_.metrics;
  m.input_tokens += usage.input_tokens;
  m.output_tokens += usage.output_tokens;
  m.llm_calls += 1;
  if (!usd_enabled_) return std::nullopt;
  // Per call, at that call's model: a run mixing a planner and a summariser is priced right.
  auto cost = options_.pricing.estimate_cost(usage.input_tokens, usage.output_tokens, model);
  if (cost) m.cost_usd = m.cost_usd.value_or(0.0) + *cost;
  return cost;
}

template <class P, class TS, class PL, class EL, class S>
result<std::string> Loop<P, TS, PL, EL, S>::observe() noexcept {
  if (!options_.observe) return std::string();
  try {
    return excerpt(options_.observe(state_));
  } catch (...) {
    return Error{Errc::invalid_config, "observe failed: " + detail::describe_current_exception()};
  }
}

template <class P, class TS, class PL, class EL, class S>
result<std::optional<MetricSnapshot>> Loop<P, TS, PL, EL, S>::measure(std::string const& observation) noexcept {
  if (!options_.goal_metric) return std::optional<MetricSnapshot>();
  try {
    return std::optional<MetricSnapshot>(options_.goal_metric.measure(observation, state_));
  } catch (...) {
    return Error{Errc::invalid_config, "goal metric failed: " + detail::describe_current_exception()};
  }
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<LoopResult> Loop<P, TS, PL, EL, S>::main_loop() {
  for (;;) {
    if (auto hit = ceiling()) co_return co_await finish(Status::budget_exhausted, hit->reason);

    if (auto stop = policies_.before_iteration(state_)) {
      auto& [name, decision] = *stop;
      tracer_.emit(event::policy_stop, [&](json::storage_ptr const& sp) {
        return json::object({{"policy", name}, {"reason", decision.reason}}, sp);
      });
      co_return co_await finish(decision.status.value_or(Status::error), decision.reason);
    }

    IterationRecord it;
    it.index = state_.iterations.size();
    auto observed = observe();
    if (observed.has_error()) co_return co_await finish(Status::error, observed.error().what());
    it.observation = std::move(observed).value();
    last_observation_ = it.observation;
    auto measured = measure(it.observation);
    if (measured.has_error()) co_return co_await finish(Status::error, measured.error().what());
    it.metric = std::move(measured).value();
    tracer_.emit(event::iteration_start, [&](json::storage_ptr const& sp) {
      return json::object({{"index", it.index}, {"metric", detail::metric_json(it.metric, sp)}}, sp);
    });

    if (it.metric && options_.goal_metric.is_success(*it.metric)) {
      if (auto failed = co_await record(std::move(it))) co_return std::move(*failed);
      co_return co_await finish(Status::success, "goal metric reports success");
    }

    PlanOutcome planned = co_await plan_step(it.observation, it);
    if (auto* stop = std::get_if<BudgetStop>(&planned)) {
      // Attempts already made in this iteration are kept as an invalid plan.
      if (it.input_tokens + it.output_tokens > 0) {
        it.plan_invalid = true;
        if (auto failed = co_await record(std::move(it))) co_return std::move(*failed);
      }
      co_return co_await finish(Status::budget_exhausted, stop->reason);
    }
    if (auto* error = std::get_if<PlanError>(&planned)) {
      if (it.input_tokens + it.output_tokens > 0) {
        it.plan_invalid = true;
        if (auto failed = co_await record(std::move(it))) co_return std::move(*failed);
      }
      co_return co_await finish(Status::error, error->reason);
    }
    if (std::holds_alternative<PlanInvalid>(planned)) {
      it.plan_invalid = true;
      if (auto failed = co_await record(std::move(it))) co_return std::move(*failed);
      if (state_.plan_invalid_streak >= 2)
        co_return co_await finish(Status::plan_failed,
                                  "the planner produced invalid tool calls in " +
                                      std::to_string(state_.plan_invalid_streak) +
                                      " iterations in a row (3 attempts each)");
      continue;  // exits are not evaluated after an invalid plan
    }

    auto& [plan, calls] = std::get<Planned>(planned);
    it.plan_text = plan.text;
    if (auto ended = co_await run_calls(it, calls, 0)) co_return std::move(*ended);

    if (auto failed = co_await record(std::move(it))) co_return std::move(*failed);
    if (auto hit = exits_.evaluate(state_)) co_return co_await finish(hit->status, hit->reason);
  }
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<std::optional<LoopResult>> Loop<P, TS, PL, EL, S>::run_calls(IterationRecord& it,
                                                                                   std::vector<call_type>& calls,
                                                                                   std::size_t first) {
  for (std::size_t i = first; i < calls.size(); ++i) {
    auto& call = calls[i];
    if (auto hit = ceiling()) {
      tracer_.emit(event::budget_preempt, [&](json::storage_ptr const& sp) { return json::object({{"dropped_action", call.name}}, sp); });
      if (auto failed = co_await record(std::move(it))) co_return failed;
      co_return co_await stop_with(Status::budget_exhausted, hit->reason);
    }

    if (auto gate = policies_.before_action(state_, ActionView{call.name, call.normalized})) {
      auto& [policy, decision] = *gate;
      if (decision.kind == DecisionKind::stop) {
        tracer_.emit(event::policy_stop, [&](json::storage_ptr const& sp) {
          return json::object({{"policy", policy}, {"reason", decision.reason}, {"tool", call.name}}, sp);
        });
        if (auto failed = co_await record(std::move(it))) co_return failed;
        co_return co_await stop_with(decision.status.value_or(Status::error), decision.reason);
      }

      double ttl = options_.approval && options_.approval->ttl_s() ? *options_.approval->ttl_s()
                                                                   : state_.config.approval_ttl_s;
      ApprovalRequest request(new_approval_token(), std::string(call.name), call.normalized,
                              decision.reason.empty() ? "requires approval" : decision.reason,
                              action_hash(call.name, call.normalized, state_.state_version),
                              state_.state_version, Tracer::now(), ttl, tools_.preview(call));
      tracer_.emit(event::approval_requested, [&](json::storage_ptr const& sp) {
        return json::object({{"tool", request.tool()},
                            {"token_id", detail::token_id(request.token())},
                            {"reason", request.reason()}}, sp);
      });
      // (No co_await inside ?: — GCC 12 miscompiles it.)
      ApprovalOutcome outcome{ApprovalDecision::denied, "no approval runner configured"};
      if (options_.approval) outcome = co_await options_.approval->decide(request);
      tracer_.emit(event::approval_decision, [&](json::storage_ptr const& sp) {
        return json::object({{"token_id", detail::token_id(request.token())},
                            {"decision", to_string(outcome.decision)},
                            {"note", outcome.note}}, sp);
      });

      if (outcome.decision == ApprovalDecision::denied) {
        if (auto failed = co_await record(std::move(it))) co_return failed;
        co_return co_await stop_with(Status::approval_denied, outcome.note);
      }
      if (outcome.decision == ApprovalDecision::pending) {
        PendingApproval pending;
        pending.token_sha256 = sha256_hex(request.token());
        pending.tool = request.tool();
        pending.args = request.args();
        pending.reason = request.reason();
        pending.action_hash = request.action_hash();
        pending.state_version = request.state_version();
        pending.created_at = request.created_at();
        pending.ttl_s = request.ttl_s();
        pending.plan_text = it.plan_text;
        // The precondition is the situation right before this action: earlier
        // actions of this plan may have changed it since the iteration began.
        pending.precondition_metric = it.metric;
        pending.precondition_observation = digest(it.observation);
        if (!it.actions.empty()) {
          auto now_observed = observe();
          if (now_observed.has_value()) {
            pending.precondition_observation = digest(now_observed.value());
            auto now_measured = measure(now_observed.value());
            if (now_measured.has_value()) pending.precondition_metric = now_measured.value();
          }
        }
        // Calls planned after the gated one wait with it rather than vanish.
        for (std::size_t j = i + 1; j < calls.size(); ++j)
          pending.remaining_calls.push_back(
              PlannedCall{{}, std::string(calls[j].name), calls[j].normalized});
        std::string token = request.token();
        std::string tool(call.name);
        if (!it.actions.empty() || !it.plan_text.empty())
          if (auto failed = co_await record(std::move(it))) co_return failed;
        state_.pending_approval = std::move(pending);
        co_return co_await stop_with(Status::awaiting_approval,
                                  "action '" + tool + "' awaits approval; resume with the token "
                                  "from LoopResult::approval_token",
                                  token);
      }
    }

    bool const more_follow = i + 1 < calls.size();
    if (auto ended = co_await execute_journaled(it, call, more_follow)) co_return ended;
  }
  co_return std::nullopt;
}

template <class P, class TS, class PL, class EL, class S>
auto Loop<P, TS, PL, EL, S>::validate_call(std::string_view name, json::value const& args) const
    -> result<call_type> {
  // Word for word what the ToolSet says of a name it lacks: to the planner,
  // which was never offered the tool, it does not exist.
  if (auto index = TS::find(name); index && !tool_enabled_[*index])
    return Error{Errc::unknown_tool, "unknown tool '" + std::string(name) + "'"};
  return tools_.validate(name, args);
}

template <class P, class TS, class PL, class EL, class S>
JournaledAction Loop<P, TS, PL, EL, S>::journal_entry(IterationRecord const& it, call_type const& call) {
  JournaledAction j;
  j.iteration = it.index;
  j.position = it.actions.size();
  j.tool = std::string(call.name);
  j.args = call.normalized;
  j.fingerprint = call.fingerprint;
  j.plan_text = it.plan_text;
  j.input_tokens = it.input_tokens;
  j.output_tokens = it.output_tokens;
  return j;
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<std::optional<LoopResult>> Loop<P, TS, PL, EL, S>::execute_journaled(IterationRecord& it,
                                                                                           call_type const& call,
                                                                                           bool more_follow) {
  // Crash-exact: the start is durable before the tool runs. The previous
  // call's result rides in the same write, so a one-call iteration costs one
  // journal write plus the iteration record.
  JournaledAction start = journal_entry(it, call);
  std::vector<JournaledAction> batch;
  batch.reserve(2);
  if (last_journaled_ && last_journaled_->iteration == it.index) batch.push_back(std::move(*last_journaled_));
  last_journaled_.reset();
  // Kept (with its result, below) only when a later call of this iteration
  // will carry it; the iteration record carries the last one.
  if (more_follow)
    batch.push_back(start);
  else
    batch.push_back(std::move(start));
  auto journaled = co_await store_.journal(state_.run_id, std::move(batch));
  if (journaled.has_error()) {
    std::string tool(call.name);
    if (auto failed = co_await record(std::move(it))) co_return failed;
    co_return co_await stop_with(Status::error, "could not journal the start of '" + tool +
                                                    "', so it was not run: " + journaled.error().what());
  }

  // Inline (non-blocking) tools run without a coroutine frame of their own.
  // (No co_await inside ?: — GCC 12 miscompiles it.)
  ToolOutcome outcome;
  if (auto ran = tools_.execute_inline(call))
    outcome = std::move(*ran);
  else
    outcome = co_await tools_.execute(call, pool_);
  std::string args_json = json::serialize(call.normalized);
  it.actions.push_back(ActionRecord{std::string(call.name), excerpt(args_json, args_excerpt_cap), outcome.status,
                                    std::move(outcome.output), outcome.duration_s, call.fingerprint});
  tracer_.emit(event::action_executed, [&](json::storage_ptr const& sp) {
    auto const& a = it.actions.back();
    return json::object({{"tool", a.tool}, {"status", to_string(a.status)}, {"duration_s", detail::round3(a.duration_s)}}, sp);
  });
  if (more_follow) {
    start.result = it.actions.back();
    last_journaled_ = std::move(start);
  }
  co_return std::nullopt;
}

template <class P, class TS, class PL, class EL, class S>
auto Loop<P, TS, PL, EL, S>::plan_step(std::string const& observation, IterationRecord& it)
    -> boost::asio::awaitable<PlanOutcome> {
  std::vector<Message> feedback;
  for (unsigned attempt = 0; attempt < 3; ++attempt) {
    auto source = context_.request(state_, observation, feedback);
    PlanRequest request(source, offered_tools(), 0, attempt);
    auto allowance = call_allowance(state_, state_.config, estimate_input_tokens(planner_, request),
                                    price_of(planner_.model_id()), usd_enabled_);
    if (auto* stop = std::get_if<BudgetStop>(&allowance)) co_return std::move(*stop);
    if (auto hit = ceiling()) co_return std::move(*hit);
    request.set_max_tokens(std::get<std::uint64_t>(allowance));

    result<Plan> reply = Error{Errc::planner_failed};
    std::string thrown;
    try {
      reply = co_await planner_.plan(request);
    } catch (...) {
      thrown = detail::describe_current_exception();
    }
    if (!thrown.empty()) co_return PlanError{"planner failed: " + thrown};
    if (reply.has_error()) co_return PlanError{"planner failed: " + reply.error().what()};

    Plan plan = std::move(reply).value();
    if (plan.model_id.empty()) plan.model_id = std::string(planner_.model_id());
    state_.info.model = plan.model_id;
    std::optional<double> cost = account_call(plan.usage, plan.model_id);
    it.input_tokens += plan.usage.input_tokens;
    it.output_tokens += plan.usage.output_tokens;
    tracer_.emit(event::llm_call, [&](json::storage_ptr const& sp) {
      return json::object({{"model", plan.model_id},
                          {"input_tokens", plan.usage.input_tokens},
                          {"output_tokens", plan.usage.output_tokens},
                          {"attempt", attempt},
                          {"max_tokens", request.max_tokens()},
                          {"retries", plan.retries},
                          {"retry_wait_s", detail::round3(plan.retry_wait_s)},
                          {"cost_usd", cost ? json::value(*cost) : json::value(nullptr)}}, sp);
    });

    Planned planned;
    std::vector<std::string> errors;
    planned.calls.reserve(plan.tool_calls.size());
    for (auto const& call : plan.tool_calls) {
      auto validated = validate_call(call.name, call.args);
      if (validated.has_error())
        errors.push_back(validated.error().message);
      else
        planned.calls.push_back(std::move(validated).value());
    }
    if (errors.empty()) {
      planned.plan = std::move(plan);
      co_return planned;
    }

    tracer_.emit(event::plan_invalid, [&](json::storage_ptr const& sp) {
      json::array list(sp);
      for (auto const& e : errors) list.emplace_back(e);
      return json::object({{"attempt", attempt}, {"errors", std::move(list)}}, sp);
    });
    std::string said = plan.text;
    if (said.empty()) {
      json::array calls;
      for (auto const& c : plan.tool_calls) calls.push_back(json::object{{"name", c.name}, {"args", c.args}});
      said = json::serialize(calls);
    }
    std::string rejected = "Tool call rejected:";
    for (auto const& e : errors) (rejected += '\n') += e;
    rejected += "\nRetry with valid arguments matching the tool schemas.";
    feedback.push_back(Message{"assistant", std::move(said)});
    feedback.push_back(Message{"user", std::move(rejected)});
  }
  co_return PlanInvalid{};
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<std::optional<LoopResult>> Loop<P, TS, PL, EL, S>::record(IterationRecord it) {
  ProgressReport report = evaluate_progress(state_, it);
  it.repetition = report.repetition;
  state_.no_progress_streak = report.no_progress_streak;
  state_.plan_invalid_streak = report.plan_invalid_streak;
  if (report.trend == Trend::regressing && !it.plan_text.empty())
    state_.failed_approaches.push_back("iteration " + std::to_string(it.index) + ": " +
                                       it.plan_text.substr(0, 160) + " -> metric regressed");
  state_.iterations.push_back(std::move(it));
  ++state_.state_version;
  last_journaled_.reset();  // the iteration record carries every result
  context_.on_iteration_recorded(state_);

  json::array summarized;
  for (std::uint64_t index : context_.missing_summaries(state_)) {
    IterationRecord const& old = state_.iterations[index];
    std::optional<std::string> content;
    if (options_.summarizer) {
      std::vector<Message> prompt{Message{"system", std::string(summary_instruction)},
                                  Message{"user", render_iteration(old)}};
      static json::array const no_tools;
      PlanRequest request(std::move(prompt), no_tools, summary_max_tokens);
      auto allowance = call_allowance(state_, state_.config,
                                      options_.summarizer.estimate_input_tokens(request),
                                      price_of(options_.summarizer.model_id()), usd_enabled_);
      if (auto* allowed = std::get_if<std::uint64_t>(&allowance)) {
        request.set_max_tokens(std::min<std::uint64_t>(*allowed, summary_max_tokens));
        result<Plan> reply = Error{Errc::planner_failed};
        try {
          reply = co_await options_.summarizer.plan(request);
        } catch (...) {
        }
        if (reply.has_value()) {
          Plan const& p = reply.value();
          std::string model = p.model_id.empty() ? std::string(options_.summarizer.model_id()) : p.model_id;
          std::optional<double> cost = account_call(p.usage, model);
          tracer_.emit(event::llm_call, [&](json::storage_ptr const& sp) {
            return json::object({{"model", model},
                                {"input_tokens", p.usage.input_tokens},
                                {"output_tokens", p.usage.output_tokens},
                                {"attempt", 0},
                                {"max_tokens", request.max_tokens()},
                                {"retries", p.retries},
                                {"retry_wait_s", detail::round3(p.retry_wait_s)},
                                {"cost_usd", cost ? json::value(*cost) : json::value(nullptr)},
                                {"purpose", "summary"}}, sp);
          });
          content = p.text;
        }
      }
    }
    if (content) {
      context_.add_summary(state_, index, std::move(*content));
    } else {
      // No summariser, or it could not be afforded or failed: the deterministic
      // summary, stamped as such so a later drift check tells the truth.
      ArtifactStamp stamp = context_.stamp();
      stamp.model_id = "deterministic-truncate";
      context_.add_summary(state_, index, context_.deterministic_summary_of(state_, index), std::move(stamp));
    }
    summarized.push_back(index);
  }

  auto const& rec = state_.iterations.back();
  tracer_.emit(event::iteration_end, [&](json::storage_ptr const& sp) {
    return json::object({{"index", rec.index},
                        {"trend", to_string(report.trend)},
                        {"repetition", rec.repetition},
                        {"no_progress_streak", state_.no_progress_streak},
                        {"summarized_iterations", std::move(summarized)},
                        {"accounting", context_.budget_report(state_, last_observation_).to_json(sp)}}, sp);
  });

  sync_elapsed();
  if constexpr (detail::takes_shared_events<S> || detail::records_with_events<S>) {
    // One write for the iteration and its events where the store can (SQLite: one transaction).
    std::vector<SharedEvent> events = take_store_events();
    result<void> stored = success();
    if constexpr (detail::takes_shared_events<S>) {
      stored = co_await store_.append_iteration_with_shared_events(state_, std::move(events));
    } else {
      std::vector<Event> owned = detail::unshare_events(events);
      stored = co_await store_.append_iteration_with_events(state_, std::move(owned));
    }
    if (stored.has_error())
      co_return co_await finish(Status::error, "could not record iteration " + std::to_string(rec.index) +
                                                   ": " + stored.error().what());
  } else {
    auto stored = co_await store_.append_iteration(state_);
    if (stored.has_error())
      co_return co_await finish(Status::error, "could not record iteration " + std::to_string(rec.index) +
                                                   ": " + stored.error().what());
    co_await flush_events();
  }
  co_return std::nullopt;
}

template <class P, class TS, class PL, class EL, class S>
std::vector<SharedEvent> Loop<P, TS, PL, EL, S>::take_store_events() {
  std::size_t capacity = store_events_.capacity();
  std::vector<SharedEvent> batch = std::move(store_events_);
  store_events_.clear();
  store_events_.reserve(capacity);  // the next iteration emits about as many
  return batch;
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<void> Loop<P, TS, PL, EL, S>::flush_events() {
  if (store_events_.empty()) co_return;
  std::vector<SharedEvent> events = take_store_events();
  result<void> stored = success();
  if constexpr (detail::takes_shared_events<S>) {
    stored = co_await store_.append_shared_events(state_.run_id, std::move(events));
  } else {
    std::vector<Event> owned = detail::unshare_events(events);
    stored = co_await store_.append_events(state_.run_id, std::move(owned));
  }
  if (stored.has_error()) warnings_.push_back("events not stored: " + stored.error().what());
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<LoopResult> Loop<P, TS, PL, EL, S>::finish(Status status, std::string reason,
                                                                  std::optional<std::string> token) {
  sync_elapsed();
  bool keep_pending = std::exchange(keep_pending_on_finish_, false);
  if (status != Status::awaiting_approval && state_.pending_approval && !keep_pending) {
    tracer_.emit(event::approval_cancelled, [&](json::storage_ptr const& sp) {
      return json::object({{"token_id", state_.pending_approval->token_sha256.substr(0, 16)},
                          {"reason", "loop ended: " + reason}}, sp);
    });
    state_.pending_approval.reset();
  }
  state_.status = status;
  state_.reason = reason;
  state_.info.ended_at = status == Status::awaiting_approval ? 0.0 : Tracer::now();
  state_.info.result = final_answer(state_);
  auto saved = co_await store_.save_head(state_);
  if (saved.has_error()) {
    status = Status::error;
    reason += "; the final state could not be saved: " + saved.error().what();
    state_.status = status;
    state_.reason = reason;
  }
  LoopResult res = LoopResult::make(status, reason, state_.iterations.size(), state_.metrics, state_.run_id,
                                    std::move(token));
  tracer_.emit(event::loop_end, [&](json::storage_ptr const& sp) {
    return json::object({{"status", to_string(res.status)},
                        {"reason", res.reason},
                        {"iterations", res.iterations},
                        {"total_tokens", res.metrics.total_tokens()}}, sp);
  });
  co_await flush_events();
  last_ = res;
  co_return res;
}

template <class P, class TS, class PL, class EL, class S>
boost::asio::awaitable<std::optional<LoopResult>> Loop<P, TS, PL, EL, S>::stop_with(
    Status status, std::string reason, std::optional<std::string> token) {
  co_return co_await finish(status, std::move(reason), std::move(token));
}

template <class P, class TS, class PL, class EL, class S>
ExplainReport Loop<P, TS, PL, EL, S>::explain() const {
  ExplainReport r = leash::explain(state_, last_);
  r.warnings.insert(r.warnings.end(), warnings_.begin(), warnings_.end());
  return r;
}

template <class P, class TS, class PL, class EL, class S>
BudgetReport Loop<P, TS, PL, EL, S>::budget_report() const {
  return context_.budget_report(state_, last_observation_);
}

}  // namespace leash

#endif
