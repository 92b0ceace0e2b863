#ifndef LEASH_LLM_IMPL_ANTHROPIC_HPP
#define LEASH_LLM_IMPL_ANTHROPIC_HPP

#include <leash/llm/detail/http_transport.hpp>
#include <leash/llm/detail/protocol.hpp>

#include <algorithm>
#include <optional>
#include <utility>

namespace leash::llm::anthropic {

namespace detail {

using namespace leash::llm::detail;

inline constexpr std::string_view provider = "anthropic";

/// Errors: {type:"error", error:{type, message}}. The error type names the
/// kind when no status does (errors inside a stream arrive after a 200).
inline Errc errc_for_type(std::string_view type) {
  if (type == "authentication_error" || type == "permission_error") return Errc::llm_auth_failed;
  if (type == "rate_limit_error") return Errc::llm_rate_limited;
  if (type == "overloaded_error" || type == "api_error" || type == "timeout_error") return Errc::llm_server_error;
  if (type == "invalid_request_error" || type == "not_found_error" || type == "request_too_large" ||
      type == "billing_error")
    return Errc::llm_request_rejected;
  return Errc::llm_server_error;
}

struct ErrorDetails {
  std::string type, message, detail_code;
};

inline ErrorDetails error_details(json::value const* doc, std::string_view body) {
  ErrorDetails d;
  if (auto const* o = doc ? doc->if_object() : nullptr) {
    if (auto const* e = object_field(*o, "error")) {
      d.type = string_or_empty(*e, "type");
      d.message = string_or_empty(*e, "message");
      // A spend limit arrives as a rate_limit_error whose details say so.
      if (auto const* details = object_field(*e, "details")) d.detail_code = string_or_empty(*details, "error_code");
      return d;
    }
    if (auto const* s = string_field(*o, "message")) {
      d.message = std::string(*s);
      return d;
    }
  }
  d.message = std::string(body);
  return d;
}

inline bool spend_limit(ErrorDetails const& d) {
  return d.detail_code.find("spend_limit") != std::string::npos ||
         d.message.find("spend limit") != std::string::npos;
}

inline Error in_band_error(json::object const& error) {
  std::string type = string_or_empty(error, "type");
  std::string message = string_or_empty(error, "message");
  std::string m(provider);
  m += ": error in response";
  if (!type.empty()) m += " (" + snippet(type, 80) + ")";
  if (!message.empty()) m += ": " + snippet(message, 400);
  return Error{errc_for_type(type), std::move(m)};
}

/// Reads `usage`. Input is input_tokens plus the prompt-cache reads and
/// writes, which the API counts apart but which are input all the same: a
/// budget must see them.
inline void read_usage(json::object const& usage, Usage& out, bool input, bool output) {
  if (input) {
    std::optional<std::uint64_t> total;
    for (auto key : {"input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"})
      if (auto n = count_field(usage, key)) total = total.value_or(0) + *n;
    if (total) out.input_tokens = *total;
  }
  if (output)
    if (auto n = count_field(usage, "output_tokens")) out.output_tokens = *n;
}

/// A tool_use block's input, kept as it came when it is not an object.
inline json::value tool_input(json::value const* input) {
  if (!input || input->is_null()) return json::object{};
  return *input;
}

/// Appends a content block to the last message if it has `role`, else opens a
/// new message: the API wants user and assistant turns to alternate.
inline void append_block(json::array& messages, std::string_view role, json::object block) {
  if (!messages.empty()) {
    auto& last = messages.back().get_object();
    if (last["role"].get_string() == role) {
      last["content"].get_array().push_back(std::move(block));
      return;
    }
  }
  messages.push_back(json::object{{"role", role}, {"content", json::array{std::move(block)}}});
}

}  // namespace detail

inline std::string normalize_stop_reason(std::string_view reason) {
  if (reason == "end_turn" || reason == "stop_sequence") return "stop";
  if (reason == "tool_use") return "tool_calls";
  if (reason == "max_tokens") return "length";
  if (reason == "refusal") return "content_filter";
  return std::string(reason);
}

inline json::object build_request(CompletionRequest const& request, std::string_view model, bool stream) {
  using namespace detail;
  json::object body;
  body["model"] = model;
  // "max_tokens": required.
  body["max_tokens"] = request.max_tokens;

  // "system": top-level, not a message.
  std::string system;
  auto ids = assign_call_ids(request.messages);
  json::array messages;
  for (std::size_t m = 0; m < request.messages.size(); ++m) {
    auto const& msg = request.messages[m];
    if (msg.role == "system") {
      if (msg.content.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += msg.content;
    } else if (msg.role == "tool") {
      // "tool_result" blocks answer tool_use ids, in a user turn.
      append_block(messages, "user",
                   json::object{{"type", "tool_result"}, {"tool_use_id", ids[m].front()}, {"content", msg.content}});
    } else if (msg.role == "assistant") {
      if (!msg.content.empty()) append_block(messages, "assistant", json::object{{"type", "text"}, {"text", msg.content}});
      // "tool_use" blocks: {id, name, input}; input must be an object, so a
      // call whose arguments were kept raw is told back as text instead.
      for (std::size_t k = 0; k < msg.tool_calls.size(); ++k) {
        auto const& call = msg.tool_calls[k];
        if (call.args.is_object())
          append_block(messages, "assistant",
                       json::object{{"type", "tool_use"}, {"id", ids[m][k]}, {"name", call.name}, {"input", call.args}});
        else
          append_block(messages, "assistant",
                       json::object{{"type", "text"},
                                    {"text", "(called " + call.name + " with arguments that are not a JSON object: " +
                                                 (call.args.is_string() ? std::string(call.args.get_string())
                                                                        : json::serialize(call.args)) +
                                                 ")"}});
      }
    } else {  // "user", and any other role, speaks as the user
      if (!msg.content.empty()) append_block(messages, "user", json::object{{"type", "text"}, {"text", msg.content}});
    }
  }
  if (!system.empty()) body["system"] = std::move(system);
  body["messages"] = std::move(messages);
  if (request.temperature) body["temperature"] = *request.temperature;

  // "tools": [{name, description, input_schema}] — leash's own shape.
  if (!request.tools.empty()) {
    json::array tools;
    tools.reserve(request.tools.size());
    for (auto const& t : request.tools) {
      json::object tool;
      if (auto const* schema = t.if_object())
        for (auto key : {"name", "description", "input_schema"})
          if (auto const* v = schema->if_contains(key)) tool[key] = *v;
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
    // "tool_choice": {type: auto | any | tool (with name) | none}.
    json::object choice;
    if (request.tool_choice.empty() || request.tool_choice == "auto")
      choice["type"] = "auto";
    else if (request.tool_choice == "required")
      choice["type"] = "any";
    else if (request.tool_choice == "none")
      choice["type"] = "none";
    else {
      choice["type"] = "tool";
      choice["name"] = request.tool_choice;
    }
    // "disable_parallel_tool_use": at most (or, for any/tool, exactly) one call.
    if (!request.parallel_tool_calls && request.tool_choice != "none") choice["disable_parallel_tool_use"] = true;
    body["tool_choice"] = std::move(choice);
  }
  // "stream": server-sent events.
  if (stream) body["stream"] = true;
  return body;
}

inline result<Completion> parse_response(std::string_view body) {
  using namespace detail;
  auto doc = parse_json(body);
  if (!doc) return bad_response(provider, "not JSON", body);
  auto const* root = doc->if_object();
  if (!root) return bad_response(provider, "not a JSON object", body);
  if (string_or_empty(*root, "type") == "error") {
    auto const* e = object_field(*root, "error");
    if (!e) return bad_response(provider, "an error without an \"error\" object", body);
    return in_band_error(*e);
  }

  Completion c;
  c.response_id = string_or_empty(*root, "id");
  c.model = string_or_empty(*root, "model");
  // "content": [{type:"text", text} | {type:"tool_use", id, name, input} | …].
  auto const* content = array_field(*root, "content");
  if (!content) return bad_response(provider, "no \"content\" array", body);
  for (std::size_t i = 0; i < content->size(); ++i) {
    auto const* block = (*content)[i].if_object();
    auto const* type = block ? string_field(*block, "type") : nullptr;
    if (!type) return bad_response(provider, "content[" + std::to_string(i) + "] has no type", body);
    if (*type == "text") {
      auto const* text = string_field(*block, "text");
      if (!text) return bad_response(provider, "content[" + std::to_string(i) + "] text is not a string", body);
      c.text.append(*text);
    } else if (*type == "tool_use") {
      auto const* name = string_field(*block, "name");
      if (!name) return bad_response(provider, "content[" + std::to_string(i) + "] tool_use has no name", body);
      c.tool_calls.push_back(ToolCall{string_or_empty(*block, "id"), std::string(*name), tool_input(field(*block, "input"))});
    }
    // thinking, redacted_thinking, server tool blocks: not leash's to act on.
  }
  // "usage": {input_tokens, output_tokens, cache_*_input_tokens}.
  if (auto const* usage = object_field(*root, "usage")) read_usage(*usage, c.usage, true, true);
  // "stop_reason": end_turn | max_tokens | stop_sequence | tool_use | …
  c.finish_reason = normalize_stop_reason(string_or_empty(*root, "stop_reason"));
  return c;
}

inline Error error_from(unsigned status, std::string_view body) {
  using namespace detail;
  auto doc = parse_json(body);
  auto d = error_details(doc ? &*doc : nullptr, body);
  Errc e = errc_for_status(status);  // 529 (overloaded) is >= 500: a server error
  if (status == 429 && spend_limit(d)) e = Errc::llm_request_rejected;
  if (e == Errc::llm_bad_response)
    return bad_response(provider, "unexpected HTTP status " + std::to_string(status), body);
  return Error{e, status_message(provider, status, d.type, d.message)};
}

inline bool retryable(unsigned status, std::string_view body) {
  if (!(status == 408 || status == 409 || status == 429 || status >= 500)) return false;
  if (status != 429) return true;
  auto doc = detail::parse_json(body);
  return !detail::spend_limit(detail::error_details(doc ? &*doc : nullptr, body));
}

inline void StreamAssembler::close(Block& block) {
  if (block.closed) return;
  block.closed = true;
  if (!block.tool) return;
  // The streamed input is a JSON text; without pieces, the start's input.
  auto& call = calls_[block.call];
  if (block.partial_json.empty())
    call.args = detail::tool_input(&block.start_input);
  else
    call.args = detail::arguments_from_text(block.partial_json);
}

inline result<void> StreamAssembler::feed(std::string_view event, std::string_view data, StreamCallback const& on_delta) {
  using namespace detail;
  auto doc = parse_json(data);
  if (!doc) return bad_response(provider, "stream event is not JSON", data);
  auto const* payload = doc->if_object();
  if (!payload) return bad_response(provider, "stream event is not an object", data);
  std::string type = string_or_empty(*payload, "type");
  if (type.empty()) type = std::string(event);

  auto block_index = [&]() -> std::optional<std::int64_t> {
    auto const* v = field(*payload, "index");
    if (!v) return std::nullopt;
    if (auto const* n = v->if_int64()) return *n;
    if (auto const* u = v->if_uint64()) return static_cast<std::int64_t>(*u);
    return std::nullopt;
  };

  if (type == "message_start") {
    // "message": {id, model, usage:{input_tokens, output_tokens}, content:[]}.
    auto const* message = object_field(*payload, "message");
    if (!message) return bad_response(provider, "message_start without a message", data);
    completion_.response_id = string_or_empty(*message, "id");
    completion_.model = string_or_empty(*message, "model");
    if (auto const* usage = object_field(*message, "usage")) read_usage(*usage, completion_.usage, true, true);
  } else if (type == "content_block_start") {
    auto index = block_index();
    auto const* block = object_field(*payload, "content_block");
    auto const* kind = block ? string_field(*block, "type") : nullptr;
    if (!index || !kind) return bad_response(provider, "content_block_start without index or content_block", data);
    Block b;
    if (*kind == "tool_use") {
      auto const* name = string_field(*block, "name");
      if (!name) return bad_response(provider, "tool_use block without a name", data);
      b.tool = true;
      b.call = calls_.size();
      if (auto const* input = field(*block, "input")) b.start_input = *input;
      calls_.push_back(ToolCall{string_or_empty(*block, "id"), std::string(*name), json::object{}});
      if (on_delta)
        on_delta(StreamDelta{StreamDelta::Kind::tool_call_start, b.call, calls_.back().id, calls_.back().name, {}});
    } else if (*kind == "text") {
      std::string text = string_or_empty(*block, "text");
      if (!text.empty()) {
        completion_.text += text;
        if (on_delta) on_delta(StreamDelta{StreamDelta::Kind::text, 0, {}, {}, std::move(text)});
      }
    }
    blocks_[*index] = std::move(b);
  } else if (type == "content_block_delta") {
    auto index = block_index();
    auto const* delta = object_field(*payload, "delta");
    auto const* kind = delta ? string_field(*delta, "type") : nullptr;
    if (!index || !kind) return bad_response(provider, "content_block_delta without index or delta", data);
    auto found = blocks_.find(*index);
    if (*kind == "text_delta") {
      auto const* text = string_field(*delta, "text");
      if (!text) return bad_response(provider, "text_delta without text", data);
      completion_.text.append(*text);
      if (on_delta && !text->empty()) on_delta(StreamDelta{StreamDelta::Kind::text, 0, {}, {}, std::string(*text)});
    } else if (*kind == "input_json_delta") {
      // "partial_json": the next piece of the tool input's JSON text.
      auto const* piece = string_field(*delta, "partial_json");
      if (!piece) return bad_response(provider, "input_json_delta without partial_json", data);
      if (found == blocks_.end() || !found->second.tool)
        return bad_response(provider, "input_json_delta for a block that is not a tool_use", data);
      found->second.partial_json.append(*piece);
      if (on_delta && !piece->empty())
        on_delta(StreamDelta{StreamDelta::Kind::tool_call_args, found->second.call, {}, {}, std::string(*piece)});
    }
    // thinking_delta, signature_delta, citations_delta: not leash's to act on.
  } else if (type == "content_block_stop") {
    if (auto index = block_index())
      if (auto found = blocks_.find(*index); found != blocks_.end()) close(found->second);
  } else if (type == "message_delta") {
    // "delta.stop_reason", and "usage" whose counts are cumulative.
    if (auto const* delta = object_field(*payload, "delta"))
      if (auto const* reason = string_field(*delta, "stop_reason")) {
        completion_.finish_reason = normalize_stop_reason(*reason);
        stopped_ = true;
      }
    if (auto const* usage = object_field(*payload, "usage")) {
      // Newer API versions repeat the input counts here; never let a partial
      // repetition lower what message_start said.
      Usage seen;
      read_usage(*usage, seen, true, true);
      completion_.usage.input_tokens = std::max(completion_.usage.input_tokens, seen.input_tokens);
      if (usage->contains("output_tokens")) completion_.usage.output_tokens = seen.output_tokens;
    }
  } else if (type == "message_stop") {
    done_ = true;
  } else if (type == "error") {
    auto const* e = object_field(*payload, "error");
    if (!e) return bad_response(provider, "an error event without an \"error\" object", data);
    return in_band_error(*e);
  }
  // "ping" and event types added later: ignored.
  return success();
}

inline result<Completion> StreamAssembler::finish() {
  if (!done_ && !stopped_)
    return detail::bad_response(detail::provider, "the stream ended before message_stop and before a stop_reason", {});
  for (auto& [index, block] : blocks_) close(block);
  Completion c = std::move(completion_);
  c.tool_calls = std::move(calls_);
  calls_.clear();
  blocks_.clear();
  return c;
}

}  // namespace leash::llm::anthropic

namespace leash::llm {

namespace detail {

inline ProtocolHooks anthropic_hooks() {
  return ProtocolHooks{
      "anthropic", [](std::string_view body, std::string_view) { return anthropic::parse_response(body); },
      [](std::string_view, unsigned status, std::string_view body) { return anthropic::error_from(status, body); },
      [](unsigned status, std::string_view body) { return anthropic::retryable(status, body); }};
}

/// anthropic::StreamAssembler fed whole SSE events.
struct AnthropicEvents {
  anthropic::StreamAssembler assembler;
  result<void> feed(SseEvent const& e, StreamCallback const& on_delta) {
    return assembler.feed(e.event, e.data, on_delta);
  }
  result<Completion> finish() { return assembler.finish(); }
};

}  // namespace detail

inline AnthropicTransport::AnthropicTransport(std::string model, std::string base_url, std::string api_key,
                                              TransportOptions options, std::shared_ptr<HttpClient> http)
    : model_(std::move(model)),
      base_url_(detail::trim_base_url(std::move(base_url))),
      api_key_(std::move(api_key)),
      options_(std::move(options)),
      http_(http ? std::move(http) : std::make_shared<HttpClient>(to_http_options(options_))) {}

inline HttpRequest AnthropicTransport::http_request(CompletionRequest const& request, bool stream) const {
  HttpRequest r;
  r.method = "POST";
  r.url = base_url_ + "/v1/messages";
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Accept", stream ? "text/event-stream" : "application/json");
  r.headers.emplace_back("anthropic-version", options_.anthropic_version);
  if (!api_key_.empty()) r.headers.emplace_back("x-api-key", api_key_);
  // json::serialize's bytes, into a body reserved once (not doubled up from 4 KiB).
  json::value body = anthropic::build_request(request, model_, stream);
  r.body.reserve(model_.size() + detail::request_size_guess(request.messages, request.tools.size()));
  detail::JsonAppender(r.body).value(body);
  return r;
}

inline boost::asio::awaitable<result<Completion>> AnthropicTransport::complete(CompletionRequest const& request) {
  detail::HttpCall call;
  call.http = http_;
  call.request = std::make_shared<HttpRequest const>(http_request(request, false));
  call.hooks = detail::anthropic_hooks();
  call.secret = api_key_;
  result<Completion> done = co_await detail::complete_over_http(call, options_.retry, request.keep_raw);
  co_return done;
}

inline boost::asio::awaitable<result<Completion>> AnthropicTransport::stream(CompletionRequest const& request,
                                                                            StreamCallback on_delta) {
  detail::StreamCall<detail::AnthropicEvents> s;
  s.call.http = http_;
  s.call.request = std::make_shared<HttpRequest const>(http_request(request, true));
  s.call.hooks = detail::anthropic_hooks();
  s.call.secret = api_key_;
  s.make_assembler = [] { return detail::AnthropicEvents{}; };
  s.on_delta = std::move(on_delta);
  s.keep_raw = request.keep_raw;
  result<Completion> done = co_await detail::stream_over_http(s, options_.retry);
  co_return done;
}

}  // namespace leash::llm

#endif
