// Keep-alive connections of the HTTP client, and the guard that drops them when
// their io_context goes away. Not for direct use.
//
// A socket belongs to the io_context it was opened on, and one HttpClient may
// outlive several io_contexts (`Loop::run()` makes a fresh one per call while
// the transport stays). So idle connections are keyed by execution context as
// well as by origin, and a small service registered in each context drops that
// context's idle connections when it shuts down, before its reactor is gone.
#ifndef LEASH_LLM_DETAIL_HTTP_POOL_HPP
#define LEASH_LLM_DETAIL_HTTP_POOL_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace leash::llm::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;

/// One connection to one origin: plain TCP or TLS over TCP, with the read
/// buffer that must stay with it between responses.
struct HttpConnection {
  explicit HttpConnection(asio::any_io_executor ex) { plain.emplace(std::move(ex)); }
  HttpConnection(asio::any_io_executor ex, asio::ssl::context& tls_context) {
    tls.emplace(std::move(ex), tls_context);
  }

  std::optional<beast::tcp_stream> plain;
  std::optional<asio::ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  /// Whether an idle connection still looks usable: open, and nothing to read
  /// (the peer's FIN, or a TLS close_notify, would be readable). A peek that
  /// does not block, so a dead connection is dropped before a request is
  /// written to it instead of costing a failed attempt.
  bool looks_open() {
    auto& sock = tcp().socket();
    if (!sock.is_open() || buffer.size() != 0) return false;
    boost::system::error_code ec;
    sock.non_blocking(true, ec);
    if (ec) return false;
    char byte;
    sock.receive(asio::buffer(&byte, 1), asio::socket_base::message_peek, ec);
    bool open = ec == asio::error::would_block || ec == asio::error::try_again;
    sock.non_blocking(false, ec);
    return open && !ec;
  }
};

class ConnectionPool;

/// Registered in every execution context a pool has parked a connection for;
/// on the context's shutdown it tells those pools to drop that context's
/// connections.
class ConnectionPoolGuard final : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;

  explicit ConnectionPoolGuard(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  void watch(std::weak_ptr<ConnectionPool> pool) {
    std::lock_guard lock(mutex_);
    // Clients come and go on a long-lived context: prune before growing.
    if (pools_.size() >= 2 * live_at_last_prune_ + 8) {
      std::erase_if(pools_, [](auto const& p) { return p.expired(); });
      live_at_last_prune_ = pools_.size();
    }
    pools_.push_back(std::move(pool));
  }

  void shutdown() override;

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<ConnectionPool>> pools_;
  std::size_t live_at_last_prune_ = 0;
};

/// Idle connections of one HttpClient: per (execution context, origin), most
/// recently used first out, at most `max_idle` per origin, none older than
/// `idle_timeout`. Thread-safe: coroutines on several threads may share it.
class ConnectionPool : public std::enable_shared_from_this<ConnectionPool> {
 public:
  ConnectionPool(std::size_t max_idle, std::chrono::milliseconds idle_timeout)
      : max_idle_(max_idle), idle_timeout_(idle_timeout) {}

  ConnectionPool(ConnectionPool const&) = delete;
  ConnectionPool& operator=(ConnectionPool const&) = delete;

  /// An idle connection to `origin` opened on `ctx` that still looks usable, or null.
  std::unique_ptr<HttpConnection> take(asio::execution_context& ctx, std::string const& origin) {
    auto const now = std::chrono::steady_clock::now();
    for (;;) {
      std::unique_ptr<HttpConnection> c;
      {
        std::lock_guard lock(mutex_);
        auto it = idle_.find(Key{&ctx, origin});
        if (it == idle_.end() || it->second.empty()) return nullptr;
        c = std::move(it->second.back());
        it->second.pop_back();
      }
      // Checked outside the lock (a system call); a dead one is just closed.
      if (now - c->idle_since <= idle_timeout_ && c->looks_open()) return c;
    }
  }

  /// Parks `c` for reuse; when the origin already has `max_idle` idle
  /// connections, the oldest is closed instead.
  void put(asio::execution_context& ctx, std::string const& origin, std::unique_ptr<HttpConnection> c) {
    if (max_idle_ == 0) return;
    c->idle_since = std::chrono::steady_clock::now();
    std::unique_ptr<HttpConnection> evicted;
    bool first_for_context = false;
    {
      std::lock_guard lock(mutex_);
      auto& list = idle_[Key{&ctx, origin}];
      if (list.size() >= max_idle_) {
        evicted = std::move(list.front());
        list.erase(list.begin());
      }
      list.push_back(std::move(c));
      first_for_context = contexts_.insert(&ctx).second;
    }
    // Outside our lock: the guard takes its own.
    if (first_for_context) asio::use_service<ConnectionPoolGuard>(ctx).watch(weak_from_this());
  }

  /// Closes every idle connection opened on `ctx` (its context is shutting down).
  void forget(asio::execution_context* ctx) {
    std::vector<std::unique_ptr<HttpConnection>> dropped;
    {
      std::lock_guard lock(mutex_);
      contexts_.erase(ctx);
      for (auto it = idle_.begin(); it != idle_.end();) {
        if (it->first.first == ctx) {
          for (auto& c : it->second) dropped.push_back(std::move(c));
          it = idle_.erase(it);
        } else {
          ++it;
        }
      }
    }
  }

  /// Idle connections parked for `origin` on `ctx` (tests).
  std::size_t idle_count(asio::execution_context& ctx, std::string const& origin) {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(Key{&ctx, origin});
    return it == idle_.end() ? 0 : it->second.size();
  }

 private:
  using Key = std::pair<asio::execution_context*, std::string>;

  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::mutex mutex_;
  std::map<Key, std::vector<std::unique_ptr<HttpConnection>>> idle_;
  std::set<asio::execution_context*> contexts_;  // those whose guard watches us
};

inline void ConnectionPoolGuard::shutdown() {
  std::vector<std::weak_ptr<ConnectionPool>> pools;
  {
    std::lock_guard lock(mutex_);
    pools.swap(pools_);
  }
  for (auto& weak : pools)
    if (auto pool = weak.lock()) pool->forget(&context());
}

}  // namespace leash::llm::detail

#endif
