// Runs read back as traces, over every store kind: what loops record without
// any work from the user, filters, search, feedback, and (SQLite) a database
// written before RunInfo existed.
#include <leash/learn/trace_store.hpp>
#include <leash/loop.hpp>

#include <boost/test/unit_test.hpp>

#include "recorded_run.hpp"
#include "store_kinds.hpp"
#include "support.hpp"

#ifdef LEASH_TEST_HAS_SQLITE_STORE
#include "raw_sqlite.hpp"
#endif

#include <algorithm>
#include <string>
#include <vector>

using namespace leash_test;
namespace json = boost::json;
using leash::Outcome;
using leash::learn::StepType;
using leash::learn::Trace;
using leash::learn::TraceFilter;
using leash::learn::TraceStore;

namespace test_learn_trace_store {

/// An ended run as a store holds it, created through the store interface.
leash::State ended_run(std::string id, std::string goal, std::string agent, std::string model,
                       std::optional<leash::Status> status, double started_at, std::string result = "done") {
  leash_test::RecordedRun r;
  r.id = std::move(id);
  r.goal = std::move(goal);
  r.agent = std::move(agent);
  r.model = std::move(model);
  r.status = status;
  r.started_at = started_at;
  r.result = std::move(result);
  return leash_test::recorded_run(std::move(r));
}

/// Six runs, oldest first: started at 1000, 1010, … 1050.
void populate(leash::AnyStore& store) {
  using leash::Status;
  std::vector<leash::State> runs = {
      ended_run("r0", "Fix the failing tests in parser", "coder", "gpt-4o", Status::success, 1000),
      ended_run("r1", "Compute the integral of x^2", "mathbot", "qwen3:8b", Status::no_progress, 1010),
      ended_run("r2", "Summarise the quarterly REPORT", "writer", "gpt-4o", Status::success, 1020, "A summary"),
      ended_run("r3", "fix flaky network test", "coder", "qwen3:8b", Status::budget_exhausted, 1030),
      ended_run("r4", "Translate the README", "writer", "gpt-4o", std::nullopt, 1040),
      ended_run("r5", "Approve the deploy", "ops", "gpt-4o", Status::awaiting_approval, 1050),
  };
  for (auto const& s : runs) BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
}

std::vector<std::string> ids(std::vector<Trace> const& traces) {
  std::vector<std::string> out;
  for (auto const& t : traces) out.push_back(t.trace_id);
  return out;
}

std::vector<std::string> listed(TraceStore& traces, TraceFilter f) {
  auto r = run_sync(traces.list(f));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : ""));
  return ids(r.value());
}

using V = std::vector<std::string>;

}  // namespace test_learn_trace_store

using namespace test_learn_trace_store;

BOOST_AUTO_TEST_SUITE(learn_trace_store)

BOOST_AUTO_TEST_CASE(a_loop_records_what_learning_needs_without_extra_work) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      auto store = kind.make();
      auto env = make_env({"t1"});
      auto options = env_options(env);
      options.agent_name = "fixer";
      options.run_metadata["source"] = "test";
      leash::ScriptedPlanner planner{leash::Plan::single_call("fix", {{"name", "t1"}}, "fixing t1 now"),
                                     leash::Plan::text_only("all green")};
      leash::Loop<leash::ScriptedPlanner, FixTools, leash::DefaultPolicies, leash::ExitList<>, leash::AnyStore> loop(
          "Fix the failing tests", planner, FixTools{Fix{env}}, {}, {}, store, options);
      auto r = loop.run();
      BOOST_REQUIRE(r.has_value());
      BOOST_TEST(to_string(r.value().status) == "SUCCESS");

      TraceStore traces(store);
      auto got = run_sync(traces.get(r.value().run_id));
      BOOST_REQUIRE(got.has_value());
      Trace const& t = got.value();
      BOOST_TEST(t.query == "Fix the failing tests");
      BOOST_TEST(t.agent == "fixer");
      BOOST_TEST(t.model == "scripted");
      BOOST_TEST(t.engine == "scripted");
      BOOST_TEST((t.outcome == Outcome::success));
      BOOST_TEST(t.started_at > 0.0);
      BOOST_TEST(t.ended_at >= t.started_at);
      BOOST_TEST(t.prompt_tokens == 50u);
      BOOST_TEST(t.completion_tokens == 10u);
      BOOST_TEST(t.result == "fixing t1 now");  // what the planner last said
      BOOST_TEST(t.metadata.at("source").as_string() == "test");
      BOOST_TEST(!t.feedback.has_value());
      // Steps in execution order: the plan, its action, the answer.
      BOOST_REQUIRE(t.steps.size() == 3u);
      BOOST_TEST((t.steps[0].type == StepType::generate));
      BOOST_TEST(t.steps[0].output.at("content").as_string() == "fixing t1 now");
      BOOST_TEST((t.steps[1].type == StepType::tool_call));
      BOOST_TEST(t.steps[1].tool() == "fix");
      BOOST_TEST(t.steps[1].input.at("args").at("name").as_string() == "t1");
      BOOST_TEST(t.steps[1].output.at("status").as_string() == "ok");
      BOOST_TEST((t.steps[2].type == StepType::respond));
    }
  }
}

BOOST_AUTO_TEST_CASE(listing_is_newest_first_with_the_reference_filters) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      auto store = kind.make();
      populate(store);
      TraceStore traces(store);
      BOOST_TEST(listed(traces, {}) == (V{"r5", "r4", "r3", "r2", "r1", "r0"}), boost::test_tools::per_element());

      TraceFilter f;
      f.agent = "coder";
      BOOST_TEST(listed(traces, f) == (V{"r3", "r0"}), boost::test_tools::per_element());
      f = {};
      f.model = "gpt-4o";
      f.limit = 2;
      BOOST_TEST(listed(traces, f) == (V{"r5", "r4"}), boost::test_tools::per_element());
      f = {};
      f.outcome = Outcome::success;
      BOOST_TEST(listed(traces, f) == (V{"r2", "r0"}), boost::test_tools::per_element());
      f.outcome = Outcome::failure;
      BOOST_TEST(listed(traces, f) == (V{"r3", "r1"}), boost::test_tools::per_element());
      f.outcome = Outcome::unknown;  // running, or waiting for a person
      BOOST_TEST(listed(traces, f) == (V{"r5", "r4"}), boost::test_tools::per_element());
      f = {};
      f.since = 1010;
      f.until = 1030;
      BOOST_TEST(listed(traces, f) == (V{"r3", "r2", "r1"}), boost::test_tools::per_element());

      auto n = run_sync(traces.count(f));
      BOOST_REQUIRE(n.has_value());
      BOOST_TEST(n.value() == 3u);
      BOOST_TEST(run_sync(traces.count({})).value() == 6u);

      // Listing without steps reads no iterations; with them, in order.
      f = {};
      f.with_steps = false;
      f.limit = 1;
      f.agent = "mathbot";
      auto bare = run_sync(traces.list(f)).value();
      BOOST_REQUIRE(bare.size() == 1u);
      BOOST_TEST(bare[0].steps.empty());
      BOOST_TEST(bare[0].model == "qwen3:8b");
      BOOST_TEST(bare[0].total_tokens() == 120u);
      f.with_steps = true;
      auto full = run_sync(traces.list(f)).value();
      BOOST_REQUIRE(full[0].steps.size() == 3u);
      BOOST_TEST(full[0].steps[1].tool() == "search");
    }
  }
}

BOOST_AUTO_TEST_CASE(for_each_streams_and_stops_when_told) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      auto store = kind.make();
      // More runs than the SQLite store reads in one page.
      for (int i = 0; i < 300; ++i) {
        auto s = ended_run("run-" + std::to_string(1000 + i), "goal " + std::to_string(i), "a", "m",
                           leash::Status::success, 5000 + i);
        BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
      }
      TraceStore traces(store);
      std::vector<std::string> seen;
      TraceFilter all;
      all.with_steps = false;
      BOOST_REQUIRE(run_sync(traces.for_each(all, [&](Trace const& t) {
                      seen.push_back(t.trace_id);
                      return true;
                    })).has_value());
      BOOST_REQUIRE(seen.size() == 300u);
      BOOST_TEST(seen.front() == "run-1299");
      BOOST_TEST(seen.back() == "run-1000");
      BOOST_TEST(std::is_sorted(seen.rbegin(), seen.rend()));

      std::size_t visits = 0;
      BOOST_REQUIRE(run_sync(traces.for_each(all, [&](Trace const&) { return ++visits < 5; })).has_value());
      BOOST_TEST(visits == 5u);
    }
  }
}

BOOST_AUTO_TEST_CASE(search_matches_every_word_as_a_word_start_in_any_case) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      auto store = kind.make();
      populate(store);
      TraceStore traces(store);
      auto search = [&](std::string text) {
        auto r = run_sync(traces.search(text));
        BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : ""));
        return ids(r.value());
      };
      BOOST_TEST(search("fix") == (V{"r3", "r0"}), boost::test_tools::per_element());
      BOOST_TEST(search("FIX test") == (V{"r3", "r0"}), boost::test_tools::per_element());  // "tests" starts with "test"
      BOOST_TEST(search("fix network") == (V{"r3"}), boost::test_tools::per_element());
      BOOST_TEST(search("report") == (V{"r2"}), boost::test_tools::per_element());
      BOOST_TEST(search("summary") == (V{"r2"}), boost::test_tools::per_element());  // the result
      BOOST_TEST(search("mathbot") == (V{"r1"}), boost::test_tools::per_element());  // the agent
      BOOST_TEST(search("ntegral").empty());  // inside a word: no match
      // FTS5 syntax in the text is only words.
      BOOST_TEST(search("\"fix\"* ^(") == (V{"r3", "r0"}), boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(feedback_is_checked_and_kept) {
  for (auto const& kind : store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      auto store = kind.make();
      populate(store);
      TraceStore traces(store);
      BOOST_REQUIRE(run_sync(traces.set_feedback("r2", 0.9, "cli")).has_value());
      BOOST_REQUIRE(run_sync(traces.set_feedback("r1", 0.0, "thumbs")).has_value());
      BOOST_REQUIRE(run_sync(traces.set_feedback("r1", 1.0, "thumbs")).has_value());  // replaces

      auto r2 = run_sync(traces.get("r2")).value();
      BOOST_TEST(r2.feedback.value_or(-1) == 0.9);
      BOOST_TEST(r2.feedback_source == "cli");
      BOOST_TEST(run_sync(traces.get("r1")).value().feedback.value_or(-1) == 1.0);
      // Listing reads it too (SQLite: from the row, not the head).
      TraceFilter f;
      f.agent = "writer";
      f.outcome = Outcome::success;
      auto listed_r2 = run_sync(traces.list(f)).value();
      BOOST_REQUIRE(listed_r2.size() == 1u);
      BOOST_TEST(listed_r2[0].feedback.value_or(-1) == 0.9);
      // The run is otherwise unchanged.
      auto state = run_sync(store.load("r2")).value();
      BOOST_TEST(state.iterations.size() == 1u);
      BOOST_TEST(to_string(*state.status) == "SUCCESS");

      auto bad = [&](std::string id, double score, leash::Errc code) {
        auto r = run_sync(traces.set_feedback(id, score, "cli"));
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST((r.error() == code), r.error().what());
      };
      bad("r2", 1.5, leash::Errc::invalid_input);
      bad("r2", -0.1, leash::Errc::invalid_input);
      bad("r2", std::nan(""), leash::Errc::invalid_input);
      bad("r4", 0.5, leash::Errc::invalid_input);  // still running
      bad("nope", 0.5, leash::Errc::run_not_found);
      BOOST_TEST(run_sync(traces.get("r2")).value().feedback.value_or(-1) == 0.9);
    }
  }
}

#ifdef LEASH_TEST_HAS_SQLITE_STORE
BOOST_AUTO_TEST_CASE(a_sqlite_store_written_before_run_info_is_migrated_and_searchable) {
  TempDir dir("leash-learn");
  auto path = dir / "old.db";
  {
    // The version-1 layout with one ended run, as an older leash wrote it.
    std::string sql = leash::detail::sqlite_store::migrations[0].sql;
    sql += "PRAGMA user_version = 1;";
    leash::State old = ended_run("old-run", "Refactor the legacy parser", "", "", leash::Status::success, 0);
    json::object head = json::value_from(old).as_object();
    for (char const* k : {"iterations", "artifacts", "failed_approaches", "in_flight", "info"}) head.erase(k);
    head["schema_version"] = 1;
    std::string text = json::serialize(head);
    std::string record = json::serialize(json::value_from(old.iterations[0]));
    auto quoted = [](std::string const& s) {
      std::string q = "'";
      for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
      return q + "'";
    };
    sql += "INSERT INTO runs VALUES ('old-run', 'Refactor the legacy parser', 'SUCCESS', 'goal metric reports success', "
           "1700000000, 1700000060, 1, 0, 0, " + quoted(text) + ", '" + leash::sha256_hex(text) + "');";
    sql += "INSERT INTO iterations VALUES ('old-run', 0, " + quoted(record) + ", '" + leash::sha256_hex(record) + "');";
    leash_test::RawDb(path, nullptr, true).exec(sql);
  }
  auto opened = leash::SqliteStore::open(path);
  BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened.has_error() ? opened.error().what() : ""));
  leash::AnyStore store(std::move(opened).value());
  TraceStore traces(store);

  auto found = run_sync(traces.search("legacy"));
  BOOST_REQUIRE(found.has_value());
  BOOST_REQUIRE(found.value().size() == 1u);
  Trace const& t = found.value()[0];
  BOOST_TEST((t.outcome == Outcome::success));
  BOOST_TEST(t.started_at == 1700000000.0);  // its creation
  BOOST_TEST(t.ended_at == 1700000060.0);
  BOOST_TEST(t.steps.size() == 2u);  // plan and action; no answer was recorded then

  // The old head loads (brought up to the current layout) and takes feedback.
  auto loaded = run_sync(store.load("old-run"));
  BOOST_REQUIRE_MESSAGE(loaded.has_value(), (loaded.has_error() ? loaded.error().what() : ""));
  BOOST_TEST(loaded.value().schema_version == leash::state_schema_version);
  BOOST_REQUIRE(run_sync(traces.set_feedback("old-run", 0.75, "cli")).has_value());
  TraceFilter f;
  f.outcome = Outcome::success;
  BOOST_TEST(run_sync(traces.list(f)).value().at(0).feedback.value_or(-1) == 0.75);
  // New runs join the same index.
  BOOST_REQUIRE(run_sync(store.create_run(ended_run("new-run", "Refactor the lexer", "coder", "m",
                                                    leash::Status::success, 1800000000)))
                    .has_value());
  BOOST_TEST(ids(run_sync(traces.search("refactor")).value()) == (V{"new-run", "old-run"}),
             boost::test_tools::per_element());
}
#endif

BOOST_AUTO_TEST_SUITE_END()
