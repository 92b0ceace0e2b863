// leash-crash-child STORE RUN_ID COUNTER_FILE ITERATIONS
//
// Runs (or, when RUN_ID is already stored, resumes) a loop of ITERATIONS
// iterations, one `tick` per iteration. Each tick appends its unique id to
// COUNTER_FILE with one O_APPEND write: the external side effect the crash
// test compares with what the store recorded. Prints "DONE <STATUS> <n>" and
// exits 0 when the run has ended; 1 on an error.
#include <leash/leash.hpp>
#include <leash/store/open.hpp>

#include <boost/asio/detached.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <string>

namespace {

struct TickArgs {
  std::string id;
};
BOOST_DESCRIBE_STRUCT(TickArgs, (), (id))

struct Tick {
  static constexpr std::string_view name = "tick";
  static constexpr std::string_view description = "Record one tick in the counter file.";
  static constexpr bool non_blocking = true;  // one small write: run it inline
  using args = TickArgs;
  std::shared_ptr<int> fd;

  leash::result<std::string> operator()(args const& a) const {
    std::string line = a.id + "\n";
    // A write that crosses a page boundary can be cut short by SIGKILL
    // between the two pages (the kernel checks for a fatal signal per page):
    // pad to the boundary first (blank lines, skipped by the reader), so the
    // line itself lies in one page and is written whole or not at all.
    struct stat st {};
    if (::fstat(*fd, &st) == 0) {
      auto used = static_cast<std::size_t>(st.st_size % 4096);
      if (used + line.size() > 4096) {
        std::string pad(4096 - used, '\n');
        if (::write(*fd, pad.data(), pad.size()) != static_cast<ssize_t>(pad.size()))
          return leash::Error{leash::Errc::tool_failed, "counter write failed"};
      }
    }
    if (::write(*fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      return leash::Error{leash::Errc::tool_failed, "counter write failed"};
    return std::string("ticked");
  }
};

/// One tick per plan, each with a fresh random id.
class TickPlanner {
 public:
  boost::asio::awaitable<leash::result<leash::Plan>> plan(leash::PlanRequest const&) {
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(rng_()));
    co_return leash::Plan::single_call("tick", {{"id", id}}, "tick", {5, 1});
  }
  std::string_view model_id() const noexcept { return "tick-planner"; }

 private:
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: leash-crash-child STORE RUN_ID COUNTER_FILE ITERATIONS\n";
    return 2;
  }
  std::string run_id = argv[2];
  auto store = leash::open_store(argv[1]);
  if (store.has_error()) {
    std::cerr << "open: " << store.error() << '\n';
    return 1;
  }
  auto fd = std::make_shared<int>(::open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (*fd < 0) {
    std::perror("counter file");
    return 1;
  }
  leash::LoopOptions options;
  options.run_id = run_id;
  options.quiet = true;
  options.limits.max_iterations = std::stoull(argv[4]);
  options.limits.token_limit = 1'000'000'000;
  options.limits.wall_clock_s = 1e6;
  using Agent = leash::Loop<TickPlanner, leash::ToolSet<Tick>, leash::PolicyList<>>;
  Agent agent("tick until the limit", TickPlanner{}, leash::ToolSet<Tick>{Tick{fd}}, {}, {}, store.value(),
              options);

  boost::asio::io_context io;
  std::optional<leash::result<leash::State>> existing;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { existing.emplace(co_await store.value().load(run_id)); },
      boost::asio::detached);
  io.run();
  leash::result<leash::LoopResult> r = leash::Error{leash::Errc::invalid_config};
  if (existing->has_error() && existing->error() == leash::Errc::run_not_found)
    r = agent.run();
  else if (existing->has_error()) {
    std::cerr << "load: " << existing->error() << '\n';
    return 1;
  } else
    r = agent.resume(run_id);
  if (r.has_error()) {
    std::cerr << "run: " << r.error() << '\n';
    return 1;
  }
  std::cout << "DONE " << leash::to_string(r.value().status) << ' ' << r.value().iterations << std::endl;
  return 0;
}
