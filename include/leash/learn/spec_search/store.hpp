// leash/learn/spec_search/store.hpp — learning sessions and the fate of each
// of their edits, kept in a SQLite file; the review queue is a query on it.
//
//   namespace ss = leash::learn::spec_search;
//   auto store = ss::SessionStore::open(".leash/runs.db");  // may be the run store's file
//   store.value().save_session(session);                    // the row and all its outcomes, atomically
//   for (auto const& p : store.value().pending_reviews().value())
//     show(p.session_id, p.outcome.edit);                    // what waits for a person
//   store.value().resolve_review(session.id, "edit-3", /*approved=*/false, "too broad");
//
// Tables (the file may be shared with the leash run store, store/sqlite.hpp:
// none of these names is one of its tables, and its PRAGMA user_version is
// never read or written here):
//
//   spec_search_schema (component TEXT PK, version INTEGER)
//       one row, component 'spec_search': the version of the two tables below.
//   learning_sessions
//       id TEXT PK, parent_session_id TEXT NULL → learning_sessions(id),
//       "trigger" TEXT (TriggerKind), trigger_metadata TEXT (JSON object),
//       status TEXT (SessionStatus), autonomy_mode TEXT (AutonomyMode),
//       started_at REAL (epoch s; set by the first save, never changed),
//       ended_at REAL NULL, diagnosis_path TEXT, plan_path TEXT,
//       benchmark_before / benchmark_after TEXT NULL (BenchmarkSnapshot JSON),
//       checkpoint_pre TEXT, checkpoint_post TEXT NULL, teacher_cost_usd REAL,
//       error TEXT NULL.
//       Indexed by started_at and by status.
//   edit_outcomes
//       rowid (the order of a session's outcomes), session_id TEXT →
//       learning_sessions(id) ON DELETE CASCADE, edit_id TEXT, pillar, op,
//       target, risk_tier TEXT (the edit's, for queries), status TEXT
//       (OutcomeStatus), benchmark_delta REAL NULL, cluster_deltas TEXT (JSON
//       object of numbers), rationale TEXT, error TEXT NULL, applied_at REAL
//       NULL, edit TEXT (the whole Edit as JSON, payload included).
//       UNIQUE (session_id, edit_id); indexed by op and by status (the review
//       queue). Lookups by session use the UNIQUE index, whose first column
//       is session_id, so no separate session_id index is kept.
//
// Enums are stored with the spellings of types.hpp's to_string. Rows are read
// by column name. A stored value that does not read back (bad JSON, an
// unknown enum spelling, an edit check_edit refuses) is Errc::state_corrupt
// naming the file and the session.
//
// Reference: OpenJarvis SessionStore and PendingQueue
// (reference/openjarvis-learning.md §2.14). Kept: the two tables and their
// columns, WAL, foreign keys, the indexes on started_at, status and op,
// list_sessions(status?, limit 50) newest first. Changed: save_session writes
// the outcomes too, in the same transaction (the reference's save never
// stored them and save_outcome was never called); an outcome keeps its whole
// edit, so a session read back is the session saved; started_at is set once;
// a re-saved session is updated in place (no INSERT OR REPLACE, which would
// have cascaded into its outcomes); times are epoch seconds, not ISO text;
// the pending-review queue is the outcomes in status pending_review, not one
// JSON file per edit, so a decision and the session's status change commit
// together; the schema is versioned, and a newer one is refused.
#ifndef LEASH_LEARN_SPEC_SEARCH_STORE_HPP
#define LEASH_LEARN_SPEC_SEARCH_STORE_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/spec_search/types.hpp>
#include <leash/store/detail/sqlite.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::spec_search {

/// The version of the spec-search tables this build writes.
inline constexpr int session_store_schema_version = 1;

/// How a SessionStore opens its file.
struct SessionStoreOptions {
  /// How long a write waits for another connection before Errc::store_failed.
  std::chrono::milliseconds busy_timeout{5000};
  /// Seconds since the epoch, for resolve_review's applied_at and ended_at;
  /// empty: the system clock.
  std::function<double()> clock;
};

/// Learning sessions and their edit outcomes in a SQLite file. Synchronous:
/// every call is one short local transaction. One SessionStore may be used
/// from several threads (calls are serialised); several processes may share
/// the file. Movable, not copyable.
class SessionStore {
 public:
  /// Opens (creating the file, its directory and the tables) the SQLite file
  /// at `db`; the file a leash `sqlite:PATH` run store uses is fine. WAL,
  /// foreign keys on, the schema version recorded.
  /// Errc::state_version_unsupported when the file's spec-search tables are
  /// newer than this build (the file is left untouched); Errc::state_corrupt,
  /// naming the file, when it is not a SQLite database; Errc::store_failed
  /// otherwise.
  static result<SessionStore> open(std::filesystem::path db, SessionStoreOptions options = {});

  /// Writes the session: inserts its row or updates it in place, and
  /// replaces all its outcomes with `s.edit_outcomes` (in that order), in one
  /// transaction. started_at is the one of the first save: later saves keep
  /// it. Errc::invalid_input (nothing written) when the id is empty, the
  /// parent session is not stored, two outcomes share an edit id, an edit
  /// fails check_edit, a benchmark snapshot would not read back
  /// (snapshot_from_json), or a number is NaN or infinite.
  result<void> save_session(LearningSession const& s);

  /// The session with its outcomes; nullopt when there is none.
  result<std::optional<LearningSession>> get_session(std::string_view id);

  /// At most `limit` sessions (0: none), newest started_at first, ties by id
  /// ascending, only those in `status` when given; each with its outcomes.
  result<std::vector<LearningSession>> list_sessions(std::optional<SessionStatus> status = std::nullopt,
                                                     std::size_t limit = 50);

  /// Inserts or updates (in place, keeping its position) the outcome of
  /// `o.edit.id` in session `session_id`. Errc::run_not_found when the
  /// session is not stored; Errc::invalid_input as for save_session.
  result<void> save_outcome(std::string_view session_id, EditOutcome const& o);

  /// One edit waiting for a person.
  struct PendingReview {
    std::string session_id;
    EditOutcome outcome;
  };

  /// Every outcome in status pending_review, whatever its session's status:
  /// oldest session first (started_at, then id), then in the session's order.
  result<std::vector<PendingReview>> pending_reviews();

  /// Records a person's decision on a pending edit, in one transaction:
  /// approved → `applied`, applied_at = now, error cleared; rejected →
  /// `rejected_by_user`, error = `note` or "rejected by reviewer" (`note` is
  /// not kept on approval: EditOutcome has no place for it). When the
  /// session was awaiting_review and none of its edits is pending any more,
  /// it becomes `completed` (ended_at = now unless already set). Recording
  /// only: applying an approved edit to a configuration is the caller's job,
  /// and it should be done first. Errc::run_not_found when there is no such
  /// session or the session has no such edit; Errc::invalid_input when the
  /// edit is not pending review.
  result<void> resolve_review(std::string_view session_id, std::string_view edit_id, bool approved,
                              std::string note = {});

  std::filesystem::path const& path() const noexcept;

  SessionStore(SessionStore&&) noexcept = default;
  SessionStore& operator=(SessionStore&&) noexcept = default;
  ~SessionStore();

  struct State;

 private:
  explicit SessionStore(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> state_;
};

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/store.hpp>

#endif
