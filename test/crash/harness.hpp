// crash/harness.hpp — kill a loop at random moments, resume it, audit the record.
//
// A child process (leash-crash-child) runs a loop of `iterations` ticks on a
// durable store; the harness SIGKILLs it after a random delay, starts it
// again (which resumes the run), and so on until `kills` kills have landed and
// the last run ended. Then each run's record is compared with the ticks' own
// external side effects (one line per tick in a counter file):
//
// * iteration indices contiguous from 0, none duplicated, nothing in flight;
// * every tick recorded `ok` happened exactly once;
// * every tick that happened is recorded `ok` or `uncertain`.
//
// Why "at most ok + uncertain" and not "exactly": a kill can land after a
// call's start is journaled and before its side effect happens; that call is
// honestly `uncertain` although it never ran. What must never happen — a
// tick lost from the record, or run twice — is a violation.
//
// Used by the crash test (test/store_crash.cpp, 50 kills per store) and by the
// soak bench (leash-crash-soak, as many kills as asked). No Boost.Test here:
// violations come back as text, and the caller decides.
#ifndef LEASH_TEST_CRASH_HARNESS_HPP
#define LEASH_TEST_CRASH_HARNESS_HPP

#include <leash/store/open.hpp>
#include <leash/sync_wait.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace leash_crash {

struct Options {
  std::string child;                 ///< path of leash-crash-child
  std::string store_spec;            ///< a durable store, e.g. "sqlite:DIR/runs.db"
  std::filesystem::path dir;         ///< where counter files and the child's log go
  std::string run_prefix = "run";    ///< run ids are "<prefix>-<n>"
  int iterations = 1000;             ///< per run
  int kills = 50;                    ///< SIGKILLs that must land (a kill after the child exited does not count)
  int min_delay_ms = 1;              ///< a kill comes this long to
  int max_delay_ms = 60;             ///< this long after the child starts
  std::uint64_t seed = std::random_device{}();
};

struct Report {
  int kills = 0;
  std::size_t runs = 0;
  std::size_t iterations = 0;  ///< recorded, over every run
  std::size_t ok = 0;          ///< distinct ticks recorded ok
  std::size_t uncertain = 0;   ///< distinct ticks recorded uncertain
  std::size_t effects = 0;     ///< ticks that happened (counter lines)
  double wall_s = 0.0;
  /// What broke the contract, one line each (empty: nothing). A setup
  /// failure (the child could not start or failed) is one too.
  std::vector<std::string> violations;
  std::string log;  ///< the child's stdout/stderr, appended over every start
};

namespace detail {

inline pid_t spawn_child(Options const& o, std::string const& run_id, std::string const& counter,
                         std::string const& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string n = std::to_string(o.iterations);
  char const* argv[] = {o.child.c_str(), o.store_spec.c_str(), run_id.c_str(), counter.c_str(), n.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, o.child.c_str(), &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

/// The tick's id from a recorded call's arguments ({"id": "..."}).
inline std::string tick_id(leash::ActionRecord const& a) {
  boost::system::error_code ec;
  auto v = leash::json::parse(a.args_excerpt, ec);
  if (ec || !v.is_object()) return {};
  auto const* id = v.as_object().if_contains("id");
  return id && id->is_string() ? std::string(id->get_string()) : std::string();
}

/// Adds one run's figures and violations to `report`.
inline void audit(leash::AnyStore store, Options const& o, std::string const& run_id, std::string const& counter,
                  Report& report) {
  auto fail = [&](std::string what) { report.violations.push_back(run_id + ": " + std::move(what)); };
  auto loaded = leash::sync_wait(store.load(run_id));
  if (loaded.has_error()) return fail("cannot load: " + loaded.error().what());
  leash::State const& s = loaded.value();
  report.iterations += s.iterations.size();
  if (s.iterations.size() != static_cast<std::size_t>(o.iterations))
    fail(std::to_string(s.iterations.size()) + " iterations recorded, expected " + std::to_string(o.iterations));
  if (!s.in_flight.empty()) fail(std::to_string(s.in_flight.size()) + " calls still in flight");
  for (std::size_t i = 0; i < s.iterations.size(); ++i)
    if (s.iterations[i].index != i) {
      fail("iteration " + std::to_string(i) + " has index " + std::to_string(s.iterations[i].index));
      break;
    }

  std::set<std::string> ok, uncertain;
  for (auto const& it : s.iterations)
    for (auto const& a : it.actions) {
      if (a.status == leash::ActionStatus::ok && !ok.insert(tick_id(a)).second)
        fail("tick " + tick_id(a) + " recorded ok twice");
      if (a.status == leash::ActionStatus::uncertain) uncertain.insert(tick_id(a));
    }
  report.ok += ok.size();
  report.uncertain += uncertain.size();

  std::multiset<std::string> effects;
  std::ifstream in(counter);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) effects.insert(line);  // blank lines: the child's padding to a page boundary
  report.effects += effects.size();
  for (auto const& id : ok)
    if (effects.count(id) != 1)
      fail("tick " + id + " recorded ok happened " + std::to_string(effects.count(id)) + " times");
  for (auto const& id : effects)
    if (ok.count(id) == 0 && uncertain.count(id) == 0) fail("tick " + id + " happened and is not recorded");
  for (auto const& id : uncertain)
    if (effects.count(id) > 1) fail("tick " + id + " recorded uncertain happened " + std::to_string(effects.count(id)) + " times");
}

}  // namespace detail

/// Kills, resumes and audits as the top of this file says.
inline Report crash_and_resume(Options const& o) {
  Report report;
  report.log = (o.dir / "child.log").string();
  auto const t0 = std::chrono::steady_clock::now();
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int> delay_ms(o.min_delay_ms, o.max_delay_ms);

  std::vector<std::pair<std::string, std::string>> runs;  // run id, counter file
  while (report.kills < o.kills) {
    std::string run_id = o.run_prefix + "-" + std::to_string(runs.size());
    std::string counter = (o.dir / (run_id + ".ticks")).string();
    runs.emplace_back(run_id, counter);
    for (bool finished = false; !finished;) {
      pid_t pid = detail::spawn_child(o, run_id, counter, report.log);
      if (pid < 0) {
        report.violations.push_back("cannot start " + o.child);
        return report;
      }
      bool const kill_it = report.kills < o.kills;
      if (kill_it) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
        ::kill(pid, SIGKILL);
      }
      int status = 0;
      if (::waitpid(pid, &status, 0) != pid) {
        report.violations.push_back("waitpid failed");
        return report;
      }
      if (WIFSIGNALED(status)) ++report.kills;
      if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) != 0) {
          report.violations.push_back(run_id + ": the child failed (exit " + std::to_string(WEXITSTATUS(status)) +
                                      "); see " + report.log);
          return report;
        }
        finished = true;  // it ended the run before the kill (or was not killed)
      }
    }
  }
  report.runs = runs.size();
  auto store = leash::open_store(o.store_spec);
  if (store.has_error()) {
    report.violations.push_back("cannot open " + o.store_spec + ": " + store.error().what());
    return report;
  }
  for (auto const& [run_id, counter] : runs) detail::audit(store.value(), o, run_id, counter, report);
  report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace leash_crash

#endif
