// scripted_teacher.hpp — the spec-search suites' scripted teacher: replies
// and tool calls with fixed usage (so costs can be asserted exactly), and
// the files a config home is made of.
#ifndef LEASH_TEST_SCRIPTED_TEACHER_HPP
#define LEASH_TEST_SCRIPTED_TEACHER_HPP

#include <leash/json.hpp>
#include <leash/llm/scripted.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace leash_test {

inline std::string read_text(std::filesystem::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(std::filesystem::path const& p, std::string const& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

/// A reply in words: 1000 tokens in, 200 out.
inline leash::llm::Completion reply(std::string words) {
  leash::llm::Completion c;
  c.text = std::move(words);
  c.usage = {1000, 200};
  return c;
}

/// One tool call ("Looking."): 1000 tokens in, 50 out.
inline leash::llm::Completion call(std::string tool, leash::json::object args, std::string id = {}) {
  leash::llm::Completion c;
  c.text = "Looking.";
  c.tool_calls.push_back({id.empty() ? "call-" + tool : id, tool, leash::json::value(std::move(args))});
  c.usage = {1000, 50};
  return c;
}

using Teacher = std::shared_ptr<leash::llm::ScriptedTransport>;

/// The replies in order, the last repeating; model id "teacher".
inline Teacher teacher(std::vector<leash::llm::Completion> replies) {
  std::vector<leash::result<leash::llm::Completion>> script(replies.begin(), replies.end());
  return std::make_shared<leash::llm::ScriptedTransport>(std::move(script), "teacher");
}

}  // namespace leash_test

#endif
