// leash/schema.hpp — the JSON schema of a tool's arguments, from a struct
// described with BOOST_DESCRIBE_STRUCT.
//
// A tool's arguments are a plain struct; providers want a JSON schema for it
// (the "parameters" of a tool definition). The schema is derived from the
// described members at compile time and built once per type at run time.
// Parsing the model's JSON back into the struct is in leash/validate.hpp.
//
// The requirement is documented in docs/concepts/ToolArgs.md.
#ifndef LEASH_SCHEMA_HPP
#define LEASH_SCHEMA_HPP

#include <leash/detail/schema_traits.hpp>
#include <leash/error.hpp>
#include <leash/json.hpp>

#include <string_view>

namespace leash {

/// Documentation of one field of an args struct. An args struct may declare
///
///     static constexpr std::array field_docs{
///         leash::FieldDoc{"path", "file path"},
///         leash::FieldDoc{"count", "how many lines", true}};
///
/// `description` becomes the field's "description" in the schema.
/// `has_default`: the field is not required; when the model leaves it out it
/// keeps the value of a default-constructed struct (its default member
/// initializer), and the schema shows that value as "default".
/// Every `name` must be a described member (checked at compile time).
struct FieldDoc {
  std::string_view name;
  std::string_view description;
  bool has_default = false;
};

/// Extension point for a type leash does not know (a point, a date, a path
/// type…). Specialise it with all three members:
///
///     template <> struct leash::json_schema_traits<Point> {
///       static json::object schema();                         // its JSON schema
///       static leash::result<Point> parse(json::value const&); // strict parse
///       static json::value to_json(Point const&);             // normalised form
///     };
///
/// On failure `parse` returns an Error whose message says what is wrong
/// ("expected \"x,y\", got number"); leash prefixes the field path
/// ("args.origin: "). A specialisation takes precedence over leash's own
/// handling of the type. Leave this primary template alone: it marks the type
/// as not customised.
template <class T>
struct json_schema_traits {
  using leash_not_customised = void;
};

namespace detail {
template <class T, class... Enclosing>
consteval bool is_schemable();
template <class T>
constexpr bool diagnose_schemable();
template <class T>
constexpr bool diagnose_tool_args();
}  // namespace detail

/// A type with a JSON schema, recursively: std::string, integers (not bool or
/// character types), floating types, bool, enums described with
/// BOOST_DESCRIBE_ENUM, std::optional, std::vector, std::map or
/// std::unordered_map keyed by std::string, structs described with
/// BOOST_DESCRIBE_STRUCT whose public members are all JsonSchemable (and whose
/// field_docs, if any, name described members), and types with a complete
/// json_schema_traits specialisation. cv-qualified types are not.
template <class T>
concept JsonSchemable = detail::is_schemable<T>();

/// A tool's argument type: (1) a struct described with BOOST_DESCRIBE_STRUCT,
/// (2) JsonSchemable, which includes default-constructible and valid
/// field_docs. See docs/concepts/ToolArgs.md.
template <class T>
concept ToolArgs = detail::described_struct<T> && JsonSchemable<T>;

/// The JSON schema of `T`, built on first use and kept for the life of the
/// program (thread-safe, as any function-local static).
///
/// For a described struct: {"type":"object","properties":{…in member
/// order…},"required":[…],"additionalProperties":false}. A type that is not
/// JsonSchemable fails to compile with one static_assert naming the first
/// offending field and its type.
template <class T>
json::object const& json_schema();

/// Where a ToolArgs is required: when `T` is not one, emits the one
/// static_assert that says why (first failing clause only) and returns false;
/// otherwise returns true. Use it in an `if constexpr` so that nothing else is
/// instantiated with the bad type:
///
///     if constexpr (!leash::ToolArgs<A>) return leash::diagnose_tool_args<A>(), dummy;
template <class T>
constexpr bool diagnose_tool_args() {
  return detail::diagnose_tool_args<T>();
}

}  // namespace leash

#include <leash/impl/schema.hpp>

#endif
