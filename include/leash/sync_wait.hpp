// leash/sync_wait.hpp — run one awaitable to completion from plain code.
//
// Stores, transports and loops are Asio coroutines; a command-line tool or a
// test that has nothing else to do drives one with sync_wait. Inside a
// coroutine, co_await it instead.
#ifndef LEASH_SYNC_WAIT_HPP
#define LEASH_SYNC_WAIT_HPP

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace leash {

/// Runs `a` on `io` (on this thread) until it completes and returns its value.
/// An exception escaping the awaitable is rethrown here.
template <class T>
T sync_wait(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
  std::optional<std::conditional_t<std::is_void_v<T>, char, T>> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        if constexpr (std::is_void_v<T>)
          co_await std::move(a);
        else
          out.emplace(co_await std::move(a));
      },
      [&](std::exception_ptr e) { failure = e; });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  if constexpr (!std::is_void_v<T>) return std::move(*out);
}

/// As above, on an io_context of its own.
template <class T>
T sync_wait(boost::asio::awaitable<T> a) {
  boost::asio::io_context io;
  return sync_wait(io, std::move(a));
}

}  // namespace leash

#endif
