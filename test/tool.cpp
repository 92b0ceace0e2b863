#include <leash/tool.hpp>
#include <boost/test/unit_test.hpp>

#include <boost/describe/class.hpp>

#include <chrono>
#include <stop_token>
#include <string>

namespace test_tool {

namespace bj = leash::json;

struct PathArgs {
  std::string path;
};
BOOST_DESCRIBE_STRUCT(PathArgs, (), (path))

struct NotDescribed {
  std::string path;
};

struct Opaque {};  // neither text, number, nor JSON-convertible

struct Good {
  static constexpr std::string_view name = "good";
  static constexpr std::string_view description = "a complete tool";
  using args = PathArgs;
  std::string operator()(args const& a) const { return a.path; }
};

struct NoName {
  static constexpr std::string_view description = "d";
  using args = PathArgs;
  std::string operator()(args const&) const { return {}; }
};

struct NoDescription {
  static constexpr std::string_view name = "n";
  using args = PathArgs;
  std::string operator()(args const&) const { return {}; }
};

struct NoArgsType {
  static constexpr std::string_view name = "n";
  static constexpr std::string_view description = "d";
  std::string operator()(PathArgs const&) const { return {}; }
};

struct UndescribedArgs {
  static constexpr std::string_view name = "n";
  static constexpr std::string_view description = "d";
  using args = NotDescribed;
  std::string operator()(args const&) const { return {}; }
};

struct WrongParameter {
  static constexpr std::string_view name = "n";
  static constexpr std::string_view description = "d";
  using args = PathArgs;
  std::string operator()(int) const { return {}; }
};

struct OpaqueResult {
  static constexpr std::string_view name = "n";
  static constexpr std::string_view description = "d";
  using args = PathArgs;
  Opaque operator()(args const&) const { return {}; }
};

struct Stoppable {
  static constexpr std::string_view name = "stoppable";
  static constexpr std::string_view description = "d";
  using args = PathArgs;
  static constexpr auto timeout = std::chrono::milliseconds(200);
  int operator()(args const&, std::stop_token) const { return 1; }
};

struct Async {
  static constexpr std::string_view name = "async";
  static constexpr std::string_view description = "d";
  using args = PathArgs;
  static constexpr auto timeout = std::chrono::minutes(2);
  boost::asio::awaitable<std::string> operator()(args const&) const { co_return "x"; }
};

struct ReturnsResult {
  static constexpr std::string_view name = "res";
  static constexpr std::string_view description = "d";
  using args = PathArgs;
  static constexpr bool non_blocking = true;
  leash::result<double> operator()(args const&) const { return 1.5; }
};

struct ReturnsVoid {
  static constexpr std::string_view name = "void";
  static constexpr std::string_view description = "d";
  using args = PathArgs;
  static constexpr bool non_blocking = false;
  void operator()(args const&) const {}
};

static_assert(leash::Tool<Good>);
static_assert(leash::Tool<Stoppable>);
static_assert(leash::Tool<Async>);
static_assert(leash::Tool<ReturnsResult>);
static_assert(leash::Tool<ReturnsVoid>);
static_assert(!leash::Tool<NoName>);
static_assert(!leash::Tool<NoDescription>);
static_assert(!leash::Tool<NoArgsType>);
static_assert(!leash::Tool<UndescribedArgs>);
static_assert(!leash::Tool<WrongParameter>);
static_assert(!leash::Tool<OpaqueResult>);
static_assert(!leash::Tool<int>);
static_assert(leash::check_tool<Good>());

bj::object edit_args(std::string path, std::string content) {
  return bj::object{{"path", std::move(path)}, {"content", std::move(content)}};
}

std::string edit_fp(std::string path, std::string content) {
  return leash::call_fingerprint("edit", leash::normalize_for_fingerprint(edit_args(std::move(path), std::move(content))));
}

}  // namespace test_tool

using namespace test_tool;

BOOST_AUTO_TEST_SUITE(tool)

BOOST_AUTO_TEST_CASE(concept_accepts_complete_tools_and_rejects_the_rest) {
  BOOST_TEST(leash::Tool<Good>);
  BOOST_TEST(leash::Tool<Stoppable>);
  BOOST_TEST(leash::Tool<Async>);
  BOOST_TEST(leash::Tool<ReturnsResult>);
  BOOST_TEST(leash::Tool<ReturnsVoid>);
  BOOST_TEST(!leash::Tool<NoName>);
  BOOST_TEST(!leash::Tool<NoDescription>);
  BOOST_TEST(!leash::Tool<NoArgsType>);
  BOOST_TEST(!leash::Tool<UndescribedArgs>);
  BOOST_TEST(!leash::Tool<WrongParameter>);
  BOOST_TEST(!leash::Tool<OpaqueResult>);
  BOOST_TEST(leash::detail::async_tool<Async>);
  BOOST_TEST(!leash::detail::async_tool<Good>);
  BOOST_TEST(leash::detail::callable_stoppable<Stoppable>);
  BOOST_TEST(!leash::detail::callable_stoppable<Good>);
}

BOOST_AUTO_TEST_CASE(timeout_defaults_to_60_seconds) {
  using secs = std::chrono::duration<double>;
  BOOST_TEST(leash::tool_timeout<Good>().count() == 60.0);
  BOOST_TEST(leash::default_tool_timeout.count() == 60.0);
  BOOST_TEST(leash::tool_timeout<Stoppable>().count() == 0.2);
  BOOST_TEST(leash::tool_timeout<Async>().count() == 120.0);
  static_assert(leash::tool_timeout<Stoppable>() == secs(0.2));
}

BOOST_AUTO_TEST_CASE(runs_inline_only_when_declared_non_blocking) {
  BOOST_TEST(!leash::tool_runs_inline<Good>());
  BOOST_TEST(leash::tool_runs_inline<ReturnsResult>());
  BOOST_TEST(!leash::tool_runs_inline<ReturnsVoid>());  // declared, but false
}

BOOST_AUTO_TEST_CASE(normalize_hashes_strings_longer_than_200_chars) {
  std::string s200(200, 'x');
  std::string s201(201, 'x');
  BOOST_TEST(leash::normalize_for_fingerprint(bj::value(s200)).as_string() == s200);
  BOOST_TEST(leash::normalize_for_fingerprint(bj::value(s201)).as_string() == "sha:" + leash::digest(s201));

  bj::value nested = bj::object{{"n", 3}, {"short", "a.py"}, {"list", bj::array{s201, true, s200}},
                                {"obj", bj::object{{"deep", s201}}}};
  bj::value out = leash::normalize_for_fingerprint(nested);
  auto const& o = out.as_object();
  BOOST_TEST(o.at("n").as_int64() == 3);
  BOOST_TEST(o.at("short").as_string() == "a.py");
  BOOST_TEST(o.at("list").as_array().at(0).as_string() == "sha:" + leash::digest(s201));
  BOOST_TEST(o.at("list").as_array().at(1).as_bool());
  BOOST_TEST(o.at("list").as_array().at(2).as_string() == s200);
  BOOST_TEST(o.at("obj").as_object().at("deep").as_string() == "sha:" + leash::digest(s201));
}

BOOST_AUTO_TEST_CASE(fingerprint_hashes_long_content_keeps_paths_exact,
                     *boost::unit_test::description("reference test 19")) {
  std::string x500(500, 'x');
  std::string x499y = std::string(499, 'x') + "y";
  auto base = edit_fp("a.py", x500);
  BOOST_TEST(base.size() == 16u);
  BOOST_TEST(base != edit_fp("a.py", x499y));
  BOOST_TEST(base != edit_fp("b.py", x500));
  BOOST_TEST(base == edit_fp("a.py", x500));
}

BOOST_AUTO_TEST_CASE(fingerprint_is_digest_of_name_and_canonical_args) {
  bj::object a{{"b", 1}, {"a", 2}};
  bj::object b{{"a", 2}, {"b", 1}};
  BOOST_TEST(leash::call_fingerprint("t", a) == leash::call_fingerprint("t", b));
  BOOST_TEST(leash::call_fingerprint("t", a) == leash::digest(R"(t{"a":2,"b":1})"));
  BOOST_TEST(leash::call_fingerprint("t", a) != leash::call_fingerprint("u", a));
}

BOOST_AUTO_TEST_SUITE_END()
