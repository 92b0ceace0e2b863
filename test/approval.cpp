#include <leash/approval.hpp>
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <chrono>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace test_approval {

namespace bj = leash::json;
using leash::ApprovalDecision;
using leash::ApprovalOutcome;
using leash::ApprovalRequest;
using namespace std::chrono_literals;

ApprovalRequest make_request(std::string token = "tok") {
  return ApprovalRequest(std::move(token), "fix", bj::object{{"name", "t1"}}, "requires approval",
                         leash::action_hash("fix", bj::object{{"name", "t1"}}, 3), 3, 1763800000.0, 3600.0);
}

/// Asks `runner` about `req` on `io` and waits for the answer.
ApprovalOutcome ask(boost::asio::io_context& io, leash::ApprovalRunner& runner, ApprovalRequest const& req) {
  return leash_test::run_sync(io, runner.decide(req));
}

ApprovalOutcome ask(leash::ApprovalRunner& runner, ApprovalRequest const& req = make_request()) {
  boost::asio::io_context io;
  return ask(io, runner, req);
}

ApprovalOutcome ask_cli(std::string input, std::string* prompt = nullptr) {
  std::istringstream in(std::move(input));
  std::ostringstream out;
  leash::CliApprovalRunner runner(in, out);
  auto outcome = ask(runner);
  if (prompt) *prompt = out.str();
  return outcome;
}

// Immutability: assigning through an accessor must not compile. The twin
// (a type with a mutable accessor) shows the check can tell the difference.
template <class R> concept can_assign_tool = requires(R& r) { r.tool() = std::string("other"); };
template <class R> concept can_assign_args = requires(R& r) { r.args() = bj::object{}; };
template <class R> concept can_assign_token = requires(R& r) { r.token() = std::string("other"); };
struct MutableTwin {
  std::string t;
  bj::object a;
  std::string& tool() { return t; }
  bj::object& args() { return a; }
  std::string& token() { return t; }
};
static_assert(!can_assign_tool<ApprovalRequest>);
static_assert(!can_assign_args<ApprovalRequest>);
static_assert(!can_assign_token<ApprovalRequest>);
static_assert(can_assign_tool<MutableTwin> && can_assign_args<MutableTwin> && can_assign_token<MutableTwin>);
static_assert(!std::is_default_constructible_v<ApprovalRequest>);

}  // namespace test_approval

using namespace test_approval;

BOOST_AUTO_TEST_SUITE(approval)

// A token is a command-line argument (`leash approve STORE RUN TOKEN`): one
// starting with '-' would be taken for an option, which once failed 1 run in 64.
BOOST_AUTO_TEST_CASE(tokens_are_prefixed_url_safe_never_option_like_and_distinct) {
  std::set<std::string> seen;
  std::set<char> first_random_chars;
  for (int i = 0; i < 4000; ++i) {
    std::string t = leash::new_approval_token();
    BOOST_TEST_REQUIRE(t.size() == 26u);
    BOOST_TEST_REQUIRE(t.starts_with("lat_"));
    BOOST_TEST_REQUIRE(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                       std::string::npos);
    first_random_chars.insert(t[4]);
    seen.insert(t);
  }
  BOOST_TEST(seen.size() == 4000u);
  // The random part still uses the whole alphabet, '-' included, after the prefix.
  BOOST_TEST(first_random_chars.count('-') == 1u);
  BOOST_TEST(first_random_chars.size() == 64u);
}

BOOST_AUTO_TEST_CASE(action_hash_binds_tool_args_and_version) {
  bj::object args{{"name", "t1"}, {"count", 1}};
  auto h = leash::action_hash("fix", args, 3);
  BOOST_TEST(h.size() == 16u);
  BOOST_TEST(h == leash::digest(R"(fix{"count":1,"name":"t1"}3)"));
  BOOST_TEST(h == leash::action_hash("fix", bj::object{{"count", 1}, {"name", "t1"}}, 3));  // key order
  BOOST_TEST(h != leash::action_hash("fix", bj::object{{"name", "t2"}, {"count", 1}}, 3));
  BOOST_TEST(h != leash::action_hash("edit", args, 3));
  BOOST_TEST(h != leash::action_hash("fix", args, 4));
}

BOOST_AUTO_TEST_CASE(request_accessors, *boost::unit_test::description("reference test 10: the request is frozen")) {
  auto req = make_request("abc");
  BOOST_TEST(req.token() == "abc");
  BOOST_TEST(req.tool() == "fix");
  BOOST_TEST((req.args() == bj::object{{"name", "t1"}}));
  BOOST_TEST(req.reason() == "requires approval");
  BOOST_TEST(req.action_hash() == leash::action_hash("fix", bj::object{{"name", "t1"}}, 3));
  BOOST_TEST(req.state_version() == 3u);
  BOOST_TEST(req.created_at() == 1763800000.0);
  BOOST_TEST(req.ttl_s() == 3600.0);
  BOOST_TEST(leash::to_string(ApprovalDecision::approved) == "APPROVED");
  BOOST_TEST(leash::to_string(ApprovalDecision::denied) == "DENIED");
  BOOST_TEST(leash::to_string(ApprovalDecision::pending) == "PENDING");
}

BOOST_AUTO_TEST_CASE(always_approve_and_deny) {
  leash::AlwaysApprove yes;
  auto a = ask(yes);
  BOOST_TEST((a.decision == ApprovalDecision::approved));
  BOOST_TEST(a.note == "approved by policy");
  leash::AlwaysDeny no;
  auto d = ask(no);
  BOOST_TEST((d.decision == ApprovalDecision::denied));
  BOOST_TEST(d.note == "denied by policy");
  leash::AlwaysDeny dry("dry run");
  BOOST_TEST(ask(dry).note == "dry run");
  BOOST_TEST(!yes.ttl_s().has_value());
}

BOOST_AUTO_TEST_CASE(callback_approves_and_denies, *boost::unit_test::description("reference test 8")) {
  std::string seen_tool;
  leash::CallbackApprovalRunner approve([&](ApprovalRequest const& r) {
    seen_tool = r.tool() + ":" + std::string(r.args().at("name").as_string());
    return true;
  });
  auto a = ask(approve);
  BOOST_TEST((a.decision == ApprovalDecision::approved));
  BOOST_TEST(a.note == "approved via callback");
  BOOST_TEST(seen_tool == "fix:t1");

  leash::CallbackApprovalRunner deny([](ApprovalRequest const&) { return false; });
  auto d = ask(deny);
  BOOST_TEST((d.decision == ApprovalDecision::denied));
  BOOST_TEST(d.note == "denied via callback");
}

BOOST_AUTO_TEST_CASE(callback_exception_denies, *boost::unit_test::description("reference test 9")) {
  leash::CallbackApprovalRunner runner(
      [](ApprovalRequest const&) -> bool { throw std::runtime_error("approval service down"); });
  auto d = ask(runner);
  BOOST_TEST((d.decision == ApprovalDecision::denied));
  BOOST_TEST(d.note == "callback raised std::runtime_error: approval service down (deny-on-exception)");
}

BOOST_AUTO_TEST_CASE(callback_timeout_denies) {
  boost::asio::io_context io;  // outlives the runner, whose destructor joins the late callback
  leash::CallbackApprovalRunner runner(
      [](ApprovalRequest const&) {
        std::this_thread::sleep_for(500ms);
        return true;
      },
      100ms);
  auto d = ask(io, runner, make_request());
  BOOST_TEST((d.decision == ApprovalDecision::denied));
  BOOST_TEST(d.note == "callback timed out after 0.1s (deny-on-timeout)");
}

BOOST_AUTO_TEST_CASE(cli_yes_approves) {
  std::string prompt;
  auto a = ask_cli("yes\n", &prompt);
  BOOST_TEST((a.decision == ApprovalDecision::approved));
  BOOST_TEST(a.note == "approved via CLI");
  BOOST_TEST(prompt.find(R"(approval required: fix({"name":"t1"}))") != std::string::npos);
  BOOST_TEST(prompt.find("reason: requires approval") != std::string::npos);
  BOOST_TEST(prompt.find("approve? [y/N] ") != std::string::npos);

  BOOST_TEST((ask_cli(" Y \n").decision == ApprovalDecision::approved));
  BOOST_TEST((ask_cli("YES").decision == ApprovalDecision::approved));  // no newline before EOF
  BOOST_TEST((ask_cli("y\r\n").decision == ApprovalDecision::approved));
}

BOOST_AUTO_TEST_CASE(cli_anything_else_denies) {
  auto d = ask_cli("n\n");
  BOOST_TEST((d.decision == ApprovalDecision::denied));
  BOOST_TEST(d.note == "denied via CLI");
  BOOST_TEST((ask_cli("\n").decision == ApprovalDecision::denied));
  BOOST_TEST((ask_cli("yes please\n").decision == ApprovalDecision::denied));
  BOOST_TEST((ask_cli("ye\n").decision == ApprovalDecision::denied));
}

BOOST_AUTO_TEST_CASE(cli_end_of_input_denies_without_throwing,
                     *boost::unit_test::description("the reference raised EOFError out of run()")) {
  ApprovalOutcome d;
  BOOST_CHECK_NO_THROW(d = ask_cli(""));
  BOOST_TEST((d.decision == ApprovalDecision::denied));
  BOOST_TEST(d.note.find("deny-on-eof") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(headless_is_pending_with_its_ttl, *boost::unit_test::description("reference test 11")) {
  leash::HeadlessApprovalRunner runner;
  BOOST_TEST(runner.ttl_s().value() == 3600.0);
  auto p = ask(runner, make_request("T0k"));
  BOOST_TEST((p.decision == ApprovalDecision::pending));
  BOOST_TEST(p.note == "awaiting approval");
  BOOST_TEST(p.note.find("T0k") == std::string::npos);  // notes reach traces; tokens must not
  leash::HeadlessApprovalRunner short_lived(0.05);
  BOOST_TEST(short_lived.ttl_s().value() == 0.05);
}

BOOST_AUTO_TEST_CASE(token_matches_only_the_token_behind_the_stored_digest) {
  std::string token = leash::new_approval_token();
  std::string stored = leash::sha256_hex(token);
  BOOST_TEST(leash::token_matches(token, stored));
  BOOST_TEST(!leash::token_matches(token + "x", stored));
  BOOST_TEST(!leash::token_matches(leash::new_approval_token(), stored));
  BOOST_TEST(!leash::token_matches(token, stored.substr(0, 16)));  // a trace's token_id is not the digest
  BOOST_TEST(!leash::token_matches("", stored));
}

BOOST_AUTO_TEST_SUITE_END()
