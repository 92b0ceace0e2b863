// Definitions of leash/llm/retry.hpp. Included at its end.
#ifndef LEASH_LLM_IMPL_RETRY_HPP
#define LEASH_LLM_IMPL_RETRY_HPP

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace leash::llm {

namespace detail {

inline std::string_view trim_http(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// "12" or "1.5" (in `unit`s) as milliseconds, saturating at a year; empty for anything else (signs, exponents, empty).
inline std::optional<std::chrono::milliseconds> parse_decimal(std::string_view s, double unit_ms) {
  s = trim_http(s);
  if (s.empty()) return std::nullopt;
  double whole = 0, frac = 0, scale = 1;
  bool dot = false, digits = false;
  for (char c : s) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c >= '0' && c <= '9') {
      digits = true;
      if (dot) {
        scale /= 10;
        frac += (c - '0') * scale;
      } else if (whole < 1e12) {
        whole = whole * 10 + (c - '0');
      }
    } else {
      return std::nullopt;
    }
  }
  if (!digits) return std::nullopt;
  double ms = std::min((whole + frac) * unit_ms, 86400.0 * 1000 * 365);
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms + 0.999));  // never shorter than asked
}

/// Splits on spaces, commas and (for RFC 850 dates) dashes.
inline std::vector<std::string_view> date_tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '-')) ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != ',' && s[j] != '-') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

inline std::optional<int> small_number(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

/// An HTTP-date (IMF-fixdate, RFC 850 or asctime form) as a system time.
inline std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  using namespace std::chrono;
  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // IMF-fixdate and RFC 850: weekday, day, month, year, time, "GMT";
  // asctime (no comma, day space-padded): weekday, month, day, time, year.
  auto t = date_tokens(s);
  bool const asctime = s.find(',') == std::string_view::npos;
  if (t.size() != (asctime ? 5u : 6u)) return std::nullopt;
  std::string_view day_s, month_s, year_s, time_s;
  if (asctime) {
    month_s = t[1], day_s = t[2], time_s = t[3], year_s = t[4];
  } else {
    day_s = t[1], month_s = t[2], year_s = t[3], time_s = t[4];
    if (t[5] != "GMT") return std::nullopt;
  }
  auto m = std::find(months.begin(), months.end(), month_s);
  auto day = small_number(day_s), year = small_number(year_s);
  if (m == months.end() || !day || !year || time_s.size() != 8 || time_s[2] != ':' || time_s[5] != ':')
    return std::nullopt;
  auto hh = small_number(time_s.substr(0, 2)), mm = small_number(time_s.substr(3, 2)),
       ss = small_number(time_s.substr(6, 2));
  if (!hh || !mm || !ss || *hh > 23 || *mm > 59 || *ss > 60) return std::nullopt;
  int y = *year;
  if (year_s.size() == 2) y += y < 70 ? 2000 : 1900;  // RFC 850's two-digit years
  year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(m - months.begin() + 1)),
                     std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok()) return std::nullopt;
  return time_point_cast<system_clock::duration>(sys_days(ymd) + hours(*hh) + minutes(*mm) + seconds(*ss));
}

}  // namespace detail

inline bool retryable_status(unsigned status) noexcept {
  return status == 408 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

inline bool retryable_error(Error const& e) noexcept {
  return e == Errc::llm_timeout || e == Errc::llm_unreachable;
}

inline std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                                  std::chrono::system_clock::time_point now) {
  value = detail::trim_http(value);
  if (auto d = detail::parse_decimal(value, 1000.0)) return d;
  auto when = detail::parse_http_date(value);
  if (!when) return std::nullopt;
  if (*when <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(*when - now);
}

inline std::optional<std::chrono::milliseconds> requested_delay(HttpResponse const& response,
                                                                std::chrono::system_clock::time_point now) {
  if (auto ms = response.header("retry-after-ms"))
    if (auto d = detail::parse_decimal(*ms, 1.0)) return d;
  if (auto v = response.header("retry-after")) return parse_retry_after(*v, now);
  return std::nullopt;
}

inline std::chrono::milliseconds backoff_delay(RetryPolicy const& policy, unsigned attempt, std::mt19937_64& rng) {
  using std::chrono::milliseconds;
  auto const max = std::max<milliseconds::rep>(0, policy.max_delay.count());
  auto const base = std::max<milliseconds::rep>(0, policy.base_delay.count());
  // base·2^attempt, without overflowing: past max it no longer matters.
  milliseconds::rep cap = base;
  for (unsigned i = 0; i < attempt && cap < max; ++i) cap *= 2;
  cap = std::min(cap, max);
  std::uniform_int_distribution<milliseconds::rep> pick(0, cap);
  return milliseconds(pick(rng));
}

template <Attempt F>
boost::asio::awaitable<result<HttpResponse>> send_with_retries(RetryPolicy policy, F attempt, RetryTrace* trace) {
  namespace asio = boost::asio;
  // Made on the first backoff only: a call that succeeds at once (nearly all
  // of them) pays neither std::random_device nor the generator's setup, and
  // the generator's 2.5 KB of state is not in the frame of every call parked
  // awaiting a reply (thousands of loops at once).
  std::unique_ptr<std::mt19937_64> rng;
  unsigned const attempts = std::max(1u, policy.max_attempts);
  for (unsigned i = 0;; ++i) {
    result<HttpResponse> outcome = co_await attempt();
    RetryAttempt seen;
    bool again;
    if (outcome) {
      seen.status = outcome.value().status;
      again = retryable_status(seen.status);
    } else {
      seen.error = outcome.error();
      again = retryable_error(outcome.error());
    }
    if (!again || i + 1 >= attempts) {
      if (trace) trace->attempts.push_back(std::move(seen));
      co_return std::move(outcome);
    }
    std::optional<std::chrono::milliseconds> asked;
    if (outcome) asked = requested_delay(outcome.value());
    if (asked) {
      seen.delay = std::min(*asked, std::max(policy.max_delay, std::chrono::milliseconds(0)));
      seen.from_retry_after = true;
    } else {
      if (!rng) rng = std::make_unique<std::mt19937_64>(policy.seed ? *policy.seed : std::random_device{}());
      seen.delay = backoff_delay(policy, i, *rng);
    }
    auto const delay = seen.delay;
    if (trace) trace->attempts.push_back(std::move(seen));
    if (delay.count() > 0) {
      asio::steady_timer timer(co_await asio::this_coro::executor, delay);
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return std::move(outcome);  // cancelled while waiting: the caller is leaving
    }
  }
}

}  // namespace leash::llm

#endif
