// leash/store/sqlite.hpp — runs kept in one SQLite database file: the embedded
// default store. Many runs per file; several processes may share the file.
//
// Every record is a row holding its JSON text and that text's SHA-256, so a
// run is written append-only (one row per new iteration, summary and failed
// approach, plus the small head row replaced) and read back verified. The
// schema, pragmas and integrity scheme are documented in docs/store-sqlite.md.
//
// Requires SQLite 3.24 or newer (UPSERT) and linking SQLite::SQLite3, which
// the leash CMake target does when find_package(SQLite3) succeeds (it then
// defines LEASH_HAS_SQLITE).
#ifndef LEASH_STORE_SQLITE_HPP
#define LEASH_STORE_SQLITE_HPP

#include <leash/store/store.hpp>
#include <leash/store/detail/exact_json.hpp>
#include <leash/store/detail/sqlite.hpp>
#include <leash/store/detail/sqlite_wal_vfs.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace leash {

/// How a SqliteStore opens its database.
struct SqliteOptions {
  /// false: `synchronous=NORMAL` — every committed transaction survives the
  /// process being killed (kill -9), and the last ones may be lost if the
  /// machine loses power. true: `synchronous=FULL` — each commit also waits
  /// for the disk, so it survives power loss too, at the cost of an fsync per
  /// write.
  bool full_sync = false;
  /// How long a write waits for another connection (another process, such as
  /// the `leash` CLI) to release the database before failing with
  /// Errc::store_failed ("database is locked").
  std::chrono::milliseconds busy_timeout{5000};
};

/// The newest database layout this build reads and writes (`PRAGMA user_version`).
inline constexpr int sqlite_schema_version = 3;

/// A Store over one SQLite database file (WAL mode). Thread-safe: one
/// connection behind a mutex, so many loops may share one store.
///
/// The awaitable members do their SQLite work synchronously, inside the
/// coroutine, before their first suspension: SQLite is local and a write is a
/// few tens of microseconds, so a thread hop would cost more than it saves.
/// The exception is a write that waits for another process's lock, which can
/// block the calling thread for up to SqliteOptions::busy_timeout.
///
/// Errors are values; no member throws. Errc::store_failed names the file and
/// SQLite's message; Errc::state_corrupt names the file, the run and the row
/// when a record fails its SHA-256 check ("integrity check failed") or the file
/// is not a sound database; Errc::state_version_unsupported when the database
/// or a run was written by a newer leash; Errc::run_not_found for unknown runs.
class SqliteStore final : public StoreInterface {
 public:
  /// Opens `path`, creating the database (and its parent directories) when it
  /// does not exist, setting the pragmas and applying, in one transaction, the
  /// migrations the file has not had yet.
  ///
  /// Fails with Errc::state_corrupt when the file is not a SQLite database,
  /// Errc::state_version_unsupported when its layout is newer than
  /// sqlite_schema_version, and Errc::store_failed when it cannot be opened or
  /// written; each message names the path.
  static result<std::shared_ptr<SqliteStore>> open(std::filesystem::path path, SqliteOptions options = {});

  ~SqliteStore() override = default;
  SqliteStore(SqliteStore const&) = delete;
  SqliteStore& operator=(SqliteStore const&) = delete;

  /// Inserts the run's row and every record it already has. A run id that
  /// exists is Errc::store_failed.
  task<void> create_run(State const& s) override;
  /// In one transaction: appends the iterations, summaries and failed
  /// approaches past the counts stored in the run's row, replaces the head, and
  /// deletes journal rows of iterations now recorded. Records already stored
  /// are never read or rewritten, so the cost does not grow with the run.
  task<void> append_iteration(State const& s) override;
  /// The same as append_iteration.
  task<void> save_head(State const& s) override;
  /// Upserts each entry by (iteration, position), in one transaction.
  task<void> journal(std::string run_id, std::vector<JournaledAction> entries) override;
  /// The full State, every record verified, with in_flight = journal rows of
  /// iterations not yet recorded, in order.
  task<State> load(std::string run_id) override;
  /// Appends the batch in one transaction, numbered after the run's last event.
  task<void> append_events(std::string run_id, std::vector<Event> events) override;
  /// The iteration and its events in one transaction (one commit per iteration).
  task<void> append_iteration_with_events(State const& s, std::vector<Event> events) override;
  /// The same, serialising the Tracer's shared events where they are (no copy).
  task<void> append_iteration_with_shared_events(State const& s, std::vector<SharedEvent> events) override;
  task<void> append_shared_events(std::string run_id, std::vector<SharedEvent> events) override;
  /// Every event of the run in order, each as Event::to_json() makes it.
  task<json::array> load_events(std::string run_id) override;
  /// One line per run, newest first (from the runs table; records are not read).
  task<std::vector<RunSummary>> list_runs() override;
  /// Filtered, ordered (by start, newest first) and limited in SQL, a page of
  /// 256 runs at a time: `visit` runs without the store's lock held, so it may
  /// call the store. The text filter is an FTS5 query. States hold the goal,
  /// status, reason, RunInfo and metrics' tokens, time and cost from the runs
  /// row (the head is not read), plus the verified iterations if asked for.
  task<void> scan_runs(RunQuery query, std::function<bool(State&&)> visit) override;
  /// One COUNT query.
  task<std::uint64_t> count_runs(RunQuery query) override;

  /// The database file.
  std::filesystem::path const& path() const noexcept { return path_; }

 private:
  /// Every statement the store runs, prepared once at open.
  struct Statements {
    detail::sqlite::Statement run_counts;     // (run_id) -> iterations, artifacts, failed_approaches, run_key, ...
    detail::sqlite::Statement insert_run;
    detail::sqlite::Statement update_run;       // the columns no index reads
    detail::sqlite::Statement update_run_keys;  // goal, agent, model, result, started_at
    detail::sqlite::Statement insert_iteration;
    detail::sqlite::Statement insert_artifact;
    detail::sqlite::Statement insert_failed_approach;
    detail::sqlite::Statement retire_journal;  // journal rows of recorded iterations
    detail::sqlite::Statement upsert_journal;
    detail::sqlite::Statement select_head;
    detail::sqlite::Statement select_iterations;
    detail::sqlite::Statement select_artifacts;
    detail::sqlite::Statement select_failed_approaches;
    detail::sqlite::Statement select_journal;
    detail::sqlite::Statement next_event_seq;
    detail::sqlite::Statement insert_event;
    detail::sqlite::Statement select_events;
    detail::sqlite::Statement select_runs;
  };
  /// How many records of each kind a run's row says are stored.
  struct StoredCounts {
    std::uint64_t iterations = 0;
    std::uint64_t artifacts = 0;
    std::uint64_t failed_approaches = 0;
    /// The run's integer key: its rows are keyed (run_key << 32) | position.
    std::int64_t run_key = 0;
    /// Whether goal, agent, model, result or started_at differ from the
    /// State's (only computed when stored_counts is given one).
    bool keys_changed = false;
  };

  SqliteStore(std::filesystem::path path, SqliteOptions options);

  result<void> connect();
  result<void> migrate();
  result<void> prepare_statements();

  // The synchronous bodies of the awaitable members; each runs under mutex_.
  result<void> do_create_run(State const& s);
  /// `retire`: also delete journal rows of recorded iterations (else the next
  /// journal write does, in the b-tree page it writes anyway).
  template <class Events>
  result<void> do_append(State const& s, Events const* events, bool retire);
  result<void> do_journal(std::string const& run_id, std::vector<JournaledAction> const& entries);
  result<State> do_load(std::string const& run_id);
  template <class Events>
  result<void> do_append_events(std::string const& run_id, Events const& events);
  /// Inserts `events` after the run's last one; inside the caller's transaction.
  /// `Events`: a vector of Event or of SharedEvent.
  template <class Events>
  result<void> write_events(std::string const& run_id, std::int64_t run_key, Events const& events);
  result<json::array> do_load_events(std::string const& run_id);
  result<std::vector<RunSummary>> do_list_runs();
  /// Where a scan stopped: the last run's start and rowid.
  struct ScanCursor {
    double started_at = 0.0;
    std::int64_t rowid = 0;
  };
  result<void> do_scan_page(RunQuery const& q, std::optional<ScanCursor>& cursor, std::uint64_t page,
                            std::vector<State>& out);
  result<std::uint64_t> do_count_runs(RunQuery const& q);

  /// Reads the run's stored counts; nullopt (not an error) when there is no such run.
  result<std::optional<StoredCounts>> stored_counts(std::string const& run_id, State const* compare = nullptr);
  /// Inserts s's records from `from` onwards and writes the run row's head.
  result<void> write_records(State const& s, StoredCounts const& from);
  result<void> write_head(State const& s, StoredCounts const& counts, bool insert, double now);

  /// `text` parsed and its SHA-256 checked against `sha256`; `where` names the row.
  result<json::value> verified(std::string_view text, std::string_view sha256, std::string const& run_id,
                               std::string_view where);

  /// An Error from SQLite result code `rc` while `doing` something: state_corrupt
  /// for a damaged file, store_failed otherwise; names the file.
  Error sqlite_error(int rc, std::string_view doing) const;
  Error corrupt(std::string const& run_id, std::string_view where, std::string_view why) const;
  Error missing(std::string const& run_id) const;

  std::filesystem::path path_;
  std::string path_text_;  ///< as it appears in messages
  SqliteOptions options_;
  std::mutex mutex_;
  detail::sqlite::Database db_;
  Statements statements_;  // after db_: finalised before the connection closes
  detail::ExactJsonParser parser_;  ///< reads numbers back exactly (Boost.JSON < 1.83 does not)
};

}  // namespace leash

#include <leash/store/impl/sqlite.hpp>

#endif
