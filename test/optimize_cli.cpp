// The `leash-optimize` program: list, show and export over a store written
// with OptimizationStore directly, and one run end to end over the shipped
// example (example/optimize) with the scripted optimizer.
#include <leash/json.hpp>
#include <leash/learn/optimize/store.hpp>

#include <boost/test/unit_test.hpp>

#include "support.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace test_optimize_cli {

namespace fs = std::filesystem;
namespace opt = leash::learn::optimize;
using leash_test::run_program;

#ifdef LEASH_OPTIMIZE_PATH

std::string const program = LEASH_OPTIMIZE_PATH;
std::string const source = LEASH_SOURCE_DIR;

struct TempDir : leash_test::TempDir {
  explicit TempDir(std::string const& name) : leash_test::TempDir("leash-optimize-cli-" + name) {}
};

opt::TrialResult trial(std::string id, int turns, double accuracy, double latency, double cost) {
  opt::TrialResult r;
  r.trial_id = id;
  r.config.trial_id = std::move(id);
  r.config.params["agent.max_turns"] = turns;
  leash::json::array tools;
  tools.emplace_back("calculator");
  if (turns > 3) tools.emplace_back("lookup");
  r.config.params["tools.tool_set"] = std::move(tools);
  r.config.reasoning = "try " + std::to_string(turns) + " turns";
  r.accuracy = accuracy;
  r.mean_latency_seconds = latency;
  r.total_cost_usd = cost;
  r.samples_evaluated = 5;
  return r;
}

/// A store with two runs: "aaaa000000000001" (three trials: a frontier of
/// the first two, the second best; the third dominated) and
/// "bbbb000000000002" (one failed trial, no best).
void write_store(fs::path const& db) {
  double now = 1700000000.0;
  opt::OptimizationStoreOptions so;
  so.clock = [&now] { return now += 1.0; };
  auto store = opt::OptimizationStore::open(db, so);
  BOOST_TEST_REQUIRE(store.has_value());
  auto space = opt::default_search_space();
  auto objectives = opt::default_objectives();

  opt::OptimizationRun run;
  run.run_id = "aaaa000000000001";
  BOOST_TEST_REQUIRE(store.value().begin_run(run, space, objectives, "scripted:opt", "learn-eval").has_value());
  run.trials = {trial("a00000000001", 2, 0.6, 0.5, 0.01), trial("a00000000002", 5, 0.9, 1.0, 0.02),
                trial("a00000000003", 4, 0.5, 2.0, 0.03)};
  for (auto const& t : run.trials) BOOST_TEST_REQUIRE(store.value().save_trial(run.run_id, t).has_value());
  run.best = 1;
  run.frontier = {0, 1};
  run.status = "completed";
  run.reason = "max_trials";
  BOOST_TEST_REQUIRE(store.value().finish_run(run).has_value());

  opt::OptimizationRun bad;
  bad.run_id = "bbbb000000000002";
  BOOST_TEST_REQUIRE(store.value().begin_run(bad, space, objectives, "scripted:opt", "learn-eval").has_value());
  auto failed = trial("b00000000001", 3, 0.0, 0.0, 0.0);
  failed.failed = true;
  failed.error = "the agent could not start";
  bad.trials = {failed};
  BOOST_TEST_REQUIRE(store.value().save_trial(bad.run_id, failed).has_value());
  bad.status = "failed";
  bad.reason = "no trial succeeded";
  BOOST_TEST_REQUIRE(store.value().finish_run(bad).has_value());
}

std::vector<std::string> lines_of(std::string const& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// The line of `text` that contains `needle`, or "".
std::string line_with(std::string const& text, std::string const& needle) {
  for (auto const& l : lines_of(text))
    if (l.find(needle) != std::string::npos) return l;
  return {};
}

std::string read(fs::path const& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

BOOST_AUTO_TEST_SUITE(optimize_cli)

BOOST_AUTO_TEST_CASE(help_lists_the_subcommands) {
  auto ran = run_program(program, {"--help"});
  BOOST_TEST(ran.code == 0, ran.out);
  for (auto const* cmd : {"list", "show", "export", "run"}) BOOST_TEST(ran.out.find(cmd) != std::string::npos, cmd);
  auto none = run_program(program, {});
  BOOST_TEST(none.code == 2, none.out);
}

BOOST_AUTO_TEST_CASE(list_shows_runs_newest_first_with_their_best) {
  TempDir dir("list");
  write_store(dir / "opt.db");
  auto ran = run_program(program, {"list", (dir / "opt.db").string()});
  BOOST_TEST_REQUIRE(ran.code == 0, ran.out);
  auto a = ran.out.find("aaaa000000000001"), b = ran.out.find("bbbb000000000002");
  BOOST_TEST_REQUIRE(a != std::string::npos, ran.out);
  BOOST_TEST_REQUIRE(b != std::string::npos, ran.out);
  BOOST_TEST(b < a, "newest first:\n" << ran.out);
  auto line = line_with(ran.out, "aaaa000000000001");
  BOOST_TEST(line.find("completed") != std::string::npos, line);
  BOOST_TEST(line.find(" 3 ") != std::string::npos, line);
  BOOST_TEST(line.find("a00000000002") != std::string::npos, line);
  BOOST_TEST(line.find("0.9000") != std::string::npos, line);
  BOOST_TEST(line.find("2023-11-14T") != std::string::npos, line);
  BOOST_TEST(line_with(ran.out, "bbbb000000000002").find("failed") != std::string::npos, ran.out);

  auto limited = run_program(program, {"list", (dir / "opt.db").string(), "--limit", "1"});
  BOOST_TEST(limited.code == 0, limited.out);
  BOOST_TEST(limited.out.find("aaaa000000000001") == std::string::npos, limited.out);
  BOOST_TEST(limited.out.find("bbbb000000000002") != std::string::npos, limited.out);
}

BOOST_AUTO_TEST_CASE(show_marks_the_frontier_and_the_best) {
  TempDir dir("show");
  write_store(dir / "opt.db");
  auto ran = run_program(program, {"show", (dir / "opt.db").string(), "aaaa000000000001"});
  BOOST_TEST_REQUIRE(ran.code == 0, ran.out);
  auto t1 = line_with(ran.out, "a00000000001"), t2 = line_with(ran.out, "a00000000002 "),
       t3 = line_with(ran.out, "a00000000003");
  BOOST_TEST(t1.rfind("*", 0) == 0u, t1);
  BOOST_TEST(t2.rfind("*", 0) == 0u, t2);
  BOOST_TEST(t3.rfind(" ", 0) == 0u, t3);
  BOOST_TEST(t2.find("best") != std::string::npos, t2);
  BOOST_TEST(t1.find("best") == std::string::npos, t1);
  BOOST_TEST(t2.find("0.9000") != std::string::npos, t2);
  BOOST_TEST(t2.find("1.0000") != std::string::npos, t2);  // latency
  BOOST_TEST(t2.find("0.0200") != std::string::npos, t2);  // cost
  BOOST_TEST(ran.out.find("agent.max_turns = 5") != std::string::npos, ran.out);
  BOOST_TEST(ran.out.find("tools.tool_set = [\"calculator\",\"lookup\"]") != std::string::npos, ran.out);

  auto bad = run_program(program, {"show", (dir / "opt.db").string(), "bbbb000000000002"});
  BOOST_TEST_REQUIRE(bad.code == 0, bad.out);
  BOOST_TEST(line_with(bad.out, "b00000000001").find("failed: the agent could not start") != std::string::npos, bad.out);
  BOOST_TEST(bad.out.find("no best trial") != std::string::npos, bad.out);
}

BOOST_AUTO_TEST_CASE(show_json_is_one_object) {
  TempDir dir("json");
  write_store(dir / "opt.db");
  auto ran = run_program(program, {"show", (dir / "opt.db").string(), "aaaa000000000001", "--json"});
  BOOST_TEST_REQUIRE(ran.code == 0, ran.out);
  boost::system::error_code ec;
  auto v = leash::json::parse(ran.out, ec);
  BOOST_TEST_REQUIRE(!ec, ran.out);
  BOOST_TEST_REQUIRE(v.is_object());
  auto const& o = v.as_object();
  BOOST_TEST(o.at("run_id").as_string() == "aaaa000000000001");
  BOOST_TEST(o.at("status").as_string() == "completed");
  BOOST_TEST(o.at("best_trial_id").as_string() == "a00000000002");
  BOOST_TEST_REQUIRE(o.at("trials").as_array().size() == 3u);
  auto const& trials = o.at("trials").as_array();
  BOOST_TEST(trials[0].at("frontier").as_bool());
  BOOST_TEST(trials[1].at("best").as_bool());
  BOOST_TEST(!trials[2].at("frontier").as_bool());
  BOOST_TEST(o.at("best").at("params").at("agent.max_turns").to_number<int>() == 5);
}

BOOST_AUTO_TEST_CASE(export_writes_the_best_recipe) {
  TempDir dir("export");
  write_store(dir / "opt.db");
  auto file = dir / "recipes" / "best.toml";
  auto ran = run_program(program, {"export", (dir / "opt.db").string(), "aaaa000000000001", file.string()});
  BOOST_TEST_REQUIRE(ran.code == 0, ran.out);
  auto text = read(file);
  BOOST_TEST(text.find("[recipe]") != std::string::npos, text);
  BOOST_TEST(text.find("optimized-a00000000002") != std::string::npos, text);
  BOOST_TEST(text.find("max_turns = 5") != std::string::npos, text);
  BOOST_TEST(text.find("\"lookup\"") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(export_without_a_best_exits_1) {
  TempDir dir("nobest");
  write_store(dir / "opt.db");
  auto file = dir / "none.toml";
  auto ran = run_program(program, {"export", (dir / "opt.db").string(), "bbbb000000000002", file.string()});
  BOOST_TEST(ran.code == 1, ran.out);
  BOOST_TEST(ran.out.find("no successful best") != std::string::npos, ran.out);
  BOOST_TEST(!fs::exists(file));
}

BOOST_AUTO_TEST_CASE(an_unknown_run_or_store_is_named) {
  TempDir dir("unknown");
  write_store(dir / "opt.db");
  for (auto const& args : std::vector<std::vector<std::string>>{
           {"show", (dir / "opt.db").string(), "cccc000000000003"},
           {"export", (dir / "opt.db").string(), "cccc000000000003", (dir / "x.toml").string()}}) {
    auto ran = run_program(program, args);
    BOOST_TEST((ran.code == 2 || ran.code == 3), ran.out);
    BOOST_TEST(ran.out.find("no optimisation run cccc000000000003") != std::string::npos, ran.out);
  }
  auto missing = run_program(program, {"list", (dir / "missing.db").string()});
  BOOST_TEST(missing.code == 3, missing.out);
  BOOST_TEST(missing.out.find("missing.db") != std::string::npos, missing.out);
  BOOST_TEST(!fs::exists(dir / "missing.db"));
}

// The shipped example end to end: the scripted optimizer proposes lookup
// alone, then both tools, then one turn; the second is best.
BOOST_AUTO_TEST_CASE(run_optimises_the_example_offline) {
  TempDir dir("run");
  auto db = (dir / "opt.db").string();
  auto ran = run_program(program, {"run", db, "--optimizer-model",
                                   "scripted:" + source + "/example/optimize/optimizer.jsonl", "--config",
                                   source + "/example/optimize/optimize.toml", "--dataset",
                                   source + "/example/learn/eval.jsonl", "--max-trials", "3", "--seed", "7"});
  BOOST_TEST_REQUIRE(ran.code == 0, ran.out);
  BOOST_TEST(ran.out.find("trial 1/3") != std::string::npos, ran.out);
  BOOST_TEST(ran.out.find("trial 3/3") != std::string::npos, ran.out);
  BOOST_TEST(ran.out.find("completed") != std::string::npos, ran.out);
  BOOST_TEST(ran.out.find("accuracy 1.0000  {\"tools.tool_set\":[\"calculator\",\"lookup\"]") != std::string::npos,
             ran.out);

  auto store = opt::OptimizationStore::open(db);
  BOOST_TEST_REQUIRE(store.has_value());
  auto runs = store.value().list_runs();
  BOOST_TEST_REQUIRE(runs.has_value());
  BOOST_TEST_REQUIRE(runs.value().size() == 1u);
  BOOST_TEST(runs.value()[0].status == "completed");
  BOOST_TEST(runs.value()[0].trials == 3u);
  BOOST_TEST(runs.value()[0].best_trial_id.has_value());
  auto back = store.value().get_run(runs.value()[0].run_id);
  BOOST_TEST_REQUIRE(back.has_value());
  BOOST_TEST_REQUIRE(back.value().has_value());
  auto const* best = (*back.value()).best();
  BOOST_TEST_REQUIRE(best != nullptr);
  BOOST_TEST(best->result.accuracy == 1.0);

  auto listed = run_program(program, {"list", db});
  BOOST_TEST(listed.code == 0, listed.out);
  BOOST_TEST(listed.out.find(runs.value()[0].run_id) != std::string::npos, listed.out);

  auto bad = run_program(program, {"run", db, "--optimizer-model", "scripted:" + source + "/example/optimize/optimizer.jsonl",
                                   "--config", (dir / "missing.toml").string(), "--dataset",
                                   source + "/example/learn/eval.jsonl"});
  BOOST_TEST(bad.code == 2, bad.out);
}

BOOST_AUTO_TEST_SUITE_END()

#endif

}  // namespace test_optimize_cli
