// leash/learn/spec_search/impl/config.hpp — definitions for config.hpp: the
// [learning.spec_search] reader, its unknown-key suggestions and stops_from.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_CONFIG_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_CONFIG_HPP

#include <leash/json.hpp>
#include <leash/learn/detail/toml_parse.hpp>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace leash::learn::spec_search {

namespace detail::config {

/// The keys of [learning.spec_search], in the reference's order.
inline constexpr std::array<std::string_view, 12> keys{
    "teacher_model",
    "autonomy_mode",
    "min_traces",
    "max_cost_per_session_usd",
    "max_tool_calls_per_diagnosis",
    "stagnation_k",
    "max_total_cost_usd",
    "stagnation_eps",
    "max_regression",
    "min_improvement",
    "benchmark_subsample_size",
    "benchmark_version",
};

/// Names a reader might write instead of a key: SpecSearchOptions' and
/// CostBudget's field names, and the reference's constructor arguments.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 8> aliases{{
    {"max_cost_usd", "max_cost_per_session_usd"},
    {"max_tool_calls", "max_tool_calls_per_diagnosis"},
    {"max_turns", "max_tool_calls_per_diagnosis"},
    {"subsample_size", "benchmark_subsample_size"},
    {"max_total_usd", "max_total_cost_usd"},
    {"teacher", "teacher_model"},
    {"autonomy", "autonomy_mode"},
    {"eps", "stagnation_eps"},
}};

inline std::string quoted(std::string_view s) { return json::serialize(json::string(s)); }

/// Lower case, '-' as '_': "Min-Traces" is compared as "min_traces".
inline std::string folded(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (c == '-') c = '_';
  }
  return out;
}

/// Levenshtein distance (insertions, deletions, substitutions).
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t const above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The key `unknown` was probably meant to be: an alias's key, else the
/// nearest key within max(2, a third of its length) edits (the first in
/// `keys` on a tie); empty when none is that near.
inline std::string_view close_key(std::string_view unknown) {
  auto const f = folded(unknown);
  for (auto const& [alias, key] : aliases)
    if (f == alias) return key;
  std::string_view best;
  std::size_t best_distance = std::max<std::size_t>(2, f.size() / 3) + 1;
  for (auto key : keys) {
    auto const d = edit_distance(f, key);
    if (d < best_distance) {
      best = key;
      best_distance = d;
    }
  }
  return best;
}

inline std::string unknown_key_text(std::string_view unknown) {
  if (auto key = close_key(unknown); !key.empty()) return "unknown key; did you mean " + quoted(key) + "?";
  std::string all;
  for (auto key : keys) all += std::string(all.empty() ? "" : ", ") + std::string(key);
  return "unknown key (the keys are: " + all + ")";
}

/// Reads the keys of one table, each error naming "SOURCE: [learning.spec_search].KEY".
class Reader {
 public:
  Reader(std::string_view source, toml::table const& table) : source_(source), table_(table) {}

  Error fail(std::string_view key, std::string_view what) const {
    return Error{Errc::invalid_config,
                 std::string(source_) + ": [learning.spec_search]." + std::string(key) + ": " + std::string(what)};
  }

  /// The first key (in the table's order) that is not one of `keys`.
  result<void> no_unknown_keys() const {
    for (auto const& [k, v] : table_) {
      auto const name = k.str();
      if (std::find(keys.begin(), keys.end(), name) == keys.end()) return fail(name, unknown_key_text(name));
    }
    return success();
  }

  /// A non-empty string; empty optional: the key is absent.
  result<std::optional<std::string>> string(std::string_view key) const {
    auto const* n = table_.get(key);
    if (!n) return std::optional<std::string>();
    if (!n->is_string()) return wrong(key, "a string", *n);
    auto const& s = n->as_string()->get();
    if (s.empty()) return fail(key, "must not be empty");
    return std::optional<std::string>(s);
  }

  /// An integer (a float is refused, even 20.0) in [low, high].
  result<std::optional<std::int64_t>> integer(std::string_view key, std::int64_t low,
                                              std::int64_t high = std::numeric_limits<std::int64_t>::max()) const {
    auto const* n = table_.get(key);
    if (!n) return std::optional<std::int64_t>();
    if (!n->is_integer()) return wrong(key, "an integer", *n);
    std::int64_t const v = n->as_integer()->get();
    if (v < low || v > high) {
      std::string range = high == std::numeric_limits<std::int64_t>::max()
                              ? "an integer >= " + std::to_string(low)
                              : "an integer from " + std::to_string(low) + " to " + std::to_string(high);
      return fail(key, "must be " + range + ", not " + std::to_string(v));
    }
    return std::optional<std::int64_t>(v);
  }

  /// A float or an integer, as a double; the range is the caller's.
  result<std::optional<double>> number(std::string_view key) const {
    auto const* n = table_.get(key);
    if (!n) return std::optional<double>();
    if (n->is_floating_point()) return std::optional<double>(n->as_floating_point()->get());
    if (n->is_integer()) return std::optional<double>(static_cast<double>(n->as_integer()->get()));
    return wrong(key, "a number", *n);
  }

  /// A number that is finite and > 0 (a cost in USD).
  result<std::optional<double>> positive_cost(std::string_view key) const {
    BOOST_OUTCOME_TRY(auto v, number(key));
    if (v && !(std::isfinite(*v) && *v > 0))
      return fail(key, "must be a finite number of USD > 0, not " + leash::detail::format_number(*v));
    return v;
  }

 private:
  Error wrong(std::string_view key, std::string_view wanted, toml::node const& got) const {
    return fail(key, "must be " + std::string(wanted) + ", not " +
                         std::string(::leash::learn::detail::toml_kind(got)));
  }

  std::string_view source_;
  toml::table const& table_;
};

}  // namespace detail::config

inline SpecSearchOptions config_session_defaults() {
  SpecSearchOptions o;
  o.gate.max_regression = config_max_regression;
  return o;
}

inline result<SpecSearchConfig> parse_spec_search_config(std::string_view toml_text, std::string_view source) {
  namespace cfg = detail::config;
  auto fail = [&](std::string const& why) { return Error{Errc::invalid_config, std::string(source) + ": " + why}; };

  toml::table doc;
  if (auto syntax = ::leash::learn::detail::parse_toml(toml_text, source, doc)) return fail(*syntax);

  SpecSearchConfig c;
  auto const* learning = doc.get("learning");
  if (!learning) return c;
  if (!learning->is_table())
    return fail("[learning]: must be a table, not " + std::string(::leash::learn::detail::toml_kind(*learning)));
  auto const* node = learning->as_table()->get("spec_search");
  if (!node) return c;
  if (!node->is_table())
    return fail("[learning.spec_search]: must be a table, not " +
                std::string(::leash::learn::detail::toml_kind(*node)));

  cfg::Reader r(source, *node->as_table());
  BOOST_OUTCOME_TRY(r.no_unknown_keys());
  auto& s = c.session;

  BOOST_OUTCOME_TRY(auto teacher, r.string("teacher_model"));
  if (teacher) c.teacher_model = std::move(*teacher);

  BOOST_OUTCOME_TRY(auto autonomy, r.string("autonomy_mode"));
  if (autonomy) {
    auto mode = autonomy_from_string(*autonomy);
    if (!mode)
      return r.fail("autonomy_mode", "must be \"auto\", \"tiered\" or \"manual\", not " + cfg::quoted(*autonomy));
    s.autonomy_mode = *mode;
  }

  BOOST_OUTCOME_TRY(auto min_traces, r.integer("min_traces", 0));
  if (min_traces) s.min_traces = static_cast<std::uint64_t>(*min_traces);

  BOOST_OUTCOME_TRY(auto session_cost, r.positive_cost("max_cost_per_session_usd"));
  if (session_cost) s.max_cost_usd = *session_cost;

  BOOST_OUTCOME_TRY(auto tool_calls, r.integer("max_tool_calls_per_diagnosis", 1));
  if (tool_calls) s.max_tool_calls = static_cast<std::uint64_t>(*tool_calls);

  BOOST_OUTCOME_TRY(auto k, r.integer("stagnation_k", 1, INT_MAX));
  if (k) c.stagnation_k = static_cast<int>(*k);

  BOOST_OUTCOME_TRY(auto total_cost, r.positive_cost("max_total_cost_usd"));
  if (total_cost) c.max_total_cost_usd = *total_cost;

  BOOST_OUTCOME_TRY(auto eps, r.number("stagnation_eps"));
  if (eps) {
    if (!std::isfinite(*eps) || *eps < 0)
      return r.fail("stagnation_eps", "must be a finite number >= 0, not " + leash::detail::format_number(*eps));
    c.stagnation_eps = *eps;
  }

  // The gate's thresholds: BenchmarkGate::validate() is the rule, checked one
  // key at a time so that the error names the key.
  for (std::string_view key : {"max_regression", "min_improvement"}) {
    BOOST_OUTCOME_TRY(auto v, r.number(key));
    if (!v) continue;
    BenchmarkGate probe;
    (key == "max_regression" ? probe.max_regression : probe.min_improvement) = *v;
    if (auto ok = probe.validate(); !ok) return r.fail(key, ok.error().what());
    (key == "max_regression" ? s.gate.max_regression : s.gate.min_improvement) = *v;
  }

  constexpr std::int64_t max_size =
      std::numeric_limits<std::size_t>::max() < static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
          ? static_cast<std::int64_t>(std::numeric_limits<std::size_t>::max())
          : std::numeric_limits<std::int64_t>::max();
  BOOST_OUTCOME_TRY(auto subsample, r.integer("benchmark_subsample_size", 0, max_size));
  if (subsample) s.subsample_size = static_cast<std::size_t>(*subsample);

  BOOST_OUTCOME_TRY(auto version, r.string("benchmark_version"));
  if (version) s.benchmark_version = std::move(*version);
  return c;
}

inline result<SpecSearchConfig> load_spec_search_config(std::filesystem::path const& file) {
  std::string text;
  if (auto ec = ::leash::learn::detail::read_whole_file(file, text))
    return Error{Errc::invalid_config, file.string() + ": cannot read it: " + ec.message()};
  return parse_spec_search_config(text, file.string());
}

template <int K>
result<StopList<SessionFailed, Stagnation<K>, CostBudget>> stops_from(SpecSearchConfig const& config) {
  if (config.stagnation_k != K)
    return Error{Errc::invalid_config,
                 "stops_from<" + std::to_string(K) + ">: the config's stagnation_k is " +
                     std::to_string(config.stagnation_k) + ", but Stagnation<K> fixes K at compile time; call stops_from<" +
                     std::to_string(config.stagnation_k) + ">(config) or set stagnation_k = " + std::to_string(K)};
  Stagnation<K> stagnation;
  stagnation.eps = config.stagnation_eps;
  BOOST_OUTCOME_TRY(stagnation.validate());
  BOOST_OUTCOME_TRY(auto budget, CostBudget::make(config.max_total_cost_usd));
  return StopList<SessionFailed, Stagnation<K>, CostBudget>(SessionFailed{}, stagnation, budget);
}

}  // namespace leash::learn::spec_search

#endif
