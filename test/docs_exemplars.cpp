// The exemplars of docs/concepts/*.md, compiled, so the pages cannot drift
// from the requirements they describe.
#include <leash/leash.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/reward.hpp>
#include <leash/learn/router.hpp>
#include <leash/sim/conversation.hpp>
#include <leash/sim/scripted_speaker.hpp>
#include <leash/sync_wait.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace exemplar {

struct ReadFileArgs {
  std::string path;
};
BOOST_DESCRIBE_STRUCT(ReadFileArgs, (), (path))

struct ReadFile {
  static constexpr std::string_view name = "read_file";
  static constexpr std::string_view description = "Read a text file under the project root.";
  static constexpr auto timeout = std::chrono::seconds(5);
  using args = ReadFileArgs;
  leash::result<std::string> operator()(args const& a) const {
    std::ifstream in(a.path);
    if (!in) return leash::Error{leash::Errc::tool_failed, "cannot open " + a.path};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};
static_assert(leash::Tool<ReadFile>);

struct EchoPlanner {
  boost::asio::awaitable<leash::result<leash::Plan>> plan(leash::PlanRequest const& r) {
    co_return leash::Plan::text_only(r.messages().back().content);
  }
  std::string_view model_id() const { return "echo"; }
};
static_assert(leash::Planner<EchoPlanner>);

struct NoDeletes {
  leash::Decision before_action(leash::State const&, leash::ActionView const& a) const {
    if (a.tool == "delete_file") return leash::Decision::stop("deletes are not allowed", leash::Status::approval_denied);
    return leash::Decision::proceed();
  }
};
static_assert(leash::Policy<NoDeletes>);

struct TenIterations {
  std::optional<leash::Exit> evaluate(leash::State const& s) const {
    if (s.iterations.size() >= 10) return leash::Exit{leash::Status::budget_exhausted, "ten is enough"};
    return std::nullopt;
  }
};
static_assert(leash::ExitCondition<TenIterations>);

struct FailingCount {
  leash::MetricSnapshot measure(std::string_view obs, leash::State const&) const {
    return {-double(std::count(obs.begin(), obs.end(), '\n')), false, {}};
  }
  bool is_success(leash::MetricSnapshot const& m) const { return m.value == 0.0; }
};
static_assert(leash::GoalMetric<FailingCount>);

static_assert(leash::Store<leash::AnyStore>);
static_assert(leash::Store<leash::MemoryStore>);

// docs/concepts/Router.md, Reward.md, Evaluator.md
struct ShortToSmall {
  std::string select_model(leash::learn::RoutingContext const& ctx) const {
    return ctx.query_length < 50 ? "gpt-4o-mini" : "gpt-4o";
  }
};
static_assert(leash::learn::Router<ShortToSmall>);

struct FeedbackOnly {
  double compute(leash::learn::RewardInput const& in) const { return in.feedback.value_or(0.5); }
};
static_assert(leash::learn::Reward<FeedbackOnly>);

struct Fixed {
  double score = 0.5;
  boost::asio::awaitable<leash::result<leash::learn::EvalReport>> evaluate() {
    leash::learn::EvalReport r;
    r.accuracy = score;
    co_return r;
  }
};
static_assert(leash::learn::Evaluator<Fixed>);

// docs/concepts/Speaker.md
struct FaqBot {
  boost::asio::awaitable<leash::result<leash::sim::Reply>> start() {
    leash::sim::Reply r;
    r.text = "Hello, how can I help?";
    co_return r;
  }
  boost::asio::awaitable<leash::result<leash::sim::Reply>> respond(leash::sim::History h) {
    leash::sim::Reply r;
    r.text = h.back().response.find("bye") != std::string::npos ? "Goodbye! [CLOSED]" : "See our FAQ.";
    co_return r;
  }
  std::vector<std::string> custom_termination_signals() const { return {"[CLOSED]"}; }
};
static_assert(leash::sim::Speaker<FaqBot>);

}  // namespace exemplar

BOOST_AUTO_TEST_SUITE(docs_exemplars)

// The exemplars together make a working loop: the planner echoes its last
// message (text only), so the loop stops on no-progress.
BOOST_AUTO_TEST_CASE(exemplars_make_a_loop) {
  leash::LoopOptions o;
  o.quiet = true;
  o.observe = [](leash::State const&) { return std::string("one\ntwo\n"); };
  o.goal_metric = exemplar::FailingCount{};
  leash::Loop<exemplar::EchoPlanner, leash::ToolSet<exemplar::ReadFile>, leash::PolicyList<exemplar::NoDeletes, leash::NoProgress<2>>,
              leash::ExitList<exemplar::TenIterations>>
      loop("echo", {}, {}, {}, {}, {}, o);
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().status == leash::Status::no_progress);
  BOOST_TEST(r.value().iterations == 2u);
  BOOST_TEST(loop.state().iterations[0].metric->value == -2.0);
}

BOOST_AUTO_TEST_CASE(read_file_reports_a_missing_file_as_a_tool_error) {
  auto r = exemplar::ReadFile{}(exemplar::ReadFileArgs{"/nonexistent/leash/file"});
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().message == "cannot open /nonexistent/leash/file");
}

BOOST_AUTO_TEST_CASE(the_speaker_exemplar_closes_the_session_with_its_own_signal) {
  leash::sim::ScriptedSpeaker user({"Where are your prices?", "ok, bye", "never said"});
  exemplar::FaqBot bot;
  leash::sim::Conversation chat(user, bot);
  auto turns = leash::sync_wait(chat.async_run(10));
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().size() == 4u);
  BOOST_TEST(turns.value().back().response == "Goodbye! [CLOSED]");
  BOOST_TEST(turns.value().back().early_termination);
}

BOOST_AUTO_TEST_SUITE_END()
