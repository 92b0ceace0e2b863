// Crash-exact stores: a child process runs a 1000-iteration loop on a real
// SQLite database (and on a file store); this test SIGKILLs it at random
// moments, resumes it each time, and then checks the record against the
// tool's own external side effects: iterations contiguous from 0 and never
// duplicated, every recorded `ok` tick done exactly once, every tick done
// either recorded `ok` or reported `uncertain`, no tick done twice.
//
// Why "at most ok + uncertain" and not "exactly": a kill can land after a
// call's start is journaled and before its side effect happens; that call is
// honestly `uncertain` although it never ran. What must never happen — a tick
// lost from the record, or run twice — is asserted exactly.
#include <leash/store/open.hpp>

#include <boost/test/unit_test.hpp>

#include "store_kinds.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

extern char** environ;

namespace {

using leash_test::run_sync;

constexpr int iterations_per_run = 1000;
constexpr int kills_per_store = 50;

/// Starts the child with stdout/stderr in `log`; returns its pid.
pid_t spawn_child(std::string const& spec, std::string const& run_id, std::string const& counter,
                  std::string const& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::string n = std::to_string(iterations_per_run);
  char const* argv[] = {LEASH_CRASH_CHILD_PATH, spec.c_str(), run_id.c_str(), counter.c_str(), n.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, LEASH_CRASH_CHILD_PATH, &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  BOOST_REQUIRE_MESSAGE(rc == 0, "posix_spawn failed: " << rc);
  return pid;
}

/// What the record and the side effects of one run say.
struct Audit {
  std::size_t iterations = 0;
  std::size_t ok = 0;
  std::size_t uncertain = 0;
  std::size_t effects = 0;
};

std::string tick_id(leash::ActionRecord const& a) {
  auto v = leash::json::parse(a.args_excerpt);
  return std::string(v.as_object().at("id").as_string());
}

Audit audit(leash::AnyStore store, std::string const& run_id, std::string const& counter) {
  Audit out;
  auto loaded = run_sync(store.load(run_id));
  BOOST_REQUIRE_MESSAGE(loaded.has_value(), run_id << ": " << (loaded.has_error() ? loaded.error().what() : ""));
  leash::State const& s = loaded.value();
  out.iterations = s.iterations.size();
  BOOST_TEST(s.iterations.size() == std::size_t(iterations_per_run));
  BOOST_TEST(s.in_flight.empty());
  for (std::size_t i = 0; i < s.iterations.size(); ++i)
    BOOST_TEST_REQUIRE(s.iterations[i].index == i);  // contiguous from 0, none duplicated

  std::set<std::string> ok, uncertain;
  for (auto const& it : s.iterations)
    for (auto const& a : it.actions) {
      if (a.status == leash::ActionStatus::ok) BOOST_TEST(ok.insert(tick_id(a)).second);  // recorded once
      if (a.status == leash::ActionStatus::uncertain) uncertain.insert(tick_id(a));
    }
  out.ok = ok.size();
  out.uncertain = uncertain.size();

  std::multiset<std::string> effects;
  std::ifstream in(counter);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) effects.insert(line);  // blank lines: the child's padding to a page boundary
  out.effects = effects.size();
  for (auto const& id : ok) BOOST_TEST(effects.count(id) == 1u, "ok tick " << id << " happened " << effects.count(id) << " times");
  for (auto const& id : effects)
    BOOST_TEST((ok.count(id) == 1 || uncertain.count(id) == 1), "tick " << id << " happened but is not recorded");
  BOOST_TEST(effects.size() >= ok.size());
  BOOST_TEST(effects.size() <= ok.size() + uncertain.size());
  return out;
}

/// `kind` is "sqlite" or "file". The file store runs with durability=async:
/// a killed process loses nothing the OS already has; fsync guards against
/// power loss, which this test does not simulate.
void crash_and_resume(std::string const& kind) {
  leash_test::TempDir dir("leash-crash");
  std::string spec = kind == "sqlite" ? "sqlite:" + (dir / "runs.db").string()
                                      : "file:" + (dir / "runs").string() + "?durability=async";
  std::string log = (dir / "child.log").string();
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(1, 60);

  int kills = 0;
  std::vector<std::pair<std::string, std::string>> runs;  // run id, counter file
  while (kills < kills_per_store) {
    std::string run_id = kind + "-run-" + std::to_string(runs.size());
    std::string counter = (dir / (run_id + ".ticks")).string();
    runs.emplace_back(run_id, counter);
    for (bool finished = false; !finished;) {
      pid_t pid = spawn_child(spec, run_id, counter, log);
      bool kill_it = kills < kills_per_store;
      if (kill_it) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
      if (kill_it) ::kill(pid, SIGKILL);
      int status = 0;
      BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
      if (WIFSIGNALED(status)) ++kills;  // a kill that came after the child exited does not count
      if (WIFEXITED(status)) {
        BOOST_REQUIRE_MESSAGE(WEXITSTATUS(status) == 0, "the child failed; see " << log);
        finished = true;  // it ended the run before the kill (or was not killed)
      }
    }
  }
  auto store = leash::open_store(spec);
  BOOST_REQUIRE(store.has_value());
  Audit total;
  for (auto const& [run_id, counter] : runs) {
    BOOST_TEST_CONTEXT(run_id) {
      Audit a = audit(store.value(), run_id, counter);
      total.iterations += a.iterations;
      total.ok += a.ok;
      total.uncertain += a.uncertain;
      total.effects += a.effects;
    }
  }
  BOOST_TEST_MESSAGE(kind << ": " << kills << " kills over " << runs.size() << " run(s): " << total.iterations
                          << " iterations, " << total.ok << " ok ticks, " << total.uncertain << " uncertain, "
                          << total.effects << " side effects");
  BOOST_TEST(kills >= kills_per_store);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_crash)

#ifdef LEASH_HAS_SQLITE
BOOST_AUTO_TEST_CASE(sqlite_store_survives_sigkill_at_random_moments) { crash_and_resume("sqlite"); }
#endif

BOOST_AUTO_TEST_CASE(file_store_survives_sigkill_at_random_moments) { crash_and_resume("file"); }

BOOST_AUTO_TEST_SUITE_END()
