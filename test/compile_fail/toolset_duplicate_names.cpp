// Two tools with one name: ToolSet refuses them in a sentence.
#include <leash/toolset.hpp>

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

struct A {
  static constexpr std::string_view name = "same";
  static constexpr std::string_view description = "First.";
  using args = NoArgs;
  std::string operator()(args const&) const { return "a"; }
};
struct B {
  static constexpr std::string_view name = "same";
  static constexpr std::string_view description = "Second.";
  using args = NoArgs;
  std::string operator()(args const&) const { return "b"; }
};

int main() { return leash::ToolSet<A, B>::size == 2 ? 0 : 1; }
