// Definitions of leash/llm/http.hpp. Included at its end.
#ifndef LEASH_LLM_IMPL_HTTP_HPP
#define LEASH_LLM_IMPL_HTTP_HPP

#include <leash/llm/detail/http_pool.hpp>
#include <leash/llm/detail/url.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <exception>
#include <mutex>

namespace leash::llm {

namespace detail {

namespace http = beast::http;

inline constexpr std::uint32_t max_header_bytes = 64 * 1024;
inline constexpr std::size_t stream_chunk_bytes = 16 * 1024;

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto la = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
    auto lb = b[i] >= 'A' && b[i] <= 'Z' ? b[i] - 'A' + 'a' : b[i];
    if (la != lb) return false;
  }
  return true;
}

/// RFC 9110 token: what a method or a header name may be made of.
inline bool http_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

/// A header value that cannot smuggle a line break (or a NUL) onto the wire.
inline bool http_field_value(std::string_view s) noexcept {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

inline std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

/// The body is a view of HttpRequest::body, which the call keeps alive: a
/// request of tens of kilobytes is not copied on its way to the socket.
using Request = http::request<http::span_body<char const>>;
using BodyCallback = std::function<void(std::string_view)>;

/// The request as it goes on the wire (its body a view of `in`'s). Errors
/// name a header, never its value.
inline result<Request> build_request(HttpRequest const& in, Url const& url) {
  if (!http_token(in.method)) return Error(Errc::invalid_config, "invalid HTTP method");
  Request req;
  if (auto verb = http::string_to_verb(in.method); verb != http::verb::unknown)
    req.method(verb);
  else
    req.method_string(in.method);
  req.target(url.target);
  req.version(11);
  bool has_agent = false, has_type = false;
  for (auto const& [name, value] : in.headers) {
    if (!http_token(name)) return Error(Errc::invalid_config, "invalid HTTP header name");
    if (!http_field_value(value))
      return Error(Errc::invalid_config, "the value of header '" + name + "' contains a control character");
    // The client owns framing and addressing.
    if (iequals(name, "host") || iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
    has_agent = has_agent || iequals(name, "user-agent");
    has_type = has_type || iequals(name, "content-type");
    req.insert(name, value);
  }
  req.set(http::field::host, url.host_header());
  if (!has_agent) req.set(http::field::user_agent, "leash/0.1");
  if (!has_type && !in.body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = beast::span<char const>(in.body.data(), in.body.size());
  req.prepare_payload();
  return req;
}

/// The peer went away (or never answered): a reset, an EOF, a broken pipe.
inline bool connection_closed(boost::system::error_code const& ec) noexcept {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
         ec == asio::error::broken_pipe || ec == asio::error::not_connected ||
         ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::ssl::error::stream_truncated;
}

/// OpenSSL's reason, plus the certificate check's own when that is what failed.
inline std::string tls_reason(boost::system::error_code const& ec, SSL* ssl) {
  std::string r = ec.message();
  if (ssl) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) r += std::string(": ") + X509_verify_cert_error_string(v);
  }
  return r;
}

/// Maps a failed write or read on an established connection. `phase` reads
/// "sending the request to", "waiting for the response from", …
inline Error transfer_error(boost::system::error_code const& ec, std::string const& origin, char const* phase,
                            HttpOptions const& opt, bool response_started) {
  if (ec == beast::error::timeout)
    return Error(Errc::llm_timeout, "timed out after " + ms_text(opt.request_timeout) + ' ' + phase + ' ' + origin);
  if (ec == http::error::body_limit)
    return Error(Errc::llm_response_too_large, "the response from " + origin + " is larger than the cap of " +
                                                   std::to_string(opt.max_response_bytes) + " bytes");
  if (ec == http::error::header_limit)
    return Error(Errc::llm_response_too_large, "the response headers from " + origin + " are larger than " +
                                                   std::to_string(max_header_bytes) + " bytes");
  if (connection_closed(ec)) {
    char const* what = response_started ? " closed the connection in the middle of the response ("
                                        : " closed the connection without answering (";
    return Error(Errc::llm_unreachable, origin + what + ec.message() + ')');
  }
  if (ec.category() == asio::error::get_ssl_category())
    return Error(Errc::tls_failed, "TLS error with " + origin + ": " + tls_reason(ec, nullptr));
  if (ec.category() == http::make_error_code(http::error::bad_version).category())
    return Error(Errc::llm_bad_response, origin + " sent a malformed HTTP response (" + ec.message() + ')');
  return Error(Errc::llm_unreachable, std::string(phase) + ' ' + origin + " failed: " + ec.message());
}

/// What one request/response on one connection came to.
struct Exchange {
  result<HttpResponse> outcome = Error(Errc::llm_unreachable);
  bool stale = false;     ///< failed before any byte of a response: a parked connection the server had closed
  bool reusable = false;  ///< the connection may be parked again
};

/// Writes `req` and reads the response on `stream` (plain or TLS).
template <class Stream>
asio::awaitable<Exchange> exchange(Stream& stream, HttpConnection& conn, Request const& req, Url const& url,
                                   HttpOptions const& opt, BodyCallback const* on_body) {
  using asio::as_tuple;
  using asio::use_awaitable;
  Exchange out;
  auto& tcp = conn.tcp();
  auto const origin = url.origin();

  // One deadline for the write and the whole read (the header, for a stream).
  tcp.expires_after(opt.request_timeout);
  auto [wec, written] = co_await http::async_write(stream, req, as_tuple(use_awaitable));
  (void)written;
  if (wec) {
    out.stale = connection_closed(wec);
    out.outcome = transfer_error(wec, origin, "sending the request to", opt, false);
    co_return out;
  }

  // Interim 1xx responses (103 Early Hints) are skipped; 101 is not asked for.
  std::optional<http::response_parser<http::empty_body>> head;
  for (bool first = true;; first = false) {
    head.emplace();
    head->header_limit(max_header_bytes);
    head->body_limit(opt.max_response_bytes);
    if (req.method() == http::verb::head) head->skip(true);
    auto [ec, n] = co_await http::async_read_header(stream, conn.buffer, *head, as_tuple(use_awaitable));
    (void)n;
    if (ec) {
      bool const nothing = first && !head->got_some();
      out.stale = nothing && connection_closed(ec);
      out.outcome = transfer_error(ec, origin, "waiting for the response from", opt, !nothing);
      co_return out;
    }
    auto const status = head->get().result_int();
    if (status < 100 || status >= 200 || status == 101) break;
  }

  HttpResponse resp;
  resp.status = head->get().result_int();
  for (auto const& f : head->get()) resp.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));

  bool keep_alive = false;
  if (!on_body || resp.status / 100 != 2) {
    http::response_parser<http::string_body> p(std::move(*head));
    if (!p.is_done()) {
      auto [ec, n] = co_await http::async_read(stream, conn.buffer, p, as_tuple(use_awaitable));
      (void)n;
      // TLS peers often skip close_notify; for a body delimited by EOF that is its end.
      if (ec == asio::ssl::error::stream_truncated && p.need_eof()) p.put_eof(ec);
      if (ec) {
        out.outcome = transfer_error(ec, origin, "reading the response from", opt, true);
        co_return out;
      }
    }
    keep_alive = p.get().keep_alive();
    resp.body = std::move(p.get().body());
  } else {
    http::response_parser<http::buffer_body> p(std::move(*head));
    auto chunk = std::make_unique<char[]>(stream_chunk_bytes);
    while (!p.is_done()) {
      p.get().body().data = chunk.get();
      p.get().body().size = stream_chunk_bytes;
      tcp.expires_after(opt.request_timeout);  // the allowed silence between pieces
      auto [ec, n] = co_await http::async_read_some(stream, conn.buffer, p, as_tuple(use_awaitable));
      (void)n;
      if (ec == http::error::need_buffer) ec = {};
      if (ec == asio::ssl::error::stream_truncated && p.need_eof()) p.put_eof(ec);
      if (auto got = stream_chunk_bytes - p.get().body().size; got > 0) {
        try {
          (*on_body)(std::string_view(chunk.get(), got));
        } catch (std::exception const& e) {
          out.outcome = Error(Errc::llm_bad_response, std::string("the stream consumer failed: ") + e.what());
          co_return out;
        } catch (...) {
          out.outcome = Error(Errc::llm_bad_response, "the stream consumer failed");
          co_return out;
        }
      }
      if (ec) {
        out.outcome = transfer_error(ec, origin, "reading the response stream from", opt, true);
        co_return out;
      }
    }
    keep_alive = p.get().keep_alive();
  }
  tcp.expires_never();
  out.reusable = keep_alive && req.keep_alive() && conn.buffer.size() == 0;
  out.outcome = std::move(resp);
  co_return out;
}

/// Resolves `url.host` before `deadline`. Asio's resolver runs getaddrinfo on
/// a helper thread and cannot abandon it, so the answer comes back through a
/// channel raced against a timer: a slow DNS costs connect_timeout, no more.
inline asio::awaitable<result<asio::ip::tcp::resolver::results_type>> resolve(
    Url const& url, std::chrono::steady_clock::time_point deadline, HttpOptions const& opt) {
  using Results = asio::ip::tcp::resolver::results_type;
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  struct Pending {
    explicit Pending(asio::any_io_executor e) : resolver(e), done(e, 1) {}
    asio::ip::tcp::resolver resolver;
    asio::experimental::concurrent_channel<void(boost::system::error_code, Results)> done;
  };
  auto pending = std::make_shared<Pending>(ex);
  pending->resolver.async_resolve(url.host, std::to_string(url.port),
                                  [pending](boost::system::error_code ec, Results r) {
                                    pending->done.try_send(ec, std::move(r));
                                  });
  asio::steady_timer timer(ex, deadline);
  auto first = co_await (pending->done.async_receive(asio::as_tuple(asio::use_awaitable)) ||
                         timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (first.index() == 1) {
    pending->resolver.cancel();
    co_return Error(Errc::llm_timeout, "resolving " + url.host + " took longer than " + ms_text(opt.connect_timeout));
  }
  auto [ec, results] = std::get<0>(std::move(first));
  if (ec) co_return Error(Errc::llm_unreachable, "cannot resolve " + url.host + ": " + ec.message());
  co_return std::move(results);
}

}  // namespace detail

inline std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  for (auto const& [k, v] : headers)
    if (detail::iequals(k, name)) return std::string_view(v);
  return std::nullopt;
}

struct HttpClient::impl {
  explicit impl(HttpOptions o)
      : options(std::move(o)),
        pool(std::make_shared<detail::ConnectionPool>(options.max_idle_per_host, options.idle_timeout,
                                                      options.max_connections_per_host)) {}

  HttpOptions options;
  std::shared_ptr<detail::ConnectionPool> pool;
  std::once_flag tls_once;
  std::optional<boost::asio::ssl::context> tls;
  std::optional<Error> tls_error;

  /// The TLS client context, made on the first https request (loading the
  /// system store costs a few milliseconds that plain-HTTP users never pay).
  result<boost::asio::ssl::context*> tls_context() {
    namespace ssl = boost::asio::ssl;
    std::call_once(tls_once, [this] {
      try {
        auto& ctx = tls.emplace(ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
        // Idle keep-alive connections then hold no read/write buffers.
        SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
        ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
        boost::system::error_code ec;
        if (options.verify_peer) {
          ctx.set_verify_mode(ssl::verify_peer, ec);
          if (!ec) ctx.set_default_verify_paths(ec);
          if (ec) {
            tls_error = Error(Errc::tls_failed, "cannot use the system's CA certificates: " + ec.message());
          } else if (!options.ca_file.empty()) {
            ctx.load_verify_file(options.ca_file, ec);
            if (ec)
              tls_error = Error(Errc::tls_failed, "cannot load CA file '" + options.ca_file + "': " + ec.message());
          }
        } else {
          ctx.set_verify_mode(ssl::verify_none, ec);
        }
      } catch (std::exception const& e) {
        tls_error = Error(Errc::tls_failed, std::string("cannot create a TLS context: ") + e.what());
      }
    });
    if (tls_error) return *tls_error;
    return &*tls;
  }

  /// A new connection to `url`'s origin: resolved, connected and, for https,
  /// TLS-handshaken with the host name checked, all before connect_timeout.
  boost::asio::awaitable<result<std::unique_ptr<detail::HttpConnection>>> connect(detail::Url const& url) {
    namespace asio = boost::asio;
    using asio::as_tuple;
    using asio::use_awaitable;
    auto ex = co_await asio::this_coro::executor;
    auto const deadline = std::chrono::steady_clock::now() + options.connect_timeout;
    auto const origin = url.origin();

    asio::ssl::context* tls_ctx = nullptr;
    if (url.tls) {
      auto c = tls_context();
      if (!c) co_return c.error();
      tls_ctx = c.value();
    }

    boost::system::error_code ec;
    auto const address = asio::ip::make_address(url.host, ec);
    bool const ip_literal = !ec;
    std::vector<asio::ip::tcp::endpoint> endpoints;
    if (ip_literal) {
      endpoints.emplace_back(address, url.port);
    } else {
      auto r = co_await detail::resolve(url, deadline, options);
      if (!r) co_return r.error();
      for (auto const& e : r.value()) endpoints.push_back(e.endpoint());
    }

    auto conn = url.tls ? std::make_unique<detail::HttpConnection>(ex, *tls_ctx)
                        : std::make_unique<detail::HttpConnection>(ex);
    auto& tcp = conn->tcp();
    tcp.expires_at(deadline);
    auto [cec, ep] = co_await tcp.async_connect(endpoints, as_tuple(use_awaitable));
    (void)ep;
    if (cec == boost::beast::error::timeout)
      co_return Error(Errc::llm_timeout,
                      "connecting to " + origin + " took longer than " + detail::ms_text(options.connect_timeout));
    if (cec) co_return Error(Errc::llm_unreachable, "cannot connect to " + origin + ": " + cec.message());
    tcp.socket().set_option(asio::ip::tcp::no_delay(true), ec);

    if (url.tls) {
      SSL* ssl = conn->tls->native_handle();
      // SNI carries host names only (RFC 6066), never an address.
      if (!ip_literal && !SSL_set_tlsext_host_name(ssl, url.host.c_str()))
        co_return Error(Errc::tls_failed, "cannot set the TLS server name for " + origin);
      if (options.verify_peer) {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str())
                            : SSL_set1_host(ssl, url.host.c_str());
        if (ok != 1) co_return Error(Errc::tls_failed, "cannot set up host-name verification for " + origin);
      }
      auto [hec] = co_await conn->tls->async_handshake(asio::ssl::stream_base::client, as_tuple(use_awaitable));
      if (hec == boost::beast::error::timeout)
        co_return Error(Errc::llm_timeout, "the TLS handshake with " + origin + " took longer than " +
                                               detail::ms_text(options.connect_timeout));
      if (hec && hec != asio::ssl::error::stream_truncated && detail::connection_closed(hec))
        co_return Error(Errc::llm_unreachable,
                        origin + " closed the connection during the TLS handshake (" + hec.message() + ')');
      if (hec)
        co_return Error(Errc::tls_failed, "TLS handshake with " + origin + " failed: " + detail::tls_reason(hec, ssl));
    }
    tcp.expires_never();
    co_return std::move(conn);
  }

  boost::asio::awaitable<result<HttpResponse>> run(HttpRequest const& request, detail::BodyCallback const* on_body) {
    namespace asio = boost::asio;
    auto url = detail::parse_url(request.url);
    if (!url) co_return url.error();
    auto req = detail::build_request(request, url.value());
    if (!req) co_return req.error();

    auto ex = co_await asio::this_coro::executor;
    auto& ctx = asio::query(ex, asio::execution::context_as<asio::execution_context&>);
    auto const key = std::string(url.value().tls ? "https://" : "http://") + url.value().origin();

    // At most max_connections_per_host open to this origin on this context:
    // beyond that, the request waits in line here for one to come free.
    detail::ConnectionLease lease = co_await pool->acquire(ctx, key);
    if (!lease) co_return Error(Errc::llm_unreachable, "cancelled while waiting for a connection to " + key);

    // A parked connection may have been closed by the server a moment ago; if
    // so, one fresh connection replaces it (no response byte was seen, so the
    // request did not get an answer on the old one).
    for (bool first = true;; first = false) {
      bool const reused = first && lease.conn != nullptr;
      if (!lease.conn) {
        auto fresh = co_await connect(url.value());
        if (!fresh) co_return fresh.error();  // the lease frees its slot
        lease.conn = std::move(fresh).value();
      }
      detail::HttpConnection& conn = *lease.conn;
      // Not `c ? co_await a : co_await b`: GCC 12 mishandles the temporaries of
      // a co_await inside a conditional expression.
      detail::Exchange out;
      if (conn.tls)
        out = co_await detail::exchange(*conn.tls, conn, req.value(), url.value(), options, on_body);
      else
        out = co_await detail::exchange(*conn.plain, conn, req.value(), url.value(), options, on_body);
      if (out.stale && reused) {
        lease.conn.reset();
        continue;
      }
      lease.release(out.reusable);
      co_return std::move(out.outcome);
    }
  }

  /// run(), with anything thrown (allocation, a library precondition) turned
  /// into an Error: the client's promise is that nothing throws out.
  /// The request is shared, not copied: a transport keeps it for retries.
  static boost::asio::awaitable<result<HttpResponse>> guarded(std::shared_ptr<impl> self,
                                                              std::shared_ptr<HttpRequest const> request,
                                                              detail::BodyCallback on_body) {
    if (!request) co_return Error(Errc::invalid_config, "HttpClient: no request");
    try {
      co_return co_await self->run(*request, on_body ? &on_body : nullptr);
    } catch (std::exception const& e) {
      co_return Error(Errc::llm_unreachable, std::string("HTTP client failure: ") + e.what());
    }
  }
};

inline HttpClient::HttpClient(HttpOptions options) : impl_(std::make_shared<impl>(std::move(options))) {}

inline HttpClient::~HttpClient() = default;

// Named arguments only into the by-value parameters of a coroutine: GCC 12
// at -O2 has been seen to destroy such a temporary twice.
inline boost::asio::awaitable<result<HttpResponse>> HttpClient::request(HttpRequest request) {
  auto shared = std::make_shared<HttpRequest const>(std::move(request));
  return this->request(std::move(shared));
}

inline boost::asio::awaitable<result<HttpResponse>> HttpClient::request(std::shared_ptr<HttpRequest const> request) {
  detail::BodyCallback none;
  return impl::guarded(impl_, std::move(request), std::move(none));
}

inline boost::asio::awaitable<result<HttpResponse>> HttpClient::request_streaming(
    HttpRequest request, std::function<void(std::string_view chunk)> on_body) {
  auto shared = std::make_shared<HttpRequest const>(std::move(request));
  return request_streaming(std::move(shared), std::move(on_body));
}

inline boost::asio::awaitable<result<HttpResponse>> HttpClient::request_streaming(
    std::shared_ptr<HttpRequest const> request, std::function<void(std::string_view chunk)> on_body) {
  if (!on_body) on_body = [](std::string_view) {};
  return impl::guarded(impl_, std::move(request), std::move(on_body));
}

inline HttpOptions const& HttpClient::options() const noexcept { return impl_->options; }

}  // namespace leash::llm

#endif
