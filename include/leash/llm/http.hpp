// leash/llm/http.hpp — the HTTP/1.1 client under every network transport:
// Boost.Beast over Asio, HTTPS with certificate and host-name verification
// and SNI by default, plain HTTP for loopback servers, keep-alive connections
// reused per host, timeouts, a response-size cap. All async on the caller's
// executor, so thousands of loops can share one io_context.
//
// One call is one attempt: retries, backoff and Retry-After live in
// llm/retry.hpp, above this layer.
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

struct HttpRequest {
  std::string method = "POST";
  std::string url;  ///< absolute: http://127.0.0.1:8080/v1/chat/completions
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< empty for request_streaming (the chunks went to the callback)
  /// The first header of that name (case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{120000};  ///< write + read of one request
  std::size_t max_response_bytes = 16u << 20;
  bool verify_peer = true;
  std::string ca_file;  ///< PEM, trusted besides the system store
  std::size_t max_idle_per_host = 8;
};

/// Errors are values: Errc::llm_unreachable (connect, reset, closed),
/// Errc::llm_timeout, Errc::tls_failed, Errc::llm_response_too_large,
/// Errc::llm_bad_response (unparseable HTTP). A non-2xx status is not an error
/// at this layer: the response is returned for the protocol to read.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(HttpClient const&) = delete;
  HttpClient& operator=(HttpClient const&) = delete;

  boost::asio::awaitable<result<HttpResponse>> request(HttpRequest request);
  /// As request(), handing body bytes to `on_body` as they arrive (SSE).
  boost::asio::awaitable<result<HttpResponse>> request_streaming(
      HttpRequest request, std::function<void(std::string_view chunk)> on_body);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace leash::llm

#include <leash/llm/impl/http.hpp>

#endif
