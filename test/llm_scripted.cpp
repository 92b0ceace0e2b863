// The scripted transport: JSONL scripts, replay order, errors, streaming.
#include <leash/llm/scripted.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"

#include "support.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace test_llm_scripted {

namespace json = leash::json;
using leash::Errc;
using leash::llm::ChatMessage;
using leash::llm::Completion;
using leash::llm::CompletionRequest;
using leash::llm::ScriptedTransport;
using leash::llm::StreamDelta;
using leash_test::run_sync;

using leash_test::why;

std::string const script =
    R"({"text": "Fixing a.", "tool_calls": [{"name": "fix", "args": {"name": "a"}, "id": "c1"}], "usage": {"input_tokens": 50, "output_tokens": 10}, "model": "gpt-4o"})"
    "\n\n"
    R"({"error": {"code": "llm_rate_limited", "message": "slow down"}})"
    "\r\n"
    R"({"text": "héllo wörld, all done", "finish_reason": "stop"})"
    "\n";

/// A file in the temp directory, removed at the end of the test.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(std::string const& text, std::string name = "leash_llm_scripted.jsonl") {
    path = std::filesystem::temp_directory_path() / name;
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

CompletionRequest hello() {
  CompletionRequest r;
  r.messages = {ChatMessage{"user", std::string(40, 'x'), {}, {}}};
  return r;
}

}  // namespace test_llm_scripted

using namespace test_llm_scripted;

BOOST_AUTO_TEST_SUITE(llm_scripted)

BOOST_AUTO_TEST_CASE(replays_in_order_and_repeats_the_last) {
  auto parsed = leash::llm::parse_script(script, "s.jsonl");
  BOOST_TEST_REQUIRE(parsed.has_value(), why(parsed));
  ScriptedTransport t(std::move(parsed).value());
  t.record_requests();

  auto first = run_sync(t.complete(hello()));
  BOOST_TEST_REQUIRE(first.has_value(), why(first));
  BOOST_TEST(first.value().text == "Fixing a.");
  BOOST_TEST(first.value().model == "gpt-4o");
  BOOST_TEST(first.value().finish_reason == "tool_calls");
  BOOST_TEST(first.value().usage.input_tokens == 50u);
  BOOST_TEST_REQUIRE(first.value().tool_calls.size() == 1u);
  BOOST_TEST(first.value().tool_calls[0].id == "c1");
  BOOST_TEST(first.value().tool_calls[0].args == json::parse(R"({"name":"a"})"));

  auto second = run_sync(t.complete(hello()));
  BOOST_TEST_REQUIRE(second.has_error());
  BOOST_TEST((second.error() == Errc::llm_rate_limited));
  BOOST_TEST(second.error().message == "slow down");

  for (int i = 0; i < 3; ++i) {
    auto last = run_sync(t.complete(hello()));
    BOOST_TEST_REQUIRE(last.has_value());
    BOOST_TEST(last.value().text == "héllo wörld, all done");
    BOOST_TEST(last.value().model == "scripted");
    // No usage in the script: an estimate (40 chars in, 23 bytes out).
    BOOST_TEST(last.value().usage.input_tokens == 10u);
    BOOST_TEST(last.value().usage.output_tokens == 6u);
  }
  BOOST_TEST(t.calls() == 5u);
  BOOST_TEST(t.requests().size() == 5u);
  BOOST_TEST(t.model_id() == "scripted");
  BOOST_TEST(t.provider() == "scripted");
}

BOOST_AUTO_TEST_CASE(streams_text_in_pieces_and_arguments_in_two) {
  ScriptedTransport t(leash::llm::parse_script(script).value());
  std::vector<StreamDelta> deltas;
  auto on = [&](StreamDelta const& d) { deltas.push_back(d); };
  auto first = run_sync(t.stream(hello(), on));
  BOOST_TEST_REQUIRE(first.has_value());
  std::string text, args;
  std::size_t starts = 0;
  for (auto const& d : deltas) {
    if (d.kind == StreamDelta::Kind::text) text += d.text;
    if (d.kind == StreamDelta::Kind::tool_call_args) args += d.text;
    if (d.kind == StreamDelta::Kind::tool_call_start) {
      ++starts;
      BOOST_TEST(d.name == "fix");
    }
  }
  BOOST_TEST(text == "Fixing a.");
  BOOST_TEST(args == R"({"name":"a"})");
  BOOST_TEST(starts == 1u);

  (void)run_sync(t.stream(hello(), on));  // the error line
  deltas.clear();
  auto last = run_sync(t.stream(hello(), on));
  BOOST_TEST_REQUIRE(last.has_value());
  BOOST_TEST(deltas.size() > 2u);
  text.clear();
  for (auto const& d : deltas) text += d.text;
  BOOST_TEST(text == "héllo wörld, all done");  // pieces never split a UTF-8 character
}

BOOST_AUTO_TEST_CASE(malformed_scripts_name_file_and_line) {
  struct Case {
    std::string text;
    std::string says;
  };
  std::vector<Case> cases = {
      {"{\"text\":\"ok\"}\n{oops\n", "f.jsonl:2: not JSON"},
      {"[1]\n", "f.jsonl:1: not a JSON object"},
      {"{\"txt\":\"typo\"}\n", "f.jsonl:1: unknown key \"txt\""},
      {"{\"text\":1}\n", "f.jsonl:1: \"text\" is not a string"},
      {"\n\n{\"tool_calls\":[{\"args\":{}}]}\n", "f.jsonl:3: tool_calls[0] needs a \"name\""},
      {"{\"tool_calls\":[{\"name\":\"x\",\"arg\":{}}]}\n", "f.jsonl:1: unknown key \"arg\" in tool_calls[0]"},
      {"{\"usage\":{\"input_tokens\":-1}}\n", "f.jsonl:1: \"usage.input_tokens\" is not a count"},
      {"{\"error\":{\"code\":\"nope\"}}\n", "f.jsonl:1: unknown error code \"nope\""},
      {"{\"error\":{\"code\":\"llm_timeout\"},\"text\":\"x\"}\n", "f.jsonl:1: an \"error\" line has no other keys"},
      {"\n  \n", "f.jsonl: the script has no replies"},
  };
  for (auto const& c : cases) {
    auto r = leash::llm::parse_script(c.text, "f.jsonl");
    BOOST_TEST_REQUIRE(r.has_error(), c.text);
    BOOST_TEST((r.error() == Errc::invalid_transport_spec));
    BOOST_TEST(r.error().message.find(c.says) == 0u, r.error().message << " | wanted " << c.says);
  }
}

BOOST_AUTO_TEST_CASE(tool_arguments_of_any_shape_are_kept) {
  auto r = leash::llm::parse_script(R"({"tool_calls":[{"name":"fix","args":"{not json"},{"name":"fix"}]})");
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  auto const& c = r.value().at(0).value();
  BOOST_TEST(c.tool_calls.at(0).args == json::string("{not json"));
  BOOST_TEST(c.tool_calls.at(1).args == json::object{});  // no args: a call without parameters
}

BOOST_AUTO_TEST_CASE(from_file) {
  TempFile good(script);
  auto t = ScriptedTransport::from_file(good.path.string(), "demo-model");
  BOOST_TEST_REQUIRE(t.has_value(), why(t));
  BOOST_TEST(t.value()->model_id() == "demo-model");

  auto missing = ScriptedTransport::from_file("/nonexistent/leash/script.jsonl");
  BOOST_TEST_REQUIRE(missing.has_error());
  BOOST_TEST((missing.error() == Errc::invalid_transport_spec));
  BOOST_TEST(missing.error().message.find("/nonexistent/leash/script.jsonl") != std::string::npos);

  TempFile bad("{\"text\":\"ok\"}\n{\"text\":\"ok\"}\n{\"bogus\":1}\n", "leash_llm_scripted_bad.jsonl");
  auto broken = ScriptedTransport::from_file(bad.path.string());
  BOOST_TEST_REQUIRE(broken.has_error());
  BOOST_TEST(broken.error().message.find(bad.path.string() + ":3: unknown key \"bogus\"") == 0u,
             broken.error().message);
}

BOOST_AUTO_TEST_SUITE_END()
