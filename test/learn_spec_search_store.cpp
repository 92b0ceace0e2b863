// Tests of leash/learn/spec_search/store.hpp, on real SQLite files. Without
// SQLite (LEASH_HAS_SQLITE undefined) the suite is empty.
#if defined(LEASH_HAS_SQLITE)
#include <leash/learn/spec_search/store.hpp>
#include <leash/store/open.hpp>
#endif
#include <boost/test/unit_test.hpp>

#if defined(LEASH_HAS_SQLITE)

#include "raw_sqlite.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace test_learn_spec_search_store {

namespace json = leash::json;
namespace ss = leash::learn::spec_search;
namespace fs = std::filesystem;
using leash::Errc;
using leash_test::RawDb;
using leash_test::TempDir;

struct Clock {
  double now = 5000.0;
};

ss::SessionStore open_store(fs::path const& path, Clock* clock = nullptr) {
  ss::SessionStoreOptions o;
  if (clock) o.clock = [clock] { return clock->now; };
  auto opened = ss::SessionStore::open(path, o);
  BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened.has_error() ? opened.error().what() : std::string()));
  return std::move(opened).value();
}

ss::Edit edit(std::string id, std::string json_text) {
  auto v = json::parse(json_text);
  v.as_object()["id"] = id;
  auto e = ss::edit_from_json(v);
  BOOST_REQUIRE_MESSAGE(e.has_value(), (e.has_error() ? e.error().what() : std::string()));
  return std::move(e).value();
}

ss::Edit prompt_edit(std::string id) {
  auto e = edit(id, R"({"op": "replace_system_prompt", "target": "agents.calc.system_prompt",
      "payload": {"agent": "calc", "new_content": "Use the calculator.\nAlways."},
      "rationale": "it guesses sums", "expected_improvement": "arith", "references": ["t1", "t2"]})");
  return e;
}

ss::Edit tool_edit(std::string id) {
  return edit(id, R"({"op": "add_tool_to_agent", "target": "agents.calc.tools",
      "payload": {"agent": "calc", "tool_name": "calculator"}, "rationale": "no tool for sums"})");
}

ss::EditOutcome outcome(ss::Edit e, ss::OutcomeStatus status) {
  ss::EditOutcome o;
  o.edit = std::move(e);
  o.status = status;
  return o;
}

ss::BenchmarkSnapshot snapshot(double overall) {
  ss::BenchmarkSnapshot b;
  b.benchmark_version = "personal_v2";
  b.overall_score = overall;
  b.cluster_scores = {{"arith", overall / 2}, {"dates", 0.75}};
  b.task_count = 40;
  b.elapsed_seconds = 12.5;
  b.cost_usd = 0.125;
  return b;
}

/// A session with every field set to something other than its default.
ss::LearningSession full_session(std::string id, double started_at) {
  ss::LearningSession s;
  s.id = std::move(id);
  s.trigger = ss::Trigger::cluster("sums are wrong", {"t1", "t2"}, 0.5);
  s.status = ss::SessionStatus::awaiting_review;
  s.autonomy_mode = ss::AutonomyMode::manual;
  s.started_at = started_at;
  s.ended_at = started_at + 30.25;
  s.diagnosis_path = "/home/x/learning/sessions/" + s.id + "/diagnosis.md";
  s.plan_path = "/home/x/learning/sessions/" + s.id + "/plan.json";
  s.benchmark_before = snapshot(0.5);
  s.benchmark_after = snapshot(0.625);
  auto applied = outcome(tool_edit("edit-1"), ss::OutcomeStatus::applied);
  applied.benchmark_delta = 0.125;
  applied.cluster_deltas = {{"arith", 0.25}, {"dates", -0.0625}};
  applied.applied_at = started_at + 10;
  auto pending = outcome(prompt_edit("edit-2"), ss::OutcomeStatus::pending_review);
  auto gated = outcome(tool_edit("edit-3"), ss::OutcomeStatus::rejected_by_gate);
  gated.benchmark_delta = -0.5;
  gated.error = "regressed cluster dates by 0.5";
  s.edit_outcomes = {applied, pending, gated};
  s.checkpoint_pre = "sha256:aaaa";
  s.checkpoint_post = "sha256:bbbb";
  s.teacher_cost_usd = 1.75;
  s.error = "none really";
  return s;
}

void save(ss::SessionStore& store, ss::LearningSession const& s) {
  auto r = store.save_session(s);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : std::string()));
}

ss::LearningSession get(ss::SessionStore& store, std::string const& id) {
  auto got = store.get_session(id);
  BOOST_REQUIRE_MESSAGE(got.has_value(), (got.has_error() ? got.error().what() : std::string()));
  BOOST_REQUIRE(got.value().has_value());
  return *std::move(got).value();
}

/// Every field, through the JSON form (which holds every field of both types).
void same(ss::LearningSession const& a, ss::LearningSession const& b) {
  BOOST_TEST(json::serialize(ss::to_json(a)) == json::serialize(ss::to_json(b)));
}

std::vector<std::string> ids(std::vector<ss::LearningSession> const& v) {
  std::vector<std::string> out;
  for (auto const& s : v) out.push_back(s.id);
  return out;
}

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

std::string what(leash::Error const& e) { return e.what(); }

}  // namespace test_learn_spec_search_store

using namespace test_learn_spec_search_store;

BOOST_AUTO_TEST_SUITE(learn_spec_search_store)

BOOST_AUTO_TEST_CASE(open_creates_versioned_tables_in_wal_mode_with_foreign_keys) {
  TempDir dir;
  auto path = dir / "sub" / "learn.db";
  { auto store = open_store(path); }
  RawDb raw(path);
  BOOST_TEST(raw.text("PRAGMA journal_mode") == "wal");
  for (std::string table : {"spec_search_schema", "learning_sessions", "edit_outcomes"})
    BOOST_TEST(raw.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '" + table + "'") == table);
  for (std::string index : {"learning_sessions_by_started_at", "learning_sessions_by_status", "edit_outcomes_by_op",
                            "edit_outcomes_by_status"})
    BOOST_TEST(raw.text("SELECT name FROM sqlite_master WHERE type = 'index' AND name = '" + index + "'") == index);
  BOOST_TEST(raw.text("SELECT version FROM spec_search_schema WHERE component = 'spec_search'") == "1");
  BOOST_TEST(raw.text("PRAGMA user_version") == "0");  // the run store's version is not ours to set
  // The foreign keys are declared (a raw connection does not enforce them; the store's does).
  BOOST_TEST(raw.text("SELECT COUNT(*) FROM pragma_foreign_key_list('edit_outcomes')") == "1");
  BOOST_TEST(raw.text("SELECT \"table\" FROM pragma_foreign_key_list('learning_sessions')") == "learning_sessions");
  auto again = ss::SessionStore::open(path);
  BOOST_TEST(again.has_value());
}

BOOST_AUTO_TEST_CASE(a_session_round_trips_every_field) {
  TempDir dir;
  auto store = open_store(dir / "learn.db");
  ss::LearningSession parent = full_session("session-parent", 100);
  parent.parent_session_id.reset();
  save(store, parent);
  auto s = full_session("session-20261207T175200_1a2b3c4d", 200.5);
  s.parent_session_id = parent.id;
  save(store, s);
  auto back = get(store, s.id);
  same(back, s);
  // The fields the JSON form derives are kept too.
  BOOST_REQUIRE(back.edit_outcomes.size() == 3u);
  BOOST_TEST(back.edit_outcomes[1].edit.payload.at("new_content").as_string() == "Use the calculator.\nAlways.");
  BOOST_TEST(back.edit_outcomes[0].cluster_deltas.at("dates") == -0.0625);
  BOOST_TEST(back.parent_session_id.value_or("") == parent.id);
  BOOST_TEST(back.started_at == 200.5);

  // Empty and absent optionals stay what they were.
  ss::LearningSession bare;
  bare.id = "bare";
  bare.checkpoint_post = "";
  save(store, bare);
  auto b = get(store, "bare");
  same(b, bare);
  BOOST_TEST(b.checkpoint_post.has_value());
  BOOST_TEST(!b.ended_at.has_value());
  BOOST_TEST(!b.benchmark_before.has_value());
  BOOST_TEST(!b.error.has_value());
  BOOST_TEST(b.edit_outcomes.empty());

  auto missing = store.get_session("nope");
  BOOST_REQUIRE(missing.has_value());
  BOOST_TEST(!missing.value().has_value());
}

BOOST_AUTO_TEST_CASE(columns_hold_readable_values) {
  TempDir dir;
  auto path = dir / "learn.db";
  {
    auto store = open_store(path);
    save(store, full_session("s1", 100));
  }
  RawDb raw(path);
  BOOST_TEST(raw.text("SELECT \"trigger\" FROM learning_sessions") == "cluster");
  BOOST_TEST(raw.text("SELECT status FROM learning_sessions") == "awaiting_review");
  BOOST_TEST(raw.text("SELECT autonomy_mode FROM learning_sessions") == "manual");
  BOOST_TEST(raw.text("SELECT json_extract(trigger_metadata, '$.failure_rate') FROM learning_sessions") == "0.5");
  BOOST_TEST(raw.text("SELECT json_extract(benchmark_after, '$.overall_score') FROM learning_sessions") == "0.625");
  BOOST_TEST(raw.text("SELECT op || ' ' || risk_tier || ' ' || pillar FROM edit_outcomes WHERE edit_id = 'edit-2'") ==
             "replace_system_prompt review agent");
  BOOST_TEST(raw.text("SELECT json_extract(edit, '$.payload.agent') FROM edit_outcomes WHERE edit_id = 'edit-2'") ==
             "calc");
  BOOST_TEST(raw.text("SELECT json_extract(cluster_deltas, '$.arith') FROM edit_outcomes WHERE edit_id = 'edit-1'") ==
             "0.25");
  BOOST_TEST(raw.text("SELECT rationale FROM edit_outcomes WHERE edit_id = 'edit-1'") == "no tool for sums");
}

BOOST_AUTO_TEST_CASE(resaving_replaces_outcomes_and_keeps_started_at) {
  TempDir dir;
  auto path = dir / "learn.db";
  auto store = open_store(path);
  auto s = full_session("s1", 100);
  save(store, s);
  save(store, s);  // the same again: no duplicates
  RawDb raw(path);
  BOOST_TEST(raw.count("edit_outcomes") == 3);
  BOOST_TEST(raw.count("learning_sessions") == 1);

  // Fewer outcomes, in another order, a later start time and a new status.
  auto later = s;
  later.started_at = 999;
  later.status = ss::SessionStatus::completed;
  later.edit_outcomes = {s.edit_outcomes[2], s.edit_outcomes[0]};
  later.edit_outcomes[0].error = "changed";
  save(store, later);
  BOOST_TEST(raw.count("edit_outcomes") == 2);
  auto back = get(store, "s1");
  BOOST_TEST(back.started_at == 100.0);  // the first save's
  BOOST_TEST(back.status == ss::SessionStatus::completed);
  BOOST_REQUIRE(back.edit_outcomes.size() == 2u);
  BOOST_TEST(back.edit_outcomes[0].edit.id == "edit-3");
  BOOST_TEST(back.edit_outcomes[0].error.value_or("") == "changed");
  BOOST_TEST(back.edit_outcomes[1].edit.id == "edit-1");
  later.started_at = 100;
  same(back, later);

  // A child session survives its parent's re-save (no delete-and-insert underneath).
  auto child = full_session("child", 300);
  child.parent_session_id = "s1";
  save(store, child);
  save(store, later);
  BOOST_TEST(get(store, "child").parent_session_id.value_or("") == "s1");
  BOOST_TEST(get(store, "child").edit_outcomes.size() == 3u);
}

BOOST_AUTO_TEST_CASE(save_outcome_upserts_in_place) {
  TempDir dir;
  auto path = dir / "learn.db";
  auto store = open_store(path);
  auto s = full_session("s1", 100);
  save(store, s);
  auto changed = s.edit_outcomes[0];
  changed.status = ss::OutcomeStatus::rolled_back;
  changed.applied_at.reset();
  changed.error = "rolled back by hand";
  BOOST_REQUIRE(store.save_outcome("s1", changed).has_value());
  auto added = outcome(tool_edit("edit-4"), ss::OutcomeStatus::skipped);
  BOOST_REQUIRE(store.save_outcome("s1", added).has_value());
  BOOST_REQUIRE(store.save_outcome("s1", added).has_value());
  RawDb raw(path);
  BOOST_TEST(raw.count("edit_outcomes") == 4);
  auto back = get(store, "s1");
  BOOST_REQUIRE(back.edit_outcomes.size() == 4u);
  BOOST_TEST(back.edit_outcomes[0].edit.id == "edit-1");  // kept its place
  BOOST_TEST(back.edit_outcomes[0].status == ss::OutcomeStatus::rolled_back);
  BOOST_TEST(!back.edit_outcomes[0].applied_at.has_value());
  BOOST_TEST(back.edit_outcomes[0].error.value_or("") == "rolled back by hand");
  BOOST_TEST(back.edit_outcomes[3].edit.id == "edit-4");

  auto none = store.save_outcome("no-such-session", added);
  BOOST_REQUIRE(none.has_error());
  BOOST_TEST((none.error() == Errc::run_not_found));
  BOOST_TEST(contains(what(none.error()), "no-such-session"));
}

BOOST_AUTO_TEST_CASE(list_orders_newest_first_filters_and_limits) {
  TempDir dir;
  auto store = open_store(dir / "learn.db");
  auto mk = [&](std::string id, double started, ss::SessionStatus status) {
    auto s = full_session(id, started);
    s.status = status;
    save(store, s);
  };
  mk("a", 100, ss::SessionStatus::completed);
  mk("c", 300, ss::SessionStatus::failed);
  mk("b", 200, ss::SessionStatus::completed);
  mk("d", 300, ss::SessionStatus::completed);  // ties with c: by id
  mk("e", 50, ss::SessionStatus::awaiting_review);

  auto all = store.list_sessions();
  BOOST_REQUIRE(all.has_value());
  BOOST_TEST(ids(all.value()) == (std::vector<std::string>{"c", "d", "b", "a", "e"}), boost::test_tools::per_element());
  BOOST_TEST(all.value().front().edit_outcomes.size() == 3u);  // outcomes loaded

  auto completed = store.list_sessions(ss::SessionStatus::completed);
  BOOST_REQUIRE(completed.has_value());
  BOOST_TEST(ids(completed.value()) == (std::vector<std::string>{"d", "b", "a"}), boost::test_tools::per_element());

  auto two = store.list_sessions(std::nullopt, 2);
  BOOST_REQUIRE(two.has_value());
  BOOST_TEST(ids(two.value()) == (std::vector<std::string>{"c", "d"}), boost::test_tools::per_element());
  BOOST_TEST(store.list_sessions(ss::SessionStatus::completed, 1).value().size() == 1u);
  BOOST_TEST(store.list_sessions(std::nullopt, 0).value().empty());
  BOOST_TEST(store.list_sessions(ss::SessionStatus::rolled_back).value().empty());

  // Default limit 50.
  for (int i = 0; i < 55; ++i) mk("many-" + std::to_string(100 + i), 1000 + i, ss::SessionStatus::completed);
  BOOST_TEST(store.list_sessions().value().size() == 50u);
  BOOST_TEST(store.list_sessions().value().front().id == "many-154");
}

BOOST_AUTO_TEST_CASE(pending_reviews_lists_oldest_session_first) {
  TempDir dir;
  auto store = open_store(dir / "learn.db");
  auto newer = full_session("newer", 200);
  auto older = full_session("older", 100);
  older.edit_outcomes.push_back(outcome(prompt_edit("edit-9"), ss::OutcomeStatus::pending_review));
  auto none = full_session("none-pending", 50);
  none.edit_outcomes = {outcome(tool_edit("x"), ss::OutcomeStatus::applied)};
  save(store, newer);
  save(store, none);
  save(store, older);
  auto pending = store.pending_reviews();
  BOOST_REQUIRE(pending.has_value());
  BOOST_REQUIRE(pending.value().size() == 3u);
  BOOST_TEST(pending.value()[0].session_id == "older");
  BOOST_TEST(pending.value()[0].outcome.edit.id == "edit-2");
  BOOST_TEST(pending.value()[1].session_id == "older");
  BOOST_TEST(pending.value()[1].outcome.edit.id == "edit-9");
  BOOST_TEST(pending.value()[2].session_id == "newer");
  BOOST_TEST(pending.value()[2].outcome.edit.op == ss::EditOp::replace_system_prompt);
  BOOST_TEST(pending.value()[2].outcome.edit.risk_tier == ss::EditRiskTier::review);
  BOOST_TEST(pending.value()[2].outcome.edit.payload.at("agent").as_string() == "calc");
  BOOST_TEST(pending.value()[2].outcome.status == ss::OutcomeStatus::pending_review);
}

BOOST_AUTO_TEST_CASE(approving_the_last_pending_edit_completes_the_session) {
  TempDir dir;
  Clock clock;
  auto store = open_store(dir / "learn.db", &clock);
  auto s = full_session("s1", 100);
  s.ended_at.reset();
  s.edit_outcomes.push_back(outcome(prompt_edit("edit-4"), ss::OutcomeStatus::pending_review));
  save(store, s);

  clock.now = 7000;
  BOOST_REQUIRE(store.resolve_review("s1", "edit-2", true, "fine by me").has_value());
  auto mid = get(store, "s1");
  BOOST_TEST(mid.edit_outcomes[1].status == ss::OutcomeStatus::applied);
  BOOST_TEST(mid.edit_outcomes[1].applied_at.value_or(0) == 7000.0);
  BOOST_TEST(!mid.edit_outcomes[1].error.has_value());
  BOOST_TEST(mid.status == ss::SessionStatus::awaiting_review);  // edit-4 still waits
  BOOST_TEST(store.pending_reviews().value().size() == 1u);

  clock.now = 8000;
  BOOST_REQUIRE(store.resolve_review("s1", "edit-4", false).has_value());
  auto done = get(store, "s1");
  BOOST_TEST(done.edit_outcomes[3].status == ss::OutcomeStatus::rejected_by_user);
  BOOST_TEST(done.edit_outcomes[3].error.value_or("") == "rejected by reviewer");
  BOOST_TEST(!done.edit_outcomes[3].applied_at.has_value());
  BOOST_TEST(done.status == ss::SessionStatus::completed);
  BOOST_TEST(done.ended_at.value_or(0) == 8000.0);
  BOOST_TEST(store.pending_reviews().value().empty());
  // The other outcomes are untouched.
  for (std::size_t i : {0u, 2u})
    BOOST_TEST(json::serialize(ss::to_json(done.edit_outcomes[i])) == json::serialize(ss::to_json(s.edit_outcomes[i])));
}

BOOST_AUTO_TEST_CASE(rejecting_keeps_the_note_and_an_ended_at) {
  TempDir dir;
  Clock clock;
  auto store = open_store(dir / "learn.db", &clock);
  auto s = full_session("s1", 100);  // ended_at 130.25
  save(store, s);
  BOOST_REQUIRE(store.resolve_review("s1", "edit-2", false, "too broad").has_value());
  auto back = get(store, "s1");
  BOOST_TEST(back.edit_outcomes[1].status == ss::OutcomeStatus::rejected_by_user);
  BOOST_TEST(back.edit_outcomes[1].error.value_or("") == "too broad");
  BOOST_TEST(back.status == ss::SessionStatus::completed);
  BOOST_TEST(back.ended_at.value_or(0) == 130.25);

  // A session in another status keeps it.
  auto running = full_session("s2", 200);
  running.status = ss::SessionStatus::executing;
  save(store, running);
  BOOST_REQUIRE(store.resolve_review("s2", "edit-2", true).has_value());
  BOOST_TEST(get(store, "s2").status == ss::SessionStatus::executing);
}

BOOST_AUTO_TEST_CASE(resolve_errors_name_what_is_missing_or_not_pending) {
  TempDir dir;
  auto store = open_store(dir / "learn.db");
  save(store, full_session("s1", 100));
  auto no_session = store.resolve_review("nope", "edit-2", true);
  BOOST_REQUIRE(no_session.has_error());
  BOOST_TEST((no_session.error() == Errc::run_not_found));
  BOOST_TEST(contains(what(no_session.error()), "'nope'"));
  auto no_edit = store.resolve_review("s1", "edit-77", true);
  BOOST_REQUIRE(no_edit.has_error());
  BOOST_TEST((no_edit.error() == Errc::run_not_found));
  BOOST_TEST(contains(what(no_edit.error()), "edit-77"));
  auto applied = store.resolve_review("s1", "edit-1", false);
  BOOST_REQUIRE(applied.has_error());
  BOOST_TEST((applied.error() == Errc::invalid_input));
  BOOST_TEST(contains(what(applied.error()), "not pending review (it is applied)"));
  BOOST_REQUIRE(store.resolve_review("s1", "edit-2", true).has_value());
  auto twice = store.resolve_review("s1", "edit-2", true);
  BOOST_REQUIRE(twice.has_error());
  BOOST_TEST((twice.error() == Errc::invalid_input));
  // Nothing changed by the failed calls.
  auto back = get(store, "s1");
  BOOST_TEST(back.edit_outcomes[0].status == ss::OutcomeStatus::applied);
  BOOST_TEST(back.edit_outcomes[0].error.has_value() == false);
}

BOOST_AUTO_TEST_CASE(unstorable_sessions_are_refused_whole) {
  TempDir dir;
  auto path = dir / "learn.db";
  auto store = open_store(path);
  auto expect_invalid = [&](ss::LearningSession const& s, std::string const& part) {
    auto r = store.save_session(s);
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST((r.error() == Errc::invalid_input));
    BOOST_TEST(contains(what(r.error()), part), what(r.error()));
  };
  ss::LearningSession empty;
  expect_invalid(empty, "needs an id");
  auto orphan = full_session("orphan", 1);
  orphan.parent_session_id = "ghost";
  expect_invalid(orphan, "'ghost'");
  auto dup = full_session("dup", 1);
  dup.edit_outcomes.push_back(dup.edit_outcomes[0]);
  expect_invalid(dup, "two outcomes for edit 'edit-1'");
  auto bad_edit = full_session("bad-edit", 1);
  bad_edit.edit_outcomes[0].edit.payload.erase("tool_name");
  expect_invalid(bad_edit, "tool_name");
  auto nan = full_session("nan", 1);
  nan.edit_outcomes[0].benchmark_delta = std::numeric_limits<double>::quiet_NaN();
  expect_invalid(nan, "NaN");
  auto inf = full_session("inf", 1);
  inf.trigger.metadata["x"] = std::numeric_limits<double>::infinity();
  expect_invalid(inf, "NaN or infinite");
  auto score = full_session("score", 1);
  score.benchmark_after->overall_score = 1.5;
  expect_invalid(score, "overall_score");
  RawDb raw(path);
  BOOST_TEST(raw.count("learning_sessions") == 0);
  BOOST_TEST(raw.count("edit_outcomes") == 0);
  // A bad outcome on its own too.
  save(store, full_session("s1", 1));
  auto bad = outcome(tool_edit("edit-5"), ss::OutcomeStatus::skipped);
  bad.edit.payload.erase("tool_name");
  BOOST_TEST((store.save_outcome("s1", bad).error() == Errc::invalid_input));
  BOOST_TEST(raw.count("edit_outcomes") == 3);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_sqlite_is_state_corrupt_naming_it) {
  TempDir dir;
  auto path = dir / "garbage.db";
  std::ofstream(path) << std::string(8192, 'x');
  auto opened = ss::SessionStore::open(path);
  BOOST_REQUIRE(opened.has_error());
  BOOST_TEST((opened.error() == Errc::state_corrupt));
  BOOST_TEST(contains(what(opened.error()), path.string()), what(opened.error()));
}

BOOST_AUTO_TEST_CASE(a_newer_schema_is_refused_and_left_alone) {
  TempDir dir;
  auto path = dir / "learn.db";
  { auto store = open_store(path); }
  RawDb(path).exec("UPDATE spec_search_schema SET version = 99 WHERE component = 'spec_search'");
  auto opened = ss::SessionStore::open(path);
  BOOST_REQUIRE(opened.has_error());
  BOOST_TEST((opened.error() == Errc::state_version_unsupported));
  BOOST_TEST(contains(what(opened.error()), "99"));
  BOOST_TEST(RawDb(path).text("SELECT version FROM spec_search_schema") == "99");
}

BOOST_AUTO_TEST_CASE(tampered_rows_are_state_corrupt_naming_the_session) {
  TempDir dir;
  auto path = dir / "learn.db";
  auto store = open_store(path);
  save(store, full_session("s1", 100));
  RawDb raw(path);
  raw.exec("UPDATE edit_outcomes SET edit = '{not json' WHERE edit_id = 'edit-2'");
  auto got = store.get_session("s1");
  BOOST_REQUIRE(got.has_error());
  BOOST_TEST((got.error() == Errc::state_corrupt));
  BOOST_TEST(contains(what(got.error()), "'s1'"), what(got.error()));
  BOOST_TEST(contains(what(got.error()), "edit-2"), what(got.error()));
  BOOST_TEST((store.pending_reviews().error() == Errc::state_corrupt));
  raw.exec("UPDATE edit_outcomes SET edit = (SELECT edit FROM edit_outcomes WHERE edit_id = 'edit-1') "
           "WHERE edit_id = 'edit-2'");
  BOOST_TEST((store.get_session("s1").error() == Errc::state_corrupt));  // the JSON names another edit
  raw.exec("DELETE FROM edit_outcomes");
  raw.exec("UPDATE learning_sessions SET status = 'paused'");
  auto status = store.list_sessions();
  BOOST_REQUIRE(status.has_error());
  BOOST_TEST((status.error() == Errc::state_corrupt));
  BOOST_TEST(contains(what(status.error()), "paused"));
}

BOOST_AUTO_TEST_CASE(reopening_keeps_everything_and_shares_the_run_store_file) {
  TempDir dir;
  auto path = dir / "runs.db";
  auto run_store = leash::open_store("sqlite:" + path.string());
  BOOST_REQUIRE(run_store.has_value());
  leash::State run;
  run.run_id = "leash-run-1";
  run.goal = "fix the tests";
  BOOST_REQUIRE(leash_test::run_sync(run_store.value().create_run(run)).has_value());

  auto s = full_session("s1", 100);
  {
    auto store = open_store(path);
    save(store, s);
    BOOST_REQUIRE(store.resolve_review("s1", "edit-2", false, "no").has_value());
  }
  auto store = open_store(path);
  auto back = get(store, "s1");
  BOOST_TEST(back.status == ss::SessionStatus::completed);
  BOOST_TEST(back.edit_outcomes[1].error.value_or("") == "no");
  back.status = s.status;
  back.edit_outcomes[1] = s.edit_outcomes[1];
  same(back, s);
  // The run store still reads its run, and its version is its own.
  auto reopened = leash::open_store("sqlite:" + path.string());
  BOOST_REQUIRE_MESSAGE(reopened.has_value(), (reopened.has_error() ? reopened.error().what() : std::string()));
  auto loaded = leash_test::run_sync(reopened.value().load("leash-run-1"));
  BOOST_REQUIRE(loaded.has_value());
  BOOST_TEST(loaded.value().goal == "fix the tests");
  BOOST_TEST(RawDb(path).text("PRAGMA user_version") != "0");
}

BOOST_AUTO_TEST_SUITE_END()

#endif
