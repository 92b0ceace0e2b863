// Twin of unsupported_field_type.cpp: the same struct with a std::vector compiles.
#include <leash/schema.hpp>

#include <boost/describe/class.hpp>

#include <string>
#include <vector>

struct SearchArgs {
  std::string query;
  std::vector<int> items;
};
BOOST_DESCRIBE_STRUCT(SearchArgs, (), (query, items))

int main() { return static_cast<int>(leash::json_schema<SearchArgs>().size()); }
