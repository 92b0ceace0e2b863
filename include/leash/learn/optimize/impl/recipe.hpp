// leash/learn/optimize/impl/recipe.hpp — the recipe writer.
#ifndef LEASH_LEARN_OPTIMIZE_IMPL_RECIPE_HPP
#define LEASH_LEARN_OPTIMIZE_IMPL_RECIPE_HPP

#if defined(LEASH_HAS_TOMLPLUSPLUS)

#include <leash/learn/detail/toml_parse.hpp>
#include <leash/store/detail/file_io.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace leash::learn::optimize {

namespace detail::recipe {

/// A value written by toml++: strings as single-line basic strings only
/// (toml++'s literal and multi-line forms do not always read back; see
/// learn/impl/agent_config.hpp).
template <class Node>
std::string toml_text(Node const& node) {
  std::ostringstream os;
  os << toml::toml_formatter{node, toml::format_flags::allow_unicode_strings};
  return std::move(os).str();
}

inline std::string string_text(std::string const& s) { return toml_text(toml::value<std::string>(s)); }

/// The shortest text that reads back as `v`, with ".0" where it would read as
/// an integer (toml++ 3.3 writes 0.3 as 0.29999999999999999).
inline std::string float_text(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

inline std::optional<std::string> as_string(json::value const* v) {
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

inline std::optional<double> as_float(json::value const* v) {
  if (!v) return std::nullopt;
  double d;
  if (v->is_double()) d = v->get_double();
  else if (v->is_int64()) d = static_cast<double>(v->get_int64());
  else if (v->is_uint64()) d = static_cast<double>(v->get_uint64());
  else return std::nullopt;
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

/// A whole number that TOML's 64-bit integers hold (2.0 counts).
inline std::optional<std::int64_t> as_integer(json::value const* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) {
    if (v->get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(v->get_uint64());
  }
  if (v->is_double()) {
    double d = v->get_double();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) >= 9.2e18) return std::nullopt;
    return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

inline std::optional<std::vector<std::string>> as_strings(json::value const* v) {
  if (!v || !v->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (auto const& x : v->get_array()) {
    if (!x.is_string()) return std::nullopt;
    out.emplace_back(x.get_string());
  }
  return out;
}

/// Lines "key = value" of one table, written only when it has any.
struct Table {
  std::string name;
  std::string lines;
  void add(std::string_view key, std::optional<std::string> text) {
    if (!text) return;
    lines += key;
    lines += " = ";
    lines += *text;
    lines += '\n';
  }
};

inline Error write_error(std::filesystem::path const& path, std::string_view what, std::error_code ec) {
  return Error(Errc::store_failed, "recipe " + path.string() + ": cannot " + std::string(what) + ": " + ec.message());
}

}  // namespace detail::recipe

inline std::string recipe_toml(TrialConfig const& config, TrialResult const* measured) {
  namespace r = detail::recipe;
  auto const& p = config.params;
  auto str = [](std::optional<std::string> s) -> std::optional<std::string> {
    if (!s) return std::nullopt;
    return r::string_text(*s);
  };
  auto flt = [](std::optional<double> d) -> std::optional<std::string> {
    if (!d) return std::nullopt;
    return r::float_text(*d);
  };
  auto integer = [](std::optional<std::int64_t> i) -> std::optional<std::string> {
    if (!i) return std::nullopt;
    return std::to_string(*i);
  };

  std::string const id = measured && !measured->trial_id.empty() ? measured->trial_id : config.trial_id;
  std::string description = "Configuration of optimisation trial " + id;
  if (measured && std::isfinite(measured->accuracy)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (accuracy %.4f)", measured->accuracy);
    description += buf;
  }

  r::Table recipe{"recipe", {}};
  recipe.add("name", r::string_text("optimized-" + id));
  recipe.add("description", r::string_text(description));
  recipe.add("version", r::string_text("0.1.0"));

  r::Table intelligence{"intelligence", {}};
  intelligence.add("model", str(r::as_string(p.if_contains("intelligence.model"))));
  intelligence.add("temperature", flt(r::as_float(p.if_contains("intelligence.temperature"))));
  intelligence.add("max_tokens", integer(r::as_integer(p.if_contains("intelligence.max_tokens"))));
  intelligence.add("top_p", flt(r::as_float(p.if_contains("intelligence.top_p"))));
  intelligence.add("system_prompt", str(r::as_string(p.if_contains("intelligence.system_prompt"))));

  r::Table agent{"agent", {}};
  agent.add("max_turns", integer(r::as_integer(p.if_contains("agent.max_turns"))));
  agent.add("system_prompt", str(r::as_string(p.if_contains("agent.system_prompt"))));
  if (auto tools = r::as_strings(p.if_contains("tools.tool_set"))) {
    toml::array a;
    for (auto& t : *tools) a.push_back(std::move(t));
    agent.add("tools", r::toml_text(a));
  }

  std::string out;
  for (auto const* t : {&recipe, &intelligence, &agent}) {
    if (t->lines.empty()) continue;
    if (!out.empty()) out += '\n';
    out += "[" + t->name + "]\n" + t->lines;
  }
  return out;
}

inline result<void> export_recipe(std::filesystem::path const& path, TrialResult const& trial) {
  namespace fio = leash::detail::file_io;
  if (trial.failed)
    return Error(Errc::invalid_input, "recipe " + path.string() + ": trial " + trial.trial_id +
                                          " failed; a failed trial has no recipe to export");
  try {
    std::string const text = recipe_toml(trial.config, &trial);
    std::error_code ec;
    auto const target = std::filesystem::absolute(path, ec);
    if (ec) return detail::recipe::write_error(path, "resolve its directory", ec);
    std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) return detail::recipe::write_error(path, "create its directory", ec);
    if (auto wec = fio::replace_atomically(target, text, 0666)) return detail::recipe::write_error(path, "write it", wec);
    return success();
  } catch (std::exception const& e) {
    return Error(Errc::store_failed, "recipe " + path.string() + ": " + e.what());
  }
}

inline result<void> export_recipe(std::filesystem::path const& path, OptimizationRun const& run) {
  if (!run.best || *run.best >= run.trials.size())
    return Error(Errc::invalid_input,
                 "recipe " + path.string() + ": optimisation run '" + run.run_id + "' has no best trial to export");
  return export_recipe(path, run.trials[*run.best]);
}

}  // namespace leash::learn::optimize

#endif

#endif
