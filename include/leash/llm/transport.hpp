// leash/llm/transport.hpp — the one runtime seam to a language model: a small
// type-erased transport (OpenAI, Anthropic, OpenAI-compatible servers, a
// scripted replay), chosen by a spec string at runtime.
//
//   auto t = leash::llm::make_transport("openai:gpt-4o-mini");   // llm/make_transport.hpp
//   if (!t) { std::cerr << t.error() << '\n'; return 2; }
//   auto done = co_await t->complete(request);          // result<Completion>
//
// A transport never throws to its caller: every failure is an Error whose code
// says what to do (retry later, fix the key, fix the request) and whose message
// carries the provider's own words — never the API key.
#ifndef LEASH_LLM_TRANSPORT_HPP
#define LEASH_LLM_TRANSPORT_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/planner.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::llm {

/// One message of a chat, in leash's provider-neutral form.
struct ChatMessage {
  std::string role;                   ///< "system", "user", "assistant" or "tool"
  std::string content;
  std::vector<ToolCall> tool_calls;   ///< an assistant turn that called tools
  std::string tool_call_id;           ///< role "tool": the call this result answers
};

/// What to ask the model.
struct CompletionRequest {
  std::vector<ChatMessage> messages;
  /// Tool schemas in leash's form `[{"name","description","input_schema"}, …]`
  /// (ToolSet::schemas()); each protocol converts them.
  json::array tools;
  std::uint64_t max_tokens = 4096;
  std::optional<double> temperature;
  /// "auto", "none", "required", or the name of one tool the model must call.
  std::string tool_choice = "auto";
  bool parallel_tool_calls = true;
  /// Keep the provider's raw response body on the Completion (for traces).
  bool keep_raw = false;
};

/// What the model answered. Tool-call arguments are kept exactly as parsed: a
/// call whose arguments are not a JSON object keeps them as the raw string, so
/// ToolSet validation rejects it and the loop feeds the rejection back.
struct Completion {
  std::string text;
  std::vector<ToolCall> tool_calls;
  Usage usage;
  std::string model;          ///< the model id the provider reports
  std::string finish_reason;  ///< normalised: "stop", "tool_calls", "length", "content_filter", or the provider's word
  std::string response_id;
  std::string raw_body;       ///< only with CompletionRequest::keep_raw
  /// HTTP attempts beyond the first that this reply took (a retryable status,
  /// a timeout, a reset: see RetryPolicy), and the seconds waited between
  /// attempts (backoff or the server's Retry-After). 0 for the scripted transport.
  unsigned retries = 0;
  double retry_wait_s = 0.0;
};

/// A piece of a streamed reply, delivered as it arrives.
struct StreamDelta {
  enum class Kind {
    text,            ///< `text` is more assistant text
    tool_call_start, ///< a tool call begins: `index`, `id`, `name`
    tool_call_args,  ///< `text` is more of call `index`'s arguments (JSON, partial)
  };
  Kind kind = Kind::text;
  std::size_t index = 0;
  std::string id;
  std::string name;
  std::string text;
};
using StreamCallback = std::function<void(StreamDelta const&)>;

/// How hard to try before giving up: exponential backoff with full jitter
/// (delay = uniform(0, min(max_delay, base_delay·2^attempt))), or the server's
/// Retry-After when it sends one (capped at max_delay).
struct RetryPolicy {
  unsigned max_attempts = 4;  ///< first try included; 1 means no retries
  std::chrono::milliseconds base_delay{500};
  std::chrono::milliseconds max_delay{30000};
  /// Seeds the jitter; empty: from std::random_device. Tests set it.
  std::optional<std::uint64_t> seed;
};

/// Everything about reaching a provider that is not the model's name.
struct TransportOptions {
  std::string api_key;   ///< empty: OPENAI_API_KEY / ANTHROPIC_API_KEY
  std::string base_url;  ///< empty: OPENAI_BASE_URL / ANTHROPIC_BASE_URL, else the provider's
  RetryPolicy retry;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{120000};  ///< write + read of one attempt
  std::size_t max_response_bytes = 16u << 20;
  /// Connections open at once to the provider, per io_context; more requests
  /// than that wait in line for one (HttpOptions::max_connections_per_host). 0: no cap.
  std::size_t max_connections_per_host = 256;
  /// TLS: verify the peer (certificate chain and host name) — on unless a
  /// test turns it off; extra CA file (PEM) trusted besides the system store.
  bool verify_peer = true;
  std::string ca_file;
  /// Anthropic's `anthropic-version` header.
  std::string anthropic_version = "2023-06-01";
};

/// The runtime transport interface; AnyTransport holds one.
class TransportInterface {
 public:
  virtual ~TransportInterface() = default;
  virtual boost::asio::awaitable<result<Completion>> complete(CompletionRequest const& request) = 0;
  /// As complete(), delivering text and tool-call pieces to `on_delta` as they
  /// arrive; the returned Completion is the whole reply, reassembled.
  virtual boost::asio::awaitable<result<Completion>> stream(CompletionRequest const& request,
                                                            StreamCallback on_delta) = 0;
  virtual std::string_view model_id() const = 0;
  virtual std::string_view provider() const = 0;  ///< "openai", "anthropic", "openai-compatible", "scripted"
};

/// A transport chosen at runtime (cheap to copy: shared).
class AnyTransport {
 public:
  AnyTransport() = default;
  explicit AnyTransport(std::shared_ptr<TransportInterface> impl) : impl_(std::move(impl)) {}

  boost::asio::awaitable<result<Completion>> complete(CompletionRequest const& request) {
    return impl_->complete(request);
  }
  boost::asio::awaitable<result<Completion>> stream(CompletionRequest const& request, StreamCallback on_delta) {
    return impl_->stream(request, std::move(on_delta));
  }
  std::string_view model_id() const { return impl_ ? impl_->model_id() : std::string_view("none"); }
  std::string_view provider() const { return impl_ ? impl_->provider() : std::string_view("none"); }
  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }

 private:
  std::shared_ptr<TransportInterface> impl_;
};

}  // namespace leash::llm

#endif
