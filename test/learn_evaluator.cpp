// Evaluation: datasets, graders, the judge's score parsing (§4 item 14 fixed),
// DatasetEvaluator (concurrency cap, order, errors, costs) and loop_agent over
// a real leash::Loop.
#include <leash/learn/evaluator.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"

#include <leash/llm/make_transport.hpp>
#include <leash/llm/scripted.hpp>

#include "http_server.hpp"
#include "support.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_learn_evaluator {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = leash::json;
using leash::Errc;
using leash::result;
using leash::learn::Answer;
using leash::learn::ContainsGrader;
using leash::learn::DatasetEvaluator;
using leash::learn::EvalReport;
using leash::learn::EvalSample;
using leash::learn::ExactGrader;
using leash::learn::LlmJudgeGrader;
using leash::learn::NumericGrader;
using leash::learn::ReferenceGrader;
using leash::learn::parse_judge_score;
using leash_test::run_sync;
using leash_test::why;

EvalSample sample(std::string expected, std::string query = "q", std::string id = "s") {
  EvalSample s;
  s.id = std::move(id);
  s.query = std::move(query);
  s.expected = std::move(expected);
  return s;
}

/// The grader's score, or -1 when it failed.
template <class G>
double score(G& g, std::string expected, std::string_view answer) {
  auto s = sample(std::move(expected));
  auto r = run_sync(g.grade(s, answer));
  return r ? r.value() : -1.0;
}

std::vector<EvalSample> qa(std::size_t n) {
  std::vector<EvalSample> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(sample(std::to_string(i * 10), "what is " + std::to_string(i) + " * 10?", "q" + std::to_string(i)));
  return out;
}

leash::llm::Completion reply(std::string text, std::string model = "gpt-4o") {
  leash::llm::Completion c;
  c.text = std::move(text);
  c.usage = leash::Usage{50, 10};
  c.model = std::move(model);
  return c;
}

std::shared_ptr<leash::llm::ScriptedTransport> script(std::vector<result<leash::llm::Completion>> replies,
                                                      std::string model = "gpt-4o") {
  auto t = std::make_shared<leash::llm::ScriptedTransport>(std::move(replies), std::move(model));
  t->record_requests();
  return t;
}

// An exemplar of each requirement, checked where the docs cannot drift.
struct AnswersFortyTwo {
  asio::awaitable<result<Answer>> operator()(EvalSample const&) {
    Answer a;
    a.text = "42";
    co_return a;
  }
};
struct FixedEvaluator {
  asio::awaitable<result<EvalReport>> evaluate() { co_return EvalReport{}; }
};
static_assert(leash::learn::Grader<ExactGrader> && leash::learn::Grader<ContainsGrader> &&
              leash::learn::Grader<NumericGrader> && leash::learn::Grader<ReferenceGrader> &&
              leash::learn::Grader<LlmJudgeGrader>);
static_assert(leash::learn::check_grader<ExactGrader>());
static_assert(leash::learn::EvalAgent<AnswersFortyTwo> && leash::learn::check_eval_agent<AnswersFortyTwo>());
static_assert(leash::learn::Evaluator<FixedEvaluator> && leash::learn::check_evaluator<FixedEvaluator>());
static_assert(leash::learn::Evaluator<DatasetEvaluator<AnswersFortyTwo, ExactGrader>>);
static_assert(!leash::learn::Grader<int> && !leash::learn::Evaluator<int>);

}  // namespace test_learn_evaluator

using namespace test_learn_evaluator;

BOOST_AUTO_TEST_SUITE(learn_evaluator)

// ---------------------------------------------------------------- datasets

BOOST_AUTO_TEST_CASE(dataset_lines_become_samples) {
  auto r = leash::learn::parse_dataset(
      "\xEF\xBB\xBF{\"id\": \"a\", \"query\": \"2+3?\", \"expected\": 5, \"metadata\": {\"topic\": \"math\"}}\r\n"
      "\n"
      "   \n"
      "{\"query\": \"capital of France?\", \"expected\": \"Paris\"}\n"
      "{\"query\": \"half?\", \"expected\": 0.5}\n"
      "{\"query\": \"big?\", \"expected\": -12}",
      "qa.jsonl");
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& d = r.value();
  BOOST_REQUIRE(d.size() == 4u);
  BOOST_TEST(d[0].id == "a");
  BOOST_TEST(d[0].query == "2+3?");
  BOOST_TEST(d[0].expected == "5");
  BOOST_TEST(d[0].metadata.at("topic").as_string() == "math");
  BOOST_TEST(d[1].id == "line-4");  // the line in the file, blank lines counted
  BOOST_TEST(d[1].expected == "Paris");
  BOOST_TEST(d[1].metadata.empty());
  BOOST_TEST(d[2].expected == "0.5");
  BOOST_TEST(d[3].expected == "-12");
  BOOST_TEST(d[3].id == "line-6");
}

BOOST_AUTO_TEST_CASE(bad_lines_are_named_by_file_and_line) {
  struct Case {
    std::string text;
    std::string message;
  };
  std::vector<Case> cases{
      {"{\"query\": \"a\", \"expected\": \"b\"}\n\n{\"query\": \"a\"}", "data.jsonl:3: missing \"expected\""},
      {"{\"expected\": \"b\"}", "data.jsonl:1: missing \"query\""},
      {"{\"query\": \"a\", \"expected\": \"b\"}\n{not json}", "data.jsonl:2: not JSON"},
      {"[1, 2]", "data.jsonl:1: expected a JSON object, got an array"},
      {"{\"query\": 3, \"expected\": \"b\"}", "data.jsonl:1: \"query\" must be a string, not a number"},
      {"{\"query\": \"a\", \"expected\": true}", "data.jsonl:1: \"expected\" must be a string or a number, not a boolean"},
      {"{\"query\": \"a\", \"expected\": null}", "not null"},
      {"{\"query\": \"a\", \"expected\": \"b\", \"id\": 7}", "\"id\" must be a string"},
      {"{\"query\": \"a\", \"expected\": \"b\", \"metadata\": []}", "\"metadata\" must be an object"},
      {"{\"query\": \"a\", \"expectd\": \"b\"}", "data.jsonl:1: unknown key \"expectd\""},
      {"{\"id\": \"x\", \"query\": \"a\", \"expected\": \"b\"}\n{\"id\": \"x\", \"query\": \"c\", \"expected\": \"d\"}",
       "data.jsonl:2: id \"x\" is already used on line 1"},
  };
  for (auto const& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto r = leash::learn::parse_dataset(c.text, "data.jsonl");
      BOOST_REQUIRE(r.has_error());
      BOOST_TEST(r.error() == Errc::invalid_input);
      BOOST_TEST(r.error().what().find(c.message) != std::string::npos, r.error().what());
    }
  }
}

BOOST_AUTO_TEST_CASE(empty_text_is_an_empty_dataset) {
  auto r = leash::learn::parse_dataset("\n\n  \n");
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().empty());
}

BOOST_AUTO_TEST_CASE(load_dataset_reads_a_file_and_names_a_missing_one) {
  auto r = leash::learn::load_dataset(LEASH_SOURCE_DIR "/test/data/learn/eval_arith.jsonl");
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_REQUIRE(r.value().size() == 4u);
  BOOST_TEST(r.value()[0].expected == "5");
  BOOST_TEST(r.value()[2].id == "line-4");
  BOOST_TEST(r.value()[3].expected == "0.5");

  auto missing = leash::learn::load_dataset("/nonexistent/leash/eval.jsonl");
  BOOST_REQUIRE(missing.has_error());
  BOOST_TEST(missing.error() == Errc::store_failed);
  BOOST_TEST(missing.error().what().find("/nonexistent/leash/eval.jsonl") != std::string::npos);
}

// ---------------------------------------------------------------- graders

BOOST_AUTO_TEST_CASE(exact_grader_trims_and_ignores_case) {
  ExactGrader g;
  BOOST_TEST(score(g, "Paris", "  paris \n") == 1.0);
  BOOST_TEST(score(g, " PARIS", "Paris") == 1.0);
  BOOST_TEST(score(g, "Paris", "Paris.") == 0.0);
  BOOST_TEST(score(g, "Paris", "It is Paris") == 0.0);
}

BOOST_AUTO_TEST_CASE(contains_grader_finds_the_expected_text) {
  ContainsGrader g;
  BOOST_TEST(score(g, "Paris", "The capital is PARIS, of course.") == 1.0);
  BOOST_TEST(score(g, " paris ", "paris") == 1.0);
  BOOST_TEST(score(g, "Paris", "Lyon") == 0.0);
  auto empty = sample("  ");
  auto r = run_sync(g.grade(empty, "anything"));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::invalid_input);
}

BOOST_AUTO_TEST_CASE(numeric_grader_takes_the_last_number) {
  NumericGrader g;
  BOOST_TEST(score(g, "42", "6 * 7 = 42") == 1.0);    // first number 6 is an operand
  BOOST_TEST(score(g, "42", "42 is not it, it is 41") == 0.0);
  BOOST_TEST(score(g, "1234.5", "about 1,234.5 dollars.") == 1.0);
  BOOST_TEST(score(g, "-3", "x = -3") == 1.0);
  BOOST_TEST(score(g, "1", "3-4 ... so 1") == 1.0);
  BOOST_TEST(score(g, "0.5", "one half: .5") == 1.0);
  BOOST_TEST(score(g, "1e6", "1000000") == 1.0);
  BOOST_TEST(score(g, "100", "100.00001") == 1.0);     // relative error 1e-7
  BOOST_TEST(score(g, "100", "100.001") == 0.0);       // 1e-5
  BOOST_TEST(score(g, "1000000", "1000000.5") == 1.0);  // relative error 5e-7 ≤ 1e-6
  BOOST_TEST(score(g, "1000000", "1000002") == 0.0);    // 2e-6 > 1e-6
  BOOST_TEST(score(g, "42", "no idea") == 0.0);
  BOOST_TEST(score(g, "42", "H2O") == 0.0);             // digits inside a word are not numbers

  NumericGrader loose;
  loose.absolute_tolerance = 0.01;
  BOOST_TEST(score(loose, "0", "0.005") == 1.0);
  BOOST_TEST(score(loose, "0", "0.05") == 0.0);

  auto bad = sample("Paris");
  auto r = run_sync(g.grade(bad, "3"));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::invalid_input);
  BOOST_TEST(r.error().what().find("\"Paris\" is not a number") != std::string::npos, r.error().what());
}

BOOST_AUTO_TEST_CASE(reference_grader_is_the_grade_answer_chain) {
  ReferenceGrader g;
  BOOST_TEST(score(g, "Paris", " PARIS ") == 1.0);                                   // equality
  BOOST_TEST(score(g, "Paris", "Let me think.\nThe answer is Paris.") == 1.0);      // "answer is"
  BOOST_TEST(score(g, "Paris", "Reasoning...\n**Answer:** paris") == 1.0);          // "answer:"
  BOOST_TEST(score(g, "12", "3 * 4 = 12") == 1.0);                                  // "= X"
  BOOST_TEST(score(g, "Paris", "Capitals are fun.\nParis") == 1.0);                 // last line
  BOOST_TEST(score(g, "42", "Answer: 42.0000001") == 1.0);                          // numeric
  BOOST_TEST(score(g, "42", "Answer: 41") == 0.0);
  BOOST_TEST(score(g, "42", "I computed 42 twice.\nAnswer: 7") == 0.0);  // the stated answer, not any 42
  BOOST_TEST(score(g, "Paris", "Lyon") == 0.0);
}

BOOST_AUTO_TEST_CASE(answer_and_number_extraction) {
  using leash::learn::extract_answer;
  using leash::learn::last_number;
  using leash::learn::parse_number;
  BOOST_TEST(extract_answer("blah\nFinal answer: `x + 1`.") == "x + 1");
  BOOST_TEST(extract_answer("so a = 3\nand b = 4\nthat's all") == "4");
  BOOST_TEST(extract_answer("one\n\ntwo  \n\n") == "two");
  BOOST_TEST(extract_answer("") == "");
  BOOST_TEST(last_number("from 3 to 5.25 then -7").value_or(0) == -7.0);
  BOOST_TEST(!last_number("none here").has_value());
  BOOST_TEST(parse_number(" 1,234 ").value_or(0) == 1234.0);
  BOOST_TEST(parse_number("-2.5e3").value_or(0) == -2500.0);
  BOOST_TEST(!parse_number("12 apples").has_value());
  BOOST_TEST(!parse_number("").has_value());
  BOOST_TEST(!parse_number("1,23").has_value());
}

// ---------------------------------------------------------------- the judge

BOOST_AUTO_TEST_CASE(judge_score_parsing_table) {
  struct Ok {
    std::string reply;
    double score;
  };
  std::vector<Ok> ok{
      {"0.85", 0.85},
      {"0.85.", 0.85},
      {"Score: 0.90", 0.90},
      {"score=1", 1.0},
      {"Rating: 7/10", 0.7},
      {"Score: 8/10", 0.8},
      {"8/10", 0.8},
      {"Quality: 9", 0.9},                       // a labelled number above 1 is out of 10
      {"**Score:** 0.6", 0.6},
      {"Score (0-1): 0.4", 0.4},
      {"The grade is 85%", 0.85},
      {"Score: 4/5", 0.8},
      {"Score: 0", 0.0},
      // §4 item 14: the reference took the first number anywhere (3 → 0.3).
      {"I'd say 3 things are wrong, but it is close.\nScore: 0.9", 0.9},
      {"In 2 of 3 steps it erred. Rating: 7/10", 0.7},
      // The last labelled score wins: a verdict follows the reasoning.
      {"A score: 0.2 would be harsh.\nScore: 0.7", 0.7},
      // A line that is only a score (last, then first).
      {"The answer matches the reference in 2 places.\n0.75", 0.75},
      {"1\nThe candidate is right in every respect.", 1.0},
  };
  for (auto const& c : ok) {
    BOOST_TEST_CONTEXT(c.reply) {
      auto r = parse_judge_score(c.reply);
      BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
      BOOST_TEST(r.value() == c.score, boost::test_tools::tolerance(1e-12));
    }
  }
  std::vector<std::string> refused{
      "no number at all",
      "It got 3 of the 4 parts right.",  // numbers, but no score
      "7",                               // above 1, no scale
      "Score: 11",                       // above 10: refused, not clamped
      "Score: 12/10",
      "Score: 3/0",
      "150%",
      "Score: -0.5",                     // negative: not a score
      "",
  };
  for (auto const& reply : refused) {
    BOOST_TEST_CONTEXT(reply) {
      auto r = parse_judge_score(reply);
      BOOST_REQUIRE(r.has_error());
      BOOST_TEST(r.error() == Errc::llm_bad_response);
    }
  }
}

BOOST_AUTO_TEST_CASE(judge_sends_question_reference_and_answer_and_charges_its_cost) {
  auto t = script({reply("Matches the reference.\nScore: 0.8")});
  LlmJudgeGrader judge{leash::llm::AnyTransport(t)};
  auto s = sample("Paris", "What is the capital of France?");
  auto r = run_sync(judge.grade(s, "It is Paris."));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(r.value().score == 0.8, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(!r.value().error.has_value());
  BOOST_TEST(r.value().tokens == 60u);
  BOOST_REQUIRE(r.value().cost_usd.has_value());
  BOOST_TEST(*r.value().cost_usd == 0.000225, boost::test_tools::tolerance(1e-12));  // gpt-4o, 50 in / 10 out
  BOOST_TEST(r.value().detail == "Matches the reference.\nScore: 0.8");

  auto sent = t->requests();
  BOOST_REQUIRE(sent.size() == 1u);
  BOOST_REQUIRE(sent[0].messages.size() == 2u);
  BOOST_TEST(sent[0].messages[0].role == "system");
  BOOST_TEST(sent[0].messages[0].content == std::string(leash::learn::default_judge_prompt));
  auto const& user = sent[0].messages[1].content;
  BOOST_TEST(user.find("What is the capital of France?") != std::string::npos);
  BOOST_TEST(user.find("Reference answer:\nParis") != std::string::npos);
  BOOST_TEST(user.find("Candidate answer:\nIt is Paris.") != std::string::npos);
  BOOST_TEST(sent[0].temperature.value_or(-1) == 0.0);
  BOOST_TEST(sent[0].tools.empty());
}

BOOST_AUTO_TEST_CASE(judge_without_a_score_fails_but_is_still_charged) {
  auto t = script({reply("Looks fine to me, 3 good points.")});
  LlmJudgeGrader judge{leash::llm::AnyTransport(t)};
  auto s = sample("Paris");
  auto r = run_sync(judge.grade(s, "Paris"));
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE(r.value().error.has_value());
  BOOST_TEST((*r.value().error == Errc::llm_bad_response));
  BOOST_TEST(r.value().tokens == 60u);

  auto down = script({leash::Error{Errc::llm_unreachable, "connection refused"}});
  LlmJudgeGrader unreachable{leash::llm::AnyTransport(down)};
  auto e = run_sync(unreachable.grade(s, "Paris"));
  BOOST_REQUIRE(e.has_error());
  BOOST_TEST(e.error() == Errc::llm_unreachable);
  BOOST_TEST(e.error().what().find("the judge failed: connection refused") != std::string::npos, e.error().what());

  LlmJudgeGrader none{leash::llm::AnyTransport{}};
  auto n = run_sync(none.grade(s, "Paris"));
  BOOST_REQUIRE(n.has_error());
  BOOST_TEST(n.error() == Errc::invalid_config);
}

BOOST_AUTO_TEST_CASE(judge_over_real_http) {
  std::atomic<int> calls{0};
  std::mutex mutex;
  std::string body_seen;
  leash_test::HttpServer server([&](leash_test::ReceivedRequest const& r) {
    ++calls;
    {
      std::lock_guard lock(mutex);
      body_seen = r.body;
    }
    json::object body{
        {"id", "chatcmpl-1"},
        {"model", "local-judge"},
        {"choices", json::array{json::object{
                        {"index", 0},
                        {"message", json::object{{"role", "assistant"}, {"content", "Close enough.\nRating: 7/10"}}},
                        {"finish_reason", "stop"}}}},
        {"usage", json::object{{"prompt_tokens", 120}, {"completion_tokens", 8}}}};
    return leash_test::Reply::json(json::serialize(body));
  });
  leash::llm::TransportOptions o;
  o.retry.max_attempts = 1;
  o.connect_timeout = 2s;
  o.request_timeout = 5s;
  auto transport = leash::llm::make_transport("openai-compatible:" + server.url("/v1") + "#local-judge", o);
  BOOST_REQUIRE_MESSAGE(transport.has_value(), why(transport));

  std::vector<EvalSample> data{sample("Paris", "capital of France?", "fr")};
  auto agent = [](EvalSample const&) -> asio::awaitable<result<Answer>> {
    Answer a;
    a.text = "Paris, I believe";
    a.tokens = 5;
    co_return a;
  };
  DatasetEvaluator eval(data, agent, LlmJudgeGrader(transport.value()));
  auto r = run_sync(eval.evaluate());
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& rep = r.value();
  BOOST_TEST(calls.load() == 1);
  BOOST_TEST(rep.accuracy == 1.0);
  BOOST_TEST(rep.per_sample.at(0).score == 0.7, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rep.grader_tokens == 128u);
  BOOST_TEST(rep.total_tokens == 133u);  // the agent's 5 and the judge's 128
  BOOST_TEST(!rep.total_cost_usd.has_value());  // neither model has a price
  std::lock_guard lock(mutex);
  BOOST_TEST(body_seen.find("Paris, I believe") != std::string::npos);
}

// ---------------------------------------------------------------- DatasetEvaluator

BOOST_AUTO_TEST_CASE(accuracy_errors_and_dataset_order) {
  // Later samples finish first; one fails, one throws, one answers wrong.
  auto agent = [](EvalSample const& s) -> asio::awaitable<result<Answer>> {
    auto i = std::stoul(s.id.substr(1));
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(10 - i));
    co_await t.async_wait(asio::use_awaitable);
    if (s.id == "q2") co_return leash::Error{Errc::tool_failed, "the agent gave up"};
    if (s.id == "q3") throw std::runtime_error("boom");
    Answer a;
    a.text = s.id == "q4" ? "I think it is 7" : "The result is " + s.expected;
    a.tokens = 10;
    if (s.id == "q1") a.cost_usd = 0.25;
    a.run_id = "run-" + s.id;
    a.status = leash::Status::success;
    co_return a;
  };
  leash::learn::EvaluatorOptions opts;
  opts.max_concurrent = 0;  // all at once
  DatasetEvaluator eval(qa(6), agent, NumericGrader{}, opts);
  auto r = run_sync(eval.evaluate());
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& rep = r.value();
  BOOST_TEST(rep.samples == 6u);
  BOOST_TEST(rep.errors == 2u);
  BOOST_TEST(rep.accuracy == 3.0 / 6.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rep.total_tokens == 40u);
  BOOST_REQUIRE(rep.total_cost_usd.has_value());
  BOOST_TEST(*rep.total_cost_usd == 0.25);
  BOOST_TEST(!rep.grader_cost_usd.has_value());
  BOOST_TEST(rep.mean_latency_s > 0.0);
  BOOST_REQUIRE(rep.per_sample.size() == 6u);
  for (std::size_t i = 0; i < 6; ++i) BOOST_TEST(rep.per_sample[i].id == "q" + std::to_string(i));
  BOOST_TEST(rep.per_sample[0].correct);
  BOOST_TEST(rep.per_sample[0].run_id == "run-q0");
  BOOST_TEST(rep.per_sample[2].error == "the agent gave up");
  BOOST_TEST(!rep.per_sample[2].correct);
  BOOST_TEST(rep.per_sample[3].error == "the agent threw: boom");
  BOOST_TEST(rep.per_sample[4].error.empty());
  BOOST_TEST(!rep.per_sample[4].correct);
  BOOST_TEST(rep.per_sample[4].answer == "I think it is 7");
  for (auto const& s : rep.per_sample) BOOST_TEST(s.latency_s > 0.0);

  auto j = rep.to_json();
  BOOST_TEST(!j.contains("per_sample"));
  BOOST_TEST(j.at("samples").to_number<int>() == 6);
  BOOST_TEST(j.at("errors").to_number<int>() == 2);
  BOOST_TEST(j.at("total_cost_usd").as_double() == 0.25);
  auto full = rep.to_json(true);
  BOOST_REQUIRE(full.at("per_sample").as_array().size() == 6u);
  auto const& q2 = full.at("per_sample").as_array()[2].as_object();
  BOOST_TEST(q2.at("error").as_string() == "the agent gave up");
  BOOST_TEST(q2.at("cost_usd").is_null());
  BOOST_TEST(full.at("per_sample").as_array()[0].as_object().at("status").as_string() == "SUCCESS");
}

BOOST_AUTO_TEST_CASE(max_concurrent_is_respected) {
  struct Probe {
    int in_flight = 0;
    int max_seen = 0;
    int calls = 0;
  };
  for (std::size_t cap : {std::size_t(1), std::size_t(3), std::size_t(0)}) {
    BOOST_TEST_CONTEXT("cap " << cap) {
      auto probe = std::make_shared<Probe>();
      auto agent = [probe](EvalSample const& s) -> asio::awaitable<result<Answer>> {
        ++probe->calls;
        probe->max_seen = std::max(probe->max_seen, ++probe->in_flight);
        asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
        co_await t.async_wait(asio::use_awaitable);
        --probe->in_flight;
        Answer a;
        a.text = s.expected;
        co_return a;
      };
      leash::learn::EvaluatorOptions opts;
      opts.max_concurrent = cap;
      DatasetEvaluator eval(qa(10), agent, ExactGrader{}, opts);
      auto r = run_sync(eval.evaluate());
      BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
      BOOST_TEST(r.value().accuracy == 1.0);
      BOOST_TEST(probe->calls == 10);
      BOOST_TEST(probe->in_flight == 0);
      int limit = cap == 0 ? 10 : static_cast<int>(cap);
      BOOST_TEST(probe->max_seen <= limit);
      if (cap != 1) BOOST_TEST(probe->max_seen > 1);  // they did overlap
    }
  }
}

BOOST_AUTO_TEST_CASE(max_samples_and_empty_datasets) {
  leash::learn::EvaluatorOptions opts;
  opts.max_samples = 3;
  DatasetEvaluator eval(qa(10), AnswersFortyTwo{}, ExactGrader{}, opts);
  auto r = run_sync(eval.evaluate());
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().samples == 3u);
  BOOST_TEST(r.value().per_sample.back().id == "q2");
  BOOST_TEST(!r.value().total_cost_usd.has_value());
  // Asked again, it measures again (the orchestrator asks before and after).
  auto again = run_sync(eval.evaluate());
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again.value().samples == 3u);

  DatasetEvaluator none(std::vector<EvalSample>{}, AnswersFortyTwo{}, ExactGrader{});
  auto e = run_sync(none.evaluate());
  BOOST_REQUIRE(e.has_error());
  BOOST_TEST(e.error() == Errc::invalid_input);
}

BOOST_AUTO_TEST_CASE(judge_costs_are_in_the_report_and_a_scoreless_reply_is_an_error) {
  auto t = script({reply("Score: 1"), reply("Score: 0.2"), reply("I cannot decide.")});
  std::vector<EvalSample> data{sample("a", "qa", "a"), sample("b", "qb", "b"), sample("c", "qc", "c")};
  leash::learn::EvaluatorOptions opts;
  opts.max_concurrent = 1;  // the script is replayed in order
  auto agent = [](EvalSample const& s) -> asio::awaitable<result<Answer>> {
    Answer a;
    a.text = s.expected;
    a.tokens = 1;
    co_return a;
  };
  DatasetEvaluator eval(data, agent, LlmJudgeGrader(leash::llm::AnyTransport(t)), opts);
  auto r = run_sync(eval.evaluate());
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& rep = r.value();
  BOOST_TEST(rep.accuracy == 1.0 / 3.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rep.errors == 1u);
  BOOST_TEST(rep.per_sample[2].error.find("grading failed: the judge's reply has no score") == 0u,
             rep.per_sample[2].error);
  BOOST_TEST(rep.grader_tokens == 180u);  // all three judge calls, the failed one too
  BOOST_TEST(rep.total_tokens == 183u);
  BOOST_REQUIRE(rep.total_cost_usd.has_value());
  BOOST_TEST(*rep.total_cost_usd == 3 * 0.000225, boost::test_tools::tolerance(1e-12));
  BOOST_REQUIRE(rep.grader_cost_usd.has_value());
  BOOST_TEST(*rep.grader_cost_usd == *rep.total_cost_usd, boost::test_tools::tolerance(1e-12));
}

// ---------------------------------------------------------------- loop_agent

BOOST_AUTO_TEST_CASE(loop_agent_runs_a_real_loop_per_sample) {
  using Agent = leash::Loop<leash::ScriptedPlanner, leash::ToolSet<>>;
  int made = 0;
  auto factory = [&made](EvalSample const& s) {
    ++made;
    leash::LoopOptions o;
    o.quiet = true;
    o.agent_name = "qa";
    // The planner "knows" 6 * 7 and gets the capital wrong.
    std::string text = s.query.find("6 * 7") != std::string::npos ? "Working it out.\nAnswer: 42" : "Answer: Lyon";
    return std::make_unique<Agent>(s.query, leash::ScriptedPlanner{leash::Plan::text_only(text)},
                                   leash::ToolSet<>{}, leash::DefaultPolicies{}, leash::ExitList<>{},
                                   leash::AnyStore{}, o);
  };
  static_assert(leash::learn::EvalAgent<decltype(leash::learn::loop_agent(factory))>);
  std::vector<EvalSample> data{sample("42", "What is 6 * 7?", "mul"), sample("Paris", "Capital of France?", "cap")};
  DatasetEvaluator eval(data, leash::learn::loop_agent(factory), ReferenceGrader{});
  auto r = run_sync(eval.evaluate());
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& rep = r.value();
  BOOST_TEST(made == 2);
  BOOST_TEST(rep.errors == 0u);
  BOOST_TEST(rep.accuracy == 0.5);
  BOOST_TEST(rep.per_sample[0].correct);
  BOOST_TEST(rep.per_sample[0].answer == "Working it out.\nAnswer: 42");
  BOOST_TEST(!rep.per_sample[1].correct);
  for (auto const& s : rep.per_sample) {
    BOOST_TEST(s.tokens > 0u);
    BOOST_TEST(!s.run_id.empty());
    BOOST_TEST(s.status.has_value());  // the run ended (text-only replies: NO_PROGRESS) and was graded
  }
  BOOST_TEST(!rep.total_cost_usd.has_value());  // "scripted" has no price

  // A factory that makes no loop is an errored sample, not a crash.
  auto null_factory = [](EvalSample const&) { return std::unique_ptr<Agent>(); };
  DatasetEvaluator broken(data, leash::learn::loop_agent(null_factory), ExactGrader{});
  auto b = run_sync(broken.evaluate());
  BOOST_REQUIRE(b.has_value());
  BOOST_TEST(b.value().errors == 2u);
  BOOST_TEST(b.value().per_sample[0].error.find("made no loop for sample 'mul'") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
