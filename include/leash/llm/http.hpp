// leash/llm/http.hpp — the HTTP/1.1 client under every network transport:
// Boost.Beast over Asio, HTTPS with certificate and host-name verification
// and SNI by default, plain HTTP for loopback servers, keep-alive connections
// reused per host, timeouts, a response-size cap. All async on the caller's
// executor, so thousands of loops can share one io_context.
//
//   leash::llm::HttpClient http(leash::llm::to_http_options(transport_options));
//   auto r = co_await http.request({"POST", url, {{"Authorization", "Bearer " + key}}, body});
//   if (!r) co_return r.error();            // network, TLS, timeout, size cap
//   if (r.value().status != 200) ...        // the provider's error document is r.value().body
//
// One call is one attempt: retries, backoff and Retry-After live in
// llm/retry.hpp, above this layer. Not supported yet: proxies (HTTPS_PROXY is
// ignored), redirects (a 3xx is returned as it is), compressed bodies (no
// Accept-Encoding is sent), HTTP/2.
#ifndef LEASH_LLM_HTTP_HPP
#define LEASH_LLM_HTTP_HPP

#include <leash/error.hpp>
#include <leash/llm/transport.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leash::llm {

/// One request. The client sets `Host` and `Content-Length` itself (a caller's
/// `Host`, `Content-Length` or `Transfer-Encoding` is replaced), adds
/// `User-Agent: leash/0.1` and, when there is a body, `Content-Type:
/// application/json` unless the caller set them. `Connection: close` is honoured.
/// Header values (an API key) never appear in an error message.
struct HttpRequest {
  std::string method = "POST";
  std::string url;  ///< absolute: http://127.0.0.1:8080/v1/chat/completions
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// A response of any status: a non-2xx status is not an error at this layer.
struct HttpResponse {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< empty for request_streaming (the chunks went to the callback)
  /// The first header of that name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpOptions {
  /// Resolve + connect + TLS handshake of a new connection.
  std::chrono::milliseconds connect_timeout{10000};
  /// request(): writing the request and reading the whole response.
  /// request_streaming(): writing and reading the response header, then the
  /// longest silence allowed between two pieces of the body (a long generation
  /// may stream for minutes, a stalled one must not hang).
  std::chrono::milliseconds request_timeout{120000};
  /// Cap on the response body (after de-chunking); headers are capped at 64 KiB.
  std::size_t max_response_bytes = 16u << 20;
  bool verify_peer = true;  ///< chain and host name; off only for tests
  std::string ca_file;      ///< PEM, trusted besides the system store
  /// Connections open at once per origin (per io_context): a request beyond
  /// the cap waits, first come first served, for one to come free (reused if
  /// it can be, else replaced by a new one). The wait has no deadline of its
  /// own: connect_timeout and request_timeout start once a connection is had.
  /// 0: no cap (each concurrent request opens a socket: mind the process's
  /// file-descriptor limit).
  std::size_t max_connections_per_host = 256;
  std::size_t max_idle_per_host = 8;  ///< idle keep-alive connections kept per origin; 0: none
  std::chrono::milliseconds idle_timeout{30000};  ///< an idle connection older than this is not reused
};

/// The HTTP part of a transport's options.
inline HttpOptions to_http_options(TransportOptions const& t) {
  HttpOptions o;
  o.connect_timeout = t.connect_timeout;
  o.request_timeout = t.request_timeout;
  o.max_response_bytes = t.max_response_bytes;
  o.max_connections_per_host = t.max_connections_per_host;
  o.verify_peer = t.verify_peer;
  o.ca_file = t.ca_file;
  return o;
}

/// Errors are values: Errc::llm_unreachable (resolve, connect, reset, closed,
/// truncated body), Errc::llm_timeout, Errc::tls_failed,
/// Errc::llm_response_too_large, Errc::llm_bad_response (unparseable HTTP),
/// Errc::invalid_transport_spec (not an absolute http(s) URL),
/// Errc::invalid_config (a header name or value that cannot be sent). A non-2xx
/// status is not an error at this layer: the response is returned for the
/// protocol to read. Nothing throws out: an unexpected exception inside (an
/// allocation failure) becomes an Error too.
///
/// Keep-alive: connections are parked per (io_context, scheme, host, port) and
/// reused; a parked connection the server closed before sending any byte of
/// the response is replaced by a fresh one once, transparently. At most
/// HttpOptions::max_connections_per_host are open per (io_context, origin);
/// further requests wait in line for one. One client may
/// be shared by any number of coroutines, on any number of threads and
/// io_contexts; it runs no thread of its own (host names are resolved by
/// Asio's resolver, which does use a helper thread; IP literals skip it).
/// A parked connection belongs to its io_context and is closed when that
/// context shuts down. A call keeps what it needs alive from the moment it is
/// made: the client may be destroyed while requests are in flight.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(HttpClient const&) = delete;
  HttpClient& operator=(HttpClient const&) = delete;

  /// Sends `request` and reads the whole response.
  boost::asio::awaitable<result<HttpResponse>> request(HttpRequest request);
  /// The same, for a request the caller shares rather than hands over (to
  /// send it again on a retry): its body, often the whole context, is sent
  /// from where it is, not copied. It must not change until the call ends.
  boost::asio::awaitable<result<HttpResponse>> request(std::shared_ptr<HttpRequest const> request);

  /// As request(), handing body bytes to `on_body` as they arrive (SSE), on
  /// the caller's executor; the returned response's body is then empty. Only a
  /// 2xx body is streamed: any other status's body (an error document) is read
  /// whole into HttpResponse::body and `on_body` is not called. An exception
  /// from `on_body` ends the request with Errc::llm_bad_response. An error
  /// after some bytes were delivered is still an error: whoever retries must
  /// know the consumer already saw part of a reply.
  boost::asio::awaitable<result<HttpResponse>> request_streaming(
      HttpRequest request, std::function<void(std::string_view chunk)> on_body);
  boost::asio::awaitable<result<HttpResponse>> request_streaming(
      std::shared_ptr<HttpRequest const> request, std::function<void(std::string_view chunk)> on_body);

  HttpOptions const& options() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with requests in flight
};

}  // namespace leash::llm

#include <leash/llm/impl/http.hpp>

#endif
