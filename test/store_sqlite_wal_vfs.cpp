// Tests of leash/store/detail/sqlite_wal_vfs.hpp: a commit reaches the log in
// one write, and nothing SQLite promises changes: other connections (on the
// default VFS) see each commit, a killed process (or a copy of the files taken
// right after a commit) keeps what was committed, pages spilled and rewritten
// in place, rollbacks followed by another writer, synchronous=FULL with
// padding frames (psow=0) and a restarted log leave a sound file.
#if defined(LEASH_HAS_SQLITE)
#include <leash/store/detail/sqlite_wal_vfs.hpp>
#endif
#include <boost/test/unit_test.hpp>

#if defined(LEASH_HAS_SQLITE)

#include "raw_sqlite.hpp"
#include "temp_dir.hpp"

#include <sqlite3.h>

#include <csignal>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace test_store_sqlite_wal_vfs {
namespace fs = std::filesystem;
using leash_test::RawDb;

std::uint64_t log_writes() { return leash::detail::sqlite::wal_vfs::log_writes().load(); }
/// Bytes still held when a write lock went: after a commit this must never
/// happen (SQLite has published the commit by then).
std::uint64_t held_at_unlock() { return leash::detail::sqlite::wal_vfs::held_at_unlock().load(); }

/// A database on the VFS, in WAL mode, with three tables, so a commit that
/// inserts into each changes at least three pages.
void make_schema(RawDb& db, char const* synchronous = "NORMAL") {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec(std::string("PRAGMA synchronous=") + synchronous);
  db.exec("PRAGMA wal_autocheckpoint=0");  // the log keeps every frame: they are counted below
  db.exec("CREATE TABLE a (k INTEGER PRIMARY KEY, v BLOB); CREATE TABLE b (k INTEGER PRIMARY KEY, v BLOB);"
          "CREATE TABLE c (k INTEGER PRIMARY KEY, v BLOB)");
}

void insert_into_each(RawDb& db, int k, int bytes) {
  std::string n = std::to_string(k), size = std::to_string(bytes);
  db.exec("BEGIN; INSERT INTO a VALUES (" + n + ", randomblob(" + size + ")); INSERT INTO b VALUES (" + n +
          ", randomblob(" + size + ")); INSERT INTO c VALUES (" + n + ", randomblob(" + size + ")); COMMIT");
}

BOOST_AUTO_TEST_SUITE(store_sqlite_wal_vfs)

BOOST_AUTO_TEST_CASE(the_vfs_is_registered_under_its_name) {
  char const* name = leash::detail::sqlite::wal_batching_vfs();
  BOOST_REQUIRE(name != nullptr);
  BOOST_TEST(std::string(name) == "leash-wal-batch");
  BOOST_TEST(sqlite3_vfs_find(name) != nullptr);
  BOOST_TEST(sqlite3_vfs_find(nullptr) != sqlite3_vfs_find(name));  // not made the default
}

/// Frames in the log file, from its size (the log never restarts in these tests
/// before this is read: wal_autocheckpoint=0).
long long frames_in(fs::path const& db_path, RawDb& db) {
  long long page = std::stoll(db.text("PRAGMA page_size"));
  auto size = static_cast<long long>(fs::file_size(fs::path(db_path.string() + "-wal")));
  return size <= 32 ? 0 : (size - 32) / (24 + page);
}

BOOST_AUTO_TEST_CASE(each_commit_reaches_the_log_in_one_write) {
  leash_test::TempDir dir("leash-walvfs");
  fs::path path = dir / "t.db";
  RawDb db(path, leash::detail::sqlite::wal_batching_vfs(), true);
  make_schema(db);
  RawDb other(path);  // the default VFS, as another program
  long long frames_before = frames_in(path, db);
  std::uint64_t before = log_writes();
  std::uint64_t held_before = held_at_unlock();
  for (int k = 0; k < 20; ++k) {
    insert_into_each(db, k, 1500);
    // Seen at once by a connection that does not use the VFS.
    BOOST_TEST(other.count("c") == k + 1);
  }
  long long frames = frames_in(path, db) - frames_before;
  BOOST_TEST(frames >= 60);  // three pages or more per commit, each a header and a page...
  BOOST_TEST(log_writes() - before == 20u);  // ...in one write per commit...
  BOOST_TEST(held_at_unlock() == held_before);  // ...made before SQLite published it
  BOOST_TEST(other.text("PRAGMA integrity_check") == "ok");
}

BOOST_AUTO_TEST_CASE(a_killed_process_keeps_every_commit) {
  leash_test::TempDir dir("leash-walvfs");
  fs::path path = dir / "t.db";
  {
    RawDb db(path, leash::detail::sqlite::wal_batching_vfs(), true);
    make_schema(db);
  }
  pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    // No Boost.Test here: plain sqlite, then SIGKILL with the connection open.
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, leash::detail::sqlite::wal_batching_vfs()) !=
        SQLITE_OK)
      ::_exit(2);
    for (int k = 0; k < 50; ++k) {
      std::string sql = "INSERT INTO a VALUES (" + std::to_string(k) + ", randomblob(3000))";
      if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) ::_exit(3);
    }
    ::raise(SIGKILL);
    ::_exit(4);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_REQUIRE(WIFSIGNALED(status));
  BOOST_TEST(WTERMSIG(status) == SIGKILL);
  RawDb after(path);  // recovers the log left behind
  BOOST_TEST(after.count("a") == 50);
  BOOST_TEST(after.text("PRAGMA integrity_check") == "ok");
}

/// Copies the database and its log as they are on disk now (what a process
/// killed at this instant would leave) into `to`, and opens the copy.
long long rows_in_a_copy(fs::path const& path, fs::path const& to, std::string const& table) {
  fs::create_directories(to);
  fs::copy_file(path, to / "t.db", fs::copy_options::overwrite_existing);
  fs::copy_file(fs::path(path.string() + "-wal"), to / "t.db-wal", fs::copy_options::overwrite_existing);
  fs::remove(to / "t.db-shm");
  RawDb copy(to / "t.db");
  BOOST_TEST(copy.text("PRAGMA integrity_check") == "ok");
  return copy.count(table);
}

BOOST_AUTO_TEST_CASE(spilled_and_rewritten_pages_and_rollbacks_leave_a_sound_file) {
  leash_test::TempDir dir("leash-walvfs");
  fs::path path = dir / "t.db";
  RawDb db(path, leash::detail::sqlite::wal_batching_vfs(), true);
  make_schema(db);
  // A tiny page cache: SQLite spills pages into the log before the commit,
  // rewrites spilled pages it changes again in place, and at the commit
  // rewrites those frames' headers (new checksums).
  db.exec("PRAGMA cache_size=8");
  std::uint64_t held_before = held_at_unlock();
  db.exec("BEGIN");
  for (int k = 0; k < 300; ++k) db.exec("INSERT INTO a VALUES (" + std::to_string(k) + ", randomblob(3000))");
  db.exec("UPDATE a SET v = zeroblob(10) WHERE k % 7 = 0");
  db.exec("COMMIT");
  BOOST_TEST(held_at_unlock() == held_before);  // written before it was published
  // The files as they are right after the commit hold all of it.
  BOOST_TEST(rows_in_a_copy(path, dir / "copy1", "a") == 300);
  RawDb other(path);
  BOOST_TEST(other.count("a") == 300);
  BOOST_TEST(other.text("SELECT COUNT(*) FROM a WHERE length(v) = 10") == "43");

  // A spilled transaction rolled back, right after the log started over;
  // then another connection writes where its frames were.
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.exec("BEGIN");
  for (int k = 1000; k < 1100; ++k) db.exec("INSERT INTO a VALUES (" + std::to_string(k) + ", randomblob(3000))");
  db.exec("ROLLBACK");
  // What it spilled last was still held: written before the lock went.
  BOOST_TEST(held_at_unlock() == held_before + 1);
  for (int k = 2000; k < 2010; ++k) other.exec("INSERT INTO a VALUES (" + std::to_string(k) + ", randomblob(500))");
  BOOST_TEST(db.count("a") == 310);
  insert_into_each(db, 5000, 100);
  BOOST_TEST(rows_in_a_copy(path, dir / "copy2", "a") == 311);
  BOOST_TEST(other.count("a") == 311);
  BOOST_TEST(other.text("PRAGMA integrity_check") == "ok");
}

BOOST_AUTO_TEST_CASE(synchronous_full_with_padding_and_a_restarted_log_work) {
  leash_test::TempDir dir("leash-walvfs");
  fs::path path = dir / "t.db";
  // psow=0 and synchronous=FULL: each commit is padded to a sector boundary
  // with copies of its last frame, one of them split by a sync.
  std::string uri = "file:" + path.string() + "?psow=0";
  {
    RawDb db(uri, leash::detail::sqlite::wal_batching_vfs(), true, true);
    make_schema(db, "FULL");
    RawDb other(path);
    std::uint64_t held_before = held_at_unlock();
    // Each commit is padded to a 4 KiB boundary with one more frame, split
    // by a sync where the boundary falls (frames are 4120 bytes): commits of
    // one page and of three or more put that split at many offsets.
    insert_into_each(db, 0, 700);
    for (int k = 1; k < 120; ++k) {
      if (k % 3 == 0)
        insert_into_each(db, k / 3 + 1, 700);
      else
        db.exec("UPDATE c SET v = randomblob(700) WHERE k = 0");  // one page
    }
    // Large commits (150 to 190 pages, several writes each) put the sync
    // point at many places in their padding frame, right after its header
    // among them.
    for (int rows = 150; rows <= 190; ++rows) {
      db.exec("BEGIN");
      for (int r = 0; r < rows; ++r) db.exec("INSERT INTO a (v) VALUES (randomblob(3000))");
      db.exec("COMMIT");
    }
    BOOST_TEST(other.count("b") == 40);
    BOOST_TEST(other.count("a") == 40 + (150 + 190) * 41 / 2);
    BOOST_TEST(held_at_unlock() == held_before);  // every commit written before it was published
    BOOST_TEST(rows_in_a_copy(path, dir / "copy", "b") == 40);
    // Copy the log into the database and start it over: the next commit
    // writes the log header at offset 0, then its frames.
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    BOOST_TEST(fs::file_size(fs::path(path.string() + "-wal")) == 0u);
    for (int k = 100000; k < 100010; ++k) insert_into_each(db, k, 700);
    BOOST_TEST(other.count("b") == 50);
  }
  // Closed: the last connection checkpointed and removed the log.
  BOOST_TEST(!fs::exists(fs::path(path.string() + "-wal")));
  RawDb reopened(path);
  BOOST_TEST(reopened.count("b") == 50);
  BOOST_TEST(reopened.text("PRAGMA integrity_check") == "ok");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_store_sqlite_wal_vfs

#else

BOOST_AUTO_TEST_SUITE(store_sqlite_wal_vfs)
BOOST_AUTO_TEST_CASE(sqlite_not_available) { BOOST_TEST_MESSAGE("SQLite3 was not found: nothing to test"); }
BOOST_AUTO_TEST_SUITE_END()

#endif
