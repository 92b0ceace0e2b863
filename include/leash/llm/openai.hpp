// leash/llm/openai.hpp — the OpenAI Chat Completions protocol, and the
// transport that speaks it to OpenAI or to any OpenAI-compatible server
// (vLLM, llama.cpp's server, Ollama's /v1, LM Studio).
//
// The protocol functions are pure (JSON in, JSON out), so they are tested
// without a network; OpenAiTransport adds HTTP, retries and the key.
//
// Reference: OpenAI API reference, "Chat › Create chat completion"
// (platform.openai.com/docs/api-reference/chat/create), "The chat completion
// object", "The chat completion chunk object" (streaming), and "Error codes"
// (platform.openai.com/docs/guides/error-codes).
#ifndef LEASH_LLM_OPENAI_HPP
#define LEASH_LLM_OPENAI_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/llm/http.hpp>
#include <leash/llm/transport.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leash::llm::openai {

/// Which request field carries the output-token limit.
///
/// OpenAI deprecated `max_tokens` in favour of `max_completion_tokens`, and
/// its reasoning models (o-series, gpt-5) refuse `max_tokens` outright; every
/// current OpenAI model accepts `max_completion_tokens`. Servers that copy the
/// API (vLLM, llama.cpp, Ollama, LM Studio) have long understood `max_tokens`
/// and only some of them the newer name. So the hosted provider gets
/// `max_completion_tokens` and an OpenAI-compatible server gets `max_tokens`.
enum class MaxTokensField { max_completion_tokens, max_tokens };

/// The request body for POST /chat/completions.
///
/// Messages keep their roles; an assistant turn's calls become `tool_calls`
/// (arguments serialised to a JSON string, as the API wants; arguments that
/// were kept raw go back exactly as the model wrote them), a "tool" message
/// becomes `role:"tool"` with its `tool_call_id`. leash's tool schemas
/// `{name, description, input_schema}` become `{type:"function", function:
/// {name, description, parameters}}`. Tools, `tool_choice` and
/// `parallel_tool_calls` are sent only when there are tools (the API refuses
/// the latter two without them). Streaming asks for a final usage chunk.
json::object build_request(CompletionRequest const& request, std::string_view model, bool stream,
                           MaxTokensField limit = MaxTokensField::max_completion_tokens);

/// Reads a non-streaming response body. A body that is not the protocol (not
/// JSON, no choices, wrong types) is Errc::llm_bad_response naming what was
/// wrong; an `{"error":…}` body (some servers answer errors with 200) is
/// mapped as error_from() would. Tool-call arguments that are not a JSON
/// object are kept as the raw string (see Completion).
result<Completion> parse_response(std::string_view body);

/// The Error for a non-2xx response: 401/403 llm_auth_failed; 429
/// llm_rate_limited, except an exhausted quota (`insufficient_quota`), which
/// waiting does not fix: llm_request_rejected; 400/404/413/422
/// llm_request_rejected; 408/409/5xx llm_server_error. The message carries the
/// status, the provider's error code and its `error.message`.
Error error_from(unsigned status, std::string_view body);

/// Whether a response with this status and body is worth retrying: the
/// retryable statuses, but not a 429 that says the quota is used up.
bool retryable(unsigned status, std::string_view body);

/// Finish reasons as leash names them: "stop", "length", "tool_calls",
/// "content_filter" (the legacy "function_call" counts as "tool_calls").
std::string normalize_finish_reason(std::string_view reason);

/// Rebuilds a streamed reply from the SSE `data:` payloads, in order.
///
/// Each chunk's `choices[0].delta` carries more text or pieces of tool calls
/// (`tool_calls[].index` says which call; the first piece has its id and
/// name, later ones more of `function.arguments`). With
/// `stream_options.include_usage` the last chunk before `[DONE]` has empty
/// choices and the usage. Deltas go to the callback as they are decoded; the
/// StreamDelta index is the call's position in Completion::tool_calls.
class StreamAssembler {
 public:
  /// `provider` names the server in error messages ("openai", "openai-compatible").
  explicit StreamAssembler(std::string provider = "openai") : provider_(std::move(provider)) {}
  /// One `data:` payload. Fails (llm_bad_response) on a payload that is not a
  /// chunk, or with the mapped error for an in-stream `{"error":…}`.
  result<void> feed(std::string_view data, StreamCallback const& on_delta = {});
  /// `[DONE]` has been seen.
  bool done() const noexcept { return done_; }
  /// The whole reply. A stream that ended before `[DONE]` and before any
  /// finish reason was cut short: llm_bad_response.
  result<Completion> finish();

 private:
  struct Call {
    std::string id, name, arguments;
  };
  std::string provider_;
  Completion completion_;
  std::vector<Call> calls_;
  std::map<std::int64_t, std::size_t> by_index_;  // provider index -> position in calls_
  bool done_ = false;
  bool finished_ = false;  // a finish_reason arrived
};

}  // namespace leash::llm::openai

namespace leash::llm {

/// A transport to OpenAI's Chat Completions endpoint, or to any server that
/// copies it (`openai-compatible`). Usually made by make_transport().
///
/// Requests go to `base_url + "/chat/completions"` with `Authorization:
/// Bearer <key>` (no such header when the key is empty: local servers often
/// need none). Retries follow `options.retry` (statuses 408/409/429/5xx,
/// timeouts, resets; Retry-After honoured); when they run out, the last
/// status is mapped by openai::error_from(). Streaming retries only until the
/// first delta has reached the callback. The key never appears in an error.
class OpenAiTransport final : public TransportInterface {
 public:
  static constexpr std::string_view default_base_url = "https://api.openai.com/v1";

  /// `provider` is "openai" or "openai-compatible"; it names the server in
  /// errors and picks the token-limit field (see openai::MaxTokensField).
  /// `http`: a client to share (its connections are reused); empty: one of
  /// its own, built from `options`.
  OpenAiTransport(std::string model, std::string base_url, std::string api_key, TransportOptions options = {},
                  std::string provider = "openai", std::shared_ptr<HttpClient> http = nullptr);

  boost::asio::awaitable<result<Completion>> complete(CompletionRequest const& request) override;
  boost::asio::awaitable<result<Completion>> stream(CompletionRequest const& request,
                                                    StreamCallback on_delta) override;
  std::string_view model_id() const override { return model_; }
  std::string_view provider() const override { return provider_; }

  std::string const& base_url() const noexcept { return base_url_; }
  openai::MaxTokensField max_tokens_field() const noexcept { return limit_; }
  void set_max_tokens_field(openai::MaxTokensField f) noexcept { limit_ = f; }
  /// The HTTP request complete() (or stream()) would send.
  HttpRequest http_request(CompletionRequest const& request, bool stream) const;

 private:
  std::string model_, base_url_, api_key_, provider_;
  TransportOptions options_;
  openai::MaxTokensField limit_;
  std::shared_ptr<HttpClient> http_;
};

}  // namespace leash::llm

#include <leash/llm/impl/openai.hpp>

#endif
