// leash/store/detail/sqlite_tables.hpp — a component's own tables in a leash
// SQLite file (the run store's file or another): the plumbing the stores of
// such tables share. Not for direct use.
//
// A store describes its tables once, in a constexpr Schema (how its messages
// name it, its version table and row, its migrations), derives its state from
// Tables, and gets from here:
// * opening: the directory, the connection, the busy timeout, the version
//   read first (a newer file is refused and left as it was), WAL,
//   synchronous=NORMAL, foreign keys, and, when the file is behind, the
//   migrations and the version recorded, in one write transaction;
// * the lock, write and read transaction wrappers;
// * SQL that names things: a select list with AS, rows read by column name,
//   parameters bound by name;
// * JSON columns: parsing that throws Corrupt, and the NaN / infinity check
//   to run before writing.
//
// Errors name the store and its file: Errc::state_corrupt when the file is
// not a sound database, Errc::state_version_unsupported when its tables are
// newer than this build, Errc::store_failed otherwise. The component's version
// lives in a table of its own, never in PRAGMA user_version (the run store's).
//
// Built on store/detail/sqlite.hpp (connection, statement, transaction).
#ifndef LEASH_STORE_DETAIL_SQLITE_TABLES_HPP
#define LEASH_STORE_DETAIL_SQLITE_TABLES_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/store/detail/sqlite.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace leash::detail::sqlite_tables {

namespace sql = leash::detail::sqlite;

/// One step of a component's layout, applied in order to files whose recorded
/// version is lower. A released step is never edited: the next one is added.
struct Migration {
  int version;
  char const* sql;
};

/// What tells one component's tables from another's.
struct Schema {
  char const* store;          ///< how messages name the store: "optimization store"
  char const* file_noun;      ///< "… is not a sound <file_noun> (…)": "database", "SQLite database"
  char const* layout;         ///< "… has <layout> schema version N": "optimization", "spec-search"
  char const* version_table;  ///< (component TEXT PRIMARY KEY, version INTEGER): "optimization_schema"
  char const* component;      ///< the key of the version row: "optimization"
  std::span<Migration const> migrations;

  /// The version this build writes: the last migration's.
  constexpr int latest() const { return migrations.back().version; }
};

/// A stored value that does not read back; the reader turns it into
/// Errc::state_corrupt naming the row.
struct Corrupt : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// "a AS a, b AS b", or with an alias "s.a AS a, s.b AS b": sqlite promises
/// a result column's name only when the query gives it with AS.
inline std::string select_list(std::string_view alias, std::initializer_list<char const*> names) {
  std::string out;
  for (auto const* n : names) {
    if (!out.empty()) out += ", ";
    if (!alias.empty()) out.append(alias).append(".");
    out.append(n).append(" AS ").append(n);
  }
  return out;
}
inline std::string select_list(std::initializer_list<char const*> names) { return select_list({}, names); }

/// The current row of a statement, by column name (never by position). A
/// name the query lacks is a bug here: std::logic_error naming `store`.
class Row {
 public:
  Row(sql::Statement& st, char const* store) : st_(st), store_(store) {}

  int index(std::string_view name) const {
    int const n = sqlite3_column_count(st_.get());
    for (int i = 0; i < n; ++i)
      if (name == sqlite3_column_name(st_.get(), i)) return i;
    throw std::logic_error(std::string(store_) + ": no result column '" + std::string(name) + "'");
  }
  std::string text(std::string_view name) const { return std::string(st_.text(index(name))); }
  std::optional<std::string> optional_text(std::string_view name) const {
    int i = index(name);
    if (st_.is_null(i)) return std::nullopt;
    return std::string(st_.text(i));
  }
  /// NULL (how sqlite stores a NaN) reads as NaN.
  double real(std::string_view name) const {
    int i = index(name);
    return st_.is_null(i) ? std::numeric_limits<double>::quiet_NaN() : st_.real(i);
  }
  std::optional<double> optional_real(std::string_view name) const {
    int i = index(name);
    if (st_.is_null(i)) return std::nullopt;
    return st_.real(i);
  }
  std::int64_t int64(std::string_view name) const { return st_.int64(index(name)); }

 private:
  sql::Statement& st_;
  char const* store_;
};

/// Binds parameters by name (":run_id"), as `bind(st, ":run_id", id)`; a
/// name the SQL lacks is a bug here: std::logic_error naming `store`. Text is
/// bound without a copy: it must outlive the step. A NaN, and an empty
/// optional, are bound as NULL. Each store keeps one, named `bind`.
class Binder {
 public:
  explicit constexpr Binder(char const* store) noexcept : store_(store) {}

  int index(sql::Statement& st, char const* name) const {
    int i = sqlite3_bind_parameter_index(st.get(), name);
    if (i == 0) throw std::logic_error(std::string(store_) + ": no SQL parameter " + name);
    return i;
  }
  int operator()(sql::Statement& st, char const* name, std::string_view v) const { return st.bind(index(st, name), v); }
  int operator()(sql::Statement& st, char const* name, std::string const& v) const {
    return st.bind(index(st, name), std::string_view(v));
  }
  int operator()(sql::Statement& st, char const* name, char const* v) const {
    return st.bind(index(st, name), std::string_view(v));
  }
  int operator()(sql::Statement& st, char const* name, std::int64_t v) const { return st.bind(index(st, name), v); }
  int operator()(sql::Statement& st, char const* name, double v) const {
    return std::isnan(v) ? st.bind_null(index(st, name)) : st.bind(index(st, name), v);
  }
  int operator()(sql::Statement& st, char const* name, std::optional<std::string> const& v) const {
    return v ? st.bind(index(st, name), std::string_view(*v)) : st.bind_null(index(st, name));
  }
  int operator()(sql::Statement& st, char const* name, std::optional<double> const& v) const {
    return v ? (*this)(st, name, *v) : st.bind_null(index(st, name));
  }

 private:
  char const* store_;
};

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

/// A JSON column's text, parsed; Corrupt naming `what` when it does not parse.
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

inline double system_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// The state of a store of `schema`'s tables: its file, the connection, the
/// lock that serialises its use, and the lock and transaction wrappers. A
/// store's State derives from it.
struct Tables {
  explicit Tables(Schema const& s) noexcept : schema(s) {}
  Tables(Tables const&) = delete;
  Tables& operator=(Tables const&) = delete;

  Schema const& schema;
  std::filesystem::path path;
  std::string path_text;
  sql::Database db;
  std::mutex mutex;
  /// Seconds since the epoch; empty: the system clock.
  std::function<double()> clock;

  double now() const { return clock ? clock() : system_now(); }

  Error sqlite_error(int rc, std::string_view doing) const {
    std::string why = db.get() ? db.message() : std::string(sqlite3_errstr(rc));
    if (sql::is_corruption(rc))
      return Error{Errc::state_corrupt, std::string(schema.store) + " '" + path_text + "' is not a sound " +
                                            schema.file_noun + " (" + std::string(doing) + "): " + why};
    return Error{Errc::store_failed,
                 std::string(schema.store) + " '" + path_text + "': " + std::string(doing) + ": " + why};
  }

  /// Prepares `text` into `st`; an Error naming `doing` when it fails.
  result<void> prepare(sql::Statement& st, std::string_view text, std::string_view doing) {
    int rc = st.prepare(db, text);
    if (rc != SQLITE_OK) return sqlite_error(rc, doing);
    return success();
  }
  /// Steps a statement that returns no rows.
  result<void> run(sql::Statement& st, std::string_view doing) {
    int rc = st.step();
    if (rc != SQLITE_DONE) return sqlite_error(rc, doing);
    return success();
  }
  /// Runs statements that return no rows (pragmas, DDL).
  result<void> exec(char const* text, std::string_view doing) {
    int rc = db.exec(text);
    if (rc != SQLITE_OK) return sqlite_error(rc, doing);
    return success();
  }

  /// The current row of `st`, read by column name.
  Row row(sql::Statement& st) const { return Row(st, schema.store); }

  /// Runs `body` under the store's lock; an exception becomes Errc::store_failed.
  template <class Body>
  auto guarded(Body&& body) noexcept -> decltype(body()) {
    try {
      std::lock_guard lock(mutex);
      return body();
    } catch (std::exception const& e) {
      return Error{Errc::store_failed, std::string(schema.store) + " '" + path_text + "': " + e.what()};
    } catch (...) {
      return Error{Errc::store_failed, std::string(schema.store) + " '" + path_text + "': unknown exception"};
    }
  }

  /// `body` in a write transaction (BEGIN IMMEDIATE), committed when it succeeds.
  template <class Body>
  auto in_write(Body&& body) -> decltype(body()) {
    sql::Transaction tx(db);
    int rc = tx.begin_write();
    if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a write");
    auto out = body();
    if (!out) return out;
    rc = tx.commit();
    if (rc != SQLITE_OK) return sqlite_error(rc, "cannot commit");
    return out;
  }

  /// `body` in a read transaction: one snapshot for several SELECTs.
  template <class Body>
  auto in_read(Body&& body) -> decltype(body()) {
    sql::Transaction tx(db);
    int rc = tx.begin_read();
    if (rc != SQLITE_OK) return sqlite_error(rc, "cannot begin a read");
    return body();  // nothing to commit: the transaction ends when tx does
  }
};

// ---------------------------------------------------------------------------
// Opening

/// Creates the directory of `path`, opens the file (creating it) and sets
/// the busy timeout.
inline result<void> connect(Tables& t, std::filesystem::path path, std::chrono::milliseconds busy_timeout) {
  t.path = std::move(path);
  t.path_text = t.path.string();
  if (t.path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(t.path.parent_path(), ec);
    if (ec)
      return Error{Errc::store_failed, std::string(t.schema.store) + " '" + t.path_text +
                                           "': cannot create its directory: " + ec.message()};
  }
  int rc = t.db.open(t.path_text);
  if (rc != SQLITE_OK) return t.sqlite_error(rc, "cannot open");
  rc = sqlite3_busy_timeout(
      t.db.get(), static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(busy_timeout.count(), 0, 1 << 30)));
  if (rc != SQLITE_OK) return t.sqlite_error(rc, "cannot set the busy timeout");
  return success();
}

/// WAL (the journal mode belongs to the file, so every store of it agrees:
/// the run store sets it too), synchronous=NORMAL, foreign keys on.
inline result<void> configure(Tables& t) {
  BOOST_OUTCOME_TRY(t.exec("PRAGMA journal_mode=WAL", "cannot switch to WAL mode"));
  BOOST_OUTCOME_TRY(t.exec("PRAGMA synchronous=NORMAL", "cannot set synchronous"));
  // Per connection, and off by default in sqlite: without it the REFERENCES clauses are decoration.
  return t.exec("PRAGMA foreign_keys=ON", "cannot enable foreign keys");
}

/// The version recorded in the schema's version table; 0 when the table or
/// the row is absent.
inline result<int> schema_version(Tables& t) {
  sql::Statement st;
  // Reading sqlite_master is the first read of the file: a file that is not a
  // database fails here, as state_corrupt.
  BOOST_OUTCOME_TRY(t.prepare(st,
                              "SELECT COUNT(*) AS found FROM sqlite_master WHERE type = 'table' AND name = '" +
                                  std::string(t.schema.version_table) + "'",
                              "cannot read the schema"));
  int rc = st.step();
  if (rc != SQLITE_ROW) return t.sqlite_error(rc, "cannot read the schema");
  if (st.int64(0) == 0) return 0;
  BOOST_OUTCOME_TRY(t.prepare(
      st, "SELECT version AS version FROM " + std::string(t.schema.version_table) + " WHERE component = :component",
      "cannot read the schema version"));
  Binder(t.schema.store)(st, ":component", t.schema.component);
  rc = st.step();
  if (rc == SQLITE_DONE) return 0;
  if (rc != SQLITE_ROW) return t.sqlite_error(rc, "cannot read the schema version");
  return static_cast<int>(st.int64(0));
}

/// Errc::state_version_unsupported: the file's tables are at `version`.
inline Error too_new(Tables const& t, int version) {
  return Error{Errc::state_version_unsupported,
               std::string(t.schema.store) + " '" + t.path_text + "' has " + t.schema.layout + " schema version " +
                   std::to_string(version) + "; this build of leash reads up to " + std::to_string(t.schema.latest())};
}

/// In one write transaction: the version read again (another process may
/// have migrated the file while this one waited for the lock), the
/// migrations above it, the version recorded. Nothing when it is current.
inline result<void> migrate(Tables& t) {
  return t.in_write([&]() -> result<void> {
    BOOST_OUTCOME_TRY(int version, schema_version(t));
    if (version > t.schema.latest()) return too_new(t, version);
    if (version == t.schema.latest()) return success();
    std::string const table = t.schema.version_table;
    BOOST_OUTCOME_TRY(t.exec(
        ("CREATE TABLE IF NOT EXISTS " + table + " (component TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL)")
            .c_str(),
        "cannot create " + table));
    for (auto const& m : t.schema.migrations) {
      if (m.version <= version) continue;
      BOOST_OUTCOME_TRY(t.exec(m.sql, "cannot apply migration " + std::to_string(m.version)));
    }
    sql::Statement st;
    BOOST_OUTCOME_TRY(t.prepare(st,
                                "INSERT INTO " + table +
                                    " (component, version) VALUES (:component, :version) ON CONFLICT (component) "
                                    "DO UPDATE SET version = excluded.version",
                                "cannot record the schema version"));
    Binder const bind(t.schema.store);
    bind(st, ":component", t.schema.component);
    bind(st, ":version", std::int64_t{t.schema.latest()});
    return t.run(st, "cannot record the schema version");
  });
}

/// The whole opening: connect, then the version first (a newer file is
/// refused and left as it was: nothing is set on it), the pragmas, and the
/// migrations when the file is behind.
inline result<void> open(Tables& t, std::filesystem::path path, std::chrono::milliseconds busy_timeout) {
  BOOST_OUTCOME_TRY(connect(t, std::move(path), busy_timeout));
  BOOST_OUTCOME_TRY(int version, schema_version(t));
  if (version > t.schema.latest()) return too_new(t, version);
  BOOST_OUTCOME_TRY(configure(t));
  if (version == t.schema.latest()) return success();
  return migrate(t);
}

}  // namespace leash::detail::sqlite_tables

#endif
