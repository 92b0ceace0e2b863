// leash/pricing.hpp — USD per million tokens per model, with an as-of date,
// and what to do when the table is stale.
#ifndef LEASH_PRICING_HPP
#define LEASH_PRICING_HPP

#include <leash/error.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace leash {

struct ModelPrice {
  double input_per_million = 0.0;
  double output_per_million = 0.0;
};

/// What a loop with a USD limit does when the pricing table is older than 90 days.
enum class PricingStaleness {
  warn,        ///< keep estimating; say so once (stderr unless quiet, and in explain())
  token_only,  ///< stop estimating USD; only token limits apply
  refuse,      ///< the loop will not run: Errc::pricing_stale
};

/// A pricing table. Prices change: the as-of date makes staleness visible.
struct Pricing {
  std::string as_of;  ///< "YYYY-MM-DD"
  std::map<std::string, ModelPrice, std::less<>> models;

  /// Cost of a call in USD; nullopt for a model the table does not know.
  std::optional<double> estimate_cost(std::uint64_t input_tokens, std::uint64_t output_tokens,
                                      std::string_view model_id) const;
  /// Whole days since as_of (today by default); nullopt if as_of is malformed.
  std::optional<long> age_days(std::optional<std::chrono::sys_days> today = std::nullopt) const;
  /// Fresh means at most 90 days old (exactly 90 still counts as fresh).
  bool is_fresh(std::optional<std::chrono::sys_days> today = std::nullopt) const;
};

/// The built-in table (as of 2026-01-15; pass your own for real budgets).
Pricing default_pricing();

/// "$1.50": how costs are printed in reasons and reports.
std::string format_usd(double usd);

/// Whether USD estimation applies under `behaviour`: true when fresh or
/// warned, false for token-only; an Error for refuse.
result<bool> check_pricing_staleness(Pricing const& pricing, PricingStaleness behaviour,
                                     std::optional<std::chrono::sys_days> today = std::nullopt);

inline std::optional<double> Pricing::estimate_cost(std::uint64_t in, std::uint64_t out,
                                                    std::string_view model_id) const {
  auto it = models.find(model_id);
  if (it == models.end()) return std::nullopt;
  return (double(in) * it->second.input_per_million + double(out) * it->second.output_per_million) / 1e6;
}

inline std::optional<long> Pricing::age_days(std::optional<std::chrono::sys_days> today) const {
  using namespace std::chrono;
  int y = 0;
  unsigned m = 0, d = 0;
  if (as_of.size() != 10 || std::sscanf(as_of.c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3) return std::nullopt;
  year_month_day ymd{year{y}, month{m}, day{d}};
  if (!ymd.ok()) return std::nullopt;
  sys_days now = today ? *today : floor<days>(system_clock::now());
  return (now - sys_days{ymd}).count();
}

inline bool Pricing::is_fresh(std::optional<std::chrono::sys_days> today) const {
  auto age = age_days(today);
  return age && *age <= 90;
}

inline Pricing default_pricing() {
  return Pricing{"2026-01-15",
                 {{"claude-sonnet-4-6", {3.0, 15.0}},
                  {"claude-haiku-4-5-20251001", {1.0, 5.0}},
                  {"claude-opus-4-8", {15.0, 75.0}},
                  {"gpt-4o", {2.5, 10.0}}}};
}

inline std::string format_usd(double usd) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "$%.2f", usd);
  return buf;
}

inline result<bool> check_pricing_staleness(Pricing const& pricing, PricingStaleness behaviour,
                                            std::optional<std::chrono::sys_days> today) {
  if (pricing.is_fresh(today)) return true;
  switch (behaviour) {
    case PricingStaleness::refuse: {
      auto age = pricing.age_days(today);
      return Error{Errc::pricing_stale,
                   "pricing table as of '" + pricing.as_of + "' is " +
                       (age ? std::to_string(*age) + " days old" : std::string("undated")) +
                       " (more than 90); pass a current table or choose warn / token-only"};
    }
    case PricingStaleness::token_only: return false;
    case PricingStaleness::warn: return true;
  }
  return true;
}

}  // namespace leash

#endif
