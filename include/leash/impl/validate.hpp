#ifndef LEASH_IMPL_VALIDATE_HPP
#define LEASH_IMPL_VALIDATE_HPP

#include <boost/mp11/algorithm.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace leash::detail {

// ---- where an error is: a chain of stack nodes, rendered only on error ---------

struct PathNode {
  enum class Kind : unsigned char { root, field, index, key };
  PathNode const* parent;
  Kind kind;
  std::string_view name;  // field: member name or unknown key; key: map key
  std::size_t index;      // index: array position
};

inline bool is_plain_name(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/// `s` as a JSON string literal, cut to 64 bytes (at a UTF-8 boundary) so one
/// line stays one readable line whatever the model sent.
inline void append_shown(std::string& out, std::string_view s) {
  constexpr std::size_t cap = 64;
  bool cut = s.size() > cap;
  if (cut) {
    std::size_t n = cap;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
  }
  out += json::serialize(json::string_view(s.data(), s.size()));
  if (cut) out += "...";
}

inline void append_path(std::string& out, PathNode const& p) {
  if (p.parent) append_path(out, *p.parent);
  switch (p.kind) {
    case PathNode::Kind::root:
      out += "args";
      break;
    case PathNode::Kind::field:
      // An unknown key may hold anything; keep the path on one line.
      if (is_plain_name(p.name)) {
        out += '.';
        out += p.name;
      } else {
        out += '[';
        append_shown(out, p.name);
        out += ']';
      }
      break;
    case PathNode::Kind::index:
      out += '[';
      out += std::to_string(p.index);
      out += ']';
      break;
    case PathNode::Kind::key:
      out += '[';
      append_shown(out, p.name);
      out += ']';
      break;
  }
}

inline std::string_view kind_word(json::value const& v) noexcept {
  switch (v.kind()) {
    case json::kind::object: return "object";
    case json::kind::array: return "array";
    case json::kind::string: return "string";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::bool_: return "boolean";
    case json::kind::null: return "null";
  }
  return "value";
}

/// The error lines of one parse. Counting is all the success path pays.
class ArgErrors {
 public:
  bool empty() const noexcept { return count_ == 0; }

  /// One error at `at`; `message(std::string&)` appends its text.
  template <class F>
  void add(PathNode const& at, F&& message) {
    ++count_;
    if (count_ > max_argument_error_lines) return;
    if (count_ == max_argument_error_lines) last_line_ = text_.size();
    if (!text_.empty()) text_ += '\n';
    append_path(text_, at);
    text_ += ": ";
    std::forward<F>(message)(text_);
  }

  void expected(PathNode const& at, std::string_view what, json::value const& got) {
    add(at, [&](std::string& s) {
      s += "expected ";
      s += what;
      s += ", got ";
      s += kind_word(got);
    });
  }

  std::string finish() && {
    if (count_ > max_argument_error_lines) {
      text_.resize(last_line_);
      text_ += "\n... and ";
      text_ += std::to_string(count_ - (max_argument_error_lines - 1));
      text_ += " more errors";
    }
    return std::move(text_);
  }

 private:
  std::string text_;
  std::size_t count_ = 0;
  std::size_t last_line_ = 0;  // where the last line that fits the cap begins
};

template <class T, class N>
void out_of_range(ArgErrors& errs, PathNode const& at, N n) {
  errs.add(at, [&](std::string& s) {
    s += "integer ";
    s += std::to_string(n);
    s += " out of range for ";
    s += integer_name<T>();
  });
}

template <class E>
void append_enum_names(std::string& s) {
  bool first = true;
  boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>([&](auto e) {
    if (!first) s += ", ";
    first = false;
    s += '"';
    s += e.name;
    s += '"';
  });
}

// ---- parsing -------------------------------------------------------------------

template <class T>
void parse_value(json::value const& v, T& out, ArgErrors& errs, PathNode const& at);

/// The members of a described struct from `obj`. `out` is value-initialised.
template <class T>
void parse_fields(json::object const& obj, T& out, ArgErrors& errs, PathNode const& at) {
  std::size_t matched = 0;
  boost::mp11::mp_for_each<members_t<T>>([&](auto d) {
    using D = decltype(d);
    using M = member_type_t<D>;
    constexpr std::string_view name = D::name;
    if (json::value const* fv = obj.if_contains(json::string_view(name.data(), name.size()))) {
      ++matched;
      // A nested struct starts from its own defaults, which its schema shows,
      // not from whatever the enclosing struct's initializer gave it.
      if constexpr (described_struct<M> && !has_schema_traits<M>) out.*D::pointer = M{};
      parse_value(*fv, out.*D::pointer, errs, PathNode{&at, PathNode::Kind::field, name, 0});
    } else if constexpr (is_required<T, D>()) {
      errs.add(PathNode{&at, PathNode::Kind::field, name, 0},
               [](std::string& s) { s += "missing required field"; });
    } else if constexpr (is_optional_v<M> && !doc_of<T>(D::name).has_default) {
      (out.*D::pointer).reset();
    }
  });
  // Keys are unique in a json::object: fewer matches than keys means unknown keys.
  if (matched != obj.size()) {
    for (auto const& kv : obj) {
      std::string_view key(kv.key().data(), kv.key().size());
      bool known = false;
      for (std::string_view n : member_names<T>) {
        if (n == key) {
          known = true;
          break;
        }
      }
      if (!known)
        errs.add(PathNode{&at, PathNode::Kind::field, key, 0},
                 [](std::string& s) { s += "unknown field"; });
    }
  }
}

template <class T>
void parse_value(json::value const& v, T& out, ArgErrors& errs, PathNode const& at) {
  if constexpr (has_schema_traits<T>) {
    result<T> r = json_schema_traits<T>::parse(v);
    if (r) {
      out = std::move(r).value();
    } else {
      errs.add(at, [&](std::string& s) {
        for (char c : r.error().what()) s += c == '\n' ? ' ' : c;  // one error, one line
      });
    }
  } else if constexpr (std::same_as<T, bool>) {
    if (v.is_bool())
      out = v.get_bool();
    else
      errs.expected(at, "boolean", v);
  } else if constexpr (json_integer<T>) {
    if (v.is_int64()) {
      std::int64_t n = v.get_int64();
      if (std::in_range<T>(n))
        out = static_cast<T>(n);
      else
        out_of_range<T>(errs, at, n);
    } else if (v.is_uint64()) {
      std::uint64_t n = v.get_uint64();
      if (std::in_range<T>(n))
        out = static_cast<T>(n);
      else
        out_of_range<T>(errs, at, n);
    } else {
      errs.expected(at, "integer", v);
    }
  } else if constexpr (std::floating_point<T>) {
    double x;
    if (v.is_double())
      x = v.get_double();
    else if (v.is_int64())
      x = static_cast<double>(v.get_int64());
    else if (v.is_uint64())
      x = static_cast<double>(v.get_uint64());
    else
      return errs.expected(at, "number", v);
    if constexpr (sizeof(T) < sizeof(double)) {
      // Narrowing a double beyond the target's range is undefined behaviour.
      if (std::abs(x) > static_cast<double>(std::numeric_limits<T>::max())) {
        return errs.add(at, [&](std::string& s) {
          char buf[32];
          auto end = std::to_chars(buf, buf + sizeof buf, x).ptr;
          s += "number ";
          s.append(buf, end);
          s += " out of range for float";
        });
      }
    }
    out = static_cast<T>(x);
  } else if constexpr (std::same_as<T, std::string>) {
    if (json::string const* s = v.if_string())
      out.assign(s->data(), s->size());
    else
      errs.expected(at, "string", v);
  } else if constexpr (described_enum<T>) {
    json::string const* s = v.if_string();
    bool found = false;
    if (s) {
      std::string_view text(s->data(), s->size());
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto e) {
        if (!found && text == e.name) {
          out = e.value;
          found = true;
        }
      });
    }
    if (!found) {
      errs.add(at, [&](std::string& line) {
        line += "expected one of ";
        append_enum_names<T>(line);
        line += ", got ";
        if (s)
          append_shown(line, std::string_view(s->data(), s->size()));
        else
          line += kind_word(v);
      });
    }
  } else if constexpr (is_optional_v<T>) {
    if (v.is_null())
      out.reset();
    else
      parse_value(v, out.emplace(), errs, at);
  } else if constexpr (is_vector_v<T>) {
    using E = element_t<T>;
    json::array const* arr = v.if_array();
    if (!arr) return errs.expected(at, "array", v);
    out.clear();
    out.reserve(arr->size());
    for (std::size_t i = 0; i < arr->size(); ++i) {
      PathNode const here{&at, PathNode::Kind::index, {}, i};
      if constexpr (std::same_as<E, bool>) {  // vector<bool> has no bool& to parse into
        bool b = false;
        parse_value((*arr)[i], b, errs, here);
        out.push_back(b);
      } else {
        parse_value((*arr)[i], out.emplace_back(), errs, here);
      }
    }
  } else if constexpr (is_string_map_v<T>) {
    json::object const* obj = v.if_object();
    if (!obj) return errs.expected(at, "object", v);
    out.clear();
    for (auto const& kv : *obj) {
      std::string_view key(kv.key().data(), kv.key().size());
      auto it = out.try_emplace(std::string(key)).first;
      parse_value(kv.value(), it->second, errs, PathNode{&at, PathNode::Kind::key, key, 0});
    }
  } else {
    static_assert(described_struct<T>);
    // `out` is value-initialised here (a fresh element, or reset by parse_fields).
    if (json::object const* obj = v.if_object())
      parse_fields(*obj, out, errs, at);
    else
      errs.expected(at, "object", v);
  }
}

}  // namespace leash::detail

namespace leash {

template <class T>
result<T> parse_args(json::value const& v) {
  if constexpr (!ToolArgs<T>) {
    detail::diagnose_tool_args<T>();
    return Error{Errc::invalid_arguments};  // never reached: the diagnostic stops the build
  } else {
    detail::ArgErrors errs;
    detail::PathNode const root{nullptr, detail::PathNode::Kind::root, {}, 0};
    T out{};
    detail::parse_value(v, out, errs, root);
    if (!errs.empty()) return Error{Errc::invalid_arguments, std::move(errs).finish()};
    return out;
  }
}

template <class T>
json::value args_to_json(T const& v) {
  if constexpr (!ToolArgs<T>) {
    detail::diagnose_tool_args<T>();
    return {};
  } else {
    return detail::to_json(v);
  }
}

}  // namespace leash

#endif
