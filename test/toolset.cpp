#include <leash/toolset.hpp>
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/describe/class.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

namespace test_toolset {

namespace bj = leash::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using leash::ActionStatus;

struct EchoArgs {
  std::string name;
  int count = 1;
  static constexpr std::array field_docs{leash::FieldDoc{"name", "what to echo"},
                                         leash::FieldDoc{"count", "how many times", true}};
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (name, count))

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

/// Sync, with runtime state (a prefix), on the pool.
struct Echo {
  static constexpr std::string_view name = "echo";
  static constexpr std::string_view description = "Echo a name.";
  using args = EchoArgs;
  std::string prefix = "echo";
  std::string operator()(args const& a) const {
    std::string out = prefix;
    for (int i = 0; i < a.count; ++i) out += " " + a.name;
    return out;
  }
};

struct Boom {
  static constexpr std::string_view name = "boom";
  static constexpr std::string_view description = "Throws.";
  using args = NoArgs;
  std::string operator()(args const&) const { throw std::runtime_error("boom"); }
};

struct Refuse {
  static constexpr std::string_view name = "refuse";
  static constexpr std::string_view description = "Returns an error.";
  using args = NoArgs;
  leash::result<std::string> operator()(args const&) const {
    return leash::Error{leash::Errc::tool_failed, "disk full"};
  }
};

struct Big {
  static constexpr std::string_view name = "big";
  static constexpr std::string_view description = "20 000 characters.";
  using args = NoArgs;
  std::string operator()(args const&) const { return std::string(20000, 'z'); }
};

/// Blocking, ignores everything, sleeps past its 0.2 s timeout.
struct Slow {
  static constexpr std::string_view name = "slow";
  static constexpr std::string_view description = "Sleeps 1 s.";
  using args = NoArgs;
  static constexpr auto timeout = std::chrono::milliseconds(200);
  inline static std::atomic<int> cleanups{0};
  std::string operator()(args const&) const {
    std::this_thread::sleep_for(1s);
    return "woke";
  }
  void cleanup() { ++cleanups; }
};

/// Blocking, but watches its stop token (for up to 1 s).
struct Watchful {
  static constexpr std::string_view name = "watchful";
  static constexpr std::string_view description = "Waits for stop.";
  using args = NoArgs;
  static constexpr auto timeout = std::chrono::milliseconds(100);
  inline static std::atomic<bool> saw_stop{false};
  std::string operator()(args const&, std::stop_token stop) const {
    auto until = std::chrono::steady_clock::now() + 1s;
    while (!stop.stop_requested() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(2ms);
    saw_stop = stop.stop_requested();
    return "stopped";
  }
};

/// Records the thread it ran on and whether the nested-loop guard was up.
template <bool Inline>
struct WhereAmI {
  static constexpr std::string_view name = Inline ? "where_inline" : "where_pool";
  static constexpr std::string_view description = "Reports its thread.";
  using args = NoArgs;
  static constexpr bool non_blocking = Inline;
  inline static std::thread::id ran_on{};
  int operator()(args const&) const {
    ran_on = std::this_thread::get_id();
    return leash::detail::tool_depth;
  }
};

struct AsyncSlow {
  static constexpr std::string_view name = "async_slow";
  static constexpr std::string_view description = "Waits 10 s on a timer.";
  using args = NoArgs;
  static constexpr auto timeout = std::chrono::milliseconds(100);
  inline static std::atomic<int> cleanups{0};
  asio::awaitable<std::string> operator()(args const&) const {
    asio::steady_timer t(co_await asio::this_coro::executor, 10s);
    co_await t.async_wait(asio::use_awaitable);
    co_return "late";
  }
  void cleanup() { ++cleanups; }
};

struct AsyncQuick {
  static constexpr std::string_view name = "async_quick";
  static constexpr std::string_view description = "Waits 1 ms, returns 7.";
  using args = NoArgs;
  asio::awaitable<int> operator()(args const&) const {
    asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
    co_await t.async_wait(asio::use_awaitable);
    co_return 7;
  }
};

struct Point {
  int x;
  std::string label;
};
BOOST_DESCRIBE_STRUCT(Point, (), (x, label))

template <leash::detail::fixed_name Name, class F>
struct Returns {
  static constexpr std::string_view name = Name;
  static constexpr std::string_view description = "Returns a fixed value.";
  using args = NoArgs;
  static constexpr bool non_blocking = true;
  auto operator()(args const&) const { return F{}(); }
};

using ReturnsInt = Returns<"r_int", decltype([] { return 42; })>;
using ReturnsDouble = Returns<"r_double", decltype([] { return 0.5; })>;
using ReturnsBool = Returns<"r_bool", decltype([] { return true; })>;
using ReturnsVoid = Returns<"r_void", decltype([] {})>;
using ReturnsPoint = Returns<"r_point", decltype([] { return Point{3, "p"}; })>;
using ReturnsResultInt = Returns<"r_result", decltype([] { return leash::result<int>(42); })>;
using ReturnsResultVoid = Returns<"r_result_void", decltype([]() -> leash::result<void> {
                                    return leash::Error{leash::Errc::tool_failed, "no"};
                                  })>;

using Tools = leash::ToolSet<Echo, Boom, Refuse, Big, Slow, Watchful, WhereAmI<true>, WhereAmI<false>,
                             AsyncSlow, AsyncQuick, ReturnsInt, ReturnsDouble, ReturnsBool, ReturnsVoid,
                             ReturnsPoint, ReturnsResultInt, ReturnsResultVoid>;

/// Validates and executes one call on a fresh io_context and pool; the pool
/// is joined (late workers finished) before this returns.
leash::ToolOutcome run(Tools& tools, std::string_view name, bj::value args = bj::object{}) {
  auto call = tools.validate(name, args);
  BOOST_REQUIRE_MESSAGE(call.has_value(), (call.has_error() ? call.error().message : std::string()));
  asio::io_context io;
  leash::detail::ToolPool pool;
  return leash_test::run_sync(io, tools.execute(call.value(), pool));
}

leash::ToolOutcome run(std::string_view name, bj::value args = bj::object{}) {
  Tools tools;
  return run(tools, name, std::move(args));
}

// Two versions of one tool: same name and args, different description.
struct DocA {
  static constexpr std::string_view name = "doc";
  static constexpr std::string_view description = "first wording";
  using args = EchoArgs;
  std::string operator()(args const&) const { return "a"; }
};
struct DocB {
  static constexpr std::string_view name = "doc";
  static constexpr std::string_view description = "second wording";
  using args = EchoArgs;
  std::string operator()(args const&) const { return "a"; }
};
// Same declaration as DocA, another body.
struct DocA2 {
  static constexpr std::string_view name = "doc";
  static constexpr std::string_view description = "first wording";
  using args = EchoArgs;
  std::string operator()(args const& a) const { return a.name + "!"; }
};

}  // namespace test_toolset

using namespace test_toolset;

BOOST_AUTO_TEST_SUITE(toolset)

BOOST_AUTO_TEST_CASE(names_and_find) {
  using Two = leash::ToolSet<Echo, Boom>;
  static_assert(Two::size == 2);
  static_assert(Two::find("boom") == 1u);
  BOOST_TEST(Two::names()[0] == "echo");
  BOOST_TEST(Two::names()[1] == "boom");
  BOOST_TEST(Two::find("echo").value() == 0u);
  BOOST_TEST(!Two::find("nope").has_value());
  BOOST_TEST(leash::ToolSetType<Two>);
  BOOST_TEST(!leash::ToolSetType<Echo>);
}

BOOST_AUTO_TEST_CASE(schemas_shape) {
  using Two = leash::ToolSet<Echo, Boom>;
  auto const& s = Two::schemas();
  BOOST_REQUIRE(s.size() == 2u);
  auto const& echo = s[0].as_object();
  BOOST_TEST(echo.size() == 3u);
  BOOST_TEST(echo.at("name").as_string() == "echo");
  BOOST_TEST(echo.at("description").as_string() == "Echo a name.");
  auto const& in = echo.at("input_schema").as_object();
  BOOST_TEST(in.at("type").as_string() == "object");
  BOOST_TEST(in.at("properties").as_object().contains("name"));
  BOOST_TEST(in.at("properties").as_object().contains("count"));
  BOOST_TEST((in.at("required") == bj::array{"name"}));
  BOOST_TEST(s[1].as_object().at("name").as_string() == "boom");
  BOOST_TEST(&Two::schemas() == &s);  // built once
}

BOOST_AUTO_TEST_CASE(schema_hash_follows_declarations_not_bodies,
                     *boost::unit_test::description("reference scenario 63")) {
  auto const& a = leash::ToolSet<DocA>::schema_hash();
  BOOST_TEST(a.size() == 16u);
  BOOST_TEST(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(a == leash::digest(leash::canonical_json(leash::ToolSet<DocA>::schemas())));
  BOOST_TEST(a != leash::ToolSet<DocB>::schema_hash());   // description changed
  BOOST_TEST(a == leash::ToolSet<DocA2>::schema_hash());  // only the body changed
  BOOST_TEST(a != (leash::ToolSet<DocA, Boom>::schema_hash()));
}

BOOST_AUTO_TEST_CASE(validate_unknown_tool) {
  Tools tools;
  auto r = tools.validate("nope", bj::object{});
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error() == leash::Errc::unknown_tool));
  BOOST_TEST(r.error().message == "unknown tool 'nope'");
  auto empty = leash::ToolSet<>{}.validate("echo", bj::object{});
  BOOST_REQUIRE(empty.has_error());
  BOOST_TEST(empty.error().message == "unknown tool 'echo'");
}

BOOST_AUTO_TEST_CASE(validate_invalid_arguments_names_tool_and_field) {
  Tools tools;
  auto missing = tools.validate("echo", bj::object{{"bogus", 1}});
  BOOST_REQUIRE(missing.has_error());
  BOOST_TEST((missing.error() == leash::Errc::invalid_arguments));
  auto const& m = missing.error().message;
  BOOST_TEST(m.find("invalid arguments for tool 'echo': ") == 0u);
  BOOST_TEST(m.find("args.name: missing required field") != std::string::npos);
  BOOST_TEST(m.find("args.bogus: unknown field") != std::string::npos);

  auto wrong = tools.validate("echo", bj::object{{"name", 5}});
  BOOST_REQUIRE(wrong.has_error());
  BOOST_TEST(wrong.error().message.find("args.name: expected string") != std::string::npos);
  BOOST_TEST(tools.validate("echo", bj::array{}).has_error());
}

BOOST_AUTO_TEST_CASE(validate_normalizes_with_defaults_and_fingerprints) {
  Tools tools;
  auto r = tools.validate("echo", bj::object{{"name", "a"}});
  BOOST_REQUIRE(r.has_value());
  auto const& call = r.value();
  BOOST_TEST(call.name == "echo");
  BOOST_TEST(call.index == 0u);
  BOOST_TEST((call.normalized == bj::object{{"name", "a"}, {"count", 1}}));
  BOOST_TEST(std::get<1>(call.args).name == "a");
  BOOST_TEST(call.fingerprint == leash::call_fingerprint("echo", call.normalized));

  // The default written out, or keys in another order: the same call.
  auto same = tools.validate("echo", bj::object{{"count", 1}, {"name", "a"}});
  BOOST_REQUIRE(same.has_value());
  BOOST_TEST(same.value().fingerprint == call.fingerprint);
  auto other = tools.validate("echo", bj::object{{"name", "a"}, {"count", 2}});
  BOOST_REQUIRE(other.has_value());
  BOOST_TEST(other.value().fingerprint != call.fingerprint);
}

BOOST_AUTO_TEST_CASE(execute_sync_tool_ok) {
  auto out = run("echo", bj::object{{"name", "a"}, {"count", 2}});
  BOOST_TEST((out.status == ActionStatus::ok));
  BOOST_TEST(out.output == "echo a a");

  Tools tools;
  tools.get<Echo>().prefix = "hi";  // the instance's state is what runs
  BOOST_TEST(run(tools, "echo", bj::object{{"name", "b"}}).output == "hi b");
}

BOOST_AUTO_TEST_CASE(execute_throwing_tool_is_an_error, *boost::unit_test::description("reference scenario 51")) {
  auto out = run("boom");
  BOOST_TEST((out.status == ActionStatus::error));
  BOOST_TEST(out.output == "std::runtime_error: boom");
}

BOOST_AUTO_TEST_CASE(execute_result_error_is_an_error) {
  auto out = run("refuse");
  BOOST_TEST((out.status == ActionStatus::error));
  BOOST_TEST(out.output == "disk full");
  auto v = run("r_result_void");
  BOOST_TEST((v.status == ActionStatus::error));
  BOOST_TEST(v.output == "no");
}

BOOST_AUTO_TEST_CASE(execute_truncates_long_output, *boost::unit_test::description("reference scenario 51")) {
  auto out = run("big");
  BOOST_TEST((out.status == ActionStatus::ok));
  BOOST_TEST(out.output.size() == 16435u);
  BOOST_TEST(out.output == leash::excerpt(std::string(20000, 'z')));
}

BOOST_AUTO_TEST_CASE(execute_blocking_tool_past_timeout_is_aborted,
                     *boost::unit_test::description("reference scenarios 6 and 52")) {
  Slow::cleanups = 0;
  auto out = run("slow");
  BOOST_TEST((out.status == ActionStatus::aborted));
  BOOST_TEST(out.output == "aborted: exceeded timeout of 0.2s");
  BOOST_TEST(Slow::cleanups == 1);
  BOOST_TEST(out.duration_s > 0.0);
}

BOOST_AUTO_TEST_CASE(execute_timeout_requests_stop) {
  Watchful::saw_stop = false;
  auto out = run("watchful");  // returns once the pool has joined the worker
  BOOST_TEST((out.status == ActionStatus::aborted));
  BOOST_TEST(out.output == "aborted: exceeded timeout of 0.1s");
  BOOST_TEST(Watchful::saw_stop.load());
}

BOOST_AUTO_TEST_CASE(execute_non_blocking_tool_inline) {
  auto here = std::this_thread::get_id();
  WhereAmI<true>::ran_on = {};
  auto in = run("where_inline");
  BOOST_TEST((in.status == ActionStatus::ok));
  BOOST_TEST((WhereAmI<true>::ran_on == here));
  BOOST_TEST(in.output == "1");  // the nested-loop guard is up inside the tool

  WhereAmI<false>::ran_on = {};
  auto pooled = run("where_pool");
  BOOST_TEST((WhereAmI<false>::ran_on != here));
  BOOST_TEST((WhereAmI<false>::ran_on != std::thread::id{}));
  BOOST_TEST(pooled.output == "1");
  BOOST_TEST(leash::detail::tool_depth == 0);  // and down again outside
}

BOOST_AUTO_TEST_CASE(execute_async_tool) {
  auto quick = run("async_quick");
  BOOST_TEST((quick.status == ActionStatus::ok));
  BOOST_TEST(quick.output == "7");

  AsyncSlow::cleanups = 0;
  auto slow = run("async_slow");
  BOOST_TEST((slow.status == ActionStatus::aborted));
  BOOST_TEST(slow.output == "aborted: exceeded timeout of 0.1s");
  BOOST_TEST(AsyncSlow::cleanups == 1);
}

BOOST_AUTO_TEST_CASE(execute_return_values_as_text) {
  BOOST_TEST(run("r_int").output == "42");
  BOOST_TEST(run("r_double").output == "0.5");
  BOOST_TEST(run("r_bool").output == "true");
  BOOST_TEST(run("r_result").output == "42");
  auto v = run("r_void");
  BOOST_TEST((v.status == ActionStatus::ok));
  BOOST_TEST(v.output == "");
  auto p = run("r_point");
  BOOST_TEST((bj::parse(p.output) == bj::object{{"x", 3}, {"label", "p"}}));
}

BOOST_AUTO_TEST_SUITE_END()
