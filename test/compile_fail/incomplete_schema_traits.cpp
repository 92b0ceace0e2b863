// Must not compile: the json_schema_traits specialisation has no to_json.
// Expected: incomplete_json_schema_traits<fixed_string<6>{"origin"}, Point> and
// "leash: json_schema_traits<T> must declare …"
#include <leash/validate.hpp>

#include <boost/describe/class.hpp>

struct Point {
  int x = 0, y = 0;
};

template <>
struct leash::json_schema_traits<Point> {
  static json::object schema() { return {{"type", "string"}}; }
  static result<Point> parse(json::value const&) { return Point{}; }
};

struct MoveArgs {
  Point origin;
};
BOOST_DESCRIBE_STRUCT(MoveArgs, (), (origin))

int main() { return leash::parse_args<MoveArgs>(leash::json::object{}).has_value() ? 0 : 1; }
