// Internals of tool execution: the nested-loop guard, the worker pool, output
// conversion and the timeout race. Not for direct use.
#ifndef LEASH_DETAIL_TOOL_RUNNER_HPP
#define LEASH_DETAIL_TOOL_RUNNER_HPP

#include <leash/detail/traits.hpp>
#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/state.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cxxabi.h>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <typeinfo>

namespace leash {

/// What running one tool call produced.
struct ToolOutcome {
  ActionStatus status = ActionStatus::ok;
  std::string output;  ///< capped at inline_cap with the digest suffix
  double duration_s = 0.0;
};

namespace detail {

/// Depth of tool execution on this thread. A loop started while it is non-zero
/// is a loop run from inside a tool: refused with Errc::nested_loop.
inline thread_local int tool_depth = 0;

struct tool_scope {
  tool_scope() noexcept { ++tool_depth; }
  ~tool_scope() { --tool_depth; }
  tool_scope(tool_scope const&) = delete;
  tool_scope& operator=(tool_scope const&) = delete;
};

inline std::string demangle(char const* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                             std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(name);
}

/// "Type: what()" for the exception in flight.
inline std::string describe_current_exception() {
  try {
    throw;
  } catch (std::exception const& e) {
    return demangle(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    return "unknown exception";
  }
}

template <class V>
std::string value_to_output(V&& v) {
  using D = std::remove_cvref_t<V>;
  if constexpr (std::is_same_v<D, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::convertible_to<V, std::string_view>) {
    return std::string(std::string_view(v));
  } else if constexpr (std::is_arithmetic_v<D>) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return std::string(buf, r.ptr);
  } else {
    return json::serialize(json::value_from(std::forward<V>(v)));
  }
}

/// Runs `call()` (a tool invocation) and turns whatever it returns or throws
/// into a status and a text. Never throws.
template <class Call>
ToolOutcome invoke_to_outcome(Call&& call) noexcept {
  using R = std::invoke_result_t<Call>;
  ToolOutcome out;
  try {
    if constexpr (std::is_void_v<R>) {
      call();
    } else if constexpr (is_result_v<R>) {
      auto r = call();
      if (r.has_error()) {
        out.status = ActionStatus::error;
        out.output = excerpt(r.error().what());
        return out;
      }
      if constexpr (!std::is_void_v<typename R::value_type>) out.output = excerpt(value_to_output(std::move(r).value()));
    } else {
      out.output = excerpt(value_to_output(call()));
    }
  } catch (...) {
    out.status = ActionStatus::error;
    try {
      out.output = excerpt(describe_current_exception());
    } catch (...) {
      out.output = "unknown exception";
    }
  }
  return out;
}

/// Same for a value an async tool produced.
template <class R>
ToolOutcome value_to_outcome(R&& value) noexcept {
  return invoke_to_outcome([&]() -> R { return std::forward<R>(value); });
}

/// The loop's worker threads for blocking tools. Created on first use; joined
/// by the destructor, so no tool thread outlives the loop that owns the pool.
/// A tool that ignores its stop token and its cleanup() keeps the destructor
/// waiting: that is the price of never leaking a thread.
class ToolPool {
 public:
  explicit ToolPool(std::size_t threads = 2) : threads_(threads ? threads : 1) {}
  ToolPool(ToolPool const&) = delete;
  ToolPool& operator=(ToolPool const&) = delete;
  ~ToolPool() {
    if (pool_) pool_->join();
  }

  boost::asio::thread_pool::executor_type executor() {
    std::call_once(once_, [this] { pool_.emplace(threads_); });
    return pool_->get_executor();
  }

 private:
  std::size_t threads_;
  std::once_flag once_;
  std::optional<boost::asio::thread_pool> pool_;
};

/// Runs `work(stop_token) -> R` on the pool and waits at most `timeout`
/// (none: no limit). On timeout: stop is requested, `on_timeout()` runs on
/// this thread, and the result is empty; the worker finishes in the background
/// (the pool joins it) and its late result is dropped.
template <class R, class Work, class OnTimeout>
boost::asio::awaitable<std::optional<R>> race_on_pool(ToolPool& pool, Work work,
                                                      std::optional<std::chrono::duration<double>> timeout,
                                                      OnTimeout on_timeout) {
  namespace asio = boost::asio;
  using namespace asio::experimental::awaitable_operators;
  using channel = asio::experimental::concurrent_channel<void(boost::system::error_code, R)>;

  auto ex = co_await asio::this_coro::executor;
  // The channel lives in the pool's context, not the caller's: the worker may
  // drop the last reference after the caller's io_context is gone (the loop
  // already received the value and ended), and destroying a channel touches
  // the service of the context it was made on. The pool outlives its workers.
  auto done = std::make_shared<channel>(pool.executor(), 1);
  auto stop = std::make_shared<std::stop_source>();
  asio::post(pool.executor(), [done, stop, work = std::move(work)]() mutable {
    tool_scope in_tool;
    R out = work(stop->get_token());
    done->try_send(boost::system::error_code{}, std::move(out));
  });

  if (!timeout) {
    auto [ec, out] = co_await done->async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return std::nullopt;
    co_return std::optional<R>(std::move(out));
  }
  asio::steady_timer timer(ex, std::chrono::duration_cast<asio::steady_timer::duration>(*timeout));
  auto winner = co_await (done->async_receive(asio::as_tuple(asio::use_awaitable)) ||
                          timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (winner.index() == 0) co_return std::optional<R>(std::get<1>(std::get<0>(std::move(winner))));
  stop->request_stop();
  on_timeout();
  co_return std::nullopt;
}

/// The outcome of a tool abandoned at its timeout.
inline ToolOutcome timed_out(std::chrono::duration<double> timeout) {
  return ToolOutcome{ActionStatus::aborted,
                     "aborted: exceeded timeout of " + format_number(timeout.count()) + "s", 0.0};
}

}  // namespace detail
}  // namespace leash

#endif
