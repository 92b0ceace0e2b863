// The `leash` command-line tool (example/leash_cli.cpp), run as a real
// process against a real store that a loop paused in.
#include <leash/store/open.hpp>
#ifdef LEASH_HAS_SQLITE
#include <leash/learn/spec_search/store.hpp>
#endif

#include <boost/test/unit_test.hpp>

#include "store_kinds.hpp"
#include "support.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#ifdef LEASH_CLI_PATH

using namespace leash;
using namespace leash_test;

namespace {

Ran run_cli(std::vector<std::string> const& args) { return run_program(LEASH_CLI_PATH, args); }

using Gated = Loop<ScriptedPlanner, FixTools, PolicyList<RequireApproval<ToolNamed<"fix">>>>;

struct PausedRun {
  TempDir dir{"leash-cli"};
  std::string spec;
  std::string run_id;
  std::string token;
  std::shared_ptr<Env> env = make_env({"t1"});

  explicit PausedRun(std::string kind) {
    spec = kind == "sqlite" ? "sqlite:" + (dir / "runs.db").string() : "file:" + (dir / "runs").string();
    auto store = open_store(spec);
    BOOST_REQUIRE(store.has_value());
    auto opts = env_options(env);
    opts.approval = std::make_shared<HeadlessApprovalRunner>();
    Gated loop("fix the tests", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store.value(), opts);
    auto r = loop.run();
    BOOST_REQUIRE(r.has_value());
    BOOST_REQUIRE(r.value().approval_token.has_value());
    run_id = r.value().run_id;
    token = *r.value().approval_token;
  }

  result<LoopResult> resume() {
    auto store = open_store(spec);
    BOOST_REQUIRE(store.has_value());
    auto opts = env_options(env);
    opts.approval = std::make_shared<HeadlessApprovalRunner>();
    Gated loop("", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store.value(), opts);
    return loop.resume(run_id);
  }
};

std::vector<std::string> durable_kinds() {
#ifdef LEASH_HAS_SQLITE
  return {"sqlite", "file"};
#else
  return {"file"};
#endif
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(approve_records_the_decision_and_the_owner_runs_it_on_resume) {
  for (auto const& kind : durable_kinds()) {
    BOOST_TEST_CONTEXT(kind) {
      PausedRun paused(kind);
      auto runs = run_cli({"runs", paused.spec});
      BOOST_TEST(runs.code == 0);
      BOOST_TEST(runs.out.find(paused.run_id) != std::string::npos);
      BOOST_TEST(runs.out.find("AWAITING_APPROVAL") != std::string::npos);

      auto shown = run_cli({"show", paused.spec, paused.run_id});
      BOOST_TEST(shown.code == 0);
      BOOST_TEST(shown.out.find("AWAITING_APPROVAL") != std::string::npos);
      BOOST_TEST(shown.out.find("## Pending approval") != std::string::npos);
      BOOST_TEST(shown.out.find("fix {\"name\":\"t1\"}") != std::string::npos);
      BOOST_TEST(shown.out.find(paused.token) == std::string::npos);  // the token is never printed

      auto approved = run_cli({"approve", paused.spec, paused.run_id, paused.token, "--note", "looks safe"});
      BOOST_TEST(approved.code == 0, approved.out);
      BOOST_TEST(paused.env->fix_calls == 0);  // the CLI never runs the tools
      auto after = run_cli({"show", paused.spec, paused.run_id});
      BOOST_TEST(after.out.find("decision recorded: APPROVED (looks safe)") != std::string::npos, after.out);

      auto r = paused.resume();
      BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : ""));
      BOOST_TEST(to_string(r.value().status) == "SUCCESS");
      BOOST_TEST(paused.env->fix_calls == 1);

      auto trace = run_cli({"trace", paused.spec, paused.run_id});
      BOOST_TEST(trace.code == 0);
      std::size_t lines = 0;
      std::istringstream in(trace.out);
      for (std::string line; std::getline(in, line); ++lines) {
        json::error_code ec;
        auto v = json::parse(line, ec);
        BOOST_TEST_REQUIRE(!ec, line);
        BOOST_TEST(v.as_object().contains("kind"));
      }
      BOOST_TEST(lines > 5u);
      BOOST_TEST(trace.out.find("looks safe") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(deny_records_a_denial) {
  PausedRun paused(durable_kinds().front());
  auto denied = run_cli({"deny", paused.spec, paused.run_id, paused.token});
  BOOST_TEST(denied.code == 0, denied.out);
  auto r = paused.resume();
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(to_string(r.value().status) == "APPROVAL_DENIED");
  BOOST_TEST(r.value().reason == "denied via leash deny");
  BOOST_TEST(paused.env->fix_calls == 0);
}

BOOST_AUTO_TEST_CASE(errors_have_documented_exit_codes) {
  PausedRun paused(durable_kinds().front());
  auto wrong = run_cli({"approve", paused.spec, paused.run_id, paused.token + "x"});
  BOOST_TEST(wrong.code == 5);
  BOOST_TEST(wrong.out.find("does not match") != std::string::npos);
  auto missing = run_cli({"show", paused.spec, "no-such-run"});
  BOOST_TEST(missing.code == 4);
  BOOST_TEST(missing.out.find("no-such-run") != std::string::npos);
  auto bad_spec = run_cli({"runs", "redis:somewhere"});
  BOOST_TEST(bad_spec.code == 2);
  BOOST_TEST(bad_spec.out.find("unknown scheme") != std::string::npos);
  auto usage = run_cli({"approve", paused.spec});
  BOOST_TEST(usage.code == 2);
  auto help = run_cli({"--help"});
  BOOST_TEST(help.code == 0);
  BOOST_TEST(help.out.find("Exit codes") != std::string::npos);
  // Approving twice is harmless; after the resume there is nothing to approve.
  BOOST_TEST(run_cli({"approve", paused.spec, paused.run_id, paused.token}).code == 0);
  BOOST_REQUIRE(paused.resume().has_value());
  auto none = run_cli({"approve", paused.spec, paused.run_id, paused.token});
  BOOST_TEST(none.code == 5);
  BOOST_TEST(none.out.find("no pending approval") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(feedback_scores_a_run_for_learning) {
  for (auto const& kind : durable_kinds()) {
    BOOST_TEST_CONTEXT(kind) {
      PausedRun paused(kind);  // AWAITING_APPROVAL has ended for now: it may be scored
      auto stored_feedback = [&](std::string const& id) {
        auto store = open_store(paused.spec);
        BOOST_REQUIRE(store.has_value());
        auto s = run_sync(store.value().load(id));
        BOOST_REQUIRE(s.has_value());
        return s.value().info;
      };
      auto up = run_cli({"feedback", paused.spec, paused.run_id, "up"});
      BOOST_TEST(up.code == 0, up.out);
      BOOST_TEST(stored_feedback(paused.run_id).feedback.value_or(-1) == 1.0);
      BOOST_TEST(stored_feedback(paused.run_id).feedback_source == "thumbs");
      BOOST_TEST(run_cli({"feedback", paused.spec, paused.run_id, "down"}).code == 0);
      BOOST_TEST(stored_feedback(paused.run_id).feedback.value_or(-1) == 0.0);
      auto judged = run_cli({"feedback", paused.spec, paused.run_id, "0.25", "--source", "judge"});
      BOOST_TEST(judged.code == 0, judged.out);
      BOOST_TEST(stored_feedback(paused.run_id).feedback.value_or(-1) == 0.25);
      BOOST_TEST(stored_feedback(paused.run_id).feedback_source == "judge");

      for (std::string bad : {"1.5", "abc", "0.5x", "nan"}) {
        auto r = run_cli({"feedback", paused.spec, paused.run_id, bad});
        BOOST_TEST(r.code == 2, bad << ": " << r.out);
      }
      BOOST_TEST(stored_feedback(paused.run_id).feedback.value_or(-1) == 0.25);  // unchanged
      BOOST_TEST(run_cli({"feedback", paused.spec, "no-such-run", "up"}).code == 4);

      // A run that never ended (a crash) is refused: its loop may still write it.
      {
        auto store = open_store(paused.spec);
        BOOST_REQUIRE(store.has_value());
        State unfinished;
        unfinished.run_id = "unfinished";
        unfinished.goal = "still going";
        BOOST_REQUIRE(run_sync(store.value().create_run(unfinished)).has_value());
      }
      auto refused = run_cli({"feedback", paused.spec, "unfinished", "up"});
      BOOST_TEST(refused.code == 6, refused.out);
      BOOST_TEST(refused.out.find("has not ended") != std::string::npos);
      // The resumed run keeps its score.
      BOOST_REQUIRE(run_cli({"approve", paused.spec, paused.run_id, paused.token}).code == 0);
      BOOST_REQUIRE(paused.resume().has_value());
      BOOST_TEST(stored_feedback(paused.run_id).feedback.value_or(-1) == 0.25);
    }
  }
}

#ifdef LEASH_HAS_SQLITE
namespace {

namespace ss = leash::learn::spec_search;
namespace fs = std::filesystem;

/// A session store with one session awaiting review (two pending edits, one
/// applied) and a config home holding the agent the edits are about.
struct Review {
  TempDir dir{"leash-cli-review"};
  fs::path db = dir / "leash.db";
  std::string spec = "sqlite:" + db.string();
  fs::path home = dir / "config";
  std::string session = "session-20261207T175200_1a2b3c4d";

  static ss::Edit edit(std::string const& text) {
    auto e = ss::edit_from_json(json::parse(text));
    BOOST_REQUIRE_MESSAGE(e.has_value(), (e.has_error() ? e.error().what() : std::string()));
    return std::move(e).value();
  }

  Review() {
    fs::create_directories(home);
    std::ofstream(home / "calc.toml") << "[agent]\nname = \"calc\"\ntools = [\"calculator\"]\nmax_turns = 5\n"
                                         "temperature = 0.3\nsystem_prompt = \"old prompt\"\n";
    ss::LearningSession s;
    s.id = session;
    s.status = ss::SessionStatus::awaiting_review;
    s.started_at = 1000;
    auto outcome = [](ss::Edit e, ss::OutcomeStatus status) {
      ss::EditOutcome o;
      o.edit = std::move(e);
      o.status = status;
      return o;
    };
    s.edit_outcomes = {
        outcome(edit(R"({"id": "edit-1", "op": "add_tool_to_agent", "target": "agents.calc.tools",
                         "payload": {"agent": "calc", "tool_name": "clock"}, "rationale": "already done"})"),
                ss::OutcomeStatus::applied),
        outcome(edit(R"({"id": "edit-2", "op": "replace_system_prompt", "target": "agents.calc.system_prompt",
                         "payload": {"agent": "calc", "new_content": "Use the calculator for every sum."},
                         "rationale": "it guesses sums"})"),
                ss::OutcomeStatus::pending_review),
        outcome(edit(R"({"id": "edit-3", "op": "set_agent_class", "target": "agents.calc.class",
                         "payload": {"agent": "calc", "new_class": "react"}, "rationale": "needs a plan"})"),
                ss::OutcomeStatus::pending_review),
    };
    auto store = ss::SessionStore::open(db);
    BOOST_REQUIRE(store.has_value());
    BOOST_REQUIRE(store.value().save_session(s).has_value());
  }

  ss::LearningSession stored() {
    auto store = ss::SessionStore::open(db);
    BOOST_REQUIRE(store.has_value());
    auto s = store.value().get_session(session);
    BOOST_REQUIRE(s.has_value());
    BOOST_REQUIRE(s.value().has_value());
    return *s.value();
  }

  std::string agent_file() {
    std::ifstream in(home / "calc.toml");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(review_lists_shows_and_rejects_pending_edits) {
  Review r;
  auto listed = run_cli({"review", r.spec});
  BOOST_TEST(listed.code == 0, listed.out);
  for (std::string part : {r.session, std::string("edit-2"), std::string("replace_system_prompt"),
                           std::string("agents.calc.system_prompt"), std::string("review"),
                           std::string("it guesses sums"), std::string("edit-3"), std::string("set_agent_class")})
    BOOST_TEST(listed.out.find(part) != std::string::npos, part << " in " << listed.out);
  BOOST_TEST(listed.out.find("edit-1") == std::string::npos);  // applied: not waiting

  auto shown = run_cli({"review", r.spec, "show", r.session, "edit-2"});
  BOOST_TEST(shown.code == 0, shown.out);
  json::error_code ec;
  auto v = json::parse(shown.out, ec);
  BOOST_REQUIRE_MESSAGE(!ec, shown.out);
  BOOST_TEST(v.at("id").as_string() == "edit-2");
  BOOST_TEST(v.at("payload").at("new_content").as_string() == "Use the calculator for every sum.");

  auto before = r.agent_file();
  auto rejected = run_cli({"review", r.spec, "reject", r.session, "edit-3", "--note", "not now"});
  BOOST_TEST(rejected.code == 0, rejected.out);
  BOOST_TEST(r.agent_file() == before);  // rejecting touches no file
  auto s = r.stored();
  BOOST_TEST(s.edit_outcomes[2].status == ss::OutcomeStatus::rejected_by_user);
  BOOST_TEST(s.edit_outcomes[2].error.value_or("") == "not now");
  BOOST_TEST(s.status == ss::SessionStatus::awaiting_review);  // edit-2 still waits
  auto left = run_cli({"review", r.spec});
  BOOST_TEST(left.out.find("edit-3") == std::string::npos, left.out);
  BOOST_TEST(left.out.find("edit-2") != std::string::npos, left.out);
}

BOOST_AUTO_TEST_CASE(review_approve_applies_the_edit_then_records_it) {
  Review r;
#ifdef LEASH_HAS_TOMLPLUSPLUS
  auto approved = run_cli({"review", r.spec, "approve", r.session, "edit-2", "--home", r.home.string()});
  BOOST_TEST(approved.code == 0, approved.out);
  BOOST_TEST(approved.out.find("calc.toml") != std::string::npos, approved.out);
  auto file = r.agent_file();
  BOOST_TEST(file.find("Use the calculator for every sum.") != std::string::npos, file);
  BOOST_TEST(file.find("old prompt") == std::string::npos, file);
  auto s = r.stored();
  BOOST_TEST(s.edit_outcomes[1].status == ss::OutcomeStatus::applied);
  BOOST_TEST(s.edit_outcomes[1].applied_at.has_value());
  BOOST_TEST(s.status == ss::SessionStatus::awaiting_review);

  // Approving it again: not pending any more.
  auto again = run_cli({"review", r.spec, "approve", r.session, "edit-2", "--home", r.home.string()});
  BOOST_TEST(again.code == 5, again.out);
  BOOST_TEST(again.out.find("not pending review") != std::string::npos, again.out);

  // The last pending edit decided: the session is completed.
  BOOST_TEST(run_cli({"review", r.spec, "reject", r.session, "edit-3"}).code == 0);
  s = r.stored();
  BOOST_TEST(s.status == ss::SessionStatus::completed);
  BOOST_TEST(s.edit_outcomes[2].error.value_or("") == "rejected by reviewer");
  BOOST_TEST(run_cli({"review", r.spec}).out.find("no edits waiting") != std::string::npos);
#else
  auto approved = run_cli({"review", r.spec, "approve", r.session, "edit-2", "--home", r.home.string()});
  BOOST_TEST(approved.code == 7, approved.out);
  BOOST_TEST(approved.out.find("toml++") != std::string::npos, approved.out);
  BOOST_TEST(r.stored().edit_outcomes[1].status == ss::OutcomeStatus::pending_review);
#endif
}

BOOST_AUTO_TEST_CASE(review_approve_that_cannot_apply_records_nothing) {
  Review r;
  auto before = r.agent_file();
  fs::path empty_home = r.dir / "empty";  // no calc.toml there
  fs::create_directories(empty_home);
  auto failed = run_cli({"review", r.spec, "approve", r.session, "edit-2", "--home", empty_home.string()});
  BOOST_TEST(failed.code == 7, failed.out);
#ifdef LEASH_HAS_TOMLPLUSPLUS
  BOOST_TEST(failed.out.find("no configuration file") != std::string::npos, failed.out);  // the applier's words
#endif
  BOOST_TEST(failed.out.find("nothing was recorded") != std::string::npos, failed.out);
  BOOST_TEST(r.stored().edit_outcomes[1].status == ss::OutcomeStatus::pending_review);
  BOOST_TEST(r.agent_file() == before);
}

BOOST_AUTO_TEST_CASE(review_errors_have_documented_exit_codes) {
  Review r;
  auto home = r.home.string();
  BOOST_TEST(run_cli({"review", r.spec, "show", "no-such-session", "edit-2"}).code == 4);
  auto no_edit = run_cli({"review", r.spec, "reject", r.session, "edit-99"});
  BOOST_TEST(no_edit.code == 4, no_edit.out);
  BOOST_TEST(no_edit.out.find("edit-99") != std::string::npos);
  BOOST_TEST(run_cli({"review", r.spec, "approve", "no-such-session", "edit-2", "--home", home}).code == 4);
  auto applied = run_cli({"review", r.spec, "reject", r.session, "edit-1"});
  BOOST_TEST(applied.code == 5, applied.out);
  BOOST_TEST(applied.out.find("(it is applied)") != std::string::npos, applied.out);
  auto file_spec = run_cli({"review", "file:" + (r.dir / "runs").string()});
  BOOST_TEST(file_spec.code == 2, file_spec.out);
  BOOST_TEST(file_spec.out.find("SQLite") != std::string::npos, file_spec.out);
  auto missing = run_cli({"review", "sqlite:" + (r.dir / "nope.db").string()});
  BOOST_TEST(missing.code == 3, missing.out);
  BOOST_TEST(!fs::exists(r.dir / "nope.db"));  // reviewing never creates a database
  BOOST_TEST(run_cli({"review", r.spec, "approve", r.session, "edit-2"}).code == 2);  // --home is required
  BOOST_TEST(run_cli({"review"}).code == 2);
  auto garbage = r.dir / "garbage.db";
  std::ofstream(garbage) << std::string(8192, 'x');
  auto corrupt = run_cli({"review", "sqlite:" + garbage.string()});
  BOOST_TEST(corrupt.code == 3, corrupt.out);
  BOOST_TEST(corrupt.out.find(garbage.string()) != std::string::npos, corrupt.out);
  auto help = run_cli({"--help"});
  BOOST_TEST(help.out.find("review") != std::string::npos);
  BOOST_TEST(help.out.find("7 review approve") != std::string::npos);
  // Nothing above changed the session.
  BOOST_TEST(r.stored().edit_outcomes[1].status == ss::OutcomeStatus::pending_review);
}

BOOST_AUTO_TEST_CASE(corrupt_store_is_exit_code_3) {
  TempDir dir;
  auto path = dir / "garbage.db";
  std::ofstream(path) << std::string(8192, 'x');
  auto r = run_cli({"runs", "sqlite:" + path.string()});
  BOOST_TEST(r.code == 3, r.out);
  BOOST_TEST(r.out.find(path.string()) != std::string::npos);
}
#endif

BOOST_AUTO_TEST_SUITE_END()

#endif
