// The personal benchmark: the trace judge (prompt, strict score, batch with
// feedback written to a real store), the synthesizer (threshold, grouping,
// best per group and its tie rule, categories, order, cap), readiness over
// the whole store (§4 item 15 fixed) and the YES/NO reference grader.
#include <leash/learn/spec_search/personal_benchmark.hpp>

#include <boost/test/unit_test.hpp>

#include "recorded_run.hpp"
#include "error_text.hpp"
#include "store_kinds.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#include <leash/llm/scripted.hpp>

#include <memory>
#include <string>
#include <vector>

namespace test_learn_spec_search_personal_benchmark {

namespace json = leash::json;
namespace ss = leash::learn::spec_search;
using leash::Errc;
using leash::result;
using leash::learn::EvalSample;
using leash::learn::StepType;
using leash::learn::Trace;
using leash::learn::TraceFilter;
using leash::learn::TraceStep;
using leash::learn::TraceStore;
using leash_test::run_sync;
using leash_test::why;

static_assert(leash::learn::Grader<ss::ReferenceMatchGrader>);

leash::llm::Completion reply(std::string text, std::string model = "gpt-4o") {
  leash::llm::Completion c;
  c.text = std::move(text);
  c.usage = leash::Usage{50, 10};
  c.model = std::move(model);
  return c;
}

std::shared_ptr<leash::llm::ScriptedTransport> script(std::vector<result<leash::llm::Completion>> replies) {
  auto t = std::make_shared<leash::llm::ScriptedTransport>(std::move(replies), "gpt-4o");
  t->record_requests();
  return t;
}

bool has(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

/// A trace as the judge sees it: a plan, a tool call, the answer.
Trace sample_trace() {
  Trace t;
  t.trace_id = "run-1";
  t.query = "What is the weather in Oslo?";
  t.result = "Rainy, 8 degrees.";
  TraceStep plan;
  plan.type = StepType::generate;
  plan.duration_s = 0.5;
  plan.output["content"] = "look it up";
  TraceStep call;
  call.type = StepType::tool_call;
  call.duration_s = 1.25;
  call.input["tool"] = "weather";
  call.input["args"] = json::object{{"city", "Oslo"}};
  call.output["content"] = "rain, 8C";
  TraceStep answer;
  answer.type = StepType::respond;
  answer.output["content"] = "Rainy, 8 degrees.";
  t.steps = {plan, call, answer};
  return t;
}

/// An ended run (or a running one, without status) with an optional rating.
leash::State run(std::string id, std::string goal, std::string agent, double started_at,
                 std::optional<double> feedback = std::nullopt, std::string result = "an answer",
                 std::optional<leash::Status> status = leash::Status::success) {
  leash_test::RecordedRun r;
  r.id = std::move(id);
  r.plan_text = "plan for " + goal;
  r.goal = std::move(goal);
  r.agent = std::move(agent);
  r.status = status;
  r.started_at = started_at;
  r.result = std::move(result);
  r.feedback = feedback;
  return leash_test::recorded_run(std::move(r));
}

void add(leash::AnyStore& store, leash::State const& s) {
  auto r = run_sync(store.create_run(s));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
}

leash::AnyStore memory_store() { return leash::AnyStore(std::make_shared<leash::MemoryStore>()); }

std::vector<std::string> ids_of(std::vector<ss::PersonalSample> const& samples) {
  std::vector<std::string> out;
  for (auto const& s : samples) out.push_back(s.trace_id);
  return out;
}

std::vector<ss::PersonalSample> synthesize(TraceStore& traces, ss::SynthesisOptions options = {}) {
  auto r = run_sync(ss::synthesize_personal_benchmark(traces, std::move(options)));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  return std::move(r).value();
}

ss::ReadinessResult readiness(TraceStore& traces, double min_feedback, std::size_t min_samples) {
  auto r = run_sync(ss::check_benchmark_ready(traces, min_feedback, min_samples));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  return std::move(r).value();
}

using V = std::vector<std::string>;

/// prefix + n, appended: `"r" + std::to_string(n)` trips GCC 12's -Wrestrict at -O2.
std::string numbered(char const* prefix, int n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}

}  // namespace test_learn_spec_search_personal_benchmark

using namespace test_learn_spec_search_personal_benchmark;

BOOST_AUTO_TEST_SUITE(learn_spec_search_personal_benchmark)

BOOST_AUTO_TEST_CASE(judge_prompt_has_query_steps_and_result_and_its_score_is_read_strictly) {
  auto t = script({reply("Correct and quick.\nScore: 0.85"), reply("Decent.\nRating: 7/10")});
  ss::TraceJudge judge{leash::llm::AnyTransport(t)};
  auto trace = sample_trace();
  auto r = run_sync(judge.score_trace(trace));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(r.value().score == 0.85, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(r.value().text == "Correct and quick.\nScore: 0.85");
  BOOST_TEST(r.value().tokens == 60u);
  BOOST_REQUIRE(r.value().cost_usd.has_value());
  BOOST_TEST(*r.value().cost_usd == 0.000225, boost::test_tools::tolerance(1e-12));  // gpt-4o, 50 in / 10 out
  // The label forms parse_judge_score reads are read here too.
  auto second = run_sync(judge.score_trace(trace));
  BOOST_REQUIRE_MESSAGE(second.has_value(), why(second));
  BOOST_TEST(second.value().score == 0.7, boost::test_tools::tolerance(1e-12));

  auto sent = t->requests();
  BOOST_REQUIRE(sent.size() == 2u);
  BOOST_REQUIRE(sent[0].messages.size() == 2u);
  BOOST_TEST(sent[0].messages[0].role == "system");
  BOOST_TEST(sent[0].messages[0].content == std::string(ss::default_trace_judge_prompt));
  BOOST_TEST(sent[0].temperature.value_or(-1) == 0.0);
  BOOST_TEST(sent[0].max_tokens == 1024u);
  BOOST_TEST(sent[0].tools.empty());
  auto const& user = sent[0].messages[1].content;
  BOOST_TEST(has(user, "Query:\nWhat is the weather in Oslo?\n"), user);
  BOOST_TEST(has(user, "Steps (3):\n"), user);
  BOOST_TEST(has(user, R"(1. [generate] input={} output={"content":"look it up"} (0.50 s))"), user);
  BOOST_TEST(has(user, R"(2. [tool_call] input={"tool":"weather","args":{"city":"Oslo"}} output={"content":"rain, 8C"} (1.25 s))"),
             user);
  BOOST_TEST(has(user, "3. [respond] "), user);
  BOOST_TEST(has(user, "Final Result:\nRainy, 8 degrees."), user);
  // request_for is what was sent.
  BOOST_TEST(judge.request_for(trace).messages[1].content == user);

  ss::TraceJudgeOptions custom;
  custom.system_prompt = "Be harsh.";
  custom.max_tokens = 64;
  auto req = ss::TraceJudge(leash::llm::AnyTransport(t), custom).request_for(trace);
  BOOST_TEST(req.messages[0].content == "Be harsh.");
  BOOST_TEST(req.max_tokens == 64u);
}

BOOST_AUTO_TEST_CASE(a_long_trace_is_cut_to_its_first_and_last_steps_and_long_fields_are_clipped) {
  Trace trace;
  trace.trace_id = "long";
  trace.query = "do many things";
  for (int i = 1; i <= 30; ++i) {
    TraceStep s;
    s.type = StepType::tool_call;
    s.input["tool"] = numbered("step", i);
    s.output["content"] = "ok";
    trace.steps.push_back(s);
  }
  // A field of two-byte characters, cut inside one if the cut were by bytes alone.
  std::string accents;
  for (int i = 0; i < 1000; ++i) accents += "\xC3\xA9";  // é
  trace.steps[0].output["content"] = accents;
  trace.result = std::string(5000, 'x');

  ss::TraceJudgeOptions o;
  o.max_steps = 20;
  o.max_field_chars = 101;  // odd: the cut falls inside a character
  o.max_text_chars = 1000;
  ss::TraceJudge judge{leash::llm::AnyTransport{}, o};
  auto user = judge.request_for(trace).messages[1].content;
  BOOST_TEST(has(user, "Steps (20 of 30 shown):\n"), user);
  BOOST_TEST(has(user, "\n10. [tool_call]"));
  BOOST_TEST(!has(user, "\n11. [tool_call]"));
  BOOST_TEST(has(user, "... (10 steps left out) ...\n21. [tool_call]"));
  BOOST_TEST(has(user, "\n30. [tool_call]"));
  BOOST_TEST(!has(user, accents));
  BOOST_TEST(has(user, "more bytes]"));
  BOOST_TEST(!has(user, std::string(1001, 'x')));
  BOOST_TEST(has(user, std::string(1000, 'x') + "... [4000 more bytes]"));
  // Still valid UTF-8: the request serialises without replacement or error.
  boost::system::error_code ec;
  auto parsed = json::parse(json::serialize(json::value(user)), ec);
  BOOST_TEST(!ec);
  BOOST_TEST(parsed.as_string() == user);
  for (std::size_t i = 0; i + 1 < user.size(); ++i)
    if (static_cast<unsigned char>(user[i]) == 0xC3) BOOST_TEST_REQUIRE(static_cast<unsigned char>(user[i + 1]) == 0xA9);

  // A trace listed without steps says so.
  Trace bare;
  bare.query = "q";
  auto none = judge.request_for(bare).messages[1].content;
  BOOST_TEST(has(none, "Steps: none recorded\n"), none);
  BOOST_TEST(has(none, "Final Result:\n(none)"), none);
}

BOOST_AUTO_TEST_CASE(a_reply_without_a_score_is_an_error_that_names_its_spend) {
  auto t = script({reply("Looks fine to me, 3 good points.")});
  ss::TraceJudge judge{leash::llm::AnyTransport(t)};
  auto trace = sample_trace();
  auto r = run_sync(judge.score_trace(trace));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::llm_bad_response);
  BOOST_TEST(has(r.error().what(), "run-1"), r.error().what());
  BOOST_TEST(has(r.error().what(), "spent 60 tokens, $0.000225"), r.error().what());

  auto down = script({leash::Error{Errc::llm_unreachable, "connection refused"}});
  ss::TraceJudge unreachable{leash::llm::AnyTransport(down)};
  auto e = run_sync(unreachable.score_trace(trace));
  BOOST_REQUIRE(e.has_error());
  BOOST_TEST(e.error() == Errc::llm_unreachable);
  BOOST_TEST(has(e.error().what(), "the judge failed: connection refused"), e.error().what());

  ss::TraceJudge none{leash::llm::AnyTransport{}};
  auto n = run_sync(none.score_trace(trace));
  BOOST_REQUIRE(n.has_error());
  BOOST_TEST(n.error() == Errc::invalid_config);
}

#ifdef LEASH_TEST_HAS_SQLITE_STORE
BOOST_AUTO_TEST_CASE(judge_traces_writes_feedback_into_a_sqlite_store) {
  leash_test::TempDir dir("leash-judge");
  auto path = dir / "runs.db";
  {
    auto opened = leash::SqliteStore::open(path);
    BOOST_REQUIRE_MESSAGE(opened.has_value(), why(opened));
    leash::AnyStore store(std::move(opened).value());
    add(store, run("a", "first question", "bot", 1000));
    add(store, run("b", "second question", "bot", 1010));
    add(store, run("c", "still going", "bot", 1020, std::nullopt, "", std::nullopt));  // running
    add(store, run("d", "fourth question", "bot", 1030));
    add(store, run("e", "another agent's", "other", 1040));

    // Newest first: d, (c skipped), b, a — one reply each, in that order.
    auto t = script({reply("Spot on.\nScore: 0.9"), reply("No idea what to say."), reply("Weak.\nScore: 0.3")});
    ss::TraceJudge judge{leash::llm::AnyTransport(t)};
    TraceStore traces(store);
    TraceFilter f;
    f.agent = "bot";
    auto batch = run_sync(judge.judge_traces(traces, f));
    BOOST_REQUIRE_MESSAGE(batch.has_value(), why(batch));
    auto const& b = batch.value();
    BOOST_TEST(b.judged == 2u);
    BOOST_TEST(b.failed == 1u);
    BOOST_TEST(b.skipped == 1u);
    BOOST_TEST(b.tokens == 180u);  // the failed one is charged too
    BOOST_REQUIRE(b.cost_usd.has_value());
    BOOST_TEST(*b.cost_usd == 3 * 0.000225, boost::test_tools::tolerance(1e-12));
    BOOST_REQUIRE(b.verdicts.size() == 3u);
    BOOST_TEST(b.verdicts[0].trace_id == "d");
    BOOST_TEST(b.verdicts[0].score.value_or(-1) == 0.9);
    BOOST_TEST(b.verdicts[0].feedback_written);
    BOOST_TEST(b.verdicts[1].trace_id == "b");
    BOOST_TEST(!b.verdicts[1].score.has_value());
    BOOST_TEST(!b.verdicts[1].feedback_written);
    BOOST_TEST(b.verdicts[1].text == "No idea what to say.");
    BOOST_TEST(has(b.verdicts[1].error, "no score"), b.verdicts[1].error);
    BOOST_TEST(b.verdicts[1].tokens == 60u);
    BOOST_TEST(b.verdicts[2].trace_id == "a");
    BOOST_TEST(b.verdicts[2].score.value_or(-1) == 0.3);

    // The judge saw each trace whole, steps included.
    auto sent = t->requests();
    BOOST_REQUIRE(sent.size() == 3u);
    BOOST_TEST(has(sent[0].messages[1].content, "Query:\nfourth question"));
    BOOST_TEST(has(sent[0].messages[1].content, R"([tool_call] input={"tool":"search","args":{"q":"x"}})"),
               sent[0].messages[1].content);

    // Asked not to write, it only reports.
    auto quiet_t = script({reply("Score: 0.1")});
    ss::TraceJudge quiet{leash::llm::AnyTransport(quiet_t)};
    TraceFilter only_e;
    only_e.agent = "other";
    auto dry = run_sync(quiet.judge_traces(traces, only_e, false));
    BOOST_REQUIRE_MESSAGE(dry.has_value(), why(dry));
    BOOST_TEST(dry.value().judged == 1u);
    BOOST_TEST(!dry.value().verdicts[0].feedback_written);
  }
  // Reopened from the file: the judge's scores are there, with their source.
  auto reopened = leash::SqliteStore::open(path);
  BOOST_REQUIRE_MESSAGE(reopened.has_value(), why(reopened));
  TraceStore traces{leash::AnyStore(std::move(reopened).value())};
  auto d = run_sync(traces.get("d"));
  BOOST_REQUIRE_MESSAGE(d.has_value(), why(d));
  BOOST_TEST(d.value().feedback.value_or(-1) == 0.9);
  BOOST_TEST(d.value().feedback_source == "judge");
  BOOST_TEST(run_sync(traces.get("a")).value().feedback.value_or(-1) == 0.3);
  BOOST_TEST(!run_sync(traces.get("b")).value().feedback.has_value());
  BOOST_TEST(!run_sync(traces.get("c")).value().feedback.has_value());
  BOOST_TEST(!run_sync(traces.get("e")).value().feedback.has_value());
}
#endif

BOOST_AUTO_TEST_CASE(judge_traces_lists_at_most_a_hundred_unless_told_and_needs_a_transport) {
  auto store = memory_store();
  for (int i = 0; i < 105; ++i) add(store, run(numbered("r", 1000 + i), "q", "bot", 1000 + i));
  TraceStore traces(store);
  auto t = script({reply("Score: 1")});
  ss::TraceJudge judge{leash::llm::AnyTransport(t)};
  TraceFilter all;
  auto batch = run_sync(judge.judge_traces(traces, all));
  BOOST_REQUIRE_MESSAGE(batch.has_value(), why(batch));
  BOOST_TEST(batch.value().judged == 100u);
  BOOST_TEST(t->calls() == 100u);
  BOOST_TEST(batch.value().verdicts.front().trace_id == "r1104");  // newest first

  ss::TraceJudge none{leash::llm::AnyTransport{}};
  auto n = run_sync(none.judge_traces(traces, all));
  BOOST_REQUIRE(n.has_error());
  BOOST_TEST(n.error() == Errc::invalid_config);
}

BOOST_AUTO_TEST_CASE(synthesizer_keeps_the_best_rated_run_of_each_question) {
  auto store = memory_store();
  // Listing is newest first: started_at decides the order the synthesizer
  // meets runs in; the tie rule must not depend on it.
  add(store, run("t05", "How do I reset my password?", "react_agent", 1000, 0.9, "Settings, then Reset."));
  add(store, run("t03", "  how do I RESET my password?  ", "react_agent", 1001, 0.95, "Use the reset link."));
  add(store, run("t02", "How do I reset my password?", "react_agent", 1003, 0.95, "Tie, smaller id."));
  add(store, run("t04", "How do I reset my password?", "react_agent", 1002, 0.95, "Tie, larger id."));
  // Same words, another agent: another question.
  add(store, run("t06", "How do I reset my password?", "rag_bot", 1004, 0.7, "From the docs."));  // = threshold
  // Equal in their first 50 bytes: one question.
  std::string prefix(50, 'w');
  add(store, run("t07", prefix + " then A", "math_solver", 1005, 0.8, "A"));
  add(store, run("t08", prefix + " then B", "math_solver", 1006, 0.85, "B"));
  // Rated high though it failed: the rating is the verdict.
  add(store, run("t09", "integrate x^2", "math_solver", 1007, 0.8, "x^3/3", leash::Status::no_progress));
  add(store, run("t10", "tell me a joke", "chatty", 1008, 0.69, "no"));      // below the threshold
  add(store, run("t11", "tell me a story", "chatty", 1009, std::nullopt));   // never rated
  add(store, run("t12", "empty answer", "chatty", 1010, 1.0, "  "));         // nothing to compare with
  add(store, run("t13", "what's new?", "chatty", 1011, 0.75, "Not much."));

  TraceStore traces(store);
  auto got = synthesize(traces);
  // Order: feedback high to low, then trace id.
  BOOST_TEST(ids_of(got) == (V{"t02", "t08", "t09", "t13", "t06"}), boost::test_tools::per_element());
  BOOST_REQUIRE(got.size() == 5u);
  auto const& best = got[0];
  BOOST_TEST(best.query == "How do I reset my password?");
  BOOST_TEST(best.reference_answer == "Tie, smaller id.");
  BOOST_TEST(best.agent == "react_agent");
  BOOST_TEST(best.category == "agentic");
  BOOST_TEST(best.feedback_score == 0.95);
  BOOST_TEST(best.metadata.at("workflow_id").as_string() == "default");
  BOOST_TEST(best.metadata.at("model").as_string() == "gpt-4o");
  BOOST_TEST(best.metadata.at("group_size").to_number<int>() == 4);  // t02–t05
  BOOST_TEST(got[1].category == "reasoning");
  BOOST_TEST(got[1].metadata.at("group_size").to_number<int>() == 2);  // t07 and t08
  BOOST_TEST(got[3].category == "chat");
  BOOST_TEST(got[4].category == "rag");

  // Cap, threshold, agent and workflow.
  ss::SynthesisOptions o;
  o.max_samples = 2;
  BOOST_TEST(ids_of(synthesize(traces, o)) == (V{"t02", "t08"}), boost::test_tools::per_element());
  o = {};
  o.min_feedback = 0.9;
  BOOST_TEST(ids_of(synthesize(traces, o)) == (V{"t02"}), boost::test_tools::per_element());
  o = {};
  o.min_feedback = 0.0;  // every rated run with an answer, still none unrated
  BOOST_TEST(ids_of(synthesize(traces, o)) == (V{"t02", "t08", "t09", "t13", "t06", "t10"}),
             boost::test_tools::per_element());
  o = {};
  o.agent = "math_solver";
  o.workflow_id = "wf-7";
  auto maths = synthesize(traces, o);
  BOOST_TEST(ids_of(maths) == (V{"t08", "t09"}), boost::test_tools::per_element());
  BOOST_TEST(maths[0].metadata.at("workflow_id").as_string() == "wf-7");

  // An empty store is an empty benchmark.
  auto empty_store = memory_store();
  TraceStore empty(empty_store);
  BOOST_TEST(synthesize(empty).empty());
}

BOOST_AUTO_TEST_CASE(synthesizer_options_are_checked) {
  auto store = memory_store();
  TraceStore traces(store);
  auto bad = [&](ss::SynthesisOptions o) {
    auto r = run_sync(ss::synthesize_personal_benchmark(traces, std::move(o)));
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST(r.error() == Errc::invalid_input);
  };
  ss::SynthesisOptions o;
  o.min_feedback = 1.5;
  bad(o);
  o.min_feedback = -0.1;
  bad(o);
  o.min_feedback = std::nan("");
  bad(o);
  o = {};
  o.max_samples = 0;
  bad(o);
}

BOOST_AUTO_TEST_CASE(categories_and_group_keys) {
  BOOST_TEST(ss::category_of_agent("native_react") == "agentic");
  BOOST_TEST(ss::category_of_agent("native_openhands") == "agentic");
  BOOST_TEST(ss::category_of_agent("Orchestrator") == "agentic");
  BOOST_TEST(ss::category_of_agent("rag_agent") == "rag");
  BOOST_TEST(ss::category_of_agent("MemoryAgent") == "rag");
  BOOST_TEST(ss::category_of_agent("retriever") == "rag");
  BOOST_TEST(ss::category_of_agent("reasoner") == "reasoning");
  BOOST_TEST(ss::category_of_agent("math") == "reasoning");
  BOOST_TEST(ss::category_of_agent("CodeReviewer") == "reasoning");
  BOOST_TEST(ss::category_of_agent("simple") == "chat");
  BOOST_TEST(ss::category_of_agent("") == "chat");
  // The first rule that matches wins: "react" before "code".
  BOOST_TEST(ss::category_of_agent("react_code") == "agentic");

  BOOST_TEST(ss::query_group_key("a", "  Hello World  ") == "a::hello world");
  // Cut at 50 bytes, then trimmed: the space at byte 50 goes.
  BOOST_TEST(ss::query_group_key("a", std::string(49, 'x') + " tail") == "a::" + std::string(49, 'x'));
  // A two-byte character across byte 50 is left out whole, not split.
  auto key = ss::query_group_key("a", std::string(49, 'x') + "\xC3\xA9" + "z");
  BOOST_TEST(key == "a::" + std::string(49, 'x'));
}

BOOST_AUTO_TEST_CASE(samples_become_a_dataset) {
  ss::PersonalSample p;
  p.trace_id = "t1";
  p.query = "q?";
  p.reference_answer = "a!";
  p.agent = "rag_bot";
  p.category = "rag";
  p.feedback_score = 0.8;
  auto data = ss::to_eval_samples({p});
  BOOST_REQUIRE(data.size() == 1u);
  BOOST_TEST(data[0].id == "t1");
  BOOST_TEST(data[0].query == "q?");
  BOOST_TEST(data[0].expected == "a!");
  BOOST_TEST(data[0].metadata.at("category").as_string() == "rag");
  BOOST_TEST(data[0].metadata.at("cluster").as_string() == "rag");
  BOOST_TEST(data[0].metadata.at("trace_id").as_string() == "t1");
  BOOST_TEST(data[0].metadata.at("agent").as_string() == "rag_bot");
  BOOST_TEST(data[0].metadata.at("feedback_score").as_double() == 0.8);
}

BOOST_AUTO_TEST_CASE(readiness_counts_the_whole_store_not_only_the_newest_runs) {
  for (auto const& kind : leash_test::store_kinds()) {
    BOOST_TEST_CONTEXT(kind.name) {
      auto store = kind.make();
      // 30 runs; only the 6 oldest are rated high. The reference, with
      // min_samples 5, reads the newest 10 and finds none.
      for (int i = 0; i < 30; ++i) {
        std::optional<double> fb;
        if (i < 6) fb = 0.9;
        else if (i % 3 == 0) fb = 0.2;
        add(store, run(numbered("r", 100 + i), numbered("q", i), "bot", 1000 + i, fb));
      }
      TraceStore traces(store);
      auto r = readiness(traces, 0.7, 5);
      BOOST_TEST(r.ready, r.message);
      BOOST_TEST(r.trace_count == 30u);
      BOOST_TEST(r.high_feedback_count == 5u);  // counting stopped there
      BOOST_TEST(has(r.message, "ready: at least 5 runs rated 0.7 or more, out of 30 runs"), r.message);

      auto n = readiness(traces, 0.7, 7);
      BOOST_TEST(!n.ready);
      BOOST_TEST(n.trace_count == 30u);
      BOOST_TEST(n.high_feedback_count == 6u);
      BOOST_TEST(has(n.message, "6 of the 7 runs needed"), n.message);
      BOOST_TEST(has(n.message, "16 of them unrated"), n.message);  // 24 unrated-or-low: 8 low
      BOOST_TEST(has(n.message, "rate 1 more good run "), n.message);

      auto strict = readiness(traces, 0.95, 1);
      BOOST_TEST(!strict.ready);
      BOOST_TEST(strict.high_feedback_count == 0u);
      BOOST_TEST(has(strict.message, "rate 1 more good run"), strict.message);
    }
  }

  auto empty_store = memory_store();
  TraceStore empty(empty_store);
  auto e = readiness(empty, 0.7, 10);
  BOOST_TEST(!e.ready);
  BOOST_TEST(e.trace_count == 0u);
  BOOST_TEST(has(e.message, "no runs yet"), e.message);

  for (auto [min_feedback, min_samples] : {std::pair{1.5, std::size_t{10}}, std::pair{-1.0, std::size_t{10}},
                                           std::pair{std::nan(""), std::size_t{10}}, std::pair{0.7, std::size_t{0}}}) {
    auto r = run_sync(ss::check_benchmark_ready(empty, min_feedback, min_samples));
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST(r.error() == Errc::invalid_input);
  }
}

BOOST_AUTO_TEST_CASE(reference_match_grader_reads_yes_and_no) {
  auto t = script({reply("YES, it is just as correct."), reply("\n\n  no - it misses the unit"),
                   reply("**Yes**\nBoth say 8 degrees."), reply(""), reply("Maybe."), reply("Yesterday it was")});
  ss::ReferenceMatchGrader grader{leash::llm::AnyTransport(t)};
  EvalSample s;
  s.id = "t1";
  s.query = "Weather in Oslo?";
  s.expected = "Rainy, 8 degrees.";

  auto yes = run_sync(grader.grade(s, "8 degrees and rain"));
  BOOST_REQUIRE_MESSAGE(yes.has_value(), why(yes));
  BOOST_TEST(yes.value().score == 1.0);
  BOOST_TEST(!yes.value().error.has_value());
  BOOST_TEST(yes.value().tokens == 60u);
  BOOST_TEST(yes.value().cost_usd.value_or(-1) == 0.000225, boost::test_tools::tolerance(1e-12));

  auto no = run_sync(grader.grade(s, "rain"));
  BOOST_REQUIRE(no.has_value());
  BOOST_TEST(no.value().score == 0.0);
  BOOST_TEST(!no.value().error.has_value());

  auto bold = run_sync(grader.grade(s, "x"));
  BOOST_TEST(bold.value().score == 1.0);

  for (int i = 0; i < 3; ++i) {  // empty, neither, a word that only begins with "yes"
    auto bad = run_sync(grader.grade(s, "x"));
    BOOST_REQUIRE(bad.has_value());
    BOOST_REQUIRE(bad.value().error.has_value());
    BOOST_TEST((*bad.value().error == Errc::llm_bad_response));
    BOOST_TEST(bad.value().tokens == 60u);  // charged all the same
  }

  auto sent = t->requests();
  BOOST_REQUIRE(!sent.empty());
  BOOST_TEST(sent[0].messages[0].content == std::string(ss::default_reference_match_prompt));
  auto const& user = sent[0].messages[1].content;
  BOOST_TEST(has(user, "Question:\nWeather in Oslo?"), user);
  BOOST_TEST(has(user, "Reference answer:\nRainy, 8 degrees."), user);
  BOOST_TEST(has(user, "Candidate answer:\n8 degrees and rain"), user);

  auto down = script({leash::Error{Errc::llm_unreachable, "connection refused"}});
  ss::ReferenceMatchGrader unreachable{leash::llm::AnyTransport(down)};
  auto e = run_sync(unreachable.grade(s, "x"));
  BOOST_REQUIRE(e.has_error());
  BOOST_TEST(e.error() == Errc::llm_unreachable);

  BOOST_TEST(ss::parse_yes_no("> Yes.").value());
  BOOST_TEST(!ss::parse_yes_no("No").value());
  BOOST_TEST(ss::parse_yes_no("Nope").has_error());
  BOOST_TEST(ss::parse_yes_no(" \n \n").has_error());
}

BOOST_AUTO_TEST_CASE(a_personal_benchmark_evaluates_an_agent) {
  // From runs to a score: synthesize, convert, grade with the YES/NO judge.
  auto store = memory_store();
  add(store, run("a", "capital of France?", "chatty", 1000, 0.9, "Paris"));
  add(store, run("b", "capital of Spain?", "chatty", 1001, 0.8, "Madrid"));
  TraceStore traces(store);
  auto data = ss::to_eval_samples(synthesize(traces));
  BOOST_REQUIRE(data.size() == 2u);

  struct Parrot {
    boost::asio::awaitable<result<leash::learn::Answer>> operator()(EvalSample const& s) {
      leash::learn::Answer a;
      a.text = "I think: " + s.expected;
      co_return a;
    }
  };
  auto t = script({reply("YES")});
  leash::learn::EvaluatorOptions eo;
  eo.max_concurrent = 1;
  leash::learn::DatasetEvaluator eval(data, Parrot{}, ss::ReferenceMatchGrader(leash::llm::AnyTransport(t)), eo);
  auto report = run_sync(eval.evaluate());
  BOOST_REQUIRE_MESSAGE(report.has_value(), why(report));
  BOOST_TEST(report.value().accuracy == 1.0);
  BOOST_TEST(report.value().grader_tokens == 120u);
}

BOOST_AUTO_TEST_SUITE_END()
