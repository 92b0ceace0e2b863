// leash/store/detail/file_io.hpp — the POSIX calls the file store is made of:
// owned descriptors, whole writes, data syncs, and the two ways a file
// appears atomically (rename over, link when absent).
//
// Every function returns a std::error_code (errno in the generic category);
// callers turn it into a leash::Error that names the file.
#ifndef LEASH_STORE_DETAIL_FILE_IO_HPP
#define LEASH_STORE_DETAIL_FILE_IO_HPP

#include <leash/detail/unique_fd.hpp>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace leash::detail::file_io {

inline std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

using leash::detail::UniqueFd;

inline std::error_code open_file(std::filesystem::path const& path, int flags, UniqueFd& out,
                                 mode_t mode = 0600) noexcept {
  int fd;
  do fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return last_error();
  out.reset(fd);
  return {};
}

/// Writes all of `bytes` at the descriptor's position (its end under O_APPEND).
/// One write() call unless the kernel takes less (disk nearly full, a signal).
inline std::error_code write_all(int fd, std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) return std::make_error_code(std::errc::io_error);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

/// `size` bytes from `offset` (fewer at end of file) into `out`.
inline std::error_code read_at(int fd, std::uint64_t offset, std::size_t size, std::string& out) {
  out.resize(size);
  std::size_t got = 0;
  while (got < size) {
    auto n = ::pread(fd, out.data() + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return {};
}

/// The whole file, from its first byte to its current end.
inline std::error_code read_all(int fd, std::string& out) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return last_error();
  return read_at(fd, 0, static_cast<std::size_t>(st.st_size), out);
}

/// Data (and the size needed to read it) on stable storage.
inline std::error_code sync_data(int fd) noexcept {
#if defined(__APPLE__)
  // fsync on macOS leaves data in the drive's cache; F_FULLFSYNC does not.
  if (::fcntl(fd, F_FULLFSYNC) == 0) return {};
  if (::fsync(fd) == 0) return {};
#elif defined(__linux__)
  if (::fdatasync(fd) == 0) return {};
#else
  if (::fsync(fd) == 0) return {};
#endif
  return last_error();
}

/// Makes a rename, link or unlink inside `dir` durable.
inline std::error_code sync_directory(std::filesystem::path const& dir) noexcept {
  UniqueFd fd;
  if (auto ec = open_file(dir, O_RDONLY | O_DIRECTORY, fd)) return ec;
  if (::fsync(fd.get()) != 0) return last_error();
  return {};
}

inline std::error_code truncate_to(int fd, std::uint64_t size) noexcept {
  int r;
  do r = ::ftruncate(fd, static_cast<off_t>(size));
  while (r != 0 && errno == EINTR);
  return r == 0 ? std::error_code{} : last_error();
}

/// A private temporary name beside `target` (same directory, so rename and
/// link stay within one file system).
inline std::filesystem::path temporary_beside(std::filesystem::path const& target) {
  auto tmp = target;
  tmp += ".tmp." + std::to_string(::getpid());
  return tmp;
}

/// Writes `contents` to a new file at `path` (replacing any), synced when
/// asked; created with `mode` (less the umask).
inline std::error_code write_new_file(std::filesystem::path const& path, std::string_view contents, bool sync,
                                      mode_t mode = 0600) noexcept {
  UniqueFd fd;
  if (auto ec = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, fd, mode)) return ec;
  if (auto ec = write_all(fd.get(), contents)) return ec;
  if (sync)
    if (auto ec = sync_data(fd.get())) return ec;
  return {};
}

/// `target` becomes `contents` at one instant: a reader sees the old file or
/// the new one, never a mix, even after a power loss (temp file synced, renamed
/// over, directory synced). A new file gets `mode` (less the umask).
inline std::error_code replace_atomically(std::filesystem::path const& target, std::string_view contents,
                                          mode_t mode = 0600) {
  auto tmp = temporary_beside(target);
  if (auto ec = write_new_file(tmp, contents, true, mode)) {
    ::unlink(tmp.c_str());
    return ec;
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    auto ec = last_error();
    ::unlink(tmp.c_str());
    return ec;
  }
  return sync_directory(target.parent_path());
}

/// Creates `target` holding `contents` if no file of that name exists
/// (std::errc::file_exists otherwise). The file appears complete or not at all:
/// it is written under a temporary name and hard-linked into place, and
/// link() refuses an existing name atomically.
inline std::error_code create_atomically(std::filesystem::path const& target, std::string_view contents,
                                         bool sync) {
  auto tmp = temporary_beside(target);
  if (auto ec = write_new_file(tmp, contents, sync)) {
    ::unlink(tmp.c_str());
    return ec;
  }
  std::error_code linked;
  if (::link(tmp.c_str(), target.c_str()) != 0) linked = last_error();
  ::unlink(tmp.c_str());
  if (linked) return linked;
  return sync ? sync_directory(target.parent_path()) : std::error_code{};
}

}  // namespace leash::detail::file_io

#endif
