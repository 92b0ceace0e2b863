// leash/sim/impl/retry.hpp — definitions for sim/retry.hpp.
#ifndef LEASH_SIM_IMPL_RETRY_HPP
#define LEASH_SIM_IMPL_RETRY_HPP

#include <leash/sim/detail/time_text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <utility>

namespace leash::sim {

inline double full_jitter_delay(unsigned attempt, double base, double max, std::mt19937_64& rng) {
  if (attempt == 0) attempt = 1;
  if (!(base > 0.0) || !(max > 0.0)) return 0.0;  // also NaN
  // base·2^(attempt−1) without overflow: once past max the doubling no longer matters.
  double cap = base;
  for (unsigned i = 1; i < attempt && cap < max; ++i) cap *= 2.0;
  cap = std::min(cap, max);
  if (!std::isfinite(cap)) return 0.0;
  std::uniform_real_distribution<double> pick(0.0, cap);
  return std::min(pick(rng), cap);  // the distribution may round up to its bound
}

inline bool matches_no_retry(std::string_view error_text, std::vector<std::string> const& substrings) {
  for (auto const& s : substrings)
    if (!s.empty() && error_text.find(s) != std::string_view::npos) return true;
  return false;
}

inline bool inherently_non_retryable(std::error_code const& code) noexcept {
  return code == make_error_code(Errc::llm_auth_failed) || code == make_error_code(Errc::llm_request_rejected) ||
         code == make_error_code(Errc::invalid_transport_spec) ||
         code == make_error_code(Errc::llm_response_too_large);
}

namespace detail {

inline json::object failure_record(RetryContext const& ctx, Error const& err, unsigned attempt, unsigned max_attempts,
                                   bool retryable, bool will_retry) {
  json::object m;
  m["response_id"] = nullptr;
  m["model"] = ctx.model;
  m["provider"] = ctx.provider;
  m["role"] = to_string(ctx.role);
  m["timestamp"] = iso_utc(0);
  m["usage"] = json::object{};
  m["error"] = err.what();
  m["attempt"] = static_cast<std::int64_t>(attempt);
  m["max_attempts"] = static_cast<std::int64_t>(max_attempts);
  m["retryable"] = retryable;
  m["will_retry"] = will_retry;
  return m;
}

inline boost::asio::awaitable<void> sleep_on_timer(double seconds) {
  namespace asio = boost::asio;
  if (!(seconds > 0.0)) co_return;
  seconds = std::min(seconds, 1e6);  // a wild injected delay must not overflow the timer's duration
  asio::steady_timer timer(co_await asio::this_coro::executor,
                           std::chrono::duration_cast<asio::steady_timer::duration>(std::chrono::duration<double>(seconds)));
  // A cancelled wait is not an error here: the loop checks the cancellation state next.
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

template <class F>
boost::asio::awaitable<result<Reply>> retry_loop(SpeakerRetry const& options, F attempt, json::object& metadata,
                                                 RetryContext const& ctx, RetryErrorHook on_error) {
  namespace asio = boost::asio;
  unsigned const max_attempts = options.max_retries == UINT_MAX ? UINT_MAX : options.max_retries + 1;
  // Made on the first backoff only: most replies succeed at once and should
  // pay neither std::random_device nor the generator's state in their frame.
  std::unique_ptr<std::mt19937_64> rng;
  for (unsigned n = 1;; ++n) {
    metadata.clear();  // a stale record must not pass for this attempt's
    Error failure;
    bool thrown = false;
    try {
      result<Reply> outcome = co_await attempt();
      if (outcome) co_return std::move(outcome);
      failure = std::move(outcome).error();
    } catch (std::exception const& e) {
      failure = Error{Errc::speaker_failed, e.what()};
      thrown = true;
    } catch (...) {
      failure = Error{Errc::speaker_failed, "the speaker threw an exception of unknown type"};
      thrown = true;
    }

    // The reference's LLMGenerationFailed: the attempt already gave up.
    if (!thrown && failure == Errc::speaker_failed) {
      if (metadata.empty()) metadata = failure_record(ctx, failure, n, max_attempts, false, false);
      co_return failure;
    }

    std::string const text = failure.what();
    bool const retryable = !inherently_non_retryable(failure.code) && !matches_no_retry(text, ctx.no_retry);
    bool const will_retry = retryable && n < max_attempts;
    metadata = failure_record(ctx, failure, n, max_attempts, retryable, will_retry);
    if (on_error) {
      json::object extra = on_error(failure, n, max_attempts, retryable, will_retry);
      for (auto& kv : extra) metadata[kv.key()] = std::move(kv.value());
    }
    if (!retryable) co_return Error{failure.code, "LLM error (non-retryable): " + text};
    if (!will_retry)
      co_return Error{failure.code, "LLM call failed after " + std::to_string(max_attempts) + " attempts: " + text};

    double wait = 0.0;
    if (options.delay) {
      wait = options.delay(n);
    } else {
      if (!rng) rng = std::make_unique<std::mt19937_64>(options.seed ? *options.seed : std::random_device{}());
      wait = full_jitter_delay(n, options.base_delay_s, options.max_delay_s, *rng);
    }
    if (!(wait > 0.0)) wait = 0.0;  // negative or NaN from an injected function
    metadata["retry_delay_seconds"] = std::round(wait * 1000.0) / 1000.0;
    if (options.sleep)
      co_await options.sleep(wait);
    else
      co_await sleep_on_timer(wait);

    // Cancelled while waiting: the caller is leaving; do not start another call.
    asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
      co_return Error{failure.code, "LLM call failed after " + std::to_string(n) + " attempts: " + text};
  }
}

}  // namespace detail

// Not itself a coroutine: the arguments (temporaries included) are bound
// here and moved into the coroutine's frame, which sidesteps GCC 12's
// mishandling of temporaries passed straight to by-value coroutine parameters.
template <ReplyAttempt F>
boost::asio::awaitable<result<Reply>> run_with_retry(SpeakerRetry const& options, F attempt, json::object& metadata,
                                                     RetryContext const& ctx, RetryErrorHook on_error) {
  return detail::retry_loop(options, std::move(attempt), metadata, ctx, std::move(on_error));
}

}  // namespace leash::sim

#endif
