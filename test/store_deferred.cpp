// DeferredStore (Durability::exit): a run's writes are held back until it ends
// or pauses, then made at once; a write that fails keeps what was held; a
// killed run loses its steps and starts over on resume. The approval and
// resume scenarios over a deferred store are in loop_resume.cpp (store_kinds).
#include <leash/store/deferred.hpp>
#include <leash/store/open.hpp>

#include <boost/test/unit_test.hpp>

#include "crash/harness.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#include <chrono>
#include <fstream>
#include <thread>

using namespace leash;
using namespace leash_test;

namespace {

using Plain = Loop<ScriptedPlanner, FixTools, PolicyList<>>;

template <class T>
T value_of(result<T> r) {
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : std::string()));
  return std::move(r).value();
}

/// Forwards to a MemoryStore; its combined write fails while `fail` is set.
class FlakyStore final : public StoreInterface {
 public:
  bool fail = false;
  AnyStore inner{std::make_shared<MemoryStore>()};

  task<void> create_run(State const& s) override { return inner.create_run(s); }
  task<void> append_iteration(State const& s) override { return inner.append_iteration(s); }
  task<void> save_head(State const& s) override { return inner.save_head(s); }
  task<void> journal(std::string id, std::vector<JournaledAction> e) override {
    return inner.journal(std::move(id), std::move(e));
  }
  task<State> load(std::string id) override { return inner.load(std::move(id)); }
  task<void> append_events(std::string id, std::vector<Event> e) override {
    return inner.append_events(std::move(id), std::move(e));
  }
  task<void> append_iteration_with_events(State const& s, std::vector<Event> e) override {
    if (fail) co_return Error{Errc::store_failed, "disk full (test)"};
    co_return co_await inner.append_iteration_with_events(s, std::move(e));
  }
  task<json::array> load_events(std::string id) override { return inner.load_events(std::move(id)); }
  task<std::vector<RunSummary>> list_runs() override { return inner.list_runs(); }
};

std::size_t count_lines(std::string const& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_deferred)

#ifdef LEASH_HAS_SQLITE
BOOST_AUTO_TEST_CASE(nothing_is_written_until_the_run_ends_then_everything_is) {
  TempDir dir("leash-deferred");
  std::string const db = (dir / "runs.db").string();
  auto deferred = value_of(open_store("sqlite:" + db + "?durability=exit"));
  AnyStore plain = value_of(open_store("sqlite:" + db));  // another connection, as the `leash` CLI

  auto env = make_env({"a", "b", "c", "d"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  // Looks at the database from outside while the run goes on.
  std::vector<std::size_t> seen;
  std::string run_id = "deferred-run";
  opts.run_id = run_id;
  opts.observe = [&](State const&) {
    auto s = run_sync(plain.load(run_id));
    seen.push_back(s.has_value() ? s.value().iterations.size() : 999);
    return env->observe();
  };
  Plain loop("fix them", ScriptedPlanner{fix_call("a"), fix_call("b"), fix_call("c"), fix_call("d")},
             FixTools{Fix{env}}, {}, {}, deferred, opts);
  auto r = value_of(loop.run());
  BOOST_TEST(to_string(r.status) == "SUCCESS");

  // Created at once, nothing else while it ran.
  BOOST_TEST(seen == std::vector<std::size_t>(seen.size(), 0), "iterations seen from outside while running");
  BOOST_TEST(seen.size() == 5u);
  // Then all of it: the records, the status, and every event the sinks saw.
  State s = value_of(run_sync(plain.load(run_id)));
  BOOST_TEST(s.iterations.size() == loop.state().iterations.size());
  BOOST_TEST(s.iterations.size() >= 4u);
  BOOST_TEST(s.status.has_value());
  BOOST_TEST(s.in_flight.empty());
  for (std::size_t i = 0; i < s.iterations.size(); ++i) BOOST_TEST(s.iterations[i].index == i);
  auto events = value_of(run_sync(plain.load_events(run_id)));
  BOOST_TEST(events.size() == sink->size());
  BOOST_TEST(events.back().as_object().at("kind").as_string() == "loop.end");
  auto* wrapper = dynamic_cast<DeferredStore*>(&deferred.get());
  BOOST_REQUIRE(wrapper != nullptr);
  BOOST_TEST(wrapper->held_runs() == 0u);
}

BOOST_AUTO_TEST_CASE(a_killed_run_loses_its_steps_and_resume_starts_it_over) {
  TempDir dir("leash-deferred-kill");
  leash_crash::Options o;
  o.child = LEASH_CRASH_CHILD_PATH;
  o.store_spec = "sqlite:" + (dir / "runs.db").string() + "?durability=exit";
  o.iterations = 1000;
  std::string const counter = (dir / "ticks").string();
  std::string const log = (dir / "child.log").string();

  pid_t pid = leash_crash::detail::spawn_child(o, "killed", counter, log);
  BOOST_REQUIRE(pid > 0);
  // Killed once it has done some work, well before its end.
  auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (count_lines(counter) < 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ::kill(pid, SIGKILL);
  int status = 0;
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status), "the child ended before it was killed; see " << log);
  std::size_t const done_before = count_lines(counter);
  BOOST_TEST(done_before >= 20u);

  AnyStore plain = value_of(open_store("sqlite:" + (dir / "runs.db").string()));
  State lost = value_of(run_sync(plain.load("killed")));
  BOOST_TEST(lost.iterations.empty());  // the ticks happened, their records were held back
  BOOST_TEST(!lost.status.has_value());

  // Resumed, it starts over and ends with a whole record.
  pid = leash_crash::detail::spawn_child(o, "killed", counter, log);
  BOOST_REQUIRE(pid > 0);
  BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
  BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "see " << log);
  State whole = value_of(run_sync(plain.load("killed")));
  BOOST_TEST(whole.iterations.size() == 1000u);
  BOOST_TEST(count_lines(counter) == done_before + 1000u);
}
#endif

BOOST_AUTO_TEST_CASE(a_failed_final_write_keeps_what_was_held) {
  auto flaky = std::make_shared<FlakyStore>();
  auto deferred = std::make_shared<DeferredStore>(AnyStore(flaky));
  auto env = make_env({"a", "b"});
  auto sink = std::make_shared<MemorySink>();
  auto opts = env_options(env, sink);
  Plain loop("fix them", ScriptedPlanner{fix_call("a"), fix_call("b")}, FixTools{Fix{env}}, {}, {},
             AnyStore(deferred), opts);
  flaky->fail = true;
  auto r = value_of(loop.run());
  BOOST_TEST(to_string(r.status) == "ERROR");
  BOOST_TEST(r.reason.find("disk full (test)") != std::string::npos);
  BOOST_TEST(deferred->held_runs() == 1u);
  BOOST_TEST(value_of(run_sync(flaky->inner.load(r.run_id))).iterations.empty());

  // The disk is back: the next write makes all of it.
  flaky->fail = false;
  BOOST_REQUIRE(run_sync(deferred->save_head(loop.state())).has_value());
  BOOST_TEST(deferred->held_runs() == 0u);
  State s = value_of(run_sync(flaky->inner.load(r.run_id)));
  BOOST_TEST(s.iterations.size() == loop.state().iterations.size());
  BOOST_TEST(s.iterations.size() >= 2u);
  auto events = value_of(run_sync(flaky->inner.load_events(r.run_id)));
  BOOST_TEST(events.size() == sink->size());
}

// Entries of the iteration in flight outlive the flush (a resume needs them);
// those of recorded iterations are settled by the record and dropped.
BOOST_AUTO_TEST_CASE(journal_of_the_iteration_in_flight_is_written_with_the_head) {
  auto inner = std::make_shared<MemoryStore>();
  DeferredStore deferred{AnyStore(inner)};
  State s;
  s.run_id = "j";
  s.goal = "g";
  BOOST_REQUIRE(run_sync(deferred.create_run(s)).has_value());
  auto entry = [](std::uint64_t iteration, std::uint64_t position, std::string tool) {
    JournaledAction j;
    j.iteration = iteration;
    j.position = position;
    j.tool = std::move(tool);
    return j;
  };
  BOOST_REQUIRE(run_sync(deferred.journal("j", {entry(0, 0, "old")})).has_value());
  IterationRecord first;
  first.index = 0;
  s.iterations.push_back(first);
  BOOST_REQUIRE(run_sync(deferred.append_iteration(s)).has_value());  // iteration 0 recorded: "old" settled
  BOOST_REQUIRE(run_sync(deferred.journal("j", {entry(1, 0, "first"), entry(1, 1, "second")})).has_value());
  BOOST_REQUIRE(run_sync(deferred.journal("j", {entry(1, 1, "second, finished")})).has_value());  // an upsert
  BOOST_TEST(value_of(run_sync(inner->load("j"))).iterations.empty());

  BOOST_REQUIRE(run_sync(deferred.save_head(s)).has_value());
  State stored = value_of(run_sync(inner->load("j")));
  BOOST_TEST(stored.iterations.size() == 1u);
  BOOST_REQUIRE(stored.in_flight.size() == 2u);
  BOOST_TEST(stored.in_flight[0].tool == "first");
  BOOST_TEST(stored.in_flight[1].tool == "second, finished");
  BOOST_TEST(deferred.held_runs() == 0u);
}

// What an attempt that never ended here held does not leak into the next
// attempt at the run, and can be dropped by hand.
BOOST_AUTO_TEST_CASE(a_new_attempt_starts_with_nothing_held_and_discard_drops_a_run) {
  auto inner = std::make_shared<MemoryStore>();
  DeferredStore deferred{AnyStore(inner)};
  State s;
  s.run_id = "again";
  BOOST_REQUIRE(run_sync(deferred.create_run(s)).has_value());
  for (std::uint64_t i = 0; i < 3; ++i) {
    IterationRecord it;
    it.index = i;
    s.iterations.push_back(it);
    JournaledAction j;
    j.iteration = i + 1;
    j.tool = "stale";
    BOOST_REQUIRE(run_sync(deferred.journal("again", {j})).has_value());
    BOOST_REQUIRE(run_sync(deferred.append_iteration(s)).has_value());
  }
  // The first attempt stops mid-run (cancelled); a second starts over from the store.
  State fresh;
  fresh.run_id = "again";
  IterationRecord first;
  fresh.iterations.push_back(first);
  BOOST_REQUIRE(run_sync(deferred.append_iteration(fresh)).has_value());
  BOOST_REQUIRE(run_sync(deferred.save_head(fresh)).has_value());
  State stored = value_of(run_sync(inner->load("again")));
  BOOST_TEST(stored.iterations.size() == 1u);
  BOOST_TEST(stored.in_flight.empty());  // the first attempt's entry for iteration 3 is gone

  BOOST_REQUIRE(run_sync(deferred.append_iteration(s)).has_value());
  BOOST_TEST(deferred.held_runs() == 1u);
  deferred.discard("again");
  BOOST_TEST(deferred.held_runs() == 0u);
}

BOOST_AUTO_TEST_CASE(specs_choose_it_and_say_where_it_does_not_apply) {
  TempDir dir("leash-deferred-spec");
  auto file = open_store("file:" + (dir / "runs").string() + "?durability=exit");
  BOOST_REQUIRE(file.has_value());
  BOOST_TEST((dynamic_cast<DeferredStore*>(&file.value().get()) != nullptr));
  auto plain_file = open_store("file:" + (dir / "runs").string());
  BOOST_REQUIRE(plain_file.has_value());
  BOOST_TEST((dynamic_cast<DeferredStore*>(&plain_file.value().get()) == nullptr));

  auto memory = open_store("memory:?durability=exit");
  BOOST_REQUIRE(memory.has_error());
  BOOST_TEST(memory.error() == Errc::invalid_store_spec);
#ifdef LEASH_HAS_SQLITE
  auto sqlite = open_store("sqlite:" + (dir / "runs.db").string() + "?durability=exit");
  BOOST_REQUIRE(sqlite.has_value());
  BOOST_TEST((dynamic_cast<DeferredStore*>(&sqlite.value().get()) != nullptr));
  auto async = open_store("sqlite:" + (dir / "runs.db").string() + "?durability=async");
  BOOST_REQUIRE(async.has_error());
  BOOST_TEST(async.error().what().find("durability=sync|exit") != std::string::npos);
#endif
  FileStoreOptions exit_options;
  exit_options.durability = Durability::exit;
  auto direct = FileStore::open(dir / "direct", exit_options);
  BOOST_REQUIRE(direct.has_error());
  BOOST_TEST(direct.error() == Errc::invalid_config);
  BOOST_TEST(direct.error().what().find("DeferredStore") != std::string::npos);
  BOOST_TEST(!std::filesystem::exists(dir / "direct"));  // refused before anything is created
}

BOOST_AUTO_TEST_SUITE_END()
