// Twin of incomplete_schema_traits.cpp: with to_json, it compiles.
#include <leash/validate.hpp>

#include <boost/describe/class.hpp>

struct Point {
  int x = 0, y = 0;
};

template <>
struct leash::json_schema_traits<Point> {
  static json::object schema() { return {{"type", "string"}}; }
  static result<Point> parse(json::value const&) { return Point{}; }
  static json::value to_json(Point const&) { return "0,0"; }
};

struct MoveArgs {
  Point origin;
};
BOOST_DESCRIBE_STRUCT(MoveArgs, (), (origin))

int main() { return leash::parse_args<MoveArgs>(leash::json::object{}).has_value() ? 0 : 1; }
