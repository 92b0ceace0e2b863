// Test support: a plain sqlite3 connection to a database file, as another
// program (or an attacker) would have one, to look at or damage what a
// store wrote.
#ifndef LEASH_TEST_RAW_SQLITE_HPP
#define LEASH_TEST_RAW_SQLITE_HPP

#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace leash_test {

class RawDb {
 public:
  /// `vfs`: a registered VFS's name; nullptr for the default one.
  /// `uri`: `path` is a `file:` URI (query parameters such as psow=0).
  explicit RawDb(std::filesystem::path const& path, char const* vfs = nullptr, bool create = false,
                 bool uri = false) {
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | (uri ? SQLITE_OPEN_URI : 0);
    int rc = sqlite3_open_v2(path.string().c_str(), &db_, flags, vfs);
    BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, "cannot open " << path << ": " << sqlite3_errstr(rc));
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(RawDb const&) = delete;
  RawDb& operator=(RawDb const&) = delete;

  void exec(std::string const& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string message = err ? err : "";
    sqlite3_free(err);
    BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
  }
  /// The first column of the first row, as text ("" when there is no row).
  std::string text(std::string const& sql) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
    BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << sqlite3_errmsg(db_));
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      out = reinterpret_cast<char const*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  }
  long long count(std::string const& table) { return std::stoll(text("SELECT COUNT(*) FROM " + table)); }
  /// sqlite's result code for `sql` (for statements expected to fail).
  int try_exec(std::string const& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }
  sqlite3* get() const noexcept { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace leash_test

#endif
