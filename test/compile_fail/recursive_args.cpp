// Must not compile: a struct that contains itself has no finite schema.
// Expected: recursive_args_type<fixed_string<10>{"children[]"}, TreeArgs> and
// "leash: a tool argument struct contains itself; …"
#include <leash/schema.hpp>

#include <boost/describe/class.hpp>

#include <string>
#include <vector>

struct TreeArgs {
  std::string name;
  std::vector<TreeArgs> children;
};
BOOST_DESCRIBE_STRUCT(TreeArgs, (), (name, children))

int main() { return static_cast<int>(leash::json_schema<TreeArgs>().size()); }
