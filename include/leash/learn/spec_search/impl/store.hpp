// leash/learn/spec_search/impl/store.hpp — the spec-search tables, their
// migrations, and rows ↔ sessions.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_STORE_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_STORE_HPP

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace leash::learn::spec_search {

namespace detail::session_store {

namespace sql = leash::detail::sqlite;

/// One step of the tables' layout, applied in order to files whose recorded
/// version is lower. A released step is never edited: the next one is added.
struct Migration {
  int version;
  char const* sql;
};

// "trigger" is quoted: it is an SQL keyword that sqlite merely tolerates as a name.
inline constexpr Migration migrations[] = {
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

inline constexpr int latest = migrations[std::size(migrations) - 1].version;
static_assert(latest == session_store_schema_version, "add a migration when session_store_schema_version grows");

inline constexpr char const* component = "spec_search";

/// A stored value that does not read back; the reader names the session.
struct Corrupt : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// "a.x AS x, a.y AS y": sqlite promises a result column's name only when
/// the query gives it with AS.
inline std::string columns(std::string_view alias, std::initializer_list<char const*> names) {
  std::string out;
  for (auto const* n : names) {
    if (!out.empty()) out += ", ";
    out.append(alias).append(".").append(n).append(" AS ").append(n);
  }
  return out;
}

inline constexpr std::initializer_list<char const*> session_columns = {
    "id", "parent_session_id", "\"trigger\"", "trigger_metadata", "status", "autonomy_mode", "started_at",
    "ended_at", "diagnosis_path", "plan_path", "benchmark_before", "benchmark_after", "checkpoint_pre",
    "checkpoint_post", "teacher_cost_usd", "error"};
inline constexpr std::initializer_list<char const*> outcome_columns = {
    "edit_id", "pillar", "risk_tier", "status", "benchmark_delta", "cluster_deltas", "error", "applied_at", "edit"};

/// The current row of a statement, by column name.
class Row {
 public:
  explicit Row(sql::Statement& st) : st_(st) {}
  int index(std::string_view name) const {
    int const n = sqlite3_column_count(st_.get());
    for (int i = 0; i < n; ++i)
      if (name == sqlite3_column_name(st_.get(), i)) return i;
    throw std::logic_error("session store: no result column '" + std::string(name) + "'");
  }
  std::string text(std::string_view name) const { return std::string(st_.text(index(name))); }
  std::optional<std::string> optional_text(std::string_view name) const {
    int i = index(name);
    if (st_.is_null(i)) return std::nullopt;
    return std::string(st_.text(i));
  }
  double real(std::string_view name) const { return st_.real(index(name)); }
  std::optional<double> optional_real(std::string_view name) const {
    int i = index(name);
    if (st_.is_null(i)) return std::nullopt;
    return st_.real(i);
  }

 private:
  sql::Statement& st_;
};

/// Binds parameter `name` (":id"); a name the SQL lacks is a bug here. Text
/// is bound without a copy: it must outlive the step.
inline int param(sql::Statement& st, char const* name) {
  int i = sqlite3_bind_parameter_index(st.get(), name);
  if (i == 0) throw std::logic_error(std::string("session store: no SQL parameter ") + name);
  return i;
}
inline void bind(sql::Statement& st, char const* name, std::string_view v) { st.bind(param(st, name), v); }
inline void bind(sql::Statement& st, char const* name, double v) { st.bind(param(st, name), v); }
inline void bind(sql::Statement& st, char const* name, std::int64_t v) { st.bind(param(st, name), v); }
inline void bind(sql::Statement& st, char const* name, std::optional<std::string> const& v) {
  if (v) st.bind(param(st, name), std::string_view(*v));
  else st.bind_null(param(st, name));
}
inline void bind(sql::Statement& st, char const* name, std::optional<double> const& v) {
  if (v) st.bind(param(st, name), *v);
  else st.bind_null(param(st, name));
}

/// Whether a JSON tree holds a NaN or an infinity, which Boost.JSON writes
/// as tokens no JSON parser reads back.
inline bool non_finite(json::value const& v) {
  switch (v.kind()) {
    case json::kind::double_: return !std::isfinite(v.get_double());
    case json::kind::array:
      return std::any_of(v.get_array().begin(), v.get_array().end(), [](auto const& x) { return non_finite(x); });
    case json::kind::object:
      return std::any_of(v.get_object().begin(), v.get_object().end(),
                         [](auto const& kv) { return non_finite(kv.value()); });
    default: return false;
  }
}

inline json::value parse_json(std::string_view text, std::string const& what) {
  std::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) throw Corrupt(what + " is not JSON (" + ec.message() + ")");
  return v;
}

inline json::object parse_object(std::string_view text, std::string const& what) {
  auto v = parse_json(text, what);
  if (!v.is_object()) throw Corrupt(what + " is not a JSON object");
  return std::move(v.get_object());
}

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

inline double system_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace detail::session_store

struct SessionStore::State {
  std::filesystem::path path;
  std::string path_text;
  SessionStoreOptions options;
  leash::detail::sqlite::Database db;
  std::mutex mutex;

  double now() const { return options.clock ? options.clock() : detail::session_store::system_now(); }

  Error sqlite_error(int rc, std::string_view doing) const {
    std::string why = db.get() ? db.message() : std::string(sqlite3_errstr(rc));
    if (leash::detail::sqlite::is_corruption(rc))
      return Error{Errc::state_corrupt,
                   "session store '" + path_text + "' is not a sound SQLite database (" + std::string(doing) + "): " + why};
    return Error{Errc::store_failed, "session store '" + path_text + "': " + std::string(doing) + ": " + why};
  }
  Error no_session(std::string_view id) const {
    return Error{Errc::run_not_found, "no learning session '" + std::string(id) + "' in '" + path_text + "'"};
  }

  result<void> prepare(leash::detail::sqlite::Statement& st, std::string_view text, std::string_view doing) {
    int rc = st.prepare(db, text);
    if (rc != SQLITE_OK) return sqlite_error(rc, doing);
    return success();
  }
  /// Steps a statement that returns no rows.
  result<void> run(leash::detail::sqlite::Statement& st, std::string_view doing) {
    int rc = st.step();
    if (rc != SQLITE_DONE) return sqlite_error(rc, doing);
    return success();
  }
  result<void> exec(char const* text, std::string_view doing) {
    int rc = db.exec(text);
    if (rc != SQLITE_OK) return sqlite_error(rc, doing);
    return success();
  }

  /// The version recorded in spec_search_schema; 0 when the table or the row is absent.
  result<int> schema_version();
  /// The status of session `id`, as stored; nullopt when there is none.
  result<std::optional<std::string>> session_status(std::string_view id);
  result<void> upsert_outcome(std::string_view session_id, EditOutcome const& o);
  /// The outcomes of `session_id`, in their order.
  result<std::vector<EditOutcome>> outcomes_of(std::string const& session_id);
  /// `where` is what follows FROM learning_sessions s (a WHERE/ORDER/LIMIT clause).
  template <class Bind>
  result<std::vector<LearningSession>> read_sessions(std::string_view where, Bind&& bind);
};

namespace detail::session_store {

/// Runs `body` under the store's lock; an exception becomes Errc::store_failed.
template <class Body>
auto guarded(SessionStore::State& s, Body&& body) noexcept -> decltype(body()) {
  try {
    std::lock_guard lock(s.mutex);
    return body();
  } catch (std::exception const& e) {
    return Error{Errc::store_failed, "session store '" + s.path_text + "': " + e.what()};
  } catch (...) {
    return Error{Errc::store_failed, "session store '" + s.path_text + "': unknown exception"};
  }
}

/// `body` in a write transaction (BEGIN IMMEDIATE), committed when it succeeds.
template <class Body>
auto in_write(SessionStore::State& s, Body&& body) -> decltype(body()) {
  leash::detail::sqlite::Transaction tx(s.db);
  int rc = tx.begin_write();
  if (rc != SQLITE_OK) return s.sqlite_error(rc, "cannot begin a write");
  auto out = body();
  if (!out) return out;
  rc = tx.commit();
  if (rc != SQLITE_OK) return s.sqlite_error(rc, "cannot commit");
  return out;
}

/// `body` in a read transaction: one snapshot for several SELECTs.
template <class Body>
auto in_read(SessionStore::State& s, Body&& body) -> decltype(body()) {
  leash::detail::sqlite::Transaction tx(s.db);
  int rc = tx.begin_read();
  if (rc != SQLITE_OK) return s.sqlite_error(rc, "cannot begin a read");
  return body();  // nothing to commit: the transaction ends when tx does
}

}  // namespace detail::session_store

// ---------------------------------------------------------------------------
// Opening

inline SessionStore::SessionStore(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
inline SessionStore::~SessionStore() = default;

inline std::filesystem::path const& SessionStore::path() const noexcept { return state_->path; }

inline result<int> SessionStore::State::schema_version() {
  namespace ss = detail::session_store;
  leash::detail::sqlite::Statement st;
  // Reading sqlite_master is the first read of the file: a file that is not a
  // database fails here, as state_corrupt.
  BOOST_OUTCOME_TRY(prepare(st,
                            "SELECT COUNT(*) AS found FROM sqlite_master WHERE type = 'table' AND name = "
                            "'spec_search_schema'",
                            "cannot read the schema"));
  int rc = st.step();
  if (rc != SQLITE_ROW) return sqlite_error(rc, "cannot read the schema");
  if (st.int64(0) == 0) return 0;
  BOOST_OUTCOME_TRY(prepare(st, "SELECT version AS version FROM spec_search_schema WHERE component = :component",
                            "cannot read the schema version"));
  ss::bind(st, ":component", std::string_view(ss::component));
  rc = st.step();
  if (rc == SQLITE_DONE) return 0;
  if (rc != SQLITE_ROW) return sqlite_error(rc, "cannot read the schema version");
  return static_cast<int>(st.int64(0));
}

inline result<SessionStore> SessionStore::open(std::filesystem::path db, SessionStoreOptions options) {
  namespace ss = detail::session_store;
  try {
    auto s = std::make_unique<State>();
    s->path = std::move(db);
    s->path_text = s->path.string();
    s->options = std::move(options);
    if (s->path.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(s->path.parent_path(), ec);
      if (ec)
        return Error{Errc::store_failed,
                     "session store '" + s->path_text + "': cannot create its directory: " + ec.message()};
    }
    int rc = s->db.open(s->path_text);
    if (rc != SQLITE_OK) return s->sqlite_error(rc, "cannot open");
    rc = sqlite3_busy_timeout(s->db.get(), static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(
                                               s->options.busy_timeout.count(), 0, 1 << 30)));
    if (rc != SQLITE_OK) return s->sqlite_error(rc, "cannot set the busy timeout");

    auto too_new = [&](int version) {
      return Error{Errc::state_version_unsupported,
                   "session store '" + s->path_text + "' has spec-search schema version " + std::to_string(version) +
                       "; this build of leash reads up to " + std::to_string(session_store_schema_version)};
    };
    // The version before anything is set: a newer file is left as it was.
    BOOST_OUTCOME_TRY(int version, s->schema_version());
    if (version > session_store_schema_version) return too_new(version);

    // The journal mode belongs to the file: WAL, as the run store sets it.
    BOOST_OUTCOME_TRY(s->exec("PRAGMA journal_mode=WAL", "cannot switch to WAL mode"));
    BOOST_OUTCOME_TRY(s->exec("PRAGMA synchronous=NORMAL", "cannot set synchronous"));
    // Per connection, and off by default in sqlite: without it the REFERENCES clauses are decoration.
    BOOST_OUTCOME_TRY(s->exec("PRAGMA foreign_keys=ON", "cannot enable foreign keys"));
    if (version == session_store_schema_version) return SessionStore(std::move(s));

    BOOST_OUTCOME_TRY(ss::in_write(*s, [&]() -> result<void> {
      // Another process may have migrated the file while this one waited for the lock.
      BOOST_OUTCOME_TRY(version, s->schema_version());
      if (version > session_store_schema_version) return too_new(version);
      BOOST_OUTCOME_TRY(s->exec("CREATE TABLE IF NOT EXISTS spec_search_schema (component TEXT PRIMARY KEY NOT NULL, "
                                "version INTEGER NOT NULL)",
                                "cannot create spec_search_schema"));
      for (auto const& m : ss::migrations) {
        if (m.version <= version) continue;
        BOOST_OUTCOME_TRY(s->exec(m.sql, "cannot apply migration " + std::to_string(m.version)));
      }
      leash::detail::sqlite::Statement st;
      BOOST_OUTCOME_TRY(s->prepare(st,
                                   "INSERT INTO spec_search_schema (component, version) VALUES (:component, "
                                   ":version) ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                                   "cannot record the schema version"));
      ss::bind(st, ":component", std::string_view(ss::component));
      ss::bind(st, ":version", std::int64_t{session_store_schema_version});
      return s->run(st, "cannot record the schema version");
    }));
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
  return ss::guarded(state, [&]() -> result<void> {
    BOOST_OUTCOME_TRY(ss::check_session(s));
    std::string const metadata = json::serialize(s.trigger.metadata);
    auto const before = ss::snapshot_text(s.benchmark_before);
    auto const after = ss::snapshot_text(s.benchmark_after);
    return ss::in_write(state, [&]() -> result<void> {
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
  return ss::guarded(s, [&]() -> result<void> {
    BOOST_OUTCOME_TRY(ss::check_outcome(session_id, o));
    return ss::in_write(s, [&]() -> result<void> {
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
  return ss::guarded(s, [&]() -> result<void> {
    return ss::in_write(s, [&]() -> result<void> {
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
                            "SELECT " + ss::columns("o", ss::outcome_columns) +
                                " FROM edit_outcomes o WHERE o.session_id = :id ORDER BY o.id",
                            "cannot read edit outcomes"));
  ss::bind(st, ":id", std::string_view(session_id));
  std::vector<EditOutcome> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(ss::read_outcome(ss::Row(st)));
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
    BOOST_OUTCOME_TRY(prepare(st, "SELECT " + ss::columns("s", ss::session_columns) + " FROM learning_sessions s " +
                                      std::string(where),
                              "cannot read sessions"));
    bind(st);
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      ss::Row row(st);
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
  return ss::guarded(s, [&]() -> result<std::optional<LearningSession>> {
    return ss::in_read(s, [&]() -> result<std::optional<LearningSession>> {
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
  return ss::guarded(s, [&]() -> result<std::vector<LearningSession>> {
    return ss::in_read(s, [&]() -> result<std::vector<LearningSession>> {
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
  return ss::guarded(s, [&]() -> result<std::vector<PendingReview>> {
    leash::detail::sqlite::Statement st;
    BOOST_OUTCOME_TRY(s.prepare(st,
                                "SELECT o.session_id AS session_id, " + ss::columns("o", ss::outcome_columns) +
                                    " FROM edit_outcomes o JOIN learning_sessions s ON s.id = o.session_id "
                                    "WHERE o.status = :pending ORDER BY s.started_at ASC, s.id ASC, o.id ASC",
                                "cannot read the review queue"));
    ss::bind(st, ":pending", to_string(OutcomeStatus::pending_review));
    std::vector<PendingReview> out;
    std::string current = "?";
    try {
      int rc;
      while ((rc = st.step()) == SQLITE_ROW) {
        ss::Row row(st);
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
