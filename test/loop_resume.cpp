// Resuming stored runs (Loop::resume): the reference's approval and resume
// scenarios (tightloop.md §3.2, §3.11–13, §4.31–35, §4.57, §4.59, §4.63) plus
// what leash adds — decisions recorded by another program, actions bound to
// their hash, ceilings before an approved action, crash recovery from the
// action journal. Every scenario runs over every store kind, and resumes from
// a second Loop object, as a restarted program would.
#include <leash/loop.hpp>

#include <boost/test/unit_test.hpp>

#include "store_kinds.hpp"
#include "support.hpp"

#include <chrono>
#include <thread>

using namespace leash;
using namespace leash_test;

namespace {

using GateFix = RequireApproval<ToolNamed<"fix">>;
using Gated = Loop<ScriptedPlanner, FixTools, PolicyList<GateFix>>;
using Plain = Loop<ScriptedPlanner, FixTools, PolicyList<>>;

LoopResult ok(result<LoopResult> r) {
  BOOST_REQUIRE_MESSAGE(r.has_value(), "failed: " << (r.has_error() ? r.error().what() : ""));
  return std::move(r).value();
}

LoopOptions headless(std::shared_ptr<Env> env, std::shared_ptr<MemorySink> sink = nullptr, double ttl = 3600) {
  auto o = env_options(std::move(env), std::move(sink));
  o.approval = std::make_shared<HeadlessApprovalRunner>(ttl);
  return o;
}

ResumeOptions answer(std::string token, bool approved) {
  ResumeOptions o;
  o.approval = ApprovalAnswer{std::move(token), approved};
  return o;
}

State stored(AnyStore store, std::string const& id) {
  auto r = run_sync(store.load(id));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : std::string()));
  return std::move(r).value();
}

/// Pauses a gated `fix t1` on env {t1}; returns the run id and the token.
std::pair<std::string, std::string> pause(AnyStore store, std::shared_ptr<Env> env, double ttl = 3600) {
  Gated first("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env, nullptr, ttl));
  auto r = ok(first.run());
  BOOST_REQUIRE(to_string(r.status) == "AWAITING_APPROVAL");
  BOOST_REQUIRE(r.approval_token.has_value());
  return {r.run_id, *r.approval_token};
}

/// What a process killed inside `fix name` (the first call of `iteration`,
/// planned for 50 + 10 tokens) leaves in the journal: a start, no result.
JournaledAction started_fix(std::uint64_t iteration, std::string name) {
  JournaledAction j;
  j.iteration = iteration;
  j.tool = "fix";
  j.args = json::object{{"name", name}};
  j.fingerprint = "fp-" + name;
  j.plan_text = "fix " + name;
  j.input_tokens = 50;
  j.output_tokens = 10;
  return j;
}

/// A fix tool with another description: same name, another schema.
struct FixV2 : Fix {
  static constexpr std::string_view description = "Fix one failing test (v2 wording).";
};

/// A fix tool that declares itself safe to run twice.
struct IdempotentFix : Fix {
  static constexpr bool idempotent = true;
};

/// Reads its own journal entry from the store while it runs.
struct Probe {
  static constexpr std::string_view name = "probe";
  static constexpr std::string_view description = "Reads its own journal entry.";
  using args = FixArgs;
  std::shared_ptr<AnyStore> store;
  std::shared_ptr<std::string> run_id;
  std::shared_ptr<std::vector<JournaledAction>> seen;
  std::string operator()(args const&) const {
    auto s = run_sync(store->load(*run_id));
    if (s.has_value()) *seen = s.value().in_flight;
    return "ok";
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(loop_resume)

// §3.2: a budget stop is resumable; extend raises the limit and is persisted.
BOOST_AUTO_TEST_CASE(budget_exhausted_run_resumes_with_extended_limit) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"a", "b", "c"});
      auto opts = env_options(env);
      opts.limits.token_limit = 120;
      Plain first("g", ScriptedPlanner{fix_call("a"), fix_call("b")}, FixTools{Fix{env}}, {}, {}, store, opts);
      auto r = ok(first.run());
      BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
      BOOST_TEST(r.resumable);
      BOOST_TEST(env->snapshot() == (std::set<std::string>{"b", "c"}));

      Plain again("ignored on resume", ScriptedPlanner{fix_call("b"), fix_call("c")}, FixTools{Fix{env}}, {}, {},
                  store, env_options(env));
      ResumeOptions ro;
      ro.extend.token_limit = 10000;
      auto done = ok(again.resume(r.run_id, ro));
      BOOST_TEST(to_string(done.status) == "SUCCESS");
      BOOST_TEST(env->snapshot().empty());
      // leash never makes a planner call the budget cannot cover, so the first
      // run stopped before planning `fix b` (the reference planned and dropped it).
      BOOST_TEST(done.iterations == r.iterations + 3);  // fix b, fix c, success
      BOOST_TEST(done.metrics.llm_calls == r.metrics.llm_calls + 2);
      State s = stored(store, r.run_id);
      BOOST_TEST(s.goal == "g");
      BOOST_TEST(s.config.token_limit == 10000u);
      BOOST_TEST(s.iterations.size() == done.iterations);
      for (std::size_t i = 0; i < s.iterations.size(); ++i) BOOST_TEST(s.iterations[i].index == i);
    }
  }
}

// §3.11: the approved action runs without a new plan, then the loop goes on.
BOOST_AUTO_TEST_CASE(headless_pause_then_resume_with_token_runs_the_action) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"t1"});
      auto [id, token] = pause(store, env);
      BOOST_TEST(env->snapshot() == (std::set<std::string>{"t1"}));
      BOOST_TEST(stored(store, id).pending_approval.has_value());

      auto sink = std::make_shared<MemorySink>();
      ScriptedPlanner never{fix_call("zz")};
      Gated again("g", never, FixTools{Fix{env}}, {}, {}, store, headless(env, sink));
      auto done = ok(again.resume(id, answer(token, true)));
      BOOST_TEST(to_string(done.status) == "SUCCESS");
      BOOST_TEST(env->snapshot().empty());
      BOOST_TEST(done.iterations == 3u);
      BOOST_TEST(done.metrics.llm_calls == 1u);  // the resumed loop never planned
      BOOST_TEST(again.planner().calls() == 0u);
      std::vector<std::string> expected = {"approval.decision", "action.executed", "iteration.end", "loop.start",
                                           "iteration.start",   "iteration.end",   "loop.end"};
      BOOST_TEST(sink->kinds() == expected, boost::test_tools::per_element());
      State s = stored(store, id);
      BOOST_TEST(!s.pending_approval.has_value());
      BOOST_TEST(s.iterations[1].plan_text == s.iterations[0].plan_text);
      BOOST_TEST((s.iterations[1].actions.at(0).status == ActionStatus::ok));
    }
  }
}

// §3.12: the situation changed since the request: a new token, nothing runs.
BOOST_AUTO_TEST_CASE(changed_precondition_reissues_the_approval) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"t1", "t2"});
      Gated first("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      auto paused = ok(first.run());
      BOOST_REQUIRE(paused.approval_token.has_value());
      { std::lock_guard lock(env->mutex); env->failing.erase("t2"); }  // someone else fixed t2

      auto sink = std::make_shared<MemorySink>();
      Gated again("g", ScriptedPlanner{fix_call("zz")}, FixTools{Fix{env}}, {}, {}, store, headless(env, sink));
      auto r = ok(again.resume(paused.run_id, answer(*paused.approval_token, true)));
      BOOST_TEST(to_string(r.status) == "AWAITING_APPROVAL");
      BOOST_REQUIRE(r.approval_token.has_value());
      BOOST_TEST(*r.approval_token != *paused.approval_token);
      BOOST_TEST(r.reason.find("changed") != std::string::npos);
      BOOST_TEST(env->fix_calls == 0);
      auto inval = events_of(*sink, event::approval_invalidated);
      BOOST_REQUIRE_EQUAL(inval.size(), 1u);
      BOOST_TEST(inval[0].fields.at("new_token_id").as_string() == digest(*r.approval_token));
      State s = stored(store, paused.run_id);
      BOOST_REQUIRE(s.pending_approval.has_value());
      BOOST_TEST(s.pending_approval->token_sha256 == sha256_hex(*r.approval_token));
      BOOST_TEST(s.pending_approval->precondition_metric->value == -1.0);

      // The old token is now worthless; the new one runs the action.
      Gated third("g", ScriptedPlanner{fix_call("zz")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      auto stale = third.resume(paused.run_id, answer(*paused.approval_token, true));
      BOOST_REQUIRE(stale.has_error());
      BOOST_TEST((stale.error() == Errc::approval_token_mismatch));
      auto done = ok(third.resume(paused.run_id, answer(*r.approval_token, true)));
      BOOST_TEST(to_string(done.status) == "SUCCESS");
      BOOST_TEST(env->snapshot().empty());
    }
  }
}

// §3.13 and §4.34: expiry is checked first (even a wrong token gets
// PENDING_EXPIRED); the stored action is gone and the next resume re-plans.
BOOST_AUTO_TEST_CASE(expired_approval_is_pending_expired_then_replans) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"t1"});
      auto [id, token] = pause(store, env, 0.05);
      std::this_thread::sleep_for(std::chrono::milliseconds(120));
      auto sink = std::make_shared<MemorySink>();
      Gated again("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env, sink));
      auto r = ok(again.resume(id, answer("not-the-token", true)));
      BOOST_TEST(to_string(r.status) == "PENDING_EXPIRED");
      BOOST_TEST(r.resumable);
      BOOST_TEST(r.reason.find("expired after") != std::string::npos);
      BOOST_TEST((sink->kinds() == std::vector<std::string>{"approval.expired", "loop.end"}));
      BOOST_TEST(!stored(store, id).pending_approval.has_value());
      BOOST_TEST(env->fix_calls == 0);

      // No approval needed any more: the loop plans again (and is gated again).
      Gated third("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      auto replanned = ok(third.resume(id));
      BOOST_TEST(to_string(replanned.status) == "AWAITING_APPROVAL");
      BOOST_TEST(third.planner().calls() == 1u);
    }
  }
}

// §4.31: a denial through resume ends the run; nothing runs.
BOOST_AUTO_TEST_CASE(resume_with_denial_is_approval_denied) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"t1"});
      auto [id, token] = pause(store, env);
      Gated again("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      auto r = ok(again.resume(id, answer(token, false)));
      BOOST_TEST(to_string(r.status) == "APPROVAL_DENIED");
      BOOST_TEST(r.reason == "denied via resume token");
      BOOST_TEST(r.iterations == 1u);
      BOOST_TEST(env->fix_calls == 0);
      State s = stored(store, id);
      BOOST_TEST(!s.pending_approval.has_value());
      BOOST_TEST((s.status == Status::approval_denied));
    }
  }
}

// §4.32: no decision, or a wrong token, is a typed error — and nothing is lost.
BOOST_AUTO_TEST_CASE(missing_or_wrong_token_is_a_typed_error_and_keeps_the_request) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"t1"});
      auto [id, token] = pause(store, env);
      Gated again("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      auto none = again.resume(id);
      BOOST_REQUIRE(none.has_error());
      BOOST_TEST((none.error() == Errc::approval_required));
      BOOST_TEST(none.error().message.find("leash approve") != std::string::npos);
      auto wrong = again.resume(id, answer(token + "x", true));
      BOOST_REQUIRE(wrong.has_error());
      BOOST_TEST((wrong.error() == Errc::approval_token_mismatch));
      BOOST_TEST(wrong.error().message.find(token) == std::string::npos);
      BOOST_TEST(env->fix_calls == 0);
      BOOST_TEST(stored(store, id).pending_approval->token_sha256 == sha256_hex(token));
      auto missing = again.resume("no-such-run");
      BOOST_REQUIRE(missing.has_error());
      BOOST_TEST((missing.error() == Errc::run_not_found));
      // The right token still works after the failed attempts.
      BOOST_TEST(to_string(ok(again.resume(id, answer(token, true))).status) == "SUCCESS");
    }
  }
}

// `leash approve` / `leash deny` record a decision in the store; the owner's
// next resume acts on it without the token.
BOOST_AUTO_TEST_CASE(decision_recorded_in_the_store_is_honoured) {
  for (bool approve : {true, false}) {
    for (auto const& kind : store_kinds()) {
      BOOST_TEST_CONTEXT(kind.name << (approve ? " approve" : " deny")) {
        AnyStore store = kind.make();
        auto env = make_env({"t1"});
        auto [id, token] = pause(store, env);
        State s = stored(store, id);
        s.pending_approval->decision = RecordedDecision{approve, approve ? "approved by ops" : "denied by ops", 1.0};
        BOOST_REQUIRE(run_sync(store.save_head(s)).has_value());

        Gated again("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
        auto r = ok(again.resume(id));
        BOOST_TEST(to_string(r.status) == (approve ? "SUCCESS" : "APPROVAL_DENIED"));
        BOOST_TEST(env->fix_calls == (approve ? 1 : 0));
        if (!approve) BOOST_TEST(r.reason == "denied by ops");
      }
    }
  }
}

// Bound to the action: a stored request whose arguments were edited is refused.
BOOST_AUTO_TEST_CASE(edited_pending_action_is_refused) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"t1", "t2"});
      auto [id, token] = pause(store, env);
      State s = stored(store, id);
      s.pending_approval->args["name"] = "t2";
      BOOST_REQUIRE(run_sync(store.save_head(s)).has_value());
      Gated again("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      auto r = again.resume(id, answer(token, true));
      BOOST_REQUIRE(r.has_error());
      BOOST_TEST((r.error() == Errc::approval_action_mismatch));
      BOOST_TEST(env->fix_calls == 0);
    }
  }
}

// The ceilings are checked before an approved action runs; the approval is
// kept so a resume with a raised limit can still use it.
BOOST_AUTO_TEST_CASE(ceiling_before_the_approved_action_keeps_it_pending) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"t1"});
      auto [id, token] = pause(store, env);
      Gated again("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      ResumeOptions tight = answer(token, true);
      tight.extend.max_iterations = 1;  // one iteration is already recorded
      auto r = ok(again.resume(id, tight));
      BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");
      BOOST_TEST(env->fix_calls == 0);
      BOOST_TEST(stored(store, id).pending_approval.has_value());

      ResumeOptions room = answer(token, true);
      room.extend.max_iterations = 10;
      BOOST_TEST(to_string(ok(again.resume(id, room)).status) == "SUCCESS");
      BOOST_TEST(env->fix_calls == 1);
    }
  }
}

// §4.35, improved: the precondition was taken after `a` ran, so the approval
// is not invalidated; `b` runs and then `c`, which waited with it.
BOOST_AUTO_TEST_CASE(multi_call_plan_resumes_the_gated_call_and_the_rest) {
  struct OnlyB {
    bool operator()(std::string_view tool, json::object const& args) const {
      auto it = args.find("name");
      return tool == "fix" && it != args.end() && it->value() == "b";
    }
  };
  using GateB = Loop<ScriptedPlanner, FixTools, PolicyList<RequireApproval<OnlyB>>>;
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"a", "b", "c"});
      Plan three;
      three.text = "fix all three";
      for (auto n : {"a", "b", "c"}) three.tool_calls.push_back(ToolCall{{}, "fix", json::object{{"name", n}}});
      GateB first("g", ScriptedPlanner{three}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      auto paused = ok(first.run());
      BOOST_REQUIRE(paused.approval_token.has_value());
      BOOST_TEST(env->snapshot() == (std::set<std::string>{"b", "c"}));

      GateB again("g", ScriptedPlanner{fix_call("zz")}, FixTools{Fix{env}}, {}, {}, store, headless(env));
      auto done = ok(again.resume(paused.run_id, answer(*paused.approval_token, true)));
      BOOST_TEST(to_string(done.status) == "SUCCESS");
      BOOST_TEST(env->snapshot().empty());
      State s = stored(store, paused.run_id);
      BOOST_REQUIRE_EQUAL(s.iterations.size(), 3u);
      BOOST_REQUIRE_EQUAL(s.iterations[1].actions.size(), 2u);
      BOOST_TEST(s.iterations[1].actions[0].args_excerpt.find("\"b\"") != std::string::npos);
      BOOST_TEST(s.iterations[1].actions[1].args_excerpt.find("\"c\"") != std::string::npos);
    }
  }
}

// §4.57: the stored limits apply unless extended.
BOOST_AUTO_TEST_CASE(stored_limits_apply_unless_extended) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"a", "b"});
      auto opts = env_options(env);
      opts.limits.max_iterations = 1;
      Plain first("g", ScriptedPlanner{fix_call("a")}, FixTools{Fix{env}}, {}, {}, store, opts);
      auto r = ok(first.run());
      BOOST_TEST(to_string(r.status) == "BUDGET_EXHAUSTED");

      // The constructor's limits (20 iterations) do not apply to a resumed run.
      Plain again("g", ScriptedPlanner{fix_call("b")}, FixTools{Fix{env}}, {}, {}, store, env_options(env));
      auto same = ok(again.resume(r.run_id));
      BOOST_TEST(to_string(same.status) == "BUDGET_EXHAUSTED");
      BOOST_TEST(same.iterations == 1u);
      ResumeOptions more;
      more.extend.max_iterations = 10;
      BOOST_TEST(to_string(ok(again.resume(r.run_id, more)).status) == "SUCCESS");
      BOOST_TEST(stored(store, r.run_id).config.max_iterations == 10u);
    }
  }
}

// §4.59: summaries from another summariser need an explicit flag.
BOOST_AUTO_TEST_CASE(artifact_drift_needs_the_allow_flag) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"a"});
      auto opts = env_options(env);
      opts.limits.verbatim_window = 1;
      opts.limits.max_iterations = 3;
      Plain first("g", ScriptedPlanner{fix_call("zz")}, FixTools{Fix{env}}, {}, {}, store, opts);
      auto r = ok(first.run());
      BOOST_REQUIRE(!stored(store, r.run_id).artifacts.empty());

      auto with_summarizer = env_options(env);
      with_summarizer.summarizer = ScriptedPlanner({Plan::text_only("summary")}, "summ-1");
      Plain again("g", ScriptedPlanner{fix_call("a")}, FixTools{Fix{env}}, {}, {}, store, with_summarizer);
      auto drift = again.resume(r.run_id);
      BOOST_REQUIRE(drift.has_error());
      BOOST_TEST((drift.error() == Errc::artifact_drift));
      BOOST_TEST(drift.error().message.find("deterministic-truncate, current is 0.1.0/summ-1") != std::string::npos);
      ResumeOptions allow;
      allow.allow_artifact_drift = true;
      allow.extend.max_iterations = 10;
      BOOST_TEST(to_string(ok(again.resume(r.run_id, allow)).status) == "SUCCESS");
    }
  }
}

// §4.63: another tool schema (here: a changed description) needs a flag.
BOOST_AUTO_TEST_CASE(schema_change_needs_the_allow_flag) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"a"});
      auto opts = env_options(env);
      opts.limits.max_iterations = 1;
      Plain first("g", ScriptedPlanner{fix_call("zz")}, FixTools{Fix{env}}, {}, {}, store, opts);
      auto r = ok(first.run());

      using V2 = Loop<ScriptedPlanner, ToolSet<FixV2>, PolicyList<>>;
      V2 again("g", ScriptedPlanner{fix_call("a")}, ToolSet<FixV2>{FixV2{{env}}}, {}, {}, store, env_options(env));
      ResumeOptions more;
      more.extend.max_iterations = 10;
      auto changed = again.resume(r.run_id, more);
      BOOST_REQUIRE(changed.has_error());
      BOOST_TEST((changed.error() == Errc::schema_changed));
      more.allow_schema_change = true;
      BOOST_TEST(to_string(ok(again.resume(r.run_id, more)).status) == "SUCCESS");
    }
  }
}

// Crash-exact: a call journaled as started but never finished is recorded
// `uncertain` (traced, explained), not re-run; the run then goes on.
BOOST_AUTO_TEST_CASE(started_call_without_result_becomes_uncertain) {
  for (auto const& kind : store_kinds()) {
    if (!kind.crash_exact) continue;  // simulates a crash mid-run
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"a", "b"});
      auto opts = env_options(env);
      opts.limits.max_iterations = 1;
      Plain first("g", ScriptedPlanner{fix_call("a")}, FixTools{Fix{env}}, {}, {}, store, opts);
      auto r = ok(first.run());
      // What a process killed inside `fix b` of iteration 1 leaves behind.
      BOOST_REQUIRE(run_sync(store.journal(r.run_id, {started_fix(1, "b")})).has_value());
      BOOST_TEST(stored(store, r.run_id).in_flight.size() == 1u);

      auto sink = std::make_shared<MemorySink>();
      auto again_opts = env_options(env, sink);
      Plain again("g", ScriptedPlanner{fix_call("b")}, FixTools{Fix{env}}, {}, {}, store, again_opts);
      ResumeOptions more;
      more.extend.max_iterations = 10;
      auto done = ok(again.resume(r.run_id, more));
      BOOST_TEST(to_string(done.status) == "SUCCESS");
      BOOST_TEST(env->fix_calls == 2);  // a, then b once more by a new plan — never by the recovery
      State s = stored(store, r.run_id);
      BOOST_TEST(s.in_flight.empty());
      BOOST_REQUIRE(s.iterations.size() >= 2u);
      BOOST_TEST(s.iterations[1].index == 1u);
      BOOST_REQUIRE_EQUAL(s.iterations[1].actions.size(), 1u);
      BOOST_TEST((s.iterations[1].actions[0].status == ActionStatus::uncertain));
      BOOST_TEST(s.iterations[1].plan_text == "fix b");
      BOOST_TEST(s.metrics.input_tokens == 50u * 3);  // a, the lost plan for b, the new plan for b
      auto uncertain = events_of(*sink, event::action_uncertain);
      BOOST_REQUIRE_EQUAL(uncertain.size(), 1u);
      BOOST_TEST(uncertain[0].fields.at("tool").as_string() == "fix");
      bool explained = false;
      for (auto const& w : again.explain().warnings) explained |= w.find("outcome is unknown") != std::string::npos;
      BOOST_TEST(explained);
    }
  }
}

// An idempotent tool is re-run instead.
BOOST_AUTO_TEST_CASE(idempotent_call_without_result_is_run_again) {
  using Idem = Loop<ScriptedPlanner, ToolSet<IdempotentFix>, PolicyList<>>;
  for (auto const& kind : store_kinds()) {
    if (!kind.crash_exact) continue;  // simulates a crash mid-run
    BOOST_TEST_CONTEXT(kind.name) {
      AnyStore store = kind.make();
      auto env = make_env({"a", "b"});
      auto opts = env_options(env);
      opts.limits.max_iterations = 1;
      Idem first("g", ScriptedPlanner{fix_call("a")}, ToolSet<IdempotentFix>{IdempotentFix{{env}}}, {}, {}, store,
                 opts);
      auto r = ok(first.run());
      BOOST_REQUIRE(run_sync(store.journal(r.run_id, {started_fix(1, "b")})).has_value());

      Idem again("g", ScriptedPlanner{fix_call("zz")}, ToolSet<IdempotentFix>{IdempotentFix{{env}}}, {}, {}, store,
                 env_options(env));
      ResumeOptions more;
      more.extend.max_iterations = 10;
      auto done = ok(again.resume(r.run_id, more));
      BOOST_TEST(to_string(done.status) == "SUCCESS");
      BOOST_TEST(again.planner().calls() == 0u);  // the recovery finished the job
      State s = stored(store, r.run_id);
      BOOST_TEST((s.iterations[1].actions.at(0).status == ActionStatus::ok));
      BOOST_TEST(s.iterations[1].actions.at(0).result_excerpt == "fixed b");
    }
  }
}

// The start of a call is in the store before the tool body runs.
BOOST_AUTO_TEST_CASE(a_call_is_journaled_before_it_runs) {
  for (auto const& kind : store_kinds()) {
    if (!kind.crash_exact) continue;  // simulates a crash mid-run
    BOOST_TEST_CONTEXT(kind.name) {
      auto store = std::make_shared<AnyStore>(kind.make());
      auto id = std::make_shared<std::string>("probe-run");
      auto seen = std::make_shared<std::vector<JournaledAction>>();
      LoopOptions opts;
      opts.quiet = true;
      opts.run_id = *id;
      opts.limits.max_iterations = 1;
      Plan two;
      for (auto n : {"x", "y"}) two.tool_calls.push_back(ToolCall{{}, "probe", json::object{{"name", n}}});
      Loop<ScriptedPlanner, ToolSet<Probe>, PolicyList<>> loop("g", ScriptedPlanner{two},
                                                               ToolSet<Probe>{Probe{store, id, seen}}, {}, {}, *store,
                                                               opts);
      ok(loop.run());
      // Seen by the second call: the first call finished, the second started.
      BOOST_REQUIRE_EQUAL(seen->size(), 2u);
      BOOST_TEST((*seen)[0].result.has_value());
      BOOST_TEST((*seen)[0].args.at("name").as_string() == "x");
      BOOST_TEST(!(*seen)[1].result.has_value());
      BOOST_TEST((*seen)[1].args.at("name").as_string() == "y");
      BOOST_TEST(stored(*store, *id).in_flight.empty());  // the iteration record retired them
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
