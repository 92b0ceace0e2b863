// leash/learn/optimize/impl/search_space.hpp — prompt rendering, checks and
// repairs of proposals, the default space, and the [optimize] TOML loader.
#ifndef LEASH_LEARN_OPTIMIZE_IMPL_SEARCH_SPACE_HPP
#define LEASH_LEARN_OPTIMIZE_IMPL_SEARCH_SPACE_HPP

#if defined(LEASH_HAS_TOMLPLUSPLUS)
#include <leash/store/detail/file_io.hpp>
#include <leash/learn/detail/toml_parse.hpp>
#include <sstream>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <utility>

namespace leash::learn::optimize {

namespace detail {

/// Largest magnitude of an integer dimension's values: every whole number up
/// to it is exact as a double, so range checks and rounding are exact.
inline constexpr double max_whole = 9007199254740992.0;  // 2^53

/// A string as a JSON string literal: quoted, control characters escaped.
inline std::string json_string(std::string_view s) { return json::serialize(json::string(s)); }

inline std::string number_text(double v) { return leash::detail::format_number(v); }

/// `v` as JSON for people and models: numbers in their shortest form (0.3,
/// not Boost.JSON's 3E-1), ", " between items.
inline std::string to_text(json::value const& v) {
  switch (v.kind()) {
    case json::kind::double_: return number_text(v.get_double());
    case json::kind::array: {
      std::string out = "[";
      for (auto const& item : v.get_array()) out += (out.size() > 1 ? ", " : "") + to_text(item);
      return out + "]";
    }
    case json::kind::object: {
      std::string out = "{";
      for (auto const& [k, item] : v.get_object())
        out += (out.size() > 1 ? ", " : "") + json_string(k) + ": " + to_text(item);
      return out + "}";
    }
    default: return json::serialize(v);
  }
}

/// `v` as JSON for a message, cut to about 80 bytes.
inline std::string brief(json::value const& v) {
  std::string s = to_text(v);
  constexpr std::size_t cap = 80;
  if (s.size() <= cap) return s;
  s.resize(utf8_prefix(s, cap));
  return s + "…";
}

inline std::string options_text(std::vector<json::value> const& values) {
  std::string out = "[";
  for (auto const& v : values) out += (out.size() > 1 ? ", " : "") + to_text(v);
  return out + "]";
}

inline std::optional<double> number_of(json::value const& v) noexcept {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

/// JSON equality where numbers compare by value: an option 2 matches 2.0.
inline bool same_value(json::value const& a, json::value const& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_double() || b.is_double()) return *number_of(a) == *number_of(b);
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    auto const& s = a.is_int64() ? a : b;  // one int64, one uint64
    auto const& u = a.is_int64() ? b : a;
    return s.get_int64() >= 0 && static_cast<std::uint64_t>(s.get_int64()) == u.get_uint64();
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    auto const& x = a.get_array();
    auto const& y = b.get_array();
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), same_value);
  }
  if (a.is_object()) {
    auto const& x = a.get_object();
    auto const& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (auto const& [k, xv] : x) {
      auto const* yv = y.if_contains(k);
      if (!yv || !same_value(xv, *yv)) return false;
    }
    return true;
  }
  return a == b;
}

inline json::value const* find_option(std::vector<json::value> const& options, json::value const& v) {
  for (auto const& o : options)
    if (same_value(o, v)) return &o;
  return nullptr;
}

/// "[0, 1]", "at least 1", "at most 5", or "" when unbounded.
inline std::string range_text(SearchDimension const& d) {
  if (d.low && d.high) return "[" + number_text(*d.low) + ", " + number_text(*d.high) + "]";
  if (d.low) return "at least " + number_text(*d.low);
  if (d.high) return "at most " + number_text(*d.high);
  return {};
}

/// What is allowed, as the end of a message: "a number in [0, 1]", …
inline std::string allowed_text(SearchDimension const& d) {
  auto range = range_text(d);
  auto in = range.empty() ? std::string() : (range.front() == '[' ? " in " : " ") + range;
  switch (d.type) {
    case DimensionType::continuous: return "a number" + in;
    case DimensionType::integer: return "a whole number" + in;
    case DimensionType::subset: return "a JSON array of distinct options from " + options_text(d.values);
    case DimensionType::text: return "a string";
    default: return "one of " + options_text(d.values);
  }
}

/// One key's verdict. Valid: `error` empty and `value` canonical. Otherwise
/// `value` is the repaired value (nullopt: drop the key) and `change` says
/// what the repair did.
struct Verdict {
  std::optional<json::value> value;
  std::string error;
  std::string change;
};

inline Verdict reject(std::string error, std::string change) {
  return Verdict{std::nullopt, std::move(error), std::move(change)};
}

inline Verdict judge_number(SearchDimension const& d, json::value const& v) {
  bool const whole = d.type == DimensionType::integer;
  auto n = number_of(v);
  if (!n || std::isnan(*n))
    return reject("must be " + allowed_text(d) + ", not " + brief(v), "dropped: " + brief(v) + " is not a number");

  double lo = d.low.value_or(-HUGE_VAL), hi = d.high.value_or(HUGE_VAL);
  if (whole) {
    lo = std::max(lo, -max_whole);
    hi = std::min(hi, max_whole);
  }
  double x = *n;
  bool const rounded = whole && std::isfinite(x) && x != std::trunc(x);
  if (rounded) x = std::round(x);
  bool const clamped = x < lo || x > hi;
  if (clamped && std::isinf(x) && !(x < lo ? d.low : d.high))
    return reject("must be " + allowed_text(d) + ", not " + brief(v),
                  "dropped: " + brief(v) + " is not a finite number");
  x = std::clamp(x, lo, hi);

  if (!rounded && !clamped) {
    if (whole) return Verdict{json::value(static_cast<std::int64_t>(x)), {}, {}};
    return Verdict{v, {}, {}};
  }
  json::value repaired = whole ? json::value(static_cast<std::int64_t>(x)) : json::value(x);
  std::string error = rounded ? "must be " + allowed_text(d) + ", not " + brief(v)
                              : brief(v) + " is outside the allowed range: must be " + allowed_text(d);
  std::string change;
  auto const limits = range_text(d).empty() ? std::string("magnitude at most 2^53") : "range " + range_text(d);
  if (rounded && clamped)
    change = "rounded " + brief(v) + " and clamped it to " + brief(repaired) + " (" + limits + ")";
  else if (rounded)
    change = "rounded " + brief(v) + " to " + brief(repaired);
  else
    change = "clamped " + brief(v) + " to " + brief(repaired) + " (" + limits + ")";
  return Verdict{std::move(repaired), std::move(error), std::move(change)};
}

inline Verdict judge_subset(SearchDimension const& d, json::value const& v) {
  if (!v.is_array()) {
    if (auto const* o = find_option(d.values, v))
      return Verdict{json::value(json::array{*o}),
                     "must be an array, even for one option: [" + brief(v) + "]; allowed: " + allowed_text(d),
                     "wrapped " + brief(v) + " in an array"};
    return reject("must be " + allowed_text(d) + ", not " + brief(v),
                  "dropped: " + brief(v) + " is not an array of options");
  }
  json::array kept;
  std::vector<json::value const*> taken;  // options already in `kept`
  std::string unknown, repeated;
  auto append = [](std::string& list, json::value const& x) {
    if (!list.empty()) list += ", ";
    list += brief(x);
  };
  for (auto const& item : v.get_array()) {
    auto const* o = find_option(d.values, item);
    if (!o) {
      append(unknown, item);
    } else if (std::find(taken.begin(), taken.end(), o) != taken.end()) {
      append(repeated, item);
    } else {
      taken.push_back(o);
      kept.push_back(*o);
    }
  }
  if (unknown.empty() && repeated.empty()) return Verdict{json::value(std::move(kept)), {}, {}};

  std::string error, change = "removed ";
  if (!unknown.empty()) {
    error = "not options: " + unknown;
    change += unknown + " (not options)";
  }
  if (!repeated.empty()) {
    error += std::string(error.empty() ? "" : "; ") + "listed more than once: " + repeated;
    change += std::string(unknown.empty() ? "" : " and ") + "repeats of " + repeated;
  }
  error += "; allowed: " + allowed_text(d);
  return Verdict{json::value(std::move(kept)), std::move(error), std::move(change)};
}

inline Verdict judge(SearchDimension const& d, json::value const& v) {
  switch (d.type) {
    case DimensionType::continuous:
    case DimensionType::integer: return judge_number(d, v);
    case DimensionType::subset: return judge_subset(d, v);
    case DimensionType::text:
      if (v.is_string()) return Verdict{v, {}, {}};
      return reject("must be a string, not " + brief(v), "dropped: " + brief(v) + " is not a string");
    default:
      if (auto const* o = find_option(d.values, v)) return Verdict{*o, {}, {}};
      return reject(brief(v) + " is not an option; must be " + allowed_text(d),
                    "dropped: " + brief(v) + " is not an option");
  }
}

inline std::string unknown_key(SearchSpace const& space, std::string_view key) {
  // A bare knob ("temperature") or another primitive's: point at the dotted names.
  std::string guesses;
  for (auto const& d : space.dimensions) {
    auto dot = d.name.find('.');
    if (dot != std::string::npos && std::string_view(d.name).substr(dot + 1) == key)
      guesses += std::string(guesses.empty() ? "" : " or ") + json_string(d.name);
  }
  if (!guesses.empty()) return "not a parameter of this search space; did you mean " + guesses + "?";
  std::string names;
  for (auto const& d : space.dimensions) names += std::string(names.empty() ? "" : ", ") + d.name;
  return "not a parameter of this search space" +
         (names.empty() ? std::string(", which has none") : "; the parameters are: " + names);
}

inline std::string capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = char(s[0] - 'a' + 'A');
  return s;
}

inline std::string dimension_label(SearchDimension const& d, std::size_t index) {
  return "search dimension #" + std::to_string(index + 1) + " " + json_string(d.name);
}

}  // namespace detail

inline std::string primitive_of(std::string_view name) {
  auto dot = name.find('.');
  return dot == std::string_view::npos ? std::string() : std::string(name.substr(0, dot));
}

inline SearchDimension const* SearchSpace::find(std::string_view name) const noexcept {
  for (auto const& d : dimensions)
    if (d.name == name) return &d;
  return nullptr;
}

// -- the prompt ----------------------------------------------------------------

inline std::string SearchSpace::to_prompt() const {
  std::map<std::string, std::vector<SearchDimension const*>> groups;  // sorted by primitive
  for (auto const& d : dimensions) {
    auto p = d.primitive.empty() ? primitive_of(d.name) : d.primitive;
    groups[p.empty() ? std::string("other") : p].push_back(&d);
  }

  std::string out = "# Search Space\n\nPropose a value for any of these parameters, keyed by its dotted name.\n";
  for (auto const& [primitive, dims] : groups) {
    out += "\n## " + detail::capitalised(primitive) + "\n\n";
    for (auto const* d : dims) {
      out += "- **" + d->name + "** (" + std::string(to_string(d->type)) + ")";
      if (!d->description.empty()) out += ": " + d->description;
      out += "\n  ";
      auto range = detail::range_text(*d);
      switch (d->type) {
        case DimensionType::continuous:
          out += range.empty() ? "Any number" : "Range: " + range;
          break;
        case DimensionType::integer:
          out += range.empty() ? "Any whole number" : "Range: " + range + ", whole numbers";
          break;
        case DimensionType::subset:
          out += "Options (any subset, as a JSON array): " + detail::options_text(d->values);
          break;
        case DimensionType::text: out += "Free-form text"; break;
        default: out += "Options: " + detail::options_text(d->values); break;
      }
      out += '\n';
    }
  }

  if (!fixed.empty()) {
    std::vector<std::pair<std::string_view, json::value const*>> sorted;
    for (auto const& [k, v] : fixed) sorted.emplace_back(k, &v);
    std::sort(sorted.begin(), sorted.end());
    out += "\n## Fixed Parameters\n\nSet in every trial, whatever is proposed:\n\n";
    for (auto const& [k, v] : sorted) out += "- " + std::string(k) + " = " + detail::to_text(*v) + '\n';
  }
  if (!constraints.empty()) {
    out += "\n## Constraints\n\n";
    for (auto const& c : constraints) out += "- " + c + '\n';
  }
  return out;
}

// -- checks ----------------------------------------------------------------------

inline result<void> SearchSpace::check() const {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < dimensions.size(); ++i) {
    auto const& d = dimensions[i];
    auto fail = [&](std::string const& why) {
      return Error(Errc::invalid_config, detail::dimension_label(d, i) + ": " + why);
    };
    if (d.name.empty()) return fail("the name is empty");
    if (!names.insert(d.name).second) return fail("the name is used by an earlier dimension too");
    auto const type = std::string(to_string(d.type));
    switch (d.type) {
      case DimensionType::categorical:
      case DimensionType::subset:
        if (d.values.empty()) return fail(type + " dimension needs values (its options)");
        break;
      case DimensionType::continuous:
        if (!d.low || !d.high) return fail("continuous dimension needs both low and high");
        [[fallthrough]];
      case DimensionType::integer:
        for (auto const* bound : {&d.low, &d.high}) {
          if (!*bound) continue;
          auto const which = bound == &d.low ? std::string("low") : std::string("high");
          double const b = **bound;
          if (!std::isfinite(b)) return fail(which + " must be a finite number, not " + detail::number_text(b));
          if (d.type == DimensionType::integer && (b != std::trunc(b) || std::fabs(b) > detail::max_whole))
            return fail("integer dimension's " + which + " must be a whole number of magnitude at most 2^53, not " +
                        detail::number_text(b));
        }
        if (d.low && d.high && *d.low > *d.high)
          return fail("low (" + detail::number_text(*d.low) + ") is greater than high (" +
                      detail::number_text(*d.high) + ")");
        break;
      case DimensionType::text: break;
    }
  }
  return success();
}

inline std::vector<ProposalError> SearchSpace::check_proposal(json::object const& params) const {
  std::vector<ProposalError> errors;
  for (auto const& [key, value] : params) {
    if (fixed.contains(key)) continue;  // overwritten anyway
    auto const* d = find(key);
    if (!d) {
      errors.push_back({std::string(key), detail::unknown_key(*this, key)});
      continue;
    }
    auto verdict = detail::judge(*d, value);
    if (!verdict.error.empty()) errors.push_back({std::string(key), std::move(verdict.error)});
  }
  return errors;
}

inline ClampedProposal SearchSpace::clamp_proposal(json::object const& params) const {
  ClampedProposal out;
  for (auto const& [key, value] : params) {
    if (fixed.contains(key)) {
      out.params[key] = value;
      continue;
    }
    auto const* d = find(key);
    if (!d) {
      out.changes.push_back({std::string(key), "dropped: not a parameter of this search space"});
      continue;
    }
    auto verdict = detail::judge(*d, value);
    if (verdict.value) out.params[key] = std::move(*verdict.value);
    if (!verdict.change.empty()) out.changes.push_back({std::string(key), std::move(verdict.change)});
  }
  return out;
}

inline json::object SearchSpace::apply_fixed(json::object params) const {
  for (auto const& [key, value] : fixed) params[key] = value;
  return params;
}

inline result<json::object> SearchSpace::validate(json::object const& params, ValidationMode mode) const {
  if (mode == ValidationMode::strict) {
    auto errors = check_proposal(params);
    if (!errors.empty())
      return Error(Errc::invalid_input, "the proposal does not fit the search space (" +
                                            std::to_string(errors.size()) +
                                            (errors.size() == 1 ? " problem):\n" : " problems):\n") +
                                            format_proposal_errors(errors));
  }
  // With no errors, clamping changes nothing but the form (2.0 → 2).
  return apply_fixed(clamp_proposal(params).params);
}

inline std::string format_proposal_errors(std::span<ProposalError const> errors) {
  std::string out;
  for (auto const& e : errors) out += "- `" + e.key + "`: " + e.message + '\n';
  return out;
}

// -- the default space -------------------------------------------------------------

inline SearchSpace default_search_space() {
  SearchSpace s;
  auto add = [&](std::string name, DimensionType type, std::string description) -> SearchDimension& {
    auto& d = s.dimensions.emplace_back();
    d.primitive = primitive_of(name);
    d.name = std::move(name);
    d.type = type;
    d.description = std::move(description);
    return d;
  };
  add("intelligence.model", DimensionType::categorical,
      "the model that plans every step, as a transport spec (leash::make_transport)")
      .values = {json::value("openai:gpt-4o-mini"), json::value("openai:gpt-4o"),
                 json::value("anthropic:claude-haiku-4-5"), json::value("anthropic:claude-sonnet-4-6"),
                 json::value("openai-compatible:http://127.0.0.1:8080/v1#qwen2.5")};
  auto& temperature = add("intelligence.temperature", DimensionType::continuous,
                          "sampling temperature: low repeats the likeliest answer, high explores");
  temperature.low = 0.0;
  temperature.high = 1.0;
  auto& max_tokens = add("intelligence.max_tokens", DimensionType::integer,
                         "the most output tokens one model call may produce");
  max_tokens.low = 256;
  max_tokens.high = 8192;
  add("intelligence.system_prompt", DimensionType::text,
      "instructions sent ahead of the task: the agent's role, method and the form of its answer");
  auto& max_turns = add("agent.max_turns", DimensionType::integer,
                        "the most iterations (a model call and the tool calls it asks for) before the run stops");
  max_turns.low = 1;
  max_turns.high = 30;
  add("tools.tool_set", DimensionType::subset,
      "the tools the agent may call; each one costs prompt tokens and is one more way to go wrong")
      .values = {json::value("read_file"), json::value("edit_file"), json::value("list_files"),
                 json::value("search_text"), json::value("run_tests")};
  s.constraints = {
      "Every tool call uses one of agent.max_turns: the more a task needs tools.tool_set, the more turns it needs.",
      "A reply cut off at intelligence.max_tokens loses its tool call or its answer: keep the limit above the "
      "longest reply the task calls for.",
  };
  return s;
}

// -- the [optimize] TOML --------------------------------------------------------------

#if defined(LEASH_HAS_TOMLPLUSPLUS)

namespace detail {

using leash::learn::detail::toml_kind;

/// A TOML value as JSON; dates and times become their TOML text.
inline json::value toml_to_json(toml::node const& n) {
  switch (n.type()) {
    case toml::node_type::string: return json::value(n.as_string()->get());
    case toml::node_type::integer: return json::value(n.as_integer()->get());
    case toml::node_type::floating_point: return json::value(n.as_floating_point()->get());
    case toml::node_type::boolean: return json::value(n.as_boolean()->get());
    case toml::node_type::array: {
      json::array a;
      for (auto const& item : *n.as_array()) a.push_back(toml_to_json(item));
      return a;
    }
    case toml::node_type::table: {
      json::object o;
      for (auto const& [k, v] : *n.as_table()) o[k.str()] = toml_to_json(v);
      return o;
    }
    default: {
      std::ostringstream os;
      if (auto const* d = n.as_date()) os << d->get();
      else if (auto const* t = n.as_time()) os << t->get();
      else if (auto const* dt = n.as_date_time()) os << dt->get();
      return json::value(std::move(os).str());
    }
  }
}

/// Reads the keys of one TOML table, each failure an Error that names the
/// source and `where` ("[optimize]", "[[optimize.search]] #2 \"x\"").
class TomlReader {
 public:
  TomlReader(std::string_view source, std::string where, toml::table const& table)
      : source_(source), where_(std::move(where)), table_(table) {}

  Error fail(std::string_view why) const {
    return Error(Errc::invalid_config,
                 "optimize config " + std::string(source_) + ": " + where_ + ": " + std::string(why));
  }

  toml::node const* get(std::string_view key) const { return table_.get(key); }

  result<std::optional<std::string>> string(std::string_view key) const {
    auto const* n = get(key);
    if (!n) return std::optional<std::string>();
    if (!n->is_string()) return wrong(key, "a string", *n);
    return std::optional<std::string>(n->as_string()->get());
  }

  result<std::optional<double>> number(std::string_view key) const {
    auto const* n = get(key);
    if (!n) return std::optional<double>();
    if (n->is_integer()) return std::optional<double>(static_cast<double>(n->as_integer()->get()));
    if (n->is_floating_point()) return std::optional<double>(n->as_floating_point()->get());
    return wrong(key, "a number", *n);
  }

  result<std::optional<std::int64_t>> integer(std::string_view key) const {
    auto const* n = get(key);
    if (!n) return std::optional<std::int64_t>();
    if (!n->is_integer()) return wrong(key, "an integer", *n);
    return std::optional<std::int64_t>(n->as_integer()->get());
  }

  result<toml::array const*> array(std::string_view key) const {
    auto const* n = get(key);
    if (!n) return static_cast<toml::array const*>(nullptr);
    if (!n->is_array()) return wrong(key, "an array", *n);
    return n->as_array();
  }

  result<toml::table const*> table(std::string_view key) const {
    auto const* n = get(key);
    if (!n) return static_cast<toml::table const*>(nullptr);
    if (!n->is_table()) return wrong(key, "a table", *n);
    return n->as_table();
  }

  /// A weight: finite and at least 0; 1 when absent.
  result<double> weight() const {
    BOOST_OUTCOME_TRY(auto w, number("weight"));
    if (!w) return 1.0;
    if (!std::isfinite(*w) || *w < 0)
      return fail("weight must be a finite number of at least 0, not " + number_text(*w));
    return *w;
  }

  /// max_samples: at least 1; `otherwise` when absent.
  result<std::uint64_t> max_samples(std::uint64_t otherwise) const {
    BOOST_OUTCOME_TRY(auto n, integer("max_samples"));
    if (!n) return otherwise;
    if (*n < 1) return fail("max_samples must be at least 1, not " + std::to_string(*n));
    return static_cast<std::uint64_t>(*n);
  }

 private:
  Error wrong(std::string_view key, std::string_view wanted, toml::node const& got) const {
    return fail(std::string(key) + " must be " + std::string(wanted) + ", not " + std::string(toml_kind(got)));
  }

  std::string_view source_;
  std::string where_;
  toml::table const& table_;
};

/// The tables of an array of tables (`[[optimize.<key>]]`).
inline result<std::vector<toml::table const*>> tables_of(TomlReader const& parent, std::string_view key) {
  BOOST_OUTCOME_TRY(auto const* array, parent.array(key));
  std::vector<toml::table const*> out;
  if (!array) return out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto const& n = *array->get(i);
    if (!n.is_table())
      return parent.fail(std::string(key) + " #" + std::to_string(i + 1) + " must be a table, not " +
                         std::string(toml_kind(n)));
    out.push_back(n.as_table());
  }
  return out;
}

/// `fixed` with nested tables turned into dotted names.
inline result<void> flatten_fixed(TomlReader const& reader, toml::table const& table, std::string const& prefix,
                                  json::object& out) {
  for (auto const& [k, v] : table) {
    auto name = prefix + std::string(k.str());
    if (auto const* sub = v.as_table()) {
      BOOST_OUTCOME_TRY(flatten_fixed(reader, *sub, name + ".", out));
    } else if (!out.emplace(name, toml_to_json(v)).second) {
      return reader.fail("fixed parameter " + json_string(name) + " is given twice");
    }
  }
  return success();
}

inline result<SearchDimension> read_dimension(std::string_view source, std::size_t index, toml::table const& t) {
  std::string where = "[[optimize.search]] #" + std::to_string(index + 1);
  TomlReader r(source, where, t);
  BOOST_OUTCOME_TRY(auto name, r.string("name"));
  if (!name) return r.fail("name is missing");
  SearchDimension d;
  d.name = std::move(*name);
  d.primitive = primitive_of(d.name);
  TomlReader named(source, where + " " + json_string(d.name), t);

  BOOST_OUTCOME_TRY(auto type, named.string("type"));
  if (type) {
    auto known = dimension_type_from_string(*type);
    if (!known)
      return named.fail("unknown type " + json_string(*type) +
                        " (the types are categorical, continuous, integer, subset and text)");
    d.type = *known;
  }
  BOOST_OUTCOME_TRY(auto const* values, named.array("values"));
  if (values)
    for (auto const& v : *values) d.values.push_back(toml_to_json(v));
  BOOST_OUTCOME_TRY(d.low, named.number("low"));
  BOOST_OUTCOME_TRY(d.high, named.number("high"));
  BOOST_OUTCOME_TRY(auto description, named.string("description"));
  d.description = description.value_or("");
  return d;
}

inline result<BenchmarkSpec> read_benchmark(std::string_view source, std::size_t index, toml::table const& t) {
  TomlReader r(source, "[[optimize.benchmarks]] #" + std::to_string(index + 1), t);
  BOOST_OUTCOME_TRY(auto name, r.string("name"));
  if (!name) {
    BOOST_OUTCOME_TRY(name, r.string("benchmark"));
  }
  if (!name || name->empty()) return r.fail("name (or benchmark) is missing or empty");
  BenchmarkSpec b;
  b.benchmark = std::move(*name);
  BOOST_OUTCOME_TRY(b.max_samples, r.max_samples(200));
  BOOST_OUTCOME_TRY(b.weight, r.weight());
  return b;
}

inline result<ObjectiveSpec> read_objective(std::string_view source, std::size_t index, toml::table const& t) {
  TomlReader r(source, "[[optimize.objectives]] #" + std::to_string(index + 1), t);
  BOOST_OUTCOME_TRY(auto metric, r.string("metric"));
  if (!metric || metric->empty()) return r.fail("metric is missing or empty");
  ObjectiveSpec o;
  o.metric = std::move(*metric);
  BOOST_OUTCOME_TRY(auto direction, r.string("direction"));
  if (direction) {
    auto known = direction_from_string(*direction);
    if (!known) return r.fail("direction must be \"maximize\" or \"minimize\", not " + json_string(*direction));
    o.direction = *known;
  }
  BOOST_OUTCOME_TRY(o.weight, r.weight());
  return o;
}

}  // namespace detail

inline result<OptimizeConfig> optimize_config_from_toml_string(std::string_view text, std::string_view source) {
  auto fail = [&](std::string const& why) {
    return Error(Errc::invalid_config, "optimize config " + std::string(source) + ": " + why);
  };
  toml::table doc;
  if (auto syntax = leash::learn::detail::parse_toml(text, source, doc)) return fail(*syntax);

  auto const* node = doc.get("optimize");
  if (!node) return fail("no [optimize] table");
  if (!node->is_table()) return fail("optimize must be a table, not " + std::string(detail::toml_kind(*node)));
  detail::TomlReader r(source, "[optimize]", *node->as_table());

  OptimizeConfig c;
  BOOST_OUTCOME_TRY(auto search, detail::tables_of(r, "search"));
  for (std::size_t i = 0; i < search.size(); ++i) {
    BOOST_OUTCOME_TRY(auto d, detail::read_dimension(source, i, *search[i]));
    c.search_space.dimensions.push_back(std::move(d));
  }
  if (auto checked = c.search_space.check(); !checked) return fail(checked.error().message);

  BOOST_OUTCOME_TRY(auto const* fixed, r.table("fixed"));
  if (fixed) {
    BOOST_OUTCOME_TRY(detail::flatten_fixed(detail::TomlReader(source, "[optimize.fixed]", *fixed), *fixed, "",
                                            c.search_space.fixed));
  }

  BOOST_OUTCOME_TRY(auto const* constraints, r.table("constraints"));
  if (constraints) {
    detail::TomlReader cr(source, "[optimize.constraints]", *constraints);
    BOOST_OUTCOME_TRY(auto const* rules, cr.array("rules"));
    if (rules)
      for (std::size_t i = 0; i < rules->size(); ++i) {
        auto const& rule = *rules->get(i);
        if (!rule.is_string())
          return cr.fail("rules #" + std::to_string(i + 1) + " must be a string, not " +
                         std::string(detail::toml_kind(rule)));
        c.search_space.constraints.push_back(rule.as_string()->get());
      }
  }

  BOOST_OUTCOME_TRY(auto objectives, detail::tables_of(r, "objectives"));
  if (!objectives.empty()) {
    c.objectives.clear();
    for (std::size_t i = 0; i < objectives.size(); ++i) {
      BOOST_OUTCOME_TRY(auto o, detail::read_objective(source, i, *objectives[i]));
      c.objectives.push_back(std::move(o));
    }
  }

  BOOST_OUTCOME_TRY(auto benchmarks, detail::tables_of(r, "benchmarks"));
  for (std::size_t i = 0; i < benchmarks.size(); ++i) {
    BOOST_OUTCOME_TRY(auto b, detail::read_benchmark(source, i, *benchmarks[i]));
    c.benchmarks.push_back(std::move(b));
  }
  if (benchmarks.empty()) {
    BOOST_OUTCOME_TRY(auto single, r.string("benchmark"));
    if (single) {
      if (single->empty()) return r.fail("benchmark is empty");
      BenchmarkSpec b;
      b.benchmark = std::move(*single);
      BOOST_OUTCOME_TRY(b.max_samples, r.max_samples(50));
      c.benchmarks.push_back(std::move(b));
    }
  }
  return c;
}

inline result<OptimizeConfig> load_optimize_config(std::filesystem::path const& file) {
  namespace fio = leash::detail::file_io;
  std::string text;
  leash::detail::UniqueFd fd;
  std::error_code ec = fio::open_file(file, O_RDONLY, fd);
  if (!ec) ec = fio::read_all(fd.get(), text);
  if (ec) return Error(Errc::invalid_config, "optimize config " + file.string() + ": cannot read it: " + ec.message());
  return optimize_config_from_toml_string(text, file.string());
}

#endif  // LEASH_HAS_TOMLPLUSPLUS

}  // namespace leash::learn::optimize

#endif
