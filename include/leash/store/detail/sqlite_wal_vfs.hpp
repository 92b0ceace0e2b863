// leash/store/detail/sqlite_wal_vfs.hpp — a SQLite VFS that writes each
// frame of the write-ahead log in one system call instead of two.
//
// Why: SQLite appends a frame to the log in two `pwrite`s, a 24-byte frame
// header and then the page, so a store write of five pages costs ten system
// calls; on a VM each is a microsecond or two. This VFS holds a frame header
// written at the end of the log and writes it together with the page that
// SQLite writes next, right behind it (walWriteOneFrame makes the two writes
// back to back, nothing in between).
//
// Why it is safe: nothing is held longer than from a header write to the
// very next write on the file, and the file always receives the bytes in the
// order SQLite wrote them. A write anywhere else (a header or a page rewritten
// in place, as SQLite does for a page changed again after it was spilled, or
// when it rewrites checksums at commit) is written at once, and anything that
// looks at the log (a read, a sync, its size, a truncation, a file control,
// closing) first writes what is held. Holding whole transactions would save
// more, but spilled frames of a transaction that is then rolled back would be
// held past the release of the write lock, and written later over another
// connection's frames: the file layer cannot see the lock.
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
#include <utility>
#include <vector>

namespace leash::detail::sqlite {

namespace wal_vfs {

/// The layout of the log (https://www.sqlite.org/fileformat.html#walformat).
inline constexpr int frame_header_size = 24;

/// Our part of a log file; the default VFS's file object follows it in the
/// same allocation (SQLite allocates szOsFile bytes per file).
struct LogFile {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file*
  sqlite3_file* real;
  std::vector<unsigned char>* joined;  // a held header and its page, written as one (owned)
  sqlite3_int64 last_end;              // where the last write ended; -1 before the first
  sqlite3_int64 header_at;             // offset of the held frame header; -1 when none
  unsigned char header[frame_header_size];
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

inline int write_through(LogFile* f, void const* data, int n, sqlite3_int64 at) {
  log_writes().fetch_add(1, std::memory_order_relaxed);
  int rc = f->real->pMethods->xWrite(f->real, data, n, at);
  f->last_end = rc == SQLITE_OK ? at + n : -1;
  return rc;
}

/// Writes the held header, if any, as SQLite wrote it.
inline int flush(LogFile* f) {
  if (f->header_at < 0) return SQLITE_OK;
  sqlite3_int64 at = std::exchange(f->header_at, -1);
  return write_through(f, f->header, frame_header_size, at);
}

inline LogFile* log_file(sqlite3_file* p) { return reinterpret_cast<LogFile*>(p); }

inline int x_close(sqlite3_file* p) {
  LogFile* f = log_file(p);
  int flushed = flush(f);
  int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  delete f->joined;
  f->joined = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

inline int x_read(sqlite3_file* p, void* out, int n, sqlite3_int64 at) {
  LogFile* f = log_file(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, n, at);
}

inline int x_write(sqlite3_file* p, void const* data, int n, sqlite3_int64 at) {
  LogFile* f = log_file(p);
  if (f->header_at >= 0 && at == f->header_at + frame_header_size) {
    // The held header's page: both in one write.
    sqlite3_int64 header_at = std::exchange(f->header_at, -1);
    try {
      f->joined->resize(frame_header_size + static_cast<std::size_t>(n));
    } catch (...) {
      if (int rc = write_through(f, f->header, frame_header_size, header_at); rc != SQLITE_OK) return rc;
      return write_through(f, data, n, at);
    }
    std::memcpy(f->joined->data(), f->header, frame_header_size);
    std::memcpy(f->joined->data() + frame_header_size, data, static_cast<std::size_t>(n));
    return write_through(f, f->joined->data(), frame_header_size + n, header_at);
  }
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  // A new frame's header, at the end of what was written (not a header
  // rewritten in place, nor the log's own 32-byte header): held for its page.
  if (n == frame_header_size && at > 0 && at == f->last_end) {
    std::memcpy(f->header, data, frame_header_size);
    f->header_at = at;
    return SQLITE_OK;
  }
  return write_through(f, data, n, at);
}

inline int x_truncate(sqlite3_file* p, sqlite3_int64 size) {
  LogFile* f = log_file(p);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  f->last_end = -1;
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
  f->joined = new (std::nothrow) std::vector<unsigned char>();
  f->last_end = -1;
  f->header_at = -1;
  if (!f->joined) return SQLITE_NOMEM;
  int rc = base->xOpen(base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || !f->real->pMethods) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    delete f->joined;
    f->joined = nullptr;
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
