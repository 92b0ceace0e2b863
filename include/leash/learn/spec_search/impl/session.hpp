// leash/learn/spec_search/impl/session.hpp — definitions for session.hpp.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_SESSION_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_SESSION_HPP

#include <leash/store/detail/file_io.hpp>

#include <chrono>
#include <cmath>
#include <exception>
#include <fstream>
#include <utility>

namespace leash::learn::spec_search {

template <class ToolSetT>
std::map<std::string, std::string> tool_descriptions() {
  std::map<std::string, std::string> out;
  for (auto const& s : ToolSetT::schemas()) {
    auto const& o = s.as_object();
    out[std::string(o.at("name").as_string())] = std::string(o.at("description").as_string());
  }
  return out;
}

namespace detail {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline double usd(std::optional<double> v) { return v && std::isfinite(*v) && *v > 0 ? *v : 0.0; }


/// One JSON line appended to a session's teacher log; a log that cannot be
/// written never fails the session (the store keeps the record).
inline void append_line(std::filesystem::path const& file, json::object const& line) {
  if (file.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::app | std::ios::binary);
  out << json::serialize(line) << '\n';
}

}  // namespace detail

template <class Student_, class Scorer_>
struct SpecSearchSession<Student_, Scorer_>::Run {
  LearningSession session;
  SessionBudget budget;
  std::filesystem::path dir;  ///< empty: no files
  std::uint32_t seed = 0;
  LearningPlan plan;
  std::optional<BenchmarkSnapshot> baseline;  ///< the score of the last accepted state
  double spent = 0.0;
  double last_measure_cost = 0.0;             ///< what the last scoring cost: the estimate of the next
  std::optional<Error> store_error;           ///< the first save that failed (later saves are not tried)

  void charge(double usd) {
    if (usd > 0) {
      spent += usd;
      budget.charge(usd);
    }
  }
  /// What this session may still spend: its own cap and the loop's.
  double left(double cap) const {
    double mine = cap - spent;
    double loop = budget.left_usd();
    double l = mine < loop ? mine : loop;
    return l > 0 ? l : 0.0;
  }
  std::filesystem::path file(std::string_view name) const { return dir.empty() ? dir : dir / name; }
};

template <class Student_, class Scorer_>
SpecSearchSession<Student_, Scorer_>::SpecSearchSession(llm::AnyTransport teacher, TraceStore traces, ConfigHome home,
                                                        Student_ student, std::vector<EvalSample> benchmark,
                                                        Scorer_ scorer, SpecSearchOptions options)
    : teacher_(std::move(teacher)),
      traces_(std::move(traces)),
      home_(std::move(home)),
      student_(std::move(student)),
      benchmark_(std::move(benchmark)),
      scorer_(std::move(scorer)),
      options_(std::move(options)) {}

template <class Student_, class Scorer_>
result<void> SpecSearchSession<Student_, Scorer_>::save(Run& run, bool write_session_file) {
  run.session.teacher_cost_usd = run.spent;
  // Saved after every decision, so a crash loses at most the edit in flight.
  // A store that fails once is not asked again; session.json is still
  // written, so the session's record survives on disk.
  if (store_ && !run.store_error)
    if (auto saved = store_->save_session(run.session); !saved) run.store_error = saved.error();
  if (write_session_file && !run.dir.empty()) {
    auto text = json::serialize(to_json(run.session));
    if (auto ec = leash::detail::file_io::replace_atomically(run.file("session.json"), text + "\n", 0644))
      return Error{Errc::store_failed, "cannot write " + run.file("session.json").string() + ": " + ec.message()};
  }
  if (run.store_error) return *run.store_error;
  return leash::success();
}

template <class Student_, class Scorer_>
boost::asio::awaitable<result<std::optional<BenchmarkSnapshot>>> SpecSearchSession<Student_, Scorer_>::measure(
    Run& run) {
  if constexpr (std::is_same_v<Scorer_, NoScorer>) {
    co_return std::optional<BenchmarkSnapshot>{};
  } else {
    ScoreRequest request;
    request.benchmark_version = options_.benchmark_version;
    request.subsample_size = options_.subsample_size;
    request.seed = run.seed;
    auto scored = co_await scorer_.score(request);
    if (!scored) co_return scored.error();
    auto& snap = scored.value();
    double cost = detail::usd(snap.cost_usd);
    run.charge(cost);
    run.last_measure_cost = cost;
    // A score the gate cannot compare (a percentage, NaN) must not decide an
    // edit, nor reach the store, which refuses it.
    auto bad = [](double v) { return !std::isfinite(v) || v < 0.0 || v > 1.0; };
    if (bad(snap.overall_score))
      co_return Error{Errc::invalid_input, "the scorer gave an overall score of " + leash::detail::format_number(snap.overall_score) +
                                               "; scores must be in [0, 1]"};
    for (auto const& [cluster, v] : snap.cluster_scores)
      if (bad(v))
        co_return Error{Errc::invalid_input, "the scorer gave cluster '" + cluster + "' a score of " +
                                                 leash::detail::format_number(v) + "; scores must be in [0, 1]"};
    co_return std::optional<BenchmarkSnapshot>(std::move(snap));
  }
}

template <class Student_, class Scorer_>
boost::asio::awaitable<result<std::string>> SpecSearchSession<Student_, Scorer_>::call_teacher(
    Run& run, std::string system, std::string user, std::uint64_t max_tokens, std::string_view log_name) {
  double left = run.left(options_.max_cost_usd);
  if (left <= 0)
    co_return Error{Errc::budget_exhausted, "the session's budget is spent; no " + std::string(log_name) + " call"};
  // With a known price, ask for no more output than the money left buys
  // after the input (estimated at 4 characters a token).
  auto price = options_.pricing.models.find(teacher_.model_id());
  if (price != options_.pricing.models.end() && price->second.output_per_million > 0) {
    double in_tokens = static_cast<double>(system.size() + user.size()) / 4.0;
    double after_input = left - in_tokens * price->second.input_per_million / 1e6;
    double affordable = after_input > 0 ? after_input * 1e6 / price->second.output_per_million : 0.0;
    if (affordable < 1.0)
      co_return Error{Errc::budget_exhausted, "the session's budget (" + format_usd(left) + " left) cannot pay for the " +
                                                  std::string(log_name) + " call"};
    if (affordable < static_cast<double>(max_tokens)) max_tokens = static_cast<std::uint64_t>(affordable);
  }
  llm::CompletionRequest request;
  request.messages.push_back(llm::ChatMessage{"system", std::move(system), {}, {}});
  request.messages.push_back(llm::ChatMessage{"user", std::move(user), {}, {}});
  request.max_tokens = max_tokens;
  request.temperature = options_.teacher_temperature;
  auto done = co_await teacher_.complete(request);
  json::object line;
  line["call"] = std::string(log_name);
  line["at"] = detail::now_seconds();
  line["request"] = request.messages.back().content;
  if (!done) {
    line["error"] = done.error().what();
    detail::append_line(run.file(std::string("teacher_traces/") + std::string(log_name) + ".jsonl"), line);
    co_return done.error();
  }
  auto const& c = done.value();
  auto model = c.model.empty() ? std::string(teacher_.model_id()) : c.model;
  double cost = detail::usd(options_.pricing.estimate_cost(c.usage.input_tokens, c.usage.output_tokens, model));
  run.charge(cost);
  line["response"] = c.text;
  line["cost_usd"] = cost;
  detail::append_line(run.file(std::string("teacher_traces/") + std::string(log_name) + ".jsonl"), line);
  co_return c.text;
}

template <class Student_, class Scorer_>
boost::asio::awaitable<result<void>> SpecSearchSession<Student_, Scorer_>::diagnose_and_plan(Run& run) {
  auto& s = run.session;
  // ---- diagnosing: the teacher's loop over the diagnostic tools
  s.status = SessionStatus::diagnosing;
  auto context = std::make_shared<TeacherContext>(traces_, home_);
  context->benchmark = benchmark_;
  context->student_tools = options_.student_tools;
  context->run_student = [this](EvalSample const& sample) { return student_(sample); };

  std::string goal = "Diagnose why the student agent";
  if (!options_.agent.empty()) goal += " '" + options_.agent + "'";
  goal += " fails. Trigger: " + std::string(to_string(s.trigger.kind));
  if (!s.trigger.metadata.empty()) goal += " " + json::serialize(s.trigger.metadata);
  goal += ". Use the tools, then answer with the failure clusters as a ```json array.";

  TeacherOptions to;
  to.max_turns = options_.max_tool_calls;
  to.max_cost_usd = run.left(options_.max_cost_usd);
  to.max_tokens = options_.teacher_max_tokens;
  to.temperature = options_.teacher_temperature;
  to.pricing = options_.pricing;
  to.store = options_.teacher_store ? *options_.teacher_store : traces_.store();
  to.trace_file = run.file("teacher_traces/diagnose.jsonl");
  to.run_metadata["session_id"] = s.id;
  to.quiet = options_.quiet;
  if (!(to.max_cost_usd > 0)) co_return Error{Errc::budget_exhausted, "no budget left for the diagnosis"};
  auto taught = co_await run_teacher(context, teacher_, goal, std::string(diagnosis_instructions), std::move(to));
  // What the student runs cost is the session's, whatever became of the teacher.
  run.charge(context->student_cost_usd);
  if (!taught) co_return taught.error();
  auto const& diagnosis = taught.value();
  run.charge(diagnosis.cost_usd);
  if (!run.dir.empty()) {
    std::string md = "# Diagnosis of " + s.id + "\n\nTeacher run: " + diagnosis.run_id + " (" +
                     std::string(to_string(diagnosis.status)) + ", " + std::to_string(diagnosis.tool_calls) +
                     " tool calls)\n\n" + diagnosis.text + "\n";
    if (auto ec = leash::detail::file_io::replace_atomically(run.file("diagnosis.md"), md, 0644))
      co_return Error{Errc::store_failed, "cannot write " + run.file("diagnosis.md").string() + ": " + ec.message()};
    s.diagnosis_path = run.file("diagnosis.md").string();
  }

  if (diagnosis.status != Status::success)
    co_return Error{diagnosis.status == Status::budget_exhausted ? Errc::budget_exhausted : Errc::planner_failed,
                    "the teacher stopped before answering (" + std::string(to_string(diagnosis.status)) + ": " +
                        diagnosis.reason + ")"};
  auto clusters = parse_clusters(diagnosis.text);
  if (!clusters) {
    // One tool-less call to turn the teacher's notes into clusters (charged,
    // unlike the reference's fallback).
    std::string notes(diagnosis.text.substr(0, leash::utf8_prefix(diagnosis.text, 3000)));
    auto retried = co_await call_teacher(
        run, std::string(diagnosis_instructions),
        "Here are notes from a diagnosis of the student's failures. Answer only with the failure clusters as a "
        "```json array.\n\n" + notes,
        options_.planning_max_tokens, "fallback");
    if (!retried) co_return retried.error();
    clusters = parse_clusters(retried.value());
    if (!clusters) co_return Error{Errc::llm_bad_response, "diagnosis produced no actionable clusters"};
  }
  run.plan.session_id = s.id;
  run.plan.teacher_model = std::string(teacher_.model_id());
  run.plan.created_at = detail::now_seconds();
  run.plan.diagnosis_summary = diagnosis.text.substr(0, leash::utf8_prefix(diagnosis.text, 2000));

  // ---- planning: one call for edits over the clusters with evidence
  s.status = SessionStatus::planning;
  auto triage = triage_clusters(std::move(clusters).value());
  if (!triage.kept.empty()) {
    std::string config;
    if (auto current = GetCurrentConfigTool{{context}}(NoTeacherArgs{}); current)
      config = json::serialize(current.value());
    auto reply = co_await call_teacher(run, std::string(planning_instructions), planning_prompt(triage.kept, config),
                                       options_.planning_max_tokens, "plan");
    if (!reply) co_return reply.error();
    auto parsed = parse_edits(reply.value());
    run.plan.edits = std::move(parsed.edits);
    for (auto const& why : parsed.rejected)
      detail::append_line(run.file("teacher_traces/plan.jsonl"), json::object{{"rejected_edit", why}});
  }
  link_clusters(triage.kept, run.plan.edits);
  run.plan.failure_clusters = std::move(triage.kept);
  for (auto& c : triage.dropped) run.plan.failure_clusters.push_back(std::move(c));
  run.plan.estimated_cost_usd = run.spent;
  if (!run.dir.empty()) {
    if (auto ec = leash::detail::file_io::replace_atomically(run.file("plan.json"),
                                                            json::serialize(to_json(run.plan)) + "\n", 0644))
      co_return Error{Errc::store_failed, "cannot write " + run.file("plan.json").string() + ": " + ec.message()};
    s.plan_path = run.file("plan.json").string();
  }
  co_return leash::success();
}

template <class Student_, class Scorer_>
boost::asio::awaitable<result<void>> SpecSearchSession<Student_, Scorer_>::execute(Run& run) {
  auto& s = run.session;
  s.status = SessionStatus::executing;
  ApplyOptions apply = options_.apply;
  if (!apply.available_tools && !options_.student_tools.empty()) {
    apply.available_tools.emplace();
    for (auto const& [name, text] : options_.student_tools) apply.available_tools->push_back(name);
  }
  for (auto const& edit : run.plan.edits) {
    EditOutcome out;
    out.edit = edit;
    auto decided = [&](OutcomeStatus st, std::optional<std::string> why = std::nullopt) {
      out.status = st;
      out.error = std::move(why);
      s.edit_outcomes.push_back(out);
      (void)save(run, false);  // a failing store is reported once, at the end
    };
    if (options_.allowed_ops && std::find(options_.allowed_ops->begin(), options_.allowed_ops->end(), edit.op) ==
                                    options_.allowed_ops->end()) {
      decided(OutcomeStatus::skipped, "op " + std::string(to_string(edit.op)) + " is not enabled (allowed_ops)");
      continue;
    }
    if (s.autonomy_mode == AutonomyMode::manual) {
      decided(OutcomeStatus::pending_review);
      continue;
    }
    if (edit.risk_tier == EditRiskTier::manual) {
      decided(OutcomeStatus::skipped, "a manual-tier edit (" + std::string(to_string(edit.op)) +
                                          ") is never applied automatically");
      continue;
    }
    if (edit.risk_tier == EditRiskTier::review && s.autonomy_mode == AutonomyMode::tiered) {
      decided(OutcomeStatus::pending_review);
      continue;
    }
    if (edit.pillar == EditPillar::engine) {
      decided(OutcomeStatus::skipped, "no applier for the engine pillar");
      continue;
    }
    if constexpr (!std::is_same_v<Scorer_, NoScorer>) {
      // Measuring an edit costs about what the last measurement did.
      double left = run.left(options_.max_cost_usd);
      if (left <= 0 || left < run.last_measure_cost) {
        decided(OutcomeStatus::skipped, "not enough budget left to measure it (" + format_usd(left) + " left, a " +
                                            "measurement costs about " + format_usd(run.last_measure_cost) + ")");
        continue;
      }
    }
    auto applied = apply_edit(home_, edit, apply);
    if (!applied) {
      decided(OutcomeStatus::rejected_by_gate, applied.error().what());
      continue;
    }
    out.edit = applied.value().effective;
    if constexpr (std::is_same_v<Scorer_, NoScorer>) {
      out.applied_at = detail::now_seconds();
      decided(OutcomeStatus::applied);
    } else {
      // From here the edit is on disk: whatever happens, it is either
      // accepted or undone before the next step.
      std::optional<GateResult> verdict;
      std::string failure;
      try {
        auto after = co_await measure(run);
        if (after)
          verdict = options_.gate.judge(*run.baseline, std::move(*after.value()));
        else
          failure = "could not be measured: " + after.error().what();
      } catch (std::exception const& e) {
        failure = std::string("measuring it threw: ") + e.what();
      } catch (...) {
        failure = "measuring it threw an exception that is not a std::exception";
      }
      if (verdict && verdict->accepted) {
        out.benchmark_delta = verdict->delta;
        out.cluster_deltas = verdict->cluster_deltas;
        out.applied_at = detail::now_seconds();
        run.baseline = verdict->snapshot;  // the next edit must beat this state, not the session's start
        decided(OutcomeStatus::applied);
        continue;
      }
      if (verdict) {
        out.benchmark_delta = verdict->delta;
        out.cluster_deltas = verdict->cluster_deltas;
        failure = verdict->reason;
      }
      if (auto undone = rollback(applied.value()); !undone)
        co_return Error{Errc::store_failed, "edit '" + edit.id + "' was rejected (" + failure +
                                                ") but could not be undone: " + undone.error().what()};
      decided(OutcomeStatus::rejected_by_gate, failure);
    }
  }
  co_return leash::success();
}

template <class Student_, class Scorer_>
boost::asio::awaitable<result<LearningSession>> SpecSearchSession<Student_, Scorer_>::run_session(
    Trigger trigger, SessionBudget budget) {
  if (auto ok = options_.gate.validate(); !ok) co_return ok.error();
  if (!(options_.max_cost_usd > 0)) co_return Error{Errc::invalid_config, "max_cost_usd must be > 0"};

  Run run;
  run.budget = budget;
  auto& s = run.session;
  s.started_at = detail::now_seconds();
  s.id = make_session_id(s.started_at, rng_);
  if (last_recorded_) s.parent_session_id = *last_recorded_;
  s.trigger = std::move(trigger);
  s.autonomy_mode = options_.autonomy_mode;
  s.status = SessionStatus::initiated;
  s.checkpoint_pre = home_.fingerprint();
  run.seed = stable_seed(options_.benchmark_version);

  auto fail = [&](std::string why) {
    s.status = SessionStatus::failed;
    s.error = std::move(why);
    s.ended_at = detail::now_seconds();
    s.checkpoint_post = home_.fingerprint();
  };

  bool enough = true;
  std::optional<Error> fatal;
  try {
    TraceFilter all;
    all.with_steps = false;
    auto count = co_await traces_.count(all);
    if (!count) {
      fail("cannot count traces: " + count.error().what());
    } else if (count.value() < options_.min_traces) {
      enough = false;
      fail("Not enough traces yet: have " + std::to_string(count.value()) + ", need " +
           std::to_string(options_.min_traces) + ". Run the agent more, then try again.");
    } else {
      if (!options_.sessions_dir.empty()) {
        run.dir = options_.sessions_dir / s.id;
        std::error_code ec;
        std::filesystem::create_directories(run.dir, ec);
        if (ec) run.dir.clear();
        if (ec) fail("cannot create " + (options_.sessions_dir / s.id).string() + ": " + ec.message());
      }
      if (s.status != SessionStatus::failed && run.left(options_.max_cost_usd) <= 0)
        fail("no budget left for the session");
      if (s.status != SessionStatus::failed) {
        auto before = co_await measure(run);
        if (!before) {
          fail("the baseline could not be measured: " + before.error().what());
        } else {
          s.benchmark_before = before.value();
          run.baseline = before.value();
          if (auto planned = co_await diagnose_and_plan(run); !planned) {
            fail(planned.error().what());
          } else if (auto executed = co_await execute(run); !executed) {
            fail(executed.error().what());
            fatal = executed.error();
          } else {
            s.benchmark_after = run.baseline;
            bool pending = false;
            for (auto const& o : s.edit_outcomes) pending = pending || o.status == OutcomeStatus::pending_review;
            s.status = pending ? SessionStatus::awaiting_review : SessionStatus::completed;
            s.ended_at = detail::now_seconds();
            s.checkpoint_post = home_.fingerprint();
          }
        }
      }
    }
  } catch (std::exception const& e) {
    fail(std::string("the session threw: ") + e.what());
  } catch (...) {
    fail("the session threw an exception that is not a std::exception");
  }
  // Saved in every case; the session file only for a session that got going
  // (the reference writes none for "not enough traces").
  auto saved = save(run, enough);
  sessions_.push_back(s);
  // The next session names this one as its parent only if the store has it
  // (the store refuses a parent it does not hold).
  if (!store_ || saved) last_recorded_ = s.id;
  if (fatal) co_return *fatal;
  if (!saved) co_return saved.error();
  co_return s;
}

template <class Student_, class Scorer_>
boost::asio::awaitable<result<SessionRecord>> SpecSearchSession<Student_, Scorer_>::run(SessionBudget budget) {
  auto ran = co_await run_session(Trigger::on_demand(), budget);
  if (!ran) co_return ran.error();
  auto const& s = ran.value();
  SessionRecord r;
  if (s.benchmark_after) r.score = s.benchmark_after->overall_score;
  r.cost_usd = s.teacher_cost_usd;
  r.failed = s.status == SessionStatus::failed;
  if (s.error) r.error = *s.error;
  r.metadata["session_id"] = s.id;
  r.metadata["status"] = to_string(s.status);
  std::size_t applied = 0, rejected = 0, pending = 0;
  for (auto const& o : s.edit_outcomes) {
    applied += o.status == OutcomeStatus::applied;
    rejected += o.status == OutcomeStatus::rejected_by_gate;
    pending += o.status == OutcomeStatus::pending_review;
  }
  r.metadata["applied"] = applied;
  r.metadata["rejected"] = rejected;
  r.metadata["pending_review"] = pending;
  co_return r;
}

}  // namespace leash::learn::spec_search

#endif
