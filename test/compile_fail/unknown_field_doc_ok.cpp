// Twin of unknown_field_doc.cpp: spelt right, it compiles.
#include <leash/schema.hpp>

#include <boost/describe/class.hpp>

#include <array>
#include <string>

struct ReadArgs {
  std::string path;
  int length = 100;
  static constexpr std::array field_docs{leash::FieldDoc{"path", "file to read"},
                                         leash::FieldDoc{"length", "lines to read", true}};
};
BOOST_DESCRIBE_STRUCT(ReadArgs, (), (path, length))

int main() { return static_cast<int>(leash::json_schema<ReadArgs>().size()); }
