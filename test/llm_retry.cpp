// llm/retry.hpp: the pure parts directly, send_with_retries against a real
// loopback server (test/http_server.hpp) and against scripted attempts.
#include <leash/llm/retry.hpp>

#include "http_server.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <deque>
#include <set>

using namespace std::chrono_literals;
using leash::Errc;
using leash::Error;
using leash::result;
using leash::llm::HttpClient;
using leash::llm::HttpOptions;
using leash::llm::HttpRequest;
using leash::llm::HttpResponse;
using leash::llm::RetryPolicy;
using leash::llm::RetryTrace;
using leash_test::drive;
using leash_test::HttpServer;
using leash_test::ReceivedRequest;
using leash_test::Reply;
namespace asio = boost::asio;
namespace llm = leash::llm;

namespace {

/// Small waits so the suite stays fast; the seed makes the jitter repeatable.
RetryPolicy fast_policy(unsigned attempts = 4) {
  RetryPolicy p;
  p.max_attempts = attempts;
  p.base_delay = 1ms;
  p.max_delay = 50ms;
  p.seed = 42;
  return p;
}

HttpOptions quick() {
  HttpOptions o;
  o.connect_timeout = 5s;
  o.request_timeout = 10s;
  return o;
}

/// Replies in turn from `script` (the last one repeats).
struct Script {
  std::mutex mutex;
  std::deque<Reply> replies;
  Reply next() {
    std::lock_guard lock(mutex);
    Reply r = replies.front();
    if (replies.size() > 1) replies.pop_front();
    return r;
  }
};

result<HttpResponse> send(HttpClient& http, std::string url, RetryPolicy policy, RetryTrace* trace) {
  HttpRequest req{"POST", std::move(url), {{"Authorization", "Bearer sk-x"}}, "{}"};
  return drive(llm::send_with_retries(policy, [&] { return http.request(req); }, trace));
}

Reply with_status(unsigned status, std::string body = "") { return Reply::json(std::move(body), status); }

using sys = std::chrono::system_clock;
sys::time_point at(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d)) +
         std::chrono::hours(hh) + std::chrono::minutes(mm) + std::chrono::seconds(ss);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(llm_retry)

BOOST_AUTO_TEST_CASE(retryable_statuses_and_errors)
{
  for (unsigned s : {408u, 409u, 429u, 500u, 502u, 503u, 504u, 599u}) BOOST_TEST(llm::retryable_status(s), s);
  for (unsigned s : {200u, 201u, 204u, 301u, 400u, 401u, 403u, 404u, 413u, 422u, 600u})
    BOOST_TEST(!llm::retryable_status(s), s);
  BOOST_TEST(llm::retryable_error(Error(Errc::llm_timeout)));
  BOOST_TEST(llm::retryable_error(Error(Errc::llm_unreachable)));
  for (auto e : {Errc::tls_failed, Errc::llm_bad_response, Errc::llm_response_too_large, Errc::invalid_config,
                 Errc::invalid_transport_spec, Errc::llm_auth_failed})
    BOOST_TEST(!llm::retryable_error(Error(e)));
}

BOOST_AUTO_TEST_CASE(parse_retry_after_forms)
{
  BOOST_TEST(llm::parse_retry_after("1").value() == 1000ms);
  BOOST_TEST(llm::parse_retry_after(" 120 ").value() == 120000ms);
  BOOST_TEST(llm::parse_retry_after("0").value() == 0ms);
  BOOST_TEST(llm::parse_retry_after("1.5").value() == 1500ms);
  for (auto bad : {"", " ", "-1", "+3", "1e3", "soon", "12s", "1.2.3", "Sun, 06 Nov 1994 08:49:37 PST",
                   "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT"})
    BOOST_TEST(!llm::parse_retry_after(bad).has_value(), bad);

  auto const now = at(1994, 11, 6, 8, 49, 7);
  BOOST_TEST(llm::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now).value() == 30000ms);  // IMF-fixdate
  BOOST_TEST(llm::parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now).value() == 30000ms);  // RFC 850
  BOOST_TEST(llm::parse_retry_after("Sun Nov  6 08:49:37 1994", now).value() == 30000ms);        // asctime
  BOOST_TEST(llm::parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now).value() == 0ms);       // past
  BOOST_TEST(llm::parse_retry_after("Mon, 07 Nov 1994 08:49:07 GMT", now).value() == 86400000ms);

  HttpResponse r;
  r.headers = {{"Retry-After", "2"}};
  BOOST_TEST(llm::requested_delay(r).value() == 2000ms);
  r.headers.emplace_back("retry-after-ms", "150");
  BOOST_TEST(llm::requested_delay(r).value() == 150ms);
  BOOST_TEST(!llm::requested_delay(HttpResponse{}).has_value());
}

BOOST_AUTO_TEST_CASE(backoff_is_bounded_and_deterministic)
{
  RetryPolicy p;
  p.base_delay = 100ms;
  p.max_delay = 1000ms;
  std::mt19937_64 a(7), b(7);
  for (unsigned attempt = 0; attempt < 70; ++attempt) {
    auto cap = std::min<long long>(1000, 100LL << std::min(attempt, 20u));
    for (int i = 0; i < 20; ++i) {
      auto d = llm::backoff_delay(p, attempt, a);
      BOOST_TEST(d.count() >= 0);
      BOOST_TEST(d.count() <= cap);
      BOOST_TEST(d == llm::backoff_delay(p, attempt, b));  // same seed, same sequence
    }
  }
  // Full jitter really spreads: over many draws at the cap, not all the same.
  std::mt19937_64 c(1);
  std::set<long long> seen;
  for (int i = 0; i < 50; ++i) seen.insert(llm::backoff_delay(p, 10, c).count());
  BOOST_TEST(seen.size() > 10u);
  RetryPolicy zero;
  zero.base_delay = 0ms;
  BOOST_TEST(llm::backoff_delay(zero, 3, c) == 0ms);
}

BOOST_AUTO_TEST_CASE(rate_limited_then_success_honours_retry_after,
                     *boost::unit_test::description("Retry-After: 12 capped at max_delay = 50 ms"))
{
  Script script;
  Reply limited = with_status(429, R"({"error":"slow down"})");
  limited.headers.emplace_back("Retry-After", "12");
  script.replies = {limited, with_status(200, "{}")};
  HttpServer server([&](ReceivedRequest const&) { return script.next(); });
  HttpClient http(quick());
  RetryTrace trace;
  auto start = std::chrono::steady_clock::now();
  auto r = send(http, server.url("/"), fast_policy(), &trace);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 10s));  // did not wait the 12 seconds
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == 200u);
  BOOST_TEST_REQUIRE(trace.attempts.size() == 2u);
  BOOST_TEST(trace.attempts[0].status == 429u);
  BOOST_TEST(trace.attempts[0].from_retry_after);
  BOOST_TEST(trace.attempts[0].delay == 50ms);
  BOOST_TEST(trace.attempts[1].status == 200u);
  BOOST_TEST(trace.attempts[1].delay == 0ms);

  // A delay below the cap is taken as asked (OpenAI's retry-after-ms).
  Reply soon = with_status(429);
  soon.headers.emplace_back("retry-after-ms", "7");
  script.replies = {soon, with_status(200)};
  RetryTrace trace2;
  BOOST_TEST(send(http, server.url("/"), fast_policy(), &trace2).has_value());
  BOOST_TEST_REQUIRE(trace2.attempts.size() == 2u);
  BOOST_TEST(trace2.attempts[0].delay == 7ms);
}

BOOST_AUTO_TEST_CASE(server_error_then_success)
{
  Script script;
  script.replies = {with_status(500, "oops"), with_status(200, R"({"ok":true})")};
  HttpServer server([&](ReceivedRequest const&) { return script.next(); });
  HttpClient http(quick());
  RetryTrace trace;
  auto r = send(http, server.url("/"), fast_policy(), &trace);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == 200u);
  BOOST_TEST(r.value().body == R"({"ok":true})");
  BOOST_TEST(trace.attempts.size() == 2u);
  BOOST_TEST(!trace.attempts[0].from_retry_after);
  BOOST_TEST(trace.attempts[0].delay <= 1ms);  // backoff: uniform in [0, base_delay]
  BOOST_TEST(server.request_count() == 2u);
}

BOOST_AUTO_TEST_CASE(client_error_is_not_retried)
{
  HttpServer server([](ReceivedRequest const&) { return with_status(400, R"({"error":"bad request"})"); });
  HttpClient http(quick());
  RetryTrace trace;
  auto r = send(http, server.url("/"), fast_policy(), &trace);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == 400u);
  BOOST_TEST(r.value().body == R"({"error":"bad request"})");
  BOOST_TEST(trace.attempts.size() == 1u);
  BOOST_TEST(server.request_count() == 1u);
}

BOOST_AUTO_TEST_CASE(exhausted_attempts_return_the_last_response)
{
  std::atomic<int> n{0};
  HttpServer server([&](ReceivedRequest const&) { return with_status(503, "attempt " + std::to_string(++n)); });
  HttpClient http(quick());
  RetryTrace trace;
  auto r = send(http, server.url("/"), fast_policy(3), &trace);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == 503u);
  BOOST_TEST(r.value().body == "attempt 3");
  BOOST_TEST(trace.attempts.size() == 3u);
  BOOST_TEST(trace.attempts.back().delay == 0ms);
  BOOST_TEST(server.request_count() == 3u);

  // max_attempts 1 (and 0) means a single try.
  RetryTrace once;
  BOOST_TEST(send(http, server.url("/"), fast_policy(0), &once).value().status == 503u);
  BOOST_TEST(once.attempts.size() == 1u);
}

BOOST_AUTO_TEST_CASE(reset_connection_then_success)
{
  Script script;
  script.replies = {Reply::reset(), Reply::text("ok")};
  HttpServer server([&](ReceivedRequest const&) { return script.next(); });
  HttpClient http(quick());
  RetryTrace trace;
  auto r = send(http, server.url("/"), fast_policy(), &trace);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().body == "ok");
  BOOST_TEST_REQUIRE(trace.attempts.size() == 2u);
  BOOST_TEST_REQUIRE(trace.attempts[0].error.has_value());
  BOOST_TEST(*trace.attempts[0].error == Errc::llm_unreachable);
  BOOST_TEST(trace.attempts[0].status == 0u);
}

BOOST_AUTO_TEST_CASE(errors_without_a_server)
{
  // Scripted attempts: timeouts are retried, then the last error comes back;
  // a TLS failure is final at once.
  int calls = 0;
  RetryTrace trace;
  auto r = drive(llm::send_with_retries(
      fast_policy(3),
      [&]() -> asio::awaitable<result<HttpResponse>> {
        ++calls;
        co_return Error(Errc::llm_timeout, "attempt " + std::to_string(calls));
      },
      &trace));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message == "attempt 3");
  BOOST_TEST(calls == 3);
  BOOST_TEST(trace.attempts.size() == 3u);

  calls = 0;
  auto tls = drive(llm::send_with_retries(fast_policy(3), [&]() -> asio::awaitable<result<HttpResponse>> {
    ++calls;
    co_return Error(Errc::tls_failed, "certificate verify failed");
  }));
  BOOST_TEST(tls.error() == Errc::tls_failed);
  BOOST_TEST(calls == 1);

  // Nothing listening: llm_unreachable each time, retried, then returned.
  HttpClient http(quick());
  RetryTrace refused;
  auto const nowhere = "http://127.0.0.1:" + std::to_string(leash_test::unused_port()) + "/";
  auto down = send(http, nowhere, fast_policy(2), &refused);
  BOOST_TEST_REQUIRE(!down.has_value());
  BOOST_TEST(down.error() == Errc::llm_unreachable);
  BOOST_TEST(refused.attempts.size() == 2u);
}

BOOST_AUTO_TEST_CASE(seeded_policies_wait_the_same)
{
  auto delays = [] {
    RetryTrace trace;
    RetryPolicy p = fast_policy(5);
    p.base_delay = 2ms;
    p.max_delay = 20ms;
    p.seed = 99;
    (void)drive(llm::send_with_retries(
        p, []() -> asio::awaitable<result<HttpResponse>> { co_return HttpResponse{502, {}, {}}; }, &trace));
    std::vector<long long> out;
    for (auto const& a : trace.attempts) out.push_back(a.delay.count());
    return out;
  };
  auto first = delays();
  BOOST_TEST(first.size() == 5u);
  BOOST_TEST(first == delays());
}

BOOST_AUTO_TEST_SUITE_END()
