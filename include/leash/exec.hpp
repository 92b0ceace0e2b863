// leash/exec.hpp — running a command: bounded in time, in output, and in
// what it leaves behind.
//
// `run_command` starts a program in a process group of its own, feeds it
// `input`, collects stdout and stderr separately (each capped), and ends it
// when the timeout passes or a stop is requested: SIGTERM to the whole group,
// SIGKILL after a grace period. Once the program has exited, output still held
// open by processes it left behind is read for a short drain period only.
// So a shell's grandchild can neither outlive the timeout nor keep the call
// waiting. Linux (POSIX plus pidfds when the kernel has them).
#ifndef LEASH_EXEC_HPP
#define LEASH_EXEC_HPP

#include <leash/error.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace leash {

/// What to run: a program and its arguments, no shell unless asked for.
struct Command {
  /// argv[0] names the program. Without a '/' it is searched in the PATH of
  /// the command's environment (CommandOptions::env wins over this process's
  /// PATH; "/bin:/usr/bin" when it has none), as a shell would.
  std::vector<std::string> argv;

  /// `/bin/sh -c script`: pipes, redirections and `&&` as in a shell.
  static Command shell(std::string script);
  /// `argv` as is; no shell parses it, so arguments need no quoting.
  static Command exec(std::vector<std::string> argv);
};

/// How to run it. The defaults: inherit the environment and directory,
/// stdin from /dev/null, two minutes, 1 MiB kept per stream.
struct CommandOptions {
  std::filesystem::path cwd;  ///< working directory; empty: this process's
  bool inherit_env = true;    ///< start from this process's environment (else from nothing)
  std::vector<std::pair<std::string, std::string>> env;  ///< set or override these, in order
  std::vector<std::string> unset_env;                    ///< remove these (applied before `env`)

  /// Wall-clock limit from the start; then the group is stopped and
  /// `timed_out` set. Zero or less stops it at once; milliseconds::max(): none.
  std::chrono::milliseconds timeout{120'000};
  /// After the SIGTERM to the group: how long it may take to exit before SIGKILL.
  std::chrono::milliseconds grace{2'000};
  /// After the program exits (or is killed): how long to keep reading output
  /// that processes it left behind still hold open; then SIGKILL the group and
  /// stop reading. Bounds the call even when a leftover escapes the group.
  std::chrono::milliseconds drain{500};
  /// When the program has exited: SIGKILL whatever is still in its group
  /// (background jobs it started with `&`). false leaves those that closed
  /// stdout and stderr running; one holding them open is killed after `drain`
  /// either way. A process meant to outlive the command must leave the group
  /// (e.g. `setsid`), and then it escapes every bound here.
  bool kill_leftovers = true;

  /// Bytes kept per stream; the rest is read and thrown away, and
  /// `out_truncated`/`err_truncated` set.
  std::size_t output_cap = std::size_t{1} << 20;
  /// Written to stdin, then stdin is closed; empty: stdin is /dev/null.
  /// Written as the program reads it, so one that writes much before reading
  /// cannot deadlock; one that exits without reading it all is no error.
  std::string input;
  /// A stop request ends the command like a timeout (`timed_out`). One made
  /// before the call starts nothing. Tools get such a token when the loop's
  /// tool timeout fires.
  std::stop_token stop;
};

/// How it ended and what it said.
struct CommandResult {
  /// The exit status; -N when killed by signal N (-9 after SIGKILL, -15 after
  /// SIGTERM); -1 when nothing ran or the status was lost.
  int exit_code = -1;
  std::string out, err;        ///< stdout and stderr, each at most output_cap bytes
  bool timed_out = false;      ///< ended by the timeout or a stop request
  bool out_truncated = false;  ///< stdout passed output_cap
  bool err_truncated = false;  ///< stderr passed output_cap
  std::chrono::duration<double> duration{};  ///< wall time of the call
};

/// Runs `command` to completion (or to its timeout) and returns what it did.
///
/// Fails only when the command cannot start: Errc::command_failed_to_start,
/// with a sentence naming argv[0] and the reason (not found, permission
/// denied, no such working directory, an empty argv, a NUL byte in an
/// argument, an invalid variable name). Whatever the program does after it
/// started — exit non-zero, crash, time out — is a CommandResult.
///
/// The call returns within about timeout + grace + drain. On every path the
/// child is reaped and every descriptor closed; no global state is touched
/// (no signal handler, no change to this process's signal dispositions), so
/// any number of threads may call it at once. Do not reap children you did not
/// start with waitpid(-1, …) in another thread: that would take this child's
/// exit status (the result then says -1).
result<CommandResult> run_command(Command const& command, CommandOptions const& options = {});

}  // namespace leash

#include <leash/impl/exec.hpp>

#endif
