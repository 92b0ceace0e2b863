// Twin of args_not_described.cpp: described, it compiles.
#include <leash/validate.hpp>

#include <boost/describe/class.hpp>

#include <string>

struct Undescribed {
  std::string path;
};
BOOST_DESCRIBE_STRUCT(Undescribed, (), (path))

int main() { return leash::args_to_json(Undescribed{}).is_object() ? 0 : 1; }
