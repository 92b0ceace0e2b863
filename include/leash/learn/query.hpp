// leash/learn/query.hpp — what a query looks like to a router: its class, its
// complexity, and the RoutingContext built from both.
//
//   auto ctx = leash::learn::build_routing_context("Explain why this proof works", 0.5, "qwen3:8b");
//   // ctx.has_math, ctx.has_reasoning, ctx.complexity_score, ctx.suggested_max_tokens, …
//   leash::learn::classify_query("def f(x): return x")   // QueryClass::code
//
// Semantics and constants are OpenJarvis's (reference §2.1): the same words,
// the same weights, the same thresholds. Its regular expressions are matched by
// a hand-written scan (detail/query_scan.hpp says how its notion of word and
// space follows Python's); docs/learn-routing.md has the measurement that chose
// it over std::regex and Boost.Regex.
#ifndef LEASH_LEARN_QUERY_HPP
#define LEASH_LEARN_QUERY_HPP

#include <leash/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace leash::learn {

/// The coarse class routers and learned policies key on. First match wins, in
/// this order: code, math, short (< 50 characters), long (> 500), general.
enum class QueryClass { code, math, short_query, long_query, general };

/// How many classes there are (for tables indexed by class).
inline constexpr std::size_t query_class_count = 5;

/// "code", "math", "short", "long", "general": the reference's names.
constexpr std::string_view to_string(QueryClass c) noexcept;

/// The class named `name` ("short", …); nullopt for any other text.
constexpr std::optional<QueryClass> query_class_from_string(std::string_view name) noexcept;

inline std::ostream& operator<<(std::ostream& os, QueryClass c) { return os << to_string(c); }

/// The class of `query`. Case-insensitive. `code`: a ``` fence, an inline
/// `span`, or one of the words def, class, import, function followed by a
/// space; `math`: one of the whole words solve, integral, equation, calculate,
/// compute; then by length in Unicode code points.
QueryClass classify_query(std::string_view query) noexcept;

/// The query's length as the reference counts it: Unicode code points.
std::size_t query_length(std::string_view query) noexcept;

/// Complexity tiers, from the unrounded score: < 0.15, < 0.30, < 0.55, < 0.80, else.
enum class ComplexityTier { trivial, simple, moderate, complex, very_complex };

constexpr std::string_view to_string(ComplexityTier t) noexcept;
inline std::ostream& operator<<(std::ostream& os, ComplexityTier t) { return os << to_string(t); }

/// The output-token budget of a tier: 1024, 2048, 4096, 8192, 16384.
constexpr std::uint32_t suggested_max_tokens(ComplexityTier t) noexcept;

/// score_complexity()'s verdict.
struct ComplexityResult {
  double score = 0.0;  ///< in [0, 1], rounded to 3 decimals
  ComplexityTier tier = ComplexityTier::trivial;
  std::uint32_t suggested_max_tokens = 1024;
  /// Each part and what raised it, under the reference's keys: length, domain,
  /// has_code, has_math, reasoning, has_reasoning, has_multi_step, multi_part,
  /// n_questions, n_subtasks, creative, has_creative.
  json::object signals;
};

/// Weighted sum of five parts, each in [0, 1] (reference §2.1):
/// length ×0.20, domain (code 0.7, math 0.8, both 1.0) ×0.25, reasoning
/// (words 0.6, multi-step 0.8, both 1.0) ×0.25, multi-part ('?' + numbered and
/// bulleted lines: ≤ 1 → 0, ≤ 3 → 0.5, else 1) ×0.15, creative (0.7) ×0.15.
ComplexityResult score_complexity(std::string_view query);

/// Whether `model` thinks before it answers, spending output tokens on it:
/// its name contains qwen3.5, qwq, deepseek-r1, o1-, o3- or o4- (any case).
bool is_thinking_model(std::string_view model) noexcept;

/// Everything a router looks at (reference §1.1; field names kept).
struct RoutingContext {
  std::string query;
  std::size_t query_length = 0;  ///< Unicode code points
  bool has_code = false;
  bool has_math = false;
  bool has_reasoning = false;
  std::string language = "en";  ///< never set by the analyser, as in the reference
  double urgency = 0.5;         ///< in [0, 1]; above 0.8 the heuristic router picks the smallest model
  double complexity_score = 0.0;
  std::uint32_t suggested_max_tokens = 1024;
  json::object metadata;  ///< "complexity_tier" and "signals" (ComplexityResult::signals)
};

/// The context of `query`: score_complexity()'s signals and score, its token
/// budget (doubled when `model` is a thinking model), and `urgency` — which
/// becomes 0.5 when it is NaN, infinite or outside [0, 1] (the reference turns
/// only non-numbers into 0.5; an urgency of 7 means nothing, so neither does).
RoutingContext build_routing_context(std::string_view query, double urgency = 0.5, std::string_view model = {});

}  // namespace leash::learn

#include <leash/learn/impl/query.hpp>

#endif
