// One learning cycle end to end on a real SQLite store and real TOML files:
// the reference's LearningOrchestrator cases (§3), and what leash does
// better (§4.8): a rejection restores the configs, agent_id reaches the
// evolver, classes recommending one agent are merged, cycles are recorded.
#include <leash/learn/orchestrator.hpp>
#include <leash/store/open.hpp>

#include <boost/test/unit_test.hpp>

#include "store_kinds.hpp"
#include "support.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#if defined(LEASH_HAS_TOMLPLUSPLUS) && defined(LEASH_HAS_SQLITE)

namespace fs = std::filesystem;
using leash::learn::AgentConfig;
using leash::learn::CycleReport;
using leash::learn::EvalReport;
using leash::learn::LearningOrchestrator;
using leash::learn::OrchestratorOptions;
using leash_test::run_sync;
using leash_test::TempDir;

namespace test_learn_orchestrator {

/// An ended, scored run: `tools` called in order in one iteration.
leash::State scored_run(std::string id, std::string query, std::string agent, std::string model,
                        std::vector<std::string> tools, double feedback, bool success = true) {
  static double clock = 1.7e9;
  leash::State s;
  s.run_id = std::move(id);
  s.goal = std::move(query);
  s.info.agent = std::move(agent);
  s.info.model = std::move(model);
  s.info.started_at = clock += 10;
  s.info.ended_at = s.info.started_at + 1;
  s.info.result = "answer to " + s.goal;
  s.info.feedback = feedback;
  s.status = success ? leash::Status::success : leash::Status::no_progress;
  leash::IterationRecord it;
  it.plan_text = "working";
  for (auto& t : tools) {
    leash::ActionRecord a;
    a.tool = t;
    a.args_excerpt = "{}";
    it.actions.push_back(a);
  }
  s.iterations.push_back(it);
  return s;
}

/// A SQLite store and a config directory in a temporary directory.
struct Fixture {
  TempDir dir{"leash-learn"};
  leash::AnyStore store;
  fs::path configs;
  Fixture() : configs(dir / "agents") {
    auto s = leash::open_store("sqlite:" + (dir / "runs.db").string());
    BOOST_REQUIRE(s.has_value());
    store = std::move(s).value();
  }
  void add(leash::State const& s) { BOOST_REQUIRE(run_sync(store.create_run(s)).has_value()); }
  OrchestratorOptions options() const {
    OrchestratorOptions o;
    o.config_dir = configs;
    return o;
  }
  /// Math runs handled well by `orchestrator` with a calculator, code runs by `coder`.
  void typical_runs() {
    for (int i = 0; i < 3; ++i) {
      add(scored_run("m" + std::to_string(i), "solve the equation x + " + std::to_string(i) + " = 3", "orchestrator",
                     "gpt-oss:120b", {"calculator", "think"}, 0.9));
      add(scored_run("c" + std::to_string(i), "def f(): return " + std::to_string(i) + " # why does this fail?",
                     "coder", "codestral", {"run_tests", "read_file", "edit_file"}, 0.8));
    }
  }
  std::string config_text(std::string const& agent) const {
    std::ifstream in(configs / (agent + ".toml"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

/// Scores given in order; records what the config directory held each time.
struct ScriptedEval {
  std::vector<double> scores;
  std::shared_ptr<std::vector<bool>> saw_orchestrator_config = std::make_shared<std::vector<bool>>();
  fs::path configs;
  std::size_t next = 0;
  boost::asio::awaitable<leash::result<EvalReport>> evaluate() {
    saw_orchestrator_config->push_back(fs::exists(configs / "orchestrator.toml"));
    if (next >= scores.size()) co_return leash::Error{leash::Errc::invalid_input, "no more scores"};
    EvalReport r;
    r.accuracy = scores[next++];
    r.samples = 10;
    co_return r;
  }
};

/// Records the request and the dataset it was handed.
struct RecordingTrainer {
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  boost::asio::awaitable<leash::result<leash::learn::TrainingResult>> train(leash::learn::TrainingRequest request) {
    ++*calls;
    std::ifstream in(request.dataset_path);
    for (std::string line; std::getline(in, line);) lines->push_back(line);
    leash::learn::TrainingResult r;
    r.status = leash::learn::TrainingStatus::completed;
    r.adapter_path = "adapters/final";
    r.training_samples = request.sample_count.value_or(0);
    co_return r;
  }
};

CycleReport run_cycle(auto& orchestrator) {
  auto r = run_sync(orchestrator.run());
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : ""));
  return std::move(r).value();
}

}  // namespace test_learn_orchestrator

using namespace test_learn_orchestrator;

BOOST_AUTO_TEST_SUITE(learn_orchestrator)

BOOST_AUTO_TEST_CASE(an_empty_store_is_skipped_with_a_reason_and_a_timestamp) {
  Fixture f;
  LearningOrchestrator<> cycle(f.store, f.options());
  auto rep = run_cycle(cycle);
  BOOST_TEST(rep.status == "skipped");
  BOOST_TEST(rep.reason.find("data") != std::string::npos);
  BOOST_TEST(rep.timestamp > 1.7e9);
  BOOST_TEST(!rep.accepted);
  BOOST_TEST(rep.changes.empty());
}

BOOST_AUTO_TEST_CASE(counts_are_reported_and_configs_written_without_an_evaluator) {
  Fixture f;
  f.typical_runs();
  LearningOrchestrator<> cycle(f.store, f.options());
  auto rep = run_cycle(cycle);
  BOOST_TEST(rep.status == "completed");
  BOOST_TEST(rep.accepted);
  BOOST_TEST(rep.traces_seen == 6u);
  BOOST_TEST(rep.sft_pairs == 6u);
  BOOST_TEST(rep.routing_classes == 2u);  // math, code
  BOOST_TEST(rep.agent_classes == 2u);
  BOOST_TEST(rep.best_models.at("math") == "gpt-oss:120b");
  BOOST_TEST(rep.best_models.at("code") == "codestral");
  BOOST_REQUIRE(rep.changes.size() == 2u);
  auto evolver = leash::learn::AgentConfigEvolver::open(f.configs).value();
  auto orchestrator = evolver.load("orchestrator");
  BOOST_REQUIRE(orchestrator.has_value());
  auto const& tools = orchestrator.value().tools;
  BOOST_TEST((std::find(tools.begin(), tools.end(), "calculator") != tools.end()));
  BOOST_TEST(evolver.load("coder").value().tools.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_better_evaluation_keeps_the_change) {
  Fixture f;
  f.typical_runs();
  ScriptedEval eval;
  eval.scores = {0.50, 0.60};
  eval.configs = f.configs;
  LearningOrchestrator<ScriptedEval> cycle(f.store, f.options(), eval);
  auto rep = run_cycle(cycle);
  BOOST_TEST(rep.status == "completed");
  BOOST_TEST(rep.accepted);
  BOOST_TEST(rep.baseline_score.value_or(-1) == 0.50);
  BOOST_TEST(rep.post_score.value_or(-1) == 0.60);
  BOOST_TEST(rep.improvement.value_or(-1) == 0.10, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(!rep.rolled_back);
  // The baseline saw the configs before the change, the post evaluation after.
  BOOST_TEST((*cycle.evaluator().saw_orchestrator_config == std::vector<bool>{false, true}));
  BOOST_TEST(fs::exists(f.configs / "orchestrator.toml"));
}

BOOST_AUTO_TEST_CASE(a_worse_or_too_small_improvement_is_rejected_and_undone) {
  for (double post : {0.40, 0.515}) {  // worse; better by less than 0.02
    BOOST_TEST_CONTEXT("post " << post) {
      Fixture f;
      f.typical_runs();
      // coder already has a config: it must come back exactly.
      auto evolver = leash::learn::AgentConfigEvolver::open(f.configs).value();
      AgentConfig mine;
      mine.name = "coder";
      mine.tools = {"read_file"};
      mine.max_turns = 3;
      mine.temperature = 0.1;
      mine.system_prompt = "Be careful.\nAsk before \"edits\".";
      BOOST_REQUIRE(evolver.write_config(mine).has_value());
      std::string before = f.config_text("coder");

      ScriptedEval eval;
      eval.scores = {0.50, post};
      eval.configs = f.configs;
      LearningOrchestrator<ScriptedEval> cycle(f.store, f.options(), eval);
      auto rep = run_cycle(cycle);
      BOOST_TEST(rep.status == "rejected");
      BOOST_TEST(!rep.accepted);
      BOOST_TEST(rep.rolled_back);
      BOOST_TEST(rep.reason.find("below threshold 0.0200") != std::string::npos, rep.reason);
      BOOST_REQUIRE(rep.changes.size() == 2u);
      // The change existed while the post evaluation ran, and is gone now.
      BOOST_TEST((*cycle.evaluator().saw_orchestrator_config == std::vector<bool>{false, true}));
      BOOST_TEST(!fs::exists(f.configs / "orchestrator.toml"));
      BOOST_TEST(f.config_text("coder") == before);
      // The change the cycle made kept its temperature and prompt.
      for (auto const& c : rep.changes)
        if (c.agent == "coder") {
          BOOST_TEST(c.after.temperature == 0.1);
          BOOST_TEST(c.after.system_prompt == mine.system_prompt);
          BOOST_TEST(c.before.has_value());
        }
    }
  }
}

BOOST_AUTO_TEST_CASE(agent_id_filters_the_miner_and_the_evolver) {
  Fixture f;
  f.typical_runs();
  auto options = f.options();
  options.agent_id = "coder";
  LearningOrchestrator<> cycle(f.store, options);
  auto rep = run_cycle(cycle);
  BOOST_TEST(rep.traces_seen == 3u);
  BOOST_TEST(rep.sft_pairs == 3u);
  BOOST_REQUIRE(rep.changes.size() == 1u);
  BOOST_TEST(rep.changes[0].agent == "coder");
  BOOST_TEST(!fs::exists(f.configs / "orchestrator.toml"));  // the reference would have written it
}

BOOST_AUTO_TEST_CASE(classes_recommending_one_agent_are_merged_not_overwritten) {
  Fixture f;
  // One agent best for code and for math, with different tools and turns.
  for (int i = 0; i < 2; ++i) {
    f.add(scored_run("c" + std::to_string(i), "import os # list files " + std::to_string(i), "generalist", "m",
                     {"run_tests", "read_file"}, 0.9));
    f.add(scored_run("m" + std::to_string(i), "compute the integral of x^" + std::to_string(i), "generalist", "m",
                     {"calculator", "calculator", "calculator", "calculator", "calculator", "calculator"}, 0.9));
  }
  LearningOrchestrator<> cycle(f.store, f.options());
  auto rep = run_cycle(cycle);
  BOOST_REQUIRE(rep.changes.size() == 1u);
  BOOST_TEST(rep.changes[0].query_classes.size() == 2u);
  auto config = leash::learn::AgentConfigEvolver::open(f.configs).value().load("generalist").value();
  std::vector<std::string> tools = config.tools;
  std::sort(tools.begin(), tools.end());
  BOOST_TEST(tools == (std::vector<std::string>{"calculator", "read_file", "run_tests"}),
             boost::test_tools::per_element());
  BOOST_TEST(config.max_turns == 8);  // math: 6 calls + 2, the larger of the two
}

BOOST_AUTO_TEST_CASE(cycles_are_recorded_as_runs_and_never_mined) {
  Fixture f;
  f.typical_runs();
  LearningOrchestrator<> first(f.store, f.options());
  auto rep = run_cycle(first);
  BOOST_REQUIRE(!rep.cycle_run_id.empty());
  auto stored = run_sync(f.store.load(rep.cycle_run_id));
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST(stored.value().info.agent == "leash.learn");
  BOOST_TEST(stored.value().info.metadata.at("kind").as_string() == "learning_cycle");
  BOOST_TEST(stored.value().info.metadata.at("sft_pairs").to_number<int>() == 6);
  BOOST_TEST(to_string(*stored.value().status) == "SUCCESS");
  auto const& inputs = stored.value().info.metadata.at("inputs").as_object();
  BOOST_TEST(inputs.at("min_improvement").as_double() == 0.02);
  BOOST_TEST(inputs.at("agent_id").is_null());
  BOOST_TEST(inputs.at("evaluated").as_bool() == false);

  leash::learn::TraceStore traces(f.store);
  BOOST_TEST(run_sync(traces.count({})).value() == 6u);  // the cycle is not a trace
  leash::learn::TraceFilter everything;
  everything.include_learning_records = true;
  BOOST_TEST(run_sync(traces.count(everything)).value() == 7u);
  LearningOrchestrator<> second(f.store, f.options());
  BOOST_TEST(run_cycle(second).traces_seen == 6u);
}

BOOST_AUTO_TEST_CASE(the_trainer_gets_the_sft_dataset_when_there_is_enough) {
  Fixture f;
  f.typical_runs();
  auto options = f.options();
  options.min_sft_pairs = 6;
  RecordingTrainer trainer;
  LearningOrchestrator<leash::learn::NoEvaluator, RecordingTrainer> cycle(f.store, options, {}, trainer);
  auto rep = run_cycle(cycle);
  BOOST_REQUIRE(rep.training.has_value());
  BOOST_TEST((rep.training->status == leash::learn::TrainingStatus::completed));
  BOOST_TEST(rep.training->training_samples == 6u);
  BOOST_REQUIRE(cycle.trainer().lines->size() == 6u);
  auto first = leash::json::parse(cycle.trainer().lines->front()).as_object();
  BOOST_TEST(first.at("messages").as_array().back().at("role").as_string() == "assistant");

  options.min_sft_pairs = 7;
  options.config_dir = f.dir / "other-agents";  // so this cycle has configs to change
  RecordingTrainer idle;
  LearningOrchestrator<leash::learn::NoEvaluator, RecordingTrainer> too_few(f.store, options, {}, idle);
  auto skipped = run_cycle(too_few);
  BOOST_REQUIRE(skipped.training.has_value());
  BOOST_TEST((skipped.training->status == leash::learn::TrainingStatus::skipped));
  BOOST_TEST(*idle.calls == 0);
}

BOOST_AUTO_TEST_CASE(the_router_learns_from_the_cycle_and_forgets_a_rejected_one) {
  Fixture f;
  f.typical_runs();
  leash::learn::LearnedRouterOptions ro;
  ro.min_samples = 1;
  leash::learn::LearnedRouter router(ro);
  auto options = f.options();
  options.router = &router;
  ScriptedEval eval;
  eval.scores = {0.5, 0.9, 0.5, 0.1};
  eval.configs = f.configs;
  LearningOrchestrator<ScriptedEval> cycle(f.store, options, eval);
  auto kept = run_cycle(cycle);
  BOOST_TEST(kept.routing_updated);
  auto ctx = leash::learn::build_routing_context("solve the equation 2x = 4");
  BOOST_TEST(router.select_model(ctx) == "gpt-oss:120b");

  // New evidence, then a cycle the evaluation rejects: the router goes back.
  for (int i = 0; i < 5; ++i)
    f.add(scored_run("n" + std::to_string(i), "solve the equation y = " + std::to_string(i), "orchestrator",
                     "qwen3:8b", {"calculator", "plot"}, 1.0));
  auto rejected = run_cycle(cycle);
  BOOST_TEST(rejected.status == "rejected");
  BOOST_TEST(router.select_model(ctx) == "gpt-oss:120b");
}

#if defined(LEASH_LEARN_PATH) && defined(LEASH_CLI_PATH)
using leash_test::run_program;

// The README's learning cycle (scripts/learn-demo.sh), with the real programs.
BOOST_AUTO_TEST_CASE(leash_learn_runs_the_readme_cycle_and_undoes_a_rejected_change) {
  TempDir dir("leash-learn-cli");
  std::string store = "sqlite:" + (dir / "runs.db").string();
  fs::path shipped = fs::path(LEASH_SOURCE_DIR) / "example" / "learn";
  auto fresh_configs = [&](std::string const& name) {
    fs::path configs = dir / name;
    fs::create_directories(configs);
    fs::copy_file(shipped / "agents" / "calc.toml", configs / "calc.toml");
    return configs;
  };
  auto text_of = [](fs::path const& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  for (std::string q : {"calculate 6*7", "calculate (4+4)*2", "what is the capital of France?"}) {
    auto asked = run_program(LEASH_LEARN_PATH, {"ask", store, q});
    BOOST_REQUIRE_MESSAGE(asked.code == 0, asked.out);
    auto run = asked.out.substr(0, asked.out.find('\t'));
    auto scored = run_program(LEASH_CLI_PATH, {"feedback", store, run, "up"});
    BOOST_REQUIRE_MESSAGE(scored.code == 0, scored.out);
  }
  std::string dataset = (shipped / "eval.jsonl").string();

  // Rejected (the gain of 0.6 is below 0.7): the shipped file comes back byte for byte.
  auto strict_dir = fresh_configs("strict");
  std::string shipped_text = text_of(strict_dir / "calc.toml");
  auto strict = run_program(LEASH_LEARN_PATH, {"cycle", store, "--configs", strict_dir.string(), "--dataset", dataset,
                                               "--min-improvement", "0.7"});
  BOOST_TEST(strict.code == 0, strict.out);
  BOOST_TEST(strict.out.find("baseline score: 0.4") != std::string::npos, strict.out);
  BOOST_TEST(strict.out.find("rejected") != std::string::npos, strict.out);
  BOOST_TEST(text_of(strict_dir / "calc.toml") == shipped_text);

  // Accepted: the calculator is enabled and the old config is a version.
  auto configs = fresh_configs("agents");
  auto kept = run_program(LEASH_LEARN_PATH, {"cycle", store, "--configs", configs.string(), "--dataset", dataset});
  BOOST_TEST(kept.code == 0, kept.out);
  BOOST_TEST(kept.out.find("tools [lookup], max_turns 4  ->  tools [calculator, lookup]") != std::string::npos,
             kept.out);
  BOOST_TEST(kept.out.find("score after the change: 1") != std::string::npos, kept.out);
  BOOST_TEST(kept.out.find("completed") != std::string::npos, kept.out);
  auto now = leash::learn::parse_agent_config_file(configs / "calc.toml");
  BOOST_REQUIRE(now.has_value());
  BOOST_TEST((now.value().tools == std::vector<std::string>{"calculator", "lookup"}), boost::test_tools::per_element());
  auto versions = run_program(LEASH_LEARN_PATH, {"versions", "--configs", configs.string(), "calc"});
  BOOST_TEST(versions.out.find("v2  (current)") != std::string::npos, versions.out);

  // Nothing left to change: skipped before any evaluation.
  auto again = run_program(LEASH_LEARN_PATH, {"cycle", store, "--configs", configs.string(), "--dataset", dataset});
  BOOST_TEST(again.out.find("skipped") != std::string::npos, again.out);
  BOOST_TEST(again.out.find("baseline score") == std::string::npos, again.out);

  // Every cycle is a run in the store.
  auto runs = run_program(LEASH_CLI_PATH, {"runs", store});
  std::size_t cycles = 0;
  for (std::size_t at = 0; (at = runs.out.find("learning cycle for agent calc", at)) != std::string::npos; ++at)
    ++cycles;
  BOOST_TEST(cycles == 3u, runs.out);
}
#endif

BOOST_AUTO_TEST_SUITE_END()

#endif
