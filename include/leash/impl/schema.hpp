#ifndef LEASH_IMPL_SCHEMA_HPP
#define LEASH_IMPL_SCHEMA_HPP

#include <boost/mp11/algorithm.hpp>

#include <cstddef>
#include <optional>
#include <utility>

namespace leash::detail {

// ---- json_schema_traits ------------------------------------------------------

/// The user specialised json_schema_traits<T> (the primary carries a marker).
template <class T>
concept customised = !requires { typename json_schema_traits<T>::leash_not_customised; };

/// … and gave it all three members.
template <class T>
concept has_schema_traits = customised<T> && requires(json::value const& v, T const& t) {
  { json_schema_traits<T>::schema() } -> std::convertible_to<json::object>;
  { json_schema_traits<T>::parse(v) } -> std::same_as<result<T>>;
  { json_schema_traits<T>::to_json(t) } -> std::convertible_to<json::value>;
};

// ---- field_docs ----------------------------------------------------------------

template <class T>
concept has_field_docs = requires { T::field_docs; };

/// Reads every entry, so that it is a constant expression only when
/// field_docs is constexpr.
template <class Docs>
consteval bool probe_field_docs(Docs const& docs) {
  for (FieldDoc const& d : docs)
    if (d.name.size() + d.description.size() == std::size_t(-1)) return false;
  return true;
}

template <class T>
concept well_formed_field_docs = requires {
  { T::field_docs[std::size_t{}] } -> std::convertible_to<FieldDoc const&>;
  typename std::bool_constant<probe_field_docs(T::field_docs)>;
};

inline constexpr std::size_t npos = std::size_t(-1);

/// Index of the first field_docs entry naming no described member, or npos.
template <class T>
consteval std::size_t first_unknown_doc() {
  if constexpr (!has_field_docs<T>) {
    return npos;
  } else {
    std::size_t i = 0;
    for (FieldDoc const& d : T::field_docs) {
      bool found = false;
      for (std::string_view n : member_names<T>) found = found || n == d.name;
      if (!found) return i;
      ++i;
    }
    return npos;
  }
}

/// The FieldDoc of member `name` (an empty one when it has none).
template <class T>
consteval FieldDoc doc_of(std::string_view name) {
  if constexpr (has_field_docs<T>) {
    for (FieldDoc const& d : T::field_docs)
      if (d.name == name) return d;
  }
  return FieldDoc{};
}

/// A field must be present unless it is optional or documented has_default.
template <class T, class D>
consteval bool is_required() {
  return !is_optional_v<member_type_t<D>> && !doc_of<T>(D::name).has_default;
}

// ---- JsonSchemable, computed -----------------------------------------------------

/// True when `T` is one of the structs being checked further out: a recursive
/// type, whose schema would need "$ref".
template <class T, class... Enclosing>
inline constexpr bool is_enclosing = (std::is_same_v<T, Enclosing> || ...);

template <class T, class... Enclosing>
consteval bool struct_is_schemable() {
  if constexpr (is_enclosing<T, Enclosing...> || !std::default_initializable<T> ||
                (has_field_docs<T> && !well_formed_field_docs<T>)) {
    return false;
  } else {
    return first_unknown_doc<T>() == npos &&
           []<template <class...> class L, class... D>(L<D...>) {
             return (is_schemable<member_type_t<D>, T, Enclosing...>() && ...);
           }(members_t<T>{});
  }
}

template <class T, class... Enclosing>
consteval bool is_schemable() {
  if constexpr (!std::is_same_v<T, std::remove_cv_t<T>> || std::is_reference_v<T>)
    return false;
  else if constexpr (customised<T>)
    return has_schema_traits<T>;
  else if constexpr (std::same_as<T, std::string> || std::same_as<T, bool> || json_integer<T> ||
                     std::floating_point<T> || described_enum<T>)
    return true;
  else if constexpr (is_optional_v<T> || is_vector_v<T> || is_string_map_v<T>)
    return is_schemable<element_t<T>, Enclosing...>();
  else if constexpr (described_struct<T>)
    return struct_is_schemable<T, Enclosing...>();
  else
    return false;
}

// ---- diagnostics: each type's name is the where, its message the what -------------

template <fixed_string Field, class Type>
struct unsupported_field_type {
  static_assert(dependent_false<Type>,
                "leash: a tool argument field has a type with no JSON schema; use std::string, an "
                "integer, a floating type, bool, a described enum, std::optional, std::vector, "
                "std::map<std::string, T> or a described struct");
  static constexpr bool value = false;
};

template <class Type>
struct args_struct_not_described {
  static_assert(dependent_false<Type>, "leash: describe the args struct with BOOST_DESCRIBE_STRUCT");
  static constexpr bool value = false;
};

template <class Struct, fixed_string DocName>
struct field_docs_names_unknown_member {
  static_assert(dependent_false<Struct>,
                "leash: field_docs names a field that is not a described member");
  static constexpr bool value = false;
};

template <class Struct>
struct field_docs_malformed {
  static_assert(dependent_false<Struct>,
                "leash: field_docs must be a static constexpr std::array of leash::FieldDoc");
  static constexpr bool value = false;
};

template <fixed_string Field, class Struct>
struct struct_not_default_constructible {
  static_assert(dependent_false<Struct>,
                "leash: a described struct in tool arguments must be default-constructible "
                "(parsing starts from a value-initialised struct)");
  static constexpr bool value = false;
};

template <fixed_string Field, class Struct>
struct recursive_args_type {
  static_assert(dependent_false<Struct>,
                "leash: a tool argument struct contains itself; recursive types are not "
                "supported (their schema would need $ref)");
  static constexpr bool value = false;
};

template <fixed_string Field, class Type>
struct incomplete_json_schema_traits {
  static_assert(dependent_false<Type>,
                "leash: json_schema_traits<T> must declare static json::object schema(), "
                "static result<T> parse(json::value const&) and static json::value "
                "to_json(T const&)");
  static constexpr bool value = false;
};

// The ladders below assert only the first failing clause, then stop: one
// readable error rather than one per field.

// `Enclosing...` are the structs being diagnosed further out, innermost
// first, to recognise a recursive type.

template <fixed_string Path, class T, class... Enclosing>
constexpr bool diagnose_type();

/// Index of the first member whose type is not JsonSchemable (the member
/// count when there is none).
template <class T, class... Enclosing>
consteval std::size_t first_unschemable_member() {
  return []<template <class...> class L, class... D>(L<D...>) {
    constexpr bool ok[] = {is_schemable<member_type_t<D>, T, Enclosing...>()..., true};
    std::size_t i = 0;
    while (i < sizeof...(D) && ok[i]) ++i;
    return i;
  }(members_t<T>{});
}

template <fixed_string Path, class T, class... Enclosing>
constexpr bool diagnose_struct() {
  if constexpr (has_field_docs<T> && !well_formed_field_docs<T>) {
    return field_docs_malformed<T>::value;
  } else if constexpr (!std::default_initializable<T>) {
    return struct_not_default_constructible<Path, T>::value;
  } else if constexpr (constexpr std::size_t doc = first_unknown_doc<T>(); doc != npos) {
    constexpr std::string_view name = T::field_docs[doc].name;
    return field_docs_names_unknown_member<T, fixed_string<name.size()>(name)>::value;
  } else if constexpr (constexpr std::size_t member = first_unschemable_member<T, Enclosing...>();
                       member < boost::mp11::mp_size<members_t<T>>::value) {
    using D = boost::mp11::mp_at_c<members_t<T>, member>;
    return diagnose_type<join_path<Path, ".", member_name<D>()>(), member_type_t<D>, T,
                         Enclosing...>();
  } else {
    return true;
  }
}

template <fixed_string Path, class T, class... Enclosing>
constexpr bool diagnose_type() {
  if constexpr (is_schemable<T, Enclosing...>())
    return true;
  else if constexpr (customised<T>)
    return incomplete_json_schema_traits<Path, T>::value;
  else if constexpr (is_optional_v<T>)
    return diagnose_type<Path, element_t<T>, Enclosing...>();
  else if constexpr (is_vector_v<T> || is_string_map_v<T>)
    return diagnose_type<append_path<Path, "[]">(), element_t<T>, Enclosing...>();
  else if constexpr (described_struct<T> && is_enclosing<T, Enclosing...>)
    return recursive_args_type<Path, T>::value;
  else if constexpr (described_struct<T>)
    return diagnose_struct<Path, T, Enclosing...>();
  else
    return unsupported_field_type<Path, T>::value;
}

template <class T>
constexpr bool diagnose_tool_args() {
  if constexpr (described_struct<T> && is_schemable<T>())
    return true;
  else if constexpr (!described_struct<T> && !customised<T>)
    return args_struct_not_described<T>::value;
  else
    return diagnose_type<fixed_string<0>{}, T>();
}

template <class T>
constexpr bool diagnose_schemable() {
  if constexpr (is_schemable<T>())
    return true;
  else if constexpr (std::is_class_v<T> && !customised<T> && !described_struct<T> &&
                     !is_optional_v<T> && !is_vector_v<T> && !is_string_map_v<T>)
    return args_struct_not_described<T>::value;
  else
    return diagnose_type<fixed_string<0>{}, T>();
}

// ---- values to JSON (the normalised form; also the schema's "default") ----------

template <class T>
json::value to_json(T const& v) {
  if constexpr (has_schema_traits<T>) {
    return json_schema_traits<T>::to_json(v);
  } else if constexpr (std::same_as<T, bool>) {
    return json::value(v);
  } else if constexpr (json_integer<T>) {
    if constexpr (std::is_signed_v<T>)
      return json::value(static_cast<std::int64_t>(v));
    else
      return json::value(static_cast<std::uint64_t>(v));
  } else if constexpr (std::floating_point<T>) {
    return json::value(static_cast<double>(v));
  } else if constexpr (std::same_as<T, std::string>) {
    return json::value(json::string_view(v.data(), v.size()));
  } else if constexpr (described_enum<T>) {
    char const* name = nullptr;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto e) {
      if (!name && e.value == v) name = e.name;
    });
    // A value with no enumerator has no name; its number keeps the round trip
    // honest (parsing refuses it with the list of names).
    if (!name) return json::value(static_cast<std::int64_t>(v));
    return json::value(name);
  } else if constexpr (is_optional_v<T>) {
    return v ? to_json(*v) : json::value(nullptr);
  } else if constexpr (is_vector_v<T>) {
    json::array out;
    out.reserve(v.size());
    for (auto const& e : v) out.push_back(to_json<element_t<T>>(e));
    return out;
  } else if constexpr (is_string_map_v<T>) {
    json::object out;
    out.reserve(v.size());
    for (auto const& [k, e] : v) out.emplace(k, to_json(e));
    return out;
  } else {
    static_assert(described_struct<T>);
    json::object out;
    out.reserve(boost::mp11::mp_size<members_t<T>>::value);
    boost::mp11::mp_for_each<members_t<T>>([&](auto d) {
      using D = decltype(d);
      auto const& field = v.*D::pointer;
      if constexpr (is_optional_v<member_type_t<D>>) {
        if (!field) return;  // empty optionals are left out, as a model would
      }
      out.emplace(D::name, to_json(field));
    });
    return out;
  }
}

// ---- schemas ---------------------------------------------------------------------

template <class T>
json::object schema_of();

template <class T>
json::object struct_schema() {
  using members = members_t<T>;
  constexpr bool any_default = []<template <class...> class L, class... D>(L<D...>) {
    return (doc_of<T>(D::name).has_default || ...);
  }(members{});
  // Defaults are read off a value-initialised struct, built only when needed.
  std::optional<T> defaults;
  if constexpr (any_default) defaults.emplace();

  json::object properties;
  properties.reserve(boost::mp11::mp_size<members>::value);
  json::array required;
  boost::mp11::mp_for_each<members>([&](auto d) {
    using D = decltype(d);
    using M = member_type_t<D>;
    constexpr FieldDoc doc = doc_of<T>(D::name);
    json::object s;
    if constexpr (is_optional_v<M>)
      s = schema_of<element_t<M>>();  // optional: absent rather than null
    else
      s = schema_of<M>();
    if constexpr (!doc.description.empty())
      s["description"] = json::string_view(doc.description.data(), doc.description.size());
    if constexpr (doc.has_default) {
      json::value dv = to_json((*defaults).*D::pointer);
      if (!dv.is_null()) s["default"] = std::move(dv);
    }
    properties.emplace(D::name, std::move(s));
    if constexpr (is_required<T, D>()) required.emplace_back(D::name);
  });

  json::object out;
  out.reserve(4);
  out["type"] = "object";
  out["properties"] = std::move(properties);
  out["required"] = std::move(required);
  out["additionalProperties"] = false;
  return out;
}

template <class T>
json::object schema_of() {
  if constexpr (has_schema_traits<T>) {
    return json::object(json_schema_traits<T>::schema());
  } else if constexpr (std::same_as<T, std::string>) {
    return {{"type", "string"}};
  } else if constexpr (std::same_as<T, bool>) {
    return {{"type", "boolean"}};
  } else if constexpr (json_integer<T>) {
    if constexpr (std::is_unsigned_v<T>)
      return {{"type", "integer"}, {"minimum", 0}};
    else
      return {{"type", "integer"}};
  } else if constexpr (std::floating_point<T>) {
    return {{"type", "number"}};
  } else if constexpr (described_enum<T>) {
    json::array names;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>(
        [&](auto e) { names.emplace_back(e.name); });
    return {{"type", "string"}, {"enum", std::move(names)}};
  } else if constexpr (is_optional_v<T>) {
    // Not a field (a field's optional is "not required" instead): an element
    // of an array or map that may be null.
    return {{"anyOf", json::array{schema_of<element_t<T>>(), json::object{{"type", "null"}}}}};
  } else if constexpr (is_vector_v<T>) {
    return {{"type", "array"}, {"items", schema_of<element_t<T>>()}};
  } else if constexpr (is_string_map_v<T>) {
    return {{"type", "object"}, {"additionalProperties", schema_of<element_t<T>>()}};
  } else {
    static_assert(described_struct<T>);
    return struct_schema<T>();
  }
}

}  // namespace leash::detail

namespace leash {

template <class T>
json::object const& json_schema() {
  if constexpr (!JsonSchemable<T>) {
    detail::diagnose_schemable<T>();
    static json::object const none;  // never reached: the diagnostic stops the build
    return none;
  } else {
    static json::object const schema = detail::schema_of<T>();
    return schema;
  }
}

}  // namespace leash

#endif
