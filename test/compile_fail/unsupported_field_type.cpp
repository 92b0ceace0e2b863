// Must not compile: std::set has no JSON schema.
// Expected: unsupported_field_type<fixed_string<5>{"items"}, std::set<int>> and
// "leash: a tool argument field has a type with no JSON schema; use std::string, …"
#include <leash/schema.hpp>

#include <boost/describe/class.hpp>

#include <set>
#include <string>

struct SearchArgs {
  std::string query;
  std::set<int> items;
};
BOOST_DESCRIBE_STRUCT(SearchArgs, (), (query, items))

int main() { return static_cast<int>(leash::json_schema<SearchArgs>().size()); }
