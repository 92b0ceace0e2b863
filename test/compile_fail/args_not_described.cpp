// Must not compile: the args struct has no BOOST_DESCRIBE_STRUCT.
// Expected: args_struct_not_described<Undescribed> and
// "leash: describe the args struct with BOOST_DESCRIBE_STRUCT"
#include <leash/validate.hpp>

#include <boost/describe/class.hpp>

#include <string>

struct Undescribed {
  std::string path;
};

int main() { return leash::args_to_json(Undescribed{}).is_object() ? 0 : 1; }
