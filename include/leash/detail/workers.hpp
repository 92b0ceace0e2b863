// leash/detail/workers.hpp — N coroutines on the caller's executor, awaited
// together: how batches (evaluation samples, simulated conversations) keep
// at most N items in flight. Each worker takes items from shared state until
// none are left.
#ifndef LEASH_DETAIL_WORKERS_HPP
#define LEASH_DETAIL_WORKERS_HPP

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstddef>
#include <exception>
#include <vector>

namespace leash::detail {

/// Runs `count` coroutines `make_worker()` at once and waits for all of
/// them. Workers are expected to catch what their items throw; anything that
/// still escapes one (bad_alloc) is rethrown here after all have ended.
template <class MakeWorker>
boost::asio::awaitable<void> run_workers(std::size_t count, MakeWorker make_worker) {
  namespace asio = boost::asio;
  if (count == 0) co_return;
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, make_worker(), asio::deferred));
  std::vector<op_type> ops;
  ops.reserve(count);
  for (std::size_t w = 0; w < count; ++w) ops.push_back(asio::co_spawn(ex, make_worker(), asio::deferred));
  auto [order, failures] = co_await asio::experimental::make_parallel_group(std::move(ops))
                               .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)order;
  for (auto const& f : failures)
    if (f) std::rethrow_exception(f);
}

}  // namespace leash::detail

#endif
