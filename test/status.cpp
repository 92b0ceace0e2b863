#include <leash/status.hpp>
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <string_view>

namespace test_status {

using leash::Status;

struct Row {
  Status status;
  std::string_view name;
  bool resumable;
};

// The reference's matrix (tightloop §2.1): names and resumable flags.
constexpr Row matrix[] = {
    {Status::success, "SUCCESS", false},
    {Status::budget_exhausted, "BUDGET_EXHAUSTED", true},
    {Status::no_progress, "NO_PROGRESS", true},
    {Status::plan_failed, "PLAN_FAILED", true},
    {Status::approval_denied, "APPROVAL_DENIED", true},
    {Status::awaiting_approval, "AWAITING_APPROVAL", true},
    {Status::pending_expired, "PENDING_EXPIRED", true},
    {Status::error, "ERROR", false},
};

// Usable at compile time.
static_assert(leash::to_string(Status::no_progress) == "NO_PROGRESS");
static_assert(leash::status_from_string("ERROR") == Status::error);
static_assert(!leash::is_resumable(Status::success));

}  // namespace test_status

using namespace test_status;

BOOST_AUTO_TEST_SUITE(status)

BOOST_AUTO_TEST_CASE(names_and_resumable_flags_match_the_reference) {
  for (auto const& row : matrix) {
    BOOST_TEST_CONTEXT(row.name) {
      BOOST_TEST(leash::to_string(row.status) == row.name);
      BOOST_TEST(leash::is_resumable(row.status) == row.resumable);
    }
  }
}

BOOST_AUTO_TEST_CASE(recommended_actions) {
  std::set<std::string_view> seen;
  for (auto const& row : matrix) {
    BOOST_TEST_CONTEXT(row.name) {
      auto action = leash::recommended_action(row.status);
      BOOST_TEST(!action.empty());
      BOOST_TEST(seen.insert(action).second);  // each status says something of its own
    }
  }
  BOOST_TEST(leash::recommended_action(Status::success) == "done");
  BOOST_TEST(leash::recommended_action(Status::error) == "inspect trace via loop.explain()");
  BOOST_TEST(leash::recommended_action(Status::pending_expired) == "resume to re-request approval");
  BOOST_TEST(std::string(leash::recommended_action(Status::awaiting_approval)).find("token") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(from_string_round_trips_and_rejects_unknown_names) {
  for (auto const& row : matrix) {
    auto back = leash::status_from_string(leash::to_string(row.status));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST((*back == row.status));
  }
  BOOST_TEST(!leash::status_from_string("RUNNING").has_value());
  BOOST_TEST(!leash::status_from_string("success").has_value());  // names are upper case
  BOOST_TEST(!leash::status_from_string("").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
