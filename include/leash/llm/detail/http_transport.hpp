// leash/llm/detail/http_transport.hpp — what the network transports share:
// one JSON POST with retries, read whole or as server-sent events, the
// provider's error body mapped to an Error, and the key kept out of every
// message.
#ifndef LEASH_LLM_DETAIL_HTTP_TRANSPORT_HPP
#define LEASH_LLM_DETAIL_HTTP_TRANSPORT_HPP

#include <leash/llm/detail/protocol.hpp>
#include <leash/llm/http.hpp>
#include <leash/llm/retry.hpp>
#include <leash/llm/sse.hpp>
#include <leash/llm/transport.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace leash::llm::detail {

/// What a protocol lends the shared sending code.
struct ProtocolHooks {
  std::string provider;  ///< names the server in messages: "openai", "openai-compatible", "anthropic"
  result<Completion> (*parse)(std::string_view body, std::string_view provider);
  Error (*error)(std::string_view provider, unsigned status, std::string_view body);
  bool (*retryable)(unsigned status, std::string_view body);
};

inline bool is_success_status(unsigned status) { return status >= 200 && status < 300; }

/// A reply's retries (Completion::retries, ::retry_wait_s) from the attempts behind it.
inline void note_retries(Completion& c, RetryTrace const& trace) {
  c.retries = trace.attempts.empty() ? 0u : static_cast<unsigned>(trace.attempts.size() - 1);
  std::chrono::milliseconds waited{0};
  for (auto const& a : trace.attempts) waited += a.delay;
  c.retry_wait_s = std::chrono::duration<double>(waited).count();
}

/// `e` with `secret` blotted out of its message (a server may echo the key).
inline Error scrubbed(Error e, std::string_view secret) {
  redact(e.message, secret);
  return e;
}

/// An HTTP-layer failure, said by whom.
inline Error from_transport(Error e, std::string_view provider, std::string_view secret) {
  e.message = std::string(provider) + ": " + e.what();
  return scrubbed(std::move(e), secret);
}

/// The environment variable's value, or "".
inline std::string env_or_empty(char const* name) {
  char const* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

/// A base URL without its trailing slashes.
inline std::string trim_base_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

/// The retry policy's view of a response: a status that retrying cannot fix
/// although retryable_status() says otherwise (an exhausted quota sent as
/// 429) ends the attempts with its error at once.
inline std::optional<Error> final_status_error(ProtocolHooks const& hooks, HttpResponse const& r) {
  if (is_success_status(r.status) || !retryable_status(r.status)) return std::nullopt;
  if (hooks.retryable(r.status, r.body)) return std::nullopt;
  return hooks.error(hooks.provider, r.status, r.body);
}

// GCC 12 at -O2 miscompiled an earlier shape of this code (a lambda
// coroutine per attempt, temporaries forwarded into by-value coroutine
// parameters: a double free that -O1 and ASan did not show). So below: named
// coroutine functions over state that the calling coroutine's frame owns,
// attempts as plain lambdas returning their awaitable, no temporaries.

/// One call's state, owned by the calling coroutine's frame.
struct HttpCall {
  std::shared_ptr<HttpClient> http;
  std::shared_ptr<HttpRequest const> request;  // shared with each attempt, never copied
  ProtocolHooks hooks;
  std::string secret;                // the key, kept out of every message
  std::optional<Error> final_error;  // a status retrying cannot fix
};

/// One attempt of a whole-body request.
inline boost::asio::awaitable<result<HttpResponse>> attempt_whole(HttpCall& call) {
  result<HttpResponse> r = co_await call.http->request(call.request);
  if (r.has_value()) {
    call.final_error = final_status_error(call.hooks, r.value());
    if (call.final_error) co_return *call.final_error;
  }
  co_return r;
}

/// One completion over HTTP: send with retries, read the whole body, parse.
inline boost::asio::awaitable<result<Completion>> complete_over_http(HttpCall& call, RetryPolicy const& policy,
                                                                     bool keep_raw) {
  RetryTrace trace;
  result<HttpResponse> outcome = co_await send_with_retries(policy, [&call] { return attempt_whole(call); }, &trace);
  if (call.final_error) co_return scrubbed(*call.final_error, call.secret);
  if (outcome.has_error()) co_return from_transport(outcome.error(), call.hooks.provider, call.secret);
  HttpResponse const& response = outcome.value();
  if (!is_success_status(response.status))
    co_return scrubbed(call.hooks.error(call.hooks.provider, response.status, response.body), call.secret);
  result<Completion> parsed = call.hooks.parse(response.body, call.hooks.provider);
  if (parsed.has_error()) co_return scrubbed(parsed.error(), call.secret);
  if (keep_raw) {
    parsed.value().raw_body = response.body;
    redact(parsed.value().raw_body, call.secret);
  }
  note_retries(parsed.value(), trace);
  co_return parsed;
}

/// A streamed call's state. `Assembler` has `feed(SseEvent const&,
/// StreamCallback const&) -> result<void>` and `finish() -> result<Completion>`.
template <class Assembler>
struct StreamCall {
  HttpCall call;
  std::function<Assembler()> make_assembler;
  StreamCallback on_delta;
  bool keep_raw = false;

  std::optional<Assembler> assembler;
  SseParser parser;
  std::optional<Error> consumer_error;  // the stream broke the protocol (or the callback threw)
  std::optional<Error> broken;          // a failure after deltas were delivered: not retried
  bool delivered = false;
  std::string raw;
  // Until the first event: the bytes, in case the server ignored `stream`
  // and answered with one JSON document (some compatible servers do).
  bool any_event = false;
  std::string leading;
  std::optional<Completion> whole;

  void forward(StreamDelta const& d) {
    delivered = true;
    if (!on_delta) return;
    try {
      on_delta(d);
    } catch (std::exception const& e) {
      if (!consumer_error)
        consumer_error = Error{Errc::llm_bad_response, call.hooks.provider + ": the stream callback threw: " + e.what()};
    } catch (...) {
      if (!consumer_error)
        consumer_error = Error{Errc::llm_bad_response, call.hooks.provider + ": the stream callback threw"};
    }
  }
  void event(SseEvent const& e) {
    if (!any_event) {
      any_event = true;
      leading.clear();
      leading.shrink_to_fit();
    }
    if (consumer_error) return;
    result<void> fed = assembler->feed(e, [this](StreamDelta const& d) { forward(d); });
    if (fed.has_error()) consumer_error = fed.error();
  }
  /// The server answered a streaming request with one JSON document: parse
  /// it as a whole reply and hand it to the callback in one piece per part.
  void answered_whole() {
    result<Completion> parsed = call.hooks.parse(leading, call.hooks.provider);
    if (parsed.has_error()) {
      consumer_error = parsed.error();
      return;
    }
    Completion const& c = parsed.value();
    if (!c.text.empty()) forward(StreamDelta{StreamDelta::Kind::text, 0, {}, {}, c.text});
    for (std::size_t k = 0; k < c.tool_calls.size(); ++k) {
      auto const& t = c.tool_calls[k];
      forward(StreamDelta{StreamDelta::Kind::tool_call_start, k, t.id, t.name, {}});
      forward(StreamDelta{StreamDelta::Kind::tool_call_args, k, {}, {},
                          t.args.is_string() ? std::string(t.args.get_string()) : json::serialize(t.args)});
    }
    whole = std::move(parsed).value();
  }

  void body(std::string_view chunk) {
    if (keep_raw) raw.append(chunk);
    if (!any_event) leading.append(chunk);
    // After an error the rest is drained unread.
    if (!consumer_error) parser.feed(chunk, [this](SseEvent const& e) { event(e); });
  }
};

/// One attempt of a streamed request: a fresh parser and assembler each time.
template <class Assembler>
boost::asio::awaitable<result<HttpResponse>> attempt_stream(StreamCall<Assembler>& s) {
  s.assembler.emplace(s.make_assembler());
  s.parser = SseParser{};
  s.consumer_error.reset();
  s.raw.clear();
  s.any_event = false;
  s.leading.clear();
  s.whole.reset();
  std::function<void(std::string_view)> on_body = [&s](std::string_view chunk) { s.body(chunk); };
  result<HttpResponse> r = co_await s.call.http->request_streaming(s.call.request, std::move(on_body));
  if (r.has_error()) {
    if (!s.delivered) co_return r;
    // Seen as a success by the retry loop, so that it stops; reported by the caller.
    s.broken = r.error();
    co_return HttpResponse{200, {}, {}};
  }
  s.call.final_error = final_status_error(s.call.hooks, r.value());
  if (s.call.final_error) co_return *s.call.final_error;
  if (is_success_status(r.value().status)) {
    s.parser.finish([&s](SseEvent const& e) { s.event(e); });
    auto type = r.value().header("content-type");
    if (!s.any_event && type && type->find("json") != std::string_view::npos) s.answered_whole();
  }
  co_return r;
}

/// One streamed completion over HTTP. An attempt that fails before any delta
/// reached the callback is retried from scratch; once the consumer has seen
/// part of a reply, a failure is final (retrying would show it the beginning
/// twice).
template <class Assembler>
boost::asio::awaitable<result<Completion>> stream_over_http(StreamCall<Assembler>& s, RetryPolicy const& policy) {
  RetryTrace trace;
  result<HttpResponse> outcome = co_await send_with_retries(policy, [&s] { return attempt_stream(s); }, &trace);
  std::string const& secret = s.call.secret;
  if (s.broken) {
    Error e = *s.broken;
    e.message = s.call.hooks.provider + ": the stream broke after the reply had begun (not retried): " + e.what();
    co_return scrubbed(std::move(e), secret);
  }
  if (s.call.final_error) co_return scrubbed(*s.call.final_error, secret);
  if (outcome.has_error()) co_return from_transport(outcome.error(), s.call.hooks.provider, secret);
  HttpResponse const& response = outcome.value();
  if (!is_success_status(response.status))
    co_return scrubbed(s.call.hooks.error(s.call.hooks.provider, response.status, response.body), secret);
  if (s.consumer_error) co_return scrubbed(*s.consumer_error, secret);
  result<Completion> done = s.whole ? result<Completion>(std::move(*s.whole)) : s.assembler->finish();
  if (done.has_error()) co_return scrubbed(done.error(), secret);
  if (s.keep_raw) {
    done.value().raw_body = std::move(s.raw);
    redact(done.value().raw_body, secret);
  }
  note_retries(done.value(), trace);
  co_return done;
}

}  // namespace leash::llm::detail

#endif
