// leash/learn/detail/toml_parse.hpp — toml++ included once, its version
// difference hidden, and a parse that reports instead of throwing (toml++
// throws or not depending on how it was built).
#ifndef LEASH_LEARN_DETAIL_TOML_PARSE_HPP
#define LEASH_LEARN_DETAIL_TOML_PARSE_HPP

#if __has_include(<toml++/toml.hpp>)
#include <toml++/toml.hpp>
#else
#include <toml++/toml.h>  // toml++ before 3.4
#endif

#include <optional>
#include <string>
#include <string_view>

namespace leash::learn::detail {

/// Parses `text` (named `source` in toml++'s own errors) into `out`; on a
/// syntax error, "line L, column C: what" and `out` is left as it was.
/// "a table", "an integer", …: a node's kind, for error messages.
inline std::string_view toml_kind(toml::node const& n) noexcept {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

inline std::optional<std::string> parse_toml(std::string_view text, std::string_view source, toml::table& out) {
  auto describe = [](toml::parse_error const& e) {
    auto const& at = e.source().begin;
    return "line " + std::to_string(at.line) + ", column " + std::to_string(at.column) + ": " +
           std::string(e.description());
  };
#if TOML_EXCEPTIONS
  try {
    out = toml::parse(text, source);
  } catch (toml::parse_error const& e) {
    return describe(e);
  }
#else
  auto parsed = toml::parse(text, source);
  if (!parsed) return describe(parsed.error());
  out = std::move(parsed).table();
#endif
  return std::nullopt;
}

}  // namespace leash::learn::detail

#endif
