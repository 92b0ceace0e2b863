// leash/sim/retry.hpp — a speaker's own retry around one reply: several
// attempts with full-jitter backoff, phrases that mark an error as final,
// and a failure record in the reference's metadata shape.
//
//   leash::sim::SpeakerRetry retry;                    // 4 attempts, 0.75 s … 8 s
//   leash::json::object metadata;
//   leash::sim::RetryContext ctx;
//   ctx.provider = "openai";
//   ctx.role = leash::sim::Role::provider;
//   ctx.model = "gpt-4o-mini";
//   ctx.no_retry = {"insufficient_quota"};
//   auto once = [&]() -> boost::asio::awaitable<leash::result<leash::sim::Reply>> { … };
//   auto reply = co_await leash::sim::run_with_retry(retry, std::move(once), metadata, ctx);
//   // failed: reply.error() says why, and `metadata` holds the last attempt's failure record
//
// This sits above the transport's HTTP retries (llm::RetryPolicy): those
// repeat one request on 429/5xx/timeouts; this repeats the whole reply,
// whatever failed.
//
// Reference: VERA-MH's LLMInterface._run_with_retry (reference §3.5). Kept:
// attempts (max_retries + 1), full jitter, the no-retry substrings, the
// metadata keys and the two failure messages. Changed:
//  * failures are values: the final error keeps the original Errc (the
//    message says "LLM error (non-retryable): …" or "LLM call failed after N
//    attempts: …") instead of raising LLMGenerationFailed chained to it;
//  * the reference re-raises LLMGenerationFailed at once: here an
//    Errc::speaker_failed error *returned* by an attempt is final and passes
//    through unchanged, while an exception the attempt *throws* is an ordinary
//    (retryable) failure with code speaker_failed;
//  * some errors are final whatever their text: Errc::llm_auth_failed,
//    llm_request_rejected, invalid_transport_spec and llm_response_too_large
//    (a refused key or request does not get better by asking again);
//  * an empty string in the no-retry list matches nothing (in the reference
//    it matches every error, which is never what a configuration means).
#ifndef LEASH_SIM_RETRY_HPP
#define LEASH_SIM_RETRY_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/sim/speaker.hpp>

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace leash::sim {

/// How often and how patiently a speaker tries to get one reply.
struct SpeakerRetry {
  unsigned max_retries = 3;  ///< retries after the first attempt: 4 attempts in all
  double base_delay_s = 0.75;
  double max_delay_s = 8.0;
  /// Seeds the jitter; empty: std::random_device. Tests set it.
  std::optional<std::uint64_t> seed;
  /// The wait (seconds) before the retry that follows failed attempt
  /// `attempt` (1-based); empty: full_jitter_delay(attempt, base, max, rng).
  std::function<double(unsigned attempt)> delay;
  /// Waits that long; empty: a steady_timer on the current executor.
  std::function<boost::asio::awaitable<void>(double seconds)> sleep;
};

/// Full jitter: uniform in [0, min(base·2^(attempt−1), max)] seconds
/// (attempt is 1-based; 0 counts as 1). 0 when that bound is not positive.
double full_jitter_delay(unsigned attempt, double base, double max, std::mt19937_64& rng);

/// Whether `error_text` contains any of `substrings` (case-sensitive, as
/// literals). An empty list, or an empty entry, matches nothing.
bool matches_no_retry(std::string_view error_text, std::vector<std::string> const& substrings);

/// Errors that no retry can mend, whatever their text: a refused key
/// (llm_auth_failed), a refused request (llm_request_rejected, which also
/// covers exhausted quota), a bad transport spec, an over-size response.
bool inherently_non_retryable(std::error_code const& code) noexcept;

/// Who is asking, for the failure record.
struct RetryContext {
  std::string provider;
  Role role = Role::provider;
  std::string model;
  /// Error phrases that make a failure final (the speaker's and this call's).
  std::vector<std::string> no_retry;
};

/// Called after each failed attempt; a non-empty object it returns is merged
/// into the failure record (its keys win).
using RetryErrorHook =
    std::function<json::object(Error const& err, unsigned attempt, unsigned max_attempts, bool retryable, bool will_retry)>;

/// A ReplyAttempt is called with no arguments, once per attempt, and returns
/// the awaitable of one attempt.
template <class F>
concept ReplyAttempt = std::invocable<F&> &&
                       std::same_as<std::invoke_result_t<F&>, boost::asio::awaitable<result<Reply>>>;

/// Calls `attempt()` up to options.max_retries + 1 times until it gives a
/// reply, clearing `metadata` before each attempt.
///
/// A failed attempt (an Error, or an exception it threw, taken as
/// Errc::speaker_failed with the exception's text) sets `metadata` to
/// {response_id: null, model, provider, role, timestamp, usage: {}, error,
/// attempt, max_attempts, retryable, will_retry} plus what `on_error` adds.
/// It is final when its text contains one of ctx.no_retry or its code is
/// inherently_non_retryable(): the result is then an Error with the same code
/// and the message "LLM error (non-retryable): <message>". Otherwise, unless
/// it was the last attempt, `metadata["retry_delay_seconds"]` records the
/// wait (rounded to milliseconds), the wait is slept, and the next attempt
/// follows; after the last, the error is "LLM call failed after N attempts:
/// <message>", code kept. A cancelled wait ends the retries the same way.
///
/// An Errc::speaker_failed error that an attempt *returns* is already final
/// (a speaker that gave up on its own): it is returned unchanged at once, and
/// `metadata`, if the attempt left it empty, gets a record with retryable and
/// will_retry false.
///
/// On success the reply is returned and `metadata` is left as the attempt
/// left it (empty, unless the attempt wrote it): the caller fills it.
///
/// `options`, `metadata` and `ctx` are referred to, not copied: they must
/// outlive the awaitable (co_await it at once).
template <ReplyAttempt F>
boost::asio::awaitable<result<Reply>> run_with_retry(SpeakerRetry const& options, F attempt, json::object& metadata,
                                                     RetryContext const& ctx, RetryErrorHook on_error = {});

}  // namespace leash::sim

#include <leash/sim/impl/retry.hpp>

#endif
