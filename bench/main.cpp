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
// ratio = last / first (the target: <= 1.2 at 100k iterations).
// Each bench runs in a child process of its own, so its peak RSS
// (getrusage ru_maxrss) is its own and not the largest of the run so far.
#include <leash/leash.hpp>
#include <leash/store/open.hpp>

#include <stdlib.h>

#include <sys/resource.h>
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
  std::string name;
  std::string what;
  std::uint64_t n;           ///< LLM+tool iterations
  bool pooled = false;       ///< blocking tool (thread pool) instead of inline
  bool memory_sink = true;   ///< a leash::MemorySink among the trace sinks
  bool store_events = true;  ///< LoopOptions::trace_to_store
  bool render = false;       ///< planner reads the messages
  std::optional<Target> target = std::nullopt;
  bool reference = false;    ///< comparable with tightloop §6's first row
  bool diagnostic = false;   ///< run only when named with --only
  /// Empty: the memory store. Else "sqlite" or "file" (fsync per record) or
  /// "file-async", on a fresh directory under the system temp dir.
  std::string store = {};
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
      {.name = "loop_overhead_file",
       .what = "as loop_overhead_memory on a file store (durability=sync: fdatasync per record)",
       .n = 1000, .store = "file"},
      {.name = "loop_overhead_file_100k",
       .what = "as loop_overhead_memory on a file store at 100000 iterations (durability=async: survives kill -9)",
       .n = 100000, .target = Target{50.0, 1.2}, .store = "file-async"},
      // Diagnostics (only with --only): which part of tracing costs what.
      {.name = "diag_sink_only_100k", .what = "100000 iterations, MemorySink, no events in the store",
       .n = 100000, .store_events = false, .diagnostic = true},
      {.name = "diag_store_events_only_100k", .what = "100000 iterations, events in the store, no MemorySink",
       .n = 100000, .memory_sink = false, .diagnostic = true},
      {.name = "diag_pooled_100k", .what = "as loop_overhead_memory_100k with a blocking tool",
       .n = 100000, .pooled = true, .diagnostic = true},
      {.name = "diag_render_10k", .what = "as loop_overhead_memory_render at 10000 iterations",
       .n = 10000, .render = true, .diagnostic = true},
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
    std::string store_spec = spec.store == "sqlite" ? "sqlite:" + (store_dir / "runs.db").string()
                             : spec.store == "file" ? "file:" + store_dir.string()
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

json::object run_spec(Spec const& spec) {
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
        "  --iterations N  override the iteration count (profiling; targets still apply)\n"
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
