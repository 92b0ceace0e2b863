// The OpenAI Chat Completions protocol: request bodies, responses, streams,
// error bodies — all without a network.
#include <leash/llm/openai.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"

#include <leash/llm/sse.hpp>

#include <string>
#include <vector>

namespace test_llm_openai {

namespace json = leash::json;
using leash::Errc;
using leash::ToolCall;
using leash::llm::ChatMessage;
using leash::llm::CompletionRequest;
using leash::llm::StreamDelta;
namespace openai = leash::llm::openai;

json::value parse(std::string_view s) { return json::parse(s); }

using leash_test::why;

json::array fix_schema() {
  return json::array{json::object{
      {"name", "fix"},
      {"description", "Fix one failing test."},
      {"input_schema", json::object{{"type", "object"},
                                    {"properties", json::object{{"name", json::object{{"type", "string"}}}}},
                                    {"required", json::array{"name"}},
                                    {"additionalProperties", false}}}}};
}

CompletionRequest conversation() {
  CompletionRequest r;
  r.messages = {
      ChatMessage{"system", "You are an agent.", {}, {}},
      ChatMessage{"user", "failing: a,b", {}, {}},
      ChatMessage{"assistant", "",
                  {ToolCall{"call_1", "fix", json::object{{"name", "a"}}},
                   ToolCall{"call_2", "fix", json::string("{not json")}},
                  {}},
      ChatMessage{"tool", "fixed a", {}, "call_1"},
      ChatMessage{"tool", "error: invalid arguments", {}, "call_2"},
  };
  r.tools = fix_schema();
  r.max_tokens = 300;
  r.temperature = 0.25;
  return r;
}

/// Feeds an SSE stream (as the server would send it) through the parser and
/// the assembler, in pieces of `step` bytes.
leash::result<leash::llm::Completion> assemble(std::string const& stream, std::size_t step,
                                               std::vector<StreamDelta>* deltas = nullptr) {
  leash::llm::SseParser sse;
  openai::StreamAssembler a;
  leash::result<void> status = leash::success();
  auto on_delta = [&](StreamDelta const& d) {
    if (deltas) deltas->push_back(d);
  };
  for (std::size_t i = 0; i < stream.size() && status; i += step)
    sse.feed(std::string_view(stream).substr(i, step), [&](leash::llm::SseEvent const& e) {
      if (status) status = a.feed(e.data, on_delta);
    });
  if (!status) return status.error();
  return a.finish();
}

std::string const tool_stream =
    "data: {\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me \"},\"finish_reason\":null}],"
    "\"usage\":null}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"fix both.\"}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\","
    "\"type\":\"function\",\"function\":{\"name\":\"fix\",\"arguments\":\"\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"{\\\"na\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\","
    "\"type\":\"function\",\"function\":{\"name\":\"fix\",\"arguments\":\"{\\\"name\\\":\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"me\\\":\\\"a\\\"}\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
    "\"function\":{\"arguments\":\"\\\"b\\\"}\"}}]}}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-9\",\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":33,"
    "\"total_tokens\":153}}\n\n"
    "data: [DONE]\n\n";

}  // namespace test_llm_openai

using namespace test_llm_openai;

BOOST_AUTO_TEST_SUITE(llm_openai)

BOOST_AUTO_TEST_CASE(request_body_maps_every_message_kind) {
  auto body = openai::build_request(conversation(), "gpt-4o-mini", false);
  auto expected = parse(R"({
    "model": "gpt-4o-mini",
    "messages": [
      {"role": "system", "content": "You are an agent."},
      {"role": "user", "content": "failing: a,b"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "fix", "arguments": "{\"name\":\"a\"}"}},
        {"id": "call_2", "type": "function", "function": {"name": "fix", "arguments": "{not json"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "fixed a"},
      {"role": "tool", "tool_call_id": "call_2", "content": "error: invalid arguments"}],
    "max_completion_tokens": 300,
    "temperature": 0.25,
    "tools": [{"type": "function", "function": {"name": "fix", "description": "Fix one failing test.",
      "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
                     "additionalProperties": false}}}],
    "tool_choice": "auto",
    "parallel_tool_calls": true
  })");
  BOOST_TEST(json::value(body) == expected, json::serialize(body));
}

BOOST_AUTO_TEST_CASE(request_options) {
  auto r = conversation();
  r.tool_choice = "fix";
  r.parallel_tool_calls = false;
  r.temperature.reset();
  auto body = openai::build_request(r, "local", true, openai::MaxTokensField::max_tokens);
  BOOST_TEST(body.at("tool_choice") == parse(R"({"type":"function","function":{"name":"fix"}})"));
  BOOST_TEST(body.at("parallel_tool_calls") == false);
  BOOST_TEST(body.at("max_tokens") == 300);
  BOOST_TEST(!body.contains("max_completion_tokens"));
  BOOST_TEST(!body.contains("temperature"));
  BOOST_TEST(body.at("stream") == true);
  BOOST_TEST(body.at("stream_options") == parse(R"({"include_usage":true})"));

  for (std::string choice : {"none", "required"}) {
    r.tool_choice = choice;
    BOOST_TEST(openai::build_request(r, "m", false).at("tool_choice") == json::value(choice));
  }

  // No tools: no tools, tool_choice or parallel_tool_calls (the API refuses them alone).
  r.tools.clear();
  auto plain = openai::build_request(r, "m", false);
  BOOST_TEST(!plain.contains("tools"));
  BOOST_TEST(!plain.contains("tool_choice"));
  BOOST_TEST(!plain.contains("parallel_tool_calls"));
}

BOOST_AUTO_TEST_CASE(calls_without_ids_get_ids_their_results_follow) {
  CompletionRequest r;
  r.messages = {ChatMessage{"assistant", "two calls", {ToolCall{{}, "fix", json::object{}}, ToolCall{{}, "fix", json::object{}}}, {}},
                ChatMessage{"tool", "first", {}, {}}, ChatMessage{"tool", "second", {}, {}}};
  auto body = openai::build_request(r, "m", false);
  auto const& m = body.at("messages").as_array();
  BOOST_TEST(m[0].at("content") == "two calls");
  auto id0 = m[0].at("tool_calls").at(0).at("id");
  auto id1 = m[0].at("tool_calls").at(1).at("id");
  BOOST_TEST(id0 != id1);
  BOOST_TEST(m[1].at("tool_call_id") == id0);
  BOOST_TEST(m[2].at("tool_call_id") == id1);
}

BOOST_AUTO_TEST_CASE(response_with_text_and_tool_calls) {
  auto c = openai::parse_response(R"({
    "id": "chatcmpl-123", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
      "content": "Fixing.", "tool_calls": [
        {"id": "call_x", "type": "function", "function": {"name": "fix", "arguments": "{\"name\": \"a\"}"}},
        {"id": "call_y", "type": "function", "function": {"name": "fix", "arguments": "[\"a\"]"}},
        {"id": "call_z", "type": "function", "function": {"name": "fix", "arguments": "{\"name\": \"b\""}},
        {"id": "call_w", "type": "function", "function": {"name": "noargs", "arguments": ""}}]}}],
    "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}})");
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST(c.value().text == "Fixing.");
  BOOST_TEST(c.value().response_id == "chatcmpl-123");
  BOOST_TEST(c.value().model == "gpt-4o-2024-08-06");
  BOOST_TEST(c.value().finish_reason == "tool_calls");
  BOOST_TEST(c.value().usage.input_tokens == 50u);
  BOOST_TEST(c.value().usage.output_tokens == 12u);
  BOOST_TEST_REQUIRE(c.value().tool_calls.size() == 4u);
  BOOST_TEST(c.value().tool_calls[0].id == "call_x");
  BOOST_TEST(c.value().tool_calls[0].args == parse(R"({"name":"a"})"));
  // Valid JSON that is not an object, and invalid JSON: kept raw, never dropped.
  BOOST_TEST(c.value().tool_calls[1].args == json::string("[\"a\"]"));
  BOOST_TEST(c.value().tool_calls[2].args == json::string("{\"name\": \"b\""));
  BOOST_TEST(c.value().tool_calls[3].args == json::object{});
}

BOOST_AUTO_TEST_CASE(response_variants_of_compatible_servers) {
  // content null, no usage, arguments as an object, content as parts, refusal.
  auto c = openai::parse_response(R"({"choices":[{"message":{"content":null,"tool_calls":[
      {"function":{"name":"fix","arguments":{"name":"a"}}}]},"finish_reason":"function_call"}]})");
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST(c.value().text.empty());
  BOOST_TEST(c.value().finish_reason == "tool_calls");
  BOOST_TEST(c.value().usage.input_tokens == 0u);
  BOOST_TEST(c.value().tool_calls.at(0).args == parse(R"({"name":"a"})"));
  BOOST_TEST(c.value().tool_calls.at(0).id.empty());

  auto parts = openai::parse_response(
      R"({"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]})");
  BOOST_TEST_REQUIRE(parts.has_value());
  BOOST_TEST(parts.value().text == "ab");

  auto refusal = openai::parse_response(R"({"choices":[{"message":{"content":null,"refusal":"I can't."},"finish_reason":"stop"}]})");
  BOOST_TEST_REQUIRE(refusal.has_value());
  BOOST_TEST(refusal.value().text == "I can't.");
}

BOOST_AUTO_TEST_CASE(malformed_responses_are_bad_response_errors) {
  for (std::string body : {"", "not json", "[1,2]", "{}", R"({"choices":[]})", R"({"choices":"x"})",
                           R"({"choices":[1]})", R"({"choices":[{"finish_reason":"stop"}]})",
                           R"({"choices":[{"message":{"content":5}}]})",
                           R"({"choices":[{"message":{"content":"x","tool_calls":{}}}]})",
                           R"({"choices":[{"message":{"content":"x","tool_calls":[{"function":{"arguments":"{}"}}]}}]})",
                           R"({"choices":[{"message":{"content":"x","tool_calls":[7]}}]})"}) {
    auto c = openai::parse_response(body);
    BOOST_TEST_REQUIRE(c.has_error(), body);
    BOOST_TEST((c.error() == Errc::llm_bad_response), body);
    BOOST_TEST(c.error().message.find("openai: malformed response") == 0u, c.error().message);
  }
  // A 200 carrying an error object is that error.
  auto e = openai::parse_response(R"({"error":{"message":"model overloaded","type":"server_error"}})");
  BOOST_TEST_REQUIRE(e.has_error());
  BOOST_TEST((e.error() == Errc::llm_server_error));
  BOOST_TEST(e.error().message.find("model overloaded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(error_bodies_map_to_codes) {
  auto body = [](std::string code, std::string message) {
    return R"({"error":{"message":")" + message + R"(","type":"x","param":null,"code":")" + code + R"("}})";
  };
  struct Case {
    unsigned status;
    std::string body;
    Errc code;
    bool retry;
  };
  std::vector<Case> cases = {
      {401, body("invalid_api_key", "Incorrect API key provided: sk-ab***yz."), Errc::llm_auth_failed, false},
      {403, body("", "Country not supported"), Errc::llm_auth_failed, false},
      {429, body("rate_limit_exceeded", "Rate limit reached"), Errc::llm_rate_limited, true},
      {429, body("insufficient_quota", "You exceeded your current quota"), Errc::llm_request_rejected, false},
      {400, body("context_length_exceeded", "too long"), Errc::llm_request_rejected, false},
      {404, body("model_not_found", "The model does not exist"), Errc::llm_request_rejected, false},
      {422, "{\"detail\":\"bad field\"}", Errc::llm_request_rejected, false},
      {500, body("", "The server had an error"), Errc::llm_server_error, true},
      {503, "upstream connect error", Errc::llm_server_error, true},
      {408, "", Errc::llm_server_error, true},
      {409, "", Errc::llm_server_error, true},
  };
  for (auto const& c : cases) {
    auto e = openai::error_from(c.status, c.body);
    BOOST_TEST((e == c.code), c.status << ' ' << e.message);
    BOOST_TEST(e.message.find("HTTP " + std::to_string(c.status)) != std::string::npos, e.message);
    BOOST_TEST(openai::retryable(c.status, c.body) == c.retry, c.status << ' ' << c.body);
  }
  auto quota = openai::error_from(429, body("insufficient_quota", "You exceeded your current quota"));
  BOOST_TEST(quota.message == "openai: HTTP 429 (insufficient_quota): You exceeded your current quota");
  BOOST_TEST(openai::error_from(422, "{\"detail\":\"bad field\"}").message.find("bad field") != std::string::npos);
  BOOST_TEST(openai::error_from(503, "upstream connect error").message.find("upstream connect error") != std::string::npos);
  // Long bodies are cut short.
  BOOST_TEST(openai::error_from(500, std::string(5000, 'x')).message.size() < 600u);
}

BOOST_AUTO_TEST_CASE(stream_reassembles_text_and_split_tool_arguments) {
  std::vector<StreamDelta> deltas;
  auto c = assemble(tool_stream, tool_stream.size(), &deltas);
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST(c.value().text == "Let me fix both.");
  BOOST_TEST(c.value().response_id == "chatcmpl-9");
  BOOST_TEST(c.value().model == "gpt-4o-mini-2024-07-18");
  BOOST_TEST(c.value().finish_reason == "tool_calls");
  BOOST_TEST(c.value().usage.input_tokens == 120u);
  BOOST_TEST(c.value().usage.output_tokens == 33u);
  BOOST_TEST_REQUIRE(c.value().tool_calls.size() == 2u);
  BOOST_TEST(c.value().tool_calls[0].id == "call_a");
  BOOST_TEST(c.value().tool_calls[0].args == parse(R"({"name":"a"})"));
  BOOST_TEST(c.value().tool_calls[1].id == "call_b");
  BOOST_TEST(c.value().tool_calls[1].args == parse(R"({"name":"b"})"));

  // Deltas in arrival order: text, text, start 0, args 0, start 1, args 1, args 0, args 1.
  using K = StreamDelta::Kind;
  std::vector<std::pair<K, std::size_t>> order;
  for (auto const& d : deltas) order.emplace_back(d.kind, d.index);
  std::vector<std::pair<K, std::size_t>> expected = {{K::text, 0},           {K::text, 0},
                                                     {K::tool_call_start, 0}, {K::tool_call_args, 0},
                                                     {K::tool_call_start, 1}, {K::tool_call_args, 1},
                                                     {K::tool_call_args, 0},  {K::tool_call_args, 1}};
  BOOST_TEST_REQUIRE(order.size() == expected.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    BOOST_TEST((order[i].first == expected[i].first), i);
    BOOST_TEST(order[i].second == expected[i].second, i);
  }
  BOOST_TEST(deltas[2].id == "call_a");
  BOOST_TEST(deltas[2].name == "fix");
  std::string args0;
  for (auto const& d : deltas)
    if (d.kind == K::tool_call_args && d.index == 0) args0 += d.text;
  BOOST_TEST(args0 == R"({"name":"a"})");

  // Any chunking of the bytes gives the same completion.
  for (std::size_t step : {1u, 2u, 7u, 64u}) {
    auto again = assemble(tool_stream, step);
    BOOST_TEST_REQUIRE(again.has_value(), step);
    BOOST_TEST(again.value().text == c.value().text);
    BOOST_TEST(again.value().tool_calls.size() == 2u);
  }
}

BOOST_AUTO_TEST_CASE(stream_tool_arguments_that_are_not_an_object_are_kept_raw) {
  std::string s =
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"fix\","
      "\"arguments\":\"[1,\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"2]\"}}]},"
      "\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: [DONE]\n\n";
  auto c = assemble(s, 5);
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST(c.value().tool_calls.at(0).args == json::string("[1,2]"));
}

BOOST_AUTO_TEST_CASE(stream_without_index_from_older_servers) {
  std::string s =
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"fix\",\"arguments\":\"{}\"}},"
      "{\"id\":\"b\",\"function\":{\"name\":\"fix\",\"arguments\":\"{\\\"name\\\":\\\"x\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: [DONE]\n\n";
  auto c = assemble(s, s.size());
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST_REQUIRE(c.value().tool_calls.size() == 2u);
  BOOST_TEST(c.value().tool_calls[1].args == parse(R"({"name":"x"})"));
}

BOOST_AUTO_TEST_CASE(stream_failures) {
  // Cut short: no finish_reason, no [DONE].
  auto cut = assemble("data: {\"choices\":[{\"delta\":{\"content\":\"hel\"}}]}\n\n", 100);
  BOOST_TEST_REQUIRE(cut.has_error());
  BOOST_TEST((cut.error() == Errc::llm_bad_response));
  // A finish_reason without [DONE] is a whole reply (some servers close early).
  auto early = assemble("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\n", 100);
  BOOST_TEST_REQUIRE(early.has_value());
  BOOST_TEST(early.value().text == "hi");
  // Garbage in a data line.
  auto garbage = assemble("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {oops\n\n", 100);
  BOOST_TEST_REQUIRE(garbage.has_error());
  BOOST_TEST((garbage.error() == Errc::llm_bad_response));
  BOOST_TEST(garbage.error().message.find("{oops") != std::string::npos);
  // An error object in the stream.
  auto error = assemble("data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n", 100);
  BOOST_TEST_REQUIRE(error.has_error());
  BOOST_TEST((error.error() == Errc::llm_server_error));
  // A tool call piece that never names its function.
  auto nameless = assemble(
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]},"
      "\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n",
      100);
  BOOST_TEST_REQUIRE(nameless.has_error());
  BOOST_TEST((nameless.error() == Errc::llm_bad_response));
}

BOOST_AUTO_TEST_SUITE_END()
