// Internals of run_command: owned descriptors, the SIGPIPE guard, the spawn
// attributes and file actions, the child's environment, the PATH search and
// the child (a process group leader) itself. Linux only. Not for direct use.
//
// Functions return errno values (0: success); run_command turns them into a
// leash::Error that names the command.
#ifndef LEASH_DETAIL_EXEC_POSIX_HPP
#define LEASH_DETAIL_EXEC_POSIX_HPP

#include <leash/detail/unique_fd.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" char** environ;

namespace leash::detail::exec {

using leash::detail::UniqueFd;

/// Moves `fd` to a number above 2, so a dup2 onto 0, 1 or 2 in the child
/// never has the same source and target (which would leave FD_CLOEXEC set).
/// Only happens when this process runs with a standard stream closed.
inline int lift_above_stdio(UniqueFd& fd) noexcept {
  if (fd.get() > 2) return 0;
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return errno;
  fd.reset(moved);
  return 0;
}

/// A pipe whose both ends are close-on-exec: another thread's posix_spawn must
/// never inherit them (a stray copy of a write end would keep our reads open).
/// The child gets its end through dup2, which clears the flag on the copy.
struct Pipe {
  UniqueFd read, write;
};

/// The end this process keeps (the read end when `parent_reads`) is made
/// non-blocking; the child's end stays blocking, as programs expect of stdio.
inline int make_pipe(Pipe& p, bool parent_reads) noexcept {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno;
  p.read.reset(fds[0]);
  p.write.reset(fds[1]);
  if (int e = lift_above_stdio(p.read)) return e;
  if (int e = lift_above_stdio(p.write)) return e;
  int parent = parent_reads ? p.read.get() : p.write.get();
  int flags = ::fcntl(parent, F_GETFL);
  if (flags < 0 || ::fcntl(parent, F_SETFL, flags | O_NONBLOCK) != 0) return errno;
  return 0;
}

/// Writing to a pipe whose reader has gone raises SIGPIPE, whose default
/// action ends the whole process. A library must not change the process's
/// signal dispositions (they belong to the application, and other threads),
/// so the write is made with SIGPIPE blocked in this thread only: the signal
/// then stays pending on the thread and write() fails with EPIPE, which we
/// handle; `finish(true)` takes our pending SIGPIPE back with a zero-timeout
/// sigtimedwait. A SIGPIPE already pending before the write is not ours and
/// is left alone.
class SigpipeGuard {
 public:
  SigpipeGuard() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }
  SigpipeGuard(SigpipeGuard const&) = delete;
  SigpipeGuard& operator=(SigpipeGuard const&) = delete;

  /// After a write that failed with EPIPE: consume the SIGPIPE it raised.
  void consume() noexcept {
    if (was_pending_) return;
    timespec zero{};
    while (::sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }

  ~SigpipeGuard() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false;
};

/// posix_spawn_file_actions_t, destroyed on every path.
class FileActions {
 public:
  FileActions() noexcept { ok_ = ::posix_spawn_file_actions_init(&fa_) == 0; }
  FileActions(FileActions const&) = delete;
  FileActions& operator=(FileActions const&) = delete;
  ~FileActions() {
    if (ok_) ::posix_spawn_file_actions_destroy(&fa_);
  }
  bool ok() const noexcept { return ok_; }
  posix_spawn_file_actions_t* get() noexcept { return &fa_; }

 private:
  posix_spawn_file_actions_t fa_{};
  bool ok_ = false;
};

/// posix_spawnattr_t, destroyed on every path.
class SpawnAttributes {
 public:
  SpawnAttributes() noexcept { ok_ = ::posix_spawnattr_init(&at_) == 0; }
  SpawnAttributes(SpawnAttributes const&) = delete;
  SpawnAttributes& operator=(SpawnAttributes const&) = delete;
  ~SpawnAttributes() {
    if (ok_) ::posix_spawnattr_destroy(&at_);
  }
  bool ok() const noexcept { return ok_; }
  posix_spawnattr_t* get() noexcept { return &at_; }

 private:
  posix_spawnattr_t at_{};
  bool ok_ = false;
};

/// The child starts in a session (and so a process group) of its own, with
/// no signal blocked and the signals that matter for stopping it at their
/// default action: it inherits neither our mask nor an "ignore" our parent
/// may have set (an ignored SIGTERM would make the grace period useless; an
/// ignored SIGPIPE breaks `producer | head`). SIGHUP is left as inherited, so
/// `nohup` keeps its meaning.
///
/// A session rather than only a process group: the child has no controlling
/// terminal, so a program that asks for a password on /dev/tty fails at once
/// instead of being stopped (SIGTTIN) until the timeout; and Ctrl-C at the
/// terminal reaches us, not the command (we end it ourselves).
inline int set_spawn_attributes(SpawnAttributes& at) noexcept {
  if (!at.ok()) return ENOMEM;
  short flags = POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (int e = ::posix_spawnattr_setflags(at.get(), flags)) return e;
  sigset_t none;
  sigemptyset(&none);
  if (int e = ::posix_spawnattr_setsigmask(at.get(), &none)) return e;
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGXFSZ, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2,
                  SIGTSTP, SIGTTIN, SIGTTOU})
    sigaddset(&defaults, sig);
  return ::posix_spawnattr_setsigdefault(at.get(), &defaults);
}

/// Whether `name` can be an environment variable's name here.
inline bool valid_env_name(std::string_view name) noexcept {
  return !name.empty() && name.find('=') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

/// "NAME=value" entries: this process's environment (when `inherit`), minus
/// `unset`, with `set` applied in order (a later entry for a name wins).
/// Names are checked by the caller.
inline std::vector<std::string> build_environment(bool inherit, std::vector<std::string> const& unset,
                                                  std::vector<std::pair<std::string, std::string>> const& set) {
  std::vector<std::string> entries;
  if (inherit)
    for (char** e = environ; e && *e; ++e) entries.emplace_back(*e);
  auto remove = [&](std::string_view name) {
    std::erase_if(entries, [&](std::string const& entry) {
      return entry.size() > name.size() && entry[name.size()] == '=' && entry.starts_with(name);
    });
  };
  for (auto const& name : unset) remove(name);
  for (auto const& [name, value] : set) {
    remove(name);
    entries.push_back(name + '=' + value);
  }
  return entries;
}

/// The value of NAME in "NAME=value" entries, if present.
inline std::optional<std::string_view> find_env(std::vector<std::string> const& entries, std::string_view name) {
  for (auto const& entry : entries)
    if (entry.size() > name.size() && entry[name.size()] == '=' && entry.starts_with(name))
      return std::string_view(entry).substr(name.size() + 1);
  return std::nullopt;
}

/// null-terminated array of pointers into `strings`, for posix_spawn.
inline std::vector<char*> c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

/// Starts argv[0]; a name without '/' is searched in `path` (the PATH of the
/// child's environment, as a shell would; glibc's default when it has none),
/// trying each directory like execvp: a missing file or directory moves on,
/// a permission error is remembered and reported if nothing else is found.
inline int spawn(pid_t& pid, std::string const& file, std::string_view path, FileActions& fa,
                 SpawnAttributes& at, char* const* argv, char* const* envp) {
  if (file.find('/') != std::string::npos) return ::posix_spawn(&pid, file.c_str(), fa.get(), at.get(), argv, envp);
  int result = ENOENT;
  std::string candidate;
  for (;;) {
    auto colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    candidate.assign(dir.empty() ? std::string_view(".") : dir);  // an empty entry is the cwd
    candidate += '/';
    candidate += file;
    int e = ::posix_spawn(&pid, candidate.c_str(), fa.get(), at.get(), argv, envp);
    if (e == 0) return 0;
    if (e == EACCES)
      result = EACCES;
    else if (e != ENOENT && e != ENOTDIR && e != ESTALE && e != ENODEV && e != ETIMEDOUT)
      return e;
    if (colon == std::string_view::npos) return result;
    path.remove_prefix(colon + 1);
  }
}

/// The started child, leader of its own process group (pgid == pid).
///
/// It is not reaped until the very end: while it is a zombie its pid, and so
/// the group id, cannot be given to another process, which makes every
/// kill(-pid, …) safe even after the child has exited. Exit is observed with
/// waitid(WNOWAIT), which leaves the zombie in place; a pidfd (Linux 5.3)
/// makes the exit wake poll(), and without one the caller polls in slices.
///
/// Destroyed unreaped (an exception on the way), it kills the group and reaps.
class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) noexcept : pid_(pid) {
#if defined(SYS_pidfd_open)
    long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) pidfd_.reset(static_cast<int>(fd));
#endif
  }
  ChildProcess(ChildProcess const&) = delete;
  ChildProcess& operator=(ChildProcess const&) = delete;
  ~ChildProcess() {
    if (!reaped_) {
      signal_group(SIGKILL);
      reap();
    }
  }

  pid_t pid() const noexcept { return pid_; }
  /// Readable when the child exits; -1 when pidfds are unavailable.
  int pidfd() const noexcept { return pidfd_.get(); }

  /// Whether the child has exited (it stays a zombie until reap()).
  bool exited() noexcept {
    if (exited_) return true;
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    int rc;
    do rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    while (rc < 0 && errno == EINTR);
    // ECHILD: someone else reaped it (a waitpid(-1) elsewhere in the process).
    if ((rc == 0 && info.si_pid != 0) || (rc < 0 && errno == ECHILD)) exited_ = true;
    return exited_;
  }

  /// Sends `sig` to every process in the child's group. A no-op once reaped.
  void signal_group(int sig) noexcept {
    if (!reaped_) ::kill(-pid_, sig);
  }

  /// Reaps the child (waiting if it has not exited) and returns its exit
  /// code: the status, -N when killed by signal N, -1 when unknown.
  int reap() noexcept {
    if (reaped_) return code_;
    int status = 0;
    pid_t rc;
    do rc = ::waitpid(pid_, &status, 0);
    while (rc < 0 && errno == EINTR);
    reaped_ = exited_ = true;
    pidfd_.reset();
    if (rc == pid_) {
      if (WIFEXITED(status)) code_ = WEXITSTATUS(status);
      else if (WIFSIGNALED(status)) code_ = -WTERMSIG(status);
    }
    return code_;
  }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
  bool exited_ = false, reaped_ = false;
  int code_ = -1;
};

/// `now + d`, saturating at the clock's end (a timeout of milliseconds::max()
/// means "no limit" and must not overflow).
template <class Clock, class Rep, class Period>
typename Clock::time_point after(typename Clock::time_point now, std::chrono::duration<Rep, Period> d) noexcept {
  if (d <= d.zero()) return now;
  auto room = Clock::time_point::max() - now;
  if (d >= std::chrono::duration_cast<std::chrono::duration<Rep, Period>>(room)) return Clock::time_point::max();
  return now + std::chrono::duration_cast<typename Clock::duration>(d);
}

}  // namespace leash::detail::exec

#endif
