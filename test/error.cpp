#include <leash/error.hpp>
#include <boost/test/unit_test.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <system_error>

namespace test_error {

using leash::Errc;
using leash::Error;

constexpr int first_errc = static_cast<int>(Errc::unknown_tool);
constexpr int last_errc = static_cast<int>(Errc::speaker_failed);

leash::result<int> half(int x) {
  if (x % 2) return Error{Errc::invalid_arguments, "odd: " + std::to_string(x)};
  return x / 2;
}

leash::result<int> quarter(int x) {
  BOOST_OUTCOME_TRY(auto h, half(x));
  return half(h);
}

leash::result<void> check_even(int x) {
  BOOST_OUTCOME_TRY(half(x));
  return leash::success();
}

}  // namespace test_error

using namespace test_error;

BOOST_AUTO_TEST_SUITE(error)

BOOST_AUTO_TEST_CASE(category_is_named_leash) {
  BOOST_TEST(std::string(leash::error_category().name()) == "leash");
  std::error_code ec = Errc::unknown_tool;
  BOOST_TEST(&ec.category() == &leash::error_category());
  BOOST_TEST(ec.value() == 1);
}

BOOST_AUTO_TEST_CASE(every_code_has_a_distinct_message,
                     *boost::unit_test::description("each Errc has its own non-empty sentence")) {
  std::set<std::string> seen;
  for (int v = first_errc; v <= last_errc; ++v) {
    std::error_code ec = static_cast<Errc>(v);
    std::string msg = ec.message();
    BOOST_TEST_CONTEXT("Errc value " << v) {
      BOOST_TEST(!msg.empty());
      BOOST_TEST(msg != "unknown leash error");
      BOOST_TEST(seen.insert(msg).second);
    }
  }
  BOOST_TEST(seen.size() == std::size_t(last_errc - first_errc + 1));
  // Outside the enum: a fallback, never an empty string.
  BOOST_TEST(leash::error_category().message(last_errc + 1) == "unknown leash error");
}

BOOST_AUTO_TEST_CASE(tool_timeout_is_timed_out) {
  std::error_code ec = Errc::tool_timeout;
  BOOST_TEST((ec == std::errc::timed_out));
  std::error_code other = Errc::unknown_tool;
  BOOST_TEST(!(other == std::errc::timed_out));
  std::error_code missing = Errc::run_not_found;
  BOOST_TEST((missing == std::errc::no_such_file_or_directory));
}

BOOST_AUTO_TEST_CASE(error_compares_with_its_code) {
  Error e{Errc::unknown_tool, "unknown tool 'nope'"};
  BOOST_TEST((e == Errc::unknown_tool));
  BOOST_TEST(!(e == Errc::tool_failed));
  BOOST_TEST((e == std::error_code(Errc::unknown_tool)));
  BOOST_TEST(e.what() == "unknown tool 'nope'");
  // With no message, what() is the code's own sentence.
  BOOST_TEST(Error{Errc::tool_failed}.what() == std::error_code(Errc::tool_failed).message());
}

BOOST_AUTO_TEST_CASE(try_propagates_the_first_error) {
  auto ok = quarter(8);
  BOOST_REQUIRE(ok.has_value());
  BOOST_TEST(ok.value() == 2);

  auto first = quarter(3);  // fails in the TRY
  BOOST_REQUIRE(first.has_error());
  BOOST_TEST((first.error() == Errc::invalid_arguments));
  BOOST_TEST(first.error().message == "odd: 3");

  auto second = quarter(6);  // passes the TRY, fails after it
  BOOST_REQUIRE(second.has_error());
  BOOST_TEST(second.error().message == "odd: 3");

  BOOST_TEST(check_even(4).has_value());
  auto v = check_even(5);
  BOOST_REQUIRE(v.has_error());
  BOOST_TEST(v.error().message == "odd: 5");
}

BOOST_AUTO_TEST_CASE(value_of_an_error_throws_system_error_with_the_message) {
  auto r = half(7);
  try {
    (void)r.value();
    BOOST_FAIL("value() of an error did not throw");
  } catch (std::system_error const& e) {
    BOOST_TEST((e.code() == Errc::invalid_arguments));
    BOOST_TEST(std::string(e.what()).find("odd: 7") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
