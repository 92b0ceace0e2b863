// leash::Loop as an API: async_run on a shared io_context, what reaches the
// store, what a result holds, custom policies and exits written by a user.
#include <leash/loop.hpp>

#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace leash;
using namespace leash_test;

namespace {

template <class T>
T run_awaitable(boost::asio::awaitable<T> a) {
  boost::asio::io_context io;
  std::optional<T> out;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(a)); },
                        boost::asio::detached);
  io.run();
  return std::move(*out);
}

struct WaitArgs {
  int ms = 0;
};
BOOST_DESCRIBE_STRUCT(WaitArgs, (), (ms))

/// An async tool: waits on a timer without blocking the loop's thread.
struct Wait {
  static constexpr std::string_view name = "wait";
  static constexpr std::string_view description = "Waits some milliseconds.";
  using args = WaitArgs;
  boost::asio::awaitable<std::string> operator()(args const& a) const {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, std::chrono::milliseconds(a.ms));
    co_await t.async_wait(boost::asio::use_awaitable);
    co_return "waited " + std::to_string(a.ms);
  }
};

/// A user-written policy with a runtime parameter.
struct AtMostCalls {
  std::size_t limit = 0;
  Decision before_iteration(State const& s) const {
    if (s.metrics.llm_calls >= limit) return Decision::stop("call quota used", Status::budget_exhausted);
    return Decision::proceed();
  }
};

/// A user-written exit: succeed when the last action said so.
struct SaidDone {
  std::optional<Exit> evaluate(State const& s) const {
    if (!s.iterations.empty() && !s.iterations.back().actions.empty() &&
        s.iterations.back().actions.back().result_excerpt == "waited 1")
      return Exit{Status::success, "the tool said it waited"};
    return std::nullopt;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(loop)

BOOST_AUTO_TEST_CASE(many_loops_share_one_io_context) {
  using Agent = Loop<ScriptedPlanner, ToolSet<Wait>, PolicyList<>, ExitList<SaidDone>>;
  boost::asio::io_context io;
  std::vector<std::unique_ptr<Agent>> agents;
  std::vector<std::optional<result<LoopResult>>> results(50);
  LoopOptions o;
  o.quiet = true;
  for (int i = 0; i < 50; ++i) {
    agents.push_back(std::make_unique<Agent>(
        "wait " + std::to_string(i),
        ScriptedPlanner{Plan::single_call("wait", {{"ms", 20}}), Plan::single_call("wait", {{"ms", 1}})},
        ToolSet<Wait>{}, PolicyList<>{}, ExitList<SaidDone>{}, AnyStore{}, o));
    boost::asio::co_spawn(
        io, [&, i]() -> boost::asio::awaitable<void> { results[i] = co_await agents[i]->async_run(); },
        boost::asio::detached);
  }
  io.run();  // one thread: the timers interleave, no loop blocks another
  for (auto const& r : results) {
    BOOST_REQUIRE(r.has_value());
    BOOST_REQUIRE_MESSAGE(r->has_value(), (r->has_error() ? r->error().what() : ""));
    BOOST_TEST(r->value().status == Status::success, r->value().reason);
    BOOST_TEST(r->value().iterations == 2u);
  }
}

BOOST_AUTO_TEST_CASE(runs_and_events_reach_the_store) {
  auto env = make_env({"t1"});
  AnyStore store;
  auto opts = env_options(env);
  opts.run_id = "run-under-test";
  Loop<ScriptedPlanner, FixTools> loop("store me", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store,
                                       opts);
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().run_id == "run-under-test");

  auto runs = run_awaitable(store.list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_REQUIRE_EQUAL(runs.value().size(), 1u);
  BOOST_TEST(runs.value()[0].goal == "store me");
  BOOST_TEST(runs.value()[0].iterations == 2u);
  BOOST_TEST(runs.value()[0].status.value_or(Status::error) == Status::success);

  auto saved = run_awaitable(store.load("run-under-test"));
  BOOST_REQUIRE(saved.has_value());
  BOOST_TEST(saved.value().iterations.size() == loop.state().iterations.size());
  BOOST_TEST(saved.value().metrics.llm_calls == 1u);
  BOOST_TEST(saved.value().tool_schema_hash == FixTools::schema_hash());

  auto events = run_awaitable(store.load_events("run-under-test"));
  BOOST_REQUIRE(events.has_value());
  std::vector<std::string> kinds;
  for (auto const& e : events.value()) kinds.emplace_back(e.at("kind").as_string());
  BOOST_TEST(kinds.front() == "loop.start");
  BOOST_TEST(kinds.back() == "loop.end");
  BOOST_TEST(kinds.size() == 8u);
}

BOOST_AUTO_TEST_CASE(trace_to_store_can_be_turned_off) {
  auto env = make_env({"t1"});
  AnyStore store;
  auto opts = env_options(env);
  opts.trace_to_store = false;
  opts.run_id = "quiet-run";
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, store, opts);
  BOOST_REQUIRE(loop.run().has_value());
  auto events = run_awaitable(store.load_events("quiet-run"));
  BOOST_REQUIRE(events.has_value());
  BOOST_TEST(events.value().empty());
}

BOOST_AUTO_TEST_CASE(result_metrics_are_a_copy) {
  auto env = make_env({"t1", "t2"});
  auto opts = env_options(env);
  opts.limits.max_iterations = 1;
  Loop<ScriptedPlanner, FixTools> loop("g", ScriptedPlanner{fix_call("t1"), fix_call("t2")}, FixTools{Fix{env}}, {},
                                       {}, {}, opts);
  auto first = loop.run().value();
  BOOST_TEST(first.metrics.llm_calls == 1u);
  auto& config = const_cast<State&>(loop.state()).config;  // raise the limit, as a resume would
  config.max_iterations = 5;
  BOOST_REQUIRE(loop.run().has_value());
  BOOST_TEST(loop.state().metrics.llm_calls == 2u);
  BOOST_TEST(first.metrics.llm_calls == 1u);  // the earlier result did not move
}

BOOST_AUTO_TEST_CASE(user_policy_with_runtime_parameter) {
  auto env = make_env({"a", "b", "c"});
  Loop<ScriptedPlanner, FixTools, PolicyList<AtMostCalls>> loop(
      "g", ScriptedPlanner{fix_call("a"), fix_call("b"), fix_call("c")}, FixTools{Fix{env}},
      PolicyList<AtMostCalls>{AtMostCalls{2}}, {}, {}, env_options(env));
  auto r = loop.run().value();
  BOOST_TEST(r.status == Status::budget_exhausted);
  BOOST_TEST(r.reason == "call quota used");
  BOOST_TEST(env->snapshot() == (std::set<std::string>{"c"}));
}

BOOST_AUTO_TEST_CASE(a_store_that_cannot_create_the_run_is_an_error) {
  AnyStore store;
  LoopOptions o;
  o.quiet = true;
  o.run_id = "taken";
  Loop<ScriptedPlanner, ToolSet<>> first("g", ScriptedPlanner{Plan::text_only("x")}, {}, {}, {}, store, o);
  BOOST_REQUIRE(first.run().has_value());
  Loop<ScriptedPlanner, ToolSet<>> second("g", ScriptedPlanner{Plan::text_only("x")}, {}, {}, {}, store, o);
  auto r = second.run();
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::store_failed);
  BOOST_TEST(r.error().message.find("taken") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_approval_runner_denies_gated_actions) {
  auto env = make_env({"t1"});
  Loop<ScriptedPlanner, FixTools, PolicyList<RequireApproval<ToolNamed<"fix">>>> loop(
      "g", ScriptedPlanner{fix_call("t1")}, FixTools{Fix{env}}, {}, {}, {}, env_options(env));
  auto r = loop.run().value();
  BOOST_TEST(r.status == Status::approval_denied);
  BOOST_TEST(r.reason == "no approval runner configured");
  BOOST_TEST(env->fix_calls == 0);
}

BOOST_AUTO_TEST_SUITE_END()
