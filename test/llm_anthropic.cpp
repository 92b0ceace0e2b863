// The Anthropic Messages protocol: request bodies, responses, stream events,
// error bodies — all without a network.
#include <leash/llm/anthropic.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"

#include <leash/llm/sse.hpp>

#include <string>
#include <vector>

namespace test_llm_anthropic {

namespace json = leash::json;
using leash::Errc;
using leash::ToolCall;
using leash::llm::ChatMessage;
using leash::llm::CompletionRequest;
using leash::llm::StreamDelta;
namespace anthropic = leash::llm::anthropic;

json::value parse(std::string_view s) { return json::parse(s); }

using leash_test::why;

json::array fix_schema() {
  return json::array{json::object{
      {"name", "fix"},
      {"description", "Fix one failing test."},
      {"input_schema", json::object{{"type", "object"},
                                    {"properties", json::object{{"name", json::object{{"type", "string"}}}}},
                                    {"required", json::array{"name"}}}}}};
}

leash::result<leash::llm::Completion> assemble(std::string const& stream, std::size_t step,
                                               std::vector<StreamDelta>* deltas = nullptr) {
  leash::llm::SseParser sse;
  anthropic::StreamAssembler a;
  leash::result<void> status = leash::success();
  auto on_delta = [&](StreamDelta const& d) {
    if (deltas) deltas->push_back(d);
  };
  for (std::size_t i = 0; i < stream.size() && status; i += step)
    sse.feed(std::string_view(stream).substr(i, step), [&](leash::llm::SseEvent const& e) {
      if (status) status = a.feed(e.event, e.data, on_delta);
    });
  if (!status) return status.error();
  return a.finish();
}

/// An event as the API sends it: `event:` name and the payload.
std::string ev(std::string_view name, std::string_view data) {
  return "event: " + std::string(name) + "\ndata: " + std::string(data) + "\n\n";
}

std::string const tool_stream =
    ev("message_start",
       R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],)"
       R"("model":"claude-sonnet-4-6","stop_reason":null,"usage":{"input_tokens":472,"output_tokens":2,)"
       R"("cache_read_input_tokens":100}}})") +
    ev("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
    ev("ping", R"({"type":"ping"})") +
    ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Fixing "}})") +
    ev("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a."}})") +
    ev("content_block_stop", R"({"type":"content_block_stop","index":0})") +
    ev("content_block_start",
       R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"fix","input":{}}})") +
    ev("content_block_delta",
       R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})") +
    ev("content_block_delta",
       R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"na"}})") +
    ev("content_block_delta",
       R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"me\": \"a\"}"}})") +
    ev("content_block_stop", R"({"type":"content_block_stop","index":1})") +
    ev("message_delta",
       R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}})") +
    ev("message_stop", R"({"type":"message_stop"})");

}  // namespace test_llm_anthropic

using namespace test_llm_anthropic;

BOOST_AUTO_TEST_SUITE(llm_anthropic)

BOOST_AUTO_TEST_CASE(request_body_system_blocks_and_merged_turns) {
  CompletionRequest r;
  r.messages = {
      ChatMessage{"system", "You are an agent.", {}, {}},
      ChatMessage{"system", "Be brief.", {}, {}},
      ChatMessage{"user", "failing: a,b", {}, {}},
      ChatMessage{"user", "", {}, {}},  // an empty text block is dropped
      ChatMessage{"assistant", "Fixing both.",
                  {ToolCall{"toolu_1", "fix", json::object{{"name", "a"}}}, ToolCall{"toolu_2", "fix", json::object{{"name", "b"}}}},
                  {}},
      ChatMessage{"tool", "fixed a", {}, "toolu_1"},
      ChatMessage{"tool", "fixed b", {}, "toolu_2"},
      ChatMessage{"user", "Now check.", {}, {}},
  };
  r.tools = fix_schema();
  r.max_tokens = 512;
  auto body = anthropic::build_request(r, "claude-sonnet-4-6", false);
  auto expected = parse(R"({
    "model": "claude-sonnet-4-6",
    "max_tokens": 512,
    "system": "You are an agent.\n\nBe brief.",
    "messages": [
      {"role": "user", "content": [{"type": "text", "text": "failing: a,b"}]},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Fixing both."},
        {"type": "tool_use", "id": "toolu_1", "name": "fix", "input": {"name": "a"}},
        {"type": "tool_use", "id": "toolu_2", "name": "fix", "input": {"name": "b"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "fixed a"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "fixed b"},
        {"type": "text", "text": "Now check."}]}],
    "tools": [{"name": "fix", "description": "Fix one failing test.",
               "input_schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}],
    "tool_choice": {"type": "auto"}
  })");
  BOOST_TEST(json::value(body) == expected, json::serialize(body));
}

BOOST_AUTO_TEST_CASE(request_options) {
  CompletionRequest r;
  r.messages = {ChatMessage{"user", "hi", {}, {}}};
  r.tools = fix_schema();
  r.temperature = 0.0;
  r.parallel_tool_calls = false;
  struct Case {
    std::string choice;
    char const* expected;
  };
  for (auto const& c : {Case{"auto", R"({"type":"auto","disable_parallel_tool_use":true})"},
                        Case{"required", R"({"type":"any","disable_parallel_tool_use":true})"},
                        Case{"none", R"({"type":"none"})"},
                        Case{"fix", R"({"type":"tool","name":"fix","disable_parallel_tool_use":true})"}}) {
    r.tool_choice = c.choice;
    auto body = anthropic::build_request(r, "m", true);
    BOOST_TEST(body.at("tool_choice") == parse(c.expected), c.choice);
    BOOST_TEST(body.at("stream") == true);
    BOOST_TEST(body.at("temperature") == 0.0);
    BOOST_TEST(!body.contains("system"));
  }
  r.tools.clear();
  auto plain = anthropic::build_request(r, "m", false);
  BOOST_TEST(!plain.contains("tools"));
  BOOST_TEST(!plain.contains("tool_choice"));
  BOOST_TEST(!plain.contains("stream"));
}

BOOST_AUTO_TEST_CASE(calls_without_ids_and_raw_arguments) {
  CompletionRequest r;
  r.messages = {ChatMessage{"user", "go", {}, {}},
                ChatMessage{"assistant", "", {ToolCall{{}, "fix", json::object{}}, ToolCall{{}, "fix", json::string("[1")}}, {}},
                ChatMessage{"tool", "ok", {}, {}}};
  auto body = anthropic::build_request(r, "m", false);
  auto const& m = body.at("messages").as_array();
  BOOST_TEST_REQUIRE(m.size() == 3u);
  auto const& assistant = m[1].at("content").as_array();
  BOOST_TEST_REQUIRE(assistant.size() == 2u);
  BOOST_TEST(assistant[0].at("type") == "tool_use");
  BOOST_TEST(!assistant[0].at("id").as_string().empty());
  // Raw arguments cannot be a tool_use input: they are told back as text.
  BOOST_TEST(assistant[1].at("type") == "text");
  BOOST_TEST(assistant[1].at("text").as_string().find("[1") != json::string::npos);
  BOOST_TEST(m[2].at("content").at(0).at("tool_use_id") == assistant[0].at("id"));
}

BOOST_AUTO_TEST_CASE(response_with_text_and_tool_use) {
  auto c = anthropic::parse_response(R"({
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
    "content": [
      {"type": "thinking", "thinking": "hmm", "signature": "x"},
      {"type": "text", "text": "I'll fix a."},
      {"type": "tool_use", "id": "toolu_01", "name": "fix", "input": {"name": "a"}},
      {"type": "tool_use", "id": "toolu_02", "name": "fix", "input": "{\"name\":\"b\"}"},
      {"type": "tool_use", "id": "toolu_03", "name": "fix", "input": [1]}],
    "stop_reason": "tool_use", "stop_sequence": null,
    "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 5,
              "cache_read_input_tokens": 10}})");
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST(c.value().text == "I'll fix a.");
  BOOST_TEST(c.value().response_id == "msg_01");
  BOOST_TEST(c.value().model == "claude-sonnet-4-6");
  BOOST_TEST(c.value().finish_reason == "tool_calls");
  BOOST_TEST(c.value().usage.input_tokens == 2110u);
  BOOST_TEST(c.value().usage.output_tokens == 503u);
  BOOST_TEST_REQUIRE(c.value().tool_calls.size() == 3u);
  BOOST_TEST(c.value().tool_calls[0].id == "toolu_01");
  BOOST_TEST(c.value().tool_calls[0].args == parse(R"({"name":"a"})"));
  // Non-object inputs are kept as they came, for validation to reject.
  BOOST_TEST(c.value().tool_calls[1].args == json::string(R"({"name":"b"})"));
  BOOST_TEST(c.value().tool_calls[2].args == parse("[1]"));
}

BOOST_AUTO_TEST_CASE(stop_reasons_are_normalised) {
  BOOST_TEST(anthropic::normalize_stop_reason("end_turn") == "stop");
  BOOST_TEST(anthropic::normalize_stop_reason("stop_sequence") == "stop");
  BOOST_TEST(anthropic::normalize_stop_reason("tool_use") == "tool_calls");
  BOOST_TEST(anthropic::normalize_stop_reason("max_tokens") == "length");
  BOOST_TEST(anthropic::normalize_stop_reason("refusal") == "content_filter");
  BOOST_TEST(anthropic::normalize_stop_reason("pause_turn") == "pause_turn");
}

BOOST_AUTO_TEST_CASE(malformed_responses_are_bad_response_errors) {
  for (std::string body : {"", "<html>", "7", "{}", R"({"content":{}})", R"({"content":[1]})",
                           R"({"content":[{"text":"x"}]})", R"({"content":[{"type":"text","text":3}]})",
                           R"({"content":[{"type":"tool_use","id":"t","input":{}}]})",
                           R"({"type":"error"})"}) {
    auto c = anthropic::parse_response(body);
    BOOST_TEST_REQUIRE(c.has_error(), body);
    BOOST_TEST((c.error() == Errc::llm_bad_response), body);
  }
  auto e = anthropic::parse_response(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  BOOST_TEST_REQUIRE(e.has_error());
  BOOST_TEST((e.error() == Errc::llm_server_error));
  BOOST_TEST(e.error().message == "anthropic: error in response (overloaded_error): Overloaded");
}

BOOST_AUTO_TEST_CASE(error_bodies_map_to_codes) {
  auto body = [](std::string type, std::string message, std::string details = {}) {
    return R"({"type":"error","error":{"type":")" + type + R"(","message":")" + message + "\"" +
           (details.empty() ? "" : R"(,"details":{"error_code":")" + details + "\"}") + R"(},"request_id":"req_1"})";
  };
  struct Case {
    unsigned status;
    std::string body;
    Errc code;
    bool retry;
  };
  std::vector<Case> cases = {
      {400, body("invalid_request_error", "messages: roles must alternate"), Errc::llm_request_rejected, false},
      {401, body("authentication_error", "invalid x-api-key"), Errc::llm_auth_failed, false},
      {402, body("billing_error", "payment required"), Errc::llm_request_rejected, false},
      {403, body("permission_error", "no access"), Errc::llm_auth_failed, false},
      {404, body("not_found_error", "model: nope"), Errc::llm_request_rejected, false},
      {413, body("request_too_large", "too big"), Errc::llm_request_rejected, false},
      {429, body("rate_limit_error", "slow down"), Errc::llm_rate_limited, true},
      {429, body("rate_limit_error", "limit", "enforced_spend_limit_reached"), Errc::llm_request_rejected, false},
      {500, body("api_error", "internal"), Errc::llm_server_error, true},
      {529, body("overloaded_error", "Overloaded"), Errc::llm_server_error, true},
      {502, "<html>bad gateway</html>", Errc::llm_server_error, true},
  };
  for (auto const& c : cases) {
    auto e = anthropic::error_from(c.status, c.body);
    BOOST_TEST((e == c.code), c.status << ' ' << e.message);
    BOOST_TEST(anthropic::retryable(c.status, c.body) == c.retry, c.status);
  }
  BOOST_TEST(anthropic::error_from(529, body("overloaded_error", "Overloaded")).message ==
             "anthropic: HTTP 529 (overloaded_error): Overloaded");
}

BOOST_AUTO_TEST_CASE(stream_reassembles_text_and_tool_input) {
  std::vector<StreamDelta> deltas;
  auto c = assemble(tool_stream, tool_stream.size(), &deltas);
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST(c.value().text == "Fixing a.");
  BOOST_TEST(c.value().response_id == "msg_1");
  BOOST_TEST(c.value().model == "claude-sonnet-4-6");
  BOOST_TEST(c.value().finish_reason == "tool_calls");
  BOOST_TEST(c.value().usage.input_tokens == 572u);
  BOOST_TEST(c.value().usage.output_tokens == 89u);
  BOOST_TEST_REQUIRE(c.value().tool_calls.size() == 1u);
  BOOST_TEST(c.value().tool_calls[0].id == "toolu_1");
  BOOST_TEST(c.value().tool_calls[0].args == parse(R"({"name":"a"})"));

  using K = StreamDelta::Kind;
  BOOST_TEST_REQUIRE(deltas.size() == 5u);
  BOOST_TEST((deltas[0].kind == K::text));
  BOOST_TEST(deltas[0].text == "Fixing ");
  BOOST_TEST((deltas[2].kind == K::tool_call_start));
  BOOST_TEST(deltas[2].index == 0u);  // the first call, though content block 1
  BOOST_TEST(deltas[2].name == "fix");
  BOOST_TEST(deltas[2].id == "toolu_1");
  BOOST_TEST((deltas[3].kind == K::tool_call_args));
  BOOST_TEST(deltas[3].text + deltas[4].text == R"({"name": "a"})");

  for (std::size_t step : {1u, 3u, 50u}) {
    auto again = assemble(tool_stream, step);
    BOOST_TEST_REQUIRE(again.has_value(), step);
    BOOST_TEST(again.value().tool_calls.at(0).args == parse(R"({"name":"a"})"));
  }
}

BOOST_AUTO_TEST_CASE(stream_tool_input_without_deltas_and_not_an_object) {
  std::string s =
      ev("message_start", R"({"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1}}})") +
      ev("content_block_start",
         R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"a","name":"noargs","input":{}}})") +
      ev("content_block_stop", R"({"type":"content_block_stop","index":0})") +
      ev("content_block_start",
         R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"b","name":"fix","input":{}}})") +
      ev("content_block_delta",
         R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"a\""}})") +
      ev("content_block_stop", R"({"type":"content_block_stop","index":1})") +
      ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":5}})") +
      ev("message_stop", R"({"type":"message_stop"})");
  auto c = assemble(s, 11);
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST_REQUIRE(c.value().tool_calls.size() == 2u);
  BOOST_TEST(c.value().tool_calls[0].args == json::object{});
  BOOST_TEST(c.value().tool_calls[1].args == json::string("\"a\""));
}

BOOST_AUTO_TEST_CASE(stream_failures) {
  auto cut = assemble(tool_stream.substr(0, tool_stream.find("event: message_delta")), 64);
  BOOST_TEST_REQUIRE(cut.has_error());
  BOOST_TEST((cut.error() == Errc::llm_bad_response));

  auto overloaded = assemble(ev("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"), 8);
  BOOST_TEST_REQUIRE(overloaded.has_error());
  BOOST_TEST((overloaded.error() == Errc::llm_server_error));

  auto garbage = assemble(ev("content_block_delta", "{nope"), 8);
  BOOST_TEST_REQUIRE(garbage.has_error());
  BOOST_TEST((garbage.error() == Errc::llm_bad_response));

  // Unknown events are ignored; a stop reason without message_stop is whole.
  auto lenient = assemble(ev("future_event", R"({"type":"future_event"})") +
                              ev("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn"}})"),
                          8);
  BOOST_TEST_REQUIRE(lenient.has_value(), why(lenient));
  BOOST_TEST(lenient.value().finish_reason == "stop");
}

BOOST_AUTO_TEST_SUITE_END()
