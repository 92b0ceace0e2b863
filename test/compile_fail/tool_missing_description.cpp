// A tool type without a description: ToolSet names the missing member.
#include <leash/toolset.hpp>

struct NoteArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(NoteArgs, (), (text))

struct Note {
  static constexpr std::string_view name = "note";
  using args = NoteArgs;
  std::string operator()(args const& a) const { return a.text; }
};

int main() { return leash::ToolSet<Note>::size == 1 ? 0 : 1; }
