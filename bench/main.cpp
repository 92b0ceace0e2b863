// leash-bench — what the loop itself costs per iteration, next to the
// reference's benchmark (docs: /work/shared/reference/tightloop.md §6).
//
// The reference: a fake LLM always returns one call to a trivial tool
// `tick(i:int)` (50 input / 10 output tokens, `i` varying so fingerprints
// differ), a goal metric counts tool runs and succeeds at N, ceilings raised,
// default policies, in-memory store and trace. N LLM+tool iterations run and
// N+1 are recorded (the last one only measures success).
//
//   leash-bench [--json] [--only NAME] [--repeat K] [--list] [--iterations N]
//               [--no-fork] [--dump-periods FILE]
//
// value = wall time of run() / N. first100_us / last100_us = mean period
// between consecutive tool runs over iterations 1..100 and the last 100;
// ratio = last / first (the issue's target: <= 1.2 at 100k iterations).
// Each bench runs in a child process of its own, so its peak RSS
// (getrusage ru_maxrss) is its own and not the largest of the run so far.
//
// Over HTTP (bench/http_server.hpp: a Beast server on 127.0.0.1, its own
// thread, answering every chat-completions request with one OpenAI-format
// call of tick):
// * http_turn_overhead: the same 1000-iteration loop with an LlmPlanner over
//   `openai-compatible:http://127.0.0.1:PORT/v1#bench-model`; value = wall
//   time / N, divided by the mean bare keep-alive round trip (an HttpClient
//   of the same options, bodies of the sizes the loop sent, call by call: the
//   body grows with the summaries, ~50 KB on average), measured in the same
//   process before and after the loop (ratio_to_round_trip; the issue's
//   target: <= 1.3). Noisy when other processes use the cores: see the
//   client_cpu_* figures (the calling thread's CPU time) too.
// * concurrent_loops_1k / _10k: N loops as coroutines (async_run) on one
//   io_context sharing one transport. The server holds every reply until all
//   N loops are parked inside their first LLM call (min(N, the transport's
//   max_connections_per_host) requests held by the server, the rest waiting
//   in the client's line for a connection), so idle_kb_per_loop = (RSS then −
//   RSS before the loops were made) / N (the issue's target: <= 32 KB);
//   then it answers at once, and turns_per_s = turns / time from the release
//   to the last loop's end.
//
// Routing (leash/learn/query.hpp), no loop at all:
// * classify_query: classify_query() + build_routing_context() over a fixed
//   set of 20 varied queries, repeated; value = ns per query (target: <= 2000).
// * mine_100k: 100,000 runs in a SQLite store (filled first, not timed) read
//   back as traces with their steps in one streaming pass that feeds the
//   miner, the evolver's analysis and the learned router; value = seconds for
//   the pass and the analyses (the issue's target: <= 3), with the RSS growth.
// * diag_classify_regex: the same signals found three ways — leash's scan,
//   std::regex and Boost.Regex (header-only since 1.76: nothing to link) with
//   the reference's patterns — ns per query each; the figures in
//   docs/learn-routing.md come from here.
//
// Simulated conversations (leash/sim/), 1000 conversations of 10 turns
// (100 personas × 10 runs), each job's transcript and session log written
// in a fresh temp folder (removed afterwards), no run store:
// * sim_batch: ScriptedSpeakers on both sides, the runner on one thread;
//   value = conversations/s. conversation_only_per_s: the same
//   conversations by sim::Conversation in a loop, no runner and no files;
//   files_overhead_ratio = that / value (what the runner, its logs and its
//   fsynced transcripts cost, as a factor). atomic_write_us: one fsynced
//   atomic write of a transcript-sized file alone, for scale.
// * sim_batch_http: LlmSpeakers on both sides over openai-compatible HTTP to
//   the local server (a plain text reply), max_concurrent 100; value =
//   turns/s. A turn at concurrency 100 overlaps others, so it is not set
//   against a round trip: ratio_to_round_trip comes from a sequential pass
//   (max_concurrent 1, 50 conversations) whose wall time per turn is divided
//   by the mean bare keep-alive round trip with bodies of the sizes that pass
//   sent, measured before and after it (the target: <= 1.3). The pass writes
//   its transcripts and logs as the batch does; ratio_conversation_only is
//   the same 50 conversations by sim::Conversation alone (no runner, no
//   files), and atomic_write_us what one fsynced transcript write costs here.
#include <leash/leash.hpp>
#include <leash/learn/miner.hpp>
#include <leash/learn/optimize/engine.hpp>
#include <leash/learn/optimize/pareto.hpp>
#include <leash/learn/query.hpp>
#include <leash/learn/router.hpp>
#include <leash/learn/trace_store.hpp>
#ifdef LEASH_HAS_TOMLPLUSPLUS
#include <leash/learn/agent_config.hpp>
#endif
#include <leash/sync_wait.hpp>
#include <leash/llm.hpp>
#include <leash/sim/llm_speaker.hpp>
#include <leash/sim/runner.hpp>
#include <leash/sim/scripted_speaker.hpp>
#include <leash/store/detail/file_io.hpp>
#include <leash/store/open.hpp>

#include "http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/regex.hpp>

#include <malloc.h>
#include <stdlib.h>

#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// ---- counting allocations: every operator new on this thread --------------------
// thread_local, not atomic: an atomic increment would cost more than what it
// counts. Not counted: allocations on the tool pool's threads, Asio's coroutine
// frames (aligned_alloc) and OpenSSL's (malloc).
namespace {
thread_local std::uint64_t allocations = 0;
}
// Not inlined, like the deletes below: g++ would otherwise see `free` meet `new`
// (-Wmismatched-new-delete), and valgrind must see every new and delete as a call.
[[gnu::noinline]] void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
[[gnu::noinline]] void* operator new(std::size_t n, std::nothrow_t const&) noexcept {
  ++allocations;
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, std::nothrow_t const& t) noexcept { return ::operator new(n, t); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

// ---- the world: a counter the tool advances and the metric reads ------------

struct TickArgs {
  int i = 0;
};
BOOST_DESCRIBE_STRUCT(TickArgs, (), (i))

/// Tool runs so far, and when each happened (preallocated: recording a time
/// must not allocate inside the measured loop).
struct Counter {
  explicit Counter(std::size_t n) : stamps(n + 1) {}
  std::atomic<std::uint64_t> runs{0};
  std::vector<Clock::time_point> stamps;

  int tick(TickArgs const& a) {
    auto k = runs.load(std::memory_order_relaxed);
    if (k < stamps.size()) stamps[k] = Clock::now();
    runs.store(k + 1, std::memory_order_release);
    return a.i;
  }
};

/// The trivial tool, declared non-blocking: it runs inline on the loop's thread.
struct InlineTick {
  static constexpr std::string_view name = "tick";
  static constexpr std::string_view description = "Advance the counter by one.";
  static constexpr bool non_blocking = true;
  using args = TickArgs;
  std::shared_ptr<Counter> counter;
  int operator()(args const& a) const { return counter->tick(a); }
};

/// The same tool, blocking (the default): a thread-pool hop raced against its timeout.
struct PooledTick {
  static constexpr std::string_view name = "tick";
  static constexpr std::string_view description = "Advance the counter by one.";
  using args = TickArgs;
  std::shared_ptr<Counter> counter;
  int operator()(args const& a) const { return counter->tick(a); }
};

/// value = tool runs; success once they reach the target.
struct RunsMetric {
  std::shared_ptr<Counter> counter;
  std::uint64_t target = 0;
  leash::MetricSnapshot measure(std::string_view, leash::State const&) const {
    leash::MetricSnapshot m;
    m.value = static_cast<double>(counter->runs.load(std::memory_order_acquire));
    return m;
  }
  bool is_success(leash::MetricSnapshot const& m) const { return m.value >= static_cast<double>(target); }
};

/// The fake LLM: always one call to tick with a fresh `i`. A ScriptedPlanner
/// cannot vary its reply, hence this planner. With `read_messages` it builds
/// the request's messages, as a real LLM client must; otherwise the loop never
/// renders its context (it only keeps running sizes for the budget).
class BenchPlanner {
 public:
  explicit BenchPlanner(bool read_messages, std::shared_ptr<std::uint64_t> chars)
      : read_messages_(read_messages), chars_(std::move(chars)) {}

  asio::awaitable<leash::result<leash::Plan>> plan(leash::PlanRequest const& request) {
    if (read_messages_)
      for (auto const& m : request.messages()) *chars_ += m.content.size();
    co_return leash::Plan::single_call("tick", {{"i", next_++}}, {}, leash::Usage{50, 10});
  }
  std::string_view model_id() const noexcept { return "bench-fake-llm"; }

 private:
  bool read_messages_;
  std::shared_ptr<std::uint64_t> chars_;
  int next_ = 0;
};

// ---- the benches ---------------------------------------------------------------

struct Target {
  double us_per_iter;
  double ratio;
};

struct Spec {
  enum class Kind {
    loop,        ///< in-process fake LLM (BenchPlanner)
    http_turn,   ///< LlmPlanner over HTTP to the local server, next to bare round trips
    concurrent,  ///< `loops` loops at once on one io_context over HTTP
    classify,        ///< classify_query + build_routing_context, `n` rounds over the query set
    classify_regex,  ///< the scan against std::regex and Boost.Regex, `n` rounds
    mine,            ///< `n` runs in a SQLite store, mined in one streaming pass
    sim_batch,       ///< sim::Runner, ScriptedSpeakers: `loops` conversations of `n` turns, files on disk
    sim_batch_http,  ///< sim::Runner, LlmSpeakers over HTTP to the local server: `loops` conversations of `n` turns
    pareto,          ///< learn::optimize::pareto_frontier on `loops` random points × `n` objectives
    optimize,        ///< learn::optimize::OptimizationEngine, scripted model and runner, `n` trials
  };
  std::string name;
  std::string what;
  std::uint64_t n;           ///< LLM+tool iterations (concurrent: per loop; sim_*: turns per conversation)
  Kind kind = Kind::loop;
  std::uint64_t loops = 1;   ///< concurrent: how many loops; sim_*: how many conversations
  bool pooled = false;       ///< blocking tool (thread pool) instead of inline
  bool memory_sink = true;   ///< a leash::MemorySink among the trace sinks
  bool store_events = true;  ///< LoopOptions::trace_to_store
  bool render = false;       ///< planner reads the messages
  std::optional<Target> target = std::nullopt;
  bool reference = false;    ///< comparable with tightloop §6's first row
  bool diagnostic = false;   ///< run only when named with --only
  /// Empty: the memory store. Else "sqlite", "sqlite-exit" (durability=exit),
  /// "file" (fsync per record) or "file-async", on a fresh directory under
  /// the system temp dir.
  std::string store = {};
  /// Over HTTP: TransportOptions::max_connections_per_host (empty: its default).
  std::optional<std::size_t> max_connections = std::nullopt;
};

std::vector<Spec> const& specs() {
  static std::vector<Spec> const all = {
      {.name = "loop_overhead_memory",
       .what = "1000 iterations, inline tool, MemorySink + events in the memory store, default policies",
       .n = 1000, .reference = true},
      {.name = "loop_overhead_memory_pooled",
       .what = "as loop_overhead_memory with a blocking tool (thread-pool hop + timeout race)",
       .n = 1000, .pooled = true, .reference = true},
      {.name = "loop_overhead_memory_100k", .what = "as loop_overhead_memory at 100000 iterations",
       .n = 100000, .target = Target{5.0, 1.2}},
      {.name = "loop_overhead_memory_render",
       .what = "as loop_overhead_memory, the planner building its messages (context rendered every call)",
       .n = 1000, .render = true, .reference = true},
      {.name = "loop_overhead_bare_100k",
       .what = "100000 iterations, inline tool, no trace sink, no events in the store",
       .n = 100000, .memory_sink = false, .store_events = false},
      {.name = "loop_overhead_sqlite",
       .what = "as loop_overhead_memory on a SQLite store (WAL, synchronous=NORMAL: survives kill -9)",
       .n = 1000, .target = Target{50.0, 1.2}, .store = "sqlite"},
      {.name = "loop_overhead_sqlite_100k", .what = "as loop_overhead_sqlite at 100000 iterations",
       .n = 100000, .target = Target{50.0, 1.2}, .store = "sqlite"},
      {.name = "loop_overhead_sqlite_exit",
       .what = "as loop_overhead_sqlite with durability=exit: the run written once, at its end (a crash loses "
               "its steps; the end's write is inside the timing)",
       .n = 1000, .store = "sqlite-exit"},
      {.name = "loop_overhead_file",
       .what = "as loop_overhead_memory on a file store (durability=sync: fdatasync per record)",
       .n = 1000, .store = "file"},
      {.name = "loop_overhead_file_100k",
       .what = "as loop_overhead_memory on a file store at 100000 iterations (durability=async: survives kill -9)",
       .n = 100000, .target = Target{50.0, 1.2}, .store = "file-async"},
      {.name = "http_turn_overhead",
       .what = "as loop_overhead_memory with an LlmPlanner over openai-compatible HTTP to a local server; "
               "per turn / a bare keep-alive round trip of the same request size",
       .n = 1000, .kind = Spec::Kind::http_turn},
      {.name = "concurrent_loops_1k",
       .what = "1000 loops (async_run) on one io_context over openai-compatible HTTP, 10 turns each: "
               "turns/s, RSS per idle loop",
       .n = 10, .kind = Spec::Kind::concurrent, .loops = 1000},
      {.name = "concurrent_loops_10k", .what = "as concurrent_loops_1k with 10000 loops, 4 turns each",
       .n = 4, .kind = Spec::Kind::concurrent, .loops = 10000},
      // Diagnostics (only with --only): which part of tracing costs what.
      {.name = "diag_sink_only_100k", .what = "100000 iterations, MemorySink, no events in the store",
       .n = 100000, .store_events = false, .diagnostic = true},
      {.name = "diag_store_events_only_100k", .what = "100000 iterations, events in the store, no MemorySink",
       .n = 100000, .memory_sink = false, .diagnostic = true},
      {.name = "diag_pooled_100k", .what = "as loop_overhead_memory_100k with a blocking tool",
       .n = 100000, .pooled = true, .diagnostic = true},
      {.name = "diag_render_10k", .what = "as loop_overhead_memory_render at 10000 iterations",
       .n = 10000, .render = true, .diagnostic = true},
      {.name = "diag_http_turn_bare", .what = "as http_turn_overhead with no trace sink and no events in the store",
       .n = 1000, .kind = Spec::Kind::http_turn, .memory_sink = false, .store_events = false, .diagnostic = true},
      {.name = "diag_concurrent_loops_1k_uncapped",
       .what = "as concurrent_loops_1k with no connection cap: every loop parked on a connection of its own",
       .n = 10, .kind = Spec::Kind::concurrent, .loops = 1000, .diagnostic = true, .max_connections = 0},
      {.name = "classify_query",
       .what = "classify_query + build_routing_context (thinking-model check included) over 20 varied queries",
       .n = 20000, .kind = Spec::Kind::classify},
      {.name = "mine_100k",
       .what = "100000 runs in a SQLite store read back as traces with steps in one streaming pass feeding "
               "the miner (SFT, routing, agent-config pairs), the evolver's analysis and the learned router",
       .n = 100000, .kind = Spec::Kind::mine},
      {.name = "sim_batch",
       .what = "1000 simulated conversations x 10 turns (100 personas x 10 runs), sim::ScriptedSpeaker on both "
               "sides, sim::Runner on one io_context and one thread, max_concurrent 0 (every job at once; no scripted "
               "job ever suspends, so they run one after another), quiet, no store; transcripts (atomic rename, not synced: the default) and "
               "session logs in a fresh temp folder. Side by side: the same conversations by sim::Conversation "
               "alone, no files (files_overhead_ratio = conversation_only_per_s / value)",
       .n = 10, .kind = Spec::Kind::sim_batch, .loops = 1000},
      {.name = "sim_batch_http",
       .what = "1000 simulated conversations x 10 turns (100 personas x 10 runs), sim::LlmSpeaker on both sides "
               "over one openai-compatible transport (retry.max_attempts 1) to a local server, sim::Runner with "
               "max_concurrent 100 on one io_context, quiet, no store; value = turns/s of that batch. "
               "ratio_to_round_trip: a sequential pass (max_concurrent 1, 50 conversations, files included), "
               "wall time per turn / the mean bare keep-alive round trip with bodies of the sizes it sent "
               "(ratio_conversation_only: the same 50 by sim::Conversation alone, no runner, no files)",
       .n = 10, .kind = Spec::Kind::sim_batch_http, .loops = 1000},
      {.name = "pareto_10k",
       .what = "Pareto frontier of 10000 random trials x 3 objectives (uniform in [0,1), seed 42), sort-based; "
               "side by side: the reference's all-pairs O(n^2 m) method on the same points (same frontier checked)",
       .n = 3, .kind = Spec::Kind::pareto, .loops = 10000},
      {.name = "optimize_trials",
       .what = "OptimizationEngine over 200 trials (patience off): LlmOptimizer on a scripted transport (one "
               "proposal and one analysis per trial, prompts carrying the whole history), a runner that returns "
               "at once; value = trials/s, i.e. the engine's own cost per trial",
       .n = 200, .kind = Spec::Kind::optimize},
      {.name = "diag_classify_regex",
       .what = "classification + complexity signals (no JSON) by leash's scan, std::regex and Boost.Regex",
       .n = 2000, .kind = Spec::Kind::classify_regex, .diagnostic = true},
  };
  return all;
}

long current_rss_kb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/// CPU seconds (user, system) and minor page faults of the process so far, all
/// threads: less sensitive than wall time to other processes competing for the
/// cores, and the system part shows what growing the heap costs.
struct Usage {
  double user_s = 0, sys_s = 0;
  long minor_faults = 0;
};
Usage usage_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return {s(ru.ru_utime), s(ru.ru_stime), ru.ru_minflt};
}

/// Bytes malloc has handed out and not got back (every thread's arenas).
long heap_in_use_kb() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<long>((mi.uordblks + mi.hblkhd) / 1024);
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;  // kilobytes on Linux
}

double median_us(std::vector<Clock::time_point> const& t, std::size_t from, std::size_t to) {
  std::vector<double> v;
  for (std::size_t k = from; k < to; ++k) v.push_back(std::chrono::duration<double, std::micro>(t[k] - t[k - 1]).count());
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

double mean_us(std::vector<Clock::time_point> const& t, std::size_t from, std::size_t to) {
  // Period k = t[k] - t[k-1], for k in [from, to).
  double sum = 0.0;
  for (std::size_t k = from; k < to; ++k) sum += std::chrono::duration<double, std::micro>(t[k] - t[k - 1]).count();
  return sum / static_cast<double>(to - from);
}

/// When set (--dump-periods FILE), every iteration's period in µs, one per line.
std::string dump_periods_path;

template <class ToolT>
json::object run_bench(Spec const& spec) {
  auto counter = std::make_shared<Counter>(spec.n);
  auto chars = std::make_shared<std::uint64_t>(0);
  auto sink = std::make_shared<leash::MemorySink>();

  leash::LoopOptions o;
  o.limits.max_iterations = std::max<std::uint64_t>(5000, 2 * spec.n);
  o.limits.token_limit = 1'000'000'000;
  o.limits.wall_clock_s = 1e6;
  o.goal_metric = RunsMetric{counter, spec.n};
  o.quiet = true;
  o.trace_to_store = spec.store_events;
  if (spec.memory_sink) o.trace_sinks.push_back(sink);

  // A durable store lives in a fresh directory, removed afterwards.
  std::filesystem::path store_dir;
  leash::AnyStore store;
  if (!spec.store.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "leash-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return json::object{{"bench", spec.name}, {"error", "mkdtemp failed"}};
    store_dir = tmpl;
    std::string store_spec = spec.store == "sqlite"        ? "sqlite:" + (store_dir / "runs.db").string()
                             : spec.store == "sqlite-exit" ? "sqlite:" + (store_dir / "runs.db").string() + "?durability=exit"
                             : spec.store == "file"        ? "file:" + store_dir.string()
                                                           : "file:" + store_dir.string() + "?durability=async";
    auto opened = leash::open_store(store_spec);
    if (opened.has_error()) return json::object{{"bench", spec.name}, {"error", opened.error().what()}};
    store = std::move(opened).value();
  }
  struct RemoveDir {
    std::filesystem::path p;
    ~RemoveDir() {
      std::error_code ignored;
      if (!p.empty()) std::filesystem::remove_all(p, ignored);
    }
  } remove_dir{store_dir};

  using Tools = leash::ToolSet<ToolT>;
  using Agent = leash::Loop<BenchPlanner, Tools>;
  auto agent = std::make_unique<Agent>("count to " + std::to_string(spec.n), BenchPlanner(spec.render, chars),
                                       Tools(ToolT{counter}), leash::DefaultPolicies{}, leash::ExitList<>{},
                                       store, std::move(o));

  long rss_before = current_rss_kb();
  std::uint64_t allocs_before = allocations;
  Usage u0 = usage_now();
  auto t0 = Clock::now();
  auto r = agent->run();
  auto t1 = Clock::now();
  Usage u1 = usage_now();
  std::uint64_t allocs = allocations - allocs_before;
  long rss_after = current_rss_kb();
  std::size_t recorded = agent->state().iterations.size();
  std::size_t events = sink->size();
  // What destroying a finished loop costs (its state, the store's copy, the trace).
  auto t2 = Clock::now();
  agent.reset();
  sink->clear();
  auto t3 = Clock::now();

  double total_s = std::chrono::duration<double>(t1 - t0).count();
  double per_iter_us = total_s * 1e6 / static_cast<double>(spec.n);

  json::object out;
  out["bench"] = spec.name;
  out["value"] = per_iter_us;
  out["unit"] = "us/iter";
  std::string status = r ? std::string(leash::to_string(r.value().status)) : "ERROR: " + r.error().what();
  out["status"] = status;
  out["iterations"] = spec.n;
  out["recorded"] = recorded;
  out["total_s"] = total_s;
  out["allocs_per_iter"] = static_cast<double>(allocs) / static_cast<double>(spec.n);
  auto per_iter = [&](double v) { return v / static_cast<double>(spec.n); };
  out["user_us_per_iter"] = per_iter((u1.user_s - u0.user_s) * 1e6);
  out["sys_us_per_iter"] = per_iter((u1.sys_s - u0.sys_s) * 1e6);
  out["minor_faults_per_iter"] = per_iter(static_cast<double>(u1.minor_faults - u0.minor_faults));
  out["teardown_s"] = std::chrono::duration<double>(t3 - t2).count();
  std::size_t const window = std::min<std::size_t>(100, spec.n - 1);
  double first = 0, last = 0, first_med = 0, last_med = 0;
  bool ok = r && r.value().status == leash::Status::success && counter->runs.load() == spec.n;
  if (ok && spec.n > 1) {
    first = mean_us(counter->stamps, 1, 1 + window);
    last = mean_us(counter->stamps, spec.n - window, spec.n);
    first_med = median_us(counter->stamps, 1, 1 + window);
    last_med = median_us(counter->stamps, spec.n - window, spec.n);
  }
  if (ok && !dump_periods_path.empty()) {
    std::ofstream f(dump_periods_path);
    for (std::size_t k = 1; k < spec.n; ++k)
      f << std::chrono::duration<double, std::micro>(counter->stamps[k] - counter->stamps[k - 1]).count() << '\n';
  }
  out["first100_us"] = first;
  out["last100_us"] = last;
  out["ratio"] = first > 0 ? last / first : 0.0;
  // Medians: one preemption by another process inside a 100-iteration window
  // moves a mean, hardly a median.
  out["first100_median_us"] = first_med;
  out["last100_median_us"] = last_med;
  out["ratio_median"] = first_med > 0 ? last_med / first_med : 0.0;
  out["peak_rss_kb"] = peak_rss_kb();
  out["rss_before_kb"] = rss_before;
  out["rss_after_kb"] = rss_after;
  out["trace_events"] = events;
  if (spec.render) out["rendered_chars"] = *chars;
  out["tool"] = spec.pooled ? "blocking (pool)" : "non_blocking (inline)";
  out["store"] = spec.store.empty() ? "memory" : spec.store;
  if (!store_dir.empty()) {
    std::uintmax_t bytes = 0;
    std::error_code ec;
    for (auto const& f : std::filesystem::recursive_directory_iterator(store_dir, ec))
      if (f.is_regular_file(ec)) bytes += f.file_size(ec);
    out["store_bytes"] = bytes;
  }
  out["what"] = spec.what;
  if (spec.target) {
    bool met_us = ok && per_iter_us <= spec.target->us_per_iter;
    bool met_ratio = ok && out["ratio"].as_double() <= spec.target->ratio;
    out["target"] = json::object{{"us_per_iter", spec.target->us_per_iter}, {"ratio", spec.target->ratio}};
    out["met"] = met_us && met_ratio;
    out["met_us_per_iter"] = met_us;
    out["met_ratio"] = met_ratio;
  }
  if (spec.store == "file" || spec.store == "sqlite")
    out["reference_state_file"] = json::object{
        {"source", "tightloop §6, with state file and trace file (rewrites the whole state every iteration)"},
        {"us_per_iter", json::array{24000, 27000}},
        {"first100_us", json::array{2800, 3000}},
        {"last100_us", json::array{44600, 45700}}};
  if (spec.reference)
    out["reference"] = json::object{{"source", "tightloop §6, in memory, default policies, varying argument"},
                                    {"us_per_iter", json::array{760, 1100}},
                                    {"first100_us", json::array{470, 710}},
                                    {"last100_us", json::array{1070, 1420}},
                                    {"peak_rss_kb", 38200}};
  return out;
}


// ---- over HTTP -------------------------------------------------------------------

/// The local server's answer to request k: an OpenAI chat.completion calling
/// tick with i = k (50 input / 10 output tokens, as the fake LLM reports).
std::string tick_reply(std::uint64_t k) {
  auto const n = std::to_string(k);
  return R"({"id":"chatcmpl-bench-)" + n +
         R"(","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,)"
         R"("message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_)" + n +
         R"(","type":"function","function":{"name":"tick","arguments":"{\"i\":)" + n +
         R"(}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":50,"completion_tokens":10,"total_tokens":60}})";
}

using HttpAgent = leash::Loop<leash::LlmPlanner, leash::ToolSet<InlineTick>>;

leash::result<leash::llm::AnyTransport> local_transport(bench::LlmServer const& server,
                                                        leash::llm::TransportOptions const& options) {
  return leash::llm::make_transport("openai-compatible:" + server.url("/v1") + "#bench-model", options);
}

/// CPU seconds of the calling thread (the client's: the server runs on another).
double thread_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

/// Sequential keep-alive requests like `proto` with `http` on a fresh
/// io_context, one per entry of `sizes` (its body cut or padded to that
/// size), after one to open the connection; each one's time in µs.
std::vector<double> bare_round_trips(leash::llm::HttpClient& http, leash::llm::HttpRequest const& proto,
                                     std::vector<std::size_t> const& sizes, bool& ok) {
  std::vector<double> us;
  us.reserve(sizes.size());
  asio::io_context io(1);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i <= sizes.size(); ++i) {
          // A fresh request each time, as the transport builds one per call.
          leash::llm::HttpRequest request{proto.method, proto.url, proto.headers, {}};
          std::size_t const size = i == 0 ? proto.body.size() : sizes[i - 1];
          request.body.assign(proto.body, 0, std::min(size, proto.body.size()));
          request.body.resize(size, ' ');
          auto t0 = Clock::now();
          auto r = co_await http.request(std::move(request));
          auto t1 = Clock::now();
          if (!r || r.value().status != 200) ok = false;
          if (i > 0) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        }
      },
      asio::detached);
  io.run();
  return us;
}

double mean_of(std::vector<double> const& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

struct HttpLoopRun {
  leash::result<leash::LoopResult> result = leash::Error{leash::Errc::invalid_config};
  std::shared_ptr<Counter> counter;
  double wall_s = 0, cpu_s = 0;
  std::uint64_t allocs = 0;
  std::size_t events = 0;
};

/// One loop of `n` LLM+tool iterations over `transport`, shaped as run_bench's.
HttpLoopRun run_http_loop(Spec const& spec, leash::llm::AnyTransport const& transport, std::uint64_t n) {
  HttpLoopRun out;
  out.counter = std::make_shared<Counter>(n);
  auto sink = std::make_shared<leash::MemorySink>();
  leash::LoopOptions o;
  o.limits.max_iterations = std::max<std::uint64_t>(5000, 2 * n);
  o.limits.token_limit = 1'000'000'000;
  o.limits.wall_clock_s = 1e6;
  o.goal_metric = RunsMetric{out.counter, n};
  o.quiet = true;
  o.trace_to_store = spec.store_events;
  if (spec.memory_sink) o.trace_sinks.push_back(sink);
  auto agent = std::make_unique<HttpAgent>("count to " + std::to_string(n), leash::LlmPlanner(transport),
                                           leash::ToolSet<InlineTick>(InlineTick{out.counter}),
                                           leash::DefaultPolicies{}, leash::ExitList<>{}, leash::AnyStore{},
                                           std::move(o));
  std::uint64_t allocs_before = allocations;
  double cpu0 = thread_cpu_s();
  auto t0 = Clock::now();
  out.result = agent->run();
  auto t1 = Clock::now();
  out.cpu_s = thread_cpu_s() - cpu0;
  out.allocs = allocations - allocs_before;
  out.wall_s = std::chrono::duration<double>(t1 - t0).count();
  out.events = sink->size();
  return out;
}

json::object run_http_turn(Spec const& spec) {
  json::object out;
  out["bench"] = spec.name;
  bench::LlmServer server(tick_reply);
  server.capture(true);
  leash::llm::TransportOptions topts;  // what a user gets
  auto made = local_transport(server, topts);
  if (!made) return json::object{{"bench", spec.name}, {"status", "ERROR: " + made.error().what()}};
  leash::llm::AnyTransport transport = made.value();

  // The loop's request grows with its summaries (~50 KB on average over 1000
  // iterations), so the bare round trips send bodies of the sizes the loop
  // sent, in the same order: first those of a warm-up run of the same loop.
  auto warm = run_http_loop(spec, transport, spec.n);
  bool ok = warm.result && warm.result.value().status == leash::Status::success;
  leash::llm::HttpRequest proto;
  proto.method = "POST";
  proto.url = server.url("/v1/chat/completions");
  proto.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  proto.body = server.largest_body();
  auto sizes = server.take_sizes();
  std::string const reply_sample = tick_reply(500);

  // Side by side: bare round trips, the loop, bare round trips again.
  leash::llm::HttpClient http(leash::llm::to_http_options(topts));
  double cpu0 = thread_cpu_s();
  auto before = bare_round_trips(http, proto, sizes, ok);
  server.take_sizes();
  auto run = run_http_loop(spec, transport, spec.n);
  auto run_sizes = server.take_sizes();
  auto after = bare_round_trips(http, proto, run_sizes, ok);
  double bare_cpu_us =
      (thread_cpu_s() - cpu0 - run.cpu_s) * 1e6 / static_cast<double>(sizes.size() + run_sizes.size() + 2);
  double mean_request = 0;
  for (auto n : run_sizes) mean_request += static_cast<double>(n);
  if (!run_sizes.empty()) mean_request /= static_cast<double>(run_sizes.size());
  ok = ok && run.result && run.result.value().status == leash::Status::success && run.counter->runs.load() == spec.n;

  std::vector<double> bare = before;
  bare.insert(bare.end(), after.begin(), after.end());
  double const per_turn_us = run.wall_s * 1e6 / static_cast<double>(spec.n);
  double const bare_us = mean_of(bare);
  double turn_median = 0;
  if (ok && spec.n > 2) turn_median = median_us(run.counter->stamps, 1, spec.n);
  double const bare_median = median_of(bare);

  out["value"] = per_turn_us;
  out["unit"] = "us/turn";
  out["status"] = !run.result ? "ERROR: " + run.result.error().what()
                  : !ok       ? "ERROR: " + std::string(leash::to_string(run.result.value().status)) + ": " +
                              run.result.value().reason
                              : std::string(leash::to_string(run.result.value().status));
  out["iterations"] = spec.n;
  out["round_trip_us"] = bare_us;
  out["round_trip_before_us"] = mean_of(before);
  out["round_trip_after_us"] = mean_of(after);
  out["ratio_to_round_trip"] = bare_us > 0 ? per_turn_us / bare_us : 0.0;
  out["turn_median_us"] = turn_median;
  out["round_trip_median_us"] = bare_median;
  out["ratio_median"] = bare_median > 0 ? turn_median / bare_median : 0.0;
  out["overhead_us_per_turn"] = per_turn_us - bare_us;
  out["client_cpu_us_per_turn"] = run.cpu_s * 1e6 / static_cast<double>(spec.n);
  out["client_cpu_us_per_round_trip"] = bare_cpu_us;
  out["allocs_per_turn"] = static_cast<double>(run.allocs) / static_cast<double>(spec.n);
  out["request_bytes_mean"] = mean_request;
  out["request_bytes_max"] = proto.body.size();
  out["response_bytes"] = reply_sample.size();
  out["server_requests"] = server.requests();
  out["server_connections"] = server.connections();
  out["trace_events"] = run.events;
  out["peak_rss_kb"] = peak_rss_kb();
  out["what"] = spec.what;
  out["target"] = json::object{{"ratio_to_round_trip", 1.3}};
  out["met"] = ok && bare_us > 0 && per_turn_us / bare_us <= 1.3;
  return out;
}

/// Counts complete() calls on the way to the real transport (no coroutine
/// of its own: it hands back the inner transport's awaitable).
class CountingTransport final : public leash::llm::TransportInterface {
 public:
  CountingTransport(leash::llm::AnyTransport inner, std::shared_ptr<std::atomic<std::uint64_t>> calls)
      : inner_(std::move(inner)), calls_(std::move(calls)) {}
  asio::awaitable<leash::result<leash::llm::Completion>> complete(leash::llm::CompletionRequest const& r) override {
    calls_->fetch_add(1, std::memory_order_relaxed);
    return inner_.complete(r);
  }
  asio::awaitable<leash::result<leash::llm::Completion>> stream(leash::llm::CompletionRequest const& r,
                                                                leash::llm::StreamCallback cb) override {
    calls_->fetch_add(1, std::memory_order_relaxed);
    return inner_.stream(r, std::move(cb));
  }
  std::string_view model_id() const override { return inner_.model_id(); }
  std::string_view provider() const override { return inner_.provider(); }

 private:
  leash::llm::AnyTransport inner_;
  std::shared_ptr<std::atomic<std::uint64_t>> calls_;
};

json::object run_concurrent(Spec const& spec) {
  json::object out;
  out["bench"] = spec.name;
  // One client socket per connection, one server socket each: raise the
  // soft descriptor limit to the hard one.
  rlimit fds{};
  getrlimit(RLIMIT_NOFILE, &fds);
  fds.rlim_cur = fds.rlim_max;
  setrlimit(RLIMIT_NOFILE, &fds);
  getrlimit(RLIMIT_NOFILE, &fds);

  std::uint64_t const loops = spec.loops, turns = spec.n;
  bench::LlmServer server(tick_reply);
  leash::llm::TransportOptions topts;
  if (spec.max_connections) topts.max_connections_per_host = *spec.max_connections;
  std::uint64_t const cap = topts.max_connections_per_host;
  std::uint64_t const on_the_wire = cap == 0 ? loops : std::min(loops, cap);
  auto made = local_transport(server, topts);
  if (!made) return json::object{{"bench", spec.name}, {"status", "ERROR: " + made.error().what()}};
  auto calls = std::make_shared<std::atomic<std::uint64_t>>(0);
  leash::llm::AnyTransport transport(std::make_shared<CountingTransport>(made.value(), calls));

  asio::io_context io(1);
  leash::AnyStore store;  // one in-memory store holds every run

  struct Slot {
    std::shared_ptr<Counter> counter;
    std::unique_ptr<HttpAgent> agent;
    std::optional<leash::result<leash::LoopResult>> result;
  };
  auto make = [&](std::uint64_t n) {
    Slot slot;
    slot.counter = std::make_shared<Counter>(n);
    leash::LoopOptions o;
    o.limits.max_iterations = 2 * n + 10;
    o.limits.token_limit = 1'000'000'000;
    o.limits.wall_clock_s = 1e6;
    o.goal_metric = RunsMetric{slot.counter, n};
    o.quiet = true;
    slot.agent = std::make_unique<HttpAgent>("count to " + std::to_string(n), leash::LlmPlanner(transport),
                                             leash::ToolSet<InlineTick>(InlineTick{slot.counter}),
                                             leash::DefaultPolicies{}, leash::ExitList<>{}, store, std::move(o));
    return slot;
  };
  auto spawn = [&](Slot& slot) {
    asio::co_spawn(
        io, [&slot]() -> asio::awaitable<void> { slot.result.emplace(co_await slot.agent->async_run()); },
        [&slot](std::exception_ptr e) {
          if (e && !slot.result) slot.result.emplace(leash::Error{leash::Errc::invalid_config, "the loop threw"});
        });
  };

  // Warm-up: a few loops to completion (connections, services, allocator caches).
  {
    std::vector<Slot> warm;
    for (int i = 0; i < 8; ++i) warm.push_back(make(3));
    for (auto& w : warm) spawn(w);
    io.run();
    io.restart();
  }

  long const rss_before = current_rss_kb();
  long const heap_before = heap_in_use_kb();
  std::vector<Slot> slots;
  slots.reserve(loops);
  for (std::uint64_t i = 0; i < loops; ++i) slots.push_back(make(turns));
  long const rss_built = current_rss_kb();
  long const heap_built = heap_in_use_kb();

  server.hold();
  std::uint64_t const calls_before = calls->load();
  for (auto& slot : slots) spawn(slot);

  // Parked: every loop inside its first LLM call, the server holding what
  // reached it. Then measure, and let them run.
  long rss_parked = 0, heap_parked = 0;
  bool parked = false;
  Clock::time_point t_spawn = Clock::now(), t_release{};
  double cpu_release = 0;
  std::uint64_t queued_at_park = 0, open_at_park = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer tick(co_await asio::this_coro::executor);
        for (;;) {
          if (calls->load() - calls_before >= loops && server.held() >= on_the_wire) {
            parked = true;
            break;
          }
          if (Clock::now() - t_spawn > std::chrono::seconds(60)) break;
          tick.expires_after(std::chrono::milliseconds(1));
          co_await tick.async_wait(asio::use_awaitable);
        }
        rss_parked = current_rss_kb();
        heap_parked = heap_in_use_kb();
        queued_at_park = loops - server.held();
        open_at_park = server.open_connections();
        cpu_release = thread_cpu_s();
        t_release = Clock::now();
        server.release();
      },
      asio::detached);
  std::uint64_t const allocs_before = allocations;
  io.run();
  auto const t_end = Clock::now();
  double const cpu_s = thread_cpu_s() - cpu_release;
  std::uint64_t const allocs = allocations - allocs_before;

  std::uint64_t done_turns = 0, succeeded = 0;
  std::string first_failure;
  for (auto const& slot : slots) {
    done_turns += slot.counter->runs.load();
    if (slot.result && *slot.result && slot.result->value().status == leash::Status::success)
      ++succeeded;
    else if (first_failure.empty())
      first_failure = !slot.result ? "did not finish"
                      : !*slot.result ? slot.result->error().what()
                                      : std::string(leash::to_string(slot.result->value().status)) + ": " +
                                            slot.result->value().reason;
  }
  double const run_s = std::chrono::duration<double>(t_end - t_release).count();
  double const idle_kb = static_cast<double>(rss_parked - rss_before) / static_cast<double>(loops);
  bool const ok = parked && succeeded == loops;

  out["value"] = run_s > 0 ? static_cast<double>(done_turns) / run_s : 0.0;
  out["unit"] = "turns/s";
  out["status"] = ok ? std::string("SUCCESS")
                     : "ERROR: " + std::to_string(succeeded) + " of " + std::to_string(loops) + " loops succeeded" +
                           (parked ? "" : " (never all parked)") + (first_failure.empty() ? "" : ": " + first_failure);
  out["loops"] = loops;
  out["turns_per_loop"] = turns;
  out["turns"] = done_turns;
  out["run_s"] = run_s;
  out["idle_kb_per_loop"] = idle_kb;
  out["built_kb_per_loop"] = static_cast<double>(rss_built - rss_before) / static_cast<double>(loops);
  // malloc's view: what the loops hold, without page rounding or arena slack.
  out["heap_kb_per_loop_built"] = static_cast<double>(heap_built - heap_before) / static_cast<double>(loops);
  out["heap_kb_per_loop_parked"] = static_cast<double>(heap_parked - heap_before) / static_cast<double>(loops);
  out["sizeof_loop_bytes"] = sizeof(HttpAgent);
  out["rss_before_kb"] = rss_before;
  out["rss_built_kb"] = rss_built;
  out["rss_parked_kb"] = rss_parked;
  out["rss_after_kb"] = current_rss_kb();
  out["peak_rss_kb"] = peak_rss_kb();
  out["parked_on_the_wire"] = loops - queued_at_park;
  out["parked_waiting_for_a_connection"] = queued_at_park;
  out["server_open_connections_at_park"] = open_at_park;
  out["server_connections"] = server.connections();
  out["max_connections_per_host"] = cap;
  out["fd_limit"] = static_cast<std::uint64_t>(fds.rlim_cur);
  out["client_cpu_us_per_turn"] = done_turns ? cpu_s * 1e6 / static_cast<double>(done_turns) : 0.0;
  out["allocs_per_turn"] = done_turns ? static_cast<double>(allocs) / static_cast<double>(done_turns) : 0.0;
  out["what"] = spec.what;
  out["target"] = json::object{{"idle_kb_per_loop", 32}};
  out["met"] = ok && idle_kb <= 32.0;
  return out;
}

// ---- simulated conversations (leash/sim/) ------------------------------------------

namespace sim = leash::sim;

/// A fresh directory under the system temp dir, removed with this object
/// (empty path when it could not be made).
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "leash-bench-sim-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
  TempDir(TempDir const&) = delete;
  TempDir& operator=(TempDir const&) = delete;
};

/// The kind of file system `p` is on: what an fsync costs differs by far.
std::string fs_kind(std::filesystem::path const& p) {
  struct statfs s {};
  if (::statfs(p.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53UL: return "ext4";
    case 0x01021994UL: return "tmpfs";
    case 0x58465342UL: return "xfs";
    case 0x9123683EUL: return "btrfs";
    case 0x794C7630UL: return "overlayfs";
    default: break;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(s.f_type));
  return buf;
}

/// `count` personas "persona-<i>", each with a prompt of a few sentences.
std::vector<sim::Persona> bench_personas(std::size_t count) {
  std::vector<sim::Persona> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    sim::Persona p;
    p.name = "persona-" + std::to_string(i);
    p.fields = {{"Name", p.name}, {"Bike", "a city bike with rim brakes"}};
    p.prompt = "You are " + p.name +
               ", a customer of a small bicycle shop. You ride a city bike with rim brakes to work every day, "
               "and since last week its back brake squeaks whenever you stop. You are polite, a little "
               "impatient, and write short messages, one question at a time.";
    out.push_back(std::move(p));
  }
  return out;
}

/// The scripted persona: five lines (a 10-turn conversation uses them all),
/// then "Mock response N"; none says the end marker.
sim::ScriptedSpeaker scripted_persona(std::string const& name) {
  sim::ScriptedSpeaker s({"Hi, I'm " + name + ". The back brake of my bike squeaks every time I stop.",
                          "It started last week, after a long ride in the rain.",
                          "Rim brakes, I think. The pads look shiny and a bit worn.",
                          "Can I fix that myself, or should I bring the bike in?",
                          "Thanks, I'll clean the rims first and come by if it still squeaks."},
                         "bench-persona");
  s.name(name);
  return s;
}

sim::ScriptedSpeaker scripted_provider() {
  return sim::ScriptedSpeaker({"Sorry to hear that! Are they rim brakes or disc brakes?",
                               "Rain often leaves grit on the rims and glazes the pads.",
                               "Shiny pads are glazed: they squeal against the rim instead of gripping it.",
                               "You can: clean the rims with soapy water, sand the pads lightly and toe them in.",
                               "You're welcome! We're open until six if you need a hand."},
                              "bench-provider");
}

/// Bytes and counts of the transcripts (*.txt) and session logs (*.log)
/// under a run folder's conversations/.
struct FolderBytes {
  std::uintmax_t transcript_bytes = 0, log_bytes = 0;
  std::uint64_t transcripts = 0, logs = 0;
};
FolderBytes folder_bytes(std::filesystem::path const& run_folder) {
  FolderBytes b;
  std::error_code ec;
  for (auto const& f : std::filesystem::recursive_directory_iterator(run_folder / "conversations", ec)) {
    if (!f.is_regular_file(ec)) continue;
    auto const ext = f.path().extension();
    if (ext == ".txt") {
      b.transcript_bytes += f.file_size(ec);
      ++b.transcripts;
    } else if (ext == ".log") {
      b.log_bytes += f.file_size(ec);
      ++b.logs;
    }
  }
  return b;
}

/// What a batch did: jobs that ran their one session whole (`turns_each`
/// turns, no error, no early end, a transcript), turns, session times.
struct BatchCheck {
  std::uint64_t completed = 0, turns = 0;
  double session_s = 0;                ///< the sessions' durations summed (the turns only)
  std::vector<double> session_turn_us;  ///< per session: its duration / its turns
  std::string first_failure;
};
BatchCheck check_batch(leash::result<sim::BatchResult> const& batch, std::size_t turns_each) {
  BatchCheck c;
  if (!batch) {
    c.first_failure = batch.error().what();
    return c;
  }
  for (auto const& j : batch.value().jobs) {
    for (auto const& s : j.sessions) {
      c.turns += s.turns;
      c.session_s += s.duration_s;
      if (s.turns) c.session_turn_us.push_back(s.duration_s * 1e6 / static_cast<double>(s.turns));
    }
    bool const whole = !j.skipped && j.sessions.size() == 1 && !j.sessions[0].skipped &&
                       j.sessions[0].turns == turns_each && !j.sessions[0].early_termination &&
                       !j.sessions[0].transcript.empty();
    if (whole) {
      ++c.completed;
    } else if (c.first_failure.empty()) {
      c.first_failure = "job " + std::to_string(j.index) + ": ";
      if (!j.error.empty())
        c.first_failure += j.error;
      else if (j.sessions.empty())
        c.first_failure += "no session";
      else
        c.first_failure += std::to_string(j.sessions[0].turns) + " turns" +
                           (j.sessions[0].early_termination ? ", ended early" : "") +
                           (j.sessions[0].error.empty() ? "" : ": " + j.sessions[0].error);
    }
  }
  return c;
}

/// The conversations of `personas` × `runs` by sim::Conversation alone, one
/// after another on one io_context, speakers built per conversation as the
/// runner's factories do; no runner, no files, nothing kept. Turns done.
std::uint64_t scripted_conversations(std::vector<sim::Persona> const& personas, std::size_t runs, int max_turns) {
  std::uint64_t turns = 0;
  asio::io_context io(1);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::optional<std::size_t> const no_word_cap;
        bool const persona_first = true;
        for (auto const& p : personas)
          for (std::size_t r = 0; r < runs; ++r) {
            auto persona = scripted_persona(p.name);
            auto provider = scripted_provider();
            sim::Conversation chat(persona, provider);
            auto said = co_await chat.async_run(max_turns, no_word_cap, persona_first);
            if (said) turns += said.value().size();
          }
      },
      asio::detached);
  io.run();
  return turns;
}

/// For scale: the mean time of one atomic, fsynced write of the batch's first
/// transcript (what save_transcript does per conversation) alone, in `dir`.
double transcript_write_us(leash::result<sim::BatchResult> const& batch, std::filesystem::path const& dir) {
  if (!batch || batch.value().jobs.empty() || batch.value().jobs.front().sessions.empty()) return 0.0;
  std::string const text = sim::format_transcript(batch.value().jobs.front().sessions.front().conversation);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  int const writes = 50;
  auto const t0 = Clock::now();
  for (int k = 0; k < writes; ++k)
    if (leash::detail::file_io::replace_atomically(dir / ("t" + std::to_string(k) + ".txt"), text, 0644)) return 0.0;
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / writes;
}

json::object run_sim_batch(Spec const& spec) {
  json::object out;
  out["bench"] = spec.name;
  std::size_t const runs = 10;
  std::size_t const persona_count = std::max<std::size_t>(1, spec.loops / runs);
  std::size_t const conversations = persona_count * runs;
  int const max_turns = static_cast<int>(spec.n);
  auto const turns_each = static_cast<std::size_t>(sim::adjust_turns(max_turns, true));
  auto const personas = bench_personas(persona_count);
  TempDir dir;
  if (dir.path.empty()) return json::object{{"bench", spec.name}, {"status", "ERROR: mkdtemp failed"}};

  sim::RunnerOptions o;
  o.persona_model = "scripted-persona";
  o.provider_model = "scripted-provider";
  o.max_turns = max_turns;
  o.runs_per_persona = static_cast<int>(runs);
  o.max_concurrent = 0;
  o.quiet = true;
  o.seed = 42;
  auto make_persona = [](sim::JobContext const& job) { return scripted_persona(job.persona->name); };
  auto make_provider = [](sim::JobContext const&) { return scripted_provider(); };
  auto run_batch = [&](std::filesystem::path const& folder, std::vector<sim::Persona> input) {
    sim::RunnerOptions opts = o;
    opts.folder = folder;
    sim::Runner runner(std::move(opts), make_persona, make_provider);
    return runner.run(std::move(input));
  };

  // Warm-up: a few conversations each way (allocator, the folder's directory entries).
  std::vector<sim::Persona> const few(personas.begin(), personas.begin() + 1);
  (void)scripted_conversations(few, runs, max_turns);
  (void)run_batch(dir.path / "warm", few);

  // The runner: every job's speakers built, the conversation run, its log and transcript written.
  std::vector<sim::Persona> input = personas;
  long const rss_before = current_rss_kb();
  std::uint64_t const allocs_before = allocations;
  Usage const u0 = usage_now();
  auto const t0 = Clock::now();
  auto batch = run_batch(dir.path / "run", std::move(input));
  auto const t1 = Clock::now();
  Usage const u1 = usage_now();
  std::uint64_t const allocs = allocations - allocs_before;
  long const rss_after = current_rss_kb();  // the BatchResult (every turn) still held
  auto const check = check_batch(batch, turns_each);
  auto const bytes = folder_bytes(dir.path / "run");

  // The same conversations by sim::Conversation alone.
  std::uint64_t const conv_allocs_before = allocations;
  auto const t2 = Clock::now();
  std::uint64_t const conv_turns = scripted_conversations(personas, runs, max_turns);
  auto const t3 = Clock::now();
  std::uint64_t const conv_allocs = allocations - conv_allocs_before;

  double const atomic_write_us = transcript_write_us(batch, dir.path / "probe");

  double const total_s = std::chrono::duration<double>(t1 - t0).count();
  double const conv_s = std::chrono::duration<double>(t3 - t2).count();
  double const n_conv = static_cast<double>(conversations);
  double const per_s = total_s > 0 ? static_cast<double>(check.completed) / total_s : 0.0;
  double const conv_per_s = conv_s > 0 ? n_conv / conv_s : 0.0;
  double const cpu_s = (u1.user_s - u0.user_s) + (u1.sys_s - u0.sys_s);
  bool const ok = check.completed == conversations && conv_turns == conversations * turns_each &&
                  bytes.transcripts == conversations;

  out["value"] = per_s;
  out["unit"] = "conv/s";
  out["status"] = ok ? std::string("SUCCESS")
                     : "ERROR: " + std::to_string(check.completed) + " of " + std::to_string(conversations) +
                           " conversations completed (" + std::to_string(bytes.transcripts) + " transcripts, " +
                           std::to_string(conv_turns) + " turns without the runner)" +
                           (check.first_failure.empty() ? "" : ": " + check.first_failure);
  out["conversations"] = conversations;
  out["personas"] = persona_count;
  out["runs_per_persona"] = runs;
  out["turns_per_conversation"] = turns_each;
  out["turns"] = check.turns;
  out["turns_per_s"] = total_s > 0 ? static_cast<double>(check.turns) / total_s : 0.0;
  out["total_s"] = total_s;
  out["us_per_conversation"] = total_s * 1e6 / n_conv;
  out["cpu_us_per_conversation"] = cpu_s * 1e6 / n_conv;
  out["user_us_per_conversation"] = (u1.user_s - u0.user_s) * 1e6 / n_conv;
  out["sys_us_per_conversation"] = (u1.sys_s - u0.sys_s) * 1e6 / n_conv;
  out["off_cpu_us_per_conversation"] = std::max(0.0, total_s - cpu_s) * 1e6 / n_conv;  // mostly fsync waits
  out["allocs_per_conversation"] = static_cast<double>(allocs) / n_conv;
  // SessionResult::duration_s summed: the turns only (no log, no transcript).
  out["session_us_per_conversation"] = check.session_s * 1e6 / n_conv;
  out["conversation_only_per_s"] = conv_per_s;
  out["conversation_only_us_per_conversation"] = conv_s * 1e6 / n_conv;
  out["conversation_only_allocs_per_conversation"] = static_cast<double>(conv_allocs) / n_conv;
  out["files_overhead_ratio"] = per_s > 0 ? conv_per_s / per_s : 0.0;
  out["transcripts"] = bytes.transcripts;
  out["transcript_bytes"] = bytes.transcript_bytes;
  out["logs"] = bytes.logs;
  out["log_bytes"] = bytes.log_bytes;
  out["atomic_write_us"] = atomic_write_us;
  out["folder_fs"] = fs_kind(dir.path);
  out["max_concurrent"] = o.max_concurrent;
  out["rss_before_kb"] = rss_before;
  out["rss_after_kb"] = rss_after;
  out["peak_rss_kb"] = peak_rss_kb();
  out["what"] = spec.what;
  return out;
}

/// The local server's answer for the simulated conversations: a plain
/// assistant text reply (never the end marker), with usage.
std::string text_reply(std::uint64_t k) {
  auto const n = std::to_string(k);
  return R"({"id":"chatcmpl-bench-)" + n +
         R"(","object":"chat.completion","created":1700000000,"model":"bench-model","choices":[{"index":0,)"
         R"("message":{"role":"assistant","content":"Reply )" + n +
         R"(: a squeaking rim brake usually has glazed pads or a dirty rim. Clean the rim, sand the pads )"
         R"(lightly and toe them in; bring the bike in if it still squeaks."},"finish_reason":"stop"}],)"
         R"("usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}})";
}

sim::LlmSpeaker http_persona(leash::llm::AnyTransport const& transport, sim::Persona const& p) {
  sim::LlmSpeakerOptions o;
  o.name = p.name;
  o.role = sim::Role::persona;
  o.system_prompt = p.prompt;
  o.reminder = std::string(sim::default_persona_reminder);
  return sim::LlmSpeaker(transport, std::move(o));
}

sim::LlmSpeaker http_provider(leash::llm::AnyTransport const& transport) {
  sim::LlmSpeakerOptions o;
  o.name = "bench-bot";
  o.role = sim::Role::provider;
  o.system_prompt = "You are a helpful AI assistant.";
  return sim::LlmSpeaker(transport, std::move(o));
}

/// The conversations of `personas` × `runs` between LlmSpeakers over
/// `transport` by sim::Conversation alone, one after another on a fresh
/// io_context, no runner, no files, nothing kept.
struct ConversationPass {
  double wall_s = 0, cpu_s = 0;
  std::uint64_t turns = 0, failed = 0;
};
ConversationPass http_conversations(leash::llm::AnyTransport const& transport, std::vector<sim::Persona> const& personas,
                                    int runs, int max_turns) {
  ConversationPass out;
  asio::io_context io(1);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::optional<std::size_t> const no_word_cap;
        bool const persona_first = true;
        for (auto const& p : personas)
          for (int r = 0; r < runs; ++r) {
            auto persona = http_persona(transport, p);
            auto provider = http_provider(transport);
            sim::Conversation chat(persona, provider);
            auto said = co_await chat.async_run(max_turns, no_word_cap, persona_first);
            if (said)
              out.turns += said.value().size();
            else
              ++out.failed;
          }
      },
      asio::detached);
  double const cpu0 = thread_cpu_s();
  auto const t0 = Clock::now();
  io.run();
  out.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  out.cpu_s = thread_cpu_s() - cpu0;
  return out;
}

struct SimPass {
  leash::result<sim::BatchResult> batch = leash::Error{leash::Errc::invalid_config};
  double wall_s = 0, cpu_s = 0;  ///< cpu: the calling thread's (the runner's; the server has its own)
  std::uint64_t allocs = 0;
};

/// `personas` × `runs` conversations by a runner of LlmSpeakers over
/// `transport`, at most `max_concurrent` at once, into `folder`.
SimPass run_sim_http_pass(leash::llm::AnyTransport const& transport, std::vector<sim::Persona> const& personas,
                          int runs, int max_turns, int max_concurrent, std::filesystem::path const& folder) {
  sim::RunnerOptions o;
  o.folder = folder;
  o.persona_model = "openai-compatible:bench-model";
  o.provider_model = "openai-compatible:bench-model";
  o.max_turns = max_turns;
  o.runs_per_persona = runs;
  o.max_concurrent = max_concurrent;
  o.quiet = true;
  o.seed = 42;
  auto make_persona = [&transport](sim::JobContext const& job) { return http_persona(transport, *job.persona); };
  auto make_provider = [&transport](sim::JobContext const&) { return http_provider(transport); };
  sim::Runner runner(std::move(o), make_persona, make_provider);
  std::vector<sim::Persona> input = personas;
  SimPass out;
  std::uint64_t const allocs_before = allocations;
  double const cpu0 = thread_cpu_s();
  auto const t0 = Clock::now();
  out.batch = runner.run(std::move(input));
  auto const t1 = Clock::now();
  out.cpu_s = thread_cpu_s() - cpu0;
  out.allocs = allocations - allocs_before;
  out.wall_s = std::chrono::duration<double>(t1 - t0).count();
  return out;
}

json::object run_sim_batch_http(Spec const& spec) {
  json::object out;
  out["bench"] = spec.name;
  int const runs = 10;
  std::size_t const persona_count = std::max<std::size_t>(1, spec.loops / runs);
  std::size_t const conversations = persona_count * static_cast<std::size_t>(runs);
  int const max_turns = static_cast<int>(spec.n);
  int const concurrency = 100;
  auto const turns_each = static_cast<std::size_t>(sim::adjust_turns(max_turns, true));
  auto const personas = bench_personas(persona_count);
  // The sequential pass: 5 personas × 10 runs = 50 conversations.
  std::size_t const seq_persona_count = std::min<std::size_t>(5, persona_count);
  std::vector<sim::Persona> const seq_personas(personas.begin(),
                                               personas.begin() + static_cast<std::ptrdiff_t>(seq_persona_count));
  std::size_t const seq_conversations = seq_persona_count * static_cast<std::size_t>(runs);
  TempDir dir;
  if (dir.path.empty()) return json::object{{"bench", spec.name}, {"status", "ERROR: mkdtemp failed"}};

  bench::LlmServer server(text_reply);
  server.capture(true);
  leash::llm::TransportOptions topts;
  topts.retry.max_attempts = 1;  // as leash-simulate: the speakers' retries are the only ones
  auto made = local_transport(server, topts);
  if (!made) return json::object{{"bench", spec.name}, {"status", "ERROR: " + made.error().what()}};
  leash::llm::AnyTransport transport = made.value();

  // Sequential, side by side as http_turn_overhead: a warm-up pass (its
  // sizes for the first bare round trips), bare round trips, the measured
  // pass, bare round trips of its sizes.
  std::string seq_failure;
  auto warm = run_sim_http_pass(transport, seq_personas, runs, max_turns, 1, dir.path / "warm");
  auto const warm_check = check_batch(warm.batch, turns_each);
  bool ok = warm_check.completed == seq_conversations;
  if (!ok) seq_failure = "warm-up: " + warm_check.first_failure;
  leash::llm::HttpRequest proto;
  proto.method = "POST";
  proto.url = server.url("/v1/chat/completions");
  proto.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  proto.body = server.largest_body();
  auto sizes = server.take_sizes();
  // The same 50 conversations by sim::Conversation alone (what the runner
  // and its files add, next to what the speakers and the transport cost),
  // just before the first bare round trips: no file is written in between.
  auto const alone = http_conversations(transport, seq_personas, runs, max_turns);
  if (alone.failed || alone.turns != seq_conversations * turns_each) {
    ok = false;
    if (seq_failure.empty()) seq_failure = std::to_string(alone.failed) + " conversations alone failed";
  }
  leash::llm::HttpClient http(leash::llm::to_http_options(topts));
  double const bare_cpu0 = thread_cpu_s();
  auto const before = bare_round_trips(http, proto, sizes, ok);
  double bare_cpu_s = thread_cpu_s() - bare_cpu0;
  server.take_sizes();  // the conversations alone's and the bare ones
  auto seq = run_sim_http_pass(transport, seq_personas, runs, max_turns, 1, dir.path / "sequential");
  auto const seq_sizes = server.take_sizes();
  double const bare_cpu1 = thread_cpu_s();
  auto const after = bare_round_trips(http, proto, seq_sizes, ok);
  bare_cpu_s += thread_cpu_s() - bare_cpu1;
  auto const seq_check = check_batch(seq.batch, turns_each);
  if (seq_check.completed != seq_conversations) {
    ok = false;
    if (seq_failure.empty()) seq_failure = "sequential pass: " + seq_check.first_failure;
  }
  if (!ok && seq_failure.empty()) seq_failure = "a bare round trip failed";
  server.capture(false);
  double mean_request = 0;
  for (auto n : seq_sizes) mean_request += static_cast<double>(n);
  if (!seq_sizes.empty()) mean_request /= static_cast<double>(seq_sizes.size());

  // The batch: every conversation, `concurrency` at once.
  long const rss_before = current_rss_kb();
  std::uint64_t const requests_before = server.requests();
  std::uint64_t const connections_before = server.connections();
  auto batch = run_sim_http_pass(transport, personas, runs, max_turns, concurrency, dir.path / "batch");
  long const rss_after = current_rss_kb();  // the BatchResult (every turn) still held
  std::uint64_t const batch_requests = server.requests() - requests_before;
  auto const check = check_batch(batch.batch, turns_each);
  auto const bytes = folder_bytes(dir.path / "batch");
  bool const batch_ok = check.completed == conversations;
  double const atomic_write_us = transcript_write_us(batch.batch, dir.path / "probe");

  std::vector<double> bare = before;
  bare.insert(bare.end(), after.begin(), after.end());
  double const bare_us = mean_of(bare);
  double const bare_median = median_of(bare);
  double const seq_turns = static_cast<double>(seq_check.turns);
  double const seq_per_turn_us = seq_turns > 0 ? seq.wall_s * 1e6 / seq_turns : 0.0;
  double const seq_session_us = seq_turns > 0 ? seq_check.session_s * 1e6 / seq_turns : 0.0;
  double const seq_session_median = median_of(seq_check.session_turn_us);
  double const ratio = bare_us > 0 ? seq_per_turn_us / bare_us : 0.0;
  double const alone_turns = static_cast<double>(alone.turns);
  double const alone_us = alone_turns > 0 ? alone.wall_s * 1e6 / alone_turns : 0.0;
  double const turns = static_cast<double>(check.turns);

  out["value"] = batch.wall_s > 0 ? turns / batch.wall_s : 0.0;
  out["unit"] = "turns/s";
  out["status"] = !batch_ok ? "ERROR: " + std::to_string(check.completed) + " of " + std::to_string(conversations) +
                                  " conversations completed" +
                                  (check.first_failure.empty() ? "" : ": " + check.first_failure)
                  : !ok     ? "ERROR: " + seq_failure
                            : std::string("SUCCESS");
  out["conversations"] = conversations;
  out["completed"] = check.completed;
  out["turns_per_conversation"] = turns_each;
  out["turns"] = check.turns;
  out["max_concurrent"] = concurrency;
  out["batch_s"] = batch.wall_s;
  out["conversations_per_s"] = batch.wall_s > 0 ? static_cast<double>(check.completed) / batch.wall_s : 0.0;
  out["client_cpu_us_per_turn"] = turns > 0 ? batch.cpu_s * 1e6 / turns : 0.0;
  out["allocs_per_turn"] = turns > 0 ? static_cast<double>(batch.allocs) / turns : 0.0;
  out["requests_per_turn"] = turns > 0 ? static_cast<double>(batch_requests) / turns : 0.0;
  out["batch_server_connections"] = server.connections() - connections_before;
  // The sequential pass and the bare round trips.
  out["sequential_conversations"] = seq_check.completed;
  out["sequential_us_per_turn"] = seq_per_turn_us;
  out["sequential_client_cpu_us_per_turn"] = seq_turns > 0 ? seq.cpu_s * 1e6 / seq_turns : 0.0;
  out["round_trip_us"] = bare_us;
  out["round_trip_before_us"] = mean_of(before);
  out["round_trip_after_us"] = mean_of(after);
  out["round_trip_median_us"] = bare_median;
  out["ratio_to_round_trip"] = ratio;
  out["overhead_us_per_turn"] = seq_per_turn_us - bare_us;
  // Each bare round trip's CPU on the calling thread (one opening request each time included).
  out["client_cpu_us_per_round_trip"] =
      bare_cpu_s * 1e6 / static_cast<double>(sizes.size() + seq_sizes.size() + 2);
  // Inside the conversations only (no job setup, no log or transcript): the
  // sessions' durations summed / their turns, and the median session's.
  out["session_us_per_turn"] = seq_session_us;
  out["ratio_in_session"] = bare_us > 0 ? seq_session_us / bare_us : 0.0;
  out["ratio_in_session_median"] = bare_median > 0 ? seq_session_median / bare_median : 0.0;
  // The same conversations by sim::Conversation alone (no runner, no files).
  out["conversation_only_us_per_turn"] = alone_us;
  out["conversation_only_client_cpu_us_per_turn"] = alone_turns > 0 ? alone.cpu_s * 1e6 / alone_turns : 0.0;
  // Against the bare round trips made right after them (the warm-up's sizes,
  // the same conversations': only the server's reply numbers differ).
  out["ratio_conversation_only"] = mean_of(before) > 0 ? alone_us / mean_of(before) : 0.0;
  out["request_bytes_mean"] = mean_request;
  out["request_bytes_max"] = proto.body.size();
  out["response_bytes"] = text_reply(500).size();
  out["transcripts"] = bytes.transcripts;
  out["transcript_bytes"] = bytes.transcript_bytes;
  out["log_bytes"] = bytes.log_bytes;
  out["atomic_write_us"] = atomic_write_us;
  // The share of the batch's wall time that writing the transcripts alone
  // would take. The runner writes them (and the logs) on a file-writer
  // thread of its own, so this is CPU that thread needs beside the io
  // thread's, not time the conversations stand still.
  out["transcript_write_share"] =
      batch.wall_s > 0 ? atomic_write_us * 1e-6 * static_cast<double>(bytes.transcripts) / batch.wall_s : 0.0;
  out["folder_fs"] = fs_kind(dir.path);
  out["server_requests"] = server.requests();
  out["rss_before_kb"] = rss_before;
  out["rss_after_kb"] = rss_after;
  out["peak_rss_kb"] = peak_rss_kb();
  out["what"] = spec.what;
  out["target"] = json::object{{"ratio_to_round_trip", 1.3}};
  out["met"] = ok && batch_ok && bare_us > 0 && ratio <= 1.3;
  return out;
}

// ---- routing: query classification ---------------------------------------------

/// Queries of every class and size: greetings, code, math, reasoning, lists,
/// creative requests, non-ASCII text, one long one.
std::vector<std::string> const& routing_queries() {
  static std::vector<std::string> const all = {
      "hello",
      "What is the capital of France?",
      "thanks, that worked!",
      "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nWhy is this so slow for n = 40?",
      "```cpp\nfor (auto& x : xs) x->update();\n```\nwhat does this loop do?",
      "Fix the bug: `const total = items.map(i => i.price).reduce((a, b) => a + b)` returns NaN",
      "Solve the equation 3x + 5 = 20 for x, and compute the integral of x^2 from 0 to 3.",
      "calculate 2+2",
      "What is the probability of rolling two sixes in a row with fair dice?",
      "Explain step by step the pros and cons of microservices versus a monolith for a team of five engineers, "
      "then compare the trade-offs in operating cost.",
      "Why does the sky look blue during the day but red at sunset?",
      "Write a short story about a robot who learns to paint, in the style of a fairy tale.",
      "Create a design for a small web page that lists my book collection.",
      "Plan my week:\n1. finish the report\n2. call the bank\n3. book the flights\n- buy groceries\n- clean the flat",
      "First summarise the attached notes, next list the open questions, and also suggest owners for each.",
      "Résumé de la réunion d'hier : qu'avons-nous décidé pour le budget ?",
      "日本語で説明してください：なぜ空は青いのですか？",
      "Tell me about the history of the Roman empire and how it influenced the legal systems of modern Europe.",
      "Translate 'good morning' into Spanish, German and Italian.",
      std::string("Summarise this log and tell me what failed: ") + std::string(600, 'x'),
  };
  return all;
}

json::object run_classify(Spec const& spec) {
  auto const& queries = routing_queries();
  std::uint64_t sink = 0;
  auto once = [&](std::string const& q) {
    sink += static_cast<std::uint64_t>(leash::learn::classify_query(q));
    sink += leash::learn::build_routing_context(q, 0.5, "qwen3:8b").suggested_max_tokens;
  };
  for (auto const& q : queries) once(q);  // warm-up: caches, allocator

  std::uint64_t const allocs_before = allocations;
  Usage const u0 = usage_now();
  auto const t0 = Clock::now();
  for (std::uint64_t round = 0; round < spec.n; ++round)
    for (auto const& q : queries) once(q);
  auto const t1 = Clock::now();
  Usage const u1 = usage_now();
  double const n = static_cast<double>(spec.n * queries.size());
  double const ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / n;

  json::object out;
  out["bench"] = spec.name;
  out["value"] = ns;
  out["unit"] = "ns/query";
  out["status"] = sink ? "SUCCESS" : "ERROR: nothing computed";
  out["rounds"] = spec.n;
  out["queries_per_round"] = queries.size();
  out["allocs_per_query"] = static_cast<double>(allocations - allocs_before) / n;
  out["user_ns_per_query"] = (u1.user_s - u0.user_s) * 1e9 / n;
  out["what"] = spec.what;
  out["target"] = json::object{{"ns_per_query", 2000}};
  out["met"] = sink != 0 && ns <= 2000.0;
  return out;
}

/// The reference's patterns (§2.1) with a regex engine: what classification
/// plus complexity signals cost written the obvious way. `Engine` supplies
/// the regex type and search/count for std::regex or Boost.Regex.
template <class Engine>
struct RegexSignals {
  using Regex = typename Engine::regex;
  Regex classify_code = Engine::make(R"(```|`[^`]+`|\b(def|class|import|function)\s)");
  Regex classify_math = Engine::make(R"(\b(solve|integral|equation|calculate|compute)\b)");
  Regex code = Engine::make(R"(```|`[^`]+`|\b(def|class|import|function|const|var|let)\s|\bif\s*\(|->|=>|)"
                            R"(\{\s*\}|\bfor\s+\w+\s+in\s|#include|System\.out)");
  Regex math = Engine::make(R"(\b(solve|integral|equation|proof|derivative|matrix|theorem|calculate|compute|)"
                            R"(sigma|sum|limit|probability)\b)");
  Regex reasoning = Engine::make(R"(\b(explain|analyze|compare|why|step[- ]by[- ]step|reason|think|)"
                                 R"(pros\s+and\s+cons|trade-?\s*offs?|evaluate)\b)");
  Regex multi_step = Engine::make(R"(\bstep\s*\d|\b(and\s+also|additionally|furthermore)\b|\b\d+\.\s)");
  Regex creative = Engine::make(R"(\b(create|design|draft|compose)\b)");
  Regex then = Engine::make(R"(\bthen\b)"), first = Engine::make(R"(\bfirst\b)"), next = Engine::make(R"(\bnext\b)");
  Regex write = Engine::make(R"(\bwrite\b)"), writing = Engine::make(R"(\b(essay|story|article|report|poem)\b)");
  Regex generate = Engine::make(R"(\bgenerate\b)"), generated = Engine::make(R"(\b(code|script|program)\b)");
  Regex numbered = Engine::make_lines(R"(^\s*\d+[.)]\s)"), bulleted = Engine::make_lines(R"(^\s*[-*]\s)");

  /// Python's _ordered_words: `b` anywhere after the first `a`.
  bool ordered(char const* begin, char const* end, Regex const& a, Regex const& b) const {
    char const* after = nullptr;
    return Engine::find(begin, end, a, false, after) && Engine::find(after, end, b, after != begin, after);
  }

  /// Folds every signal into a number, so nothing is optimised away.
  std::uint64_t run(std::string const& q) const {
    char const* b = q.data();
    char const* e = b + q.size();
    char const* ignored = nullptr;
    std::uint64_t r = Engine::find(b, e, classify_code, false, ignored)   ? 1
                      : Engine::find(b, e, classify_math, false, ignored) ? 2
                                                                          : 3;
    r = r * 2 + Engine::find(b, e, code, false, ignored);
    r = r * 2 + Engine::find(b, e, math, false, ignored);
    r = r * 2 + Engine::find(b, e, reasoning, false, ignored);
    r = r * 2 + (Engine::find(b, e, multi_step, false, ignored) || ordered(b, e, then, then) ||
                 ordered(b, e, first, next));
    bool creative_found = Engine::find(b, e, creative, false, ignored);
    for (char const* line = b; !creative_found;) {  // the pairs hold within a line
      char const* stop = std::find(line, e, '\n');
      creative_found = ordered(line, stop, write, writing) || ordered(line, stop, generate, generated);
      if (stop == e) break;
      line = stop + 1;
    }
    r = r * 2 + creative_found;
    return r * 64 + static_cast<std::uint64_t>(std::count(b, e, '?')) + Engine::count(q, numbered) +
           Engine::count(q, bulleted);
  }
};

struct StdRegexEngine {
  using regex = std::regex;
  static regex make(char const* p) { return regex(p, std::regex::ECMAScript | std::regex::icase); }
  static regex make_lines(char const* p) { return regex(p, std::regex::ECMAScript | std::regex::multiline); }
  static bool find(char const* b, char const* e, regex const& r, bool prev_avail, char const*& end_of_match) {
    std::cmatch m;
    auto flags = prev_avail ? std::regex_constants::match_prev_avail : std::regex_constants::match_default;
    if (!std::regex_search(b, e, m, r, flags)) return false;
    end_of_match = m[0].second;
    return true;
  }
  static std::size_t count(std::string const& s, regex const& r) {
    return static_cast<std::size_t>(std::distance(std::sregex_iterator(s.begin(), s.end(), r), std::sregex_iterator()));
  }
};

struct BoostRegexEngine {
  using regex = boost::regex;
  static regex make(char const* p) { return regex(p, boost::regex::perl | boost::regex::icase); }
  static regex make_lines(char const* p) { return regex(p, boost::regex::perl); }  // ^ is a line start
  static bool find(char const* b, char const* e, regex const& r, bool prev_avail, char const*& end_of_match) {
    boost::cmatch m;
    auto flags = prev_avail ? boost::match_prev_avail : boost::match_default;
    if (!boost::regex_search(b, e, m, r, flags)) return false;
    end_of_match = m[0].second;
    return true;
  }
  static std::size_t count(std::string const& s, regex const& r) {
    return static_cast<std::size_t>(
        std::distance(boost::sregex_iterator(s.begin(), s.end(), r), boost::sregex_iterator()));
  }
};

json::object run_classify_regex(Spec const& spec) {
  auto const& queries = routing_queries();
  std::uint64_t sink = 0;
  auto time_ns = [&](auto&& one) {
    for (auto const& q : queries) sink += one(q);  // warm-up
    auto const t0 = Clock::now();
    for (std::uint64_t round = 0; round < spec.n; ++round)
      for (auto const& q : queries) sink += one(q);
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() /
           static_cast<double>(spec.n * queries.size());
  };
  auto compile_us = [](auto make) {
    auto const t0 = Clock::now();
    auto made = make();
    double const us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    return std::make_pair(std::move(made), us);
  };
  auto [std_re, std_compile] = compile_us([] { return RegexSignals<StdRegexEngine>{}; });
  auto [boost_re, boost_compile] = compile_us([] { return RegexSignals<BoostRegexEngine>{}; });

  // The same work: class, the five flags, the counts; no JSON, no context.
  double const scan = time_ns([](std::string const& q) {
    auto const s = leash::learn::detail::scan_query(q);
    return static_cast<std::uint64_t>(leash::learn::detail::classify(s)) + s.has_code() + s.has_math() +
           s.reasoning + s.multi_step + s.creative + s.n_questions + s.n_subtasks;
  });
  double const with_std = time_ns([&](std::string const& q) { return std_re.run(q); });
  double const with_boost = time_ns([&](std::string const& q) { return boost_re.run(q); });

  json::object out;
  out["bench"] = spec.name;
  out["value"] = with_std;
  out["unit"] = "ns/query";
  out["status"] = sink ? "SUCCESS" : "ERROR: nothing computed";
  out["ns_per_query_scan"] = scan;
  out["ns_per_query_std_regex"] = with_std;
  out["ns_per_query_boost_regex"] = with_boost;
  out["compile_us_std_regex"] = std_compile;
  out["compile_us_boost_regex"] = boost_compile;
  out["rounds"] = spec.n;
  out["queries"] = queries.size();
  out["what"] = spec.what;
  return out;
}

/// mine_100k: the store is filled first (not timed) with runs shaped like a
/// loop's: 1–3 iterations, 1–2 tool calls each, most with feedback.
json::object run_mine(Spec const& spec) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("leash-bench-mine-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  json::object out;
  out["bench"] = spec.name;
  auto opened = leash::open_store("sqlite:" + (dir / "runs.db").string());
  if (opened.has_error()) {
    out["status"] = "ERROR: " + opened.error().what();
    return out;
  }
  leash::AnyStore store = std::move(opened).value();
  std::mt19937_64 rng(42);
  std::array<char const*, 8> const goals = {
      "Fix the failing test in parser.cpp", "Compute the integral of x^2 from 0 to 3",
      "hello", "Summarise the incident report and list the follow-ups for each team",
      "def add(a, b): return a + b -- why does this fail?", "Translate the README into German",
      "Explain why the cache misses step by step, then propose a fix", "Draft a release note for 2.1"};
  std::array<char const*, 4> const agents = {"coder", "mathbot", "writer", "ops"};
  std::array<char const*, 4> const models = {"gpt-4o", "qwen3:8b", "codestral", "gpt-oss:120b"};
  std::array<char const*, 5> const tools = {"run_tests", "read_file", "edit_file", "calculator", "search_text"};
  boost::asio::io_context io;
  auto const fill0 = Clock::now();
  for (std::uint64_t i = 0; i < spec.n; ++i) {
    leash::State s;
    s.run_id = "run-" + std::to_string(i);
    s.goal = std::string(goals[i % goals.size()]) + " #" + std::to_string(i % 5000);
    s.info.agent = agents[rng() % agents.size()];
    s.info.model = models[rng() % models.size()];
    s.info.engine = "openai";
    s.info.started_at = 1.7e9 + static_cast<double>(i);
    s.info.ended_at = s.info.started_at + 3.0;
    s.info.result = "answer " + std::to_string(i % 7000);
    if (rng() % 10 < 8) {
      s.info.feedback = static_cast<double>(rng() % 101) / 100.0;
      s.info.feedback_source = "judge";
    }
    s.status = rng() % 10 < 7 ? leash::Status::success : leash::Status::no_progress;
    auto iterations = 1 + rng() % 3;
    for (std::uint64_t k = 0; k < iterations; ++k) {
      leash::IterationRecord it;
      it.index = k;
      it.plan_text = "step " + std::to_string(k);
      it.input_tokens = 400;
      it.output_tokens = 60;
      for (std::uint64_t a = 0, calls = 1 + rng() % 2; a < calls; ++a) {
        leash::ActionRecord act;
        act.tool = tools[rng() % tools.size()];
        act.args_excerpt = R"({"path":"src/a.cpp"})";
        act.result_excerpt = "ok";
        act.duration_s = 0.01;
        it.actions.push_back(std::move(act));
      }
      s.iterations.push_back(std::move(it));
    }
    s.metrics.input_tokens = 400 * iterations;
    s.metrics.output_tokens = 60 * iterations;
    s.metrics.elapsed_s = 3.0;
    auto created = leash::sync_wait(io, store.create_run(s));
    if (created.has_error()) {
      out["status"] = "ERROR: " + created.error().what();
      return out;
    }
  }
  double const fill_s = std::chrono::duration<double>(Clock::now() - fill0).count();

  long const rss0 = current_rss_kb();
  Usage const u0 = usage_now();
  auto const t0 = Clock::now();
  leash::learn::TraceStore traces(store);
  leash::learn::TrainingDataMiner miner;
#ifdef LEASH_HAS_TOMLPLUSPLUS
  auto evolver = leash::learn::AgentConfigEvolver::open(dir / "agents");
  if (evolver.has_error()) {
    out["status"] = "ERROR: " + evolver.error().what();
    return out;
  }
#endif
  leash::learn::LearnedRouter router;
  router.begin_update();
  std::uint64_t seen = 0;
  leash::learn::TraceFilter all;
  auto scanned = leash::sync_wait(io, traces.for_each(all, [&](leash::learn::Trace const& t) {
    ++seen;
    miner.add(t);
#ifdef LEASH_HAS_TOMLPLUSPLUS
    evolver.value().add(t);
#endif
    router.add(t);
    return true;
  }));
  auto const sft = miner.sft_pairs().size();
  auto const routing = miner.routing_pairs().size();
  auto const agent_pairs = miner.agent_config_pairs().size();
#ifdef LEASH_HAS_TOMLPLUSPLUS
  auto const recommendations = evolver.value().recommendations().size();
#else
  std::size_t const recommendations = 1;  // the evolver needs toml++; left out
#endif
  auto const update = router.finish_update();
  auto const t1 = Clock::now();
  Usage const u1 = usage_now();
  double const secs = std::chrono::duration<double>(t1 - t0).count();
  fs::remove_all(dir);

  bool const ok = scanned.has_value() && seen == spec.n && sft > 0 && routing > 0 && recommendations > 0;
  out["value"] = secs;
  out["unit"] = "s";
  out["status"] = ok ? std::string("SUCCESS") : "ERROR: " + (scanned.has_error() ? scanned.error().what() : "incomplete");
  out["runs"] = seen;
  out["sft_pairs"] = sft;
  out["routing_classes"] = routing;
  out["agent_classes"] = agent_pairs;
  out["recommendations"] = recommendations;
  out["router_changes"] = update.changes.size();
  out["us_per_run"] = secs * 1e6 / static_cast<double>(spec.n);
  out["cpu_s"] = (u1.user_s - u0.user_s) + (u1.sys_s - u0.sys_s);
  out["fill_s"] = fill_s;
  out["rss_growth_kb"] = current_rss_kb() - rss0;
  out["peak_rss_kb"] = peak_rss_kb();
  out["what"] = spec.what;
  out["target"] = json::object{{"seconds", 3}};
  out["met"] = ok && secs <= 3.0;
  return out;
}

/// A trial runner that measures nothing: the engine's overhead alone.
struct InstantTrialRunner {
  std::shared_ptr<std::mt19937_64> rng;
  asio::awaitable<leash::result<leash::learn::optimize::TrialResult>> run_trial(
      leash::learn::optimize::TrialConfig const& config) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    leash::learn::optimize::TrialResult r;
    r.trial_id = config.trial_id;
    r.config = config;
    r.accuracy = u(*rng);
    r.mean_latency_seconds = u(*rng);
    r.total_cost_usd = u(*rng) / 100;
    r.samples_evaluated = 50;
    co_return r;
  }
};

json::object run_optimize(Spec const& spec) {
  namespace opt = leash::learn::optimize;
  // One reply serves both asks: a proposal (params, reasoning) and an analysis.
  std::string reply =
      R"({"params": {"intelligence.temperature": 0.4, "agent.max_turns": 8}, "reasoning": "cooler, fewer turns",)"
      R"( "summary_text": "fine", "failure_patterns": [], "primitive_ratings": {}, "suggested_changes": [],)"
      R"( "target_primitive": ""})";
  leash::llm::Completion c;
  c.text = "```json\n" + reply + "\n```";
  c.usage = {400, 60};
  std::vector<leash::result<leash::llm::Completion>> script{c};
  auto transport = leash::llm::AnyTransport(std::make_shared<leash::llm::ScriptedTransport>(script, "bench-optimizer"));
  opt::LlmOptimizerOptions oo;
  oo.seed = 7;
  opt::EngineOptions eo;
  eo.max_trials = spec.n;
  eo.patience = 0;
  eo.seed = 7;
  opt::OptimizationEngine<InstantTrialRunner> engine(opt::LlmOptimizer(transport, std::move(oo)),
                                                     InstantTrialRunner{std::make_shared<std::mt19937_64>(1)},
                                                     std::move(eo));
  std::uint64_t allocs_before = allocations;
  auto t0 = Clock::now();
  auto run = leash::sync_wait(engine.run());
  double const s = std::chrono::duration<double>(Clock::now() - t0).count();
  bool const ok = run && run.value().status == "completed" && run.value().trials.size() == spec.n;
  json::object out;
  out["bench"] = spec.name;
  out["value"] = s > 0 ? static_cast<double>(spec.n) / s : 0.0;
  out["unit"] = "trials/s";
  out["status"] = ok ? std::string("SUCCESS")
                     : "ERROR: " + (run ? run.value().status + " " + run.value().reason : run.error().what());
  out["trials"] = spec.n;
  out["us_per_trial"] = s * 1e6 / static_cast<double>(spec.n);
  out["llm_calls"] = run ? run.value().llm_calls : 0;
  out["frontier_size"] = run ? run.value().frontier.size() : 0;
  out["allocs_per_trial"] = static_cast<double>(allocations - allocs_before) / static_cast<double>(spec.n);
  out["peak_rss_kb"] = peak_rss_kb();
  out["what"] = spec.what;
  return out;
}

/// The reference's method: every pair, O(n^2 m); the comparison figure.
std::vector<std::size_t> pareto_all_pairs(std::vector<std::vector<double>> const& pts) {
  std::vector<std::size_t> keep;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < pts.size() && !dominated; ++j) {
      if (i == j) continue;
      bool ge = true, gt = false;
      for (std::size_t k = 0; k < pts[i].size(); ++k) {
        if (pts[j][k] < pts[i][k]) ge = false;
        if (pts[j][k] > pts[i][k]) gt = true;
      }
      dominated = ge && gt;
    }
    if (!dominated) keep.push_back(i);
  }
  return keep;
}

json::object run_pareto(Spec const& spec) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<double>> pts(spec.loops, std::vector<double>(spec.n));
  for (auto& p : pts)
    for (auto& x : p) x = u(rng);
  std::vector<double> ms;
  std::vector<std::size_t> frontier;
  for (int round = 0; round < 21; ++round) {
    auto t0 = Clock::now();
    frontier = leash::learn::optimize::pareto_frontier(std::span<std::vector<double> const>(pts));
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  auto t0 = Clock::now();
  auto naive = pareto_all_pairs(pts);
  double naive_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  double const value = median_of(ms);
  bool const same = naive == frontier;
  json::object out;
  out["bench"] = spec.name;
  out["value"] = value;
  out["unit"] = "ms";
  out["status"] = same ? "SUCCESS" : "ERROR: the frontier differs from the all-pairs method's";
  out["trials"] = spec.loops;
  out["objectives"] = spec.n;
  out["frontier_size"] = frontier.size();
  out["all_pairs_ms"] = naive_ms;
  out["ratio_to_all_pairs"] = naive_ms > 0 ? value / naive_ms : 0.0;
  out["what"] = spec.what;
  out["target"] = json::object{{"ms", 20}};
  out["met"] = same && value <= 20.0;
  return out;
}

json::object run_spec(Spec const& spec) {
  switch (spec.kind) {
    case Spec::Kind::sim_batch: return run_sim_batch(spec);
    case Spec::Kind::pareto: return run_pareto(spec);
    case Spec::Kind::optimize: return run_optimize(spec);
    case Spec::Kind::sim_batch_http: return run_sim_batch_http(spec);
    case Spec::Kind::http_turn: return run_http_turn(spec);
    case Spec::Kind::concurrent: return run_concurrent(spec);
    case Spec::Kind::classify: return run_classify(spec);
    case Spec::Kind::classify_regex: return run_classify_regex(spec);
    case Spec::Kind::mine: return run_mine(spec);
    case Spec::Kind::loop: break;
  }
  return spec.pooled ? run_bench<PooledTick>(spec) : run_bench<InlineTick>(spec);
}

/// Runs `spec` in a child process; returns its result line (or an error object).
json::object run_isolated(Spec const& spec) {
  int fds[2];
  if (pipe(fds) != 0) return json::object{{"bench", spec.name}, {"status", "ERROR: pipe failed"}};
  std::cout.flush();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string line = json::serialize(run_spec(spec));
    line += '\n';
    for (std::size_t done = 0; done < line.size();) {
      auto w = write(fds[1], line.data() + done, line.size() - done);
      if (w <= 0) _exit(2);
      done += static_cast<std::size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object())
    return json::object{{"bench", spec.name}, {"status", "ERROR: child exited with status " + std::to_string(wstatus)}};
  return std::move(v.as_object());
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void print_table_header() {
  std::printf("%-28s %8s %9s %9s %6s %8s %8s %7s %8s  %s\n", "bench", "us/iter", "first100", "last100", "ratio",
              "user us", "sys us", "allocs", "peak MB", "target / status");
}

void print_row(json::object const& r) {
  auto num = [&](char const* k) { return r.contains(k) && r.at(k).is_number() ? r.at(k).to_number<double>() : 0.0; };
  std::string note = r.contains("status") ? std::string(r.at("status").as_string()) : "?";
  auto met = [&] { return std::string(r.contains("met") && r.at("met").as_bool() ? "met" : "MISSED"); };
  // The simulation benches: one line of their own figures each.
  if (r.contains("files_overhead_ratio")) {
    std::printf("%-28s %8s conv/s (%s turns/s); sim::Conversation alone %s conv/s: runner + files x %s; "
                "transcripts %s KB, logs %s KB; peak %s MB (%s)\n",
                std::string(r.at("bench").as_string()).c_str(), fixed(num("value"), 0).c_str(),
                fixed(num("turns_per_s"), 0).c_str(), fixed(num("conversation_only_per_s"), 0).c_str(),
                fixed(num("files_overhead_ratio"), 1).c_str(), fixed(num("transcript_bytes") / 1024.0, 0).c_str(),
                fixed(num("log_bytes") / 1024.0, 0).c_str(), fixed(num("peak_rss_kb") / 1024.0, 1).c_str(),
                note.c_str());
    std::fflush(stdout);
    return;
  }
  if (r.contains("sequential_us_per_turn")) {
    std::printf("%-28s %8s turns/s, %s at once; sequential %s us/turn = %s x a bare round trip of %s us; "
                "target <= 1.30: %s; client CPU %s us/turn; peak %s MB (%s)\n",
                std::string(r.at("bench").as_string()).c_str(), fixed(num("value"), 0).c_str(),
                fixed(num("max_concurrent"), 0).c_str(), fixed(num("sequential_us_per_turn"), 1).c_str(),
                fixed(num("ratio_to_round_trip"), 2).c_str(), fixed(num("round_trip_us"), 1).c_str(),
                met().c_str(), fixed(num("client_cpu_us_per_turn"), 1).c_str(),
                fixed(num("peak_rss_kb") / 1024.0, 1).c_str(), note.c_str());
    std::fflush(stdout);
    return;
  }
  // The HTTP benches: one line of their own figures.
  if (r.contains("ratio_to_round_trip")) {
    std::printf("%-28s %8s us/turn = %s x a bare round trip of %s us (median %s x); client CPU %s us/turn; "
                "%s allocs/turn; target <= 1.30: %s (%s)\n",
                std::string(r.at("bench").as_string()).c_str(), fixed(num("value"), 2).c_str(),
                fixed(num("ratio_to_round_trip"), 2).c_str(), fixed(num("round_trip_us"), 2).c_str(),
                fixed(num("ratio_median"), 2).c_str(), fixed(num("client_cpu_us_per_turn"), 2).c_str(),
                fixed(num("allocs_per_turn"), 1).c_str(), met().c_str(), note.c_str());
    std::fflush(stdout);
    return;
  }
  if (r.contains("ns_per_query_scan")) {
    std::printf("%-28s scan %s ns/query, std::regex %s, Boost.Regex %s (compile: %s us, %s us) (%s)\n",
                std::string(r.at("bench").as_string()).c_str(), fixed(num("ns_per_query_scan"), 0).c_str(),
                fixed(num("ns_per_query_std_regex"), 0).c_str(), fixed(num("ns_per_query_boost_regex"), 0).c_str(),
                fixed(num("compile_us_std_regex"), 0).c_str(), fixed(num("compile_us_boost_regex"), 0).c_str(),
                note.c_str());
    std::fflush(stdout);
    return;
  }
  if (r.contains("queries_per_round")) {
    std::printf("%-28s %8s ns/query, %s allocs/query; target <= 2000: %s (%s)\n",
                std::string(r.at("bench").as_string()).c_str(), fixed(num("value"), 0).c_str(),
                fixed(num("allocs_per_query"), 1).c_str(), met().c_str(), note.c_str());
    std::fflush(stdout);
    return;
  }
  if (r.contains("idle_kb_per_loop")) {
    std::printf("%-28s %8s turns/s, %s loops: %s KB RSS per idle loop (target <= 32: %s), client CPU %s us/turn, "
                "peak %s MB (%s)\n",
                std::string(r.at("bench").as_string()).c_str(), fixed(num("value"), 0).c_str(),
                fixed(num("loops"), 0).c_str(), fixed(num("idle_kb_per_loop"), 1).c_str(), met().c_str(),
                fixed(num("client_cpu_us_per_turn"), 2).c_str(), fixed(num("peak_rss_kb") / 1024.0, 1).c_str(),
                note.c_str());
    std::fflush(stdout);
    return;
  }
  if (r.contains("target")) {
    auto const& t = r.at("target").as_object();
    note = "<= " + fixed(t.at("us_per_iter").to_number<double>(), 1) + " us, ratio <= " +
           fixed(t.at("ratio").to_number<double>(), 2) + ": " + (r.at("met").as_bool() ? "met" : "MISSED") +
           " (" + note + ")";
  }
  std::printf("%-28s %8s %9s %9s %6s %8s %8s %7s %8s  %s\n", std::string(r.at("bench").as_string()).c_str(),
              fixed(num("value"), 2).c_str(), fixed(num("first100_us"), 2).c_str(),
              fixed(num("last100_us"), 2).c_str(), fixed(num("ratio"), 2).c_str(),
              fixed(num("user_us_per_iter"), 2).c_str(), fixed(num("sys_us_per_iter"), 2).c_str(),
              fixed(num("allocs_per_iter"), 1).c_str(), fixed(num("peak_rss_kb") / 1024.0, 1).c_str(), note.c_str());
  std::fflush(stdout);
}

void usage(std::ostream& os) {
  os << "usage: leash-bench [--json] [--only NAME] [--repeat K] [--list] [--iterations N] [--no-fork]\n"
        "                   [--dump-periods FILE]\n"
        "  --json       one JSON object per line (bench, value, unit, ...)\n"
        "  --only NAME  run one bench (see --list)\n"
        "  --repeat K   run each bench K times (each run in its own process)\n"
        "  --list       name and describe the benches\n"
        "  --iterations N  override the iteration count (profiling; targets still apply;\n"
        "               concurrent_loops_*: turns per loop; sim_batch*: turns per conversation)\n"
        "  --no-fork    run in this process (profilers; peak RSS then covers every run so far)\n"
        "  --dump-periods FILE  write every iteration's period (us), one per line\n";
}

}  // namespace

int main(int argc, char** argv) {
  bool as_json = false;
  bool fork_each = true;
  std::string only;
  int repeat = 1;
  std::uint64_t iterations = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--json") {
      as_json = true;
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--iterations" && i + 1 < argc) {
      iterations = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--dump-periods" && i + 1 < argc) {
      dump_periods_path = argv[++i];
    } else if (a == "--no-fork") {
      fork_each = false;
    } else if (a == "--list") {
      for (auto const& s : specs()) std::cout << s.name << "\n    " << s.what << '\n';
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else {
      usage(std::cerr);
      return 2;
    }
  }

  std::vector<Spec> selected;
  for (auto const& s : specs())
    if (only.empty() ? !s.diagnostic : s.name == only) {
      selected.push_back(s);
      if (iterations > 1) selected.back().n = iterations;  // for profiling runs
    }
  if (selected.empty()) {
    std::cerr << "leash-bench: no bench named '" << only << "' (see --list)\n";
    return 2;
  }

  if (!as_json) print_table_header();
  bool all_ok = true;
  for (auto const& spec : selected)
    for (int k = 0; k < repeat; ++k) {
      json::object r = fork_each ? run_isolated(spec) : run_spec(spec);
      if (!r.contains("status") || r.at("status") != "SUCCESS") all_ok = false;
      if (as_json)
        std::cout << json::serialize(r) << '\n' << std::flush;
      else
        print_row(r);
    }
  return all_ok ? 0 : 1;
}
