// leash-bench's local LLM server: HTTP/1.1 over Beast on 127.0.0.1 (a random
// port), on a thread and io_context of its own, answering every request with
// a body the bench supplies (an OpenAI chat.completion). Written for the
// benches: no TLS, no fault injection (test/http_server.hpp has those), as
// little work per request as a Beast server can do, so that what the benches
// measure is the client.
//
//   bench::LlmServer server([](std::uint64_t k) { return reply_body(k); });
//   auto url = server.url("/v1");        // http://127.0.0.1:PORT/v1
//   server.hold();                        // replies wait ...
//   server.release();                     // ... until now
//
// Thread-safety: the public functions may be called from any thread.
#ifndef LEASH_BENCH_HTTP_SERVER_HPP
#define LEASH_BENCH_HTTP_SERVER_HPP

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

namespace asio = boost::asio;
namespace beast = boost::beast;

class LlmServer {
 public:
  /// `body_for(k)`: the JSON body answering the k-th request (from 0).
  explicit LlmServer(std::function<std::string(std::uint64_t)> body_for)
      : body_for_(std::move(body_for)), io_(1), acceptor_(io_), gate_(io_) {
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    gate_.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~LlmServer() {
    io_.stop();
    thread_.join();
  }

  LlmServer(LlmServer const&) = delete;
  LlmServer& operator=(LlmServer const&) = delete;

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  /// Requests received (read whole) so far.
  std::uint64_t requests() const { return requests_.load(std::memory_order_acquire); }
  /// TCP connections accepted so far, and open now.
  std::uint64_t connections() const { return connections_.load(std::memory_order_acquire); }
  std::uint64_t open_connections() const { return open_.load(std::memory_order_acquire); }
  /// Requests received and not answered because of hold().
  std::uint64_t held() const { return held_.load(std::memory_order_acquire); }

  /// From now on replies wait for release().
  void hold() {
    std::promise<void> done;
    asio::post(io_, [this, &done] {
      holding_ = true;
      gate_.expires_at(asio::steady_timer::time_point::max());
      done.set_value();
    });
    done.get_future().wait();
  }
  /// Sends every held reply, and answers at once from now on.
  void release() {
    asio::post(io_, [this] {
      holding_ = false;
      gate_.cancel();
    });
  }

  /// While capturing: the size of every request body, and the largest body.
  void capture(bool on) { capture_.store(on, std::memory_order_release); }
  std::string largest_body() const {
    std::lock_guard lock(mutex_);
    return largest_body_;
  }
  /// The body sizes captured since the last call, in order.
  std::vector<std::size_t> take_sizes() {
    std::lock_guard lock(mutex_);
    return std::exchange(sizes_, {});
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      boost::system::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
      connections_.fetch_add(1, std::memory_order_acq_rel);
      asio::co_spawn(io_, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(asio::ip::tcp::socket socket) {
    namespace http = beast::http;
    using asio::as_tuple;
    using asio::use_awaitable;
    open_.fetch_add(1, std::memory_order_acq_rel);
    struct Closed {
      std::atomic<std::uint64_t>& open;
      ~Closed() { open.fetch_sub(1, std::memory_order_acq_rel); }
    } closed{open_};
    beast::flat_buffer buffer;
    std::string out;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      auto [ec, n] = co_await http::async_read(socket, buffer, parser, as_tuple(use_awaitable));
      (void)n;
      if (ec) co_return;
      std::uint64_t const k = requests_.fetch_add(1, std::memory_order_acq_rel);
      if (capture_.load(std::memory_order_acquire)) {
        std::lock_guard lock(mutex_);
        auto const& body = parser.get().body();
        sizes_.push_back(body.size());
        if (body.size() >= largest_body_.size()) largest_body_.assign(body);
      }
      if (holding_) {
        held_.fetch_add(1, std::memory_order_acq_rel);
        co_await gate_.async_wait(as_tuple(use_awaitable));
        held_.fetch_sub(1, std::memory_order_acq_rel);
      }
      std::string const body = body_for_(k);
      out.assign("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ");
      out += std::to_string(body.size());
      out += "\r\n\r\n";
      out += body;
      auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(out), as_tuple(use_awaitable));
      (void)wn;
      if (wec || !parser.get().keep_alive()) co_return;
    }
  }

  // Declared before the io_context: the sessions it destroys last use them.
  std::function<std::string(std::uint64_t)> body_for_;
  std::atomic<std::uint64_t> requests_{0}, connections_{0}, open_{0}, held_{0};
  std::atomic<bool> capture_{false};
  mutable std::mutex mutex_;
  std::string largest_body_;
  std::vector<std::size_t> sizes_;
  bool holding_ = false;  // server thread only
  unsigned short port_ = 0;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer gate_;  // waited on while holding; cancelled to release
  std::thread thread_;
};

}  // namespace bench

#endif
