// leash/store/detail/sqlite_wal_vfs.hpp — a SQLite VFS that writes each
// commit to the write-ahead log in one system call.
//
// Why: SQLite appends a commit to the log frame by frame, two `pwrite`s per
// page changed (a 24-byte frame header, then the page), so a store write of
// five pages costs ten system calls; on a VM each is a microsecond or two.
// The frames SQLite appends are contiguous, so this VFS holds them and writes
// them in one `pwrite` as soon as the commit frame is whole (its header
// carries the database size, which is zero for any other frame).
//
// Why it is safe:
// * A commit is written before SQLite publishes it: sqlite3WalFrames writes
//   every frame of the commit, then updates the shared wal-index that readers
//   use. A process killed while frames are held had not committed them.
// * The file receives the bytes in the order SQLite wrote them. A write
//   anywhere but the end of what is held or was written in this pass over the
//   log (a page SQLite rewrites in place after spilling it, the frame headers
//   it rewrites at commit with new checksums) first writes what is held, then
//   goes straight through. The log header starts a new pass.
// * Anything that looks at the log (a read, a sync, its size, a truncation,
//   a file control, closing) first writes what is held.
// * Frames of a transaction that spilled pages and then rolled back are
//   written before the write lock is released (the database file is wrapped
//   too, for its xShmLock), so they never land over frames another
//   connection commits afterwards, exactly as without this VFS.
//
// The database file, the log and the shared-memory index stay the default
// VFS's objects underneath (locking and the file format are exactly
// SQLite's), so connections without this VFS (the sqlite3 shell, other
// programs) share the files as usual. With PRAGMA locking_mode=EXCLUSIVE,
// SQLite takes no shared-memory locks, so nothing is held: every write goes
// straight through (correct, as without this VFS).
#ifndef LEASH_STORE_DETAIL_SQLITE_WAL_VFS_HPP
#define LEASH_STORE_DETAIL_SQLITE_WAL_VFS_HPP

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace leash::detail::sqlite {

namespace wal_vfs {

/// The layout of the log (https://www.sqlite.org/fileformat.html#walformat).
inline constexpr int log_header_size = 32;
inline constexpr int frame_header_size = 24;
/// The most handed to the default VFS in one write, and the most held: a
/// larger transaction is written as it goes.
inline constexpr std::size_t max_write = std::size_t(64) << 10;
inline constexpr std::size_t max_held = std::size_t(256) << 10;

struct DbFile;

/// Our part of a log file; the default VFS's file object follows it in the
/// same allocation (SQLite allocates szOsFile bytes per file).
struct LogFile {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file*
  sqlite3_file* real;
  DbFile* db;                        // the database file whose log this is (same connection)
  std::vector<unsigned char>* held;  // appended bytes not yet written (owned)
  sqlite3_int64 held_at;             // their offset
  sqlite3_int64 written_end;         // the end of what this pass over the log wrote or holds
  sqlite3_int64 commit_end;          // where the commit frame being held ends; -1 when none
  std::uint32_t page_size;           // from the log header; 0 until known
  bool hold;                         // whether appends are held (never without `db`)
};

/// The database file: the default VFS's object, with our methods in front
/// only for xShmLock (see the file comment); everything else is forwarded.
struct DbFile {
  sqlite3_file base;
  sqlite3_file* real;
  LogFile* log;
};

inline sqlite3_vfs*& base_vfs() {
  static sqlite3_vfs* base = nullptr;
  return base;
}

inline std::size_t real_offset() {
  std::size_t own = std::max(sizeof(LogFile), sizeof(DbFile));
  return (own + 15) & ~std::size_t(15);
}

/// Writes made to log files through this VFS, process-wide (tests, diagnostics).
inline std::atomic<std::uint64_t>& log_writes() {
  static std::atomic<std::uint64_t> n{0};
  return n;
}

/// Times bytes were still held when the write lock was released, process-wide.
/// Only a transaction that spilled pages and then rolled back may leave any:
/// a commit is written before SQLite publishes it (tests check it stays so).
inline std::atomic<std::uint64_t>& held_at_unlock() {
  static std::atomic<std::uint64_t> n{0};
  return n;
}

inline int write_through(LogFile* f, unsigned char const* data, std::size_t n, sqlite3_int64 at) {
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < n && rc == SQLITE_OK;) {
    std::size_t part = std::min(max_write, n - done);
    log_writes().fetch_add(1, std::memory_order_relaxed);
    rc = f->real->pMethods->xWrite(f->real, data + done, static_cast<int>(part),
                                   at + static_cast<sqlite3_int64>(done));
    done += part;
  }
  return rc;
}

/// Writes what is held.
inline int flush(LogFile* f) {
  if (f->held->empty()) return SQLITE_OK;
  int rc = write_through(f, f->held->data(), f->held->size(), f->held_at);
  f->held->clear();
  return rc;
}

inline std::uint32_t big_endian_32(unsigned char const* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

/// The page size, from the log header: seen written, or read once.
inline std::uint32_t page_size(LogFile* f) {
  if (f->page_size == 0) {
    unsigned char bytes[4];
    if (f->real->pMethods->xRead(f->real, bytes, 4, 8) == SQLITE_OK) f->page_size = big_endian_32(bytes);
  }
  return f->page_size;
}

inline LogFile* log_file(sqlite3_file* p) { return reinterpret_cast<LogFile*>(p); }
inline DbFile* db_file(sqlite3_file* p) { return reinterpret_cast<DbFile*>(p); }

inline int x_close(sqlite3_file* p) {
  LogFile* f = log_file(p);
  int flushed = flush(f);
  int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  if (f->db) f->db->log = nullptr;
  delete f->held;
  f->held = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

inline int x_read(sqlite3_file* p, void* out, int n, sqlite3_int64 at) {
  LogFile* f = log_file(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, n, at);
}

inline int x_write(sqlite3_file* p, void const* data, int n, sqlite3_int64 at) {
  LogFile* f = log_file(p);
  auto const* bytes = static_cast<unsigned char const*>(data);
  auto size = static_cast<std::size_t>(n);
  if (at == 0 && n >= log_header_size) {
    // The log header: the log starts (over) here; what follows it is new.
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    f->page_size = big_endian_32(bytes + 8);
    f->written_end = 0;
    f->commit_end = -1;
  }
  sqlite3_int64 held_end = f->held_at + static_cast<sqlite3_int64>(f->held->size());
  // Only the writes SQLite's walWriteOneFrame makes (a frame header, then its
  // page, in two calls) and the log header are held: a SQLite that wrote a
  // frame in one call would have its commits go straight through, not held
  // unseen.
  bool frame_part = n == frame_header_size || (at == 0 && n >= log_header_size) ||
                    (f->hold && static_cast<std::uint32_t>(n) == page_size(f));
  bool appends = f->hold && frame_part && (f->held->empty() ? at >= f->written_end : at == held_end);
  bool held = false;
  if (appends) {
    if (f->held->empty()) f->held_at = at;
    try {
      f->held->insert(f->held->end(), bytes, bytes + size);
      held = true;
    } catch (...) {
      // Out of memory: written through below.
    }
  }
  if (!held) {
    // A rewrite in place (or no memory: then nothing more is held in this
    // transaction): what is held first, then this, as SQLite wrote them.
    if (appends) f->hold = false;
    int rc = flush(f);
    if (rc == SQLITE_OK) rc = write_through(f, bytes, size, at);
    f->written_end = std::max(f->written_end, at + n);
    return rc;
  }
  f->written_end = std::max(f->written_end, at + n);
  // A frame header whose database size is non-zero starts a commit frame:
  // everything held is written once that frame's page is held too.
  if (n == frame_header_size && at >= log_header_size && (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0) {
    std::uint32_t page = page_size(f);
    if (page == 0) {
      // The frame's size is unknown: nothing more is held in this transaction.
      f->hold = false;
      return flush(f);
    }
    f->commit_end = at + frame_header_size + page;
  }
  bool commit_whole = f->commit_end >= 0 && f->written_end >= f->commit_end;
  if (commit_whole) {
    // After the commit frame SQLite only pads (psow=0 with synchronous=FULL,
    // where a frame may be split at the sync point, even its header) and
    // rewrites checksums, then publishes: all of that goes straight through.
    f->commit_end = -1;
    f->hold = false;
  }
  if (commit_whole || f->held->size() >= max_held) {
    int rc = flush(f);
    if (f->held->capacity() > max_held) std::vector<unsigned char>().swap(*f->held);
    return rc;
  }
  return SQLITE_OK;
}

inline int x_truncate(sqlite3_file* p, sqlite3_int64 size) {
  LogFile* f = log_file(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  f->written_end = std::min(f->written_end, size);
  return f->real->pMethods->xTruncate(f->real, size);
}

inline int x_sync(sqlite3_file* p, int flags) {
  LogFile* f = log_file(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

inline int x_file_size(sqlite3_file* p, sqlite3_int64* size) {
  LogFile* f = log_file(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

inline int x_lock(sqlite3_file* p, int level) { return log_file(p)->real->pMethods->xLock(log_file(p)->real, level); }
inline int x_unlock(sqlite3_file* p, int level) {
  return log_file(p)->real->pMethods->xUnlock(log_file(p)->real, level);
}
inline int x_check_reserved_lock(sqlite3_file* p, int* out) {
  return log_file(p)->real->pMethods->xCheckReservedLock(log_file(p)->real, out);
}
inline int x_file_control(sqlite3_file* p, int op, void* arg) {
  LogFile* f = log_file(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}
inline int x_sector_size(sqlite3_file* p) { return log_file(p)->real->pMethods->xSectorSize(log_file(p)->real); }
inline int x_device_characteristics(sqlite3_file* p) {
  return log_file(p)->real->pMethods->xDeviceCharacteristics(log_file(p)->real);
}

// Version 1: SQLite never maps or shares memory through a log file.
inline constexpr sqlite3_io_methods log_methods = {
    1,      x_close,       x_read,          x_write,        x_truncate,
    x_sync, x_file_size,   x_lock,          x_unlock,       x_check_reserved_lock,
    x_file_control,        x_sector_size,   x_device_characteristics,
    nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

// The database file: forwarded, but for xShmLock.
inline sqlite3_file* real_of(sqlite3_file* p) { return db_file(p)->real; }
inline int db_close(sqlite3_file* p) {
  DbFile* f = db_file(p);
  if (f->log) f->log->db = nullptr;
  return f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
}
inline int db_read(sqlite3_file* p, void* out, int n, sqlite3_int64 at) {
  return real_of(p)->pMethods->xRead(real_of(p), out, n, at);
}
inline int db_write(sqlite3_file* p, void const* data, int n, sqlite3_int64 at) {
  return real_of(p)->pMethods->xWrite(real_of(p), data, n, at);
}
inline int db_truncate(sqlite3_file* p, sqlite3_int64 size) {
  return real_of(p)->pMethods->xTruncate(real_of(p), size);
}
inline int db_sync(sqlite3_file* p, int flags) { return real_of(p)->pMethods->xSync(real_of(p), flags); }
inline int db_file_size(sqlite3_file* p, sqlite3_int64* size) {
  return real_of(p)->pMethods->xFileSize(real_of(p), size);
}
inline int db_lock(sqlite3_file* p, int level) { return real_of(p)->pMethods->xLock(real_of(p), level); }
inline int db_unlock(sqlite3_file* p, int level) { return real_of(p)->pMethods->xUnlock(real_of(p), level); }
inline int db_check_reserved_lock(sqlite3_file* p, int* out) {
  return real_of(p)->pMethods->xCheckReservedLock(real_of(p), out);
}
inline int db_file_control(sqlite3_file* p, int op, void* arg) {
  return real_of(p)->pMethods->xFileControl(real_of(p), op, arg);
}
inline int db_sector_size(sqlite3_file* p) { return real_of(p)->pMethods->xSectorSize(real_of(p)); }
inline int db_device_characteristics(sqlite3_file* p) {
  return real_of(p)->pMethods->xDeviceCharacteristics(real_of(p));
}
inline int db_shm_map(sqlite3_file* p, int region, int size, int extend, void volatile** out) {
  return real_of(p)->pMethods->xShmMap(real_of(p), region, size, extend, out);
}
/// WAL_WRITE_LOCK is lock 0 (wal.c). Before it is released, the log's held
/// bytes are written (SQLite ignores a failed unlock, so it is released
/// whatever the write gives: a commit's frames were written at its commit,
/// and these belong to one that did not happen). Once it is taken, only the
/// frames of the transaction it guards can be rewritten in place.
inline int db_shm_lock(sqlite3_file* p, int offset, int n, int flags) {
  DbFile* f = db_file(p);
  if (offset == 0 && f->log) {
    if (flags & SQLITE_SHM_UNLOCK) {
      if (!f->log->held->empty()) held_at_unlock().fetch_add(1, std::memory_order_relaxed);
      flush(f->log);
      f->log->held->clear();
      f->log->commit_end = -1;
      f->log->hold = false;
    }
  }
  int rc = f->real->pMethods->xShmLock(f->real, offset, n, flags);
  if (rc == SQLITE_OK && offset == 0 && f->log && (flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE)) {
    f->log->written_end = 0;
    f->log->commit_end = -1;
    f->log->hold = true;
  }
  return rc;
}
inline void db_shm_barrier(sqlite3_file* p) { real_of(p)->pMethods->xShmBarrier(real_of(p)); }
inline int db_shm_unmap(sqlite3_file* p, int delete_flag) {
  return real_of(p)->pMethods->xShmUnmap(real_of(p), delete_flag);
}
inline int db_fetch(sqlite3_file* p, sqlite3_int64 at, int n, void** out) {
  return real_of(p)->pMethods->xFetch(real_of(p), at, n, out);
}
inline int db_unfetch(sqlite3_file* p, sqlite3_int64 at, void* page) {
  return real_of(p)->pMethods->xUnfetch(real_of(p), at, page);
}

// Version 3, as the unix VFS's; a default VFS with older methods is used as it is.
inline constexpr sqlite3_io_methods db_methods = {
    3,          db_close,        db_read,        db_write,        db_truncate,
    db_sync,    db_file_size,    db_lock,        db_unlock,       db_check_reserved_lock,
    db_file_control,             db_sector_size, db_device_characteristics,
    db_shm_map, db_shm_lock,     db_shm_barrier, db_shm_unmap,    db_fetch,
    db_unfetch};

/// Opens `name` with the default VFS into `real`; on failure leaves nothing open.
inline int open_real(char const* name, sqlite3_file* real, int flags, int* out_flags) {
  sqlite3_vfs* base = base_vfs();
  real->pMethods = nullptr;
  int rc = base->xOpen(base, name, real, flags, out_flags);
  if (rc == SQLITE_OK && real->pMethods) return SQLITE_OK;
  if (real->pMethods) real->pMethods->xClose(real);
  return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
}

inline int x_open(sqlite3_vfs*, char const* name, sqlite3_file* out, int flags, int* out_flags) {
  sqlite3_vfs* base = base_vfs();
  out->pMethods = nullptr;  // until it is open: SQLite then calls no xClose
  auto* real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<unsigned char*>(out) + real_offset());
  if (flags & SQLITE_OPEN_MAIN_DB) {
    auto* f = db_file(out);
    f->real = real;
    f->log = nullptr;
    if (int rc = open_real(name, real, flags, out_flags); rc != SQLITE_OK) return rc;
    if (real->pMethods->iVersion < 3) {
      real->pMethods->xClose(real);
      return base->xOpen(base, name, out, flags, out_flags);
    }
    f->base.pMethods = &db_methods;
    return SQLITE_OK;
  }
  if (!(flags & SQLITE_OPEN_WAL)) {
    // Journals and temporary files: the default VFS's own object, in place.
    return base->xOpen(base, name, out, flags, out_flags);
  }
  auto* f = log_file(out);
  f->real = real;
  f->db = nullptr;
  f->held_at = 0;
  f->written_end = 0;
  f->commit_end = -1;
  f->page_size = 0;
  f->hold = false;  // until the write lock is taken (and never without the database file)
  f->held = new (std::nothrow) std::vector<unsigned char>();
  if (!f->held) return SQLITE_NOMEM;
  if (int rc = open_real(name, real, flags, out_flags); rc != SQLITE_OK) {
    delete f->held;
    f->held = nullptr;
    return rc;
  }
  // The connection's database file: held frames are written before its
  // write lock goes. A log whose database file is not ours holds nothing.
#if SQLITE_VERSION_NUMBER >= 3031000
  sqlite3_file* db = sqlite3_database_file_object(name);
#else
  sqlite3_file* db = nullptr;  // no way to find it: nothing is held
#endif
  if (db && db->pMethods == &db_methods) {
    f->db = db_file(db);
    f->db->log = f;
  }
  f->base.pMethods = &log_methods;
  return SQLITE_OK;
}

// The rest is the default VFS's.
inline int x_delete(sqlite3_vfs*, char const* name, int sync_dir) {
  return base_vfs()->xDelete(base_vfs(), name, sync_dir);
}
inline int x_access(sqlite3_vfs*, char const* name, int flags, int* out) {
  return base_vfs()->xAccess(base_vfs(), name, flags, out);
}
inline int x_full_pathname(sqlite3_vfs*, char const* name, int n, char* out) {
  return base_vfs()->xFullPathname(base_vfs(), name, n, out);
}
inline void* x_dl_open(sqlite3_vfs*, char const* name) { return base_vfs()->xDlOpen(base_vfs(), name); }
inline void x_dl_error(sqlite3_vfs*, int n, char* out) { base_vfs()->xDlError(base_vfs(), n, out); }
inline void (*x_dl_sym(sqlite3_vfs*, void* h, char const* name))(void) {
  return base_vfs()->xDlSym(base_vfs(), h, name);
}
inline void x_dl_close(sqlite3_vfs*, void* h) { base_vfs()->xDlClose(base_vfs(), h); }
inline int x_randomness(sqlite3_vfs*, int n, char* out) { return base_vfs()->xRandomness(base_vfs(), n, out); }
inline int x_sleep(sqlite3_vfs*, int us) { return base_vfs()->xSleep(base_vfs(), us); }
inline int x_current_time(sqlite3_vfs*, double* out) { return base_vfs()->xCurrentTime(base_vfs(), out); }
inline int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return base_vfs()->xGetLastError ? base_vfs()->xGetLastError(base_vfs(), n, out) : 0;
}
inline int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return base_vfs()->xCurrentTimeInt64(base_vfs(), out);
}

inline constexpr char const* name = "leash-wal-batch";

}  // namespace wal_vfs

/// Registers the VFS on first use (not as the default: only connections that
/// name it use it) and returns its name; nullptr when it could not be (the
/// caller then opens with the default VFS, which is correct, only slower).
inline char const* wal_batching_vfs() noexcept {
  static char const* const registered = []() noexcept -> char const* {
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    // Needs version 2 (xCurrentTimeInt64); the version-3 system-call hooks are
    // not forwarded, as nothing here uses them.
    if (!base || base->iVersion < 2) return nullptr;
    wal_vfs::base_vfs() = base;
    static sqlite3_vfs vfs{};
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(wal_vfs::real_offset()) + base->szOsFile;  // ours, then the default's
    vfs.mxPathname = base->mxPathname;
    vfs.zName = wal_vfs::name;
    vfs.xOpen = wal_vfs::x_open;
    vfs.xDelete = wal_vfs::x_delete;
    vfs.xAccess = wal_vfs::x_access;
    vfs.xFullPathname = wal_vfs::x_full_pathname;
    vfs.xDlOpen = wal_vfs::x_dl_open;
    vfs.xDlError = wal_vfs::x_dl_error;
    vfs.xDlSym = wal_vfs::x_dl_sym;
    vfs.xDlClose = wal_vfs::x_dl_close;
    vfs.xRandomness = wal_vfs::x_randomness;
    vfs.xSleep = wal_vfs::x_sleep;
    vfs.xCurrentTime = wal_vfs::x_current_time;
    vfs.xGetLastError = wal_vfs::x_get_last_error;
    vfs.xCurrentTimeInt64 = wal_vfs::x_current_time_int64;
    return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK ? wal_vfs::name : nullptr;
  }();
  return registered;
}

}  // namespace leash::detail::sqlite

#endif
