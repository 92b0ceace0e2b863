// Must not compile: a set two levels down, reached through parse_args.
// Expected: unsupported_field_type<fixed_string<12>{"inner.sets[]"}, std::set<int>>
#include <leash/validate.hpp>

#include <boost/describe/class.hpp>

#include <set>
#include <vector>

struct Inner {
  int n = 0;
  std::vector<std::set<int>> sets;
};
BOOST_DESCRIBE_STRUCT(Inner, (), (n, sets))

struct Outer {
  Inner inner;
};
BOOST_DESCRIBE_STRUCT(Outer, (), (inner))

int main() { return leash::parse_args<Outer>(leash::json::object{}).has_value() ? 0 : 1; }
