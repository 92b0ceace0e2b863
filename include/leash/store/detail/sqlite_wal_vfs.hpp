// leash/store/detail/sqlite_wal_vfs.hpp — a SQLite VFS that writes each
// commit to the write-ahead log in one system call.
//
// Why: SQLite appends a commit to the log frame by frame, two `pwrite`s per
// page changed (a 24-byte frame header, then the page), so a store write of
// five pages costs ten system calls; on a VM each is a microsecond or two.
// The frames of one transaction are contiguous in the log, so this VFS keeps
// them in memory and writes them in one `pwrite` when SQLite writes the page
// of the commit frame (its header carries the database size, non-zero only
// for a commit).
//
// Why it is safe: SQLite only publishes frames (in the shared wal-index that
// readers use) after sqlite3WalFrames has written all of them, which is after
// this VFS has written them; a process killed while frames are held had not
// committed them, exactly as if it were killed between two of SQLite's own
// writes. Everything that looks at the log through this file (a read, a sync,
// the size, a truncation, a file control, closing) writes the held frames
// first, so SQLite never sees the file differ from what it wrote.
//
// Only log files (SQLITE_OPEN_WAL) are wrapped. The database file, its
// journal and the shared-memory index are the default VFS's own objects, so
// locking and the file format are exactly SQLite's, and connections without
// this VFS (the sqlite3 shell, other programs) share the files as usual.
#ifndef LEASH_STORE_DETAIL_SQLITE_WAL_VFS_HPP
#define LEASH_STORE_DETAIL_SQLITE_WAL_VFS_HPP

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

namespace leash::detail::sqlite {

namespace wal_vfs {

/// The layout of the log (https://www.sqlite.org/fileformat.html#walformat).
inline constexpr int frame_header_size = 24;
/// The most one write hands the default VFS: its unix write takes fewer than
/// 128 KiB per call. A transaction larger than this is written as it goes.
inline constexpr std::size_t max_write = std::size_t(64) << 10;

/// Our part of a log file; the default VFS's file object follows it in the
/// same allocation (SQLite allocates szOsFile bytes per file).
struct LogFile {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file*
  sqlite3_file* real;
  std::vector<unsigned char>* held;  // frames not yet written (owned)
  sqlite3_int64 held_at;             // their offset in the log
  bool commit_page_next;             // the last write was a commit frame's header
};

inline sqlite3_vfs*& base_vfs() {
  static sqlite3_vfs* base = nullptr;
  return base;
}

inline std::size_t real_offset() { return (sizeof(LogFile) + 15) & ~std::size_t(15); }

/// Writes made to log files through this VFS, process-wide (tests, diagnostics).
inline std::atomic<std::uint64_t>& log_writes() {
  static std::atomic<std::uint64_t> n{0};
  return n;
}

inline int flush(LogFile* f) {
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < f->held->size() && rc == SQLITE_OK;) {
    std::size_t n = std::min(max_write, f->held->size() - done);
    log_writes().fetch_add(1, std::memory_order_relaxed);
    rc = f->real->pMethods->xWrite(f->real, f->held->data() + done, static_cast<int>(n),
                                   f->held_at + static_cast<sqlite3_int64>(done));
    done += n;
  }
  f->held->clear();
  return rc;
}

inline LogFile* log_file(sqlite3_file* p) { return reinterpret_cast<LogFile*>(p); }

inline int x_close(sqlite3_file* p) {
  LogFile* f = log_file(p);
  int flushed = flush(f);
  int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
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
  if (!f->held->empty() && at != f->held_at + static_cast<sqlite3_int64>(f->held->size())) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (f->held->empty()) f->held_at = at;
  try {
    f->held->insert(f->held->end(), bytes, bytes + n);
  } catch (...) {
    f->held->clear();
    return SQLITE_IOERR_NOMEM;
  }
  // A frame header (not the 32-byte log header at offset 0) whose database
  // size is non-zero announces a commit: the page after it ends the transaction.
  bool commit_page = f->commit_page_next;
  f->commit_page_next = n == frame_header_size && at > 0 &&
                        (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
  if (commit_page || f->held->size() >= max_write) return flush(f);
  return SQLITE_OK;
}

inline int x_truncate(sqlite3_file* p, sqlite3_int64 size) {
  LogFile* f = log_file(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
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

inline int x_open(sqlite3_vfs* self, char const* name, sqlite3_file* out, int flags, int* out_flags) {
  sqlite3_vfs* base = base_vfs();
  if (!(flags & SQLITE_OPEN_WAL)) {
    // Everything else is the default VFS's own object, in place.
    return base->xOpen(base, name, out, flags, out_flags);
  }
  auto* f = reinterpret_cast<LogFile*>(out);
  f->base.pMethods = nullptr;  // until it is open: SQLite then calls no xClose
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<unsigned char*>(out) + real_offset());
  f->held = new (std::nothrow) std::vector<unsigned char>();
  f->held_at = 0;
  f->commit_page_next = false;
  if (!f->held) return SQLITE_NOMEM;
  int rc = base->xOpen(base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || !f->real->pMethods) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    delete f->held;
    f->held = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  f->base.pMethods = &log_methods;
  (void)self;
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
    int own = static_cast<int>(wal_vfs::real_offset());
    vfs.szOsFile = own + base->szOsFile;  // a log file: ours, then the default VFS's
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
