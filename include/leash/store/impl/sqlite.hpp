#ifndef LEASH_STORE_IMPL_SQLITE_HPP
#define LEASH_STORE_IMPL_SQLITE_HPP

#include <boost/describe/members.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/mp11/algorithm.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <limits>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace leash {

namespace detail::sqlite_store {

/// One step of the layout; applied in order, each in the opening transaction,
/// to files whose user_version is lower. Never edit a step once released: add
/// the next one (docs/store-sqlite.md lists them).
struct Migration {
  int version;
  char const* sql;
};

inline constexpr Migration migrations[] = {
    {1, R"sql(
CREATE TABLE runs (
  run_id            TEXT PRIMARY KEY NOT NULL,
  goal              TEXT NOT NULL,
  status            TEXT,
  reason            TEXT NOT NULL,
  created_at        REAL NOT NULL,
  updated_at        REAL NOT NULL,
  iterations        INTEGER NOT NULL,
  artifacts         INTEGER NOT NULL,
  failed_approaches INTEGER NOT NULL,
  head              TEXT NOT NULL,
  head_sha256       TEXT NOT NULL
);
CREATE INDEX runs_by_created_at ON runs (created_at);
CREATE TABLE iterations (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  idx    INTEGER NOT NULL,
  record TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (run_id, idx)
);
CREATE TABLE artifacts (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  record TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE failed_approaches (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  text   TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE TABLE action_journal (
  run_id    TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  iteration INTEGER NOT NULL,
  position  INTEGER NOT NULL,
  record    TEXT NOT NULL,
  sha256    TEXT NOT NULL,
  PRIMARY KEY (run_id, iteration, position)
) WITHOUT ROWID;
CREATE TABLE events (
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  ts     REAL NOT NULL,
  kind   TEXT NOT NULL,
  fields TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);
)sql"},
    // 2: what learning reads (RunInfo, outcome, tokens, cost) as columns, so
    // runs are listed and filtered without reading their heads, and FTS5 over
    // goal, result and agent. runs_text keeps its own copy of the text keyed
    // by runs.text_rowid (a stored column: runs' own rowids may change on
    // VACUUM, which would break an external-content index).
    {2, R"sql(
ALTER TABLE runs ADD COLUMN agent TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN engine TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN outcome TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE runs ADD COLUMN result TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN started_at REAL NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN ended_at REAL NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN feedback REAL;
ALTER TABLE runs ADD COLUMN feedback_source TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN feedback_at REAL NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN llm_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN elapsed_s REAL NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN cost_usd REAL;
ALTER TABLE runs ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN text_rowid INTEGER;
UPDATE runs SET started_at = created_at,
  outcome = CASE WHEN status IS NULL OR status = 'AWAITING_APPROVAL' THEN 'unknown'
                 WHEN status = 'SUCCESS' THEN 'success' ELSE 'failure' END,
  ended_at = CASE WHEN status IS NULL OR status = 'AWAITING_APPROVAL' THEN 0 ELSE updated_at END,
  text_rowid = rowid;
CREATE INDEX runs_by_started_at ON runs (started_at);
CREATE INDEX runs_by_agent ON runs (agent, started_at);
CREATE INDEX runs_by_model ON runs (model, started_at);
CREATE VIRTUAL TABLE runs_text USING fts5(goal, result, agent);
INSERT INTO runs_text (rowid, goal, result, agent) SELECT text_rowid, goal, result, agent FROM runs;
CREATE TRIGGER runs_text_insert AFTER INSERT ON runs BEGIN
  INSERT INTO runs_text (goal, result, agent) VALUES (new.goal, new.result, new.agent);
  UPDATE runs SET text_rowid = last_insert_rowid() WHERE run_id = new.run_id;
END;
CREATE TRIGGER runs_text_update AFTER UPDATE OF goal, result, agent ON runs
  WHEN old.goal IS NOT new.goal OR old.result IS NOT new.result OR old.agent IS NOT new.agent BEGIN
  UPDATE runs_text SET goal = new.goal, result = new.result, agent = new.agent WHERE rowid = new.text_rowid;
END;
CREATE TRIGGER runs_text_delete AFTER DELETE ON runs BEGIN
  DELETE FROM runs_text WHERE rowid = old.text_rowid;
END;
)sql"},
    // 3: the per-iteration tables keyed by one integer, so an append touches
    // one b-tree per table (no separate key index) and rows of a run sit
    // together in key order: key = (runs.run_key << 32) | position, where
    // run_key is a small integer given to each run. Rows are copied with
    // their text and digest unchanged. Events are stored a batch per row
    // (size = how many; ts and kind are set only on rows copied from version
    // 2, which hold one event's fields). The journal is keyed by run_key.
    {3, R"sql(
ALTER TABLE runs ADD COLUMN run_key INTEGER;
UPDATE runs SET run_key = rowid;
CREATE UNIQUE INDEX runs_by_key ON runs (run_key);
-- An older leash with the file open would insert runs without a key (its
-- statements are re-prepared against this schema); refuse, so no run is
-- left that no build can read.
CREATE TRIGGER runs_need_key BEFORE INSERT ON runs WHEN new.run_key IS NULL BEGIN
  SELECT RAISE(ABORT, 'this database has schema 3: open it with a newer leash');
END;
CREATE TABLE iterations_v3 (key INTEGER PRIMARY KEY, record TEXT NOT NULL, sha256 TEXT NOT NULL);
INSERT INTO iterations_v3 (key, record, sha256)
  SELECT (r.run_key << 32) | t.idx, t.record, t.sha256 FROM iterations t JOIN runs r ON r.run_id = t.run_id;
DROP TABLE iterations;
ALTER TABLE iterations_v3 RENAME TO iterations;
CREATE TABLE artifacts_v3 (key INTEGER PRIMARY KEY, record TEXT NOT NULL, sha256 TEXT NOT NULL);
INSERT INTO artifacts_v3 (key, record, sha256)
  SELECT (r.run_key << 32) | t.seq, t.record, t.sha256 FROM artifacts t JOIN runs r ON r.run_id = t.run_id;
DROP TABLE artifacts;
ALTER TABLE artifacts_v3 RENAME TO artifacts;
CREATE TABLE failed_approaches_v3 (key INTEGER PRIMARY KEY, text TEXT NOT NULL, sha256 TEXT NOT NULL);
INSERT INTO failed_approaches_v3 (key, text, sha256)
  SELECT (r.run_key << 32) | t.seq, t.text, t.sha256 FROM failed_approaches t JOIN runs r ON r.run_id = t.run_id;
DROP TABLE failed_approaches;
ALTER TABLE failed_approaches_v3 RENAME TO failed_approaches;
CREATE TABLE events_v3 (key INTEGER PRIMARY KEY, size INTEGER NOT NULL, ts REAL, kind TEXT, body TEXT NOT NULL,
                        sha256 TEXT NOT NULL);
INSERT INTO events_v3 (key, size, ts, kind, body, sha256)
  SELECT (r.run_key << 32) | t.seq, 1, t.ts, t.kind, t.fields, t.sha256 FROM events t JOIN runs r ON r.run_id = t.run_id;
DROP TABLE events;
ALTER TABLE events_v3 RENAME TO events;
CREATE TABLE action_journal_v3 (
  run_key   INTEGER NOT NULL,
  iteration INTEGER NOT NULL,
  position  INTEGER NOT NULL,
  record    TEXT NOT NULL,
  sha256    TEXT NOT NULL,
  PRIMARY KEY (run_key, iteration, position)
) WITHOUT ROWID;
INSERT INTO action_journal_v3 (run_key, iteration, position, record, sha256)
  SELECT r.run_key, t.iteration, t.position, t.record, t.sha256 FROM action_journal t JOIN runs r ON r.run_id = t.run_id;
DROP TABLE action_journal;
ALTER TABLE action_journal_v3 RENAME TO action_journal;
CREATE TRIGGER runs_delete_records AFTER DELETE ON runs BEGIN
  DELETE FROM iterations WHERE key >= old.run_key << 32 AND key < (old.run_key + 1) << 32;
  DELETE FROM artifacts WHERE key >= old.run_key << 32 AND key < (old.run_key + 1) << 32;
  DELETE FROM failed_approaches WHERE key >= old.run_key << 32 AND key < (old.run_key + 1) << 32;
  DELETE FROM events WHERE key >= old.run_key << 32 AND key < (old.run_key + 1) << 32;
  DELETE FROM action_journal WHERE run_key = old.run_key;
END;
)sql"},
};

inline constexpr int latest = migrations[std::size(migrations) - 1].version;
static_assert(latest == sqlite_schema_version, "add a migration when sqlite_schema_version grows");

/// Rows of a run are keyed (run_key << 32) | position: a run has up to 2^32
/// rows per table, and there are up to 2^31 - 1 runs.
inline constexpr std::uint64_t max_position = std::uint64_t{1} << 32;
inline constexpr std::int64_t max_run_key = (std::int64_t{1} << 31) - 2;  // first_key(max + 1) fits in 63 bits
inline std::int64_t row_key(std::int64_t run_key, std::uint64_t position) noexcept {
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(run_key) << 32) | position);
}
/// The run's keys are [first_key(k), first_key(k + 1)).
inline std::int64_t first_key(std::int64_t run_key) noexcept { return row_key(run_key, 0); }
inline std::uint64_t position_of(std::int64_t key) noexcept {
  return static_cast<std::uint64_t>(key) & (max_position - 1);
}

/// State members that live in rows of their own, not in the head.
inline bool is_history(std::string_view member) noexcept {
  return member == "iterations" || member == "artifacts" || member == "failed_approaches" ||
         member == "in_flight";
}

}  // namespace detail::sqlite_store

namespace detail::sqlite_store {

/// Where in `v` a NaN or an infinity sits (".metric.value"; "" at the top),
/// if anywhere. Boost.JSON writes them as tokens no JSON parser accepts, so a
/// record holding one would make its run unreadable.
inline std::optional<std::string> non_finite_path(json::object const& o);
inline std::optional<std::string> non_finite_path(json::value const& v) {
  switch (v.kind()) {
    case json::kind::double_:
      if (std::isfinite(v.get_double())) return std::nullopt;
      return std::string();
    case json::kind::object:
      return non_finite_path(v.get_object());
    case json::kind::array: {
      auto const& items = v.get_array();
      for (std::size_t i = 0; i < items.size(); ++i)
        if (auto inner = non_finite_path(items[i])) return "[" + std::to_string(i) + "]" + *inner;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}
inline std::optional<std::string> non_finite_path(json::object const& o) {
  for (auto const& kv : o)
    if (auto inner = non_finite_path(kv.value())) return "." + std::string(kv.key()) + *inner;
  return std::nullopt;
}

/// `tree` (a json::value or json::object) as JSON text, refused with
/// store_failed if it holds a number JSON cannot represent; `what()` names the
/// record, built only then.
template <class Tree, class What>
result<std::string> finite_text(Tree const& tree, What&& what) {
  std::string text = json::serialize(tree);
  // Such numbers serialise as NaN / Infinity: only then walk the tree (the
  // words may just as well be inside strings).
  if (text.find("NaN") == std::string::npos && text.find("Infinity") == std::string::npos) return text;
  auto path = non_finite_path(tree);
  if (!path) return text;
  return Error{Errc::store_failed, what() + " holds a NaN or infinite number at " +
                                       (path->empty() ? std::string("its top") : path->substr(1)) +
                                       ", which JSON cannot represent; nothing was written"};
}

/// A described record as checked JSON text. The value tree is built in a
/// stack arena, so a record costs one string allocation rather than one per key.
template <class T, class What>
result<std::string> record_text(T const& record, What&& what) {
  std::array<unsigned char, 4096> buffer;
  json::monotonic_resource arena(buffer.data(), buffer.size());
  return finite_text(json::value_from(record, json::storage_ptr(&arena)), what);
}

}  // namespace detail::sqlite_store

// ---------------------------------------------------------------------------
// Opening

inline SqliteStore::SqliteStore(std::filesystem::path path, SqliteOptions options)
    : path_(std::move(path)), path_text_(path_.string()), options_(options) {}

inline result<std::shared_ptr<SqliteStore>> SqliteStore::open(std::filesystem::path path, SqliteOptions options) {
  try {
    std::shared_ptr<SqliteStore> store(new SqliteStore(std::move(path), options));
    std::lock_guard lock(store->mutex_);
    BOOST_OUTCOME_TRY(store->connect());
    BOOST_OUTCOME_TRY(store->migrate());
    BOOST_OUTCOME_TRY(store->prepare_statements());
    return store;
  } catch (std::exception const& e) {
    return Error{Errc::store_failed, "cannot open SQLite store: " + std::string(e.what())};
  } catch (...) {
    return Error{Errc::store_failed, "cannot open SQLite store: unknown exception"};
  }
}

inline result<void> SqliteStore::connect() {
  if (path_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec)
      return Error{Errc::store_failed,
                   "SQLite store '" + path_text_ + "': cannot create its directory: " + ec.message()};
  }
  // Each commit reaches the log in one write (detail/sqlite_wal_vfs.hpp).
  int rc = db_.open(path_text_, detail::sqlite::wal_batching_vfs());
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot open");
  rc = sqlite3_busy_timeout(db_.get(), static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(
                                           options_.busy_timeout.count(), 0, 1 << 30)));
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot set the busy timeout");
  return success();
}

inline result<void> SqliteStore::migrate() {
  auto read_version = [&]() -> result<int> {
    detail::sqlite::Statement st;
    int rc = st.prepare(db_, "PRAGMA user_version");
    if (rc == SQLITE_OK) rc = st.step();
    if (rc != SQLITE_ROW) return sqlite_error(rc, "cannot read the schema version");
    return static_cast<int>(st.int64(0));
  };
  auto too_new = [&](int version) {
    return Error{Errc::state_version_unsupported,
                 "SQLite store '" + path_text_ + "' has schema version " + std::to_string(version) +
                     "; this build of leash reads up to " + std::to_string(sqlite_schema_version)};
  };

  // The version first: the file is read (a non-database fails here) and a newer
  // file is left exactly as it was.
  BOOST_OUTCOME_TRY(int version, read_version());
  if (version > sqlite_schema_version) return too_new(version);

  // WAL: readers never block the writer and a commit is one append to the log.
  int rc = db_.exec("PRAGMA journal_mode=WAL");
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot switch to WAL mode");
  rc = db_.exec(options_.full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot set synchronous");
  rc = db_.exec("PRAGMA foreign_keys=ON");
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot enable foreign keys");
  if (version == sqlite_schema_version) return success();

  detail::sqlite::Transaction tx(db_);
  rc = tx.begin_write();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin the migration");
  // Another process may have migrated the file while this one waited for the lock.
  BOOST_OUTCOME_TRY(version, read_version());
  if (version > sqlite_schema_version) return too_new(version);
  for (auto const& m : detail::sqlite_store::migrations) {
    if (m.version <= version) continue;
    rc = db_.exec(m.sql);
    if (rc != SQLITE_OK) return sqlite_error(rc, "cannot apply migration " + std::to_string(m.version));
    rc = db_.exec(("PRAGMA user_version=" + std::to_string(m.version)).c_str());
    if (rc != SQLITE_OK) return sqlite_error(rc, "cannot record migration " + std::to_string(m.version));
  }
  rc = tx.commit();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot commit the migration");
  return success();
}

inline result<void> SqliteStore::prepare_statements() {
  auto& s = statements_;
  std::pair<detail::sqlite::Statement*, char const*> const all[] = {
      {&s.run_counts,
       "SELECT iterations, artifacts, failed_approaches, run_key, goal, agent, model, result, started_at FROM runs "
       "WHERE run_id = ?1"},
      {&s.insert_run,
       "INSERT INTO runs (run_id, goal, status, reason, created_at, updated_at, iterations, artifacts, "
       "failed_approaches, head, head_sha256, agent, model, engine, outcome, result, started_at, ended_at, "
       "feedback, feedback_source, feedback_at, input_tokens, output_tokens, llm_calls, elapsed_s, cost_usd, "
       "metadata, run_key) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
       "CASE WHEN ?16 > 0 THEN ?16 ELSE ?5 END, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, "
       "(SELECT COALESCE(MAX(run_key), 0) + 1 FROM runs))"},
      // Every write: the columns no index and no trigger reads, so the update
      // rewrites the row and nothing else (?2, ?11, ?12, ?15, ?16: update_run_keys).
      {&s.update_run,
       "UPDATE runs SET status = ?3, reason = ?4, updated_at = ?5, iterations = ?6, artifacts = ?7, "
       "failed_approaches = ?8, head = ?9, head_sha256 = ?10, engine = ?13, outcome = ?14, ended_at = ?17, "
       "feedback = ?18, feedback_source = ?19, feedback_at = ?20, input_tokens = ?21, output_tokens = ?22, "
       "llm_calls = ?23, elapsed_s = ?24, cost_usd = ?25, metadata = ?26 WHERE run_id = ?1"},
      // Only when one of them changed: they are in indexes and runs_text.
      {&s.update_run_keys,
       "UPDATE runs SET goal = ?2, agent = ?11, model = ?12, result = ?15, "
       "started_at = CASE WHEN ?16 > 0 THEN ?16 ELSE started_at END WHERE run_id = ?1"},
      {&s.insert_iteration, "INSERT INTO iterations (key, record, sha256) VALUES (?1, ?2, ?3)"},
      {&s.insert_artifact, "INSERT INTO artifacts (key, record, sha256) VALUES (?1, ?2, ?3)"},
      {&s.insert_failed_approach, "INSERT INTO failed_approaches (key, text, sha256) VALUES (?1, ?2, ?3)"},
      {&s.retire_journal, "DELETE FROM action_journal WHERE run_key = ?1 AND iteration < ?2"},
      {&s.upsert_journal,
       "INSERT INTO action_journal (run_key, iteration, position, record, sha256) VALUES (?1, ?2, ?3, ?4, ?5) "
       "ON CONFLICT (run_key, iteration, position) DO UPDATE SET record = excluded.record, sha256 = excluded.sha256"},
      {&s.select_head,
       "SELECT head, head_sha256, iterations, artifacts, failed_approaches, run_key FROM runs WHERE run_id = ?1"},
      {&s.select_iterations, "SELECT key, record, sha256 FROM iterations WHERE key >= ?1 AND key < ?2 ORDER BY key"},
      {&s.select_artifacts, "SELECT key, record, sha256 FROM artifacts WHERE key >= ?1 AND key < ?2 ORDER BY key"},
      {&s.select_failed_approaches,
       "SELECT key, text, sha256 FROM failed_approaches WHERE key >= ?1 AND key < ?2 ORDER BY key"},
      {&s.select_journal,
       "SELECT iteration, position, record, sha256 FROM action_journal WHERE run_key = ?1 AND iteration >= ?2 "
       "ORDER BY iteration, position"},
      {&s.next_event_seq,
       "SELECT key, size FROM events WHERE key >= ?1 AND key < ?2 ORDER BY key DESC LIMIT 1"},
      {&s.insert_event, "INSERT INTO events (key, size, body, sha256) VALUES (?1, ?2, ?3, ?4)"},
      {&s.select_events,
       "SELECT key, size, ts, kind, body, sha256 FROM events WHERE key >= ?1 AND key < ?2 ORDER BY key"},
      {&s.select_runs,
       "SELECT run_id, goal, status, reason, iterations, created_at, updated_at FROM runs "
       "ORDER BY created_at DESC, rowid DESC"},
  };
  for (auto const& [statement, sql] : all) {
    int rc = statement->prepare(db_, sql);
    if (rc == SQLITE_OK) continue;
    // The file claims the current layout, yet a table or column is missing.
    if (detail::sqlite::primary(rc) == SQLITE_ERROR)
      return Error{Errc::state_corrupt, "SQLite store '" + path_text_ +
                                            "' does not have the tables its schema version promises: " +
                                            db_.message()};
    return sqlite_error(rc, "cannot prepare a statement");
  }
  return success();
}

// ---------------------------------------------------------------------------
// Errors

inline Error SqliteStore::sqlite_error(int rc, std::string_view doing) const {
  std::string why = db_.get() ? db_.message() : std::string(sqlite3_errstr(rc));
  if (detail::sqlite::is_corruption(rc))
    return Error{Errc::state_corrupt,
                 "SQLite store '" + path_text_ + "' is not a sound database (" + std::string(doing) + "): " + why};
  return Error{Errc::store_failed, "SQLite store '" + path_text_ + "': " + std::string(doing) + ": " + why};
}

inline Error SqliteStore::corrupt(std::string const& run_id, std::string_view where, std::string_view why) const {
  return Error{Errc::state_corrupt, "SQLite store '" + path_text_ + "', run '" + run_id + "', " + std::string(where) +
                                        ": " + std::string(why)};
}

inline Error SqliteStore::missing(std::string const& run_id) const {
  return Error{Errc::run_not_found, "no run '" + run_id + "' in SQLite store '" + path_text_ + "'"};
}

namespace detail::sqlite_store {

/// Runs `body` under the store's lock and turns any exception into an Error,
/// so no member of SqliteStore lets one escape.
template <class Body>
auto guarded(std::mutex& mutex, std::string const& path, Body&& body) noexcept -> decltype(body()) {
  try {
    std::lock_guard lock(mutex);
    return body();
  } catch (std::exception const& e) {
    return Error{Errc::store_failed, "SQLite store '" + path + "': " + e.what()};
  } catch (...) {
    return Error{Errc::store_failed, "SQLite store '" + path + "': unknown exception"};
  }
}

}  // namespace detail::sqlite_store

// ---------------------------------------------------------------------------
// The awaitable members: the work is synchronous (see the class comment).

inline auto SqliteStore::create_run(State const& s) -> task<void> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_create_run(s); });
}

inline auto SqliteStore::append_iteration(State const& s) -> task<void> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_,
                                          [&] { return do_append<std::vector<Event>>(s, nullptr, false); });
}

inline auto SqliteStore::save_head(State const& s) -> task<void> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_,
                                          [&] { return do_append<std::vector<Event>>(s, nullptr, true); });
}

inline auto SqliteStore::journal(std::string run_id, std::vector<JournaledAction> entries) -> task<void> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_journal(run_id, entries); });
}

inline auto SqliteStore::load(std::string run_id) -> task<State> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_load(run_id); });
}

inline auto SqliteStore::append_iteration_with_events(State const& s, std::vector<Event> events) -> task<void> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_append(s, &events, false); });
}

inline auto SqliteStore::append_events(std::string run_id, std::vector<Event> events) -> task<void> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_append_events(run_id, events); });
}

// The Tracer's shared events are serialised where they are: no copy.
inline auto SqliteStore::append_iteration_with_shared_events(State const& s, std::vector<SharedEvent> events)
    -> task<void> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_append(s, &events, false); });
}

inline auto SqliteStore::append_shared_events(std::string run_id, std::vector<SharedEvent> events) -> task<void> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_append_events(run_id, events); });
}

inline auto SqliteStore::load_events(std::string run_id) -> task<json::array> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_load_events(run_id); });
}

inline auto SqliteStore::list_runs() -> task<std::vector<RunSummary>> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_list_runs(); });
}

inline auto SqliteStore::scan_runs(RunQuery query, std::function<bool(State&&)> visit) -> task<void> {
  constexpr std::uint64_t page_size = 256;
  std::uint64_t remaining = query.limit.value_or(std::numeric_limits<std::uint64_t>::max());
  std::optional<ScanCursor> cursor;
  while (remaining > 0) {
    std::uint64_t want = std::min(remaining, page_size);
    std::vector<State> page;
    auto read = detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_scan_page(query, cursor, want, page); });
    if (read.has_error()) co_return read.error();
    for (auto& s : page)
      if (!visit(std::move(s))) co_return success();
    if (page.size() < want) break;
    remaining -= page.size();
  }
  co_return success();
}

inline auto SqliteStore::count_runs(RunQuery query) -> task<std::uint64_t> {
  co_return detail::sqlite_store::guarded(mutex_, path_text_, [&] { return do_count_runs(query); });
}

// ---------------------------------------------------------------------------
// Writing

inline result<std::optional<SqliteStore::StoredCounts>> SqliteStore::stored_counts(std::string const& run_id,
                                                                                     State const* compare) {
  detail::sqlite::Use q(statements_.run_counts);
  q->bind(1, run_id);
  int rc = q->step();
  if (rc == SQLITE_DONE) return std::optional<StoredCounts>();
  if (rc != SQLITE_ROW) return sqlite_error(rc, "cannot read run '" + run_id + "'");
  StoredCounts c{static_cast<std::uint64_t>(q->int64(0)), static_cast<std::uint64_t>(q->int64(1)),
                 static_cast<std::uint64_t>(q->int64(2)), q->int64(3)};
  if (!q->is_null(3) && c.run_key == detail::sqlite_store::max_run_key + 1)
    return Error{Errc::store_failed, "SQLite store '" + path_text_ + "' holds the most runs it can key"};
  if (q->is_null(3) || c.run_key <= 0 || c.run_key > detail::sqlite_store::max_run_key)
    return corrupt(run_id, "runs row", "no valid run_key");
  if (compare)
    c.keys_changed = q->text(4) != compare->goal || q->text(5) != compare->info.agent ||
                     q->text(6) != compare->info.model || q->text(7) != compare->info.result ||
                     (compare->info.started_at > 0 && q->real(8) != compare->info.started_at);
  return std::optional<StoredCounts>(c);
}

inline result<void> SqliteStore::write_head(State const& s, StoredCounts const& counts, bool insert, double now) {
  if (!insert && counts.keys_changed) {
    // Rare (the goal, agent, model, result or start changed): these columns
    // are in indexes and runs_text, so they are set only when they differ.
    detail::sqlite::Use q(statements_.update_run_keys);
    q->bind(1, s.run_id);
    q->bind(2, s.goal);
    q->bind(11, s.info.agent);
    q->bind(12, s.info.model);
    q->bind(15, s.info.result);
    q->bind(16, s.info.started_at);
    int rc = q->step();
    if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot write the head of run '" + s.run_id + "'");
  }
  // The head is every State member except the histories, which have rows of
  // their own; built member by member so the histories are never copied.
  std::array<unsigned char, 4096> buffer;
  json::monotonic_resource arena(buffer.data(), buffer.size());
  json::object head{json::storage_ptr(&arena)};
  boost::mp11::mp_for_each<boost::describe::describe_members<State, boost::describe::mod_public>>([&](auto member) {
    if (detail::sqlite_store::is_history(member.name)) return;
    head.emplace(member.name, json::value_from(s.*member.pointer, head.storage()));
  });
  BOOST_OUTCOME_TRY(std::string text,
                    detail::sqlite_store::finite_text(head, [&] { return "the head of run '" + s.run_id + "'"; }));
  std::string sha = sha256_hex(text);

  detail::sqlite::Use q(insert ? statements_.insert_run : statements_.update_run);
  q->bind(1, s.run_id);
  q->bind(2, s.goal);
  if (s.status)
    q->bind(3, to_string(*s.status));
  else
    q->bind_null(3);
  q->bind(4, s.reason);
  q->bind(5, now);
  q->bind(6, counts.iterations);
  q->bind(7, counts.artifacts);
  q->bind(8, counts.failed_approaches);
  q->bind(9, text);
  q->bind(10, sha);
  // What learning filters and lists by, as columns (they repeat the head).
  std::string metadata = json::serialize(s.info.metadata);
  q->bind(11, s.info.agent);
  q->bind(12, s.info.model);
  q->bind(13, s.info.engine);
  q->bind(14, to_string(outcome_of(s.status)));
  q->bind(15, s.info.result);
  q->bind(16, s.info.started_at);
  q->bind(17, s.info.ended_at);
  if (s.info.feedback)
    q->bind(18, *s.info.feedback);
  else
    q->bind_null(18);
  q->bind(19, s.info.feedback_source);
  q->bind(20, s.info.feedback_at);
  q->bind(21, s.metrics.input_tokens);
  q->bind(22, s.metrics.output_tokens);
  q->bind(23, s.metrics.llm_calls);
  q->bind(24, s.metrics.elapsed_s);
  if (s.metrics.cost_usd)
    q->bind(25, *s.metrics.cost_usd);
  else
    q->bind_null(25);
  q->bind(26, metadata);
  int rc = q->step();
  if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot write the head of run '" + s.run_id + "'");
  return success();
}

inline result<void> SqliteStore::write_records(State const& s, StoredCounts const& from) {
  // One helper for the three histories: rows [first, size) of `records`.
  auto append = [&](detail::sqlite::Statement& insert, auto const& records, std::uint64_t first,
                    std::string_view table) -> result<void> {
    for (std::uint64_t i = first; i < records.size(); ++i) {
      std::string json_text;
      std::string_view text;
      if constexpr (std::is_same_v<std::decay_t<decltype(records[i])>, std::string>) {
        text = records[i];  // failed approaches are stored as they are
      } else {
        BOOST_OUTCOME_TRY(json_text, detail::sqlite_store::record_text(records[i], [&] {
                            return std::string(table) + " record " + std::to_string(i) + " of run '" + s.run_id + "'";
                          }));
        text = json_text;
      }
      if (i >= detail::sqlite_store::max_position)
        return Error{Errc::store_failed, std::string(table) + " of run '" + s.run_id + "' would pass " +
                                             std::to_string(detail::sqlite_store::max_position) + " rows"};
      std::string sha = sha256_hex(text);
      detail::sqlite::Use q(insert);
      q->bind(1, detail::sqlite_store::row_key(from.run_key, i));
      q->bind(2, text);
      q->bind(3, sha);
      int rc = q->step();
      if (rc != SQLITE_DONE)
        return sqlite_error(rc, "cannot append to " + std::string(table) + " of run '" + s.run_id + "'");
    }
    return success();
  };
  BOOST_OUTCOME_TRY(append(statements_.insert_iteration, s.iterations, from.iterations, "iterations"));
  BOOST_OUTCOME_TRY(append(statements_.insert_artifact, s.artifacts, from.artifacts, "artifacts"));
  BOOST_OUTCOME_TRY(
      append(statements_.insert_failed_approach, s.failed_approaches, from.failed_approaches, "failed_approaches"));
  return success();
}

inline result<void> SqliteStore::do_create_run(State const& s) {
  detail::sqlite::Transaction tx(db_);
  int rc = tx.begin_write();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a transaction");
  BOOST_OUTCOME_TRY(auto existing, stored_counts(s.run_id));
  if (existing)
    return Error{Errc::store_failed, "run '" + s.run_id + "' already exists in SQLite store '" + path_text_ + "'"};
  StoredCounts counts{s.iterations.size(), s.artifacts.size(), s.failed_approaches.size()};
  // The run's row first: it gives the run its key.
  BOOST_OUTCOME_TRY(write_head(s, counts, /*insert=*/true, Tracer::now()));
  BOOST_OUTCOME_TRY(auto created, stored_counts(s.run_id));
  if (!created) return missing(s.run_id);
  if (created->run_key > detail::sqlite_store::max_run_key)
    return Error{Errc::store_failed, "SQLite store '" + path_text_ + "' holds the most runs it can key"};
  BOOST_OUTCOME_TRY(write_records(s, StoredCounts{0, 0, 0, created->run_key}));
  rc = tx.commit();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot commit run '" + s.run_id + "'");
  return success();
}

template <class Events>
inline result<void> SqliteStore::do_append(State const& s, Events const* events, bool retire) {
  detail::sqlite::Transaction tx(db_);
  int rc = tx.begin_write();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a transaction");
  // The row's counts, read inside the write transaction, say where the new
  // records start, even when another connection wrote to this run.
  BOOST_OUTCOME_TRY(auto stored, stored_counts(s.run_id, &s));
  if (!stored) return missing(s.run_id);
  BOOST_OUTCOME_TRY(write_records(s, *stored));
  StoredCounts counts{std::max<std::uint64_t>(stored->iterations, s.iterations.size()),
                      std::max<std::uint64_t>(stored->artifacts, s.artifacts.size()),
                      std::max<std::uint64_t>(stored->failed_approaches, s.failed_approaches.size()),
                      stored->run_key, stored->keys_changed};
  BOOST_OUTCOME_TRY(write_head(s, counts, /*insert=*/false, Tracer::now()));
  if (retire) {
    // Journal rows of recorded iterations are dead (load skips them); the
    // hot path leaves them to the next journal write, which deletes them in
    // the page it writes anyway instead of dirtying one more page here.
    detail::sqlite::Use q(statements_.retire_journal);
    q->bind(1, stored->run_key);
    q->bind(2, static_cast<std::uint64_t>(counts.iterations));
    rc = q->step();
    if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot retire the journal of run '" + s.run_id + "'");
  }
  if (events && !events->empty()) {
    BOOST_OUTCOME_TRY(write_events(s.run_id, stored->run_key, *events));
  }
  rc = tx.commit();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot commit run '" + s.run_id + "'");
  return success();
}

inline result<void> SqliteStore::do_journal(std::string const& run_id, std::vector<JournaledAction> const& entries) {
  detail::sqlite::Transaction tx(db_);
  int rc = tx.begin_write();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a transaction");
  BOOST_OUTCOME_TRY(auto stored, stored_counts(run_id));
  if (!stored) return missing(run_id);
  {
    // Rows of iterations already recorded: the journal's only page is written anyway.
    detail::sqlite::Use q(statements_.retire_journal);
    q->bind(1, stored->run_key);
    q->bind(2, stored->iterations);
    rc = q->step();
    if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot retire the journal of run '" + run_id + "'");
  }
  for (auto const& entry : entries) {
    BOOST_OUTCOME_TRY(std::string text, detail::sqlite_store::record_text(entry, [&] {
                        return "journal entry (iteration " + std::to_string(entry.iteration) + ", position " +
                               std::to_string(entry.position) + ") of run '" + run_id + "'";
                      }));
    std::string sha = sha256_hex(text);
    detail::sqlite::Use q(statements_.upsert_journal);
    q->bind(1, stored->run_key);
    q->bind(2, entry.iteration);
    q->bind(3, entry.position);
    q->bind(4, text);
    q->bind(5, sha);
    rc = q->step();
    if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot journal an action of run '" + run_id + "'");
  }
  rc = tx.commit();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot commit the journal of run '" + run_id + "'");
  return success();
}

template <class Events>
inline result<void> SqliteStore::do_append_events(std::string const& run_id, Events const& events) {
  detail::sqlite::Transaction tx(db_);
  int rc = tx.begin_write();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a transaction");
  BOOST_OUTCOME_TRY(auto stored, stored_counts(run_id));
  if (!stored) return missing(run_id);
  BOOST_OUTCOME_TRY(write_events(run_id, stored->run_key, events));
  rc = tx.commit();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot commit the events of run '" + run_id + "'");
  return success();
}

namespace detail::sqlite_store {
inline Event const& event_of(Event const& e) noexcept { return e; }
inline Event const& event_of(SharedEvent const& e) noexcept { return *e; }
}  // namespace detail::sqlite_store

template <class Events>
inline result<void> SqliteStore::write_events(std::string const& run_id, std::int64_t run_key, Events const& events) {
  if (events.empty()) return success();
  std::uint64_t seq = 0;
  {
    // The run's last row: one step down the key, however many events the run has.
    detail::sqlite::Use q(statements_.next_event_seq);
    q->bind(1, detail::sqlite_store::first_key(run_key));
    q->bind(2, detail::sqlite_store::first_key(run_key + 1));
    int rc = q->step();
    if (rc == SQLITE_ROW)
      seq = detail::sqlite_store::position_of(q->int64(0)) + static_cast<std::uint64_t>(q->int64(1));
    else if (rc != SQLITE_DONE)
      return sqlite_error(rc, "cannot number the events of run '" + run_id + "'");
  }
  if (seq + events.size() >= detail::sqlite_store::max_position)
    return Error{Errc::store_failed, "the events of run '" + run_id + "' would pass " +
                                         std::to_string(detail::sqlite_store::max_position)};
  // The batch is one row: [[ts, "kind", {fields}], ...], one digest over it all.
  std::string body;
  body.reserve(256 * events.size());
  body += '[';
  for (auto const& item : events) {
    Event const& e = detail::sqlite_store::event_of(item);
    auto what = [&] { return "event " + std::string(e.kind) + " of run '" + run_id + "'"; };
    if (!std::isfinite(e.ts))
      return Error{Errc::store_failed, what() + " has a time that is not a finite number; nothing was written"};
    BOOST_OUTCOME_TRY(std::string fields, detail::sqlite_store::finite_text(e.fields, what));
    if (body.size() > 1) body += ',';
    body += '[';
    body += json::serialize(json::value(e.ts));
    body += ',';
    body += json::serialize(json::string_view(e.kind));
    body += ',';
    body += fields;
    body += ']';
  }
  body += ']';
  std::string sha = sha256_hex(body);
  detail::sqlite::Use q(statements_.insert_event);
  q->bind(1, detail::sqlite_store::row_key(run_key, seq));
  q->bind(2, static_cast<std::uint64_t>(events.size()));
  q->bind(3, body);
  q->bind(4, sha);
  int rc = q->step();
  if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot append events to run '" + run_id + "'");
  return success();
}

// ---------------------------------------------------------------------------
// Reading

inline result<json::value> SqliteStore::verified(std::string_view text, std::string_view sha256,
                                                 std::string const& run_id, std::string_view where) {
  if (sha256_hex(text) != sha256) return corrupt(run_id, where, "integrity check failed (SHA-256 mismatch)");
  boost::system::error_code ec;
  json::value v = parser_.parse(text, ec);
  if (ec) return corrupt(run_id, where, "not valid JSON (" + ec.message() + ")");
  return v;
}

inline result<State> SqliteStore::do_load(std::string const& run_id) {
  // One read transaction: a consistent snapshot even while another process writes.
  detail::sqlite::Transaction tx(db_);
  int rc = tx.begin_read();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a read transaction");

  State state;
  StoredCounts counts;
  std::int64_t run_key = 0;
  {
    detail::sqlite::Use q(statements_.select_head);
    q->bind(1, run_id);
    rc = q->step();
    if (rc == SQLITE_DONE) return missing(run_id);
    if (rc != SQLITE_ROW) return sqlite_error(rc, "cannot read run '" + run_id + "'");
    counts = {static_cast<std::uint64_t>(q->int64(2)), static_cast<std::uint64_t>(q->int64(3)),
              static_cast<std::uint64_t>(q->int64(4))};
    run_key = q->int64(5);
    if (q->is_null(5) || run_key <= 0 || run_key > detail::sqlite_store::max_run_key)
      return corrupt(run_id, "runs row", "no valid run_key");
    BOOST_OUTCOME_TRY(json::value head, verified(q->text(0), q->text(1), run_id, "runs row (head)"));
    auto* obj = head.if_object();
    if (!obj) return corrupt(run_id, "runs row (head)", "not a JSON object");
    // Checked before conversion: a newer layout may not convert at all.
    auto const* version = obj->if_contains("schema_version");
    if (!version || !version->is_int64()) return corrupt(run_id, "runs row (head)", "no schema_version");
    if (!detail::upgrade_state_json(*obj))
      return Error{Errc::state_version_unsupported,
                   "SQLite store '" + path_text_ + "', run '" + run_id + "' has state schema version " +
                       std::to_string(version->get_int64()) + "; this build of leash reads versions 1 to " +
                       std::to_string(state_schema_version)};
    for (char const* history : {"iterations", "artifacts", "failed_approaches", "in_flight"})
      if (!obj->contains(history)) obj->emplace(history, json::array());
    auto converted = json::try_value_to<State>(head);
    if (!converted) return corrupt(run_id, "runs row (head)", "not a State (" + converted.error().message() + ")");
    state = std::move(*converted);
    if (state.run_id != run_id) return corrupt(run_id, "runs row (head)", "the head names run '" + state.run_id + "'");
  }

  // Rows keyed 0..count-1, each verified and converted; `where` names the row.
  auto read_history = [&](detail::sqlite::Statement& select, std::uint64_t count, std::string_view table,
                          auto& out, auto&& convert) -> result<void> {
    out.reserve(count);
    detail::sqlite::Use q(select);
    q->bind(1, detail::sqlite_store::first_key(run_key));
    q->bind(2, detail::sqlite_store::first_key(run_key + 1));
    std::uint64_t expected = 0;
    while ((rc = q->step()) == SQLITE_ROW) {
      auto key = detail::sqlite_store::position_of(q->int64(0));
      std::string where = std::string(table) + " row " + std::to_string(key);
      if (key != expected)
        return corrupt(run_id, std::string(table) + " row " + std::to_string(expected), "missing");
      if (key >= count)
        return corrupt(run_id, where, "past the " + std::to_string(count) + " rows the run's head records");
      BOOST_OUTCOME_TRY(convert(q->text(1), q->text(2), where, out));
      ++expected;
    }
    if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot read " + std::string(table) + " of run '" + run_id + "'");
    if (expected != count) return corrupt(run_id, std::string(table) + " row " + std::to_string(expected), "missing");
    return success();
  };
  auto from_json = [&](std::string_view text, std::string_view sha, std::string const& where,
                       auto& out) -> result<void> {
    BOOST_OUTCOME_TRY(json::value v, verified(text, sha, run_id, where));
    using Record = typename std::decay_t<decltype(out)>::value_type;
    auto record = json::try_value_to<Record>(v);
    if (!record) return corrupt(run_id, where, "not a valid record (" + record.error().message() + ")");
    out.push_back(std::move(*record));
    return success();
  };
  auto as_text = [&](std::string_view text, std::string_view sha, std::string const& where,
                     std::vector<std::string>& out) -> result<void> {
    if (sha256_hex(text) != sha) return corrupt(run_id, where, "integrity check failed (SHA-256 mismatch)");
    out.emplace_back(text);
    return success();
  };
  BOOST_OUTCOME_TRY(read_history(statements_.select_iterations, counts.iterations, "iterations", state.iterations,
                                 from_json));
  BOOST_OUTCOME_TRY(read_history(statements_.select_artifacts, counts.artifacts, "artifacts", state.artifacts,
                                 from_json));
  BOOST_OUTCOME_TRY(read_history(statements_.select_failed_approaches, counts.failed_approaches,
                                 "failed_approaches", state.failed_approaches, as_text));

  {
    detail::sqlite::Use q(statements_.select_journal);
    q->bind(1, run_key);
    q->bind(2, counts.iterations);
    while ((rc = q->step()) == SQLITE_ROW) {
      std::string where = "action_journal row (iteration " + std::to_string(q->int64(0)) + ", position " +
                          std::to_string(q->int64(1)) + ")";
      BOOST_OUTCOME_TRY(from_json(q->text(2), q->text(3), where, state.in_flight));
    }
    if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot read the journal of run '" + run_id + "'");
  }
  tx.commit();  // a read transaction: nothing to lose if this fails
  return state;
}

inline result<json::array> SqliteStore::do_load_events(std::string const& run_id) {
  detail::sqlite::Transaction tx(db_);
  int rc = tx.begin_read();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a read transaction");
  BOOST_OUTCOME_TRY(auto stored, stored_counts(run_id));
  if (!stored) return missing(run_id);

  json::array out;
  detail::sqlite::Use q(statements_.select_events);
  q->bind(1, detail::sqlite_store::first_key(stored->run_key));
  q->bind(2, detail::sqlite_store::first_key(stored->run_key + 1));
  // Event::to_json's shape and key order: ts, kind, then the fields.
  auto add = [&](double ts, std::string_view kind, json::object& fields) {
    json::object e;
    e.reserve(fields.size() + 2);
    e["ts"] = ts;
    e["kind"] = kind;
    for (auto& kv : fields) e[kv.key()] = std::move(kv.value());
    out.push_back(std::move(e));
  };
  std::uint64_t expected = 0;  // rows number the run's events 0, 1, ... with none missing
  while ((rc = q->step()) == SQLITE_ROW) {
    std::uint64_t seq = detail::sqlite_store::position_of(q->int64(0));
    auto size = q->int64(1);
    std::string where = "events row " + std::to_string(seq);
    if (seq != expected) return corrupt(run_id, "events row " + std::to_string(expected), "missing");
    BOOST_OUTCOME_TRY(json::value body, verified(q->text(4), q->text(5), run_id, where));
    if (!q->is_null(3)) {
      // One event, as version 2 stored it: the fields here, ts and kind beside them.
      if (size != 1 || !body.is_object()) return corrupt(run_id, where, "fields are not a JSON object");
      add(q->real(2), q->text(3), body.get_object());
      ++expected;
      continue;
    }
    auto* batch = body.if_array();
    if (!batch || size < 1 || batch->size() != static_cast<std::uint64_t>(size))
      return corrupt(run_id, where, "not a batch of " + std::to_string(size) + " events");
    for (auto& item : *batch) {
      auto* e = item.if_array();
      if (!e || e->size() != 3 || !(*e)[0].is_number() || !(*e)[1].is_string() || !(*e)[2].is_object())
        return corrupt(run_id, where, "an event is not [ts, kind, fields]");
      auto const& kind = (*e)[1].get_string();
      add((*e)[0].to_number<double>(), std::string_view(kind.data(), kind.size()), (*e)[2].get_object());
    }
    expected += static_cast<std::uint64_t>(size);
  }
  if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot read the events of run '" + run_id + "'");
  tx.commit();
  return out;
}

namespace detail::sqlite_store {

/// The WHERE clause of a RunQuery; parameters ?1 agent, ?2 model, ?3 outcome,
/// ?4 since, ?5 until, ?6 the FTS5 query, ?10 the agent left out (bound by
/// bind_run_query; ?7 to ?9 are the scan's paging and limit).
inline std::string run_query_where(RunQuery const& q) {
  std::string where = " WHERE 1";
  if (!q.agent.empty()) where += " AND agent = ?1";
  if (!q.model.empty()) where += " AND model = ?2";
  if (!q.exclude_agent.empty()) where += " AND agent <> ?10";
  if (q.outcome) where += " AND outcome = ?3";
  if (q.since) where += " AND started_at >= ?4";
  if (q.until) where += " AND started_at <= ?5";
  if (!leash::detail::query_words(q.text).empty())
    where += " AND text_rowid IN (SELECT rowid FROM runs_text WHERE runs_text MATCH ?6)";
  return where;
}

/// Each word as a quoted FTS5 prefix term ("fix"* "test"*): all must match,
/// and nothing the user typed is read as FTS5 syntax.
inline std::string fts_query(std::string_view text) {
  std::string out;
  for (auto const& w : leash::detail::query_words(text)) {
    if (!out.empty()) out += ' ';
    out += '"' + w + "\"*";
  }
  return out;
}

inline void bind_run_query(sqlite::Statement& st, RunQuery const& q, std::string const& fts) {
  if (!q.agent.empty()) st.bind(1, q.agent);
  if (!q.model.empty()) st.bind(2, q.model);
  if (!q.exclude_agent.empty()) st.bind(10, q.exclude_agent);
  if (q.outcome) st.bind(3, to_string(*q.outcome));
  if (q.since) st.bind(4, *q.since);
  if (q.until) st.bind(5, *q.until);
  if (!fts.empty()) st.bind(6, fts);
}

}  // namespace detail::sqlite_store

inline result<void> SqliteStore::do_scan_page(RunQuery const& q, std::optional<ScanCursor>& cursor,
                                              std::uint64_t page, std::vector<State>& out) {
  std::string sql =
      "SELECT rowid, run_id, goal, status, reason, agent, model, engine, result, started_at, ended_at, feedback, "
      "feedback_source, feedback_at, input_tokens, output_tokens, llm_calls, elapsed_s, cost_usd, metadata, "
      "iterations, run_key FROM runs" +
      detail::sqlite_store::run_query_where(q);
  // Keyset paging: the next page starts after the last run seen, so a page
  // costs the same however deep the scan is.
  if (cursor) sql += " AND (started_at < ?7 OR (started_at = ?7 AND rowid < ?8))";
  sql += " ORDER BY started_at DESC, rowid DESC LIMIT ?9";
  detail::sqlite::Statement st;
  int rc = st.prepare(db_, sql);
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot prepare a run scan");
  std::string fts = detail::sqlite_store::fts_query(q.text);
  detail::sqlite_store::bind_run_query(st, q, fts);
  if (cursor) {
    st.bind(7, cursor->started_at);
    st.bind(8, cursor->rowid);
  }
  st.bind(9, page);

  detail::sqlite::Transaction tx(db_);
  rc = tx.begin_read();
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a read transaction");
  while ((rc = st.step()) == SQLITE_ROW) {
    State s;
    s.run_id = st.text(1);
    s.goal = st.text(2);
    if (!st.is_null(3)) {
      s.status = status_from_string(st.text(3));
      if (!s.status) return corrupt(s.run_id, "runs row", "unknown status '" + std::string(st.text(3)) + "'");
    }
    s.reason = st.text(4);
    s.info.agent = st.text(5);
    s.info.model = st.text(6);
    s.info.engine = st.text(7);
    s.info.result = st.text(8);
    s.info.started_at = st.real(9);
    s.info.ended_at = st.real(10);
    if (!st.is_null(11)) s.info.feedback = st.real(11);
    s.info.feedback_source = st.text(12);
    s.info.feedback_at = st.real(13);
    s.metrics.input_tokens = static_cast<std::uint64_t>(st.int64(14));
    s.metrics.output_tokens = static_cast<std::uint64_t>(st.int64(15));
    s.metrics.llm_calls = static_cast<std::uint64_t>(st.int64(16));
    s.metrics.elapsed_s = st.real(17);
    if (!st.is_null(18)) s.metrics.cost_usd = st.real(18);
    {
      boost::system::error_code ec;
      json::value metadata = parser_.parse(st.text(19), ec);
      if (ec || !metadata.is_object()) return corrupt(s.run_id, "runs row", "its metadata is not a JSON object");
      s.info.metadata = std::move(metadata).as_object();
    }
    auto iterations = static_cast<std::uint64_t>(st.int64(20));
    cursor = ScanCursor{s.info.started_at, st.int64(0)};
    if (q.with_iterations) {
      s.iterations.reserve(iterations);
      detail::sqlite::Use it(statements_.select_iterations);
      auto run_key = st.int64(21);
      it->bind(1, detail::sqlite_store::first_key(run_key));
      it->bind(2, detail::sqlite_store::first_key(run_key + 1));
      while ((rc = it->step()) == SQLITE_ROW) {
        auto idx = detail::sqlite_store::position_of(it->int64(0));
        std::string where = "iterations row " + std::to_string(idx);
        if (idx != s.iterations.size() || idx >= iterations) return corrupt(s.run_id, where, "out of sequence");
        BOOST_OUTCOME_TRY(json::value v, verified(it->text(1), it->text(2), s.run_id, where));
        auto record = json::try_value_to<IterationRecord>(v);
        if (!record) return corrupt(s.run_id, where, "not a valid record (" + record.error().message() + ")");
        s.iterations.push_back(std::move(*record));
      }
      if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot read iterations of run '" + s.run_id + "'");
      if (s.iterations.size() != iterations)
        return corrupt(s.run_id, "iterations row " + std::to_string(s.iterations.size()), "missing");
    }
    out.push_back(std::move(s));
  }
  if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot scan runs");
  tx.commit();
  return success();
}

inline result<std::uint64_t> SqliteStore::do_count_runs(RunQuery const& q) {
  std::string sql = "SELECT count(*) FROM (SELECT 1 FROM runs" + detail::sqlite_store::run_query_where(q) +
                    " LIMIT ?9)";
  detail::sqlite::Statement st;
  int rc = st.prepare(db_, sql);
  if (rc != SQLITE_OK) return sqlite_error(rc, "cannot prepare a run count");
  std::string fts = detail::sqlite_store::fts_query(q.text);
  detail::sqlite_store::bind_run_query(st, q, fts);
  st.bind(9, q.limit ? static_cast<std::int64_t>(std::min<std::uint64_t>(*q.limit, INT64_MAX)) : std::int64_t{-1});
  rc = st.step();
  if (rc != SQLITE_ROW) return sqlite_error(rc, "cannot count runs");
  return static_cast<std::uint64_t>(st.int64(0));
}

inline result<std::vector<RunSummary>> SqliteStore::do_list_runs() {
  std::vector<RunSummary> out;
  detail::sqlite::Use q(statements_.select_runs);
  int rc;
  while ((rc = q->step()) == SQLITE_ROW) {
    RunSummary r;
    r.run_id = q->text(0);
    r.goal = q->text(1);
    if (!q->is_null(2)) {
      r.status = status_from_string(q->text(2));
      if (!r.status) return corrupt(r.run_id, "runs row", "unknown status '" + std::string(q->text(2)) + "'");
    }
    r.reason = q->text(3);
    r.iterations = static_cast<std::uint64_t>(q->int64(4));
    r.created_at = q->real(5);
    r.updated_at = q->real(6);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot list runs");
  return out;
}

}  // namespace leash

#endif
