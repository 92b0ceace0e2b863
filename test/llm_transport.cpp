// The network transports end to end, against the in-process loopback server
// (test/http_server.hpp): what the server received, what came back, streams,
// faults and retries, make_transport(), whole loops, and the key's secrecy.
#include <leash/llm/make_transport.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"

#include <leash/llm.hpp>

#include "http_server.hpp"
#include "support.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace test_llm_transport {

using namespace std::chrono_literals;
namespace json = leash::json;
namespace openai = leash::llm::openai;
namespace anthropic = leash::llm::anthropic;
using leash::Errc;
using leash::Status;
using leash::llm::AnyTransport;
using leash::llm::ChatMessage;
using leash::llm::Completion;
using leash::llm::CompletionRequest;
using leash::llm::StreamDelta;
using leash::llm::TransportOptions;
using leash_test::Chunk;
using leash_test::HttpServer;
using leash_test::ReceivedRequest;
using leash_test::Reply;
using leash_test::run_sync;

std::string const key = "sk-leash-test-SECRET-7f3a9c";

using leash_test::why;

/// Fast retries: tests stay quick and deterministic.
TransportOptions fast(std::string api_key = key) {
  TransportOptions o;
  o.api_key = std::move(api_key);
  o.retry.max_attempts = 3;
  o.retry.base_delay = 1ms;
  o.retry.max_delay = 20ms;
  o.retry.seed = 7;
  o.connect_timeout = 2s;
  o.request_timeout = 5s;
  return o;
}

AnyTransport compatible(HttpServer const& server, TransportOptions o = fast()) {
  return leash::llm::make_transport("openai-compatible:" + server.url("/v1") + "#local-model", std::move(o)).value();
}

AnyTransport claude(HttpServer const& server, TransportOptions o = fast()) {
  o.base_url = server.url("");
  return leash::llm::make_transport("anthropic:claude-sonnet-4-6", std::move(o)).value();
}

json::array fix_schema() { return leash_test::FixTools::schemas(); }

CompletionRequest fix_request() {
  CompletionRequest r;
  r.messages = {ChatMessage{"system", "You fix tests.", {}, {}}, ChatMessage{"user", "failing: a", {}, {}}};
  r.tools = fix_schema();
  r.max_tokens = 200;
  return r;
}

/// A chat.completion with one call of `fix` whose arguments are `arguments` (a JSON text).
std::string openai_call(std::string const& arguments, std::string const& id = "call_1") {
  json::object call{{"id", id},
                    {"type", "function"},
                    {"function", json::object{{"name", "fix"}, {"arguments", arguments}}}};
  json::object body{
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"model", "local-model"},
      {"choices", json::array{json::object{{"index", 0},
                                           {"message", json::object{{"role", "assistant"},
                                                                    {"content", nullptr},
                                                                    {"tool_calls", json::array{call}}}},
                                           {"finish_reason", "tool_calls"}}}},
      {"usage", json::object{{"prompt_tokens", 100}, {"completion_tokens", 12}, {"total_tokens", 112}}}};
  return json::serialize(body);
}

std::string openai_text(std::string const& text) {
  json::object body{{"id", "chatcmpl-2"},
                    {"model", "local-model"},
                    {"choices", json::array{json::object{{"index", 0},
                                                         {"message", json::object{{"role", "assistant"}, {"content", text}}},
                                                         {"finish_reason", "stop"}}}},
                    {"usage", json::object{{"prompt_tokens", 90}, {"completion_tokens", 5}}}};
  return json::serialize(body);
}

std::string anthropic_call(std::string const& name_arg, std::string const& id = "toolu_1") {
  json::object body{
      {"id", "msg_1"},
      {"type", "message"},
      {"role", "assistant"},
      {"model", "claude-sonnet-4-6"},
      {"content", json::array{json::object{{"type", "text"}, {"text", "Fixing " + name_arg + "."}},
                              json::object{{"type", "tool_use"},
                                           {"id", id},
                                           {"name", "fix"},
                                           {"input", json::object{{"name", name_arg}}}}}},
      {"stop_reason", "tool_use"},
      {"usage", json::object{{"input_tokens", 150}, {"output_tokens", 20}}}};
  return json::serialize(body);
}

Reply openai_error(unsigned status, std::string code, std::string message) {
  return Reply::json(
      json::serialize(json::object{{"error", json::object{{"message", message}, {"type", "x"}, {"code", code}}}}),
      status);
}

/// Splits `s` into chunks of `step` bytes (mid-line, mid-token: the client must not care).
std::vector<Chunk> pieces(std::string const& s, std::size_t step) {
  std::vector<Chunk> out;
  for (std::size_t i = 0; i < s.size(); i += step) out.emplace_back(s.substr(i, step));
  return out;
}

std::string sse(std::string_view data) { return "data: " + std::string(data) + "\n\n"; }
std::string sse(std::string_view event, std::string_view data) {
  return "event: " + std::string(event) + "\ndata: " + std::string(data) + "\n\n";
}

std::string const openai_stream =
    sse(R"({"id":"chatcmpl-s","model":"local-model","choices":[{"index":0,"delta":{"role":"assistant","content":"On "},"finish_reason":null}]})") +
    sse(R"({"id":"chatcmpl-s","choices":[{"index":0,"delta":{"content":"it."}}]})") +
    sse(R"({"id":"chatcmpl-s","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_s","type":"function","function":{"name":"fix","arguments":""}}]}}]})") +
    sse(R"({"id":"chatcmpl-s","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"na"}}]}}]})") +
    sse(R"({"id":"chatcmpl-s","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"me\": \"a"}}]}}]})") +
    sse(R"({"id":"chatcmpl-s","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"}"}}]}}]})") +
    sse(R"({"id":"chatcmpl-s","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})") +
    sse(R"({"id":"chatcmpl-s","choices":[],"usage":{"prompt_tokens":80,"completion_tokens":9}})") + sse("[DONE]");

std::string const anthropic_stream =
    sse("message_start", R"({"type":"message_start","message":{"id":"msg_s","model":"claude-sonnet-4-6","usage":{"input_tokens":70,"output_tokens":1}}})") +
    sse("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})") +
    sse("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"On it."}})") +
    sse("content_block_stop", R"({"type":"content_block_stop","index":0})") +
    sse("ping", R"({"type":"ping"})") +
    sse("content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_s","name":"fix","input":{}}})") +
    sse("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"name\""}})") +
    sse("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":": \"a\"}"}})") +
    sse("content_block_stop", R"({"type":"content_block_stop","index":1})") +
    sse("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":15}})") +
    sse("message_stop", R"({"type":"message_stop"})");

/// Sets (or, with nullptr, unsets) an environment variable for one scope.
struct EnvVar {
  std::string name;
  std::optional<std::string> old;
  EnvVar(std::string n, char const* value) : name(std::move(n)) {
    if (char const* o = std::getenv(name.c_str())) old = o;
    if (value)
      ::setenv(name.c_str(), value, 1);
    else
      ::unsetenv(name.c_str());
  }
  ~EnvVar() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

using Agent = leash::Loop<leash::LlmPlanner, leash_test::FixTools>;

}  // namespace test_llm_transport

using namespace test_llm_transport;

BOOST_AUTO_TEST_SUITE(llm_transport)

// ---- make_transport -------------------------------------------------------

BOOST_AUTO_TEST_CASE(specs) {
  EnvVar no_openai("OPENAI_API_KEY", nullptr), no_anthropic("ANTHROPIC_API_KEY", nullptr);
  EnvVar no_openai_url("OPENAI_BASE_URL", nullptr), no_anthropic_url("ANTHROPIC_BASE_URL", nullptr);

  struct Bad {
    std::string spec;
    std::string says;
  };
  for (auto const& b : {Bad{"gpt-4o", "expected SCHEME:"}, Bad{"openai:", "no model"},
                        Bad{"anthropic:", "no model"}, Bad{"openai:gpt-4o", "no API key: set OPENAI_API_KEY"},
                        Bad{"anthropic:claude-sonnet-4-6", "no API key: set ANTHROPIC_API_KEY"},
                        Bad{"openai-compatible:http://127.0.0.1:8080/v1", "expected openai-compatible:URL#MODEL"},
                        Bad{"openai-compatible:ftp://host/v1#m", "is not an http:// or https:// URL"},
                        Bad{"openai-compatible:http://127.0.0.1:8080/v1#", "no model"},
                        Bad{"scripted:", "no file"}, Bad{"gemini:pro", "unknown scheme 'gemini'"}}) {
    auto t = leash::llm::make_transport(b.spec);
    BOOST_TEST_REQUIRE(t.has_error(), b.spec);
    BOOST_TEST((t.error() == Errc::invalid_transport_spec));
    BOOST_TEST(contains(t.error().message, "'" + b.spec + "'"), t.error().message);
    BOOST_TEST(contains(t.error().message, b.says), t.error().message);
  }

  // A password in a URL is not repeated; a key is never in a message.
  auto pw = leash::llm::make_transport("openai-compatible:http://me:hunter2@127.0.0.1/v1#");
  BOOST_TEST_REQUIRE(pw.has_error());
  BOOST_TEST(!contains(pw.error().message, "hunter2"), pw.error().message);
  TransportOptions with_key;
  with_key.api_key = key;
  with_key.base_url = "not a url";
  auto bad_base = leash::llm::make_transport("openai:gpt-4o", with_key);
  BOOST_TEST_REQUIRE(bad_base.has_error());
  BOOST_TEST(!contains(bad_base.error().message, key));

  // Keys and base URLs from the environment.
  {
    EnvVar k("OPENAI_API_KEY", "sk-env"), u("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/");
    auto t = leash::llm::make_transport("openai:gpt-4o-mini");
    BOOST_TEST_REQUIRE(t.has_value(), why(t));
    BOOST_TEST(t.value().provider() == "openai");
    BOOST_TEST(t.value().model_id() == "gpt-4o-mini");
  }
  {
    EnvVar k("ANTHROPIC_API_KEY", "sk-ant-env");
    auto t = leash::llm::make_transport("anthropic:claude-sonnet-4-6");
    BOOST_TEST_REQUIRE(t.has_value(), why(t));
    BOOST_TEST(t.value().provider() == "anthropic");
  }
  auto local = leash::llm::make_transport("openai-compatible:http://127.0.0.1:8080/v1#qwen2.5");
  BOOST_TEST_REQUIRE(local.has_value(), why(local));
  BOOST_TEST(local.value().provider() == "openai-compatible");
  BOOST_TEST(local.value().model_id() == "qwen2.5");
}

BOOST_AUTO_TEST_CASE(scripted_specs) {
  auto dir = std::filesystem::temp_directory_path();
  auto good = dir / "leash_llm_transport_good.jsonl", bad = dir / "leash_llm_transport_bad.jsonl";
  std::ofstream(good) << "{\"text\":\"hi\"}\n";
  std::ofstream(bad) << "{\"text\":\"hi\"}\n{\"text\":\n";
  auto t = leash::llm::make_transport("scripted:" + good.string() + "#gpt-4o");
  BOOST_TEST_REQUIRE(t.has_value(), why(t));
  BOOST_TEST(t.value().provider() == "scripted");
  BOOST_TEST(t.value().model_id() == "gpt-4o");
  auto reply = run_sync(t.value().complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_value());
  BOOST_TEST(reply.value().text == "hi");

  auto broken = leash::llm::make_transport("scripted:" + bad.string());
  BOOST_TEST_REQUIRE(broken.has_error());
  BOOST_TEST((broken.error() == Errc::invalid_transport_spec));
  BOOST_TEST(contains(broken.error().message, bad.string() + ":2: not JSON"), broken.error().message);
  auto missing = leash::llm::make_transport("scripted:/nonexistent/leash.jsonl");
  BOOST_TEST_REQUIRE(missing.has_error());
  BOOST_TEST(contains(missing.error().message, "cannot open /nonexistent/leash.jsonl"));
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

// ---- requests and responses -----------------------------------------------

BOOST_AUTO_TEST_CASE(openai_compatible_request_and_response) {
  HttpServer server([](ReceivedRequest const&) { return Reply::json(openai_call(R"({"name":"a"})")); });
  auto t = compatible(server);
  auto request = fix_request();
  request.temperature = 0.5;
  auto reply = run_sync(t.complete(request));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(reply.value().finish_reason == "tool_calls");
  BOOST_TEST(reply.value().usage.input_tokens == 100u);
  BOOST_TEST_REQUIRE(reply.value().tool_calls.size() == 1u);
  BOOST_TEST(reply.value().tool_calls[0].args == json::parse(R"({"name":"a"})"));
  BOOST_TEST(reply.value().raw_body.empty());

  auto got = server.requests();
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].method == "POST");
  BOOST_TEST(got[0].target == "/v1/chat/completions");
  BOOST_TEST(got[0].header("Authorization").value_or("") == "Bearer " + key);
  BOOST_TEST(contains(got[0].header("Content-Type").value_or(""), "application/json"));
  // The body, compared as JSON: an OpenAI-compatible server gets max_tokens.
  auto expected = openai::build_request(request, "local-model", false, openai::MaxTokensField::max_tokens);
  BOOST_TEST(json::parse(got[0].body) == json::value(expected), got[0].body);
  BOOST_TEST(json::parse(got[0].body).at("max_tokens") == 200);
}

BOOST_AUTO_TEST_CASE(openai_body_is_build_request_serialized_byte_for_byte,
                     *boost::unit_test::description("the body is written directly, not via a json::value: same bytes"))
{
  using leash::llm::OpenAiTransport;
  std::vector<CompletionRequest> requests;
  requests.push_back(fix_request());
  CompletionRequest full = fix_request();
  full.messages.front().content = "quotes \" and \\ backslashes,\n\tcontrol \x01 chars, / slashes, UTF-8 \xc3\xa9 \xe2\x82\xac";
  full.messages.push_back(ChatMessage{"assistant", "", {leash::ToolCall{"call_x", "fix", json::parse(R"({"name":"a\"b"})")},
                                                         leash::ToolCall{"", "fix", json::string("{not json")},
                                                         leash::ToolCall{"", "fix", nullptr}}, {}});
  full.messages.push_back(ChatMessage{"tool", "fixed a", {}, "call_x"});
  full.messages.push_back(ChatMessage{"tool", "no id", {}, {}});
  full.messages.push_back(ChatMessage{"assistant", "said and called", {leash::ToolCall{"c2", "fix", json::object{}}}, {}});
  full.temperature = 0.2;
  full.max_tokens = 123456789;
  requests.push_back(full);
  for (std::string choice : {"none", "required", "", "fix"}) {
    CompletionRequest r = full;
    r.tool_choice = choice;
    r.parallel_tool_calls = false;
    r.temperature = 1e-7;
    requests.push_back(r);
  }
  CompletionRequest no_tools = full;
  no_tools.tools = json::array{};
  no_tools.temperature.reset();
  requests.push_back(no_tools);
  CompletionRequest odd_tools = fix_request();
  odd_tools.tools = json::array{json::object{{"name", "bare"}}, json::string("not a schema"),
                                json::object{{"input_schema", json::object{{"type", "object"}}}, {"name", "late"}}};
  requests.push_back(odd_tools);

  for (auto provider : {"openai", "openai-compatible"}) {
    OpenAiTransport t("some-model", "http://127.0.0.1:1/v1", "", fast(""), provider);
    for (auto const& r : requests)
      for (bool stream : {false, true}) {
        auto expected = json::serialize(openai::build_request(r, "some-model", stream, t.max_tokens_field()));
        BOOST_TEST(t.http_request(r, stream).body == expected);
      }
  }
  // Anthropic's body goes through build_request, serialised into a body reserved once.
  leash::llm::AnthropicTransport claude_t("claude-x", "http://127.0.0.1:1", "k", fast("k"));
  for (auto const& r : requests)
    for (bool stream : {false, true})
      BOOST_TEST(claude_t.http_request(r, stream).body == json::serialize(anthropic::build_request(r, "claude-x", stream)));
}

BOOST_AUTO_TEST_CASE(json_strings_are_escaped_as_boost_json_does) {
  auto same = [](std::string const& text) {
    std::string ours;
    leash::llm::detail::append_json_string(ours, text);
    return ours == json::serialize(json::string(text));
  };
  std::string every;
  for (int c = 0; c < 256; ++c) every.push_back(static_cast<char>(c));
  BOOST_TEST(same(""));
  BOOST_TEST(same(every));
  // Each special byte at every position of a word, and runs around it.
  for (char special : {'"', '\\', '\n', '\t', '\x01', '\x1f', '\0', '\x7f', '\xc3'})
    for (std::size_t before = 0; before < 20; ++before)
      for (std::size_t after : {0u, 1u, 7u, 8u, 9u, 23u}) {
        std::string text = std::string(before, 'a') + special + std::string(after, 'b');
        BOOST_TEST(same(text), "byte " << int(static_cast<unsigned char>(special)) << " after " << before);
      }
  for (std::size_t shift = 0; shift < 9; ++shift) BOOST_TEST(same(std::string(shift, ' ') + every + every));
}

BOOST_AUTO_TEST_CASE(openai_hosted_uses_max_completion_tokens_and_keeps_raw) {
  HttpServer server([](ReceivedRequest const&) { return Reply::json(openai_text("hello")); });
  auto o = fast();
  o.base_url = server.url("/v1");
  auto t = leash::llm::make_transport("openai:gpt-4o-mini", o).value();
  auto request = fix_request();
  request.keep_raw = true;
  auto reply = run_sync(t.complete(request));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(reply.value().text == "hello");
  BOOST_TEST(reply.value().raw_body == openai_text("hello"));
  auto body = json::parse(server.requests().at(0).body);
  BOOST_TEST(body.at("max_completion_tokens") == 200);
  BOOST_TEST(!body.as_object().contains("max_tokens"));
  BOOST_TEST(body.at("model") == "gpt-4o-mini");
}

BOOST_AUTO_TEST_CASE(anthropic_request_and_response) {
  HttpServer server([](ReceivedRequest const&) { return Reply::json(anthropic_call("a")); });
  auto t = claude(server);
  auto request = fix_request();
  auto reply = run_sync(t.complete(request));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(reply.value().text == "Fixing a.");
  BOOST_TEST(reply.value().finish_reason == "tool_calls");
  BOOST_TEST(reply.value().usage.output_tokens == 20u);
  BOOST_TEST_REQUIRE(reply.value().tool_calls.size() == 1u);
  BOOST_TEST(reply.value().tool_calls[0].id == "toolu_1");

  auto got = server.requests().at(0);
  BOOST_TEST(got.target == "/v1/messages");
  BOOST_TEST(got.header("x-api-key").value_or("") == key);
  BOOST_TEST(got.header("anthropic-version").value_or("") == "2023-06-01");
  BOOST_TEST(!got.header("Authorization").has_value());
  auto expected = anthropic::build_request(request, "claude-sonnet-4-6", false);
  BOOST_TEST(json::parse(got.body) == json::value(expected), got.body);
  BOOST_TEST(json::parse(got.body).at("system") == "You fix tests.");
}

BOOST_AUTO_TEST_CASE(tool_arguments_that_are_not_an_object_are_kept_raw) {
  HttpServer server([](ReceivedRequest const&) { return Reply::json(openai_call(R"(["a"])")); });
  auto reply = run_sync(compatible(server).complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(reply.value().tool_calls.at(0).args == json::string(R"(["a"])"));
}

// ---- streaming ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(openai_stream_split_mid_token) {
  for (std::size_t step : {1u, 5u, 17u, 4096u}) {
    HttpServer server([step](ReceivedRequest const&) { return Reply::stream(pieces(openai_stream, step)); });
    std::vector<StreamDelta> deltas;
    auto reply = run_sync(compatible(server).stream(fix_request(), [&](StreamDelta const& d) { deltas.push_back(d); }));
    BOOST_TEST_REQUIRE(reply.has_value(), step << ": " << why(reply));
    BOOST_TEST(reply.value().text == "On it.");
    BOOST_TEST(reply.value().usage.input_tokens == 80u);
    BOOST_TEST(reply.value().usage.output_tokens == 9u);
    BOOST_TEST_REQUIRE(reply.value().tool_calls.size() == 1u);
    BOOST_TEST(reply.value().tool_calls[0].id == "call_s");
    BOOST_TEST(reply.value().tool_calls[0].args == json::parse(R"({"name":"a"})"));
    // In order: text, text, the call's start, its argument pieces.
    BOOST_TEST_REQUIRE(deltas.size() == 6u);
    BOOST_TEST(deltas[0].text + deltas[1].text == "On it.");
    BOOST_TEST((deltas[2].kind == StreamDelta::Kind::tool_call_start));
    BOOST_TEST(deltas[3].text + deltas[4].text + deltas[5].text == R"({"name": "a"})");
    auto body = json::parse(server.requests().at(0).body);
    BOOST_TEST(body.at("stream") == true);
    BOOST_TEST(body.at("stream_options").at("include_usage") == true);
    BOOST_TEST(server.requests().at(0).header("Accept").value_or("") == "text/event-stream");
  }
}

BOOST_AUTO_TEST_CASE(anthropic_stream_split_mid_token) {
  for (std::size_t step : {1u, 9u, 4096u}) {
    HttpServer server([step](ReceivedRequest const&) { return Reply::stream(pieces(anthropic_stream, step)); });
    std::vector<StreamDelta> deltas;
    auto reply = run_sync(claude(server).stream(fix_request(), [&](StreamDelta const& d) { deltas.push_back(d); }));
    BOOST_TEST_REQUIRE(reply.has_value(), step << ": " << why(reply));
    BOOST_TEST(reply.value().text == "On it.");
    BOOST_TEST(reply.value().usage.input_tokens == 70u);
    BOOST_TEST(reply.value().usage.output_tokens == 15u);
    BOOST_TEST(reply.value().tool_calls.at(0).args == json::parse(R"({"name":"a"})"));
    BOOST_TEST_REQUIRE(deltas.size() == 4u);
    BOOST_TEST((deltas[1].kind == StreamDelta::Kind::tool_call_start));
    BOOST_TEST(deltas[2].text + deltas[3].text == R"({"name": "a"})");
  }
}

BOOST_AUTO_TEST_CASE(stream_retried_before_any_delta_and_failed_after) {
  std::atomic<int> n{0};
  HttpServer server([&](ReceivedRequest const&) {
    if (n++ == 0) return openai_error(503, "", "warming up");
    return Reply::stream(pieces(openai_stream, 64));
  });
  auto reply = run_sync(compatible(server).stream(fix_request(), {}));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(server.request_count() == 2u);

  // A stream that stops without a finish reason or [DONE] is cut short.
  std::string cut = openai_stream.substr(0, openai_stream.find("finish_reason\":\"tool_calls"));
  cut = cut.substr(0, cut.rfind("data:"));
  HttpServer short_server([&](ReceivedRequest const&) { return Reply::stream(pieces(cut, 64)); });
  std::size_t seen = 0;
  auto shorted = run_sync(compatible(short_server).stream(fix_request(), [&](StreamDelta const&) { ++seen; }));
  BOOST_TEST_REQUIRE(shorted.has_error());
  BOOST_TEST((shorted.error() == Errc::llm_bad_response));
  BOOST_TEST(seen > 0u);
  BOOST_TEST(short_server.request_count() == 1u);

  // An error event inside a 200 stream.
  HttpServer overloaded([](ReceivedRequest const&) {
    return Reply::stream({sse("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")});
  });
  auto e = run_sync(claude(overloaded).stream(fix_request(), {}));
  BOOST_TEST_REQUIRE(e.has_error());
  BOOST_TEST((e.error() == Errc::llm_server_error));
  BOOST_TEST(contains(e.error().message, "Overloaded"));
}

BOOST_AUTO_TEST_CASE(stream_broken_after_deltas_is_not_retried) {
  // The first chunks arrive, then silence past the timeout.
  std::string head = openai_stream.substr(0, openai_stream.find("data:", 10));
  std::string tail = openai_stream.substr(head.size());
  HttpServer server([&](ReceivedRequest const&) {
    return Reply::stream({Chunk(head), Chunk(tail, 600ms)});
  });
  auto o = fast();
  o.request_timeout = 150ms;
  std::string seen;
  auto reply = run_sync(compatible(server, o).stream(fix_request(), [&](StreamDelta const& d) { seen += d.text; }));
  BOOST_TEST_REQUIRE(reply.has_error());
  BOOST_TEST((reply.error() == Errc::llm_timeout), reply.error().message);
  BOOST_TEST(contains(reply.error().message, "after the reply had begun"), reply.error().message);
  BOOST_TEST(seen == "On ");
  BOOST_TEST(server.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(stream_answered_with_one_json_document) {
  // Some compatible servers ignore "stream": the whole reply is still a reply.
  HttpServer server([](ReceivedRequest const&) { return Reply::json(openai_call(R"({"name":"a"})")); });
  std::vector<StreamDelta> deltas;
  auto reply = run_sync(compatible(server).stream(fix_request(), [&](StreamDelta const& d) { deltas.push_back(d); }));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(reply.value().tool_calls.at(0).args == json::parse(R"({"name":"a"})"));
  BOOST_TEST_REQUIRE(deltas.size() == 2u);
  BOOST_TEST((deltas[0].kind == StreamDelta::Kind::tool_call_start));
  BOOST_TEST(deltas[1].text == R"({"name":"a"})");
}

// ---- faults and retries ---------------------------------------------------

BOOST_AUTO_TEST_CASE(rate_limited_with_retry_after_then_success) {
  std::atomic<int> n{0};
  HttpServer server([&](ReceivedRequest const&) {
    if (n++ == 0) {
      Reply r = openai_error(429, "rate_limit_exceeded", "Rate limit reached");
      r.headers.emplace_back("Retry-After", "0.15");
      return r;
    }
    return Reply::json(openai_text("after the wait"));
  });
  auto o = fast();
  o.retry.max_delay = 1000ms;  // Retry-After is capped at max_delay
  auto start = std::chrono::steady_clock::now();
  auto reply = run_sync(compatible(server, o).complete(fix_request()));
  auto waited = std::chrono::steady_clock::now() - start;
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(reply.value().text == "after the wait");
  BOOST_TEST(server.request_count() == 2u);
  BOOST_TEST(waited >= 150ms);  // the server's wait, not the 1 ms backoff
}

BOOST_AUTO_TEST_CASE(retries_are_counted_on_the_completion_and_in_the_llm_call_event) {
  // 429 with Retry-After: 0 once, then 200.
  std::atomic<int> n{0};
  std::atomic<bool> slow{false};
  HttpServer server([&](ReceivedRequest const&) {
    if (n++ == 0) {
      Reply r = openai_error(429, "rate_limit_exceeded", "Rate limit reached");
      r.headers.emplace_back("Retry-After", slow ? "0.05" : "0");
      return r;
    }
    return Reply::json(openai_call(R"({"name":"a"})", "call_a"));
  });
  auto reply = run_sync(compatible(server).complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(reply.value().retries == 1u);
  BOOST_TEST(reply.value().retry_wait_s == 0.0);
  BOOST_TEST_REQUIRE(server.request_count() == 2u);
  BOOST_TEST(server.requests()[1].body == server.requests()[0].body);  // the same request, sent again

  // No retry: zero; the server's wait is what was waited.
  auto again = run_sync(compatible(server).complete(fix_request()));
  BOOST_TEST_REQUIRE(again.has_value(), why(again));
  BOOST_TEST(again.value().retries == 0u);
  BOOST_TEST(again.value().retry_wait_s == 0.0);
  n = 0;
  slow = true;
  auto patient = fast();
  patient.retry.max_delay = 1000ms;  // Retry-After is capped at max_delay
  auto waited = run_sync(compatible(server, patient).complete(fix_request()));
  BOOST_TEST_REQUIRE(waited.has_value(), why(waited));
  BOOST_TEST(waited.value().retries == 1u);
  BOOST_TEST(waited.value().retry_wait_s == 0.05, boost::test_tools::tolerance(1e-9));

  // Streamed, the same.
  n = 0;
  slow = false;
  HttpServer streaming([&](ReceivedRequest const&) {
    if (n++ == 0) {
      Reply r = openai_error(503, "overloaded", "try again");
      r.headers.emplace_back("Retry-After", "0");
      return r;
    }
    return Reply::stream(pieces(openai_stream, 40));
  });
  auto streamed = run_sync(compatible(streaming).stream(fix_request(), {}));
  BOOST_TEST_REQUIRE(streamed.has_value(), why(streamed));
  BOOST_TEST(streamed.value().retries == 1u);

  // Through LlmPlanner into the loop's llm.call event.
  n = 0;
  auto env = leash_test::make_env({"a"});
  auto sink = std::make_shared<leash::MemorySink>();
  Agent agent("fix the failing tests", leash::LlmPlanner(compatible(server)),
              leash_test::FixTools{leash_test::Fix{env}}, {}, {}, {}, leash_test::env_options(env, sink));
  auto r = agent.run();
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  BOOST_TEST((r.value().status == Status::success), r.value().reason);
  auto calls = leash_test::events_of(*sink, "llm.call");
  BOOST_TEST_REQUIRE(calls.size() == 1u);
  BOOST_TEST(calls[0].fields.at("retries").to_number<std::uint64_t>() == 1u);
  BOOST_TEST(calls[0].fields.at("retry_wait_s").to_number<double>() == 0.0);
}

BOOST_AUTO_TEST_CASE(server_error_then_success) {
  std::atomic<int> n{0};
  HttpServer server([&](ReceivedRequest const&) {
    if (n++ == 0) return Reply::json(R"({"type":"error","error":{"type":"api_error","message":"Internal"}})", 500);
    return Reply::json(anthropic_call("a"));
  });
  auto reply = run_sync(claude(server).complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(server.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(retries_exhausted_map_the_last_status) {
  HttpServer server([](ReceivedRequest const&) { return openai_error(429, "rate_limit_exceeded", "Rate limit reached for gpt"); });
  auto reply = run_sync(compatible(server).complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_error());
  BOOST_TEST((reply.error() == Errc::llm_rate_limited));
  BOOST_TEST(reply.error().message == "openai-compatible: HTTP 429 (rate_limit_exceeded): Rate limit reached for gpt");
  BOOST_TEST(server.request_count() == 3u);  // max_attempts

  HttpServer overloaded([](ReceivedRequest const&) {
    return Reply::json(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", 529);
  });
  auto e = run_sync(claude(overloaded).complete(fix_request()));
  BOOST_TEST_REQUIRE(e.has_error());
  BOOST_TEST((e.error() == Errc::llm_server_error));
  BOOST_TEST(e.error().message == "anthropic: HTTP 529 (overloaded_error): Overloaded");
  BOOST_TEST(overloaded.request_count() == 3u);
}

BOOST_AUTO_TEST_CASE(non_retryable_statuses_fail_at_once) {
  struct Case {
    Reply reply;
    Errc code;
    std::string says;
  };
  std::vector<Case> cases = {
      {openai_error(429, "insufficient_quota", "You exceeded your current quota"), Errc::llm_request_rejected, "quota"},
      {openai_error(401, "invalid_api_key", "Incorrect API key provided"), Errc::llm_auth_failed, "Incorrect API key"},
      {openai_error(400, "context_length_exceeded", "too long"), Errc::llm_request_rejected, "too long"},
      {openai_error(404, "model_not_found", "no such model"), Errc::llm_request_rejected, "no such model"},
  };
  for (auto const& c : cases) {
    HttpServer server([&](ReceivedRequest const&) { return c.reply; });
    auto reply = run_sync(compatible(server).complete(fix_request()));
    BOOST_TEST_REQUIRE(reply.has_error());
    BOOST_TEST((reply.error() == c.code), reply.error().message);
    BOOST_TEST(contains(reply.error().message, c.says), reply.error().message);
    BOOST_TEST(server.request_count() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(slow_response_past_the_timeout) {
  HttpServer server([](ReceivedRequest const&) {
    Reply r = Reply::json(openai_text("too late"));
    r.delay = 400ms;
    return r;
  });
  auto o = fast();
  o.request_timeout = 100ms;
  o.retry.max_attempts = 2;
  auto reply = run_sync(compatible(server, o).complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_error());
  BOOST_TEST((reply.error() == Errc::llm_timeout), reply.error().message);
  BOOST_TEST(contains(reply.error().message, "openai-compatible: "));
  BOOST_TEST(server.request_count() == 2u);  // timeouts are retried
}

BOOST_AUTO_TEST_CASE(truncated_body_and_reset_are_retried) {
  std::atomic<int> n{0};
  HttpServer server([&](ReceivedRequest const&) {
    int i = n++;
    if (i == 0) return Reply::truncated(openai_text("whole"), 20);
    if (i == 1) return Reply::reset();
    return Reply::json(openai_text("whole"));
  });
  auto reply = run_sync(compatible(server).complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_value(), why(reply));
  BOOST_TEST(reply.value().text == "whole");
  BOOST_TEST(server.request_count() == 3u);

  HttpServer always([](ReceivedRequest const&) { return Reply::truncated(openai_text("whole"), 20); });
  auto e = run_sync(compatible(always).complete(fix_request()));
  BOOST_TEST_REQUIRE(e.has_error());
  BOOST_TEST((e.error() == Errc::llm_unreachable), e.error().message);
}

BOOST_AUTO_TEST_CASE(invalid_json_is_a_bad_response_not_retried) {
  HttpServer server([](ReceivedRequest const&) { return Reply::json("{\"choices\": [oops"); });
  auto reply = run_sync(compatible(server).complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_error());
  BOOST_TEST((reply.error() == Errc::llm_bad_response));
  BOOST_TEST(contains(reply.error().message, "openai-compatible: malformed response: not JSON"), reply.error().message);
  BOOST_TEST(server.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(unreachable_server) {
  auto o = fast();
  o.retry.max_attempts = 2;
  auto t = leash::llm::make_transport(
                "openai-compatible:http://127.0.0.1:" + std::to_string(leash_test::unused_port()) + "/v1#m", o)
                .value();
  auto reply = run_sync(t.complete(fix_request()));
  BOOST_TEST_REQUIRE(reply.has_error());
  BOOST_TEST((reply.error() == Errc::llm_unreachable), reply.error().message);
}

// ---- whole loops ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(loop_over_openai_compatible) {
  std::atomic<int> n{0};
  HttpServer server([&](ReceivedRequest const&) {
    int i = n++;
    if (i == 0) return Reply::json(openai_call(R"({"name":"a"})", "call_a"));
    if (i == 1) return Reply::json(openai_call(R"({"name": 7})", "call_bad"));  // rejected, fed back
    return Reply::json(openai_call(R"({"name":"b"})", "call_b"));
  });
  auto env = leash_test::make_env({"a", "b"});
  auto sink = std::make_shared<leash::MemorySink>();
  Agent agent("fix the failing tests", leash::LlmPlanner(compatible(server)), leash_test::FixTools{leash_test::Fix{env}},
              {}, {}, {}, leash_test::env_options(env, sink));
  auto r = agent.run();
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  BOOST_TEST((r.value().status == Status::success), r.value().reason);
  BOOST_TEST(env->snapshot().empty());
  BOOST_TEST(server.request_count() == 3u);
  BOOST_TEST(r.value().metrics.llm_calls == 3u);
  BOOST_TEST(r.value().metrics.input_tokens == 300u);
  // The rejection reached the model in the third request.
  auto third = json::parse(server.requests().at(2).body);
  auto const& messages = third.at("messages").as_array();
  BOOST_TEST(contains(json::serialize(messages.back()), "Tool call rejected"));
  BOOST_TEST(leash_test::events_of(*sink, "llm.call").size() == 3u);
}

BOOST_AUTO_TEST_CASE(loop_over_anthropic_streaming) {
  std::atomic<int> n{0};
  HttpServer server([&](ReceivedRequest const&) {
    if (n++ == 0) return Reply::json(anthropic_call("a", "toolu_a"));
    return Reply::json(anthropic_call("b", "toolu_b"));
  });
  auto env = leash_test::make_env({"a", "b"});
  Agent agent("fix the failing tests", leash::LlmPlanner(claude(server)), leash_test::FixTools{leash_test::Fix{env}}, {},
              {}, {}, leash_test::env_options(env));
  auto r = agent.run();
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  BOOST_TEST((r.value().status == Status::success), r.value().reason);
  BOOST_TEST(server.request_count() == 2u);
  // claude-sonnet-4-6 is priced: the plan's model id is the transport's.
  BOOST_TEST(r.value().metrics.cost_usd.has_value());

  // The same loop, streamed.
  std::atomic<int> m{0};
  HttpServer streaming([&](ReceivedRequest const&) {
    std::string s = anthropic_stream;
    if (m++ == 1) {
      auto at = s.find(R"(: \"a\"}")");
      s.replace(at, 9, R"(: \"b\"}")");
    }
    return Reply::stream(pieces(s, 23));
  });
  auto env2 = leash_test::make_env({"a", "b"});
  leash::LlmPlannerOptions po;
  po.stream = true;
  std::string live;
  po.on_delta = [&](StreamDelta const& d) { live += d.text; };
  Agent streamed("fix", leash::LlmPlanner(claude(streaming), po), leash_test::FixTools{leash_test::Fix{env2}}, {}, {}, {},
                 leash_test::env_options(env2));
  auto s = streamed.run();
  BOOST_TEST_REQUIRE(s.has_value(), why(s));
  BOOST_TEST((s.value().status == Status::success), s.value().reason);
  BOOST_TEST(contains(live, R"({"name": "b"})"), live);
}

BOOST_AUTO_TEST_CASE(loop_ends_with_error_when_retries_run_out) {
  HttpServer server([](ReceivedRequest const&) { return openai_error(503, "", "Service Unavailable"); });
  auto env = leash_test::make_env({"a"});
  Agent agent("fix", leash::LlmPlanner(compatible(server)), leash_test::FixTools{leash_test::Fix{env}}, {}, {}, {},
              leash_test::env_options(env));
  auto r = agent.run();
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  BOOST_TEST((r.value().status == Status::error));
  BOOST_TEST(contains(r.value().reason, "HTTP 503"), r.value().reason);
  BOOST_TEST(contains(r.value().reason, "Service Unavailable"), r.value().reason);
  BOOST_TEST(server.request_count() == 3u);
}

// ---- the key --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_key_is_sent_but_never_repeated) {
  // A careless server that echoes the key back in its error.
  std::atomic<int> n{0};
  HttpServer server([&](ReceivedRequest const& r) {
    if (n++ == 0)
      return openai_error(401, "invalid_api_key",
                          "Incorrect API key provided: " + r.header("Authorization").value_or("").substr(7));
    return Reply::json(openai_call(R"({"name":"a"})"));
  });
  auto t = compatible(server);
  auto refused = run_sync(t.complete(fix_request()));
  BOOST_TEST_REQUIRE(refused.has_error());
  BOOST_TEST((refused.error() == Errc::llm_auth_failed));
  BOOST_TEST(!contains(refused.error().message, key), refused.error().message);
  BOOST_TEST(contains(refused.error().message, "[redacted]"));
  BOOST_TEST(contains(server.requests().at(0).body, "You fix tests."));
  BOOST_TEST(server.requests().at(0).header("Authorization").value_or("") == "Bearer " + key);

  auto request = fix_request();
  request.keep_raw = true;
  auto ok = run_sync(t.complete(request));
  BOOST_TEST_REQUIRE(ok.has_value(), why(ok));
  auto const& c = ok.value();
  for (std::string_view field : {std::string_view(c.text), std::string_view(c.model), std::string_view(c.response_id),
                                 std::string_view(c.raw_body), std::string_view(c.finish_reason)})
    BOOST_TEST(!contains(field, key));

  // Every trace event of a loop that failed on the key, and one that ran.
  for (bool fail : {true, false}) {
    std::atomic<int> m{0};
    HttpServer s([&](ReceivedRequest const& r) {
      if (fail) return openai_error(401, "invalid_api_key", "bad key " + r.header("Authorization").value_or(""));
      if (m++ == 0) return Reply::json(openai_call(R"({"name":"a"})"));
      return Reply::json(openai_text("done"));
    });
    auto env = leash_test::make_env({"a"});
    auto sink = std::make_shared<leash::MemorySink>();
    Agent agent("fix", leash::LlmPlanner(compatible(s)), leash_test::FixTools{leash_test::Fix{env}}, {}, {}, {},
                leash_test::env_options(env, sink));
    auto r = agent.run();
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST((r.value().status == (fail ? Status::error : Status::success)), r.value().reason);
    BOOST_TEST(!contains(r.value().reason, key), r.value().reason);
    BOOST_TEST(!sink->events().empty());
    for (auto const& e : sink->events()) BOOST_TEST(!contains(json::serialize(e.fields), key), e.kind);
    BOOST_TEST(s.requests().at(0).header("Authorization").value_or("") == "Bearer " + key);
  }
}

BOOST_AUTO_TEST_SUITE_END()
