// Twin of toolset_duplicate_names.cpp: with distinct names, it compiles.
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
  static constexpr std::string_view name = "other";
  static constexpr std::string_view description = "Second.";
  using args = NoArgs;
  std::string operator()(args const&) const { return "b"; }
};

int main() { return leash::ToolSet<A, B>::size == 2 ? 0 : 1; }
