// Twin of nested_unsupported_field.cpp: vectors of vectors compile.
#include <leash/validate.hpp>

#include <boost/describe/class.hpp>

#include <vector>

struct Inner {
  int n = 0;
  std::vector<std::vector<int>> sets;
};
BOOST_DESCRIBE_STRUCT(Inner, (), (n, sets))

struct Outer {
  Inner inner;
};
BOOST_DESCRIBE_STRUCT(Outer, (), (inner))

int main() { return leash::parse_args<Outer>(leash::json::object{}).has_value() ? 0 : 1; }
