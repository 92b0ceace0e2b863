// Test support: an in-process HTTP/1.1 server on 127.0.0.1 (a random port),
// plain or TLS, on its own thread and io_context, started and stopped by RAII;
// plus TLS material made at test time (no private key is checked in) and
// `drive()` to run a client coroutine to completion.
//
//   leash_test::HttpServer server([](leash_test::ReceivedRequest const& r) {
//     return leash_test::Reply::json(R"({"ok":true})");
//   });
//   leash::llm::HttpClient http;
//   auto r = leash_test::drive(http.request({"POST", server.url("/v1/chat"), {}, "{}"}));
//   BOOST_TEST(server.connections() == 1);
//
// A Reply can answer normally, stream chunks (with delays or gates between
// them, for SSE), wait before answering, close or reset the connection without
// answering, send a truncated body, announce `Connection: close`, or answer as
// keep-alive and then close (a server's idle close). The handler runs on the
// server's thread: what it shares with the test must be synchronised.
#ifndef LEASH_TEST_HTTP_SERVER_HPP
#define LEASH_TEST_HTTP_SERVER_HPP

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace leash_test {

namespace asio = boost::asio;
namespace beast = boost::beast;

/// A request as the server received it.
struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::size_t connection = 0;   ///< which accepted connection carried it (from 1)
  std::string tls_server_name;  ///< the SNI the client sent (TLS only)

  /// The first header of that name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const {
    auto same = [](char a, char b) { return std::tolower(a) == std::tolower(b); };
    for (auto const& [k, v] : headers)
      if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), same)) return v;
    return std::nullopt;
  }
};

/// One piece of a chunked (streamed) body.
struct Chunk {
  Chunk(std::string d, std::chrono::milliseconds wait = {}) : data(std::move(d)), delay(wait) {}
  Chunk(char const* d) : data(d) {}

  std::string data;
  std::chrono::milliseconds delay{0};  ///< waited (asynchronously) before this chunk
  /// Runs on the server's thread just before this chunk is sent, and may block
  /// it: a gate the test opens (wait on a future, with a timeout).
  std::function<void()> before;
};

/// What the server does with a request.
struct Reply {
  enum class Action {
    respond,   ///< send the response
    close,     ///< close the connection without answering (the client sees EOF)
    reset,     ///< reset the connection without answering (RST)
    truncate,  ///< announce Content-Length = body.size(), send truncate_at bytes of it, close
  };

  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Non-empty: the body is sent with chunked transfer encoding, one chunk
  /// each (and `body` is ignored).
  std::vector<Chunk> chunks;
  std::chrono::milliseconds delay{0};  ///< waited before anything is sent
  Action action = Action::respond;
  std::size_t truncate_at = 0;
  bool keep_alive = true;    ///< false: "Connection: close" is sent and the connection closed
  bool close_after = false;  ///< answer as keep-alive, then close silently

  static Reply text(std::string body, unsigned status = 200) {
    Reply r;
    r.status = status;
    r.headers = {{"Content-Type", "text/plain"}};
    r.body = std::move(body);
    return r;
  }
  static Reply json(std::string body, unsigned status = 200) {
    Reply r = text(std::move(body), status);
    r.headers = {{"Content-Type", "application/json"}};
    return r;
  }
  static Reply stream(std::vector<Chunk> chunks, std::string content_type = "text/event-stream") {
    Reply r;
    r.headers = {{"Content-Type", std::move(content_type)}};
    r.chunks = std::move(chunks);
    return r;
  }
  static Reply closed() {
    Reply r;
    r.action = Action::close;
    return r;
  }
  static Reply reset() {
    Reply r;
    r.action = Action::reset;
    return r;
  }
  static Reply truncated(std::string body, std::size_t sent) {
    Reply r = text(std::move(body));
    r.action = Action::truncate;
    r.truncate_at = sent;
    return r;
  }
};

/// A certificate (chain) and its private key, PEM.
struct TlsIdentity {
  std::string cert_chain_pem;
  std::string key_pem;
};

class HttpServer {
 public:
  using Handler = std::function<Reply(ReceivedRequest const&)>;

  /// Listens on 127.0.0.1 on a free port; TLS when `tls` is given.
  explicit HttpServer(Handler handler, std::optional<TlsIdentity> tls = std::nullopt)
      : state_(std::make_shared<State>()), acceptor_(io_) {
    state_->handler = std::move(handler);
    if (tls) {
      auto& ctx = tls_.emplace(asio::ssl::context::tls_server);
      ctx.use_certificate_chain(asio::buffer(tls->cert_chain_pem));
      ctx.use_private_key(asio::buffer(tls->key_pem), asio::ssl::context::pem);
    }
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~HttpServer() {
    io_.stop();
    thread_.join();
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

  HttpServer(HttpServer const&) = delete;
  HttpServer& operator=(HttpServer const&) = delete;

  unsigned short port() const { return port_; }
  bool tls() const { return tls_.has_value(); }

  /// "http://127.0.0.1:<port>" + target (https for a TLS server).
  std::string url(std::string_view target = "/") const {
    return std::string(tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + std::string(target);
  }
  /// As url(), naming the host "localhost" (exercises resolving, SNI, DNS-name checks).
  std::string localhost_url(std::string_view target = "/") const {
    return std::string(tls() ? "https" : "http") + "://localhost:" + std::to_string(port_) + std::string(target);
  }

  /// TCP connections accepted so far.
  std::size_t connections() const { return state_->connections.load(); }
  /// Every request received so far, in order.
  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lock(state_->mutex);
    return state_->requests;
  }
  std::size_t request_count() const {
    std::lock_guard lock(state_->mutex);
    return state_->requests.size();
  }

 private:
  struct State {
    Handler handler;
    std::atomic<std::size_t> connections{0};
    mutable std::mutex mutex;
    std::vector<ReceivedRequest> requests;
  };

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      auto id = ++state_->connections;
      asio::co_spawn(io_, session(std::move(socket), id), asio::detached);
    }
  }

  asio::awaitable<void> session(asio::ip::tcp::socket socket, std::size_t id) {
    beast::tcp_stream plain(std::move(socket));
    if (!tls_) {
      co_await serve(plain, id, {});
      co_return;
    }
    asio::ssl::stream<beast::tcp_stream> secure(std::move(plain), *tls_);
    auto [ec] = co_await secure.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    char const* sni = SSL_get_servername(secure.native_handle(), TLSEXT_NAMETYPE_host_name);
    co_await serve(secure, id, sni ? sni : "");
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, std::size_t id, std::string sni) {
    namespace http = beast::http;
    using asio::as_tuple;
    using asio::use_awaitable;
    auto& tcp = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, as_tuple(use_awaitable));
      if (ec) co_return;
      auto const& msg = parser.get();
      ReceivedRequest got;
      got.method = std::string(msg.method_string());
      got.target = std::string(msg.target());
      for (auto const& f : msg) got.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      got.body = msg.body();
      got.connection = id;
      got.tls_server_name = sni;
      {
        std::lock_guard lock(state_->mutex);
        state_->requests.push_back(got);
      }
      Reply reply;
      try {
        reply = state_->handler(got);
      } catch (std::exception const& e) {
        reply = Reply::text(std::string("handler threw: ") + e.what(), 500);
      }
      if (reply.delay.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor, reply.delay);
        co_await timer.async_wait(as_tuple(use_awaitable));
      }

      boost::system::error_code ignored;
      if (reply.action == Reply::Action::close) {
        tcp.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        tcp.close();
        co_return;
      }
      if (reply.action == Reply::Action::reset) {
        tcp.socket().set_option(asio::socket_base::linger(true, 0), ignored);
        tcp.close();
        co_return;
      }

      bool const keep = reply.keep_alive && msg.keep_alive();
      std::string head = "HTTP/1.1 " + std::to_string(reply.status) + ' ' +
                         std::string(http::obsolete_reason(http::int_to_status(reply.status))) + "\r\n";
      for (auto const& [k, v] : reply.headers) head += k + ": " + v + "\r\n";
      if (reply.chunks.empty())
        head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      else
        head += "Transfer-Encoding: chunked\r\n";
      if (!keep) head += "Connection: close\r\n";
      head += "\r\n";

      if (reply.action == Reply::Action::truncate) {
        head += reply.body.substr(0, reply.truncate_at);
        co_await asio::async_write(stream, asio::buffer(head), as_tuple(use_awaitable));
        tcp.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        tcp.close();
        co_return;
      }
      if (reply.chunks.empty()) {
        head += reply.body;
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(head), as_tuple(use_awaitable));
        if (wec) co_return;
      } else {
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(head), as_tuple(use_awaitable));
        if (wec) co_return;
        for (auto& chunk : reply.chunks) {
          if (chunk.delay.count() > 0) {
            asio::steady_timer timer(co_await asio::this_coro::executor, chunk.delay);
            co_await timer.async_wait(as_tuple(use_awaitable));
          }
          if (chunk.before) chunk.before();
          if (chunk.data.empty()) continue;  // an empty chunk would end the body
          char size[32];
          std::snprintf(size, sizeof size, "%zx\r\n", chunk.data.size());
          std::string piece = size + chunk.data + "\r\n";
          auto [cec, cn] = co_await asio::async_write(stream, asio::buffer(piece), as_tuple(use_awaitable));
          if (cec) co_return;
        }
        std::string last = "0\r\n\r\n";
        auto [lec, ln] = co_await asio::async_write(stream, asio::buffer(last), as_tuple(use_awaitable));
        if (lec) co_return;
      }
      if (!keep || reply.close_after) {
        tcp.socket().shutdown(asio::socket_base::shutdown_both, ignored);
        tcp.close();
        co_return;
      }
    }
  }

  // Destroyed in reverse: the io_context (and the sessions' frames it owns)
  // before the TLS context and the shared state they refer to.
  std::shared_ptr<State> state_;
  std::optional<asio::ssl::context> tls_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
};

/// A port on 127.0.0.1 with nothing listening (bound, then released).
inline unsigned short unused_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

/// Runs `a` on `io` (on this thread) to completion and returns its value.
template <class T>
T drive(asio::io_context& io, asio::awaitable<T> a) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(a)); },
      [&](std::exception_ptr e) { failure = e; });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*out);
}

/// As above, on a fresh io_context.
template <class T>
T drive(asio::awaitable<T> a) {
  asio::io_context io;
  return drive(io, std::move(a));
}

// ---- TLS material, made with OpenSSL at test time -------------------------

namespace detail {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

inline void check(bool ok, char const* what) {
  if (!ok) throw std::runtime_error(std::string("test TLS material: ") + what);
}

inline Pkey new_key() {
  Pkey k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EC key generation");
  return k;
}

inline void add_ext(X509* cert, X509V3_CTX* ctx, int nid, std::string const& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key` named `cn`, signed by `issuer` / `issuer_key`
/// (itself when null). `san` is a subjectAltName list ("DNS:a,IP:1.2.3.4").
inline Cert make_cert(EVP_PKEY* key, std::string const& cn, std::string const& san, bool is_ca, X509* issuer,
                      EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509* x = cert.get();
  X509_set_version(x, 2);
  std::uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_int64(X509_get_serialNumber(x), static_cast<std::int64_t>(serial >> 1));
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<unsigned char const*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : x, x, nullptr, nullptr, 0);
  add_ext(x, &v3, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(x, &v3, NID_key_usage, is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(x, &v3, NID_subject_key_identifier, "hash");
  if (!is_ca) add_ext(x, &v3, NID_ext_key_usage, "serverAuth");
  if (!san.empty()) add_ext(x, &v3, NID_subject_alt_name, san);
  check(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

inline std::string pem_of(X509* x) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  check(PEM_write_bio_X509(bio.get(), x) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

inline std::string pem_of(EVP_PKEY* k) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  check(PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace detail

/// A self-signed server certificate: CN `cn`, subjectAltName `san`
/// (default: DNS:localhost, IP:127.0.0.1). Trusting its PEM trusts it.
inline TlsIdentity self_signed_identity(std::string const& cn = "localhost",
                                        std::string const& san = "DNS:localhost,IP:127.0.0.1") {
  auto key = detail::new_key();
  auto cert = detail::make_cert(key.get(), cn, san, false, nullptr, nullptr);
  return {detail::pem_of(cert.get()), detail::pem_of(key.get())};
}

/// A throwaway certificate authority that issues server certificates.
class TestCa {
 public:
  explicit TestCa(std::string const& name = "leash test CA")
      : key_(detail::new_key()), cert_(detail::make_cert(key_.get(), name, "", true, nullptr, nullptr)) {}

  /// The CA's certificate, PEM: what a client's ca_file should hold.
  std::string cert_pem() const { return detail::pem_of(cert_.get()); }

  /// A server identity signed by this CA.
  TlsIdentity issue(std::string const& cn = "localhost",
                    std::string const& san = "DNS:localhost,IP:127.0.0.1") const {
    auto key = detail::new_key();
    auto cert = detail::make_cert(key.get(), cn, san, false, cert_.get(), key_.get());
    return {detail::pem_of(cert.get()), detail::pem_of(key.get())};
  }

 private:
  detail::Pkey key_;
  detail::Cert cert_;
};

/// A file holding `contents`, removed on destruction (for ca_file).
class TempFile {
 public:
  explicit TempFile(std::string const& contents, std::string const& suffix = ".pem") {
    static std::atomic<unsigned> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("leash-test-" + std::to_string(::getpid()) + '-' + std::to_string(counter++) + suffix);
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(TempFile const&) = delete;
  TempFile& operator=(TempFile const&) = delete;

  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace leash_test

#endif
