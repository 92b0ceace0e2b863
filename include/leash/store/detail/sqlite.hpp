// leash/store/detail/sqlite.hpp — the few pieces of the sqlite3 C API the
// SQLite store is made of, owned: a connection, a prepared statement with typed
// bind/step/column helpers, and a transaction that rolls back unless committed.
//
// Nothing here throws or allocates beyond what sqlite does; every call returns
// sqlite's result code and the caller turns it into a leash::Error naming the
// file (it holds the path; these wrappers do not).
#ifndef LEASH_STORE_DETAIL_SQLITE_HPP
#define LEASH_STORE_DETAIL_SQLITE_HPP

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace leash::detail::sqlite {

class Database;

/// The primary result code (SQLITE_CORRUPT for SQLITE_CORRUPT_INDEX, …).
constexpr int primary(int rc) noexcept { return rc & 0xff; }

/// Whether `rc` says the bytes on disk are not a sound database.
constexpr bool is_corruption(int rc) noexcept {
  return primary(rc) == SQLITE_CORRUPT || primary(rc) == SQLITE_NOTADB;
}

/// A prepared statement, prepared once and reused. Text is bound without a
/// copy: the bound buffer must outlive the step that reads it (Use::reset
/// clears the bindings, so no stale pointer survives a use).
class Statement {
 public:
  Statement() = default;
  Statement(Statement const&) = delete;
  Statement& operator=(Statement const&) = delete;
  Statement(Statement&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)) {}
  Statement& operator=(Statement&& o) noexcept {
    if (this != &o) {
      sqlite3_finalize(stmt_);
      stmt_ = std::exchange(o.stmt_, nullptr);
    }
    return *this;
  }
  ~Statement() { sqlite3_finalize(stmt_); }

  /// The statement is kept across calls (SQLITE_PREPARE_PERSISTENT).
  int prepare(Database& db, std::string_view sql) noexcept;
  int prepare(sqlite3* db, std::string_view sql) noexcept {
    sqlite3_finalize(std::exchange(stmt_, nullptr));
    return sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt_, nullptr);
  }

  // Parameters are numbered from 1, as in sqlite.
  int bind(int i, std::string_view text) noexcept {
    // A non-null pointer even for "", so empty text is '' and not NULL.
    return sqlite3_bind_text64(stmt_, i, text.empty() ? "" : text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  int bind(int i, std::int64_t v) noexcept { return sqlite3_bind_int64(stmt_, i, v); }
  int bind(int i, std::uint64_t v) noexcept { return sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(v)); }
  int bind(int i, double v) noexcept { return sqlite3_bind_double(stmt_, i, v); }
  int bind_null(int i) noexcept { return sqlite3_bind_null(stmt_, i); }

  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() noexcept { return sqlite3_step(stmt_); }

  // Columns are numbered from 0, as in sqlite; valid until the next step.
  bool is_null(int i) const noexcept { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::int64_t int64(int i) const noexcept { return sqlite3_column_int64(stmt_, i); }
  double real(int i) const noexcept { return sqlite3_column_double(stmt_, i); }
  std::string_view text(int i) const noexcept {
    auto const* p = reinterpret_cast<char const*>(sqlite3_column_text(stmt_, i));
    // column_bytes after column_text: the length of the text just fetched.
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i))) : std::string_view();
  }

  /// Ready for the next use: no bindings, no open read cursor.
  void reset() noexcept {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  sqlite3_stmt* get() const noexcept { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// One use of a cached statement: resets it when the scope ends, however it
/// ends, so a cached statement never holds a read lock or a dangling binding.
class Use {
 public:
  explicit Use(Statement& s) noexcept : s_(s) {}
  Use(Use const&) = delete;
  Use& operator=(Use const&) = delete;
  ~Use() { s_.reset(); }
  Statement* operator->() const noexcept { return &s_; }
  Statement& operator*() const noexcept { return s_; }

 private:
  Statement& s_;
};

/// An open connection; closed on destruction.
class Database {
 public:
  Database() = default;
  Database(Database const&) = delete;
  Database& operator=(Database const&) = delete;
  ~Database() { close(); }

  /// Opens (creating if absent) `path` for reading and writing, with extended
  /// result codes. The caller serialises use of the connection, so sqlite's own
  /// per-connection mutex is left out. On failure the handle is kept (when sqlite
  /// made one) so that message() can say why.
  /// `vfs`: a registered VFS's name, nullptr for the default.
  int open(std::string const& path, char const* vfs = nullptr) noexcept {
    close();
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             vfs);
    if (db_) sqlite3_extended_result_codes(db_, 1);
    return rc;
  }

  /// Runs statements that return no rows we need (pragmas that set, DDL).
  int exec(char const* sql) noexcept { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

  /// Transaction control, prepared once: BEGIN, BEGIN IMMEDIATE, COMMIT and
  /// ROLLBACK run on every write, and parsing them each time shows up.
  enum class Control { begin_read, begin_write, commit, rollback };
  int control(Control c) noexcept {
    static constexpr std::string_view sql[] = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
    auto& st = control_[static_cast<int>(c)];
    if (!st.get()) {
      int rc = st.prepare(*this, sql[static_cast<int>(c)]);
      if (rc != SQLITE_OK) return rc;
    }
    int rc = st.step();
    st.reset();
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }

  /// sqlite's explanation of the last failure on this connection.
  std::string message() const {
    return db_ ? std::string(sqlite3_errmsg(db_)) : std::string("out of memory");
  }

  sqlite3* get() const noexcept { return db_; }

 private:
  void close() noexcept {
    for (auto& st : control_) st = Statement();
    // close_v2 defers the close until the last statement is finalised, so the
    // order in which an owner destroys its statements does not matter.
    if (db_) sqlite3_close_v2(std::exchange(db_, nullptr));
  }

  sqlite3* db_ = nullptr;
  Statement control_[4];
};

/// A transaction: rolled back on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database& db) noexcept : db_(db) {}
  Transaction(Transaction const&) = delete;
  Transaction& operator=(Transaction const&) = delete;
  ~Transaction() {
    if (open_) db_.control(Database::Control::rollback);
  }

  /// BEGIN IMMEDIATE: takes the write lock now (waiting up to the busy
  /// timeout), so the transaction cannot fail later for want of it.
  int begin_write() noexcept { return begin(Database::Control::begin_write); }
  /// BEGIN: one consistent snapshot for several reads.
  int begin_read() noexcept { return begin(Database::Control::begin_read); }

  int commit() noexcept {
    int rc = db_.control(Database::Control::commit);
    if (rc == SQLITE_OK) open_ = false;
    return rc;
  }

 private:
  int begin(Database::Control c) noexcept {
    int rc = db_.control(c);
    open_ = rc == SQLITE_OK;
    return rc;
  }

  Database& db_;
  bool open_ = false;
};

inline int Statement::prepare(Database& db, std::string_view sql) noexcept { return prepare(db.get(), sql); }

}  // namespace leash::detail::sqlite

#endif
