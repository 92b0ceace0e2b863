// leash/llm/retry.hpp — retries above the HTTP client: which outcomes are worth
// another attempt, how long to wait (the server's Retry-After, else
// exponential backoff with full jitter), and the loop that does it.
//
//   leash::llm::RetryTrace trace;
//   auto r = co_await leash::llm::send_with_retries(
//       options.retry, [&] { return http.request(request); }, &trace);
//   // r: the last response (maybe a 429 or 500, for its error body) or the last Error
//
// One attempt is one HttpClient call; the client's own transparent reconnect
// (a parked connection found closed) is not an attempt here.
#ifndef LEASH_LLM_RETRY_HPP
#define LEASH_LLM_RETRY_HPP

#include <leash/error.hpp>
#include <leash/llm/http.hpp>
#include <leash/llm/transport.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <concepts>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

namespace leash::llm {

/// 408, 409, 429 and every 5xx: statuses a later attempt may not get.
bool retryable_status(unsigned status) noexcept;

/// Errc::llm_timeout and Errc::llm_unreachable (connect, reset, truncated
/// body): failures of the path, not of the request.
bool retryable_error(Error const& e) noexcept;

/// A Retry-After value as a delay: delta-seconds ("120"; a fraction is
/// tolerated) or an HTTP-date in any of the three forms RFC 9110 names
/// ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
/// "Sun Nov  6 08:49:37 1994"), counted from `now` (a date in the past: 0).
/// Empty when the value is neither.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// The wait a response asks for: `retry-after-ms` (OpenAI's, milliseconds)
/// if present and valid, else `Retry-After`. Uncapped.
std::optional<std::chrono::milliseconds> requested_delay(
    HttpResponse const& response, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Full jitter: uniform in [0, min(max_delay, base_delay·2^attempt)], where
/// `attempt` counts failed attempts from 0 (the wait after the first failure
/// is at most base_delay). Deterministic for a given `rng` state.
std::chrono::milliseconds backoff_delay(RetryPolicy const& policy, unsigned attempt, std::mt19937_64& rng);

/// One attempt, as send_with_retries saw it.
struct RetryAttempt {
  unsigned status = 0;                 ///< the response's status; 0 when the attempt failed
  std::optional<Error> error;          ///< the failure, when there was no response
  std::chrono::milliseconds delay{0};  ///< waited before the next attempt; 0 after the last
  bool from_retry_after = false;       ///< `delay` is the server's Retry-After (capped at max_delay)
};

/// Every attempt of one send_with_retries call, in order.
struct RetryTrace {
  std::vector<RetryAttempt> attempts;
};

/// An `Attempt` is called with no arguments, as often as needed, and returns
/// the awaitable of one attempt.
template <class F>
concept Attempt = std::invocable<F&> &&
                  std::same_as<std::invoke_result_t<F&>, boost::asio::awaitable<result<HttpResponse>>>;

/// Calls `attempt()` up to `policy.max_attempts` times (at least once) while
/// the outcome is a retryable error or a retryable status, waiting between
/// attempts on a timer of the current executor: the server's requested delay
/// (capped at max_delay) when it sent one, else backoff_delay(). Returns the
/// last outcome as it is: a 429/5xx response when attempts ran out (so the
/// protocol can read the provider's error body), or the last Error.
/// Cancellation during a wait returns the last outcome at once. Jitter is
/// seeded from `policy.seed` when set.
///
/// With HttpClient::request_streaming, an attempt that fails after `on_body`
/// saw bytes should report a non-retryable error (the consumer cannot un-see
/// them), or reset the consumer before the next attempt.
template <Attempt F>
boost::asio::awaitable<result<HttpResponse>> send_with_retries(RetryPolicy policy, F attempt,
                                                               RetryTrace* trace = nullptr);

}  // namespace leash::llm

#include <leash/llm/impl/retry.hpp>

#endif
