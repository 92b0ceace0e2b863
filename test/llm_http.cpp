// llm/http.hpp against a real loopback server (test/http_server.hpp): no mocks.
#include <leash/llm/http.hpp>

#include "http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <sstream>

using namespace std::chrono_literals;
using leash::Errc;
using leash::llm::HttpClient;
using leash::llm::HttpOptions;
using leash::llm::HttpRequest;
using leash::llm::HttpResponse;
using leash_test::Chunk;
using leash_test::drive;
using leash_test::HttpServer;
using leash_test::ReceivedRequest;
using leash_test::Reply;
namespace asio = boost::asio;

namespace {

HttpOptions quick() {
  HttpOptions o;
  o.connect_timeout = 5s;
  o.request_timeout = 10s;
  return o;
}

HttpRequest post(std::string url, std::string body = "{}") { return {"POST", std::move(url), {}, std::move(body)}; }
HttpRequest get(std::string url) { return {"GET", std::move(url), {}, {}}; }

Reply ok(ReceivedRequest const&) { return Reply::text("ok"); }

/// `n` requests one after another on one client; the number that succeeded with 200.
int sequential(HttpClient& http, std::string const& url, int n) {
  return drive([&]() -> asio::awaitable<int> {
    int good = 0;
    for (int i = 0; i < n; ++i) {
      auto r = co_await http.request(get(url));
      if (r && r.value().status == 200) ++good;
    }
    co_return good;
  }());
}

/// `n` requests at once on `io`; the number that succeeded with 200. Parked
/// connections belong to their io_context: reuse is per context.
int concurrent(asio::io_context& io, HttpClient& http, std::string const& url, int n) {
  int good = 0;
  for (int i = 0; i < n; ++i)
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto r = co_await http.request(post(url, "{\"i\":1}"));
          if (r && r.value().status == 200 && r.value().body == "ok") ++good;
        },
        asio::detached);
  io.restart();
  io.run();
  return good;
}

std::string text_of(leash::Error const& e) {
  std::ostringstream os;
  os << e;  // category, code and what()
  return os.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(llm_http)

BOOST_AUTO_TEST_CASE(round_trip, *boost::unit_test::description("method, target, headers and body both ways"))
{
  HttpServer server([](ReceivedRequest const& r) {
    Reply reply = Reply::json("{\"echo\":" + r.body + "}", 201);
    reply.headers.emplace_back("X-Request-Id", "abc");
    return reply;
  });
  HttpClient http(quick());
  auto req = post(server.url("/v1/chat/completions?x=1"), R"({"a":1})");
  req.headers = {{"Authorization", "Bearer sk-test"}, {"X-Custom", "yes"}, {"Content-Length", "999"}};
  auto r = drive(http.request(req));
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : text_of(r.error())));
  BOOST_TEST(r.value().status == 201u);
  BOOST_TEST(r.value().body == R"({"echo":{"a":1}})");
  BOOST_TEST(r.value().header("x-request-id").value_or("") == "abc");
  BOOST_TEST(r.value().header("CONTENT-TYPE").value_or("") == "application/json");
  BOOST_TEST(!r.value().header("x-missing"));

  auto got = server.requests();
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].method == "POST");
  BOOST_TEST(got[0].target == "/v1/chat/completions?x=1");
  BOOST_TEST(got[0].body == R"({"a":1})");
  BOOST_TEST(got[0].header("Host").value_or("") == "127.0.0.1:" + std::to_string(server.port()));
  BOOST_TEST(got[0].header("User-Agent").value_or("") == "leash/0.1");
  BOOST_TEST(got[0].header("Content-Type").value_or("") == "application/json");
  BOOST_TEST(got[0].header("Content-Length").value_or("") == "7");  // the caller's 999 is replaced
  BOOST_TEST(got[0].header("Authorization").value_or("") == "Bearer sk-test");
  BOOST_TEST(got[0].header("X-Custom").value_or("") == "yes");

  // A GET has no body and so no Content-Type; the caller's own User-Agent and
  // Content-Type win.
  BOOST_TEST(drive(http.request(get(server.url("/models")))).value().status == 201u);
  auto mine = post(server.url("/x"), "a=b");
  mine.headers = {{"user-agent", "mine/1"}, {"content-type", "application/x-www-form-urlencoded"}};
  BOOST_TEST(drive(http.request(mine)).has_value());
  got = server.requests();
  BOOST_TEST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[1].method == "GET");
  BOOST_TEST(!got[1].header("Content-Type"));
  BOOST_TEST(got[2].header("User-Agent").value_or("") == "mine/1");
  BOOST_TEST(got[2].header("Content-Type").value_or("") == "application/x-www-form-urlencoded");
}

BOOST_AUTO_TEST_CASE(keep_alive_reuses_one_connection)
{
  HttpServer server(ok);
  HttpClient http(quick());
  BOOST_TEST(sequential(http, server.url("/"), 5) == 5);
  BOOST_TEST(server.request_count() == 5u);
  BOOST_TEST(server.connections() == 1u);
}

BOOST_AUTO_TEST_CASE(server_closing_an_idle_connection_is_not_an_error)
{
  HttpServer server([](ReceivedRequest const&) {
    Reply r = Reply::text("ok");
    r.close_after = true;  // answers as keep-alive, then closes: an idle timeout
    return r;
  });
  HttpClient http(quick());
  BOOST_TEST(sequential(http, server.url("/"), 3) == 3);
  BOOST_TEST(server.connections() == 3u);
}

BOOST_AUTO_TEST_CASE(reused_connection_closed_before_answering_is_replaced_once,
                     *boost::unit_test::description("the stale-connection race is absorbed, not surfaced"))
{
  std::atomic<int> seen{0};
  HttpServer server([&](ReceivedRequest const&) { return ++seen == 2 ? Reply::closed() : Reply::text("ok"); });
  HttpClient http(quick());
  BOOST_TEST(sequential(http, server.url("/"), 2) == 2);
  BOOST_TEST(server.request_count() == 3u);  // the second request was sent twice
  BOOST_TEST(server.connections() == 2u);
}

BOOST_AUTO_TEST_CASE(fresh_connection_closed_or_reset_is_unreachable)
{
  for (auto reply : {Reply::closed(), Reply::reset()}) {
    HttpServer server([reply](ReceivedRequest const&) { return reply; });
    HttpClient http(quick());
    auto r = drive(http.request(post(server.url("/"))));
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == Errc::llm_unreachable, text_of(r.error()));
    BOOST_TEST(r.error().what().find("127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
    BOOST_TEST(server.request_count() == 1u);  // a fresh connection is not retried here
  }
}

BOOST_AUTO_TEST_CASE(connection_close_is_respected)
{
  HttpServer server([](ReceivedRequest const&) {
    Reply r = Reply::text("ok");
    r.keep_alive = false;
    return r;
  });
  HttpClient http(quick());
  BOOST_TEST(sequential(http, server.url("/"), 3) == 3);
  BOOST_TEST(server.connections() == 3u);

  HttpServer other(ok);
  auto req = get(other.url("/"));
  req.headers = {{"Connection", "close"}};
  asio::io_context io;  // one context: a parked connection could be reused
  for (int i = 0; i < 2; ++i) BOOST_TEST(drive(io, http.request(req)).has_value());
  BOOST_TEST(other.requests().at(0).header("Connection").value_or("") == "close");
  BOOST_TEST(other.connections() == 2u);
}

BOOST_AUTO_TEST_CASE(response_over_the_cap_is_refused)
{
  HttpServer server([](ReceivedRequest const& r) {
    if (r.target == "/big") return Reply::text(std::string(2000, 'x'));
    if (r.target == "/exact") return Reply::text(std::string(1000, 'x'));
    return Reply::stream({std::string(500, 'a'), std::string(500, 'b'), std::string(500, 'c')}, "text/plain");
  });
  auto o = quick();
  o.max_response_bytes = 1000;
  HttpClient http(o);
  for (auto target : {"/big", "/chunked"}) {
    auto r = drive(http.request(get(server.url(target))));
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == Errc::llm_response_too_large, text_of(r.error()));
  }
  auto fits = drive(http.request(get(server.url("/exact"))));
  BOOST_TEST_REQUIRE(fits.has_value());
  BOOST_TEST(fits.value().body.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(slow_response_times_out)
{
  HttpServer server([](ReceivedRequest const&) {
    Reply r = Reply::text("late");
    r.delay = 30s;
    return r;
  });
  auto o = quick();
  o.request_timeout = 200ms;
  HttpClient http(o);
  auto start = std::chrono::steady_clock::now();
  auto r = drive(http.request(post(server.url("/"))));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error() == Errc::llm_timeout, text_of(r.error()));
  BOOST_TEST((std::chrono::steady_clock::now() - start < 20s));  // did not wait for the 30-second answer
}

BOOST_AUTO_TEST_CASE(silent_peer_times_out,
                     *boost::unit_test::description("a listener that never accepts: TCP connects, nothing answers"))
{
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});  // listens, never accepts
  auto const port = std::to_string(silent.local_endpoint().port());
  auto o = quick();
  o.connect_timeout = 200ms;
  o.request_timeout = 200ms;
  HttpClient http(o);
  auto start = std::chrono::steady_clock::now();
  auto handshake = drive(http.request(get("https://127.0.0.1:" + port + "/")));
  BOOST_TEST_REQUIRE(!handshake.has_value());
  BOOST_TEST(handshake.error() == Errc::llm_timeout, text_of(handshake.error()));
  BOOST_TEST(handshake.error().what().find("TLS handshake") != std::string::npos, text_of(handshake.error()));
  auto plain = drive(http.request(get("http://127.0.0.1:" + port + "/")));
  BOOST_TEST_REQUIRE(!plain.has_value());
  BOOST_TEST(plain.error() == Errc::llm_timeout, text_of(plain.error()));
  BOOST_TEST((std::chrono::steady_clock::now() - start < 20s));
}

BOOST_AUTO_TEST_CASE(https_to_a_plain_server_is_a_tls_failure)
{
  HttpServer server(ok);
  HttpClient http(quick());
  auto r = drive(http.request(get("https://127.0.0.1:" + std::to_string(server.port()) + "/")));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error() == Errc::tls_failed || r.error() == Errc::llm_unreachable), text_of(r.error()));
  BOOST_TEST_MESSAGE(text_of(r.error()));
}

BOOST_AUTO_TEST_CASE(unknown_host_fails_within_connect_timeout)
{
  auto o = quick();
  o.connect_timeout = 2s;
  HttpClient http(o);
  auto start = std::chrono::steady_clock::now();
  auto r = drive(http.request(get("http://leash-no-such-host.invalid/")));
  BOOST_TEST_REQUIRE(!r.has_value());
  // NXDOMAIN, or no DNS at all in a sandbox: either way an error, and bounded.
  BOOST_TEST((r.error() == Errc::llm_unreachable || r.error() == Errc::llm_timeout), text_of(r.error()));
  BOOST_TEST((std::chrono::steady_clock::now() - start < 20s));
}

BOOST_AUTO_TEST_CASE(nothing_listening_is_unreachable)
{
  auto port = leash_test::unused_port();
  HttpClient http(quick());
  auto r = drive(http.request(post("http://127.0.0.1:" + std::to_string(port) + "/v1")));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error() == Errc::llm_unreachable, text_of(r.error()));
  BOOST_TEST(r.error().what().find("127.0.0.1:" + std::to_string(port)) != std::string::npos, text_of(r.error()));
}

BOOST_AUTO_TEST_CASE(truncated_body_is_an_error)
{
  HttpServer server([](ReceivedRequest const&) { return Reply::truncated(std::string(100, 'x'), 10); });
  HttpClient http(quick());
  auto r = drive(http.request(get(server.url("/"))));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error() == Errc::llm_unreachable, text_of(r.error()));
  BOOST_TEST(r.error().what().find("middle of the response") != std::string::npos, text_of(r.error()));
}

BOOST_AUTO_TEST_CASE(streaming_delivers_chunks_as_they_arrive,
                     *boost::unit_test::description("the third chunk is sent only after the client saw two"))
{
  std::promise<void> saw_two;
  auto gate = saw_two.get_future().share();
  std::atomic<bool> gate_opened{false};
  std::vector<Chunk> chunks = {"data: one\n\n", Chunk("data: two\n\n", 20ms), "data: three\n\n", "data: [DONE]\n\n"};
  chunks[2].before = [gate, &gate_opened] { gate_opened = gate.wait_for(20s) == std::future_status::ready; };
  std::string expected;
  for (auto const& c : chunks) expected += c.data;

  HttpServer server([&](ReceivedRequest const&) { return Reply::stream(chunks); });
  HttpClient http(quick());
  asio::io_context io;
  std::string received;
  std::vector<std::string> pieces;
  bool told = false;
  auto r = drive(io, http.request_streaming(post(server.url("/v1/stream")), [&](std::string_view piece) {
    received += piece;
    pieces.emplace_back(piece);
    if (!told && received.find("data: two\n\n") != std::string::npos) {
      told = true;
      saw_two.set_value();
    }
  }));
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : text_of(r.error())));
  BOOST_TEST(r.value().status == 200u);
  BOOST_TEST(r.value().body.empty());
  BOOST_TEST(r.value().header("content-type").value_or("") == "text/event-stream");
  BOOST_TEST(received == expected);
  BOOST_TEST(gate_opened.load());
  BOOST_TEST(pieces.size() >= 2u);

  // The connection goes back to the pool after a complete stream.
  BOOST_TEST(drive(io, http.request(get(server.url("/")))).has_value());
  BOOST_TEST(server.connections() == 1u);
}

BOOST_AUTO_TEST_CASE(streaming_error_status_is_read_whole)
{
  std::string const error = R"({"error":{"message":"slow down","type":"rate_limit"}})";
  HttpServer server([&](ReceivedRequest const&) { return Reply::json(error, 429); });
  HttpClient http(quick());
  int calls = 0;
  auto r = drive(http.request_streaming(post(server.url("/")), [&](std::string_view) { ++calls; }));
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == 429u);
  BOOST_TEST(r.value().body == error);
  BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(streaming_limits)
{
  HttpServer server([](ReceivedRequest const& r) {
    if (r.target == "/big") return Reply::stream({std::string(600, 'a'), std::string(600, 'b')});
    return Reply::stream({"data: first\n\n", Chunk("data: never\n\n", 30s)});
  });
  auto o = quick();
  o.max_response_bytes = 1000;
  o.request_timeout = 300ms;
  HttpClient http(o);

  std::string got;
  auto big = drive(http.request_streaming(get(server.url("/big")), [&](std::string_view p) { got += p; }));
  BOOST_TEST_REQUIRE(!big.has_value());
  BOOST_TEST(big.error() == Errc::llm_response_too_large, text_of(big.error()));
  BOOST_TEST(got.size() <= 1000u);

  got.clear();
  auto start = std::chrono::steady_clock::now();
  auto stalled = drive(http.request_streaming(get(server.url("/stall")), [&](std::string_view p) { got += p; }));
  BOOST_TEST_REQUIRE(!stalled.has_value());
  BOOST_TEST(stalled.error() == Errc::llm_timeout, text_of(stalled.error()));
  BOOST_TEST(got == "data: first\n\n");
  BOOST_TEST((std::chrono::steady_clock::now() - start < 20s));
}

BOOST_AUTO_TEST_CASE(streaming_consumer_exception_is_an_error)
{
  HttpServer server([](ReceivedRequest const&) { return Reply::stream({"a", "b"}); });
  HttpClient http(quick());
  auto r = drive(http.request_streaming(get(server.url("/")), [](std::string_view) {
    throw std::runtime_error("bad event");
  }));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error() == Errc::llm_bad_response);
  BOOST_TEST(r.error().what().find("bad event") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tls_self_signed_is_refused_by_default_and_trusted_by_ca_file)
{
  auto identity = leash_test::self_signed_identity();
  HttpServer server(ok, identity);

  HttpClient strict(quick());
  auto refused = drive(strict.request(get(server.url("/"))));
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error() == Errc::tls_failed, text_of(refused.error()));
  BOOST_TEST(refused.error().what().find("certificate") != std::string::npos, text_of(refused.error()));
  BOOST_TEST(server.request_count() == 0u);

  leash_test::TempFile ca(identity.cert_chain_pem);
  auto o = quick();
  o.ca_file = ca.path();
  HttpClient trusting(o);
  BOOST_TEST(sequential(trusting, server.url("/"), 3) == 3);
  BOOST_TEST(server.connections() == 2u);  // the refused one, then one kept alive

  auto lax = quick();
  lax.verify_peer = false;
  HttpClient unverified(lax);
  BOOST_TEST(drive(unverified.request(get(server.url("/")))).has_value());
}

BOOST_AUTO_TEST_CASE(tls_ca_signed_by_name_with_sni)
{
  leash_test::TestCa authority;
  HttpServer server(ok, authority.issue());
  leash_test::TempFile ca(authority.cert_pem());
  auto o = quick();
  o.ca_file = ca.path();
  HttpClient http(o);

  auto by_name = drive(http.request(get(server.localhost_url("/"))));
  BOOST_TEST_REQUIRE(by_name.has_value(), (by_name ? "" : text_of(by_name.error())));
  auto by_address = drive(http.request(get(server.url("/"))));
  BOOST_TEST_REQUIRE(by_address.has_value(), (by_address ? "" : text_of(by_address.error())));
  auto got = server.requests();
  BOOST_TEST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0].tls_server_name == "localhost");
  BOOST_TEST(got[0].header("Host").value_or("") == "localhost:" + std::to_string(server.port()));
  BOOST_TEST(got[1].tls_server_name == "");  // no SNI for an address
}

BOOST_AUTO_TEST_CASE(tls_host_name_is_verified)
{
  leash_test::TestCa authority;
  HttpServer server(ok, authority.issue("other.example", "DNS:other.example"));
  leash_test::TempFile ca(authority.cert_pem());
  auto o = quick();
  o.ca_file = ca.path();
  HttpClient http(o);
  for (auto url : {server.url("/"), server.localhost_url("/")}) {
    auto r = drive(http.request(get(url)));
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST_MESSAGE(text_of(r.error()));
    BOOST_TEST(r.error() == Errc::tls_failed, text_of(r.error()));
    BOOST_TEST(r.error().what().find("mismatch") != std::string::npos, text_of(r.error()));
  }
  BOOST_TEST(server.request_count() == 0u);

  auto missing = quick();
  missing.ca_file = "/nonexistent/leash-ca.pem";
  HttpClient nowhere(missing);
  auto r = drive(nowhere.request(get(server.url("/"))));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error() == Errc::tls_failed);
  BOOST_TEST(r.error().what().find("/nonexistent/leash-ca.pem") != std::string::npos, text_of(r.error()));
}

BOOST_AUTO_TEST_CASE(errors_never_carry_header_values,
                     *boost::unit_test::description("the API key stays in the request"))
{
  std::string const secret = "sk-SECRET-0123456789";
  HttpServer server([](ReceivedRequest const& r) {
    if (r.target == "/slow") {
      Reply s = Reply::text("late");
      s.delay = 30s;
      return s;
    }
    if (r.target == "/big") return Reply::text(std::string(5000, 'x'));
    if (r.target == "/cut") return Reply::truncated(std::string(100, 'x'), 5);
    return Reply::closed();
  });
  HttpServer tls_server(ok, leash_test::self_signed_identity());
  auto o = quick();
  o.request_timeout = 200ms;
  o.max_response_bytes = 1000;
  HttpClient http(o);

  auto with_key = [&](std::string url) {
    auto req = post(std::move(url));
    req.headers = {{"Authorization", "Bearer " + secret}, {"x-api-key", secret}};
    return req;
  };
  std::vector<HttpRequest> requests = {
      with_key(server.url("/slow")),
      with_key(server.url("/big")),
      with_key(server.url("/cut")),
      with_key(server.url("/closed")),
      with_key(tls_server.url("/")),
      with_key("http://127.0.0.1:" + std::to_string(leash_test::unused_port()) + "/"),
      with_key("ftp://127.0.0.1/?key=" + secret),
      with_key("http://user:" + secret + "@127.0.0.1/"),
  };
  auto injected = with_key(server.url("/"));
  injected.headers.emplace_back("X-Evil", secret + "\r\nX-Injected: 1");
  requests.push_back(injected);

  int failures = 0;
  for (auto const& req : requests) {
    auto r = drive(http.request(req));
    if (r) continue;
    ++failures;
    BOOST_TEST_MESSAGE(text_of(r.error()));
    BOOST_TEST(text_of(r.error()).find("SECRET") == std::string::npos, text_of(r.error()));
  }
  BOOST_TEST(failures == static_cast<int>(requests.size()));
  for (auto const& got : server.requests()) BOOST_TEST(!got.header("X-Injected"));
}

BOOST_AUTO_TEST_CASE(invalid_requests_are_refused_before_the_network)
{
  HttpClient http(quick());
  for (auto url : {"", "127.0.0.1:80/v1", "ftp://host/", "http://", "http://host:0/", "http://host:70000/",
                   "http://ho st/", "http://host/a b", "http://[::1/"}) {
    auto r = drive(http.request(get(url)));
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST(r.error() == Errc::invalid_transport_spec, url);
  }
  HttpServer server(ok);
  auto bad_name = get(server.url("/"));
  bad_name.headers = {{"Bad Name", "x"}};
  auto r = drive(http.request(bad_name));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error() == Errc::invalid_config);
  auto bad_method = get(server.url("/"));
  bad_method.method = "GE T";
  BOOST_TEST(drive(http.request(bad_method)).error() == Errc::invalid_config);
  BOOST_TEST(server.request_count() == 0u);
}

BOOST_AUTO_TEST_CASE(host_names_are_resolved)
{
  HttpServer server(ok);
  HttpClient http(quick());
  auto r = drive(http.request(get(server.localhost_url("/"))));
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : text_of(r.error())));
  BOOST_TEST(server.requests().at(0).header("Host").value_or("") == "localhost:" + std::to_string(server.port()));
}

BOOST_AUTO_TEST_CASE(many_concurrent_requests_on_one_io_context)
{
  HttpServer server(ok);
  HttpClient http(quick());
  asio::io_context io;
  BOOST_TEST(concurrent(io, http, server.url("/v1"), 200) == 200);
  BOOST_TEST(server.request_count() == 200u);
  // Another round reuses the parked connections (at most max_idle_per_host).
  auto before = server.connections();
  BOOST_TEST(concurrent(io, http, server.url("/v1"), 200) == 200);
  BOOST_TEST(server.connections() - before <= 200u - quick().max_idle_per_host);
}

BOOST_AUTO_TEST_CASE(one_client_shared_by_several_threads)
{
  HttpServer server(ok);
  HttpClient http(quick());
  asio::io_context io;
  std::atomic<int> good{0};
  for (int i = 0; i < 100; ++i)
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (int k = 0; k < 3; ++k) {
            auto r = co_await http.request(get(server.url("/")));
            if (r && r.value().body == "ok") ++good;
          }
        },
        asio::detached);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { io.run(); });
  for (auto& t : threads) t.join();
  BOOST_TEST(good.load() == 300);
  BOOST_TEST(server.request_count() == 300u);
}

BOOST_AUTO_TEST_CASE(idle_pool_is_bounded)
{
  HttpServer server(ok);
  auto o = quick();
  o.max_idle_per_host = 2;
  HttpClient http(o);
  asio::io_context io;
  BOOST_TEST(concurrent(io, http, server.url("/"), 5) == 5);
  BOOST_TEST(server.connections() == 5u);
  BOOST_TEST(concurrent(io, http, server.url("/"), 3) == 3);
  BOOST_TEST(server.connections() == 6u);  // two parked connections reused, one new
}

BOOST_AUTO_TEST_CASE(connections_per_host_are_capped_and_requests_wait_in_line,
                     *boost::unit_test::description("at most max_connections_per_host open; the rest queue and reuse them"))
{
  HttpServer server([](ReceivedRequest const&) {
    Reply r = Reply::text("ok");
    r.delay = 40ms;
    return r;
  });
  auto o = quick();
  o.max_connections_per_host = 2;
  HttpClient http(o);
  asio::io_context io;
  auto start = std::chrono::steady_clock::now();
  BOOST_TEST(concurrent(io, http, server.url("/"), 7) == 7);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(server.request_count() == 7u);
  BOOST_TEST(server.connections() == 2u);  // seven requests over two connections
  BOOST_TEST(took >= 4 * 40ms);           // in four rounds

  // Without a cap, one connection per concurrent request.
  o.max_connections_per_host = 0;
  HttpClient uncapped(o);
  HttpServer other(ok);
  asio::io_context io2;
  BOOST_TEST(concurrent(io2, uncapped, other.url("/"), 7) == 7);
  BOOST_TEST(other.connections() == 7u);
}

BOOST_AUTO_TEST_CASE(a_slot_freed_by_a_closed_or_failed_connection_goes_to_the_next_in_line)
{
  // The server closes after each answer: each waiter opens a connection of its own.
  HttpServer closing([](ReceivedRequest const&) {
    Reply r = Reply::text("ok");
    r.delay = 10ms;
    r.keep_alive = false;
    return r;
  });
  auto o = quick();
  o.max_connections_per_host = 1;
  HttpClient http(o);
  asio::io_context io;
  BOOST_TEST(concurrent(io, http, closing.url("/"), 4) == 4);
  BOOST_TEST(closing.connections() == 4u);

  // Connections that fail to open free their slot too: nobody waits forever.
  std::string nowhere = "http://127.0.0.1:" + std::to_string(leash_test::unused_port()) + "/";
  asio::io_context io2;
  BOOST_TEST(concurrent(io2, http, nowhere, 4) == 0);
}

BOOST_AUTO_TEST_CASE(a_request_cancelled_while_in_line_leaves_it,
                     *boost::unit_test::description("no slot is lost to a waiter that went away"))
{
  using namespace asio::experimental::awaitable_operators;
  HttpServer server([](ReceivedRequest const& r) {
    Reply reply = Reply::text("ok");
    if (r.target == "/slow") reply.delay = 150ms;
    return reply;
  });
  auto o = quick();
  o.max_connections_per_host = 1;
  HttpClient http(o);
  asio::io_context io;
  bool slow_ok = false, gave_up = false, later_ok = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto r = co_await http.request(get(server.url("/slow")));
        slow_ok = r && r.value().body == "ok";
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 20ms);
        auto first = co_await (http.request(get(server.url("/queued"))) || timer.async_wait(asio::use_awaitable));
        gave_up = first.index() == 1;
        // In line behind /slow again, then served on the one connection.
        auto r = co_await http.request(get(server.url("/later")));
        later_ok = r && r.value().body == "ok";
      },
      asio::detached);
  io.run();
  BOOST_TEST(slow_ok);
  BOOST_TEST(gave_up);
  BOOST_TEST(later_ok);
  BOOST_TEST(server.request_count() == 2u);  // /queued never went out
  BOOST_TEST(server.connections() == 1u);
}

BOOST_AUTO_TEST_CASE(capped_client_shared_by_several_threads)
{
  HttpServer server(ok);
  auto o = quick();
  o.max_connections_per_host = 2;
  HttpClient http(o);
  asio::io_context io;
  std::atomic<int> good{0};
  for (int i = 0; i < 40; ++i)
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (int k = 0; k < 3; ++k) {
            auto r = co_await http.request(get(server.url("/")));
            if (r && r.value().body == "ok") ++good;
          }
        },
        asio::detached);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&] { io.run(); });
  for (auto& t : threads) t.join();
  BOOST_TEST(good.load() == 120);
  BOOST_TEST(server.connections() <= 2u);
}

BOOST_AUTO_TEST_CASE(a_shared_request_is_sent_as_it_is_and_left_unchanged)
{
  HttpServer server(ok);
  HttpClient http(quick());
  auto shared = std::make_shared<HttpRequest const>(post(server.url("/v1"), std::string(100000, 'x')));
  BOOST_TEST(drive(http.request(shared)).has_value());
  BOOST_TEST(drive(http.request(shared)).has_value());  // a retry sends it again
  BOOST_TEST(shared->body.size() == 100000u);
  auto got = server.requests();
  BOOST_TEST_REQUIRE(got.size() == 2u);
  BOOST_TEST(got[0].body == shared->body);
  BOOST_TEST(got[1].body == shared->body);
  auto none = drive(http.request(std::shared_ptr<HttpRequest const>{}));
  BOOST_TEST_REQUIRE(!none.has_value());
  BOOST_TEST(none.error() == Errc::invalid_config);
}

BOOST_AUTO_TEST_CASE(client_may_go_before_its_requests)
{
  HttpServer server(ok);
  asio::io_context io;
  auto http = std::make_unique<HttpClient>(quick());
  auto pending = http->request(get(server.url("/")));
  http.reset();
  auto r = drive(io, std::move(pending));
  BOOST_TEST(r.has_value());
}

BOOST_AUTO_TEST_CASE(one_client_across_io_contexts,
                     *boost::unit_test::description("parked connections die with their io_context, not later"))
{
  HttpServer server(ok);
  HttpClient http(quick());
  for (int round = 0; round < 3; ++round) {
    asio::io_context io;  // a fresh context each time, as Loop::run() makes
    BOOST_TEST(drive(io, http.request(get(server.url("/")))).has_value());
    BOOST_TEST(drive(io, http.request(get(server.url("/")))).has_value());
  }
  BOOST_TEST(server.connections() == 3u);  // one per context, reused within it
}

BOOST_AUTO_TEST_SUITE_END()
