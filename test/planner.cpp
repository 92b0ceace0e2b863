#include <leash/planner.hpp>
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <string>
#include <vector>

namespace test_planner {

namespace bj = leash::json;
using leash::Plan;
using leash::PlanRequest;
using leash_test::run_sync;

bj::array const no_tools;

std::vector<leash::Message> two_messages() {
  return {{"system", "You are an agent."}, {"user", "## Current observation\nfailing: a"}};
}

/// Runs `planner.plan(request)` to completion.
template <class P>
leash::result<Plan> plan_once(P& planner, PlanRequest const& request) {
  return run_sync(planner.plan(request));
}

/// A message source that counts how often it is asked to build.
struct CountingSource final : leash::MessageSource {
  mutable int builds = 0;
  std::vector<leash::Message> build() const override {
    ++builds;
    return two_messages();
  }
  std::size_t size_chars() const override {
    std::size_t n = 0;
    for (auto const& m : two_messages()) n += m.content.size();
    return n;
  }
};

/// A planner with its own token estimate.
struct Estimating {
  boost::asio::awaitable<leash::result<Plan>> plan(PlanRequest const&) { co_return Plan::text_only("hi"); }
  std::string_view model_id() const { return "est"; }
  std::uint64_t estimate_input_tokens(PlanRequest const&) const { return 1234; }
};

struct NotAPlanner {
  std::string_view model_id() const { return "x"; }
};

static_assert(leash::Planner<leash::ScriptedPlanner>);
static_assert(leash::Planner<leash::AnyPlanner>);
static_assert(leash::Planner<Estimating>);
static_assert(!leash::Planner<NotAPlanner>);

}  // namespace test_planner

using namespace test_planner;

BOOST_AUTO_TEST_SUITE(planner)

BOOST_AUTO_TEST_CASE(single_call_and_text_only) {
  Plan p = Plan::single_call("fix", {{"name", "a"}});
  BOOST_TEST(p.text == R"(fix {"name":"a"})");
  BOOST_REQUIRE(p.tool_calls.size() == 1u);
  BOOST_TEST(p.tool_calls[0].name == "fix");
  BOOST_TEST((p.tool_calls[0].args == bj::object{{"name", "a"}}));
  BOOST_TEST(p.usage.input_tokens == 50u);
  BOOST_TEST(p.usage.output_tokens == 10u);

  Plan q = Plan::single_call("fix", {}, "my words", {7, 3});
  BOOST_TEST(q.text == "my words");
  BOOST_TEST(q.usage.input_tokens == 7u);
  BOOST_TEST(q.usage.output_tokens == 3u);

  Plan t = Plan::text_only("nothing to do");
  BOOST_TEST(t.text == "nothing to do");
  BOOST_TEST(t.tool_calls.empty());
  BOOST_TEST(t.usage.input_tokens == 50u);
}

BOOST_AUTO_TEST_CASE(scripted_replies_in_order_then_repeats_the_last) {
  leash::ScriptedPlanner planner{Plan::text_only("one"), Plan::text_only("two")};
  PlanRequest req(two_messages(), no_tools, 100);
  std::vector<std::string> texts;
  for (int i = 0; i < 4; ++i) {
    auto r = plan_once(planner, req);
    BOOST_REQUIRE(r.has_value());
    texts.push_back(r.value().text);
    BOOST_TEST(r.value().model_id == "scripted");
  }
  BOOST_TEST((texts == std::vector<std::string>{"one", "two", "two", "two"}));
  BOOST_TEST(planner.calls() == 4u);
  BOOST_TEST(planner.model_id() == "scripted");
}

BOOST_AUTO_TEST_CASE(scripted_model_id) {
  Plan own = Plan::text_only("x");
  own.model_id = "from-reply";
  leash::ScriptedPlanner planner({Plan::text_only("y"), own}, "m");
  PlanRequest req(two_messages(), no_tools, 100);
  BOOST_TEST(planner.model_id() == "m");
  BOOST_TEST(plan_once(planner, req).value().model_id == "m");           // filled in when empty
  BOOST_TEST(plan_once(planner, req).value().model_id == "from-reply");  // kept when set
}

BOOST_AUTO_TEST_CASE(scripted_error_entries) {
  leash::ScriptedPlanner planner(
      std::vector<leash::result<Plan>>{Plan::text_only("ok"), leash::Error{leash::Errc::planner_failed, "down"}});
  PlanRequest req(two_messages(), no_tools, 100);
  BOOST_TEST(plan_once(planner, req).has_value());
  for (int i = 0; i < 2; ++i) {
    auto r = plan_once(planner, req);
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST((r.error() == leash::Errc::planner_failed));
    BOOST_TEST(r.error().message == "down");
  }
  leash::ScriptedPlanner empty;
  auto e = plan_once(empty, req);
  BOOST_REQUIRE(e.has_error());
  BOOST_TEST(e.error().message == "scripted planner has an empty script");
}

BOOST_AUTO_TEST_CASE(record_requests_captures_messages_and_max_tokens) {
  leash::ScriptedPlanner planner{Plan::text_only("x")};
  CountingSource source;
  PlanRequest lazy(source, no_tools, 77);
  (void)plan_once(planner, lazy);
  BOOST_TEST(planner.requests().empty());  // off by default ...
  BOOST_TEST(source.builds == 0);           // ... and nothing was rendered

  planner.record_requests();
  PlanRequest first(source, no_tools, 77);
  (void)plan_once(planner, first);
  PlanRequest second(two_messages(), no_tools, 20);
  (void)plan_once(planner, second);
  BOOST_REQUIRE(planner.requests().size() == 2u);
  BOOST_TEST(source.builds == 1);
  BOOST_TEST((planner.requests()[0].messages == two_messages()));
  BOOST_TEST(planner.requests()[0].max_tokens == 77u);
  BOOST_TEST(planner.requests()[1].max_tokens == 20u);
  BOOST_TEST(planner.calls() == 3u);
}

BOOST_AUTO_TEST_CASE(plan_request_size_chars_is_the_sum_of_contents) {
  auto msgs = two_messages();
  std::size_t expected = msgs[0].content.size() + msgs[1].content.size();
  PlanRequest direct(msgs, no_tools, 10);
  BOOST_TEST(direct.size_chars() == expected);

  CountingSource source;
  PlanRequest lazy(source, no_tools, 10, 2);
  BOOST_TEST(lazy.size_chars() == expected);
  BOOST_TEST(source.builds == 0);  // sized without rendering
  BOOST_TEST(lazy.messages().size() == 2u);
  BOOST_TEST(lazy.size_chars() == expected);
  (void)lazy.messages();
  BOOST_TEST(source.builds == 1);  // rendered once, then cached
  BOOST_TEST(lazy.attempt() == 2u);
  lazy.set_max_tokens(5);
  BOOST_TEST(lazy.max_tokens() == 5u);
}

BOOST_AUTO_TEST_CASE(estimate_input_tokens_prefers_the_planner_estimate) {
  PlanRequest req(two_messages(), no_tools, 10);
  leash::ScriptedPlanner scripted;
  BOOST_TEST(leash::estimate_input_tokens(scripted, req) == req.size_chars() / 4);
  BOOST_TEST(leash::estimate_input_tokens(Estimating{}, req) == 1234u);
}

BOOST_AUTO_TEST_CASE(any_planner_forwards) {
  leash::AnyPlanner none;
  BOOST_TEST(!none);
  BOOST_TEST(none.model_id() == "none");

  leash::AnyPlanner any{leash::ScriptedPlanner({Plan::text_only("a"), Plan::text_only("b")}, "wrapped")};
  BOOST_TEST(static_cast<bool>(any));
  BOOST_TEST(any.model_id() == "wrapped");
  PlanRequest req(two_messages(), no_tools, 10);
  BOOST_TEST(run_sync(any.plan(req)).value().text == "a");
  BOOST_TEST(run_sync(any.plan(req)).value().text == "b");  // state lives in the wrapped planner
  BOOST_TEST(any.estimate_input_tokens(req) == req.size_chars() / 4);

  leash::AnyPlanner est{Estimating{}};
  BOOST_TEST(est.estimate_input_tokens(req) == 1234u);
  BOOST_TEST(leash::estimate_input_tokens(est, req) == 1234u);
  BOOST_TEST(run_sync(est.plan(req)).value().text == "hi");
}

BOOST_AUTO_TEST_SUITE_END()
