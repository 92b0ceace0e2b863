#ifndef LEASH_LLM_IMPL_OPENAI_HPP
#define LEASH_LLM_IMPL_OPENAI_HPP

#include <leash/llm/detail/http_transport.hpp>
#include <leash/llm/detail/protocol.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leash::llm::openai {

namespace detail {

using namespace leash::llm::detail;

inline constexpr std::string_view provider = "openai";

/// A call's arguments as the API wants them: a JSON text. Arguments kept raw
/// (a string that did not parse as an object) go back byte for byte, so the
/// model sees what it wrote.
inline std::string arguments_text(json::value const& args) {
  if (auto const* s = args.if_string()) return std::string(*s);
  if (args.is_null()) return "{}";
  return json::serialize(args);
}

/// Message content: a string, null, or (some servers) an array of parts
/// `{type:"text", text}` whose texts are joined.
inline bool read_content(json::value const* v, std::string& out) {
  if (!v || v->is_null()) return true;
  if (auto const* s = v->if_string()) {
    out.append(*s);
    return true;
  }
  if (auto const* parts = v->if_array()) {
    for (auto const& p : *parts) {
      auto const* po = p.if_object();
      if (!po) return false;
      if (auto const* t = string_field(*po, "text")) out.append(*t);
    }
    return true;
  }
  return false;
}

/// The provider's (code, message) from an error body: `{"error":{message,
/// code|type}}` as OpenAI sends it, or the looser shapes compatible servers
/// use (`{"error":"…"}`, `{"detail":"…"}`, `{"message":"…"}`); otherwise the
/// body itself.
inline std::pair<std::string, std::string> error_details(json::value const* doc, std::string_view body) {
  if (auto const* o = doc ? doc->if_object() : nullptr) {
    if (auto const* e = object_field(*o, "error")) {
      std::string code = string_or_empty(*e, "code");
      if (code.empty()) code = string_or_empty(*e, "type");
      return {std::move(code), string_or_empty(*e, "message")};
    }
    if (auto const* s = string_field(*o, "error")) return {{}, std::string(*s)};
    if (auto const* s = string_field(*o, "detail")) return {{}, std::string(*s)};
    if (auto const* s = string_field(*o, "message")) return {{}, std::string(*s)};
  }
  return {{}, std::string(body)};
}

/// True for a 429 whose quota is used up: retrying cannot help.
inline bool quota_exhausted(std::string_view code) {
  return code == "insufficient_quota" || code == "billing_hard_limit_reached";
}

inline Error error_from_doc(std::string_view provider_name, unsigned status, json::value const* doc,
                            std::string_view body) {
  auto [code, message] = error_details(doc, body);
  Errc e = errc_for_status(status);
  if (status == 429 && quota_exhausted(code)) e = Errc::llm_request_rejected;
  if (e == Errc::llm_bad_response)
    return bad_response(provider_name, "unexpected HTTP status " + std::to_string(status), body);
  return Error{e, status_message(provider_name, status, code, message)};
}

/// An error reported inside a 200 body or an SSE chunk: no status, so the
/// code decides (OpenAI's error types, else a server error).
inline Error in_band_error(std::string_view provider_name, json::object const& error) {
  std::string code = string_or_empty(error, "code");
  std::string type = string_or_empty(error, "type");
  std::string message = string_or_empty(error, "message");
  if (code.empty()) code = type;
  Errc e = Errc::llm_server_error;
  if (quota_exhausted(code) || type == "invalid_request_error") e = Errc::llm_request_rejected;
  else if (code == "rate_limit_exceeded" || type == "rate_limit_error") e = Errc::llm_rate_limited;
  else if (code == "invalid_api_key" || type == "authentication_error") e = Errc::llm_auth_failed;
  std::string m(provider_name);
  m += ": error in response";
  if (!code.empty()) m += " (" + snippet(code, 80) + ")";
  if (!message.empty()) m += ": " + snippet(message, 400);
  return Error{e, std::move(m)};
}

/// Reads `usage` (prompt_tokens includes cached prompt tokens, so it is the
/// whole input).
inline void read_usage(json::object const& chunk, Usage& usage) {
  if (auto const* u = object_field(chunk, "usage")) {
    if (auto n = count_field(*u, "prompt_tokens")) usage.input_tokens = *n;
    if (auto n = count_field(*u, "completion_tokens")) usage.output_tokens = *n;
  }
}

}  // namespace detail

inline std::string normalize_finish_reason(std::string_view reason) {
  if (reason == "function_call") return "tool_calls";
  return std::string(reason);
}

inline json::object build_request(CompletionRequest const& request, std::string_view model, bool stream,
                                  MaxTokensField limit) {
  json::object body;
  body["model"] = model;

  // "messages": system / user / assistant (with tool_calls) / tool.
  auto ids = detail::assign_call_ids(request.messages);
  json::array messages;
  messages.reserve(request.messages.size());
  for (std::size_t m = 0; m < request.messages.size(); ++m) {
    auto const& msg = request.messages[m];
    json::object out;
    out["role"] = msg.role;
    if (msg.role == "tool") {
      out["tool_call_id"] = ids[m].front();
      out["content"] = msg.content;
    } else if (!msg.tool_calls.empty()) {
      // An assistant turn that only called tools has null content.
      if (msg.content.empty())
        out["content"] = nullptr;
      else
        out["content"] = msg.content;
      json::array calls;
      for (std::size_t k = 0; k < msg.tool_calls.size(); ++k) {
        auto const& call = msg.tool_calls[k];
        calls.push_back(json::object{
            {"id", ids[m][k]},
            {"type", "function"},
            {"function", json::object{{"name", call.name}, {"arguments", detail::arguments_text(call.args)}}}});
      }
      out["tool_calls"] = std::move(calls);
    } else {
      out["content"] = msg.content;
    }
    messages.push_back(std::move(out));
  }
  body["messages"] = std::move(messages);

  // "max_completion_tokens" / "max_tokens": see MaxTokensField.
  body[limit == MaxTokensField::max_tokens ? "max_tokens" : "max_completion_tokens"] = request.max_tokens;
  if (request.temperature) body["temperature"] = *request.temperature;

  // "tools": [{type:"function", function:{name, description, parameters}}].
  if (!request.tools.empty()) {
    json::array tools;
    tools.reserve(request.tools.size());
    for (auto const& t : request.tools) {
      json::object function;
      if (auto const* schema = t.if_object()) {
        if (auto const* name = schema->if_contains("name")) function["name"] = *name;
        if (auto const* description = schema->if_contains("description")) function["description"] = *description;
        if (auto const* parameters = schema->if_contains("input_schema")) function["parameters"] = *parameters;
      }
      tools.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
    }
    body["tools"] = std::move(tools);
    // "tool_choice": "auto" | "none" | "required" | {type:"function", function:{name}}.
    if (request.tool_choice.empty() || request.tool_choice == "auto" || request.tool_choice == "none" ||
        request.tool_choice == "required")
      body["tool_choice"] = request.tool_choice.empty() ? std::string_view("auto") : request.tool_choice;
    else
      body["tool_choice"] =
          json::object{{"type", "function"}, {"function", json::object{{"name", request.tool_choice}}}};
    // "parallel_tool_calls": whether one reply may hold several calls.
    body["parallel_tool_calls"] = request.parallel_tool_calls;
  }

  if (stream) {
    body["stream"] = true;
    // "stream_options.include_usage": one more chunk, with empty choices and
    // the whole request's usage, before [DONE].
    body["stream_options"] = json::object{{"include_usage", true}};
  }
  return body;
}

namespace detail {

/// json::serialize(build_request(request, model, stream, limit)), byte for
/// byte, written straight into `out`: the messages (the whole context, tens
/// of kilobytes late in a long loop) are copied once, not three times, and
/// the text grows in one piece instead of doubling from 4 KiB.
inline void write_request(std::string& out, CompletionRequest const& request, std::string_view model, bool stream,
                          MaxTokensField limit) {
  out.reserve(out.size() + model.size() + request_size_guess(request.messages, request.tools.size()));

  JsonAppender w(out);
  w.raw("{");
  w.raw("\"model\":");
  w.string(model);
  w.raw(",");
  w.raw("\"messages\":");
  w.raw("[");
  // Ids only for a chat with tool calls or results (the only messages that
  // read them): a plain chat skips three allocations.
  std::vector<std::vector<std::string>> ids;
  if (std::any_of(request.messages.begin(), request.messages.end(),
                  [](ChatMessage const& m) { return !m.tool_calls.empty() || m.role == "tool"; }))
    ids = assign_call_ids(request.messages);
  for (std::size_t m = 0; m < request.messages.size(); ++m) {
    auto const& msg = request.messages[m];
    if (m) w.raw(",");
    w.raw("{");
    w.raw("\"role\":");
    w.string(msg.role);
    w.raw(",");
    if (msg.role == "tool") {
      w.raw("\"tool_call_id\":");
      w.string(ids[m].front());
      w.raw(",");
      w.raw("\"content\":");
      w.string(msg.content);
    } else if (!msg.tool_calls.empty()) {
      w.raw("\"content\":");
      if (msg.content.empty())
        w.raw("null");
      else
        w.string(msg.content);
      w.raw(",");
      w.raw("\"tool_calls\":");
      w.raw("[");
      for (std::size_t k = 0; k < msg.tool_calls.size(); ++k) {
        auto const& call = msg.tool_calls[k];
        if (k) w.raw(",");
        w.raw("{");
        w.raw("\"id\":");
        w.string(ids[m][k]);
        w.raw(",");
        w.raw("\"type\":");
        w.raw("\"function\"");
        w.raw(",");
        w.raw("\"function\":");
        w.raw("{");
        w.raw("\"name\":");
        w.string(call.name);
        w.raw(",");
        w.raw("\"arguments\":");
        w.string(arguments_text(call.args));
        w.raw("}}");
      }
      w.raw("]");
    } else {
      w.raw("\"content\":");
      w.string(msg.content);
    }
    w.raw("}");
  }
  w.raw("],");
  w.key(limit == MaxTokensField::max_tokens ? "max_tokens" : "max_completion_tokens");
  w.raw(std::to_string(request.max_tokens));
  if (request.temperature) {
    w.raw(",");
    w.raw("\"temperature\":");
    w.value(json::value(*request.temperature));
  }
  if (!request.tools.empty()) {
    w.raw(",");
    w.raw("\"tools\":");
    w.raw("[");
    bool first = true;
    for (auto const& t : request.tools) {
      if (!first) w.raw(",");
      first = false;
      w.raw("{");
      w.raw("\"type\":");
      w.raw("\"function\"");
      w.raw(",");
      w.raw("\"function\":");
      w.raw("{");
      bool any = false;
      if (auto const* schema = t.if_object()) {
        for (std::string_view from : {"name", "description", "input_schema"}) {
          auto const* v = schema->if_contains(from);
          if (!v) continue;
          if (any) w.raw(",");
          any = true;
          w.key(from == "input_schema" ? std::string_view("parameters") : from);
          w.value(*v);
        }
      }
      w.raw("}}");
    }
    w.raw("],");
    w.raw("\"tool_choice\":");
    if (request.tool_choice.empty() || request.tool_choice == "auto" || request.tool_choice == "none" ||
        request.tool_choice == "required") {
      w.string(request.tool_choice.empty() ? std::string_view("auto") : std::string_view(request.tool_choice));
    } else {
      w.raw("{");
      w.raw("\"type\":");
      w.raw("\"function\"");
      w.raw(",");
      w.raw("\"function\":");
      w.raw("{");
      w.raw("\"name\":");
      w.string(request.tool_choice);
      w.raw("}}");
    }
    w.raw(",");
    w.raw("\"parallel_tool_calls\":");
    w.raw(request.parallel_tool_calls ? "true" : "false");
  }
  if (stream) {
    w.raw(",");
    w.raw("\"stream\":");
    w.raw("true,");
    w.raw("\"stream_options\":");
    w.raw("{");
    w.raw("\"include_usage\":");
    w.raw("true}");
  }
  w.raw("}");
}

inline result<Completion> parse_response_as(std::string_view body, std::string_view provider) {
  // The document lives only while its fields are copied out: it is parsed
  // into a buffer on the stack (more from the heap if it does not fit)
  // instead of an allocation per object, array, key and longer string.
  unsigned char scratch[4096];
  json::monotonic_resource arena(scratch, sizeof scratch);
  auto doc = parse_json(body, &arena);
  if (!doc) return bad_response(provider, "not JSON", body);
  auto const* root = doc->if_object();
  if (!root) return bad_response(provider, "not a JSON object", body);
  if (auto const* e = object_field(*root, "error")) return in_band_error(provider, *e);

  Completion c;
  c.response_id = string_or_empty(*root, "id");
  c.model = string_or_empty(*root, "model");
  read_usage(*root, c.usage);

  // "choices[0]": the one choice leash asks for (n is never set).
  auto const* choices = array_field(*root, "choices");
  if (!choices) return bad_response(provider, "no \"choices\" array", body);
  if (choices->empty()) return bad_response(provider, "empty \"choices\"", body);
  auto const* choice = choices->front().if_object();
  if (!choice) return bad_response(provider, "choices[0] is not an object", body);
  auto const* message = object_field(*choice, "message");
  if (!message) return bad_response(provider, "choices[0] has no \"message\" object", body);

  // "message.content": text (null when the reply only calls tools).
  if (!read_content(field(*message, "content"), c.text))
    return bad_response(provider, "choices[0].message.content is neither text nor null", body);
  // "message.refusal": a refusal is the reply's text.
  if (c.text.empty())
    if (auto const* refusal = string_field(*message, "refusal")) c.text = std::string(*refusal);

  // "message.tool_calls[]": {id, type:"function", function:{name, arguments}},
  // arguments being a JSON *string* the model wrote (it may not be valid JSON).
  if (auto const* calls_v = field(*message, "tool_calls"); calls_v && !calls_v->is_null()) {
    auto const* calls = calls_v->if_array();
    if (!calls) return bad_response(provider, "choices[0].message.tool_calls is not an array", body);
    for (std::size_t k = 0; k < calls->size(); ++k) {
      auto const* call = (*calls)[k].if_object();
      auto const* function = call ? object_field(*call, "function") : nullptr;
      auto const* name = function ? string_field(*function, "name") : nullptr;
      if (!name)
        return bad_response(provider, "tool_calls[" + std::to_string(k) + "] has no function.name", body);
      ToolCall tc;
      tc.id = string_or_empty(*call, "id");
      tc.name = std::string(*name);
      auto const* args = field(*function, "arguments");
      if (!args || args->is_null())
        tc.args = json::object{};
      else if (auto const* text = args->if_string())
        tc.args = arguments_from_text(*text);
      else
        tc.args = json::value(*args, json::storage_ptr());  // out of the parse arena; some servers send the object itself, a non-object stays as is and is rejected
      c.tool_calls.push_back(std::move(tc));
    }
  }

  // "finish_reason": stop | length | tool_calls | content_filter.
  c.finish_reason = normalize_finish_reason(string_or_empty(*choice, "finish_reason"));
  return c;
}

}  // namespace detail

inline result<Completion> parse_response(std::string_view body) {
  return detail::parse_response_as(body, detail::provider);
}

inline Error error_from(unsigned status, std::string_view body) {
  auto doc = detail::parse_json(body);
  return detail::error_from_doc(detail::provider, status, doc ? &*doc : nullptr, body);
}

inline bool retryable(unsigned status, std::string_view body) {
  if (!(status == 408 || status == 409 || status == 429 || status >= 500)) return false;
  if (status != 429) return true;
  auto doc = detail::parse_json(body);
  auto [code, message] = detail::error_details(doc ? &*doc : nullptr, body);
  return !detail::quota_exhausted(code);
}

inline result<void> StreamAssembler::feed(std::string_view data, StreamCallback const& on_delta) {
  using namespace detail;
  // "data: [DONE]" ends the stream.
  if (data == "[DONE]") {
    done_ = true;
    return success();
  }
  if (done_) return bad_response(provider_, "data after [DONE]", data);
  auto doc = parse_json(data);
  if (!doc) return bad_response(provider_, "stream chunk is not JSON", data);
  auto const* chunk = doc->if_object();
  if (!chunk) return bad_response(provider_, "stream chunk is not an object", data);
  if (auto const* e = object_field(*chunk, "error")) return in_band_error(provider_, *e);

  if (completion_.response_id.empty()) completion_.response_id = string_or_empty(*chunk, "id");
  if (completion_.model.empty()) completion_.model = string_or_empty(*chunk, "model");
  // "usage": null on every chunk but the last (include_usage).
  read_usage(*chunk, completion_.usage);

  // "choices": empty (or null, on some servers) in the usage chunk.
  auto const* choices_v = field(*chunk, "choices");
  if (!choices_v || choices_v->is_null()) return success();
  auto const* choices = choices_v->if_array();
  if (!choices) return bad_response(provider_, "stream chunk's choices is not an array", data);
  if (choices->empty()) return success();
  auto const* choice = choices->front().if_object();
  if (!choice) return bad_response(provider_, "stream chunk's choices[0] is not an object", data);

  if (auto const* delta_v = field(*choice, "delta"); delta_v && !delta_v->is_null()) {
    auto const* delta = delta_v->if_object();
    if (!delta) return bad_response(provider_, "stream chunk's delta is not an object", data);
    // "delta.content": more text.
    std::string text;
    if (!read_content(field(*delta, "content"), text))
      return bad_response(provider_, "stream chunk's delta.content is neither text nor null", data);
    if (!text.empty()) {
      completion_.text += text;
      if (on_delta) on_delta(StreamDelta{StreamDelta::Kind::text, 0, {}, {}, std::move(text)});
    }
    // "delta.tool_calls[]": {index, id?, type?, function:{name?, arguments?}}.
    if (auto const* calls_v = field(*delta, "tool_calls"); calls_v && !calls_v->is_null()) {
      auto const* calls = calls_v->if_array();
      if (!calls) return bad_response(provider_, "stream chunk's delta.tool_calls is not an array", data);
      for (auto const& piece_v : *calls) {
        auto const* piece = piece_v.if_object();
        if (!piece) return bad_response(provider_, "a tool_calls delta is not an object", data);
        std::string id = string_or_empty(*piece, "id");
        // "index" says which call a piece belongs to. A server that omits it
        // sends each call whole: a new id starts a new call.
        std::optional<std::int64_t> index;
        if (auto const* i = field(*piece, "index")) {
          if (auto const* n = i->if_int64()) index = *n;
          else if (auto const* u = i->if_uint64()) index = static_cast<std::int64_t>(*u);
          else return bad_response(provider_, "a tool_calls delta's index is not an integer", data);
        }
        std::size_t at = calls_.size();
        bool fresh = false;
        if (index) {
          auto found = by_index_.find(*index);
          fresh = found == by_index_.end();
          if (!fresh) at = found->second;
        } else {
          fresh = calls_.empty() || (!id.empty() && id != calls_.back().id);
          if (!fresh) at = calls_.size() - 1;
        }
        if (fresh) {
          if (index) by_index_.emplace(*index, at);
          calls_.push_back({});
        }
        Call& call = calls_[at];
        if (call.id.empty()) call.id = id;
        auto const* function = object_field(*piece, "function");
        std::string name = function ? string_or_empty(*function, "name") : std::string();
        call.name += name;
        if (fresh && on_delta) on_delta(StreamDelta{StreamDelta::Kind::tool_call_start, at, call.id, call.name, {}});
        if (function) {
          if (auto const* args = field(*function, "arguments")) {
            std::string more;
            if (auto const* s = args->if_string()) more = std::string(*s);
            else if (!args->is_null()) more = json::serialize(*args);
            if (!more.empty()) {
              call.arguments += more;
              if (on_delta) on_delta(StreamDelta{StreamDelta::Kind::tool_call_args, at, {}, {}, std::move(more)});
            }
          }
        }
      }
    }
  }
  // "finish_reason": set on the last chunk with choices.
  if (auto const* reason = string_field(*choice, "finish_reason")) {
    completion_.finish_reason = normalize_finish_reason(*reason);
    finished_ = true;
  }
  return success();
}

inline result<Completion> StreamAssembler::finish() {
  if (!done_ && !finished_)
    return detail::bad_response(provider_, "the stream ended before [DONE] and before a finish_reason", {});
  Completion c = std::move(completion_);
  for (auto& call : calls_) {
    if (call.name.empty()) return detail::bad_response(provider_, "a streamed tool call has no name", {});
    c.tool_calls.push_back(ToolCall{std::move(call.id), std::move(call.name), detail::arguments_from_text(call.arguments)});
  }
  calls_.clear();
  by_index_.clear();
  return c;
}

}  // namespace leash::llm::openai

namespace leash::llm {

namespace detail {

inline ProtocolHooks openai_hooks(std::string provider) {
  return ProtocolHooks{
      std::move(provider),
      [](std::string_view body, std::string_view who) { return openai::detail::parse_response_as(body, who); },
      [](std::string_view who, unsigned status, std::string_view body) {
        auto doc = parse_json(body);
        return openai::detail::error_from_doc(who, status, doc ? &*doc : nullptr, body);
      },
      [](unsigned status, std::string_view body) { return openai::retryable(status, body); }};
}

/// openai::StreamAssembler fed whole SSE events.
struct OpenAiEvents {
  openai::StreamAssembler assembler;
  result<void> feed(SseEvent const& e, StreamCallback const& on_delta) { return assembler.feed(e.data, on_delta); }
  result<Completion> finish() { return assembler.finish(); }
};

}  // namespace detail

inline OpenAiTransport::OpenAiTransport(std::string model, std::string base_url, std::string api_key,
                                        TransportOptions options, std::string provider,
                                        std::shared_ptr<HttpClient> http)
    : model_(std::move(model)),
      base_url_(detail::trim_base_url(std::move(base_url))),
      api_key_(std::move(api_key)),
      provider_(std::move(provider)),
      options_(std::move(options)),
      limit_(provider_ == "openai" ? openai::MaxTokensField::max_completion_tokens
                                   : openai::MaxTokensField::max_tokens),
      http_(http ? std::move(http) : std::make_shared<HttpClient>(to_http_options(options_))) {}

inline HttpRequest OpenAiTransport::http_request(CompletionRequest const& request, bool stream) const {
  HttpRequest r;
  r.method = "POST";
  r.url = base_url_ + "/chat/completions";
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Accept", stream ? "text/event-stream" : "application/json");
  if (!api_key_.empty()) r.headers.emplace_back("Authorization", "Bearer " + api_key_);
  // The same bytes as json::serialize(openai::build_request(...)), written directly.
  openai::detail::write_request(r.body, request, model_, stream, limit_);
  return r;
}

inline boost::asio::awaitable<result<Completion>> OpenAiTransport::complete(CompletionRequest const& request) {
  detail::HttpCall call;
  call.http = http_;
  call.request = std::make_shared<HttpRequest const>(http_request(request, false));
  call.hooks = detail::openai_hooks(provider_);
  call.secret = api_key_;
  result<Completion> done = co_await detail::complete_over_http(call, options_.retry, request.keep_raw);
  co_return done;
}

inline boost::asio::awaitable<result<Completion>> OpenAiTransport::stream(CompletionRequest const& request,
                                                                         StreamCallback on_delta) {
  detail::StreamCall<detail::OpenAiEvents> s;
  s.call.http = http_;
  s.call.request = std::make_shared<HttpRequest const>(http_request(request, true));
  s.call.hooks = detail::openai_hooks(provider_);
  s.call.secret = api_key_;
  s.make_assembler = [who = provider_] { return detail::OpenAiEvents{openai::StreamAssembler(who)}; };
  s.on_delta = std::move(on_delta);
  s.keep_raw = request.keep_raw;
  result<Completion> done = co_await detail::stream_over_http(s, options_.retry);
  co_return done;
}

}  // namespace leash::llm

#endif
