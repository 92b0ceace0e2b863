// store_contract.hpp — the Store contract (leash/store/store.hpp) as test
// functions every store runs: memory, file and SQLite stores must behave
// alike. A store's test file registers them with
//   LEASH_STORE_CONTRACT_TESTS(expression yielding a fresh, empty leash::AnyStore)
#ifndef LEASH_TEST_STORE_CONTRACT_HPP
#define LEASH_TEST_STORE_CONTRACT_HPP

#include <leash/store/store.hpp>
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace leash_test::store_contract {

namespace bj = leash::json;
using leash::State;
using leash_test::run_sync;


namespace bj = leash::json;
using leash::State;
using leash_test::run_sync;


inline leash::IterationRecord iteration(std::uint64_t index) {
  leash::IterationRecord it;
  it.index = index;
  it.observation = "obs " + std::to_string(index);
  it.plan_text = "fix " + std::to_string(index);
  it.actions.push_back({"fix", "{}", leash::ActionStatus::ok, "fixed", 0.1, "fp"});
  return it;
}

/// A run with `n` iterations, one summary per iteration and one failed approach per iteration.
inline void grow(State& s, std::size_t n) {
  while (s.iterations.size() < n) {
    auto i = s.iterations.size();
    s.iterations.push_back(iteration(i));
    s.artifacts.push_back({"summary", i, "summary " + std::to_string(i), {"0.1.0", "deterministic-truncate", "h"}});
    s.failed_approaches.push_back("iteration " + std::to_string(i) + ": fix -> metric regressed");
    ++s.state_version;
  }
}

inline State new_run(std::string id, std::string goal = "g") {
  State s;
  s.run_id = std::move(id);
  s.goal = std::move(goal);
  return s;
}

template <class Store>
State load(Store& store, std::string id) {
  auto r = run_sync(store.load(std::move(id)));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().message : std::string()));
  return std::move(r).value();
}

template <class T>
void expect_not_found(leash::result<T> const& r, std::string const& id) {
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error() == leash::Errc::run_not_found));
  BOOST_TEST(r.error().message.find("'" + id + "'") != std::string::npos);
}


inline void create_then_load_round_trips(leash::AnyStore store) {
  State s = new_run("r1", "fix the tests");
  grow(s, 2);
  s.config.max_iterations = 7;
  s.metrics.input_tokens = 100;
  s.tool_schema_hash = "abc";
  BOOST_TEST(run_sync(store.create_run(s)).has_value());
  State back = load(store, "r1");
  BOOST_TEST((bj::value_from(back) == bj::value_from(s)));
}

inline void duplicate_create_is_an_error(leash::AnyStore store) {
  BOOST_TEST(run_sync(store.create_run(new_run("r1"))).has_value());
  auto again = run_sync(store.create_run(new_run("r1", "other goal")));
  BOOST_REQUIRE(again.has_error());
  BOOST_TEST((again.error() == leash::Errc::store_failed));
  BOOST_TEST(again.error().message.find("'r1'") != std::string::npos);
  BOOST_TEST(load(store, "r1").goal == "g");  // the first run is untouched
}

inline void append_iteration_appends_only_what_is_new(leash::AnyStore store) {
  State s = new_run("r1");
  grow(s, 1);
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());

  grow(s, 3);
  // Records already stored are history: editing them here must not rewrite the store.
  s.iterations[0].observation = "rewritten";
  s.failed_approaches[0] = "rewritten";
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  State once = load(store, "r1");
  BOOST_TEST(once.iterations.size() == 3u);
  BOOST_TEST(once.artifacts.size() == 3u);
  BOOST_TEST(once.failed_approaches.size() == 3u);
  BOOST_TEST(once.iterations[0].observation == "obs 0");
  BOOST_TEST(once.failed_approaches[0] == "iteration 0: fix -> metric regressed");
  BOOST_TEST(once.iterations[2].observation == "obs 2");
  BOOST_TEST(once.state_version == 3u);

  // The same state again: nothing new, nothing duplicated.
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  State twice = load(store, "r1");
  BOOST_TEST(twice.iterations.size() == 3u);
  BOOST_TEST(twice.artifacts.size() == 3u);
  BOOST_TEST(twice.failed_approaches.size() == 3u);

  grow(s, 4);
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  State thrice = load(store, "r1");
  BOOST_TEST(thrice.iterations.size() == 4u);
  BOOST_TEST(thrice.iterations[3].index == 3u);
  BOOST_TEST(thrice.artifacts.back().content == "summary 3");
}

inline void save_head_updates_status_metrics_and_pending(leash::AnyStore store) {
  State s = new_run("r1");
  grow(s, 1);
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  s.status = leash::Status::awaiting_approval;
  s.reason = "action 'fix' awaits approval";
  s.metrics.input_tokens = 50;
  s.metrics.llm_calls = 1;
  s.no_progress_streak = 2;
  leash::PendingApproval p;
  p.token_sha256 = leash::sha256_hex("tok");
  p.tool = "fix";
  p.remaining_calls.push_back({"c2", "fix", bj::object{{"name", "b"}}});
  s.pending_approval = p;
  s.info.agent = "fixer";
  s.info.model = "gpt-4o";
  s.info.engine = "openai";
  s.info.result = "line one\nline \"two\"";
  s.info.started_at = 1763800000.25;
  s.info.metadata["source"] = "contract";
  s.info.feedback = 0.8;
  s.info.feedback_source = "judge";
  BOOST_REQUIRE(run_sync(store.save_head(s)).has_value());
  State back = load(store, "r1");
  BOOST_TEST(back.info.agent == "fixer");
  BOOST_TEST(back.info.model == "gpt-4o");
  BOOST_TEST(back.info.engine == "openai");
  BOOST_TEST(back.info.result == s.info.result);
  BOOST_TEST(back.info.started_at == 1763800000.25);
  BOOST_TEST(back.info.metadata.at("source").as_string() == "contract");
  BOOST_TEST(back.info.feedback.value_or(-1) == 0.8);
  BOOST_TEST(back.info.feedback_source == "judge");
  BOOST_TEST((back.status == leash::Status::awaiting_approval));
  BOOST_TEST(back.reason == "action 'fix' awaits approval");
  BOOST_TEST(back.metrics.input_tokens == 50u);
  BOOST_TEST(back.metrics.llm_calls == 1u);
  BOOST_TEST(back.no_progress_streak == 2u);
  BOOST_REQUIRE(back.pending_approval.has_value());
  BOOST_TEST(back.pending_approval->token_sha256 == leash::sha256_hex("tok"));
  BOOST_TEST(back.pending_approval->remaining_calls.size() == 1u);
  BOOST_TEST(back.iterations.size() == 1u);

  s.pending_approval.reset();  // cleared pending approvals are cleared in the store too
  s.status = leash::Status::success;
  BOOST_REQUIRE(run_sync(store.save_head(s)).has_value());
  State cleared = load(store, "r1");
  BOOST_TEST(!cleared.pending_approval.has_value());
  BOOST_TEST((cleared.status == leash::Status::success));
}

inline void unknown_run_is_run_not_found(leash::AnyStore store) {
  expect_not_found(run_sync(store.load("nope")), "nope");
  expect_not_found(run_sync(store.append_iteration(new_run("nope"))), "nope");
  expect_not_found(run_sync(store.save_head(new_run("nope"))), "nope");
  expect_not_found(run_sync(store.append_events("nope", {})), "nope");
  expect_not_found(run_sync(store.load_events("nope")), "nope");
}

inline void append_and_load_events(leash::AnyStore store) {
  BOOST_REQUIRE(run_sync(store.create_run(new_run("r1"))).has_value());
  auto none = run_sync(store.load_events("r1"));
  BOOST_REQUIRE(none.has_value());
  BOOST_TEST(none.value().empty());

  std::vector<leash::Event> first = {{1.0, leash::event::loop_start, {{"goal", "g"}}},
                                     {2.0, leash::event::iteration_start, {{"index", 0}}}};
  std::vector<leash::Event> second = {{3.0, leash::event::loop_end, {{"status", "SUCCESS"}}}};
  BOOST_REQUIRE(run_sync(store.append_events("r1", first)).has_value());
  BOOST_REQUIRE(run_sync(store.append_events("r1", second)).has_value());
  auto events = run_sync(store.load_events("r1"));
  BOOST_REQUIRE(events.has_value());
  auto const& a = events.value();
  BOOST_REQUIRE(a.size() == 3u);
  BOOST_TEST((a[0] == bj::value(first[0].to_json())));
  BOOST_TEST(a[1].as_object().at("index").as_int64() == 0);
  BOOST_TEST(a[2].as_object().at("kind").as_string() == "loop.end");
  BOOST_TEST(a[2].as_object().at("ts").as_double() == 3.0);
}

inline void list_runs_summarises_each_run(leash::AnyStore store) {
  auto empty = run_sync(store.list_runs());
  BOOST_REQUIRE(empty.has_value());
  BOOST_TEST(empty.value().empty());

  State a = new_run("a", "goal a");
  State b = new_run("b", "goal b");
  BOOST_REQUIRE(run_sync(store.create_run(a)).has_value());
  BOOST_REQUIRE(run_sync(store.create_run(b)).has_value());
  grow(b, 2);
  b.status = leash::Status::budget_exhausted;
  b.reason = "max_iterations (2) reached";
  BOOST_REQUIRE(run_sync(store.append_iteration(b)).has_value());

  auto runs = run_sync(store.list_runs());
  BOOST_REQUIRE(runs.has_value());
  auto const& v = runs.value();
  BOOST_REQUIRE(v.size() == 2u);
  auto const& ra = v[0].run_id == "a" ? v[0] : v[1];
  auto const& rb = v[0].run_id == "a" ? v[1] : v[0];
  BOOST_TEST(ra.goal == "goal a");
  BOOST_TEST(!ra.status.has_value());
  BOOST_TEST(ra.iterations == 0u);
  BOOST_TEST(rb.run_id == "b");
  BOOST_TEST(rb.goal == "goal b");
  BOOST_TEST((rb.status == leash::Status::budget_exhausted));
  BOOST_TEST(rb.reason == "max_iterations (2) reached");
  BOOST_TEST(rb.iterations == 2u);
  BOOST_TEST(rb.created_at > 0.0);
  BOOST_TEST(rb.created_at <= rb.updated_at);
}

inline leash::JournaledAction journaled(std::uint64_t iteration, std::uint64_t position, bool finished) {
  leash::JournaledAction j;
  j.iteration = iteration;
  j.position = position;
  j.tool = "fix";
  j.args = bj::object{{"name", "t" + std::to_string(position)}};
  j.fingerprint = "fp" + std::to_string(position);
  j.plan_text = "fix things";
  j.input_tokens = 50;
  j.output_tokens = 10;
  if (finished)
    j.result = leash::ActionRecord{"fix", "{}", leash::ActionStatus::ok, "fixed", 0.25, j.fingerprint};
  return j;
}

inline void journal_is_in_flight_until_the_iteration_is_recorded(leash::AnyStore store) {
  State s = new_run("r1");
  grow(s, 1);
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  BOOST_TEST(load(store, "r1").in_flight.empty());

  // Iteration 1 in flight: call 0 finished, call 1 started (one batch, as the loop sends it).
  BOOST_REQUIRE(run_sync(store.journal("r1", {journaled(1, 0, false)})).has_value());
  BOOST_REQUIRE(run_sync(store.journal("r1", {journaled(1, 0, true), journaled(1, 1, false)})).has_value());
  State crashed = load(store, "r1");
  BOOST_REQUIRE(crashed.in_flight.size() == 2u);
  BOOST_TEST(crashed.in_flight[0].position == 0u);
  BOOST_REQUIRE(crashed.in_flight[0].result.has_value());
  BOOST_TEST(crashed.in_flight[0].result->result_excerpt == "fixed");
  BOOST_TEST(crashed.in_flight[1].position == 1u);
  BOOST_TEST(!crashed.in_flight[1].result.has_value());
  BOOST_TEST((bj::value(crashed.in_flight[1].args) == bj::value(bj::object{{"name", "t1"}})));
  BOOST_TEST(crashed.in_flight[1].input_tokens == 50u);
  BOOST_TEST(crashed.iterations.size() == 1u);

  // Recording iteration 1 retires its journal.
  grow(s, 2);
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  State recorded = load(store, "r1");
  BOOST_TEST(recorded.in_flight.empty());
  BOOST_TEST(recorded.iterations.size() == 2u);
  auto unknown = run_sync(store.journal("nope", {journaled(0, 0, false)}));
  BOOST_REQUIRE(unknown.has_error());
  BOOST_TEST((unknown.error() == leash::Errc::run_not_found));
}

inline void list_runs_is_newest_first(leash::AnyStore store) {
  for (char const* id : {"first", "second", "third"}) {
    BOOST_REQUIRE(run_sync(store.create_run(new_run(id))).has_value());
    // created_at has sub-millisecond resolution; keep the order unambiguous.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  auto runs = run_sync(store.list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_REQUIRE(runs.value().size() == 3u);
  BOOST_TEST(runs.value()[0].run_id == "third");
  BOOST_TEST(runs.value()[2].run_id == "first");
}

inline void text_round_trips_byte_for_byte(leash::AnyStore store) {
  State s = new_run("r1", "répare les tests — \"quoted\", tab\t, newline\n, nul-free 日本語");
  grow(s, 1);
  s.iterations[0].observation = std::string(100000, 'x') + "\xF0\x9F\x98\x80";
  s.iterations[0].metric = leash::MetricSnapshot{-2.5, true, bj::object{{"failing", bj::array{"a", "b"}}}};
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  State back = load(store, "r1");
  BOOST_TEST(back.goal == s.goal);
  BOOST_TEST(back.iterations[0].observation == s.iterations[0].observation);
  BOOST_TEST((bj::value_from(back) == bj::value_from(s)));
}

inline void doubles_round_trip_exactly(leash::AnyStore store) {
  // Shortest round-trip forms that a parser rounding carelessly reads back one
  // unit in the last place away (Boost.JSON before 1.83 does, for about one in seven).
  std::mt19937_64 rng(20261123);
  std::uniform_real_distribution<double> any(-1e6, 1e6);
  State s = new_run("r1");
  s.metrics.elapsed_s = 1763900000.123456789;
  s.metrics.cost_usd = 0.1 + 0.2;
  grow(s, 1);
  s.iterations[0].metric = leash::MetricSnapshot{any(rng), false, {}};
  s.iterations[0].actions[0].duration_s = any(rng);
  bj::array samples;
  for (int i = 0; i < 200; ++i) samples.emplace_back(any(rng));
  s.iterations[0].metric->detail["samples"] = samples;
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  grow(s, 2);
  s.iterations[1].metric = leash::MetricSnapshot{any(rng), false, {}};
  s.metrics.elapsed_s += any(rng);
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  State back = load(store, "r1");
  BOOST_TEST((bj::value_from(back) == bj::value_from(s)));
  BOOST_TEST(back.metrics.elapsed_s == s.metrics.elapsed_s);
  BOOST_TEST(back.iterations[1].metric->value == s.iterations[1].metric->value);
}

}  // namespace leash_test::store_contract

/// Registers every contract test in the current suite; `fresh` is evaluated
/// once per test and must yield a new, empty leash::AnyStore.
#define LEASH_STORE_CONTRACT_TESTS(fresh)                                                             \
  BOOST_AUTO_TEST_CASE(contract_create_then_load_round_trips) { leash_test::store_contract::create_then_load_round_trips(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_duplicate_create_is_an_error) { leash_test::store_contract::duplicate_create_is_an_error(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_append_iteration_appends_only_what_is_new) { leash_test::store_contract::append_iteration_appends_only_what_is_new(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_save_head_updates_status_metrics_and_pending) { leash_test::store_contract::save_head_updates_status_metrics_and_pending(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_unknown_run_is_run_not_found) { leash_test::store_contract::unknown_run_is_run_not_found(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_append_and_load_events) { leash_test::store_contract::append_and_load_events(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_list_runs_summarises_each_run) { leash_test::store_contract::list_runs_summarises_each_run(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_journal_is_in_flight_until_the_iteration_is_recorded) { leash_test::store_contract::journal_is_in_flight_until_the_iteration_is_recorded(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_list_runs_is_newest_first) { leash_test::store_contract::list_runs_is_newest_first(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_text_round_trips_byte_for_byte) { leash_test::store_contract::text_round_trips_byte_for_byte(fresh); } \
  BOOST_AUTO_TEST_CASE(contract_doubles_round_trip_exactly) { leash_test::store_contract::doubles_round_trip_exactly(fresh); }

#endif
