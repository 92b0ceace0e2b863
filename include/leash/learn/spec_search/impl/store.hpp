// leash/learn/spec_search/impl/store.hpp — the spec-search tables, their
// migrations, and rows ↔ sessions.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_STORE_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_STORE_HPP

#include <leash/store/detail/sqlite_tables.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <set>
#include <utility>

namespace leash::learn::spec_search {

namespace detail::session_store {

// The SQLite plumbing (opening, transactions, rows and parameters by name,
// JSON columns) is shared with optimize's OptimizationStore.
namespace sqlt = leash::detail::sqlite_tables;
using sqlt::Corrupt;
using sqlt::non_finite;
using sqlt::parse_json;
using sqlt::parse_object;
using sqlt::Row;
using sqlt::select_list;

/// The tables' layout, step by step, applied in order to files whose recorded
/// version is lower. A released step is never edited: the next one is added.
// "trigger" is quoted: it is an SQL keyword that sqlite merely tolerates as a name.
inline constexpr sqlt::Migration migrations[] = {
    {1, R"sql(
CREATE TABLE learning_sessions (
  id                TEXT PRIMARY KEY NOT NULL,
  parent_session_id TEXT REFERENCES learning_sessions (id) ON DELETE SET NULL,
  "trigger"         TEXT NOT NULL,
  trigger_metadata  TEXT NOT NULL,
  status            TEXT NOT NULL,
  autonomy_mode     TEXT NOT NULL,
  started_at        REAL NOT NULL,
  ended_at          REAL,
  diagnosis_path    TEXT NOT NULL,
  plan_path         TEXT NOT NULL,
  benchmark_before  TEXT,
  benchmark_after   TEXT,
  checkpoint_pre    TEXT NOT NULL,
  checkpoint_post   TEXT,
  teacher_cost_usd  REAL NOT NULL,
  error             TEXT
);
CREATE INDEX learning_sessions_by_started_at ON learning_sessions (started_at);
CREATE INDEX learning_sessions_by_status ON learning_sessions (status);
CREATE TABLE edit_outcomes (
  id              INTEGER PRIMARY KEY,
  session_id      TEXT NOT NULL REFERENCES learning_sessions (id) ON DELETE CASCADE,
  edit_id         TEXT NOT NULL,
  pillar          TEXT NOT NULL,
  op              TEXT NOT NULL,
  target          TEXT NOT NULL,
  risk_tier       TEXT NOT NULL,
  status          TEXT NOT NULL,
  benchmark_delta REAL,
  cluster_deltas  TEXT NOT NULL,
  rationale       TEXT NOT NULL,
  error           TEXT,
  applied_at      REAL,
  edit            TEXT NOT NULL,
  UNIQUE (session_id, edit_id)
);
CREATE INDEX edit_outcomes_by_op ON edit_outcomes (op);
CREATE INDEX edit_outcomes_by_status ON edit_outcomes (status);
)sql"},
};

inline constexpr sqlt::Schema schema{.store = "session store",
                                     .file_noun = "SQLite database",
                                     .layout = "spec-search",
                                     .version_table = "spec_search_schema",
                                     .component = "spec_search",
                                     .migrations = migrations};
static_assert(schema.latest() == session_store_schema_version,
              "add a migration when session_store_schema_version grows");

/// Binds by parameter name: bind(st, ":id", id); an empty optional is NULL.
inline constexpr sqlt::Binder bind{schema.store};

/// The columns read_session and read_outcome read, for select_list.
inline constexpr std::initializer_list<char const*> session_columns = {
    "id", "parent_session_id", "\"trigger\"", "trigger_metadata", "status", "autonomy_mode", "started_at",
    "ended_at", "diagnosis_path", "plan_path", "benchmark_before", "benchmark_after", "checkpoint_pre",
    "checkpoint_post", "teacher_cost_usd", "error"};
inline constexpr std::initializer_list<char const*> outcome_columns = {
    "edit_id", "pillar", "risk_tier", "status", "benchmark_delta", "cluster_deltas", "error", "applied_at", "edit"};

inline std::optional<BenchmarkSnapshot> parse_snapshot(std::optional<std::string> const& text, std::string const& what) {
  if (!text) return std::nullopt;
  auto snap = snapshot_from_json(parse_json(*text, what));
  if (!snap) throw Corrupt(what + ": " + snap.error().what());
  return std::move(snap).value();
}

template <class E>
E parse_enum(std::optional<E> parsed, std::string const& text, std::string const& what) {
  if (!parsed) throw Corrupt(what + " '" + text + "' is not one this build knows");
  return *parsed;
}

/// The outcome in the current row of a SELECT over `outcome_columns`.
inline EditOutcome read_outcome(Row const& row) {
  std::string const edit_id = row.text("edit_id");
  std::string const at = "edit '" + edit_id + "'";
  EditOutcome o;
  auto edit = edit_from_json(parse_json(row.text("edit"), at + " edit"));
  if (!edit) throw Corrupt(at + ": " + edit.error().what());
  o.edit = std::move(edit).value();
  if (o.edit.id != edit_id) throw Corrupt(at + ": its edit JSON has the id '" + o.edit.id + "'");
  // edit_from_json derives pillar and tier from the op; the columns keep what was saved.
  auto text = row.text("pillar");
  o.edit.pillar = parse_enum(pillar_from_string(text), text, at + " pillar");
  text = row.text("risk_tier");
  o.edit.risk_tier = parse_enum(risk_tier_from_string(text), text, at + " risk tier");
  text = row.text("status");
  o.status = parse_enum(outcome_status_from_string(text), text, at + " status");
  o.benchmark_delta = row.optional_real("benchmark_delta");
  for (auto const& [k, v] : parse_object(row.text("cluster_deltas"), at + " cluster_deltas")) {
    if (v.is_double()) o.cluster_deltas[std::string(k)] = v.get_double();
    else if (v.is_int64()) o.cluster_deltas[std::string(k)] = static_cast<double>(v.get_int64());
    else if (v.is_uint64()) o.cluster_deltas[std::string(k)] = static_cast<double>(v.get_uint64());
    else throw Corrupt(at + " cluster_deltas['" + std::string(k) + "'] is not a number");
  }
  o.error = row.optional_text("error");
  o.applied_at = row.optional_real("applied_at");
  return o;
}

/// The session (without outcomes) in the current row of a SELECT over `session_columns`.
inline LearningSession read_session(Row const& row) {
  LearningSession s;
  s.id = row.text("id");
  s.parent_session_id = row.optional_text("parent_session_id");
  auto text = row.text("trigger");
  s.trigger.kind = parse_enum(trigger_kind_from_string(text), text, "trigger");
  s.trigger.metadata = parse_object(row.text("trigger_metadata"), "trigger_metadata");
  text = row.text("status");
  s.status = parse_enum(session_status_from_string(text), text, "status");
  text = row.text("autonomy_mode");
  s.autonomy_mode = parse_enum(autonomy_from_string(text), text, "autonomy mode");
  s.started_at = row.real("started_at");
  s.ended_at = row.optional_real("ended_at");
  s.diagnosis_path = row.text("diagnosis_path");
  s.plan_path = row.text("plan_path");
  s.benchmark_before = parse_snapshot(row.optional_text("benchmark_before"), "benchmark_before");
  s.benchmark_after = parse_snapshot(row.optional_text("benchmark_after"), "benchmark_after");
  s.checkpoint_pre = row.text("checkpoint_pre");
  s.checkpoint_post = row.optional_text("checkpoint_post");
  s.teacher_cost_usd = row.real("teacher_cost_usd");
  s.error = row.optional_text("error");
  return s;
}

inline Error invalid(std::string message) {
  return Error{Errc::invalid_input, "session store: " + std::move(message) + "; nothing was written"};
}

inline bool finite(std::optional<double> v) { return !v || std::isfinite(*v); }

/// What makes an outcome unstorable, or unreadable once stored.
inline result<void> check_outcome(std::string_view session_id, EditOutcome const& o) {
  std::string const at = "session '" + std::string(session_id) + "', edit '" + o.edit.id + "'";
  if (auto ok = check_edit(o.edit); !ok) return invalid(at + ": " + ok.error().what());
  if (non_finite(json::value(o.edit.payload))) return invalid(at + ": the payload holds a NaN or infinite number");
  if (!finite(o.benchmark_delta) || !finite(o.applied_at) ||
      std::any_of(o.cluster_deltas.begin(), o.cluster_deltas.end(), [](auto const& kv) {
        return !std::isfinite(kv.second);
      }))
    return invalid(at + ": a NaN or infinite number");
  return success();
}

/// What makes a session unstorable, or unreadable once stored (outcomes included).
inline result<void> check_session(LearningSession const& s) {
  if (s.id.empty()) return invalid("a learning session needs an id");
  std::string const at = "session '" + s.id + "'";
  if (!std::isfinite(s.started_at) || !finite(s.ended_at) || !std::isfinite(s.teacher_cost_usd))
    return invalid(at + ": started_at, ended_at or teacher_cost_usd is NaN or infinite");
  if (non_finite(json::value(s.trigger.metadata))) return invalid(at + ": the trigger metadata holds a NaN or infinite number");
  for (auto const* snap : {&s.benchmark_before, &s.benchmark_after}) {
    if (!*snap) continue;
    auto j = to_json(**snap);
    if (non_finite(j)) return invalid(at + ": a benchmark snapshot holds a NaN or infinite number");
    if (auto back = snapshot_from_json(j); !back) return invalid(at + ": " + back.error().what());
  }
  std::set<std::string_view> ids;
  for (auto const& o : s.edit_outcomes) {
    BOOST_OUTCOME_TRY(check_outcome(s.id, o));
    if (!ids.insert(o.edit.id).second) return invalid(at + ": two outcomes for edit '" + o.edit.id + "'");
  }
  return success();
}

inline std::optional<std::string> snapshot_text(std::optional<BenchmarkSnapshot> const& s) {
  if (!s) return std::nullopt;
  return json::serialize(to_json(*s));
}

}  // namespace detail::session_store

struct SessionStore::State : leash::detail::sqlite_tables::Tables {
  State() : Tables(detail::session_store::schema) {}

  Error no_session(std::string_view id) const {
    return Error{Errc::run_not_found, "no learning session '" + std::string(id) + "' in '" + path_text + "'"};
  }

  /// The status of session `id`, as stored; nullopt when there is none.
  result<std::optional<std::string>> session_status(std::string_view id);
  result<void> upsert_outcome(std::string_view session_id, EditOutcome const& o);
  /// The outcomes of `session_id`, in their order.
  result<std::vector<EditOutcome>> outcomes_of(std::string const& session_id);
  /// `where` is what follows FROM learning_sessions s (a WHERE/ORDER/LIMIT clause).
  template <class Bind>
  result<std::vector<LearningSession>> read_sessions(std::string_view where, Bind&& bind);
};

// ---------------------------------------------------------------------------
// Opening

inline SessionStore::SessionStore(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
inline SessionStore::~SessionStore() = default;

inline std::filesystem::path const& SessionStore::path() const noexcept { return state_->path; }

inline result<SessionStore> SessionStore::open(std::filesystem::path db, SessionStoreOptions options) {
  namespace sqlt = leash::detail::sqlite_tables;
  try {
    auto s = std::make_unique<State>();
    s->clock = std::move(options.clock);
    BOOST_OUTCOME_TRY(sqlt::open(*s, std::move(db), options.busy_timeout));
    return SessionStore(std::move(s));
  } catch (std::exception const& e) {
    return Error{Errc::store_failed, "cannot open session store: " + std::string(e.what())};
  }
}

// ---------------------------------------------------------------------------
// Writing

inline result<std::optional<std::string>> SessionStore::State::session_status(std::string_view id) {
  leash::detail::sqlite::Statement st;
  BOOST_OUTCOME_TRY(prepare(st, "SELECT status AS status FROM learning_sessions WHERE id = :id",
                            "cannot look up a session"));
  detail::session_store::bind(st, ":id", id);
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return sqlite_error(rc, "cannot look up session '" + std::string(id) + "'");
  return std::optional<std::string>(std::string(st.text(0)));
}

inline result<void> SessionStore::State::upsert_outcome(std::string_view session_id, EditOutcome const& o) {
  namespace ss = detail::session_store;
  std::string const edit_text = json::serialize(to_json(o.edit));
  json::object deltas;
  for (auto const& [k, v] : o.cluster_deltas) deltas[k] = v;
  std::string const deltas_text = json::serialize(deltas);
  leash::detail::sqlite::Statement st;
  BOOST_OUTCOME_TRY(prepare(
      st,
      "INSERT INTO edit_outcomes (session_id, edit_id, pillar, op, target, risk_tier, status, benchmark_delta, "
      "cluster_deltas, rationale, error, applied_at, edit) VALUES (:session_id, :edit_id, :pillar, :op, :target, "
      ":risk_tier, :status, :benchmark_delta, :cluster_deltas, :rationale, :error, :applied_at, :edit) "
      "ON CONFLICT (session_id, edit_id) DO UPDATE SET pillar = excluded.pillar, op = excluded.op, "
      "target = excluded.target, risk_tier = excluded.risk_tier, status = excluded.status, "
      "benchmark_delta = excluded.benchmark_delta, cluster_deltas = excluded.cluster_deltas, "
      "rationale = excluded.rationale, error = excluded.error, applied_at = excluded.applied_at, "
      "edit = excluded.edit",
      "cannot write an edit outcome"));
  ss::bind(st, ":session_id", session_id);
  ss::bind(st, ":edit_id", std::string_view(o.edit.id));
  ss::bind(st, ":pillar", to_string(o.edit.pillar));
  ss::bind(st, ":op", to_string(o.edit.op));
  ss::bind(st, ":target", std::string_view(o.edit.target));
  ss::bind(st, ":risk_tier", to_string(o.edit.risk_tier));
  ss::bind(st, ":status", to_string(o.status));
  ss::bind(st, ":benchmark_delta", o.benchmark_delta);
  ss::bind(st, ":cluster_deltas", std::string_view(deltas_text));
  ss::bind(st, ":rationale", std::string_view(o.edit.rationale));
  ss::bind(st, ":error", o.error);
  ss::bind(st, ":applied_at", o.applied_at);
  ss::bind(st, ":edit", std::string_view(edit_text));
  return run(st, "cannot write the outcome of edit '" + o.edit.id + "' of session '" + std::string(session_id) + "'");
}

inline result<void> SessionStore::save_session(LearningSession const& s) {
  namespace ss = detail::session_store;
  auto& state = *state_;
  return state.guarded([&]() -> result<void> {
    BOOST_OUTCOME_TRY(ss::check_session(s));
    std::string const metadata = json::serialize(s.trigger.metadata);
    auto const before = ss::snapshot_text(s.benchmark_before);
    auto const after = ss::snapshot_text(s.benchmark_after);
    return state.in_write([&]() -> result<void> {
      if (s.parent_session_id && *s.parent_session_id != s.id) {
        BOOST_OUTCOME_TRY(auto parent, state.session_status(*s.parent_session_id));
        if (!parent)
          return ss::invalid("session '" + s.id + "' names a parent session '" + *s.parent_session_id +
                             "' that is not stored (save the parent first)");
      }
      leash::detail::sqlite::Statement st;
      BOOST_OUTCOME_TRY(state.prepare(
          st,
          "INSERT INTO learning_sessions (id, parent_session_id, \"trigger\", trigger_metadata, status, "
          "autonomy_mode, started_at, ended_at, diagnosis_path, plan_path, benchmark_before, benchmark_after, "
          "checkpoint_pre, checkpoint_post, teacher_cost_usd, error) VALUES (:id, :parent, :trigger, :metadata, "
          ":status, :autonomy, :started_at, :ended_at, :diagnosis_path, :plan_path, :before, :after, "
          ":checkpoint_pre, :checkpoint_post, :cost, :error) "
          // Not INSERT OR REPLACE: that deletes the row first, and the delete
          // would cascade into the session's outcomes and its children's links.
          "ON CONFLICT (id) DO UPDATE SET parent_session_id = excluded.parent_session_id, "
          "\"trigger\" = excluded.\"trigger\", trigger_metadata = excluded.trigger_metadata, "
          "status = excluded.status, autonomy_mode = excluded.autonomy_mode, ended_at = excluded.ended_at, "
          "diagnosis_path = excluded.diagnosis_path, plan_path = excluded.plan_path, "
          "benchmark_before = excluded.benchmark_before, benchmark_after = excluded.benchmark_after, "
          "checkpoint_pre = excluded.checkpoint_pre, checkpoint_post = excluded.checkpoint_post, "
          "teacher_cost_usd = excluded.teacher_cost_usd, error = excluded.error",
          "cannot write a session"));
      ss::bind(st, ":id", std::string_view(s.id));
      ss::bind(st, ":parent", s.parent_session_id);
      ss::bind(st, ":trigger", to_string(s.trigger.kind));
      ss::bind(st, ":metadata", std::string_view(metadata));
      ss::bind(st, ":status", to_string(s.status));
      ss::bind(st, ":autonomy", to_string(s.autonomy_mode));
      ss::bind(st, ":started_at", s.started_at);
      ss::bind(st, ":ended_at", s.ended_at);
      ss::bind(st, ":diagnosis_path", std::string_view(s.diagnosis_path));
      ss::bind(st, ":plan_path", std::string_view(s.plan_path));
      ss::bind(st, ":before", before);
      ss::bind(st, ":after", after);
      ss::bind(st, ":checkpoint_pre", std::string_view(s.checkpoint_pre));
      ss::bind(st, ":checkpoint_post", s.checkpoint_post);
      ss::bind(st, ":cost", s.teacher_cost_usd);
      ss::bind(st, ":error", s.error);
      BOOST_OUTCOME_TRY(state.run(st, "cannot write session '" + s.id + "'"));

      leash::detail::sqlite::Statement del;
      BOOST_OUTCOME_TRY(state.prepare(del, "DELETE FROM edit_outcomes WHERE session_id = :id",
                                    "cannot replace a session's outcomes"));
      ss::bind(del, ":id", std::string_view(s.id));
      BOOST_OUTCOME_TRY(state.run(del, "cannot replace the outcomes of session '" + s.id + "'"));
      for (auto const& o : s.edit_outcomes) {
        BOOST_OUTCOME_TRY(state.upsert_outcome(s.id, o));
      }
      return success();
    });
  });
}

inline result<void> SessionStore::save_outcome(std::string_view session_id, EditOutcome const& o) {
  namespace ss = detail::session_store;
  auto& s = *state_;
  return s.guarded([&]() -> result<void> {
    BOOST_OUTCOME_TRY(ss::check_outcome(session_id, o));
    return s.in_write([&]() -> result<void> {
      BOOST_OUTCOME_TRY(auto status, s.session_status(session_id));
      if (!status) return s.no_session(session_id);
      return s.upsert_outcome(session_id, o);
    });
  });
}

inline result<void> SessionStore::resolve_review(std::string_view session_id, std::string_view edit_id,
                                                 bool approved, std::string note) {
  namespace ss = detail::session_store;
  auto& s = *state_;
  return s.guarded([&]() -> result<void> {
    return s.in_write([&]() -> result<void> {
      BOOST_OUTCOME_TRY(auto session_status, s.session_status(session_id));
      if (!session_status) return s.no_session(session_id);
      std::string const at = "edit '" + std::string(edit_id) + "' of session '" + std::string(session_id) + "'";
      leash::detail::sqlite::Statement st;
      BOOST_OUTCOME_TRY(s.prepare(st,
                                  "SELECT status AS status FROM edit_outcomes WHERE session_id = :session_id AND "
                                  "edit_id = :edit_id",
                                  "cannot look up an edit"));
      ss::bind(st, ":session_id", session_id);
      ss::bind(st, ":edit_id", edit_id);
      int rc = st.step();
      if (rc == SQLITE_DONE)
        return Error{Errc::run_not_found, "learning session '" + std::string(session_id) + "' in '" + s.path_text +
                                              "' has no edit '" + std::string(edit_id) + "'"};
      if (rc != SQLITE_ROW) return s.sqlite_error(rc, "cannot look up " + at);
      std::string const status(st.text(0));
      if (status != to_string(OutcomeStatus::pending_review))
        return Error{Errc::invalid_input, at + " is not pending review (it is " + status + ")"};

      double const t = s.now();
      if (!approved && note.empty()) note = "rejected by reviewer";
      BOOST_OUTCOME_TRY(s.prepare(st,
                                  approved ? "UPDATE edit_outcomes SET status = :status, applied_at = :now, "
                                             "error = NULL WHERE session_id = :session_id AND edit_id = :edit_id"
                                           : "UPDATE edit_outcomes SET status = :status, error = :note "
                                             "WHERE session_id = :session_id AND edit_id = :edit_id",
                                  "cannot record a review"));
      ss::bind(st, ":session_id", session_id);
      ss::bind(st, ":edit_id", edit_id);
      if (approved) {
        ss::bind(st, ":status", to_string(OutcomeStatus::applied));
        ss::bind(st, ":now", t);
      } else {
        ss::bind(st, ":status", to_string(OutcomeStatus::rejected_by_user));
        ss::bind(st, ":note", std::string_view(note));
      }
      BOOST_OUTCOME_TRY(s.run(st, "cannot record the review of " + at));

      if (*session_status != to_string(SessionStatus::awaiting_review)) return success();
      BOOST_OUTCOME_TRY(s.prepare(st,
                                  "UPDATE learning_sessions SET status = :completed, ended_at = COALESCE(ended_at, "
                                  ":now) WHERE id = :session_id AND NOT EXISTS (SELECT 1 FROM edit_outcomes WHERE "
                                  "session_id = :session_id AND status = :pending)",
                                  "cannot complete a session"));
      ss::bind(st, ":session_id", session_id);
      ss::bind(st, ":completed", to_string(SessionStatus::completed));
      ss::bind(st, ":pending", to_string(OutcomeStatus::pending_review));
      ss::bind(st, ":now", t);
      return s.run(st, "cannot complete session '" + std::string(session_id) + "'");
    });
  });
}

// ---------------------------------------------------------------------------
// Reading

inline result<std::vector<EditOutcome>> SessionStore::State::outcomes_of(std::string const& session_id) {
  namespace ss = detail::session_store;
  leash::detail::sqlite::Statement st;
  BOOST_OUTCOME_TRY(prepare(st,
                            "SELECT " + ss::select_list("o", ss::outcome_columns) +
                                " FROM edit_outcomes o WHERE o.session_id = :id ORDER BY o.id",
                            "cannot read edit outcomes"));
  ss::bind(st, ":id", std::string_view(session_id));
  std::vector<EditOutcome> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(ss::read_outcome(row(st)));
  if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot read the outcomes of session '" + session_id + "'");
  return out;
}

template <class Bind>
result<std::vector<LearningSession>> SessionStore::State::read_sessions(std::string_view where, Bind&& bind) {
  namespace ss = detail::session_store;
  std::vector<LearningSession> out;
  std::string current = "?";
  try {
    leash::detail::sqlite::Statement st;
    BOOST_OUTCOME_TRY(prepare(st, "SELECT " + ss::select_list("s", ss::session_columns) + " FROM learning_sessions s " +
                                      std::string(where),
                              "cannot read sessions"));
    bind(st);
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      auto const row = this->row(st);
      current = row.text("id");
      out.push_back(ss::read_session(row));
    }
    if (rc != SQLITE_DONE) return sqlite_error(rc, "cannot read sessions");
    for (auto& s : out) {
      current = s.id;
      BOOST_OUTCOME_TRY(auto outcomes, outcomes_of(s.id));
      s.edit_outcomes = std::move(outcomes);
    }
  } catch (ss::Corrupt const& e) {
    return Error{Errc::state_corrupt, "session store '" + path_text + "', session '" + current + "': " + e.what()};
  }
  return out;
}

inline result<std::optional<LearningSession>> SessionStore::get_session(std::string_view id) {
  namespace ss = detail::session_store;
  auto& s = *state_;
  return s.guarded([&]() -> result<std::optional<LearningSession>> {
    return s.in_read([&]() -> result<std::optional<LearningSession>> {
      BOOST_OUTCOME_TRY(auto found, s.read_sessions("WHERE s.id = :id", [&](auto& st) { ss::bind(st, ":id", id); }));
      if (found.empty()) return std::optional<LearningSession>();
      return std::optional<LearningSession>(std::move(found.front()));
    });
  });
}

inline result<std::vector<LearningSession>> SessionStore::list_sessions(std::optional<SessionStatus> status,
                                                                         std::size_t limit) {
  namespace ss = detail::session_store;
  auto& s = *state_;
  return s.guarded([&]() -> result<std::vector<LearningSession>> {
    return s.in_read([&]() -> result<std::vector<LearningSession>> {
      return s.read_sessions(
          std::string(status ? "WHERE s.status = :status " : "") + "ORDER BY s.started_at DESC, s.id ASC LIMIT :limit",
          [&](auto& st) {
            if (status) ss::bind(st, ":status", to_string(*status));
            ss::bind(st, ":limit",
                     static_cast<std::int64_t>(
                         std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))));
          });
    });
  });
}

inline result<std::vector<SessionStore::PendingReview>> SessionStore::pending_reviews() {
  namespace ss = detail::session_store;
  auto& s = *state_;
  return s.guarded([&]() -> result<std::vector<PendingReview>> {
    leash::detail::sqlite::Statement st;
    BOOST_OUTCOME_TRY(s.prepare(st,
                                "SELECT o.session_id AS session_id, " + ss::select_list("o", ss::outcome_columns) +
                                    " FROM edit_outcomes o JOIN learning_sessions s ON s.id = o.session_id "
                                    "WHERE o.status = :pending ORDER BY s.started_at ASC, s.id ASC, o.id ASC",
                                "cannot read the review queue"));
    ss::bind(st, ":pending", to_string(OutcomeStatus::pending_review));
    std::vector<PendingReview> out;
    std::string current = "?";
    try {
      int rc;
      while ((rc = st.step()) == SQLITE_ROW) {
        auto const row = s.row(st);
        current = row.text("session_id");
        out.push_back(PendingReview{current, ss::read_outcome(row)});
      }
      if (rc != SQLITE_DONE) return s.sqlite_error(rc, "cannot read the review queue");
    } catch (ss::Corrupt const& e) {
      return Error{Errc::state_corrupt, "session store '" + s.path_text + "', session '" + current + "': " + e.what()};
    }
    return out;
  });
}

}  // namespace leash::learn::spec_search

#endif
