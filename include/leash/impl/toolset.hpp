#ifndef LEASH_IMPL_TOOLSET_HPP
#define LEASH_IMPL_TOOLSET_HPP

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/mp11/algorithm.hpp>

#include <chrono>

namespace leash {

namespace detail {

// A named coroutine rather than a lambda: its parameters live in its own frame.
template <class T>
boost::asio::awaitable<ToolOutcome> call_async_tool(T& tool, typename T::args const& args) {
  using R = typename unwrap_awaitable<tool_invoke_t<T>>::type;
  // No tool_scope here: the guard is thread-local, and a suspended async tool
  // would leave it set for every other loop sharing this thread. An async tool
  // that awaits another loop's async_run composes loops (each has its own
  // budget); only synchronous nesting, which would block this thread, is refused.
  try {
    if constexpr (std::is_void_v<R>) {
      co_await tool(args);
      co_return ToolOutcome{};
    } else {
      co_return value_to_outcome(co_await tool(args));
    }
  } catch (...) {
    ToolOutcome out;
    out.status = ActionStatus::error;
    out.output = excerpt(describe_current_exception());
    co_return out;
  }
}

template <class T>
void run_cleanup(T& tool) noexcept {
  if constexpr (has_cleanup<T>) {
    try {
      tool.cleanup();
    } catch (...) {
      // A failing cleanup must not turn a timeout into a crash.
    }
  }
}

}  // namespace detail

template <class... Ts>
constexpr std::optional<std::size_t> ToolSet<Ts...>::find(std::string_view name) noexcept {
  for (std::size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return i;
  return std::nullopt;
}

template <class... Ts>
json::array const& ToolSet<Ts...>::schemas() {
  static json::array const all = [] {
    json::array a;
    a.reserve(sizeof...(Ts));
    (a.push_back(json::object{{"name", json::string(Ts::name)},
                              {"description", json::string(Ts::description)},
                              {"input_schema", json_schema<typename Ts::args>()}}),
     ...);
    return a;
  }();
  return all;
}

template <class... Ts>
std::string const& ToolSet<Ts...>::schema_hash() {
  static std::string const hash = digest(canonical_json(schemas()));
  return hash;
}

template <class... Ts>
std::string ToolSet<Ts...>::preview(call_type const& call) const noexcept {
  if constexpr (sizeof...(Ts) == 0) {
    (void)call;
    return {};
  } else {
    try {
      return boost::mp11::mp_with_index<sizeof...(Ts)>(call.index, [&](auto I) -> std::string {
        using T = std::tuple_element_t<I, std::tuple<Ts...>>;
        if constexpr (detail::has_preview<T>) {
          if (auto const* a = std::get_if<I + 1>(&call.args)) return std::string(std::get<I>(tools_).preview(*a));
        }
        return {};
      });
    } catch (...) {
      return {};  // a preview is a courtesy; the decision still shows the arguments
    }
  }
}

template <class... Ts>
auto ToolSet<Ts...>::validate(std::string_view name, json::value const& args) const
    -> result<call_type> {
  if constexpr (sizeof...(Ts) == 0) {
    (void)args;
    return Error{Errc::unknown_tool, "unknown tool '" + std::string(name) + "'"};
  } else {
    auto index = find(name);
    if (!index) return Error{Errc::unknown_tool, "unknown tool '" + std::string(name) + "'"};
    return boost::mp11::mp_with_index<sizeof...(Ts)>(*index, [&](auto I) -> result<call_type> {
      using T = std::tuple_element_t<I, std::tuple<Ts...>>;
      auto parsed = parse_args<typename T::args>(args);
      if (parsed.has_error())
        return Error{Errc::invalid_arguments,
                     "invalid arguments for tool '" + std::string(T::name) + "': " +
                         parsed.error().message};
      call_type call;
      call.index = I;
      call.name = T::name;
      json::value normalized = args_to_json(parsed.value());
      json::value fp_form;
      if constexpr (detail::has_fingerprint<T>)
        fp_form = std::get<I>(tools_).fingerprint(parsed.value());
      else
        fp_form = normalize_for_fingerprint(normalized);
      call.fingerprint = call_fingerprint(T::name, fp_form);
      if (normalized.is_object()) call.normalized = std::move(normalized.get_object());
      call.args.template emplace<I + 1>(std::move(parsed).value());
      return call;
    });
  }
}

template <class... Ts>
template <std::size_t I>
boost::asio::awaitable<ToolOutcome> ToolSet<Ts...>::execute_one(call_type const& call,
                                                                detail::ToolPool& pool) {
  namespace asio = boost::asio;
  using namespace asio::experimental::awaitable_operators;
  using T = std::tuple_element_t<I, std::tuple<Ts...>>;
  T& tool = std::get<I>(tools_);
  auto const& args = std::get<I + 1>(call.args);
  constexpr auto timeout = tool_timeout<T>();

  if constexpr (detail::async_tool<T>) {
    asio::steady_timer timer(co_await asio::this_coro::executor,
                             std::chrono::duration_cast<asio::steady_timer::duration>(timeout));
    auto winner = co_await (detail::call_async_tool(tool, args) ||
                            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (winner.index() == 0) co_return std::get<0>(std::move(winner));
    detail::run_cleanup(tool);
    co_return detail::timed_out(timeout);
  } else if constexpr (tool_runs_inline<T>()) {
    detail::tool_scope in_tool;
    co_return detail::invoke_to_outcome([&]() -> decltype(auto) {
      if constexpr (detail::callable_stoppable<T>)
        return tool(args, std::stop_token{});
      else
        return tool(args);
    });
  } else {
    // The worker owns a copy of the arguments: after a timeout the loop moves
    // on and `call` may be gone while the tool still runs.
    auto work = [&tool, args](std::stop_token stop) mutable -> ToolOutcome {
      return detail::invoke_to_outcome([&]() -> decltype(auto) {
        if constexpr (detail::callable_stoppable<T>)
          return tool(args, stop);
        else
          return tool(args);
      });
    };
    auto out = co_await detail::race_on_pool<ToolOutcome>(pool, std::move(work), timeout,
                                                          [&tool] { detail::run_cleanup(tool); });
    if (out) co_return std::move(*out);
    co_return detail::timed_out(timeout);
  }
}

template <class... Ts>
std::optional<ToolOutcome> ToolSet<Ts...>::execute_inline(call_type const& call) {
  if constexpr (sizeof...(Ts) == 0) {
    (void)call;
    return std::nullopt;
  } else {
    return boost::mp11::mp_with_index<sizeof...(Ts)>(call.index, [&](auto I) -> std::optional<ToolOutcome> {
      using T = std::tuple_element_t<I, std::tuple<Ts...>>;
      if constexpr (!detail::async_tool<T> && tool_runs_inline<T>()) {
        // What execute_one's inline branch does, timed as execute() times it.
        T& tool = std::get<I>(tools_);
        auto const& args = std::get<I + 1>(call.args);
        auto const started = std::chrono::steady_clock::now();
        std::optional<ToolOutcome> out;
        {
          detail::tool_scope in_tool;
          out = detail::invoke_to_outcome([&]() -> decltype(auto) {
            if constexpr (detail::callable_stoppable<T>)
              return tool(args, std::stop_token{});
            else
              return tool(args);
          });
        }
        out->duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return out;
      } else {
        return std::nullopt;
      }
    });
  }
}

template <class... Ts>
boost::asio::awaitable<ToolOutcome> ToolSet<Ts...>::execute(call_type const& call,
                                                            detail::ToolPool& pool) {
  auto const started = std::chrono::steady_clock::now();
  ToolOutcome out;
  if constexpr (sizeof...(Ts) > 0) {
    out = co_await boost::mp11::mp_with_index<sizeof...(Ts)>(
        call.index, [&](auto I) { return execute_one<I>(call, pool); });
  } else {
    (void)pool;
    out = ToolOutcome{ActionStatus::error, "unknown tool", 0.0};
  }
  out.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  co_return out;
}

}  // namespace leash

#endif
