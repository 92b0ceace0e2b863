// Must not compile: field_docs documents "lenght", which is not a member.
// Expected: field_docs_names_unknown_member<ReadArgs, fixed_string<6>{"lenght"}> and
// "leash: field_docs names a field that is not a described member"
#include <leash/schema.hpp>

#include <boost/describe/class.hpp>

#include <array>
#include <string>

struct ReadArgs {
  std::string path;
  int length = 100;
  static constexpr std::array field_docs{leash::FieldDoc{"path", "file to read"},
                                         leash::FieldDoc{"lenght", "lines to read", true}};
};
BOOST_DESCRIBE_STRUCT(ReadArgs, (), (path, length))

int main() { return static_cast<int>(leash::json_schema<ReadArgs>().size()); }
