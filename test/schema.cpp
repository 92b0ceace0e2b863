#include <leash/schema.hpp>
#include <boost/test/unit_test.hpp>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace test_schema {

namespace json = leash::json;

BOOST_DEFINE_ENUM_CLASS(Mode, fast, slow)

// A plain enum, not described: it has no names to put in a schema.
enum class Bare { a, b };

struct Scalars {
  std::string s;
  bool b;
  float f;
  double d;
  Mode m;
};
BOOST_DESCRIBE_STRUCT(Scalars, (), (s, b, f, d, m))

struct Integers {
  std::int8_t i8;
  std::int16_t i16;
  std::int32_t i32;
  std::int64_t i64;
  std::uint8_t u8;
  std::uint16_t u16;
  std::uint32_t u32;
  std::uint64_t u64;
  long l;
  unsigned long long ull;
  signed char sc;
};
BOOST_DESCRIBE_STRUCT(Integers, (), (i8, i16, i32, i64, u8, u16, u32, u64, l, ull, sc))

struct Inner {
  std::string name;
  std::optional<int> weight;
};
BOOST_DESCRIBE_STRUCT(Inner, (), (name, weight))

struct Containers {
  std::vector<int> ints;
  std::vector<std::vector<std::string>> grid;
  std::map<std::string, double> scores;
  std::unordered_map<std::string, std::vector<bool>> flags;
  std::vector<std::optional<int>> holes;
  std::optional<std::vector<Inner>> inners;
  Inner one;
};
BOOST_DESCRIBE_STRUCT(Containers, (), (ints, grid, scores, flags, holes, inners, one))

struct Empty {};
BOOST_DESCRIBE_STRUCT(Empty, (), ())

struct Documented {
  std::string path;
  int count = 10;
  std::optional<std::string> note;
  std::optional<int> level = 3;
  std::optional<int> unset_default;
  Mode mode = Mode::slow;
  std::vector<std::string> tags{"a", "b"};
  double ratio = 0.5;
  static constexpr std::array field_docs{
      leash::FieldDoc{"path", "file path"},
      leash::FieldDoc{"count", "how many", true},
      leash::FieldDoc{"note", "free text"},
      leash::FieldDoc{"level", "", true},
      leash::FieldDoc{"unset_default", "none by default", true},
      leash::FieldDoc{"mode", "speed", true},
      leash::FieldDoc{"tags", "labels", true},
      leash::FieldDoc{"ratio", "", true}};
};
BOOST_DESCRIBE_STRUCT(Documented, (), (path, count, note, level, unset_default, mode, tags, ratio))

// A small, realistic tool: its schema is compared with the exact text below.
BOOST_DEFINE_ENUM_CLASS(SearchMode, literal, regex)

struct SearchArgs {
  std::string pattern;
  std::vector<std::string> paths;
  SearchMode mode = SearchMode::literal;
  std::optional<std::uint32_t> max_results;
  bool case_sensitive = true;
  static constexpr std::array field_docs{
      leash::FieldDoc{"pattern", "text or regular expression to look for"},
      leash::FieldDoc{"paths", "files or directories to search"},
      leash::FieldDoc{"mode", "how to read the pattern", true},
      leash::FieldDoc{"max_results", "stop after this many matches"},
      leash::FieldDoc{"case_sensitive", "match case exactly", true}};
};
BOOST_DESCRIBE_STRUCT(SearchArgs, (), (pattern, paths, mode, max_results, case_sensitive))

// Inherited members come first, as Boost.Describe lists them.
struct Base {
  std::string id;
};
BOOST_DESCRIBE_STRUCT(Base, (), (id))
struct Derived : Base {
  int n;
};
BOOST_DESCRIBE_STRUCT(Derived, (Base), (n))

// The extension point: a type leash does not know, written as "x,y".
struct Point {
  int x = 0, y = 0;
};

// ---- the exemplar of docs/concepts/ToolArgs.md (keep the two in step) ----------
enum class Encoding { utf8, latin1 };
BOOST_DESCRIBE_ENUM(Encoding, utf8, latin1)

struct ReadFileArgs {
  std::string path;                      // required
  std::uint32_t max_lines = 200;         // optional, documented default
  std::optional<std::uint32_t> offset;   // optional, absent means nullopt
  Encoding encoding = Encoding::utf8;    // optional, documented default
  std::vector<std::string> skip;         // required (may be empty)

  static constexpr std::array field_docs{
      leash::FieldDoc{"path", "file to read, relative to the workspace"},
      leash::FieldDoc{"max_lines", "stop after this many lines", true},
      leash::FieldDoc{"offset", "first line to read, 0-based"},
      leash::FieldDoc{"encoding", "text encoding of the file", true}};
};
BOOST_DESCRIBE_STRUCT(ReadFileArgs, (), (path, max_lines, offset, encoding, skip))

static_assert(leash::ToolArgs<ReadFileArgs>);
// ---------------------------------------------------------------------------------

// Types that are not JsonSchemable (each also has a compile-fail test or is
// caught by the same clause).
struct Undescribed {
  int x;
};
struct WithSet {
  std::set<int> items;
};
BOOST_DESCRIBE_STRUCT(WithSet, (), (items))
struct BadDocs {
  int x;
  static constexpr std::array field_docs{leash::FieldDoc{"y", "no such member"}};
};
BOOST_DESCRIBE_STRUCT(BadDocs, (), (x))
struct RuntimeDocs {
  int x;
  static inline std::array field_docs{leash::FieldDoc{"x", "not constexpr"}};
};
BOOST_DESCRIBE_STRUCT(RuntimeDocs, (), (x))
struct NoDefault {
  explicit NoDefault(int v) : x(v) {}
  int x;
};
BOOST_DESCRIBE_STRUCT(NoDefault, (), (x))
struct ConstMember {
  int const x = 1;
};
BOOST_DESCRIBE_STRUCT(ConstMember, (), (x))
struct DeepSet {
  std::vector<WithSet> v;
};
BOOST_DESCRIBE_STRUCT(DeepSet, (), (v))
struct HalfTraits {};
struct Tree {  // contains itself, through a vector
  std::vector<Tree> children;
};
BOOST_DESCRIBE_STRUCT(Tree, (), (children))
struct Ping;
struct Pong {  // contains itself, through another struct
  std::optional<std::vector<Ping>> back;
};
struct Ping {
  Pong pong;
};
BOOST_DESCRIBE_STRUCT(Pong, (), (back))
BOOST_DESCRIBE_STRUCT(Ping, (), (pong))

}  // namespace test_schema

template <>
struct leash::json_schema_traits<test_schema::Point> {
  static json::object schema() { return {{"type", "string"}, {"pattern", "^-?[0-9]+,-?[0-9]+$"}}; }
  static result<test_schema::Point> parse(json::value const&) { return test_schema::Point{}; }
  static json::value to_json(test_schema::Point const& p) {
    return json::value(std::to_string(p.x) + "," + std::to_string(p.y));
  }
};

// Declares schema() only: customised, but not JsonSchemable.
template <>
struct leash::json_schema_traits<test_schema::HalfTraits> {
  static json::object schema() { return {}; }
};

namespace test_schema {

struct WithPoint {
  Point origin;
  std::vector<Point> path;
};
BOOST_DESCRIBE_STRUCT(WithPoint, (), (origin, path))

// What is and is not JsonSchemable / ToolArgs.
static_assert(leash::JsonSchemable<std::string>);
static_assert(leash::JsonSchemable<int> && leash::JsonSchemable<std::uint64_t>);
static_assert(leash::JsonSchemable<float> && leash::JsonSchemable<long double>);
static_assert(leash::JsonSchemable<bool> && leash::JsonSchemable<Mode>);
static_assert(leash::JsonSchemable<std::optional<std::vector<std::map<std::string, Inner>>>>);
static_assert(leash::JsonSchemable<Point> && leash::JsonSchemable<WithPoint>);
static_assert(!leash::JsonSchemable<char>);
static_assert(!leash::JsonSchemable<char8_t>);
static_assert(!leash::JsonSchemable<std::string_view>);
static_assert(!leash::JsonSchemable<char const*>);
static_assert(!leash::JsonSchemable<int*>);
static_assert(!leash::JsonSchemable<int const>);
static_assert(!leash::JsonSchemable<Bare>);
static_assert(!leash::JsonSchemable<std::set<int>>);
static_assert(!leash::JsonSchemable<std::map<int, int>>);
static_assert(!leash::JsonSchemable<std::vector<std::set<int>>>);
static_assert(!leash::JsonSchemable<Undescribed>);
static_assert(!leash::JsonSchemable<WithSet>);
static_assert(!leash::JsonSchemable<DeepSet>);
static_assert(!leash::JsonSchemable<BadDocs>);
static_assert(!leash::JsonSchemable<RuntimeDocs>);
static_assert(!leash::JsonSchemable<NoDefault>);
static_assert(!leash::JsonSchemable<ConstMember>);
static_assert(!leash::JsonSchemable<HalfTraits>);
static_assert(!leash::JsonSchemable<Tree>);
static_assert(!leash::JsonSchemable<Ping> && !leash::JsonSchemable<Pong>);

static_assert(leash::ToolArgs<SearchArgs> && leash::ToolArgs<Empty> && leash::ToolArgs<Derived>);
static_assert(!leash::ToolArgs<int> && !leash::ToolArgs<std::vector<int>> && !leash::ToolArgs<Point>);
static_assert(!leash::ToolArgs<Undescribed> && !leash::ToolArgs<WithSet>);
static_assert(leash::diagnose_tool_args<SearchArgs>());

json::value schema_json(std::string_view text) { return json::parse(text); }

template <class T>
json::value const& property(std::string_view name) {
  return leash::json_schema<T>().at("properties").as_object().at(name);
}

}  // namespace test_schema

using namespace test_schema;

BOOST_AUTO_TEST_SUITE(schema)

BOOST_AUTO_TEST_CASE(scalars, *boost::unit_test::description("string, bool, floating, described enum")) {
  BOOST_TEST(property<Scalars>("s") == schema_json(R"({"type":"string"})"));
  BOOST_TEST(property<Scalars>("b") == schema_json(R"({"type":"boolean"})"));
  BOOST_TEST(property<Scalars>("f") == schema_json(R"({"type":"number"})"));
  BOOST_TEST(property<Scalars>("d") == schema_json(R"({"type":"number"})"));
  BOOST_TEST(property<Scalars>("m") == schema_json(R"({"type":"string","enum":["fast","slow"]})"));
}

BOOST_AUTO_TEST_CASE(integers, *boost::unit_test::description("every width; unsigned adds minimum 0")) {
  json::value const sig = schema_json(R"({"type":"integer"})");
  json::value const uns = schema_json(R"({"type":"integer","minimum":0})");
  for (auto name : {"i8", "i16", "i32", "i64", "l", "sc"}) BOOST_TEST(property<Integers>(name) == sig);
  for (auto name : {"u8", "u16", "u32", "u64", "ull"}) BOOST_TEST(property<Integers>(name) == uns);
}

BOOST_AUTO_TEST_CASE(containers, *boost::unit_test::description("vector, map, optional, nested")) {
  BOOST_TEST(property<Containers>("ints") ==
             schema_json(R"({"type":"array","items":{"type":"integer"}})"));
  BOOST_TEST(property<Containers>("grid") ==
             schema_json(R"({"type":"array","items":{"type":"array","items":{"type":"string"}}})"));
  BOOST_TEST(property<Containers>("scores") ==
             schema_json(R"({"type":"object","additionalProperties":{"type":"number"}})"));
  BOOST_TEST(property<Containers>("flags") ==
             schema_json(R"({"type":"object","additionalProperties":{"type":"array","items":{"type":"boolean"}}})"));
  // An optional that is not a field may be null.
  BOOST_TEST(property<Containers>("holes") ==
             schema_json(R"({"type":"array","items":{"anyOf":[{"type":"integer"},{"type":"null"}]}})"));
  json::value const inner = schema_json(
      R"({"type":"object","properties":{"name":{"type":"string"},"weight":{"type":"integer"}},
          "required":["name"],"additionalProperties":false})");
  BOOST_TEST(property<Containers>("one") == inner);
  BOOST_TEST(property<Containers>("inners") == (json::object{{"type", "array"}, {"items", inner}}));
  // An optional field is the schema of its value, and not required.
  BOOST_TEST(leash::json_schema<Containers>().at("required") ==
             schema_json(R"(["ints","grid","scores","flags","holes","one"])"));
}

BOOST_AUTO_TEST_CASE(struct_shape, *boost::unit_test::description("members in order, closed object")) {
  json::object const& s = leash::json_schema<Inner>();
  // Key order is part of what providers show; compare the text, not just the value.
  BOOST_TEST(json::serialize(s) ==
             R"({"type":"object","properties":{"name":{"type":"string"},"weight":{"type":"integer"}},)"
             R"("required":["name"],"additionalProperties":false})");
  BOOST_TEST(json::serialize(leash::json_schema<Empty>()) ==
             R"({"type":"object","properties":{},"required":[],"additionalProperties":false})");
}

BOOST_AUTO_TEST_CASE(inherited_members, *boost::unit_test::description("a described base's members come first")) {
  BOOST_TEST(json::serialize(leash::json_schema<Derived>()) ==
             R"({"type":"object","properties":{"id":{"type":"string"},"n":{"type":"integer"}},)"
             R"("required":["id","n"],"additionalProperties":false})");
}

BOOST_AUTO_TEST_CASE(field_docs, *boost::unit_test::description("descriptions and defaults from FieldDoc")) {
  BOOST_TEST(property<Documented>("path") == schema_json(R"({"type":"string","description":"file path"})"));
  BOOST_TEST(property<Documented>("count") ==
             schema_json(R"({"type":"integer","description":"how many","default":10})"));
  BOOST_TEST(property<Documented>("note") == schema_json(R"({"type":"string","description":"free text"})"));
  // An empty description is left out; an engaged optional default is shown.
  BOOST_TEST(property<Documented>("level") == schema_json(R"({"type":"integer","default":3})"));
  // An empty optional has no default to show.
  BOOST_TEST(property<Documented>("unset_default") ==
             schema_json(R"({"type":"integer","description":"none by default"})"));
  BOOST_TEST(property<Documented>("mode") ==
             schema_json(R"({"type":"string","enum":["fast","slow"],"description":"speed","default":"slow"})"));
  BOOST_TEST(property<Documented>("tags") ==
             schema_json(R"({"type":"array","items":{"type":"string"},"description":"labels","default":["a","b"]})"));
  BOOST_TEST(property<Documented>("ratio") == schema_json(R"({"type":"number","default":0.5})"));
  BOOST_TEST(leash::json_schema<Documented>().at("required") == schema_json(R"(["path"])"));
}

BOOST_AUTO_TEST_CASE(realistic_tool, *boost::unit_test::description("exact schema of a search tool")) {
  BOOST_TEST(json::serialize(leash::json_schema<SearchArgs>()) ==
             R"({"type":"object","properties":{)"
             R"("pattern":{"type":"string","description":"text or regular expression to look for"},)"
             R"("paths":{"type":"array","items":{"type":"string"},"description":"files or directories to search"},)"
             R"("mode":{"type":"string","enum":["literal","regex"],"description":"how to read the pattern","default":"literal"},)"
             R"("max_results":{"type":"integer","minimum":0,"description":"stop after this many matches"},)"
             R"("case_sensitive":{"type":"boolean","description":"match case exactly","default":true}},)"
             R"("required":["pattern","paths"],"additionalProperties":false})");
}

BOOST_AUTO_TEST_CASE(exemplar, *boost::unit_test::description("the ToolArgs page's exemplar")) {
  BOOST_TEST(leash::json_schema<ReadFileArgs>() == schema_json(R"({
    "type":"object",
    "properties":{
      "path":{"type":"string","description":"file to read, relative to the workspace"},
      "max_lines":{"type":"integer","minimum":0,"description":"stop after this many lines","default":200},
      "offset":{"type":"integer","minimum":0,"description":"first line to read, 0-based"},
      "encoding":{"type":"string","enum":["utf8","latin1"],"description":"text encoding of the file","default":"utf8"},
      "skip":{"type":"array","items":{"type":"string"}}},
    "required":["path","skip"],
    "additionalProperties":false})"));
}

BOOST_AUTO_TEST_CASE(extension_point, *boost::unit_test::description("json_schema_traits supplies a schema")) {
  json::value const point = schema_json(R"({"type":"string","pattern":"^-?[0-9]+,-?[0-9]+$"})");
  BOOST_TEST(property<WithPoint>("origin") == point);
  BOOST_TEST(property<WithPoint>("path") == (json::object{{"type", "array"}, {"items", point}}));
  BOOST_TEST(leash::json_schema<Point>() == point);
}

BOOST_AUTO_TEST_CASE(non_struct_types, *boost::unit_test::description("json_schema of any JsonSchemable")) {
  BOOST_TEST(leash::json_schema<std::uint16_t>() == schema_json(R"({"type":"integer","minimum":0})"));
  BOOST_TEST((leash::json_schema<std::map<std::string, Mode>>()) ==
             schema_json(R"({"type":"object","additionalProperties":{"type":"string","enum":["fast","slow"]}})"));
  BOOST_TEST(leash::json_schema<std::optional<bool>>() ==
             schema_json(R"({"anyOf":[{"type":"boolean"},{"type":"null"}]})"));
}

BOOST_AUTO_TEST_CASE(built_once, *boost::unit_test::description("the same object on every call")) {
  json::object const* first = &leash::json_schema<SearchArgs>();
  BOOST_TEST(first == &leash::json_schema<SearchArgs>());
  BOOST_TEST(first != &leash::json_schema<Inner>());
}

BOOST_AUTO_TEST_SUITE_END()
