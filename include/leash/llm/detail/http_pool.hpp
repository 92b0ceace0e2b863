// Connections of the HTTP client — a cap on how many are open per origin, a
// line of requests waiting for one, keep-alive reuse — and the guard that
// drops them when their io_context goes away. Not for direct use.
//
// A socket belongs to the io_context it was opened on, and one HttpClient may
// outlive several io_contexts (`Loop::run()` makes a fresh one per call while
// the transport stays). So connections are counted and kept per execution
// context as well as per origin, and a small service registered in each
// context drops that context's idle connections and waiters when it shuts
// down, before its reactor is gone.
#ifndef LEASH_LLM_DETAIL_HTTP_POOL_HPP
#define LEASH_LLM_DETAIL_HTTP_POOL_HPP

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
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

/// Registered in every execution context a pool has served a request on; on
/// the context's shutdown it tells those pools to drop that context's
/// connections and waiters.
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

/// Connections of one (execution context, origin): the idle ones, how many
/// are open, and the requests waiting for one. Guarded by the pool's mutex.
struct OriginConnections {
  /// What a waiter is handed: a connection to reuse, or (null) the right to open one.
  using Grant = asio::experimental::concurrent_channel<void(boost::system::error_code, std::unique_ptr<HttpConnection>)>;
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex) : grant(std::move(ex), 1) {}
    Grant grant;
  };

  std::vector<std::unique_ptr<HttpConnection>> idle;  ///< oldest first
  std::size_t open = 0;  ///< idle + in use + being connected
  std::deque<std::shared_ptr<Waiter>> waiters;  ///< first come, first served
  bool gone = false;  ///< its context shut down: nothing is parked or handed on any more
};

/// The right to use one connection to one origin, from ConnectionPool::acquire:
/// `conn` is a parked connection to reuse, or null (the holder connects and
/// puts the new connection there). Giving it back — release(), or the
/// destructor on any other way out — parks a reusable connection or hands it
/// to the next waiter, and frees the slot otherwise.
class ConnectionLease {
 public:
  ConnectionLease() = default;
  ConnectionLease(ConnectionLease&& o) noexcept
      : conn(std::move(o.conn)), pool_(std::move(o.pool_)), origin_(std::move(o.origin_)) {}
  ConnectionLease& operator=(ConnectionLease&& o) noexcept {
    if (this != &o) {
      give_back(false);
      conn = std::move(o.conn);
      pool_ = std::move(o.pool_);
      origin_ = std::move(o.origin_);
    }
    return *this;
  }
  ~ConnectionLease() { give_back(false); }

  /// Whether this lease holds a slot (false: the wait for one was cancelled).
  explicit operator bool() const noexcept { return origin_ != nullptr; }

  /// Gives the slot back; `reusable`: `conn` may serve another request.
  void release(bool reusable) { give_back(reusable); }

  std::unique_ptr<HttpConnection> conn;

 private:
  friend class ConnectionPool;
  inline void give_back(bool reusable) noexcept;

  std::shared_ptr<ConnectionPool> pool_;
  std::shared_ptr<OriginConnections> origin_;
};

/// The connections of one HttpClient, per (execution context, origin): at
/// most `max_open` open at once (0: no cap), a request beyond that waiting in
/// line for one to come free; idle ones parked for reuse, most recently used
/// first out, at most `max_idle`, none older than `idle_timeout`.
/// Thread-safe: coroutines on several threads may share it.
class ConnectionPool : public std::enable_shared_from_this<ConnectionPool> {
 public:
  ConnectionPool(std::size_t max_idle, std::chrono::milliseconds idle_timeout, std::size_t max_open = 0)
      : max_idle_(max_idle), idle_timeout_(idle_timeout), max_open_(max_open) {}

  ConnectionPool(ConnectionPool const&) = delete;
  ConnectionPool& operator=(ConnectionPool const&) = delete;

  /// A slot for one request to `origin` on the current executor's context: a
  /// parked connection that still looks usable, else the right to open one,
  /// else (at the cap) a place in line until a request ahead gives one back.
  /// The wait has no deadline of its own; if the awaiting coroutine is
  /// cancelled, the lease comes back empty.
  asio::awaitable<ConnectionLease> acquire(asio::execution_context& ctx, std::string const& origin) {
    ConnectionLease lease;
    lease.pool_ = shared_from_this();
    auto const ex = co_await asio::this_coro::executor;
    std::shared_ptr<OriginConnections> oc;
    std::shared_ptr<OriginConnections::Waiter> waiter;
    bool first_for_context = false;
    auto const now = std::chrono::steady_clock::now();
    for (;;) {
      std::unique_ptr<HttpConnection> candidate;
      {
        std::lock_guard lock(mutex_);
        if (!oc) {
          auto& slot = by_origin_[Key{&ctx, origin}];
          if (!slot) {
            slot = std::make_shared<OriginConnections>();
            first_for_context = contexts_.insert(&ctx).second;
          }
          oc = slot;
        }
        if (!oc->idle.empty()) {
          candidate = std::move(oc->idle.back());
          oc->idle.pop_back();
        } else if (max_open_ == 0 || oc->open < max_open_) {
          ++oc->open;
          lease.origin_ = oc;
          break;
        } else {
          waiter = std::make_shared<OriginConnections::Waiter>(ex);
          oc->waiters.push_back(waiter);
          break;
        }
      }
      // Checked outside the lock (a system call). A dead one is closed and its
      // slot is ours, unless another parked connection may serve instead.
      if (now - candidate->idle_since <= idle_timeout_ && candidate->looks_open()) {
        lease.conn = std::move(candidate);
        lease.origin_ = oc;
        break;
      }
      candidate.reset();
      std::lock_guard lock(mutex_);
      if (oc->idle.empty()) {
        lease.origin_ = oc;
        break;
      }
      --oc->open;
    }
    // Outside our lock: the guard takes its own.
    if (first_for_context) asio::use_service<ConnectionPoolGuard>(ctx).watch(weak_from_this());
    if (!waiter) co_return lease;

    auto [ec, conn] = co_await waiter->grant.async_receive(asio::as_tuple(asio::use_awaitable));
    if (!ec) {
      lease.conn = std::move(conn);
      lease.origin_ = oc;
      co_return lease;
    }
    // Cancelled while in line. Granted meanwhile (the grant is sent under the
    // lock)? Then the slot is ours, and goes straight back.
    {
      std::lock_guard lock(mutex_);
      auto it = std::find(oc->waiters.begin(), oc->waiters.end(), waiter);
      if (it != oc->waiters.end()) {
        oc->waiters.erase(it);
        co_return ConnectionLease{};
      }
    }
    ConnectionLease granted;
    granted.pool_ = lease.pool_;
    granted.origin_ = oc;
    waiter->grant.try_receive([&](boost::system::error_code, std::unique_ptr<HttpConnection> c) { granted.conn = std::move(c); });
    granted.release(granted.conn != nullptr);
    co_return ConnectionLease{};
  }

  /// Closes every idle connection opened on `ctx` and forgets its waiters
  /// (its context is shutting down; their coroutines are being destroyed).
  void forget(asio::execution_context* ctx) {
    // Closed and dropped outside the lock.
    std::vector<std::unique_ptr<HttpConnection>> idle;
    std::vector<std::shared_ptr<OriginConnections::Waiter>> waiters;
    std::lock_guard lock(mutex_);
    contexts_.erase(ctx);
    for (auto it = by_origin_.begin(); it != by_origin_.end();) {
      if (it->first.first != ctx) {
        ++it;
        continue;
      }
      auto& oc = *it->second;
      oc.gone = true;
      for (auto& c : oc.idle) idle.push_back(std::move(c));
      for (auto& w : oc.waiters) waiters.push_back(std::move(w));
      oc.idle.clear();
      oc.waiters.clear();
      it = by_origin_.erase(it);
    }
  }

  /// Idle connections parked for `origin` on `ctx` (tests).
  std::size_t idle_count(asio::execution_context& ctx, std::string const& origin) {
    std::lock_guard lock(mutex_);
    auto it = by_origin_.find(Key{&ctx, origin});
    return it == by_origin_.end() ? 0 : it->second->idle.size();
  }

 private:
  friend class ConnectionLease;
  using Key = std::pair<asio::execution_context*, std::string>;

  /// A lease given back: `conn` (null, or reusable) goes to the first waiter,
  /// else is parked (evicting the oldest beyond max_idle); without a
  /// connection the slot goes to the first waiter, else is freed.
  void give_back(std::shared_ptr<OriginConnections> const& oc, std::unique_ptr<HttpConnection> conn) noexcept {
    std::unique_ptr<HttpConnection> closed;  // closed outside the lock
    std::lock_guard lock(mutex_);
    if (oc->gone) {
      closed = std::move(conn);
      return;
    }
    // A waiter cancelled at this moment finds itself granted and gives the
    // slot back again (see acquire); try_send cannot fail on a fresh channel of one.
    if (!oc->waiters.empty()) {
      auto next = std::move(oc->waiters.front());
      oc->waiters.pop_front();
      next->grant.try_send(boost::system::error_code{}, std::move(conn));
      return;
    }
    if (conn && max_idle_ > 0) {
      conn->idle_since = std::chrono::steady_clock::now();
      if (oc->idle.size() >= max_idle_) {
        closed = std::move(oc->idle.front());
        oc->idle.erase(oc->idle.begin());
        --oc->open;
      }
      oc->idle.push_back(std::move(conn));
      return;
    }
    closed = std::move(conn);
    --oc->open;
  }

  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::size_t max_open_;
  std::mutex mutex_;
  std::map<Key, std::shared_ptr<OriginConnections>> by_origin_;
  std::set<asio::execution_context*> contexts_;  // those whose guard watches us
};

inline void ConnectionLease::give_back(bool reusable) noexcept {
  if (!origin_) return;
  auto oc = std::move(origin_);
  auto pool = std::move(pool_);
  std::unique_ptr<HttpConnection> c = std::move(conn);
  if (!reusable) c.reset();
  pool->give_back(oc, std::move(c));
}

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
