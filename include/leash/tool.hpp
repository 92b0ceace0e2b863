// leash/tool.hpp — the Tool requirement: a tool is a type.
//
// A model of Tool has
//   static constexpr std::string_view name;         // [A-Za-z0-9_-]{1,64}, unique in a ToolSet
//   static constexpr std::string_view description;  // what the LLM reads
//   using args = S;                                 // S described with BOOST_DESCRIBE_STRUCT
//   R operator()(args const&)                       // sync; or
//   R operator()(args const&, std::stop_token)      // sync, told to stop on timeout; or
//   asio::awaitable<R> operator()(args const&)      // async, runs on the loop's executor
// where R is std::string, an arithmetic type, void, any type Boost.JSON can
// convert (serialised as JSON), or leash::result<U> of one of those.
//
// Optional members:
//   static constexpr auto timeout = std::chrono::seconds(60);  // default 60 s
//   static constexpr bool non_blocking = true;  // sync tool that never blocks: runs inline,
//                                               // on the loop's thread, with no timeout
//   static constexpr bool idempotent = true;    // running it twice does no harm: after a
//                                               // crash mid-call, resume re-runs it instead
//                                               // of recording it `uncertain`
//   void cleanup();                              // called (from the loop's thread) on timeout
//   json::value fingerprint(args const&) const;  // what repetition detection compares
//   std::string preview(args const&) const;      // what a person approving the call reads
//                                               // (e.g. a diff); default: the JSON args
//
// See docs/concepts/Tool.md for the full requirement.
#ifndef LEASH_TOOL_HPP
#define LEASH_TOOL_HPP

#include <leash/detail/traits.hpp>
#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/schema.hpp>
#include <leash/validate.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/describe/members.hpp>

#include <chrono>
#include <concepts>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>

namespace leash {

/// A tool's default timeout (reference: 60 s).
inline constexpr std::chrono::duration<double> default_tool_timeout{60.0};

namespace detail {

/// What a tool may return (after unwrapping awaitable and result).
template <class R>
concept tool_output_value =
    std::is_void_v<R> || std::convertible_to<R, std::string_view> || std::is_arithmetic_v<R> ||
    boost::json::has_value_from<R>::value;

template <class R>
concept tool_output = tool_output_value<R> ||
                      (is_result<R>::value && tool_output_value<typename is_result<R>::value_type>);

// Requirement clauses, one line each, so a diagnostic can name the first that fails.
template <class T> concept has_tool_name = requires {
  { T::name } -> std::convertible_to<std::string_view>;
};
template <class T> concept has_tool_description = requires {
  { T::description } -> std::convertible_to<std::string_view>;
};
template <class T> concept has_args_type = requires { typename T::args; };
template <class T> concept has_described_args =
    has_args_type<T> && boost::describe::has_describe_members<typename T::args>::value;
template <class T> concept callable_plain = has_args_type<T> &&
    std::invocable<T&, typename T::args const&>;
template <class T> concept callable_stoppable = has_args_type<T> &&
    std::invocable<T&, typename T::args const&, std::stop_token>;
template <class T> concept callable_with_args = callable_plain<T> || callable_stoppable<T>;

template <class T> struct tool_invoke {
  using type = std::conditional_t<callable_stoppable<T>,
                                  std::invoke_result<T&, typename T::args const&, std::stop_token>,
                                  std::invoke_result<T&, typename T::args const&>>::type;
};
template <class T> using tool_invoke_t = typename tool_invoke<T>::type;

template <class T> concept async_tool = callable_with_args<T> && is_awaitable<tool_invoke_t<T>>::value;

template <class T> concept returns_tool_output = callable_with_args<T> &&
    tool_output<typename unwrap_awaitable<tool_invoke_t<T>>::type>;

template <class T> concept has_timeout = requires {
  std::chrono::duration_cast<std::chrono::duration<double>>(T::timeout);
};
template <class T> concept declares_non_blocking = requires {
  { T::non_blocking } -> std::convertible_to<bool>;
};
template <class T> concept declares_idempotent = requires {
  { T::idempotent } -> std::convertible_to<bool>;
};
template <class T> concept has_cleanup = requires(T& t) { t.cleanup(); };
template <class T> concept has_fingerprint = requires(T const& t, typename T::args const& a) {
  { t.fingerprint(a) } -> std::convertible_to<json::value>;
};
template <class T> concept has_preview = requires(T const& t, typename T::args const& a) {
  { t.preview(a) } -> std::convertible_to<std::string>;
};

}  // namespace detail

/// The Tool requirement (see the top of this file).
template <class T>
concept Tool = detail::has_tool_name<T> && detail::has_tool_description<T> &&
               detail::has_described_args<T> && JsonSchemable<typename T::args> &&
               detail::callable_with_args<T> && detail::returns_tool_output<T>;

/// Asserts the first clause of Tool that `T` misses, in words; true otherwise.
/// Called by ToolSet so that a wrong tool gives one readable error.
template <class T>
consteval bool check_tool() {
  if constexpr (!detail::has_tool_name<T>)
    static_assert(detail::has_tool_name<T>,
                  "leash::Tool: add `static constexpr std::string_view name = \"...\";`");
  else if constexpr (!detail::has_tool_description<T>)
    static_assert(detail::has_tool_description<T>,
                  "leash::Tool: add `static constexpr std::string_view description = \"...\";`");
  else if constexpr (!detail::has_args_type<T>)
    static_assert(detail::has_args_type<T>,
                  "leash::Tool: add `using args = YourArgs;` naming a described struct");
  else if constexpr (!detail::has_described_args<T>)
    static_assert(detail::has_described_args<T>,
                  "leash::Tool: describe the args struct with BOOST_DESCRIBE_STRUCT");
  else if constexpr (!JsonSchemable<typename T::args>)
    // One diagnostic naming the offending field and its type.
    return diagnose_tool_args<typename T::args>();
  else if constexpr (!detail::callable_with_args<T>)
    static_assert(detail::callable_with_args<T>,
                  "leash::Tool: add `R operator()(args const&)` (or with a std::stop_token, or "
                  "returning asio::awaitable<R>)");
  else if constexpr (!detail::returns_tool_output<T>)
    static_assert(detail::returns_tool_output<T>,
                  "leash::Tool: operator() must return std::string, an arithmetic type, void, a "
                  "JSON-convertible type, or leash::result<> of one of those");
  return true;
}

/// The timeout that applies to tool `T`.
template <class T>
constexpr std::chrono::duration<double> tool_timeout() noexcept {
  if constexpr (detail::has_timeout<T>)
    return std::chrono::duration_cast<std::chrono::duration<double>>(T::timeout);
  else
    return default_tool_timeout;
}

/// Whether `T` runs inline on the loop's thread (declared non-blocking).
template <class T>
constexpr bool tool_runs_inline() noexcept {
  if constexpr (detail::declares_non_blocking<T>)
    return static_cast<bool>(T::non_blocking);
  else
    return false;
}

/// Whether `T` may be re-run after a crash left its outcome unknown.
template <class T>
constexpr bool tool_is_idempotent() noexcept {
  if constexpr (detail::declares_idempotent<T>)
    return static_cast<bool>(T::idempotent);
  else
    return false;
}

/// The default fingerprint normaliser: strings longer than 200 characters are
/// replaced by "sha:<digest>", so long contents compare by identity while
/// paths and short values stay exact.
json::value normalize_for_fingerprint(json::value const& v);

/// Identity of a call for repetition detection: digest(name + canonical JSON).
std::string call_fingerprint(std::string_view tool, json::value const& normalized_args);

}  // namespace leash

#include <leash/impl/tool.hpp>

#endif
