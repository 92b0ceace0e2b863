#include <leash/pricing.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

namespace test_pricing {

using std::chrono::sys_days;
using leash::PricingStaleness;

constexpr sys_days on(int y, unsigned m, unsigned d) {
  return sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
}

leash::Pricing dated(std::string as_of) { return leash::Pricing{std::move(as_of), {{"m", {1.0, 2.0}}}}; }

}  // namespace test_pricing

using namespace test_pricing;

BOOST_AUTO_TEST_SUITE(pricing)

BOOST_AUTO_TEST_CASE(estimate_cost_per_million_tokens) {
  auto p = leash::default_pricing();
  // Reference scenario 38: 50 in / 10 out on gpt-4o.
  BOOST_TEST(p.estimate_cost(50, 10, "gpt-4o").value() == 0.000225, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(p.estimate_cost(1'000'000, 1'000'000, "claude-sonnet-4-6").value() == 18.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(dated("2026-01-01").estimate_cost(3'000'000, 0, "m").value() == 3.0);
  BOOST_TEST(dated("2026-01-01").estimate_cost(0, 0, "m").value() == 0.0);
}

BOOST_AUTO_TEST_CASE(unknown_model_has_no_cost) {
  BOOST_TEST(!leash::default_pricing().estimate_cost(100, 100, "scripted").has_value());
  BOOST_TEST(!leash::default_pricing().estimate_cost(100, 100, "").has_value());
}

BOOST_AUTO_TEST_CASE(default_table) {
  auto p = leash::default_pricing();
  BOOST_TEST(p.as_of == "2026-01-15");
  BOOST_TEST(p.models.size() == 4u);
  BOOST_TEST(p.models.at("claude-sonnet-4-6").input_per_million == 3.0);
  BOOST_TEST(p.models.at("claude-sonnet-4-6").output_per_million == 15.0);
  BOOST_TEST(p.models.at("claude-haiku-4-5-20251001").output_per_million == 5.0);
  BOOST_TEST(p.models.at("claude-opus-4-8").input_per_million == 15.0);
  BOOST_TEST(p.models.at("gpt-4o").input_per_million == 2.5);
}

BOOST_AUTO_TEST_CASE(age_days_against_a_fixed_today) {
  auto p = leash::default_pricing();
  BOOST_TEST(p.age_days(on(2026, 11, 22)).value() == 311);  // as the reference measured
  BOOST_TEST(p.age_days(on(2026, 1, 15)).value() == 0);
  BOOST_TEST(p.age_days(on(2026, 1, 14)).value() == -1);
  BOOST_TEST(!dated("2026-1-15").age_days(on(2026, 2, 1)).has_value());
  BOOST_TEST(!dated("2026-02-30").age_days(on(2026, 3, 1)).has_value());
  BOOST_TEST(!dated("not a date").is_fresh(on(2026, 3, 1)));
  BOOST_TEST(p.age_days().has_value());  // today by default
}

BOOST_AUTO_TEST_CASE(exactly_90_days_is_fresh_91_is_stale) {
  auto p = dated("2026-01-15");
  BOOST_TEST(p.age_days(on(2026, 4, 15)).value() == 90);
  BOOST_TEST(p.is_fresh(on(2026, 4, 15)));
  BOOST_TEST(!p.is_fresh(on(2026, 4, 16)));
}

BOOST_AUTO_TEST_CASE(staleness_behaviours, *boost::unit_test::description("reference test 23")) {
  auto old = dated("2020-01-01");
  auto today = on(2026, 11, 22);
  auto warn = leash::check_pricing_staleness(old, PricingStaleness::warn, today);
  BOOST_REQUIRE(warn.has_value());
  BOOST_TEST(warn.value());

  auto token_only = leash::check_pricing_staleness(old, PricingStaleness::token_only, today);
  BOOST_REQUIRE(token_only.has_value());
  BOOST_TEST(!token_only.value());

  auto refuse = leash::check_pricing_staleness(old, PricingStaleness::refuse, today);
  BOOST_REQUIRE(refuse.has_error());
  BOOST_TEST((refuse.error() == leash::Errc::pricing_stale));
  BOOST_TEST(refuse.error().message.find("2020-01-01") != std::string::npos);
  auto age = old.age_days(today).value();
  BOOST_TEST(refuse.error().message.find(std::to_string(age) + " days old") != std::string::npos);

  // Fresh tables pass under every behaviour, refuse included.
  auto fresh = dated("2026-11-01");
  for (auto b : {PricingStaleness::warn, PricingStaleness::token_only, PricingStaleness::refuse}) {
    auto r = leash::check_pricing_staleness(fresh, b, today);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(r.value());
  }
  auto undated = leash::check_pricing_staleness(dated("?"), PricingStaleness::refuse, today);
  BOOST_REQUIRE(undated.has_error());
  BOOST_TEST(undated.error().message.find("undated") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(format_usd_two_decimals) {
  BOOST_TEST(leash::format_usd(3.0) == "$3.00");
  BOOST_TEST(leash::format_usd(2.5) == "$2.50");
  BOOST_TEST(leash::format_usd(1.5) == "$1.50");
  BOOST_TEST(leash::format_usd(0.000225) == "$0.00");
  BOOST_TEST(leash::format_usd(1234.567) == "$1234.57");
  BOOST_TEST(leash::format_usd(0.0) == "$0.00");
}

BOOST_AUTO_TEST_SUITE_END()
