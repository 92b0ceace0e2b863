#ifndef LEASH_LEARN_IMPL_QUERY_HPP
#define LEASH_LEARN_IMPL_QUERY_HPP

#include <leash/learn/detail/query_scan.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

namespace leash::learn {

constexpr std::string_view to_string(QueryClass c) noexcept {
  switch (c) {
    case QueryClass::code: return "code";
    case QueryClass::math: return "math";
    case QueryClass::short_query: return "short";
    case QueryClass::long_query: return "long";
    default: return "general";
  }
}

constexpr std::optional<QueryClass> query_class_from_string(std::string_view name) noexcept {
  for (auto c : {QueryClass::code, QueryClass::math, QueryClass::short_query, QueryClass::long_query,
                 QueryClass::general})
    if (to_string(c) == name) return c;
  return std::nullopt;
}

constexpr std::string_view to_string(ComplexityTier t) noexcept {
  switch (t) {
    case ComplexityTier::trivial: return "trivial";
    case ComplexityTier::simple: return "simple";
    case ComplexityTier::moderate: return "moderate";
    case ComplexityTier::complex: return "complex";
    default: return "very_complex";
  }
}

constexpr std::uint32_t suggested_max_tokens(ComplexityTier t) noexcept {
  switch (t) {
    case ComplexityTier::trivial: return 1024;
    case ComplexityTier::simple: return 2048;
    case ComplexityTier::moderate: return 4096;
    case ComplexityTier::complex: return 8192;
    default: return 16384;
  }
}

namespace detail {

/// scan_query() through a one-entry cache per thread. A query is mostly
/// scanned twice in a row — build_routing_context(q), then a router's
/// classify_query(ctx.query) — and comparing it with the last one costs a
/// memcmp, a tenth of a scan. Queries over 4 KiB are not kept (nor is their
/// memory); an allocation failure only skips the cache.
inline QuerySignals scan_cached(std::string_view query) noexcept {
  struct Last {
    std::string query;
    QuerySignals signals;
    bool valid = false;
  };
  thread_local Last last;
  if (last.valid && query == last.query) return last.signals;
  QuerySignals const s = scan_query(query);
  last.valid = false;
  if (query.size() <= 4096) {
    try {
      last.query.assign(query);
      last.signals = s;
      last.valid = true;
    } catch (...) {
    }
  }
  return s;
}

inline QueryClass classify(QuerySignals const& s) noexcept {
  if (s.classify_code()) return QueryClass::code;
  if (s.math_word) return QueryClass::math;
  if (s.code_points < 50) return QueryClass::short_query;
  if (s.code_points > 500) return QueryClass::long_query;
  return QueryClass::general;
}

}  // namespace detail

inline QueryClass classify_query(std::string_view query) noexcept {
  return detail::classify(detail::scan_cached(query));
}

inline std::size_t query_length(std::string_view query) noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < query.size(); i += detail::decode(query, i).len) ++n;
  return n;
}

namespace detail {

inline ComplexityResult complexity(QuerySignals const& s) {
  std::size_t const length = s.code_points;
  double const length_score = length < 20 ? 0.0 : length < 100 ? 0.3 : length < 300 ? 0.6 : length < 800 ? 0.8 : 1.0;

  bool const has_code = s.has_code(), has_math = s.has_math();
  double const domain = has_code && has_math ? 1.0 : has_math ? 0.8 : has_code ? 0.7 : 0.0;

  double const reasoning = s.reasoning && s.multi_step ? 1.0 : s.multi_step ? 0.8 : s.reasoning ? 0.6 : 0.0;

  std::size_t const parts = s.n_questions + s.n_subtasks;
  double const multi_part = parts <= 1 ? 0.0 : parts <= 3 ? 0.5 : 1.0;

  double const creative = s.creative ? 0.7 : 0.0;

  // Summed in the reference's order, so a score on a tier boundary falls on
  // the same side of it.
  double score = 0.0;
  score += 0.20 * length_score;
  score += 0.25 * domain;
  score += 0.25 * reasoning;
  score += 0.15 * multi_part;
  score += 0.15 * creative;
  score = std::clamp(score, 0.0, 1.0);

  ComplexityTier const tier = score < 0.15   ? ComplexityTier::trivial
                              : score < 0.30 ? ComplexityTier::simple
                              : score < 0.55 ? ComplexityTier::moderate
                              : score < 0.80 ? ComplexityTier::complex
                                             : ComplexityTier::very_complex;

  ComplexityResult r;
  r.score = std::round(score * 1000.0) / 1000.0;
  r.tier = tier;
  r.suggested_max_tokens = suggested_max_tokens(tier);
  r.signals.reserve(12);
  r.signals.emplace("length", length_score);
  r.signals.emplace("domain", domain);
  r.signals.emplace("has_code", has_code);
  r.signals.emplace("has_math", has_math);
  r.signals.emplace("reasoning", reasoning);
  r.signals.emplace("has_reasoning", s.reasoning);
  r.signals.emplace("has_multi_step", s.multi_step);
  r.signals.emplace("multi_part", multi_part);
  r.signals.emplace("n_questions", static_cast<std::uint64_t>(s.n_questions));
  r.signals.emplace("n_subtasks", static_cast<std::uint64_t>(s.n_subtasks));
  r.signals.emplace("creative", creative);
  r.signals.emplace("has_creative", s.creative);
  return r;
}

}  // namespace detail

inline ComplexityResult score_complexity(std::string_view query) {
  return detail::complexity(detail::scan_cached(query));
}

inline bool is_thinking_model(std::string_view model) noexcept {
  // Every needle starts with q, d or o: only there is it worth comparing.
  static constexpr std::array<std::string_view, 6> needles = {"qwen3.5", "qwq", "deepseek-r1", "o1-", "o3-", "o4-"};
  for (std::size_t i = 0; i < model.size(); ++i) {
    char const c = detail::lower(model[i]);
    if (c != 'q' && c != 'd' && c != 'o') continue;
    for (auto needle : needles)
      if (needle[0] == c && detail::iequals_at(model, i, needle)) return true;
  }
  return false;
}

inline RoutingContext build_routing_context(std::string_view query, double urgency, std::string_view model) {
  // One scan serves the signals and the length.
  detail::QuerySignals const s = detail::scan_cached(query);
  ComplexityResult c = detail::complexity(s);
  RoutingContext ctx;
  ctx.query = std::string(query);
  ctx.query_length = s.code_points;
  ctx.has_code = s.has_code();
  ctx.has_math = s.has_math();
  ctx.has_reasoning = s.reasoning;
  ctx.urgency = std::isfinite(urgency) && urgency >= 0.0 && urgency <= 1.0 ? urgency : 0.5;
  ctx.complexity_score = c.score;
  ctx.suggested_max_tokens = is_thinking_model(model) ? 2 * c.suggested_max_tokens : c.suggested_max_tokens;
  ctx.metadata.reserve(2);
  ctx.metadata.emplace("complexity_tier", to_string(c.tier));
  ctx.metadata.emplace("signals", std::move(c.signals));
  return ctx;
}

}  // namespace leash::learn

#endif
