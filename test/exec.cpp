#include <leash/exec.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

namespace test_exec {

namespace fs = std::filesystem;
using leash::Command;
using leash::CommandOptions;
using leash::CommandResult;
using leash::Errc;
using namespace std::chrono_literals;

/// Runs and requires that the command started.
CommandResult run(Command const& command, CommandOptions const& options = {}) {
  auto r = leash::run_command(command, options);
  BOOST_TEST_REQUIRE(r.has_value(), "run_command failed: " << (r ? std::string() : r.error().what()));
  return std::move(r).value();
}

CommandOptions with_timeout(std::chrono::milliseconds timeout) {
  CommandOptions o;
  o.timeout = timeout;
  return o;
}

/// Wall time of `fn()`, in seconds.
template <class F>
double seconds(F&& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// A fresh directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("leash-exec-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// The direct child must be reaped: no such process at all (a zombie would
/// still answer kill(pid, 0)).
bool reaped(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

/// A grandchild is reaped by init, not by us: it must be dead (gone, or a
/// zombie waiting for init). SIGKILL takes effect asynchronously, so wait a little.
bool dead(pid_t pid) {
  for (int i = 0; i < 300; ++i) {
    if (reaped(pid)) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    auto paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

pid_t first_line_pid(std::string const& out) { return static_cast<pid_t>(std::stol(out.substr(0, out.find('\n')))); }

}  // namespace test_exec

using namespace test_exec;

BOOST_AUTO_TEST_SUITE(exec)

BOOST_AUTO_TEST_CASE(shell_and_exec_build_argv) {
  BOOST_TEST((Command::shell("echo hi").argv == std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  BOOST_TEST((Command::exec({"ls", "-l"}).argv == std::vector<std::string>{"ls", "-l"}));
  // No shell parses exec's arguments: spaces, quotes and $ arrive as written.
  auto r = run(Command::exec({"printf", "%s|", "a b", "'c'", "$HOME"}));
  BOOST_TEST(r.out == "a b|'c'|$HOME|");
  BOOST_TEST(r.exit_code == 0);
}

BOOST_AUTO_TEST_CASE(exit_codes) {
  BOOST_TEST(run(Command::shell("exit 3")).exit_code == 3);
  BOOST_TEST(run(Command::shell("true")).exit_code == 0);
  BOOST_TEST(run(Command::exec({"false"})).exit_code == 1);
  auto r = run(Command::shell("exit 0"));
  BOOST_TEST(!r.timed_out);
  BOOST_TEST(r.duration.count() > 0.0);
}

BOOST_AUTO_TEST_CASE(killed_by_a_signal_is_minus_the_signal) {
  BOOST_TEST(run(Command::shell("kill -TERM $$")).exit_code == -15);
  BOOST_TEST(run(Command::shell("kill -KILL $$")).exit_code == -9);
}

BOOST_AUTO_TEST_CASE(stdout_and_stderr_are_separate) {
  auto r = run(Command::shell("echo out; echo err >&2; echo out2"));
  BOOST_TEST(r.out == "out\nout2\n");
  BOOST_TEST(r.err == "err\n");
  BOOST_TEST(!r.out_truncated);
  BOOST_TEST(!r.err_truncated);
}

BOOST_AUTO_TEST_CASE(output_past_the_cap_is_read_and_dropped) {
  auto r = run(Command::shell("head -c 5000000 /dev/zero"));  // default cap: 1 MiB
  BOOST_TEST(r.exit_code == 0);  // all of it was read: head was never blocked or hit by SIGPIPE
  BOOST_TEST(r.out.size() == std::size_t{1} << 20);
  BOOST_TEST(r.out_truncated);
  BOOST_TEST(!r.err_truncated);

  CommandOptions small;
  small.output_cap = 1000;
  r = run(Command::shell("head -c 3000000 /dev/zero >&2; echo fine"), small);
  BOOST_TEST(r.err.size() == 1000u);
  BOOST_TEST(r.err_truncated);
  BOOST_TEST(r.out == "fine\n");
  BOOST_TEST(!r.out_truncated);

  r = run(Command::shell("head -c 1000 /dev/zero"), small);  // exactly the cap is not truncated
  BOOST_TEST(r.out.size() == 1000u);
  BOOST_TEST(!r.out_truncated);
}

BOOST_AUTO_TEST_CASE(input_is_written_to_stdin) {
  CommandOptions o;
  o.input = "hello\nworld";
  auto r = run(Command::exec({"cat"}), o);
  BOOST_TEST(r.out == "hello\nworld");
  // Without input, stdin is /dev/null: a reader sees end of file at once.
  r = run(Command::exec({"cat"}));
  BOOST_TEST(r.out.empty());
  BOOST_TEST(r.exit_code == 0);
}

BOOST_AUTO_TEST_CASE(large_input_while_output_flows) {
  std::string input;
  input.reserve(1'000'000);
  for (int i = 0; input.size() < 1'000'000; ++i) input += std::to_string(i) + '\n';
  input.resize(1'000'000);
  CommandOptions o;
  o.input = input;
  auto r = run(Command::exec({"cat"}), o);  // far more than a pipe holds, both ways at once
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(r.out.size() == input.size());
  BOOST_TEST((r.out == input));

  // Writes 1 MB to stderr before reading stdin at all: neither side may block the other.
  r = run(Command::shell("head -c 1000000 /dev/zero >&2; cat"), o);
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(r.err.size() == 1'000'000u);
  BOOST_TEST((r.out == input));
}

BOOST_AUTO_TEST_CASE(input_the_child_never_reads_is_no_error) {
  CommandOptions o;
  o.input.assign(4'000'000, 'x');
  // The child exits without reading: our write fails with EPIPE, and the
  // SIGPIPE it raises must neither end this process nor stay pending.
  auto r = run(Command::shell("exit 7"), o);
  BOOST_TEST(r.exit_code == 7);
  r = run(Command::shell("head -c 10"), o);
  BOOST_TEST(r.out == "xxxxxxxxxx");
  sigset_t pending;
  sigemptyset(&pending);
  BOOST_TEST_REQUIRE(::sigpending(&pending) == 0);
  BOOST_TEST(sigismember(&pending, SIGPIPE) == 0);
}

BOOST_AUTO_TEST_CASE(cwd_is_honoured) {
  TempDir dir;
  CommandOptions o;
  o.cwd = dir.path;
  auto r = run(Command::shell("pwd -P"), o);
  BOOST_TEST(r.out == fs::canonical(dir.path).string() + "\n");
  // A relative program name with a '/' is relative to the new directory.
  {
    std::ofstream script(dir.path / "hello.sh");
    script << "#!/bin/sh\necho from script\n";
  }
  fs::permissions(dir.path / "hello.sh", fs::perms::owner_all);
  r = run(Command::exec({"./hello.sh"}), o);
  BOOST_TEST(r.out == "from script\n");
}

BOOST_AUTO_TEST_CASE(environment_set_unset_and_clean) {
  BOOST_TEST_REQUIRE(::setenv("LEASH_EXEC_TEST_INHERITED", "yes", 1) == 0);
  auto echo = Command::shell(R"(printf '%s|%s|%s' "$LEASH_EXEC_TEST_INHERITED" "$LEASH_EXEC_TEST_SET" "${HOME+home}")");

  BOOST_TEST(run(echo).out == "yes||home");

  CommandOptions o;
  o.env = {{"LEASH_EXEC_TEST_SET", "set"}, {"LEASH_EXEC_TEST_INHERITED", "overridden"}};
  BOOST_TEST(run(echo, o).out == "overridden|set|home");

  o = {};
  o.unset_env = {"LEASH_EXEC_TEST_INHERITED", "HOME"};
  BOOST_TEST(run(echo, o).out == "||");

  o = {};
  o.env = {{"A", "1"}, {"A", "2"}};  // in order: the later one wins
  BOOST_TEST(run(Command::shell("printf %s \"$A\""), o).out == "2");

  // Nothing inherited: exactly what was set. `env` is still found: with no
  // PATH the default /bin:/usr/bin is searched.
  o = {};
  o.inherit_env = false;
  o.env = {{"ONLY", "this"}};
  auto r = run(Command::exec({"env"}), o);
  BOOST_TEST(r.out == "ONLY=this\n");
  ::unsetenv("LEASH_EXEC_TEST_INHERITED");
}

BOOST_AUTO_TEST_CASE(the_commands_own_path_is_searched) {
  TempDir dir;
  {
    std::ofstream script(dir.path / "leash-exec-probe");
    script << "#!/bin/sh\necho found\n";
  }
  fs::permissions(dir.path / "leash-exec-probe", fs::perms::owner_all);
  CommandOptions o;
  o.env = {{"PATH", dir.path.string() + ":/usr/bin:/bin"}};
  auto r = run(Command::exec({"leash-exec-probe"}), o);
  BOOST_TEST(r.out == "found\n");
  BOOST_TEST(!leash::run_command(Command::exec({"leash-exec-probe"})).has_value());
}

BOOST_AUTO_TEST_CASE(command_not_found_fails_to_start) {
  auto r = leash::run_command(Command::exec({"leash-no-such-command-4711", "arg"}));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error() == Errc::command_failed_to_start));
  BOOST_TEST_MESSAGE(r.error().what());
  BOOST_TEST(r.error().what().find("leash-no-such-command-4711") != std::string::npos);
  BOOST_TEST(r.error().what().find("not found") != std::string::npos);

  r = leash::run_command(Command::exec({"/nonexistent/leash-prog"}));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error() == Errc::command_failed_to_start));
  BOOST_TEST(r.error().what().find("/nonexistent/leash-prog") != std::string::npos);

  TempDir dir;
  { std::ofstream(dir.path / "not-executable") << "echo no\n"; }
  r = leash::run_command(Command::exec({(dir.path / "not-executable").string()}));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error() == Errc::command_failed_to_start));
  BOOST_TEST_MESSAGE(r.error().what());
  BOOST_TEST(r.error().what().find("ermission denied") != std::string::npos);

  r = leash::run_command(Command{});
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error() == Errc::command_failed_to_start));
}

BOOST_AUTO_TEST_CASE(bad_cwd_or_environment_fails_to_start) {
  CommandOptions o;
  o.cwd = "/nonexistent/leash-dir";
  auto r = leash::run_command(Command::shell("true"), o);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error() == Errc::command_failed_to_start));
  BOOST_TEST_MESSAGE(r.error().what());
  BOOST_TEST(r.error().what().find("/nonexistent/leash-dir") != std::string::npos);
  BOOST_TEST(r.error().what().find("does not exist") != std::string::npos);

  TempDir dir;
  { std::ofstream(dir.path / "file") << "x"; }
  o.cwd = dir.path / "file";
  r = leash::run_command(Command::shell("true"), o);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().what().find("is not a directory") != std::string::npos);

  o = {};
  o.env = {{"A=B", "x"}};
  r = leash::run_command(Command::shell("true"), o);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error() == Errc::command_failed_to_start));
  BOOST_TEST(r.error().what().find("'A=B'") != std::string::npos);
}

// The reference signalled only the shell: its child kept the pipes open and
// "sleep 12" with a 0.3 s timeout took 12 s. Here the whole group goes.
BOOST_AUTO_TEST_CASE(timeout_ends_the_shell_and_its_child) {
  for (auto const* script : {"sleep 12", "sleep 12; echo hi"}) {
    CommandResult r;
    double s = seconds([&] { r = run(Command::shell(script), with_timeout(300ms)); });
    BOOST_TEST_MESSAGE("timeout 0.3 s, sh -c '" << script << "': " << s << " s");
    BOOST_TEST(r.timed_out);
    BOOST_TEST(r.exit_code == -15);
    BOOST_TEST(r.out.find("hi") == std::string::npos);
    BOOST_TEST(s < 3.0);
    BOOST_TEST(s >= 0.29);
  }
  CommandResult r;
  double s = seconds([&] { r = run(Command::exec({"sleep", "12"}), with_timeout(300ms)); });
  BOOST_TEST_MESSAGE("timeout 0.3 s, sleep 12 (no shell): " << s << " s");
  BOOST_TEST(r.timed_out);
  BOOST_TEST(s < 3.0);
}

BOOST_AUTO_TEST_CASE(timeout_ends_background_grandchildren) {
  CommandResult r;
  double s = seconds([&] { r = run(Command::shell("sleep 30 & echo $!; sleep 30"), with_timeout(300ms)); });
  BOOST_TEST_MESSAGE("timeout 0.3 s, sh -c 'sleep 30 & sleep 30': " << s << " s");
  BOOST_TEST(r.timed_out);
  BOOST_TEST(s < 3.0);
  BOOST_TEST(dead(first_line_pid(r.out)));
}

BOOST_AUTO_TEST_CASE(a_child_ignoring_sigterm_is_killed_after_grace) {
  CommandOptions o = with_timeout(300ms);
  o.grace = 300ms;
  CommandResult r;
  double s = seconds([&] { r = run(Command::shell("trap '' TERM; sleep 30"), o); });
  BOOST_TEST_MESSAGE("timeout 0.3 s + grace 0.3 s, SIGTERM ignored: " << s << " s");
  BOOST_TEST(r.timed_out);
  BOOST_TEST(r.exit_code == -9);
  BOOST_TEST(s >= 0.59);  // the grace period was given
  BOOST_TEST(s < 3.0);
}

BOOST_AUTO_TEST_CASE(a_stopped_child_is_continued_to_act_on_sigterm) {
  CommandOptions o = with_timeout(300ms);
  o.grace = 20s;  // were it not continued, only the SIGKILL after this would end it
  CommandResult r;
  double s = seconds([&] { r = run(Command::shell("kill -STOP $$; sleep 30"), o); });
  BOOST_TEST_MESSAGE("timeout 0.3 s, a stopped shell: " << s << " s");
  BOOST_TEST(r.timed_out);
  BOOST_TEST(r.exit_code == -15);
  BOOST_TEST(s < 3.0);
}

BOOST_AUTO_TEST_CASE(stop_request_ends_the_command) {
  std::stop_source source;
  CommandOptions o;
  o.stop = source.get_token();
  std::jthread stopper([&] {
    std::this_thread::sleep_for(200ms);
    source.request_stop();
  });
  CommandResult r;
  double s = seconds([&] { r = run(Command::shell("sleep 30"), o); });
  BOOST_TEST_MESSAGE("stop requested after 0.2 s, sh -c 'sleep 30': " << s << " s");
  BOOST_TEST(r.timed_out);
  BOOST_TEST(r.exit_code == -15);
  BOOST_TEST(s < 3.0);
}

BOOST_AUTO_TEST_CASE(stop_requested_before_the_call_starts_nothing) {
  TempDir dir;
  std::stop_source source;
  source.request_stop();
  CommandOptions o;
  o.stop = source.get_token();
  o.cwd = dir.path;
  auto r = run(Command::shell("touch started"), o);
  BOOST_TEST(r.timed_out);
  BOOST_TEST(r.exit_code == -1);
  BOOST_TEST(!fs::exists(dir.path / "started"));
}

BOOST_AUTO_TEST_CASE(no_zombie_is_left) {
  auto r = run(Command::shell("echo $$"));
  BOOST_TEST(reaped(first_line_pid(r.out)));
  r = run(Command::shell("echo $$; sleep 12"), with_timeout(300ms));
  BOOST_TEST(r.timed_out);
  BOOST_TEST(reaped(first_line_pid(r.out)));
  CommandOptions o = with_timeout(300ms);
  o.grace = 100ms;
  r = run(Command::shell("trap '' TERM; echo $$; sleep 12"), o);
  BOOST_TEST(r.exit_code == -9);
  BOOST_TEST(reaped(first_line_pid(r.out)));
}

// After a normal exit, a background job holding stdout must not hold the call:
// it gets `drain` to finish, then the group is killed; what was said is kept.
BOOST_AUTO_TEST_CASE(a_leftover_holding_the_pipes_is_bounded_by_drain) {
  CommandResult r;
  double s = seconds([&] { r = run(Command::shell("sleep 30 & echo done")); });
  BOOST_TEST_MESSAGE("sh -c 'sleep 30 & echo done' (drain 0.5 s): " << s << " s");
  BOOST_TEST(r.out == "done\n");
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(!r.timed_out);
  BOOST_TEST(s < 3.0);

  r = run(Command::shell("sleep 30 & echo $!"));
  BOOST_TEST(dead(first_line_pid(r.out)));
}

// A process that left the group (its own session) is out of reach of every
// kill; the drain still bounds how long it can hold the call.
BOOST_AUTO_TEST_CASE(a_process_that_left_the_group_cannot_hold_the_call) {
  CommandResult r;
  double s = seconds([&] { r = run(Command::shell("setsid sleep 30 & echo $!")); });
  BOOST_TEST_MESSAGE("sh -c 'setsid sleep 30 & echo $!' (drain 0.5 s): " << s << " s");
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(s < 3.0);
  pid_t escaped = first_line_pid(r.out);
  BOOST_TEST(::kill(escaped, 0) == 0);  // still running: it escaped, as documented
  ::kill(escaped, SIGKILL);
  BOOST_TEST(dead(escaped));
}

BOOST_AUTO_TEST_CASE(a_leftover_finishing_within_drain_is_heard) {
  CommandOptions o;
  o.drain = 10s;  // the leftover closes the pipes itself, long before this
  auto r = run(Command::shell("(sleep 0.1; echo late) & echo early"), o);
  BOOST_TEST(r.out == "early\nlate\n");
  BOOST_TEST(r.exit_code == 0);
}

BOOST_AUTO_TEST_CASE(kill_leftovers_decides_about_detached_background_jobs) {
  // Output redirected away: the job does not hold the call either way.
  auto script = Command::shell("sleep 30 >/dev/null 2>&1 & echo $!");
  auto r = run(script);
  BOOST_TEST(dead(first_line_pid(r.out)));  // default: the group is killed when the command ends

  CommandOptions keep;
  keep.kill_leftovers = false;
  r = run(script, keep);
  pid_t job = first_line_pid(r.out);
  BOOST_TEST(::kill(job, 0) == 0);  // still running
  ::kill(job, SIGKILL);
  BOOST_TEST(dead(job));
}

// No descriptor but stdin, stdout and stderr reaches the program, however
// many threads are starting commands at once (our pipes are close-on-exec and
// everything from 3 up is closed in the child).
BOOST_AUTO_TEST_CASE(concurrent_calls_keep_their_pipes_apart) {
  constexpr int threads = 6, runs = 10;
  std::vector<std::string> failures(threads);
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([t, &failures] {
        for (int i = 0; i < runs; ++i) {
          std::string tag = std::to_string(t) + "-" + std::to_string(i);
          auto r = leash::run_command(Command::shell("echo " + tag + "; ls /proc/self/fd"));
          std::string want = tag + "\n0\n1\n2\n3\n";  // 3: the directory ls is reading
          if (!r) failures[t] += tag + ": " + r.error().what() + "; ";
          else if (r.value().out != want || r.value().exit_code != 0)
            failures[t] += tag + ": got '" + r.value().out + "'; ";
        }
      });
  }
  for (int t = 0; t < threads; ++t) BOOST_TEST(failures[t].empty(), "thread " << t << ": " << failures[t]);
}

BOOST_AUTO_TEST_SUITE_END()
