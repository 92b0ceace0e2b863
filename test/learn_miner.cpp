#include <leash/learn/miner.hpp>
#include <boost/test/unit_test.hpp>

#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace test_learn_miner {

using leash::learn::MinerOptions;
using leash::learn::Outcome;
using leash::learn::SftPair;
using leash::learn::StepType;
using leash::learn::Trace;
using leash::learn::TraceStep;
using leash::learn::TrainingDataMiner;

/// A run as the trace store would give it; fields set one by one.
Trace trace(std::string query, std::string result, std::string model, std::optional<double> feedback,
            Outcome outcome = Outcome::success, std::string agent = "", std::vector<std::string> tools = {}) {
  Trace t;
  t.trace_id = "t-" + query + "-" + model;
  t.query = std::move(query);
  t.result = std::move(result);
  t.model = std::move(model);
  t.agent = std::move(agent);
  t.feedback = feedback;
  t.outcome = outcome;
  for (auto& name : tools) {
    TraceStep step;
    step.type = StepType::tool_call;
    step.input["tool"] = name;
    t.steps.push_back(std::move(step));
  }
  TraceStep respond;
  respond.type = StepType::respond;
  respond.output["content"] = t.result;
  t.steps.push_back(std::move(respond));
  return t;
}

MinerOptions options() { return MinerOptions{}; }  // classify_query

std::vector<leash::json::value> parse_lines(std::string const& text) {
  std::vector<leash::json::value> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(leash::json::parse(line));
  return out;
}

}  // namespace test_learn_miner

using namespace test_learn_miner;

BOOST_AUTO_TEST_SUITE(learn_miner)

// -- the reference's seven cases (§3 TrainingDataMiner) ----------------------

BOOST_AUTO_TEST_CASE(two_good_traces_give_two_pairs) {
  TrainingDataMiner miner(options());
  BOOST_TEST(miner.add(trace("def add(a, b): return a + b", "it adds", "qwen-coder", 0.9)));
  BOOST_TEST(miner.add(trace("What is the capital of France?", "Paris", "llama", 0.8)));
  auto const& pairs = miner.sft_pairs();
  BOOST_REQUIRE_EQUAL(pairs.size(), 2u);
  BOOST_TEST(pairs[0].input == "def add(a, b): return a + b");
  BOOST_TEST(pairs[0].output == "it adds");
  BOOST_TEST(pairs[0].query_class == "code");
  BOOST_TEST(pairs[0].model == "qwen-coder");
  BOOST_TEST(pairs[0].feedback == 0.9);
  BOOST_TEST(pairs[1].query_class == "short");
  BOOST_TEST(miner.traces_seen() == 2u);
  BOOST_TEST(miner.traces_kept() == 2u);
}

BOOST_AUTO_TEST_CASE(duplicate_query_and_result_kept_once) {
  TrainingDataMiner miner(options());
  miner.add(trace("hello", "hi", "first", 0.9));
  miner.add(trace("hello", "hi", "second", 0.95));
  miner.add(trace("hello", "hi there", "third", 0.9));   // another result: another pair
  miner.add(trace("hellohi", "", "fourth", 0.9));        // same bytes split otherwise: another pair
  auto const& pairs = miner.sft_pairs();
  BOOST_REQUIRE_EQUAL(pairs.size(), 3u);
  BOOST_TEST(pairs[0].model == "first");  // the first added is the one kept
  BOOST_TEST(pairs[1].output == "hi there");
  BOOST_TEST(pairs[2].input == "hellohi");
  // Duplicates still count in the analyses.
  BOOST_TEST(miner.routing_pairs().at("short").sample_count == 4u);
}

BOOST_AUTO_TEST_CASE(feedback_below_min_quality_excluded) {
  TrainingDataMiner miner(options());
  BOOST_TEST(!miner.add(trace("low", "r", "m", 0.5)));
  BOOST_TEST(!miner.add(trace("none", "r", "m", std::nullopt)));
  BOOST_TEST(!miner.add(trace("nan", "r", "m", std::numeric_limits<double>::quiet_NaN())));
  BOOST_TEST(miner.add(trace("edge", "r", "m", 0.7)));  // min_quality is inclusive
  BOOST_REQUIRE_EQUAL(miner.sft_pairs().size(), 1u);
  BOOST_TEST(miner.sft_pairs()[0].input == "edge");

  auto strict = options();
  strict.min_quality = 0.95;
  TrainingDataMiner picky(strict);
  BOOST_TEST(!picky.add(trace("q", "r", "m", 0.9)));
  BOOST_TEST(picky.add(trace("q", "r", "m", 1.0)));
}

BOOST_AUTO_TEST_CASE(routing_best_model_has_highest_mean) {
  TrainingDataMiner miner(options());
  miner.add(trace("def a(): pass", "r1", "small", 0.8));
  miner.add(trace("def b(): pass", "r2", "big", 0.95));
  miner.add(trace("def c(): pass", "r3", "small", 0.75));
  auto routing = miner.routing_pairs();
  BOOST_REQUIRE_EQUAL(routing.size(), 1u);
  auto const& code = routing.at("code");
  BOOST_TEST(code.best_model == "big");
  BOOST_TEST(code.sample_count == 3u);
  BOOST_TEST(code.avg_feedback == (0.8 + 0.95 + 0.75) / 3, boost::test_tools::tolerance(1e-12));
  BOOST_REQUIRE_EQUAL(code.all_models.size(), 2u);
  BOOST_TEST(code.all_models.at("small").count == 2u);
  BOOST_TEST(code.all_models.at("small").avg_feedback == 0.775, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(code.all_models.at("big").count == 1u);
  BOOST_TEST(code.all_models.at("big").avg_feedback == 0.95);
}

BOOST_AUTO_TEST_CASE(agent_config_best_agent_and_tools) {
  TrainingDataMiner miner(options());
  miner.add(trace("Please solve the equation x + 2 = 5 for x", "3", "m", 0.95, Outcome::success, "orchestrator",
                  {"calculator", "calculator", "think"}));
  miner.add(trace("Calculate 17 * 23 for me and explain the steps", "391", "m", 0.9, Outcome::success,
                  "orchestrator", {"calculator"}));
  miner.add(trace("Solve this equation: 2x = 10, show your work", "5", "m", 0.75, Outcome::success, "simple",
                  {"web_search"}));
  auto pairs = miner.agent_config_pairs();
  BOOST_REQUIRE_EQUAL(pairs.size(), 1u);
  auto const& math = pairs.at("math");
  BOOST_TEST(math.best_agent == "orchestrator");
  BOOST_TEST(math.best_tools == (std::vector<std::string>{"calculator", "think"}));
  BOOST_TEST(math.sample_count == 3u);
  BOOST_TEST(math.avg_feedback == (0.95 + 0.9 + 0.75) / 3, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(failed_run_excluded_everywhere) {
  TrainingDataMiner miner(options());
  BOOST_TEST(!miner.add(trace("def f(): pass", "crash", "m", 1.0, Outcome::failure, "a", {"run"})));
  BOOST_TEST(!miner.add(trace("def g(): pass", "?", "m", 1.0, Outcome::unknown, "a", {"run"})));
  BOOST_TEST(miner.sft_pairs().empty());
  BOOST_TEST(miner.routing_pairs().empty());
  BOOST_TEST(miner.agent_config_pairs().empty());
  BOOST_TEST(miner.traces_seen() == 2u);
  BOOST_TEST(miner.traces_kept() == 0u);
}

BOOST_AUTO_TEST_CASE(no_traces_give_empty_results) {
  TrainingDataMiner miner(options());
  BOOST_TEST(miner.sft_pairs().empty());
  BOOST_TEST(miner.routing_pairs().empty());
  BOOST_TEST(miner.agent_config_pairs().empty());
}

// -- ties, filters, class sizes -----------------------------------------------

BOOST_AUTO_TEST_CASE(ties_go_to_the_first_added) {
  // Equal means: the group whose first trace was added first wins, whatever
  // the names' order. Fed newest first, that is the reference's "newest wins".
  for (bool zebra_first : {true, false}) {
    TrainingDataMiner miner(options());
    auto add = [&](std::string model, std::string agent, std::vector<std::string> tools) {
      miner.add(trace("hi " + model, "r", model, 0.8, Outcome::success, agent, tools));
    };
    if (zebra_first) {
      add("zebra", "z-agent", {"z-tool", "a-tool"});
      add("alpha", "a-agent", {"x"});
    } else {
      add("alpha", "a-agent", {"x"});
      add("zebra", "z-agent", {"z-tool", "a-tool"});
    }
    BOOST_TEST(miner.routing_pairs().at("short").best_model == (zebra_first ? "zebra" : "alpha"));
    auto agents = miner.agent_config_pairs().at("short");
    BOOST_TEST(agents.best_agent == (zebra_first ? "z-agent" : "a-agent"));
    if (zebra_first)  // equal counts: first called first, not alphabetical
      BOOST_TEST(agents.best_tools == (std::vector<std::string>{"z-tool", "a-tool"}));
  }
}

BOOST_AUTO_TEST_CASE(tools_by_count_then_first_called) {
  TrainingDataMiner miner(options());
  miner.add(trace("hi", "r", "m", 0.9, Outcome::success, "a", {"b", "c", "c"}));
  miner.add(trace("hi again", "r", "m", 0.9, Outcome::success, "a", {"d", "a", "b"}));
  BOOST_TEST(miner.agent_config_pairs().at("short").best_tools ==
             (std::vector<std::string>{"b", "c", "d", "a"}));
}

BOOST_AUTO_TEST_CASE(empty_agent_is_an_agent) {
  TrainingDataMiner miner(options());
  miner.add(trace("hi", "r", "m", 0.9, Outcome::success, "", {"t"}));
  miner.add(trace("yo", "r", "m", 0.8, Outcome::success, "named"));
  BOOST_TEST(miner.agent_config_pairs().at("short").best_agent == "");
  BOOST_TEST(miner.agent_config_pairs().at("short").best_tools == (std::vector<std::string>{"t"}));
}

BOOST_AUTO_TEST_CASE(agent_filter) {
  auto o = options();
  o.agent = "coder";
  TrainingDataMiner miner(o);
  BOOST_TEST(miner.add(trace("def f(): pass", "ok", "m1", 0.8, Outcome::success, "coder", {"edit"})));
  BOOST_TEST(!miner.add(trace("def g(): pass", "ok", "m2", 1.0, Outcome::success, "writer", {"draft"})));
  BOOST_TEST(!miner.add(trace("def h(): pass", "ok", "m2", 1.0, Outcome::success, "Coder")));  // exact match only
  BOOST_REQUIRE_EQUAL(miner.sft_pairs().size(), 1u);
  BOOST_TEST(miner.routing_pairs().at("code").best_model == "m1");
  BOOST_TEST(miner.routing_pairs().at("code").all_models.size() == 1u);
  BOOST_TEST(miner.agent_config_pairs().at("code").best_agent == "coder");
  BOOST_TEST(miner.traces_seen() == 3u);
  BOOST_TEST(miner.traces_kept() == 1u);
}

BOOST_AUTO_TEST_CASE(small_classes_left_out_of_analyses_not_sft) {
  auto o = options();
  o.min_samples_per_class = 2;
  TrainingDataMiner miner(o);
  miner.add(trace("def f(): pass", "ok", "m", 0.9));
  miner.add(trace("hi", "a", "m", 0.9));
  miner.add(trace("yo", "b", "m", 0.9));
  BOOST_TEST(miner.sft_pairs().size() == 3u);
  auto routing = miner.routing_pairs();
  BOOST_TEST(routing.size() == 1u);
  BOOST_TEST(routing.count("short") == 1u);
  BOOST_TEST(miner.agent_config_pairs().count("code") == 0u);
}

BOOST_AUTO_TEST_CASE(custom_classifier) {
  auto o = options();
  o.classify = [](std::string_view q) { return q.starts_with("SQL") ? std::string("sql") : std::string("other"); };
  TrainingDataMiner miner(o);
  miner.add(trace("SQL: select 1", "1", "m", 0.9));
  miner.add(trace("def f(): pass", "ok", "m", 0.9));
  BOOST_TEST(miner.sft_pairs()[0].query_class == "sql");
  BOOST_TEST(miner.sft_pairs()[1].query_class == "other");
  BOOST_TEST(miner.routing_pairs().size() == 2u);
}

BOOST_AUTO_TEST_CASE(empty_query_and_result_kept) {
  TrainingDataMiner miner(options());
  miner.add(trace("", "", "m", 0.9));
  miner.add(trace("", "", "m", 0.9));
  BOOST_REQUIRE_EQUAL(miner.sft_pairs().size(), 1u);
  BOOST_TEST(miner.sft_pairs()[0].input == "");
}

// -- exports ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(chat_jsonl_parses_back) {
  std::vector<SftPair> pairs(2);
  pairs[0].input = "line one\nline \"two\" \\ ünïcødé 🎉";
  pairs[0].output = "answer\twith tab";
  pairs[1].input = "q2";
  pairs[1].output = "";

  std::ostringstream with_system;
  auto n = leash::learn::write_sft_jsonl_chat(pairs, with_system, "You are terse.");
  BOOST_REQUIRE(n.has_value());
  BOOST_TEST(n.value() == 2u);
  auto lines = parse_lines(with_system.str());
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  auto const& m0 = lines[0].at("messages").as_array();
  BOOST_REQUIRE_EQUAL(m0.size(), 3u);
  BOOST_TEST(m0[0].at("role").as_string() == "system");
  BOOST_TEST(m0[0].at("content").as_string() == "You are terse.");
  BOOST_TEST(m0[1].at("role").as_string() == "user");
  BOOST_TEST(m0[1].at("content").as_string() == pairs[0].input);
  BOOST_TEST(m0[2].at("role").as_string() == "assistant");
  BOOST_TEST(m0[2].at("content").as_string() == pairs[0].output);
  BOOST_TEST(lines[0].as_object().size() == 1u);  // only "messages"
  BOOST_TEST(lines[1].at("messages").as_array()[2].at("content").as_string() == "");

  std::ostringstream without_system;
  BOOST_REQUIRE(leash::learn::write_sft_jsonl_chat(pairs, without_system).has_value());
  auto bare = parse_lines(without_system.str());
  BOOST_REQUIRE_EQUAL(bare.size(), 2u);
  BOOST_TEST(bare[0].at("messages").as_array().size() == 2u);
  BOOST_TEST(bare[0].at("messages").as_array()[0].at("role").as_string() == "user");
}

BOOST_AUTO_TEST_CASE(plain_jsonl_parses_back) {
  TrainingDataMiner miner(options());
  miner.add(trace("def f():\n    return \"x\"", "returns \"x\"", "m", 0.9));
  miner.add(trace("hi", "hello", "m", 0.9));
  std::ostringstream out;
  auto n = leash::learn::write_sft_jsonl_plain(miner.sft_pairs(), out);
  BOOST_REQUIRE(n.has_value());
  BOOST_TEST(n.value() == 2u);
  auto lines = parse_lines(out.str());
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[0].as_object().size() == 2u);
  BOOST_TEST(lines[0].at("input").as_string() == "def f():\n    return \"x\"");
  BOOST_TEST(lines[0].at("output").as_string() == "returns \"x\"");
  BOOST_TEST(lines[1].at("input").as_string() == "hi");

  std::ostringstream empty;
  BOOST_TEST(leash::learn::write_sft_jsonl_plain({}, empty).value() == 0u);
  BOOST_TEST(empty.str().empty());
}

BOOST_AUTO_TEST_CASE(failed_stream_is_an_error) {
  std::vector<SftPair> pairs(1);
  std::ostream broken(nullptr);  // badbit from the start
  auto chat = leash::learn::write_sft_jsonl_chat(pairs, broken);
  BOOST_REQUIRE(chat.has_error());
  BOOST_TEST(chat.error() == leash::Errc::store_failed);
  BOOST_TEST(leash::learn::write_sft_jsonl_plain(pairs, broken).error() == leash::Errc::store_failed);
}

BOOST_AUTO_TEST_SUITE_END()
