// Fixtures shared by the test suites: the reference's test environment
// (a set of failing tests, a `fix` tool, an observation and a metric over it).
#ifndef LEASH_TEST_SUPPORT_HPP
#define LEASH_TEST_SUPPORT_HPP

// The core only: the LLM module (Beast, TLS) and the durable stores are
// heavy to compile, so the suites that need them include them themselves.
#include <leash/loop.hpp>
#include <leash/store/memory.hpp>
#include <leash/sync_wait.hpp>

#include <sys/wait.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace leash_test {

struct FixArgs {
  std::string name;
};
BOOST_DESCRIBE_STRUCT(FixArgs, (), (name))

/// The mutable world the `fix` tool changes: names of failing tests.
struct Env {
  std::mutex mutex;
  std::set<std::string> failing;
  int fix_calls = 0;

  std::string observe() {
    std::lock_guard lock(mutex);
    std::string s = "failing: ";
    bool first = true;
    for (auto const& f : failing) {
      if (!first) s += ',';
      s += f;
      first = false;
    }
    return s;
  }
  std::set<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return failing;
  }
};

inline std::shared_ptr<Env> make_env(std::set<std::string> failing) {
  auto env = std::make_shared<Env>();
  env->failing = std::move(failing);
  return env;
}

/// fix(name): removes `name` from the failing set.
struct Fix {
  static constexpr std::string_view name = "fix";
  static constexpr std::string_view description = "Fix one failing test, named by its id.";
  using args = FixArgs;
  std::shared_ptr<Env> env;

  std::string operator()(args const& a) const {
    std::lock_guard lock(env->mutex);
    ++env->fix_calls;
    env->failing.erase(a.name);
    return "fixed " + a.name;
  }
};

/// value = -(number failing); detail.failing = the names; success when none fail.
struct FailingTestsMetric {
  leash::MetricSnapshot measure(std::string_view observation, leash::State const&) const {
    leash::MetricSnapshot m;
    auto colon = observation.find(':');
    std::string rest(colon == std::string_view::npos ? observation : observation.substr(colon + 1));
    leash::json::array names;
    std::stringstream ss(rest);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item.erase(0, item.find_first_not_of(' '));
      if (!item.empty()) names.emplace_back(item);
    }
    // Not -double(size): GCC folds 0 - x to -x, and an empty list would read "-0".
    m.value = names.empty() ? 0.0 : -static_cast<double>(names.size());
    m.detail["failing"] = std::move(names);
    return m;
  }
  bool is_success(leash::MetricSnapshot const& m) const { return m.detail.at("failing").as_array().empty(); }
};

/// A plan with one call to `fix` (50 input / 10 output tokens, as the reference's fixture).
inline leash::Plan fix_call(std::string name, leash::Usage usage = {50, 10}) {
  return leash::Plan::single_call("fix", {{"name", std::move(name)}}, {}, usage);
}

/// Options wired to an env: observe, metric, an in-memory trace sink, quiet.
inline leash::LoopOptions env_options(std::shared_ptr<Env> env, std::shared_ptr<leash::MemorySink> sink = nullptr) {
  leash::LoopOptions o;
  o.observe = [env](leash::State const&) { return env->observe(); };
  o.goal_metric = FailingTestsMetric{};
  o.quiet = true;
  if (sink) o.trace_sinks.push_back(sink);
  return o;
}

using FixTools = leash::ToolSet<Fix>;

/// The events of `kind`, in order.
inline std::vector<leash::Event> events_of(leash::MemorySink const& sink, std::string_view kind) {
  std::vector<leash::Event> out;
  for (auto const& e : sink.events())
    if (e.kind == kind) out.push_back(e);
  return out;
}

/// Drives `a` to completion on `io` (run on this thread) and returns its value;
/// an exception escaping the awaitable is rethrown here. Use this overload when
/// work the awaitable leaves behind (a timed-out tool on a pool declared after
/// `io`) must finish while the io_context still exists.
template <class T>
T run_sync(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
  return leash::sync_wait(io, std::move(a));
}

/// As above, on a fresh io_context of its own.
template <class T>
T run_sync(boost::asio::awaitable<T> a) {
  return leash::sync_wait(std::move(a));
}

/// What a program printed (stdout and stderr together) and its exit code
/// (-1 when it was killed or could not be run).
struct Ran {
  int code = -1;
  std::string out;
};

/// Runs `program` with `args` through /bin/sh, each word single-quoted.
inline Ran run_program(std::string const& program, std::vector<std::string> const& args) {
  auto quoted = [](std::string const& word) {
    std::string q = "'";
    for (char c : word) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string cmd = quoted(program);
  for (auto const& a : args) cmd += " " + quoted(a);
  cmd += " 2>&1";
  Ran r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace leash_test

#endif
