// leash/llm/anthropic.hpp — the Anthropic Messages protocol, and the
// transport that speaks it.
//
// The protocol functions are pure (JSON in, JSON out), so they are tested
// without a network; AnthropicTransport adds HTTP, retries and the key.
//
// Reference: Anthropic API reference, "Messages" (docs.anthropic.com/en/api/
// messages: request fields, content blocks, usage, stop_reason), "Tool use"
// (tool_use / tool_result blocks, tool_choice), "Streaming Messages"
// (docs.anthropic.com/en/docs/build-with-claude/streaming: event types and
// deltas) and "Errors" (docs.anthropic.com/en/api/errors).
#ifndef LEASH_LLM_ANTHROPIC_HPP
#define LEASH_LLM_ANTHROPIC_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/llm/http.hpp>
#include <leash/llm/transport.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace leash::llm::anthropic {

/// The request body for POST /v1/messages.
///
/// System messages go to the top-level `system` (joined by a blank line);
/// the rest alternate user / assistant as the API requires, so consecutive
/// messages of one role are merged into one message of several content
/// blocks. An assistant turn's calls become `tool_use` blocks {id, name,
/// input}; a "tool" message becomes a `tool_result` block {tool_use_id,
/// content} in a user message. Empty text blocks are dropped (the API refuses
/// them). leash's tool schemas are already Anthropic's `{name, description,
/// input_schema}`. `tool_choice`: auto → {type:auto}, required → {type:any},
/// none → {type:none}, a tool's name → {type:tool, name}; with
/// parallel_tool_calls off, `disable_parallel_tool_use`. `max_tokens` is
/// always sent (the API requires it).
json::object build_request(CompletionRequest const& request, std::string_view model, bool stream);

/// Reads a non-streaming response body: `content` blocks (text joined;
/// `tool_use` blocks become calls, an `input` that is not an object is kept as
/// it came so validation rejects it; thinking and server-tool blocks are
/// skipped), `usage`, `stop_reason`, `id`, `model`. A body that is not the
/// protocol is Errc::llm_bad_response; an `{"type":"error"}` body is mapped
/// by its error type.
result<Completion> parse_response(std::string_view body);

/// The Error for a non-2xx response: 401/403 llm_auth_failed; 429
/// llm_rate_limited (a reached spend limit, which waiting does not fix:
/// llm_request_rejected); 400/402/404/413/422 llm_request_rejected;
/// 408/409/5xx and 529 (overloaded_error) llm_server_error. The message
/// carries the status, the error type and the provider's `error.message`.
Error error_from(unsigned status, std::string_view body);

/// Whether a response with this status and body is worth retrying.
bool retryable(unsigned status, std::string_view body);

/// Stop reasons as leash names them: end_turn and stop_sequence → "stop",
/// tool_use → "tool_calls", max_tokens → "length", refusal →
/// "content_filter"; others (pause_turn, …) as the provider said.
std::string normalize_stop_reason(std::string_view reason);

/// Rebuilds a streamed reply from the SSE events, in order.
///
/// `message_start` carries the id, model and input usage;
/// `content_block_start` opens a text or tool_use block at an index;
/// `content_block_delta` adds `text_delta` text or `input_json_delta`
/// `partial_json` (the tool input's JSON text, in pieces); `content_block_stop`
/// closes a block (a tool input is parsed then); `message_delta` has the stop
/// reason and the cumulative output usage; `message_stop` ends the stream;
/// `ping` is ignored, `error` fails with the mapped error; unknown events are
/// ignored, as the API reference asks. The StreamDelta index is the call's
/// position in Completion::tool_calls.
class StreamAssembler {
 public:
  /// One event: its SSE `event:` name (may be empty: the payload's `type`
  /// decides) and its `data:` payload.
  result<void> feed(std::string_view event, std::string_view data, StreamCallback const& on_delta = {});
  /// `message_stop` has been seen.
  bool done() const noexcept { return done_; }
  /// The whole reply. A stream cut short (no message_stop and no stop
  /// reason) is llm_bad_response.
  result<Completion> finish();

 private:
  struct Block {
    bool tool = false;
    std::size_t call = 0;      // position in calls_
    json::value start_input;   // content_block_start's input (usually {})
    std::string partial_json;  // the input_json_delta pieces
    bool closed = false;
  };
  void close(Block& block);
  Completion completion_;
  std::vector<ToolCall> calls_;
  std::map<std::int64_t, Block> blocks_;
  bool done_ = false;
  bool stopped_ = false;  // message_delta gave a stop reason
};

}  // namespace leash::llm::anthropic

namespace leash::llm {

/// A transport to Anthropic's Messages endpoint. Usually made by
/// make_transport("anthropic:MODEL").
///
/// Requests go to `base_url + "/v1/messages"` with `x-api-key` and
/// `anthropic-version` (TransportOptions::anthropic_version). Retries follow
/// `options.retry` (408/409/429/5xx and 529, timeouts, resets; Retry-After
/// honoured); when they run out, the last status is mapped by
/// anthropic::error_from(). Streaming retries only until the first delta has
/// reached the callback. The key never appears in an error.
class AnthropicTransport final : public TransportInterface {
 public:
  static constexpr std::string_view default_base_url = "https://api.anthropic.com";

  /// `http`: a client to share; empty: one of its own, built from `options`.
  AnthropicTransport(std::string model, std::string base_url, std::string api_key, TransportOptions options = {},
                     std::shared_ptr<HttpClient> http = nullptr);

  boost::asio::awaitable<result<Completion>> complete(CompletionRequest const& request) override;
  boost::asio::awaitable<result<Completion>> stream(CompletionRequest const& request,
                                                    StreamCallback on_delta) override;
  std::string_view model_id() const override { return model_; }
  std::string_view provider() const override { return "anthropic"; }

  std::string const& base_url() const noexcept { return base_url_; }
  /// The HTTP request complete() (or stream()) would send.
  HttpRequest http_request(CompletionRequest const& request, bool stream) const;

 private:
  std::string model_, base_url_, api_key_;
  TransportOptions options_;
  std::shared_ptr<HttpClient> http_;
};

}  // namespace leash::llm

#include <leash/llm/impl/anthropic.hpp>

#endif
