// Without SQLite (LEASH_HAS_SQLITE undefined: CMake did not find it) this
// suite is empty and the store is not built.
#if defined(LEASH_HAS_SQLITE)
#include <leash/store/sqlite.hpp>
#endif
#include <boost/test/unit_test.hpp>

#if defined(LEASH_HAS_SQLITE)

#include "store_contract.hpp"
#include "store_kinds.hpp"
#include "raw_sqlite.hpp"

#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace test_store_sqlite {
using namespace leash_test::store_contract;
using leash::SqliteStore;
namespace fs = std::filesystem;

static_assert(leash::Store<SqliteStore>);

/// A store on a new database in a directory of its own; the directory goes
/// when the last copy of the AnyStore does (the store closes first).
inline leash::AnyStore fresh_sqlite_store() {
  struct Owned {
    leash_test::TempDir dir{"leash-sqlite"};  // declared first: destroyed last
    std::shared_ptr<SqliteStore> store;
  };
  auto owned = std::make_shared<Owned>();
  auto opened = SqliteStore::open(owned->dir / "runs.db");
  BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened.has_error() ? opened.error().what() : std::string()));
  owned->store = std::move(opened).value();
  return leash::AnyStore(std::shared_ptr<leash::StoreInterface>(owned, owned->store.get()));
}

inline std::shared_ptr<SqliteStore> open_store(fs::path const& path, leash::SqliteOptions options = {}) {
  auto opened = SqliteStore::open(path, options);
  BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened.has_error() ? opened.error().what() : std::string()));
  return std::move(opened).value();
}

using leash_test::RawDb;

template <class T>
leash::Error expect_error(leash::result<T> const& r, leash::Errc code) {
  BOOST_REQUIRE_MESSAGE(r.has_error(), "expected an error");
  BOOST_TEST_MESSAGE(r.error().what());
  BOOST_TEST((r.error() == code), "got " << r.error());
  return r.error();
}

bool mentions(leash::Error const& e, std::string const& part) { return e.message.find(part) != std::string::npos; }

/// A run with three iterations, a journaled call of iteration 3 and two events.
inline State populated_run(leash::AnyStore& store, std::string id) {
  State s = new_run(id, "goal of " + id);
  grow(s, 3);
  s.pinned_facts = {"the build uses CMake"};
  s.metrics.cost_usd = 0.0123;
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  BOOST_REQUIRE(run_sync(store.journal(s.run_id, {journaled(3, 0, true), journaled(3, 1, false)})).has_value());
  std::vector<leash::Event> events = {{1.5, leash::event::loop_start, {{"goal", s.goal}}},
                                      {2.25, leash::event::iteration_start, {{"index", 0}, {"x", 0.1}}}};
  BOOST_REQUIRE(run_sync(store.append_events(s.run_id, events)).has_value());
  return s;
}

/// The SQL key of a run's row `position` (version 3: (run_key << 32) | position).
inline std::string row_key(std::string const& run_id, std::uint64_t position) {
  return "(((SELECT run_key FROM runs WHERE run_id = '" + run_id + "') << 32) | " + std::to_string(position) + ")";
}

inline bj::value without_in_flight(State s) {
  s.in_flight.clear();
  return bj::value_from(s);
}

}  // namespace test_store_sqlite

using namespace test_store_sqlite;

BOOST_AUTO_TEST_SUITE(store_sqlite)

LEASH_STORE_CONTRACT_TESTS(fresh_sqlite_store())

BOOST_AUTO_TEST_CASE(data_survives_closing_and_reopening) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  State s;
  bj::array events_before;
  {
    leash::AnyStore store(open_store(path));
    s = populated_run(store, "r1");
    events_before = run_sync(store.load_events("r1")).value();
  }
  // Closing the last connection checkpoints the log into the file.
  BOOST_TEST(!fs::exists(path.string() + "-wal"));

  leash::AnyStore reopened(open_store(path));
  State back = load(reopened, "r1");
  BOOST_TEST((without_in_flight(back) == without_in_flight(s)));
  BOOST_REQUIRE(back.in_flight.size() == 2u);
  BOOST_TEST((bj::value_from(back.in_flight[0]) == bj::value_from(journaled(3, 0, true))));
  BOOST_TEST((bj::value_from(back.in_flight[1]) == bj::value_from(journaled(3, 1, false))));
  auto events = run_sync(reopened.load_events("r1"));
  BOOST_REQUIRE(events.has_value());
  BOOST_TEST(events.value().size() == 2u);
  BOOST_TEST((events.value() == events_before));
  BOOST_TEST(events.value()[1].as_object().at("x").as_double() == 0.1);
  auto runs = run_sync(reopened.list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_REQUIRE(runs.value().size() == 1u);
  BOOST_TEST(runs.value()[0].iterations == 3u);

  // And it goes on appending where it left off.
  grow(s, 4);
  BOOST_REQUIRE(run_sync(reopened.append_iteration(s)).has_value());
  State more = load(reopened, "r1");
  BOOST_TEST(more.iterations.size() == 4u);
  BOOST_TEST(more.in_flight.empty());  // iteration 3 is recorded: its journal is retired
}

BOOST_AUTO_TEST_CASE(two_runs_in_one_database_are_independent) {
  leash::AnyStore store = fresh_sqlite_store();
  State a = populated_run(store, "a");
  State b = populated_run(store, "b");

  grow(a, 5);  // records a's iteration 3: a's journal goes, b's stays
  a.status = leash::Status::success;
  BOOST_REQUIRE(run_sync(store.append_iteration(a)).has_value());
  BOOST_REQUIRE(run_sync(store.append_events("a", {{3.0, leash::event::loop_end, {}}})).has_value());

  State la = load(store, "a");
  State lb = load(store, "b");
  BOOST_TEST(la.iterations.size() == 5u);
  BOOST_TEST(la.in_flight.empty());
  BOOST_TEST((la.status == leash::Status::success));
  BOOST_TEST(lb.iterations.size() == 3u);
  BOOST_TEST(lb.in_flight.size() == 2u);
  BOOST_TEST(!lb.status.has_value());
  BOOST_TEST(lb.goal == "goal of b");
  BOOST_TEST(run_sync(store.load_events("a")).value().size() == 3u);
  BOOST_TEST(run_sync(store.load_events("b")).value().size() == 2u);
}

BOOST_AUTO_TEST_CASE(database_is_in_wal_mode_with_the_current_schema) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  auto store = open_store(path);
  RawDb raw(path);
  BOOST_TEST(raw.text("PRAGMA journal_mode") == "wal");
  BOOST_TEST(raw.text("PRAGMA user_version") == std::to_string(leash::sqlite_schema_version));
  for (char const* table : {"runs", "iterations", "artifacts", "failed_approaches", "action_journal", "events"})
    BOOST_TEST(raw.text(std::string("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = '") + table +
                        "'") == table);
  // Opening again applies nothing twice.
  auto again = SqliteStore::open(path, {.full_sync = true});
  BOOST_REQUIRE_MESSAGE(again.has_value(), (again.has_error() ? again.error().what() : std::string()));
}

// An older build with the file open inserts runs its own way (no run_key):
// refused, so no run is left that no build can read.
BOOST_AUTO_TEST_CASE(a_run_inserted_without_a_key_by_an_older_build_is_refused) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  auto store = open_store(path);
  RawDb raw(path);
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.string().c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db,
                        "INSERT INTO runs (run_id, goal, status, reason, created_at, updated_at, iterations, "
                        "artifacts, failed_approaches, head, head_sha256) "
                        "VALUES ('old', 'g', NULL, '', 1, 1, 0, 0, 0, '{}', 'x')",
                        nullptr, nullptr, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  BOOST_TEST(rc != SQLITE_OK);
  BOOST_TEST(message.find("newer leash") != std::string::npos, message);
  BOOST_TEST(raw.count("runs") == 0);
}

BOOST_AUTO_TEST_CASE(tampered_rows_are_state_corrupt_naming_file_run_and_row) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  leash::AnyStore store(open_store(path));
  populated_run(store, "r1");
  BOOST_REQUIRE(load(store, "r1").iterations.size() == 3u);

  struct Tamper {
    std::string table, column, edit, where, row;
    bool events;  ///< detected by load_events rather than load
  };
  Tamper const cases[] = {
      {"iterations", "record", "replace(record, 'obs 1', 'obs X')", "key = " + row_key("r1", 1), "iterations row 1",
       false},
      {"artifacts", "record", "replace(record, 'summary 2', 'summary X')", "key = " + row_key("r1", 2),
       "artifacts row 2", false},
      {"failed_approaches", "text", "'something else'", "key = " + row_key("r1", 0), "failed_approaches row 0", false},
      {"runs", "head", "replace(head, 'goal of r1', 'another goal')", "run_id = 'r1'", "runs row (head)", false},
      {"action_journal", "record", "replace(record, 'fixed', 'broken')",
       "run_key = (SELECT run_key FROM runs WHERE run_id = 'r1') AND position = 0", "action_journal row", false},
      {"events", "body", "replace(body, 'goal of r1', 'other')", "key = " + row_key("r1", 0), "events row 0", true},
      // The batch's digest covers each event's time and kind too.
      {"events", "body", "replace(body, 'loop.start', 'loop.end')", "key = " + row_key("r1", 0), "events row 0",
       true},
  };
  for (auto const& t : cases) {
    BOOST_TEST_CONTEXT(t.table) {
      RawDb raw(path);
      std::string const where = " WHERE " + t.where;
      std::string original = raw.text("SELECT quote(" + t.column + ") FROM " + t.table + where);
      raw.exec("UPDATE " + t.table + " SET " + t.column + " = " + t.edit + where);
      BOOST_REQUIRE(raw.text("SELECT changes()") == "1");
      leash::Error e = t.events ? expect_error(run_sync(store.load_events("r1")), leash::Errc::state_corrupt)
                                : expect_error(run_sync(store.load("r1")), leash::Errc::state_corrupt);
      BOOST_TEST(mentions(e, path.string()));
      BOOST_TEST(mentions(e, "'r1'"));
      BOOST_TEST(mentions(e, t.row));
      BOOST_TEST(mentions(e, "integrity check failed"));
      // Put it back: the next case starts from a sound run.
      raw.exec("UPDATE " + t.table + " SET " + t.column + " = " + original + where);
      BOOST_REQUIRE(run_sync(store.load("r1")).has_value());
      BOOST_REQUIRE(run_sync(store.load_events("r1")).has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_or_malformed_rows_are_state_corrupt) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  leash::AnyStore store(open_store(path));
  populated_run(store, "r1");
  {
    RawDb raw(path);
    raw.exec("DELETE FROM iterations WHERE key = " + row_key("r1", 1));
  }
  auto e = expect_error(run_sync(store.load("r1")), leash::Errc::state_corrupt);
  BOOST_TEST(mentions(e, "iterations row 1"));
  BOOST_TEST(mentions(e, "missing"));

  // Valid hash, wrong shape: the record is not an IterationRecord.
  populated_run(store, "r2");
  {
    RawDb raw(path);
    std::string bad = R"({"index":"zero"})";
    raw.exec("UPDATE iterations SET record = '" + bad + "', sha256 = '" + leash::sha256_hex(bad) +
             "' WHERE key = " + row_key("r2", 0));
  }
  e = expect_error(run_sync(store.load("r2")), leash::Errc::state_corrupt);
  BOOST_TEST(mentions(e, "iterations row 0"));
  BOOST_TEST(mentions(e, path.string()));
}

BOOST_AUTO_TEST_CASE(numbers_json_cannot_hold_are_refused_before_writing) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  leash::AnyStore store(open_store(path));
  State s = new_run("r1");
  grow(s, 1);
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());

  grow(s, 2);
  s.iterations[1].metric = leash::MetricSnapshot{std::numeric_limits<double>::quiet_NaN(), false, {}};
  auto e = expect_error(run_sync(store.append_iteration(s)), leash::Errc::store_failed);
  BOOST_TEST(mentions(e, "iterations record 1"));
  BOOST_TEST(mentions(e, "metric.value"));
  s.metrics.cost_usd = std::numeric_limits<double>::infinity();
  s.iterations[1].metric.reset();
  e = expect_error(run_sync(store.save_head(s)), leash::Errc::store_failed);
  BOOST_TEST(mentions(e, "head"));
  BOOST_TEST(mentions(e, "metrics.cost_usd"));
  e = expect_error(run_sync(store.append_events("r1", {{1.0, leash::event::llm_call,
                                                        {{"cost", std::numeric_limits<double>::infinity()}}}})),
                   leash::Errc::store_failed);
  BOOST_TEST(mentions(e, "cost"));

  // Nothing was written, and the run still loads and grows.
  RawDb raw(path);
  BOOST_TEST(raw.count("iterations") == 1);
  BOOST_TEST(raw.count("events") == 0);
  s.metrics.cost_usd = 0.5;
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  BOOST_TEST(load(store, "r1").iterations.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_database_is_state_corrupt) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "notes.db";
  {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 200; ++i) f << "these are my notes, not a database\n";
  }
  auto before = fs::file_size(path);
  auto opened = SqliteStore::open(path);
  auto e = expect_error(opened, leash::Errc::state_corrupt);
  BOOST_TEST(mentions(e, path.string()));
  BOOST_TEST(fs::file_size(path) == before);  // left as it was
}

BOOST_AUTO_TEST_CASE(a_newer_database_or_state_is_state_version_unsupported) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  {
    leash::AnyStore store(open_store(path));
    populated_run(store, "r1");
    RawDb raw(path);
    // A run written by a newer leash: its head says so (with a valid hash).
    std::string head = raw.text("SELECT head FROM runs WHERE run_id = 'r1'");
    std::string const current = "\"schema_version\":" + std::to_string(leash::state_schema_version);
    auto pos = head.find(current);
    BOOST_REQUIRE(pos != std::string::npos);
    head.replace(pos, current.size(), "\"schema_version\":" + std::to_string(leash::state_schema_version + 1));
    raw.exec("UPDATE runs SET head = '" + head + "', head_sha256 = '" + leash::sha256_hex(head) +
             "' WHERE run_id = 'r1'");
    auto e = expect_error(run_sync(store.load("r1")), leash::Errc::state_version_unsupported);
    BOOST_TEST(mentions(e, path.string()));
    BOOST_TEST(mentions(e, "'r1'"));
  }
  {
    RawDb raw(path);
    raw.exec("PRAGMA user_version = " + std::to_string(leash::sqlite_schema_version + 1));
  }
  auto e = expect_error(SqliteStore::open(path), leash::Errc::state_version_unsupported);
  BOOST_TEST(mentions(e, path.string()));
  RawDb raw(path);
  BOOST_TEST(raw.text("PRAGMA user_version") == std::to_string(leash::sqlite_schema_version + 1));
}

BOOST_AUTO_TEST_CASE(a_truncated_database_is_an_error_not_a_crash) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  {
    leash::AnyStore store(open_store(path));
    State s = new_run("r1");
    grow(s, 300);  // enough rows for many pages
    BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  }
  BOOST_REQUIRE(!fs::exists(path.string() + "-wal"));
  auto size = fs::file_size(path);
  BOOST_REQUIRE(size > 16 * 4096);
  fs::resize_file(path, size / 2);

  auto opened = SqliteStore::open(path);
  if (opened.has_error()) {
    BOOST_TEST_MESSAGE("open: " << opened.error().what());
    BOOST_TEST(mentions(opened.error(), path.string()));
    return;
  }
  leash::AnyStore store(std::move(opened).value());
  auto loaded = run_sync(store.load("r1"));
  BOOST_REQUIRE_MESSAGE(loaded.has_error(), "half the file is gone, yet the run loaded");
  BOOST_TEST_MESSAGE("load: " << loaded.error().what());
  BOOST_TEST(((loaded.error() == leash::Errc::state_corrupt) || (loaded.error() == leash::Errc::store_failed)));
  BOOST_TEST(mentions(loaded.error(), path.string()));
}

BOOST_AUTO_TEST_CASE(unusable_path_is_store_failed_naming_it) {
  leash_test::TempDir dir("leash-sqlite");
  auto blocker = dir / "a-file";
  std::ofstream(blocker) << "x";
  auto path = blocker / "runs.db";  // a directory that cannot exist
  auto e = expect_error(SqliteStore::open(path), leash::Errc::store_failed);
  BOOST_TEST(mentions(e, path.string()));
}

BOOST_AUTO_TEST_CASE(a_second_handle_on_the_file_sees_committed_data) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  leash::AnyStore first(open_store(path));
  leash::AnyStore second(open_store(path));  // as the `leash` CLI would, from another process

  State s = populated_run(first, "r1");
  BOOST_TEST(load(second, "r1").iterations.size() == 3u);
  BOOST_TEST(run_sync(second.load_events("r1")).value().size() == 2u);

  // The second handle records two more iterations; the first, holding the same
  // State, appends only what is past what the database has.
  grow(s, 5);
  BOOST_REQUIRE(run_sync(second.append_iteration(s)).has_value());
  grow(s, 6);
  BOOST_REQUIRE(run_sync(first.append_iteration(s)).has_value());
  State back = load(second, "r1");
  BOOST_TEST(back.iterations.size() == 6u);
  for (std::size_t i = 0; i < back.iterations.size(); ++i) BOOST_TEST(back.iterations[i].index == i);
  RawDb raw(path);
  BOOST_TEST(raw.count("iterations") == 6);

  // A decision recorded by the other handle is what the first one loads.
  s.status = leash::Status::awaiting_approval;
  leash::PendingApproval p;
  p.token_sha256 = leash::sha256_hex("token");
  p.tool = "fix";
  s.pending_approval = p;
  BOOST_REQUIRE(run_sync(first.save_head(s)).has_value());
  State other = load(second, "r1");
  BOOST_REQUIRE(other.pending_approval.has_value());
  other.pending_approval->decision = leash::RecordedDecision{true, "ok", 12.5};
  BOOST_REQUIRE(run_sync(second.save_head(other)).has_value());
  State seen = load(first, "r1");
  BOOST_REQUIRE(seen.pending_approval && seen.pending_approval->decision);
  BOOST_TEST(seen.pending_approval->decision->note == "ok");
  BOOST_TEST(raw.text("SELECT status FROM runs WHERE run_id = 'r1'") == "AWAITING_APPROVAL");
}

BOOST_AUTO_TEST_CASE(two_thousand_iterations_leave_exact_row_counts) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  leash::AnyStore store(open_store(path));
  State s = new_run("long");
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  constexpr std::size_t n = 2000;
  for (std::size_t i = 0; i < n; ++i) {
    BOOST_REQUIRE(run_sync(store.journal("long", {journaled(i, 0, false)})).has_value());
    grow(s, i + 1);
    BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
    std::vector<leash::Event> batch = {{double(i), leash::event::iteration_start, {{"index", i}}},
                                       {double(i), leash::event::iteration_end, {{"index", i}}}};
    BOOST_REQUIRE(run_sync(store.append_events("long", std::move(batch))).has_value());
  }
  RawDb raw(path);
  BOOST_TEST(raw.count("iterations") == 2000);
  BOOST_TEST(raw.count("artifacts") == 2000);
  BOOST_TEST(raw.count("failed_approaches") == 2000);
  // Rows of recorded iterations are left to the next journal write (load skips them).
  BOOST_TEST(raw.text("SELECT COUNT(*) FROM action_journal WHERE iteration >= 2000") == "0");
  BOOST_TEST(raw.count("action_journal") <= 1);
  BOOST_TEST(raw.count("events") == 2000);  // a row per batch
  BOOST_TEST(raw.text("SELECT SUM(size) FROM events") == "4000");
  BOOST_TEST(raw.text("SELECT iterations FROM runs WHERE run_id = 'long'") == "2000");
  State back = load(store, "long");
  BOOST_REQUIRE(back.iterations.size() == n);
  BOOST_TEST(back.iterations[1999].observation == "obs 1999");
  BOOST_TEST(back.state_version == n);
  auto events = run_sync(store.load_events("long"));
  BOOST_REQUIRE(events.has_value());
  BOOST_REQUIRE(events.value().size() == 2 * n);
  BOOST_TEST(events.value()[3999].as_object().at("index").to_number<std::uint64_t>() == 1999u);
}

/// A file in the layout of `version` (1 or 2) holding run "old": two
/// iterations, artifacts and failed approaches, a journaled call of iteration
/// 2 and two events, written row by row as that version wrote them;
/// `tamper_iteration` stores iteration 1 with a digest that does not match.
inline State write_old_file(fs::path const& path, int version, bool tamper_iteration = false) {
  State s = new_run("old", "an old goal");
  grow(s, 2);
  s.in_flight = {journaled(2, 0, false)};
  bj::object head = bj::value_from(s).as_object();
  for (char const* k : {"iterations", "artifacts", "failed_approaches", "in_flight"}) head.erase(k);
  if (version == 1) {
    head.erase("info");
    head["schema_version"] = 1;
  }
  auto quoted = [](std::string const& text) {
    std::string q = "'";
    for (char c : text) q += c == '\'' ? std::string("''") : std::string(1, c);
    return q + "'";
  };
  auto row = [&](std::string const& text) { return quoted(text) + ", '" + leash::sha256_hex(text) + "'"; };
  std::string sql;
  for (int v = 1; v <= version; ++v) sql += leash::detail::sqlite_store::migrations[v - 1].sql;
  sql += "PRAGMA user_version = " + std::to_string(version) + ";";
  sql += "INSERT INTO runs (run_id, goal, status, reason, created_at, updated_at, iterations, artifacts, "
         "failed_approaches, head, head_sha256) VALUES ('old', 'an old goal', NULL, '', 1700000000, 1700000060, 2, "
         "2, 2, " + row(bj::serialize(head)) + ");";
  for (std::size_t i = 0; i < 2; ++i) {
    std::string record = bj::serialize(bj::value_from(s.iterations[i]));
    std::string digest_of = tamper_iteration && i == 1 ? record + " " : record;
    sql += "INSERT INTO iterations VALUES ('old', " + std::to_string(i) + ", " + quoted(record) + ", '" +
           leash::sha256_hex(digest_of) + "');";
    sql += "INSERT INTO artifacts VALUES ('old', " + std::to_string(i) + ", " +
           row(bj::serialize(bj::value_from(s.artifacts[i]))) + ");";
    sql += "INSERT INTO failed_approaches VALUES ('old', " + std::to_string(i) + ", " + row(s.failed_approaches[i]) +
           ");";
  }
  sql += "INSERT INTO action_journal VALUES ('old', 2, 0, " + row(bj::serialize(bj::value_from(s.in_flight[0]))) +
         ");";
  sql += "INSERT INTO events VALUES ('old', 0, 1.5, 'loop.start', " + row(R"({"goal":"an old goal"})") + ");";
  sql += "INSERT INTO events VALUES ('old', 1, 2.25, 'iteration.start', " + row(R"({"index":0,"x":0.1})") + ");";
  RawDb(path, nullptr, true).exec(sql);
  return s;
}

BOOST_AUTO_TEST_CASE(version_1_and_2_files_are_migrated_keeping_every_record) {
  for (int version : {1, 2}) {
    BOOST_TEST_CONTEXT("version " << version) {
      leash_test::TempDir dir("leash-sqlite");
      auto path = dir / "runs.db";
      State s = write_old_file(path, version);
      leash::AnyStore store(open_store(path));
      {
        RawDb raw(path);
        BOOST_TEST(raw.text("PRAGMA user_version") == std::to_string(leash::sqlite_schema_version));
        BOOST_TEST(raw.text("SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE '%_v3'") == "0");
      }
      State back = load(store, "old");
      BOOST_TEST(back.iterations.size() == 2u);
      BOOST_TEST(back.artifacts.size() == 2u);
      BOOST_TEST(back.failed_approaches.size() == 2u);
      BOOST_TEST(back.goal == "an old goal");
      BOOST_REQUIRE(back.in_flight.size() == 1u);
      BOOST_TEST(back.in_flight[0].iteration == 2u);
      BOOST_TEST((bj::value_from(back.iterations) == bj::value_from(s.iterations)));
      BOOST_TEST((bj::value_from(back.artifacts) == bj::value_from(s.artifacts)));
      auto events = run_sync(store.load_events("old"));
      BOOST_REQUIRE(events.has_value());
      BOOST_TEST(bj::serialize(events.value()) ==
                 R"([{"ts":1.5E0,"kind":"loop.start","goal":"an old goal"},)"
                 R"({"ts":2.25E0,"kind":"iteration.start","index":0,"x":1E-1}])");

      // The run goes on in the new layout: iteration 2, its events after the old ones.
      grow(back, 3);
      BOOST_REQUIRE(run_sync(store.append_iteration_with_events(
                                 back, {{3.5, leash::event::iteration_end, {{"index", 2}}}}))
                        .has_value());
      State again = load(store, "old");
      BOOST_TEST(again.iterations.size() == 3u);
      BOOST_TEST(again.in_flight.empty());
      events = run_sync(store.load_events("old"));
      BOOST_REQUIRE(events.has_value());
      BOOST_REQUIRE(events.value().size() == 3u);
      BOOST_TEST(events.value()[2].as_object().at("kind").as_string() == "iteration.end");
      BOOST_TEST(events.value()[2].as_object().at("ts").as_double() == 3.5);
      // And new runs get keys of their own.
      State fresh = new_run("fresh");
      grow(fresh, 1);
      BOOST_REQUIRE(run_sync(store.create_run(fresh)).has_value());
      BOOST_TEST(load(store, "fresh").iterations.size() == 1u);
      BOOST_TEST(load(store, "old").iterations.size() == 3u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_row_tampered_before_the_migration_is_still_caught) {
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  write_old_file(path, 2, /*tamper_iteration=*/true);
  leash::AnyStore store(open_store(path));
  auto e = expect_error(run_sync(store.load("old")), leash::Errc::state_corrupt);
  BOOST_TEST(mentions(e, "iterations row 1"));
  BOOST_TEST(mentions(e, "integrity check failed"));
}

BOOST_AUTO_TEST_CASE(an_append_rewrites_only_the_rows_it_must) {
  // The hot path's footprint: the run's own row and one page per table it
  // appends to; no index of runs and no runs_text entry is rewritten.
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  auto sqlite = open_store(path);
  leash::AnyStore store(sqlite);
  State s = new_run("r1", "the goal");
  s.info.agent = "coder";
  s.info.started_at = 1700000000;
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  grow(s, 1);
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  RawDb raw(path);
  BOOST_TEST(raw.text("SELECT agent FROM runs WHERE run_id = 'r1'") == "coder");
  BOOST_TEST(raw.text("SELECT started_at FROM runs WHERE run_id = 'r1'") == "1700000000.0");
  // A changed goal, agent or result still reaches the columns and the text index.
  s.goal = "another goal";
  s.info.agent = "reviewer";
  s.info.result = "done";
  grow(s, 2);
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  BOOST_TEST(raw.text("SELECT goal || '/' || agent || '/' || result FROM runs WHERE run_id = 'r1'") ==
             "another goal/reviewer/done");
  BOOST_TEST(raw.text("SELECT COUNT(*) FROM runs_text WHERE runs_text MATCH 'reviewer'") == "1");
  BOOST_TEST(raw.text("SELECT COUNT(*) FROM runs_text WHERE runs_text MATCH 'coder'") == "0");
}

BOOST_AUTO_TEST_CASE(a_store_write_is_one_write_to_the_log) {
  // The store's connection uses detail/sqlite_wal_vfs.hpp: the pages of a
  // commit reach the log in one system call.
  leash_test::TempDir dir("leash-sqlite");
  auto path = dir / "runs.db";
  leash::AnyStore store(open_store(path));
  State s = new_run("r1", "the goal");
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  auto wal_size = [&] { return static_cast<long long>(fs::file_size(fs::path(path.string() + "-wal"))); };
  long long size_before = wal_size();
  std::uint64_t before = leash::detail::sqlite::wal_vfs::log_writes().load();
  for (std::size_t n = 1; n <= 10; ++n) {
    grow(s, n);
    BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  }
  RawDb raw(path);
  long long frames = (wal_size() - size_before) / (24 + std::stoll(raw.text("PRAGMA page_size")));
  BOOST_TEST(frames >= 20);  // two pages or more per append (no checkpoint this early)...
  BOOST_TEST(leash::detail::sqlite::wal_vfs::log_writes().load() - before == 10u);  // ...one write each
  BOOST_TEST(load(store, "r1").iterations.size() == 10u);
}

BOOST_AUTO_TEST_CASE(many_threads_share_one_store) {
  leash::AnyStore store = fresh_sqlite_store();
  constexpr int threads = 4, runs_per_thread = 10, iterations = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      for (int r = 0; r < runs_per_thread; ++r) {
        State s = new_run("t" + std::to_string(t) + "-" + std::to_string(r));
        if (!run_sync(store.create_run(s)).has_value()) ++failures;
        for (int i = 1; i <= iterations; ++i) {
          grow(s, i);
          if (!run_sync(store.append_iteration(s)).has_value()) ++failures;
          if (!run_sync(store.append_events(s.run_id, {{1.0, leash::event::iteration_end, {}}})).has_value())
            ++failures;
        }
      }
    });
  for (auto& w : workers) w.join();
  BOOST_TEST(failures.load() == 0);
  auto runs = run_sync(store.list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_TEST(runs.value().size() == std::size_t(threads * runs_per_thread));
  for (auto const& r : runs.value()) {
    BOOST_TEST(r.iterations == std::uint64_t(iterations));
    BOOST_TEST(run_sync(store.load_events(r.run_id)).value().size() == std::size_t(iterations));
  }
}

BOOST_AUTO_TEST_SUITE_END()

#else

BOOST_AUTO_TEST_SUITE(store_sqlite)
BOOST_AUTO_TEST_CASE(sqlite_not_available) { BOOST_TEST_MESSAGE("SQLite3 was not found: nothing to test"); }
BOOST_AUTO_TEST_SUITE_END()

#endif
