// leash/detail/schema_traits.hpp — type classification behind leash/schema.hpp
// and leash/validate.hpp: which kind of JSON value a C++ type maps to, the
// described members of a struct, and a string usable as a template argument
// (so a field's name can appear in a diagnostic's type).
#ifndef LEASH_DETAIL_SCHEMA_TRAITS_HPP
#define LEASH_DETAIL_SCHEMA_TRAITS_HPP

#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/mp11/algorithm.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace leash::detail {

/// A string as a structural value: `template <fixed_string Name>` puts a field's
/// name into a type, which g++ prints as `fixed_string<5>{"items"}`.
template <std::size_t N>
struct fixed_string {
  char data[N + 1]{};

  constexpr fixed_string() = default;
  constexpr fixed_string(char const (&s)[N + 1]) {
    for (std::size_t i = 0; i < N; ++i) data[i] = s[i];
  }
  /// From a pointer whose length is known to be N (a described member's name).
  constexpr explicit fixed_string(std::string_view s) {
    for (std::size_t i = 0; i < N && i < s.size(); ++i) data[i] = s[i];
  }

  static constexpr std::size_t size() noexcept { return N; }
  constexpr std::string_view view() const noexcept { return {data, N}; }
};

template <std::size_t N>
fixed_string(char const (&)[N]) -> fixed_string<N - 1>;

/// `Path` + `Sep` + `Name`, leaving out `Sep` when `Path` is empty.
template <fixed_string Path, fixed_string Sep, fixed_string Name>
consteval auto join_path() {
  constexpr std::size_t sep = Path.size() == 0 ? 0 : Sep.size();
  fixed_string<Path.size() + sep + Name.size()> out;
  std::size_t at = 0;
  for (char c : Path.view()) out.data[at++] = c;
  if constexpr (sep != 0)
    for (char c : Sep.view()) out.data[at++] = c;
  for (char c : Name.view()) out.data[at++] = c;
  return out;
}

/// `Path` + `Suffix` (for "[]" after a container field).
template <fixed_string Path, fixed_string Suffix>
consteval auto append_path() {
  fixed_string<Path.size() + Suffix.size()> out;
  std::size_t at = 0;
  for (char c : Path.view()) out.data[at++] = c;
  for (char c : Suffix.view()) out.data[at++] = c;
  return out;
}

/// A described member's name (a `char const*` constant) as a fixed_string.
template <class D>
consteval auto member_name() {
  constexpr std::string_view name = D::name;
  return fixed_string<name.size()>(name);
}

/// For a static_assert in a template: false, but only once instantiated.
template <class...>
inline constexpr bool dependent_false = false;

// ---- the kinds of JSON value a type maps to --------------------------------

template <class T>
inline constexpr bool is_optional_v = false;
template <class T>
inline constexpr bool is_optional_v<std::optional<T>> = true;

template <class T>
inline constexpr bool is_vector_v = false;
template <class T, class A>
inline constexpr bool is_vector_v<std::vector<T, A>> = true;

/// std::map / std::unordered_map keyed by std::string: a JSON object.
template <class T>
inline constexpr bool is_string_map_v = false;
template <class V, class C, class A>
inline constexpr bool is_string_map_v<std::map<std::string, V, C, A>> = true;
template <class V, class H, class E, class A>
inline constexpr bool is_string_map_v<std::unordered_map<std::string, V, H, E, A>> = true;

/// The type inside an optional, vector or string map.
template <class T>
struct element {};
template <class T>
struct element<std::optional<T>> { using type = T; };
template <class T, class A>
struct element<std::vector<T, A>> { using type = T; };
template <class V, class C, class A>
struct element<std::map<std::string, V, C, A>> { using type = V; };
template <class V, class H, class E, class A>
struct element<std::unordered_map<std::string, V, H, E, A>> { using type = V; };
template <class T>
using element_t = typename element<T>::type;

/// Character types are integral but not integers to a person writing a tool;
/// 128-bit integers cannot come out of a JSON document.
template <class T>
concept json_integer = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
                       !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> &&
                       !std::same_as<T, char16_t> && !std::same_as<T, char32_t> &&
                       sizeof(T) <= 8;

template <class T>
concept described_enum = std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value;

template <class T>
concept described_struct = std::is_class_v<T> && !std::is_union_v<T> &&
                           boost::describe::has_describe_members<T>::value;

/// Public members, inherited ones included, in declaration order (bases first).
template <class T>
using members_t =
    boost::describe::describe_members<T, boost::describe::mod_public | boost::describe::mod_inherited>;

template <class P>
struct member_pointer_type {};
template <class C, class M>
struct member_pointer_type<M C::*> { using type = M; };

/// The declared type of a described data member (cv-qualifiers kept, so a
/// const member is seen and refused).
template <class D>
using member_type_t = typename member_pointer_type<std::remove_cv_t<decltype(D::pointer)>>::type;

/// The names of a described struct's members, for the unknown-key check.
template <class T>
inline constexpr auto member_names = []<template <class...> class L, class... D>(L<D...>) {
  return std::array<std::string_view, sizeof...(D)>{std::string_view(D::name)...};
}(members_t<T>{});

/// "int8" … "uint64": how errors name an integer type.
template <json_integer T>
consteval std::string_view integer_name() {
  constexpr bool s = std::is_signed_v<T>;
  if constexpr (sizeof(T) == 1) return s ? "int8" : "uint8";
  else if constexpr (sizeof(T) == 2) return s ? "int16" : "uint16";
  else if constexpr (sizeof(T) == 4) return s ? "int32" : "uint32";
  else return s ? "int64" : "uint64";
}

}  // namespace leash::detail

#endif
