// Small type traits shared by the headers. Not for direct use.
#ifndef LEASH_DETAIL_TRAITS_HPP
#define LEASH_DETAIL_TRAITS_HPP

#include <leash/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <type_traits>

namespace leash::detail {

template <class T> struct is_awaitable : std::false_type {};
template <class T, class E> struct is_awaitable<boost::asio::awaitable<T, E>> : std::true_type {};

template <class T> struct is_result : std::false_type {};
template <class T> struct is_result<result<T>> : std::true_type { using value_type = T; };
template <class T> inline constexpr bool is_result_v = is_result<std::remove_cvref_t<T>>::value;

template <class R> struct unwrap_awaitable { using type = R; };
template <class R, class E> struct unwrap_awaitable<boost::asio::awaitable<R, E>> { using type = R; };

}  // namespace leash::detail

#endif
