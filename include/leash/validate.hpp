// leash/validate.hpp — strict parsing of model-produced JSON into a tool's
// argument struct, and the normalised JSON form of such a struct.
//
// Strict: nothing is coerced. A model that sends "5" for an integer, 2.0 for
// an integer, 1 for a bool or an unknown key is told so, field by field, and
// can correct itself on the next iteration. This runs on every tool call, so
// the success path allocates only what the struct itself needs, and no error
// text is built unless there is an error.
#ifndef LEASH_VALIDATE_HPP
#define LEASH_VALIDATE_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/schema.hpp>

#include <cstddef>

namespace leash {

/// At most this many lines in an invalid_arguments message. When there are
/// more errors, the first `max_argument_error_lines - 1` are shown and the
/// last line says how many more there were ("... and 7 more errors").
inline constexpr std::size_t max_argument_error_lines = 20;

/// Parse `v` into `T` (a ToolArgs), strictly:
///
/// - `v` must be an object; keys that are not described members are errors;
/// - a field must be present unless it is std::optional or its FieldDoc has
///   `has_default` (a missing optional is nullopt, a missing defaulted field
///   keeps the value of `T{}`);
/// - JSON types must match exactly: integers from JSON integers only (not 2.0,
///   not "2") and within the C++ type's range; floating fields take any JSON
///   number; bool only from true/false; strings only from strings; enums from
///   one of their names; null only for std::optional (→ nullopt);
/// - a type with a json_schema_traits specialisation is parsed by it.
///
/// All errors are collected, depth first in member order, then the unknown
/// keys of each object in document order; one per line, each naming its path:
///
///     args.items[2].name: expected string, got number
///     args.count: expected integer, got string
///     args.bogus: unknown field
///     args.name: missing required field
///     args.mode: expected one of "fast", "slow", got "medium"
///     args.n: integer 300 out of range for uint8
///     args.tags["key"]: expected integer, got boolean
///     args: expected object, got array
///
/// On failure: `Error{Errc::invalid_arguments, <lines joined by '\n'>}`, at
/// most max_argument_error_lines lines.
template <class T>
result<T> parse_args(json::value const& v);

/// The normalised JSON form of `v` (a ToolArgs): every field in member order,
/// defaults included; empty optionals left out; enums by name (by number if
/// the value has no enumerator). `parse_args<T>(args_to_json(x)) == x` for
/// every x whose floating values are finite and whose enums are named.
template <class T>
json::value args_to_json(T const& v);

}  // namespace leash

#include <leash/impl/validate.hpp>

#endif
