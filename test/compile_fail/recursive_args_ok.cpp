// Twin of recursive_args.cpp: children by name, it compiles.
#include <leash/schema.hpp>

#include <boost/describe/class.hpp>

#include <string>
#include <vector>

struct TreeArgs {
  std::string name;
  std::vector<std::string> children;
};
BOOST_DESCRIBE_STRUCT(TreeArgs, (), (name, children))

int main() { return static_cast<int>(leash::json_schema<TreeArgs>().size()); }
