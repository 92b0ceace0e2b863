#ifndef LEASH_IMPL_EXEC_HPP
#define LEASH_IMPL_EXEC_HPP

#include <leash/detail/exec_posix.hpp>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string_view>
#include <system_error>

#include <poll.h>
#include <sys/eventfd.h>

#if defined(__GLIBC__)
#define LEASH_EXEC_GLIBC_AT_LEAST(major, minor) \
  (__GLIBC__ > (major) || (__GLIBC__ == (major) && __GLIBC_MINOR__ >= (minor)))
#else
#define LEASH_EXEC_GLIBC_AT_LEAST(major, minor) 0
#endif

namespace leash {

inline Command Command::shell(std::string script) { return Command{{"/bin/sh", "-c", std::move(script)}}; }

inline Command Command::exec(std::vector<std::string> argv) { return Command{std::move(argv)}; }

namespace detail::exec {

inline Error start_error(std::string_view name, std::string_view why) {
  std::string message = "cannot start '";
  message += name;
  message += "': ";
  message += why;
  return Error{Errc::command_failed_to_start, std::move(message)};
}

inline std::string errno_text(int e) { return std::generic_category().message(e); }

/// Reads and writes at most this much per system call.
inline constexpr std::size_t io_chunk = 64 * 1024;

/// One output stream being collected into `text` (up to the output cap).
struct Sink {
  UniqueFd fd;
  std::string* text;
  bool* truncated;
};

enum class ReadStatus { data, empty, closed };

/// One read() from the sink's pipe. At end of file, or on an error, the
/// descriptor is closed: the stream is over either way.
inline ReadStatus read_once(Sink& s, std::string& buffer, std::size_t cap) {
  ssize_t n;
  do n = ::read(s.fd.get(), buffer.data(), buffer.size());
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    auto got = static_cast<std::size_t>(n);
    std::size_t room = cap > s.text->size() ? cap - s.text->size() : 0;
    s.text->append(buffer.data(), std::min(got, room));
    if (got > room) *s.truncated = true;
    return ReadStatus::data;
  }
  if (n < 0 && errno == EAGAIN) return ReadStatus::empty;
  s.fd.reset();
  return ReadStatus::closed;
}

/// What is already in the pipe, without waiting for more (a bounded number of
/// reads: a writer outside the group could otherwise keep us here).
inline void read_available(Sink& s, std::string& buffer, std::size_t cap) {
  for (int i = 0; i < 16 && s.fd; ++i)
    if (read_once(s, buffer, cap) != ReadStatus::data) break;
  s.fd.reset();
}

/// Writes the next part of `pending` to the child's stdin (non-blocking).
/// Closes it when all is written, or when the child will read no more (EPIPE:
/// it exited or closed stdin, which is its right, not an error).
inline void feed(UniqueFd& fd, std::string_view& pending) {
  SigpipeGuard guard;
  ssize_t n;
  do n = ::write(fd.get(), pending.data(), std::min(pending.size(), io_chunk));
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    pending.remove_prefix(static_cast<std::size_t>(n));
  } else if (n < 0 && errno == EAGAIN) {
    return;
  } else {
    if (n < 0 && errno == EPIPE) guard.consume();
    pending = {};
  }
  if (pending.empty()) fd.reset();
}

/// poll()'s timeout for waiting until `until`: rounded up, so the wait never
/// ends just before the deadline and spins; -1 for no deadline.
template <class TimePoint>
int poll_timeout(TimePoint now, TimePoint until) {
  if (until == TimePoint::max()) return -1;
  if (until <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace detail::exec

inline result<CommandResult> run_command(Command const& command, CommandOptions const& options) {
  namespace dx = detail::exec;
  using clock = std::chrono::steady_clock;
  auto const started = clock::now();
  CommandResult res;

  // Everything that can be checked before starting, with a sentence each.
  if (command.argv.empty() || command.argv[0].empty())
    return Error{Errc::command_failed_to_start, "cannot start a command with an empty program name (argv[0])"};
  std::string const& name = command.argv[0];
  for (std::size_t i = 0; i < command.argv.size(); ++i)
    if (command.argv[i].find('\0') != std::string::npos)
      return dx::start_error(name, "argument " + std::to_string(i) + " contains a NUL byte");
  for (auto const& var : options.unset_env)
    if (!dx::valid_env_name(var))
      return dx::start_error(name, "'" + var + "' is not a valid environment variable name");
  for (auto const& [var, value] : options.env) {
    if (!dx::valid_env_name(var))
      return dx::start_error(name, "'" + var + "' is not a valid environment variable name");
    if (value.find('\0') != std::string::npos)
      return dx::start_error(name, "the value of environment variable " + var + " contains a NUL byte");
  }
  if (!options.cwd.empty()) {
    // posix_spawn would only say ENOENT, which reads like "program not found".
    std::error_code ec;
    auto st = std::filesystem::status(options.cwd, ec);
    std::string dir = "working directory '" + options.cwd.string() + "' ";
    if (st.type() == std::filesystem::file_type::not_found)
      return dx::start_error(name, dir + "does not exist");
    if (ec) return dx::start_error(name, dir + "cannot be used: " + ec.message());
    if (st.type() != std::filesystem::file_type::directory)
      return dx::start_error(name, dir + "is not a directory");
  }
  if (options.stop.stop_requested()) {  // asked to stop before it began: start nothing
    res.timed_out = true;
    res.duration = clock::now() - started;
    return res;
  }

  // Pipes, file actions, attributes, environment.
  bool const has_input = !options.input.empty();
  dx::Pipe out, err, in;
  if (int e = dx::make_pipe(out, true)) return dx::start_error(name, "cannot create a pipe: " + dx::errno_text(e));
  if (int e = dx::make_pipe(err, true)) return dx::start_error(name, "cannot create a pipe: " + dx::errno_text(e));
  if (has_input)
    if (int e = dx::make_pipe(in, false)) return dx::start_error(name, "cannot create a pipe: " + dx::errno_text(e));

  dx::FileActions actions;
  int e = actions.ok() ? 0 : ENOMEM;
  if (!e)
    e = has_input ? ::posix_spawn_file_actions_adddup2(actions.get(), in.read.get(), 0)
                  : ::posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
  if (!e) e = ::posix_spawn_file_actions_adddup2(actions.get(), out.write.get(), 1);
  if (!e) e = ::posix_spawn_file_actions_adddup2(actions.get(), err.write.get(), 2);
#if LEASH_EXEC_GLIBC_AT_LEAST(2, 34)
  // Only 0, 1 and 2 reach the program: a descriptor this process opened without
  // O_CLOEXEC (a socket, another pipe) must not be held by the command's tree.
  if (!e) e = ::posix_spawn_file_actions_addclosefrom_np(actions.get(), 3);
#endif
  if (!e && !options.cwd.empty()) {
#if LEASH_EXEC_GLIBC_AT_LEAST(2, 29)
    e = ::posix_spawn_file_actions_addchdir_np(actions.get(), options.cwd.c_str());
#else
    return dx::start_error(name, "a working directory needs glibc 2.29 or later");
#endif
  }
  if (e) return dx::start_error(name, "cannot prepare the child's descriptors: " + dx::errno_text(e));
  dx::SpawnAttributes attributes;
  if (int ae = dx::set_spawn_attributes(attributes))
    return dx::start_error(name, "cannot prepare the spawn attributes: " + dx::errno_text(ae));

  auto environment = dx::build_environment(options.inherit_env, options.unset_env, options.env);
  auto envp = dx::c_array(environment);
  std::vector<std::string> args = command.argv;  // posix_spawn wants char*, not char const*
  auto argv = dx::c_array(args);
  std::string_view const path = dx::find_env(environment, "PATH").value_or("/bin:/usr/bin");

  pid_t pid = -1;
  if (int se = dx::spawn(pid, name, path, actions, attributes, argv.data(), envp.data())) {
    if (se == ENOENT && name.find('/') == std::string::npos)
      return dx::start_error(name, "not found in PATH (" + dx::errno_text(se) + ")");
    return dx::start_error(name, dx::errno_text(se));
  }
  dx::ChildProcess child(pid);
  // Our copies of the child's ends: while they are open, its exit would never
  // show as end of file.
  out.write.reset();
  err.write.reset();
  in.read.reset();

  // A stop request wakes poll() through an eventfd. Declared after the fd, so
  // the callback is unregistered (and waited for, if running) before it closes.
  dx::UniqueFd stop_fd;
  if (options.stop.stop_possible()) stop_fd.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  int const wake = stop_fd.get();
  std::stop_callback on_stop(options.stop, [wake]() noexcept {
    if (wake < 0) return;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake, &one, sizeof one);
  });

  dx::Sink sinks[2] = {{std::move(out.read), &res.out, &res.out_truncated},
                       {std::move(err.read), &res.err, &res.err_truncated}};
  dx::UniqueFd stdin_fd = std::move(in.write);
  std::string_view pending_input = options.input;
  std::string buffer(dx::io_chunk, '\0');

  // Without a pidfd (or an eventfd) the exit (or the stop) is noticed by polling.
  constexpr auto exit_slice = std::chrono::milliseconds(5);
  constexpr auto stop_slice = std::chrono::milliseconds(20);
  auto const deadline = dx::after<clock>(started, options.timeout);
  auto kill_at = clock::time_point::max();      // timed out: SIGKILL the group then
  auto drain_until = clock::time_point::max();  // exited: stop reading then
  bool exited = false, stopping = false, group_killed = false;
  auto kill_group = [&] {
    child.signal_group(SIGKILL);
    group_killed = true;
  };

  for (;;) {
    auto now = clock::now();
    if (!exited && child.exited()) {
      exited = true;
      drain_until = dx::after<clock>(now, options.drain);
    }
    bool const stop_asked = options.stop.stop_requested();
    if (!exited && !stopping && (now >= deadline || stop_asked)) {
      stopping = true;
      res.timed_out = true;
      stdin_fd.reset();
      child.signal_group(SIGTERM);
      child.signal_group(SIGCONT);  // a stopped member acts on SIGTERM only once continued
      kill_at = dx::after<clock>(now, options.grace);
    }
    if (exited && stop_asked) drain_until = std::min(drain_until, now);  // the command is done; stop waiting
    if (stopping && !group_killed && now >= kill_at) kill_group();
    if (exited && !sinks[0].fd && !sinks[1].fd) break;
    if (exited && now >= drain_until) {
      // Something left behind still holds our pipes: end it and keep only
      // what it has already written.
      if (!group_killed) kill_group();
      for (auto& s : sinks) dx::read_available(s, buffer, options.output_cap);
      break;
    }

    pollfd fds[5];
    nfds_t n = 0;
    int sink_at[2] = {-1, -1}, stdin_at = -1;
    for (int i = 0; i < 2; ++i)
      if (sinks[i].fd) {
        sink_at[i] = static_cast<int>(n);
        fds[n++] = {sinks[i].fd.get(), POLLIN, 0};
      }
    if (stdin_fd) {
      stdin_at = static_cast<int>(n);
      fds[n++] = {stdin_fd.get(), POLLOUT, 0};
    }
    if (!exited && child.pidfd() >= 0) fds[n++] = {child.pidfd(), POLLIN, 0};
    if (wake >= 0 && !stop_asked) fds[n++] = {wake, POLLIN, 0};

    auto until = clock::time_point::max();
    if (!exited && !stopping) until = std::min(until, deadline);
    if (stopping && !group_killed) until = std::min(until, kill_at);
    if (exited) until = std::min(until, drain_until);
    int timeout_ms = dx::poll_timeout(now, until);
    auto cap_wait = [&](std::chrono::milliseconds slice) {
      int s = static_cast<int>(slice.count());
      if (timeout_ms < 0 || timeout_ms > s) timeout_ms = s;
    };
    if (!exited && child.pidfd() < 0) cap_wait(exit_slice);
    if (options.stop.stop_possible() && wake < 0 && !stop_asked) cap_wait(stop_slice);

    int rc = ::poll(fds, n, timeout_ms);
    if (rc < 0) {
      if (errno != EINTR) ::poll(nullptr, 0, static_cast<int>(exit_slice.count()));  // ENOMEM: breathe, retry
      continue;
    }
    for (int i = 0; i < 2; ++i)
      if (sink_at[i] >= 0 && fds[sink_at[i]].revents != 0) dx::read_once(sinks[i], buffer, options.output_cap);
    if (stdin_at >= 0 && fds[stdin_at].revents != 0) dx::feed(stdin_fd, pending_input);
  }

  stdin_fd.reset();
  if (options.kill_leftovers && !group_killed) kill_group();
  res.exit_code = child.reap();
  res.duration = clock::now() - started;
  return res;
}

}  // namespace leash

#undef LEASH_EXEC_GLIBC_AT_LEAST

#endif
