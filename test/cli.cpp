// The `leash` command-line tool (example/leash_cli.cpp), run as a real
// process against a real store that a loop paused in.
#include <leash/store/open.hpp>

#include <boost/test/unit_test.hpp>

#include "store_kinds.hpp"
#include "support.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>

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
