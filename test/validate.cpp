#include <leash/validate.hpp>
#include <boost/test/unit_test.hpp>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace test_validate {

namespace json = leash::json;

BOOST_DEFINE_ENUM_CLASS(Mode, fast, slow)

struct Item {
  std::string name;
  int qty = 1;
  static constexpr std::array field_docs{leash::FieldDoc{"qty", "how many", true}};
  friend bool operator==(Item const&, Item const&) = default;
};
BOOST_DESCRIBE_STRUCT(Item, (), (name, qty))

struct Args {
  std::string name;
  std::int32_t count;
  std::uint8_t n;
  bool flag;
  double ratio;
  float f;
  Mode mode;
  std::optional<std::string> note;
  std::vector<Item> items;
  std::map<std::string, int> tags;
  friend bool operator==(Args const&, Args const&) = default;
};
BOOST_DESCRIBE_STRUCT(Args, (), (name, count, n, flag, ratio, f, mode, note, items, tags))

struct Integers {
  std::int8_t i8;
  std::int16_t i16;
  std::int32_t i32;
  std::int64_t i64;
  std::uint8_t u8;
  std::uint16_t u16;
  std::uint32_t u32;
  std::uint64_t u64;
  friend bool operator==(Integers const&, Integers const&) = default;
};
BOOST_DESCRIBE_STRUCT(Integers, (), (i8, i16, i32, i64, u8, u16, u32, u64))

struct Inner {
  int x;
  int depth = 7;
  static constexpr std::array field_docs{leash::FieldDoc{"depth", "", true}};
  friend bool operator==(Inner const&, Inner const&) = default;
};
BOOST_DESCRIBE_STRUCT(Inner, (), (x, depth))

struct Defaults {
  int count = 10;
  std::optional<int> plain = 5;       // optional, no FieldDoc: missing means nullopt
  std::optional<int> kept = 6;        // optional with has_default: missing keeps 6
  std::vector<int> list{1, 2, 3};     // replaced, not appended to, when present
  Mode mode = Mode::slow;
  Inner inner{.x = 1, .depth = 99};   // a present "inner" starts from Inner{}
  static constexpr std::array field_docs{
      leash::FieldDoc{"count", "", true}, leash::FieldDoc{"kept", "", true},
      leash::FieldDoc{"list", "", true}, leash::FieldDoc{"mode", "", true},
      leash::FieldDoc{"inner", "", true}};
};
BOOST_DESCRIBE_STRUCT(Defaults, (), (count, plain, kept, list, mode, inner))

struct Nested {
  std::vector<std::vector<int>> grid;
  std::unordered_map<std::string, std::vector<bool>> flags;
  std::vector<std::optional<int>> holes;
  std::optional<Inner> maybe;
  std::map<std::string, Inner> by_name;
  friend bool operator==(Nested const&, Nested const&) = default;
};
BOOST_DESCRIBE_STRUCT(Nested, (), (grid, flags, holes, maybe, by_name))

struct Base {
  std::string id;
  friend bool operator==(Base const&, Base const&) = default;
};
BOOST_DESCRIBE_STRUCT(Base, (), (id))
struct Derived : Base {
  int n;
  friend bool operator==(Derived const&, Derived const&) = default;
};
BOOST_DESCRIBE_STRUCT(Derived, (Base), (n))

struct Wide {
  int a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;
};
BOOST_DESCRIBE_STRUCT(Wide, (), (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11))

struct Empty {};
BOOST_DESCRIBE_STRUCT(Empty, (), ())

struct Point {
  int x = 0, y = 0;
  friend bool operator==(Point const&, Point const&) = default;
};

}  // namespace test_validate

// "x,y" as a string: the extension point's parse and to_json.
template <>
struct leash::json_schema_traits<test_validate::Point> {
  static json::object schema() { return {{"type", "string"}}; }
  static result<test_validate::Point> parse(json::value const& v) {
    auto const* s = v.if_string();
    if (!s) return Error{Errc::invalid_arguments, "expected \"x,y\", got something else"};
    std::string_view text(s->data(), s->size());
    auto comma = text.find(',');
    if (comma == text.npos) return Error{Errc::invalid_arguments, "expected \"x,y\",\nno comma"};
    return test_validate::Point{std::stoi(std::string(text.substr(0, comma))),
                                std::stoi(std::string(text.substr(comma + 1)))};
  }
  static json::value to_json(test_validate::Point const& p) {
    return json::value(std::to_string(p.x) + "," + std::to_string(p.y));
  }
};

namespace test_validate {

struct Move {
  Point to;
  std::vector<Point> via;
  friend bool operator==(Move const&, Move const&) = default;
};
BOOST_DESCRIBE_STRUCT(Move, (), (to, via))

/// The value, or a test failure that shows the error text.
template <class T>
T parsed(std::string_view text) {
  leash::result<T> r = leash::parse_args<T>(json::parse(text));
  if (!r) BOOST_FAIL("unexpected parse error:\n" << r.error().message);
  return std::move(r).value();
}

/// The error text, checking its code.
template <class T>
std::string errors(std::string_view text) {
  leash::result<T> r = leash::parse_args<T>(json::parse(text));
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST((r.error() == leash::Errc::invalid_arguments));
  return r.error().message;
}

/// An Args document that is valid, with `patch` merged over it.
std::string args_with(std::string_view patch) {
  json::object doc = json::parse(R"({"name":"n","count":1,"n":2,"flag":true,"ratio":0.5,"f":1.5,
      "mode":"fast","items":[],"tags":{}})")
                         .as_object();
  json::value const changes = json::parse(patch);
  for (auto const& kv : changes.as_object()) doc[kv.key()] = kv.value();
  return json::serialize(doc);
}

std::string remove_key(std::string_view doc, std::string_view key) {
  json::object o = json::parse(doc).as_object();
  o.erase(key);
  return json::serialize(o);
}

}  // namespace test_validate

using namespace test_validate;

BOOST_AUTO_TEST_SUITE(validate)

// ---- accepted values -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_type, *boost::unit_test::description("each supported type parses")) {
  Args a = parsed<Args>(R"({"name":"bob","count":-5,"n":255,"flag":false,"ratio":2,"f":0.25,
      "mode":"slow","note":"hi","items":[{"name":"x","qty":3},{"name":"y"}],"tags":{"a":1,"b":-2}})");
  BOOST_TEST(a.name == "bob");
  BOOST_TEST(a.count == -5);
  BOOST_TEST(a.n == 255);
  BOOST_TEST(a.flag == false);
  BOOST_TEST(a.ratio == 2.0);  // a JSON integer is a fine number
  BOOST_TEST(a.f == 0.25f);
  BOOST_TEST((a.mode == Mode::slow));
  BOOST_TEST(a.note.value() == "hi");
  BOOST_TEST((a.items == std::vector<Item>{{"x", 3}, {"y", 1}}));
  BOOST_TEST((a.tags == std::map<std::string, int>{{"a", 1}, {"b", -2}}));
}

BOOST_AUTO_TEST_CASE(integer_bounds, *boost::unit_test::description("the ends of each range are accepted")) {
  Integers lo = parsed<Integers>(
      R"({"i8":-128,"i16":-32768,"i32":-2147483648,"i64":-9223372036854775808,
          "u8":0,"u16":0,"u32":0,"u64":0})");
  BOOST_TEST(lo.i8 == std::numeric_limits<std::int8_t>::min());
  BOOST_TEST(lo.i16 == std::numeric_limits<std::int16_t>::min());
  BOOST_TEST(lo.i32 == std::numeric_limits<std::int32_t>::min());
  BOOST_TEST(lo.i64 == std::numeric_limits<std::int64_t>::min());
  Integers hi = parsed<Integers>(
      R"({"i8":127,"i16":32767,"i32":2147483647,"i64":9223372036854775807,
          "u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615})");
  BOOST_TEST(hi.i64 == std::numeric_limits<std::int64_t>::max());
  BOOST_TEST(hi.u8 == 255);
  BOOST_TEST(hi.u16 == 65535);
  BOOST_TEST(hi.u32 == 4294967295u);
  BOOST_TEST(hi.u64 == std::numeric_limits<std::uint64_t>::max());
}

BOOST_AUTO_TEST_CASE(nested_containers, *boost::unit_test::description("vectors, maps, optionals inside")) {
  Nested n = parsed<Nested>(R"({"grid":[[1,2],[],[3]],"flags":{"k":[true,false]},
      "holes":[1,null,3],"maybe":{"x":4},"by_name":{"a":{"x":1,"depth":2}}})");
  BOOST_TEST((n.grid == std::vector<std::vector<int>>{{1, 2}, {}, {3}}));
  BOOST_TEST((n.flags.at("k") == std::vector<bool>{true, false}));
  BOOST_TEST((n.holes == std::vector<std::optional<int>>{1, std::nullopt, 3}));
  BOOST_TEST((n.maybe == Inner{4, 7}));
  BOOST_TEST((n.by_name.at("a") == Inner{1, 2}));
  BOOST_TEST(parsed<Nested>(R"({"grid":[],"flags":{},"holes":[],"maybe":null,"by_name":{}})").maybe.has_value() ==
             false);
}

BOOST_AUTO_TEST_CASE(inherited_members, *boost::unit_test::description("a described base's members count")) {
  BOOST_TEST((parsed<Derived>(R"({"id":"a","n":1})") == Derived{{"a"}, 1}));
  BOOST_TEST(errors<Derived>(R"({"n":1})") == "args.id: missing required field");
}

BOOST_AUTO_TEST_CASE(optional_and_defaults, *boost::unit_test::description("what a missing field becomes")) {
  Defaults d = parsed<Defaults>("{}");
  BOOST_TEST(d.count == 10);
  BOOST_TEST(!d.plain.has_value());  // absent optional: nullopt, whatever its initializer
  BOOST_TEST(d.kept.value() == 6);   // has_default: the initializer
  BOOST_TEST((d.list == std::vector<int>{1, 2, 3}));
  BOOST_TEST((d.mode == Mode::slow));
  BOOST_TEST((d.inner == Inner{1, 99}));

  Defaults e = parsed<Defaults>(
      R"({"count":1,"plain":2,"kept":null,"list":[9],"mode":"fast","inner":{"x":5}})");
  BOOST_TEST(e.count == 1);
  BOOST_TEST(e.plain.value() == 2);
  BOOST_TEST(!e.kept.has_value());  // null is nullopt
  BOOST_TEST((e.list == std::vector<int>{9}));
  BOOST_TEST((e.mode == Mode::fast));
  BOOST_TEST((e.inner == Inner{5, 7}));  // Inner's own default, as its schema says
}

BOOST_AUTO_TEST_CASE(extension_point, *boost::unit_test::description("json_schema_traits parses and prints")) {
  Move m = parsed<Move>(R"({"to":"3,4","via":["1,2"]})");
  BOOST_TEST((m.to == Point{3, 4}));
  BOOST_TEST((m.via == std::vector<Point>{{1, 2}}));
  BOOST_TEST(errors<Move>(R"({"to":5,"via":["1,2","nope"]})") ==
             "args.to: expected \"x,y\", got something else\n"
             "args.via[1]: expected \"x,y\", no comma");  // the trait's newline kept off the line
  BOOST_TEST(json::serialize(leash::args_to_json(m)) == R"({"to":"3,4","via":["1,2"]})");
}

// ---- each error, its exact text ---------------------------------------------------

BOOST_AUTO_TEST_CASE(wrong_kind, *boost::unit_test::description("no coercion between JSON kinds")) {
  BOOST_TEST(errors<Args>(args_with(R"({"count":"5"})")) == "args.count: expected integer, got string");
  BOOST_TEST(errors<Args>(args_with(R"({"count":2.5})")) == "args.count: expected integer, got number");
  BOOST_TEST(errors<Args>(args_with(R"({"count":2.0})")) == "args.count: expected integer, got number");
  BOOST_TEST(errors<Args>(args_with(R"({"count":1e2})")) == "args.count: expected integer, got number");
  BOOST_TEST(errors<Args>(args_with(R"({"count":true})")) == "args.count: expected integer, got boolean");
  BOOST_TEST(errors<Args>(args_with(R"({"flag":1})")) == "args.flag: expected boolean, got number");
  BOOST_TEST(errors<Args>(args_with(R"({"flag":"true"})")) == "args.flag: expected boolean, got string");
  BOOST_TEST(errors<Args>(args_with(R"({"name":5})")) == "args.name: expected string, got number");
  BOOST_TEST(errors<Args>(args_with(R"({"name":["a"]})")) == "args.name: expected string, got array");
  BOOST_TEST(errors<Args>(args_with(R"({"ratio":"0.5"})")) == "args.ratio: expected number, got string");
  BOOST_TEST(errors<Args>(args_with(R"({"items":{}})")) == "args.items: expected array, got object");
  BOOST_TEST(errors<Args>(args_with(R"({"tags":[]})")) == "args.tags: expected object, got array");
  BOOST_TEST(errors<Args>(args_with(R"({"items":["x"]})")) == "args.items[0]: expected object, got string");
  BOOST_TEST(errors<Args>(args_with(R"({"note":7})")) == "args.note: expected string, got number");
}

BOOST_AUTO_TEST_CASE(null_only_for_optional, *boost::unit_test::description("null is not a default")) {
  BOOST_TEST(errors<Args>(args_with(R"({"count":null})")) == "args.count: expected integer, got null");
  BOOST_TEST(errors<Args>(args_with(R"({"name":null})")) == "args.name: expected string, got null");
  BOOST_TEST(errors<Args>(args_with(R"({"items":null})")) == "args.items: expected array, got null");
  BOOST_TEST(errors<Defaults>(R"({"count":null})") == "args.count: expected integer, got null");
  BOOST_TEST(!parsed<Args>(args_with(R"({"note":null})")).note.has_value());
}

BOOST_AUTO_TEST_CASE(paths, *boost::unit_test::description("array indices and map keys in the path")) {
  BOOST_TEST(errors<Args>(args_with(R"({"items":[{"name":"a"},{"name":"b"},{"name":3}]})")) ==
             "args.items[2].name: expected string, got number");
  BOOST_TEST(errors<Args>(args_with(R"({"tags":{"key":true}})")) ==
             "args.tags[\"key\"]: expected integer, got boolean");
  BOOST_TEST(errors<Args>(args_with(R"({"tags":{"a \"q\"":"x"}})")) ==
             R"(args.tags["a \"q\""]: expected integer, got string)");
  BOOST_TEST(errors<Nested>(R"({"grid":[[1],[2,"x"]],"flags":{"k":[true,0]},"holes":[null,"1"],
      "maybe":{"x":"1"},"by_name":{"z":{"y":1}}})") ==
             "args.grid[1][1]: expected integer, got string\n"
             "args.flags[\"k\"][1]: expected boolean, got number\n"
             "args.holes[1]: expected integer, got string\n"
             "args.maybe.x: expected integer, got string\n"
             "args.by_name[\"z\"].x: missing required field\n"
             "args.by_name[\"z\"].y: unknown field");
}

BOOST_AUTO_TEST_CASE(unknown_and_missing, *boost::unit_test::description("closed objects, required fields")) {
  BOOST_TEST(errors<Args>(args_with(R"({"bogus":1})")) == "args.bogus: unknown field");
  BOOST_TEST(errors<Args>(args_with(R"({"a b":1})")) == R"(args["a b"]: unknown field)");
  BOOST_TEST(errors<Args>(args_with(R"({"":1})")) == R"(args[""]: unknown field)");
  BOOST_TEST(errors<Args>(remove_key(args_with("{}"), "name")) == "args.name: missing required field");
  BOOST_TEST(errors<Args>(remove_key(args_with("{}"), "items")) == "args.items: missing required field");
  BOOST_TEST(errors<Args>(args_with(R"({"items":[{"qty":2}]})")) == "args.items[0].name: missing required field");
  BOOST_TEST(errors<Empty>(R"({"x":1})") == "args.x: unknown field");
  BOOST_TEST(errors<Wide>(R"({"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"a10":10,
      "a11":11,"a12":12})") == "args.a12: unknown field");  // past the size where objects hash their keys
}

BOOST_AUTO_TEST_CASE(enums, *boost::unit_test::description("one of the names, nothing else")) {
  BOOST_TEST(errors<Args>(args_with(R"({"mode":"medium"})")) ==
             R"(args.mode: expected one of "fast", "slow", got "medium")");
  BOOST_TEST(errors<Args>(args_with(R"({"mode":"FAST"})")) ==
             R"(args.mode: expected one of "fast", "slow", got "FAST")");
  BOOST_TEST(errors<Args>(args_with(R"({"mode":0})")) == R"(args.mode: expected one of "fast", "slow", got number)");
  BOOST_TEST(errors<Args>(args_with(R"({"mode":null})")) == R"(args.mode: expected one of "fast", "slow", got null)");
  // A long value is cut so that the line stays readable.
  std::string const long_value(200, 'x');
  BOOST_TEST(errors<Args>(args_with(R"({"mode":")" + long_value + "\"}")) ==
             R"(args.mode: expected one of "fast", "slow", got ")" + std::string(64, 'x') + "\"...");
}

BOOST_AUTO_TEST_CASE(out_of_range, *boost::unit_test::description("the C++ type's range, in words")) {
  BOOST_TEST(errors<Args>(args_with(R"({"n":300})")) == "args.n: integer 300 out of range for uint8");
  BOOST_TEST(errors<Args>(args_with(R"({"n":-1})")) == "args.n: integer -1 out of range for uint8");
  BOOST_TEST(errors<Args>(args_with(R"({"count":2147483648})")) ==
             "args.count: integer 2147483648 out of range for int32");
  BOOST_TEST(errors<Integers>(R"({"i8":-129,"i16":32768,"i32":0,"i64":9223372036854775808,
      "u8":0,"u16":65536,"u32":-1,"u64":-1})") ==
             "args.i8: integer -129 out of range for int8\n"
             "args.i16: integer 32768 out of range for int16\n"
             "args.i64: integer 9223372036854775808 out of range for int64\n"
             "args.u16: integer 65536 out of range for uint16\n"
             "args.u32: integer -1 out of range for uint32\n"
             "args.u64: integer -1 out of range for uint64");
  // Narrowing to float beyond its range would be undefined; it is an error.
  BOOST_TEST(errors<Args>(args_with(R"({"f":1e300})")) == "args.f: number 1e+300 out of range for float");
  BOOST_TEST(parsed<Args>(args_with(R"({"ratio":1e300})")).ratio == 1e300);
}

BOOST_AUTO_TEST_CASE(not_an_object, *boost::unit_test::description("the arguments themselves")) {
  BOOST_TEST(errors<Args>("[]") == "args: expected object, got array");
  BOOST_TEST(errors<Args>("null") == "args: expected object, got null");
  BOOST_TEST(errors<Args>(R"("{}")") == "args: expected object, got string");
  BOOST_TEST(errors<Empty>("3") == "args: expected object, got number");
  BOOST_TEST(errors<Empty>("false") == "args: expected object, got boolean");
  BOOST_TEST(leash::parse_args<Empty>(json::object{}).has_value());  // an empty struct takes {}
}

// ---- collection --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(all_errors_in_order, *boost::unit_test::description("member order, depth first, then unknown keys")) {
  BOOST_TEST(errors<Args>(R"({"zz":1,"items":[{"name":1,"extra":0},{}],"count":"1","flag":1,
      "aa":2,"mode":"x","f":1,"ratio":1})") ==
             "args.name: missing required field\n"
             "args.count: expected integer, got string\n"
             "args.n: missing required field\n"
             "args.flag: expected boolean, got number\n"
             "args.mode: expected one of \"fast\", \"slow\", got \"x\"\n"
             "args.items[0].name: expected string, got number\n"
             "args.items[0].extra: unknown field\n"
             "args.items[1].name: missing required field\n"
             "args.tags: missing required field\n"
             "args.zz: unknown field\n"
             "args.aa: unknown field");
}

BOOST_AUTO_TEST_CASE(twenty_lines_at_most, *boost::unit_test::description("the cap, and the count beyond it")) {
  static_assert(leash::max_argument_error_lines == 20);
  auto doc_with_errors = [](int n) {
    json::object doc;
    for (int i = 0; i < n; ++i) doc["k" + std::to_string(i)] = i;
    return json::serialize(doc);
  };
  auto lines = [](std::string const& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    for (std::size_t nl; (nl = text.find('\n', at)) != text.npos; at = nl + 1)
      out.push_back(text.substr(at, nl - at));
    out.push_back(text.substr(at));
    return out;
  };
  // Exactly the cap: every error shown.
  auto twenty = lines(errors<Empty>(doc_with_errors(20)));
  BOOST_TEST(twenty.size() == 20u);
  BOOST_TEST(twenty.front() == "args.k0: unknown field");
  BOOST_TEST(twenty.back() == "args.k19: unknown field");
  // One more: 19 shown, the last line counts the rest.
  auto twenty_one = lines(errors<Empty>(doc_with_errors(21)));
  BOOST_TEST(twenty_one.size() == 20u);
  BOOST_TEST(twenty_one[18] == "args.k18: unknown field");
  BOOST_TEST(twenty_one.back() == "... and 2 more errors");
  auto many = lines(errors<Empty>(doc_with_errors(500)));
  BOOST_TEST(many.size() == 20u);
  BOOST_TEST(many.back() == "... and 481 more errors");
  // The same cap across nesting levels.
  json::array items;
  for (int i = 0; i < 30; ++i) items.push_back(json::object{{"name", i}});
  auto nested = lines(errors<Args>(args_with(json::serialize(json::object{{"items", items}}))));
  BOOST_TEST(nested.size() == 20u);
  BOOST_TEST(nested[0] == "args.items[0].name: expected string, got number");
  BOOST_TEST(nested.back() == "... and 11 more errors");
}

// ---- the normalised form -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(to_json_form, *boost::unit_test::description("every field, defaults included, no empty optionals")) {
  Args a = parsed<Args>(args_with(R"({"items":[{"name":"x"}],"tags":{"t":3}})"));
  BOOST_TEST(json::serialize(leash::args_to_json(a)) ==
             R"({"name":"n","count":1,"n":2,"flag":true,"ratio":5E-1,"f":1.5E0,"mode":"fast",)"
             R"("items":[{"name":"x","qty":1}],"tags":{"t":3}})");
  a.note = "set";
  BOOST_TEST(leash::args_to_json(a).as_object().at("note") == json::value("set"));
  Defaults d;
  d.plain.reset();
  BOOST_TEST(leash::args_to_json(d) ==
             json::parse(R"({"count":10,"kept":6,"list":[1,2,3],"mode":"slow","inner":{"x":1,"depth":99}})"));
  Nested n;
  n.holes = {std::nullopt, 2};
  BOOST_TEST(leash::args_to_json(n) ==
             json::parse(R"({"grid":[],"flags":{},"holes":[null,2],"by_name":{}})"));
}

BOOST_AUTO_TEST_CASE(unnamed_enum_value, *boost::unit_test::description("by number, and refused on the way back")) {
  Args a = parsed<Args>(args_with("{}"));
  a.mode = static_cast<Mode>(42);
  json::value v = leash::args_to_json(a);
  BOOST_TEST(v.at("mode") == json::value(42));
  BOOST_TEST(errors<Args>(json::serialize(v)) == R"(args.mode: expected one of "fast", "slow", got number)");
}

BOOST_AUTO_TEST_CASE(round_trip, *boost::unit_test::description("parse_args(args_to_json(x)) == x")) {
  Args a;
  a.name = "quote \" and \n newline";
  a.count = std::numeric_limits<std::int32_t>::min();
  a.n = 255;
  a.flag = true;
  a.ratio = 0.1;
  a.f = 3.14159f;
  a.mode = Mode::slow;
  a.note = "";
  a.items = {{"a", 0}, {"b", -7}};
  a.tags = {{"", 1}, {"x y", 2}};
  leash::result<Args> back = leash::parse_args<Args>(leash::args_to_json(a));
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST((back.value() == a));

  Integers i{-128, -32768, -2147483647 - 1, std::numeric_limits<std::int64_t>::min(),
             255, 65535, 4294967295u, std::numeric_limits<std::uint64_t>::max()};
  BOOST_TEST((leash::parse_args<Integers>(leash::args_to_json(i)).value() == i));

  Nested n{{{1}, {}}, {{"k", {true, false, true}}}, {std::nullopt, 0}, Inner{1, 2}, {{"q", Inner{3, 4}}}};
  BOOST_TEST((leash::parse_args<Nested>(leash::args_to_json(n)).value() == n));

  Move m{{-1, 2}, {{0, 0}, {5, 6}}};
  BOOST_TEST((leash::parse_args<Move>(leash::args_to_json(m)).value() == m));
}

BOOST_AUTO_TEST_SUITE_END()
