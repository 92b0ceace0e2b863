// Tests of leash/learn/optimize/recipe.hpp. Without toml++
// (LEASH_HAS_TOMLPLUSPLUS undefined) the suite is empty.
#include <leash/learn/optimize/recipe.hpp>
#include <boost/test/unit_test.hpp>

#if defined(LEASH_HAS_TOMLPLUSPLUS)

#include <leash/learn/detail/toml_parse.hpp>

#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace test_learn_optimize_recipe {

namespace json = leash::json;
namespace opt = leash::learn::optimize;
namespace fs = std::filesystem;
using leash::Errc;
using leash_test::TempDir;

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

toml::table parse(std::string const& text) {
  toml::table t;
  auto error = leash::learn::detail::parse_toml(text, "recipe", t);
  BOOST_REQUIRE_MESSAGE(!error, (error ? *error : std::string()) << "\n" << text);
  return t;
}

std::string read(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

opt::TrialResult full_trial() {
  opt::TrialResult r;
  r.trial_id = "0a1b2c3d4e5f";
  r.config.trial_id = r.trial_id;
  auto& p = r.config.params;
  p["intelligence.model"] = "qwen3:8b";
  p["intelligence.temperature"] = 0.3;
  p["intelligence.max_tokens"] = 2048;
  p["intelligence.top_p"] = 0.9;
  p["intelligence.system_prompt"] = "You are careful.\nAnswer \"briefly\".\n\tTabbed \\ back'''slash";
  p["agent.max_turns"] = 12.0;  // a whole double is an integer
  p["agent.system_prompt"] = "\nStarts with a newline\r\nand \"\"\"triple\"\"\" quotes\n";
  p["tools.tool_set"] = json::array{"read_file", "run_tests"};
  p["engine.backend"] = "vllm";            // dropped
  p["agent.type"] = "orchestrator";        // dropped
  p["learning.routing_policy"] = "grpo";   // dropped
  p["intelligence.quantization"] = "q4";   // dropped
  r.accuracy = 0.82;
  return r;
}

BOOST_AUTO_TEST_SUITE(learn_optimize_recipe)

BOOST_AUTO_TEST_CASE(layout_of_a_full_recipe) {
  auto const r = full_trial();
  auto const text = opt::recipe_toml(r.config, &r);
  auto t = parse(text);
  BOOST_TEST(t["recipe"]["name"].value_or(std::string()) == "optimized-0a1b2c3d4e5f");
  BOOST_TEST(t["recipe"]["version"].value_or(std::string()) == "0.1.0");
  auto description = t["recipe"]["description"].value_or(std::string());
  BOOST_TEST(contains(description, "0a1b2c3d4e5f"), description);
  BOOST_TEST(contains(description, "0.82"), description);
  BOOST_TEST(t["intelligence"]["model"].value_or(std::string()) == "qwen3:8b");
  BOOST_TEST(t["intelligence"]["temperature"].value_or(0.0) == 0.3);
  BOOST_TEST(t["intelligence"]["max_tokens"].value_or(std::int64_t{0}) == 2048);
  BOOST_TEST(t["intelligence"]["top_p"].value_or(0.0) == 0.9);
  BOOST_TEST(t["agent"]["max_turns"].value_or(std::int64_t{0}) == 12);
  BOOST_TEST(t["agent"]["max_turns"].is_integer());
  auto const* tools = t["agent"]["tools"].as_array();
  BOOST_REQUIRE(tools != nullptr);
  BOOST_REQUIRE(tools->size() == 2u);
  BOOST_TEST((*tools)[0].value_or(std::string()) == "read_file");
  BOOST_TEST((*tools)[1].value_or(std::string()) == "run_tests");
  // Tables in the reference's order, floats in their short form.
  auto recipe = text.find("[recipe]"), intelligence = text.find("[intelligence]"), agent = text.find("[agent]");
  BOOST_TEST(recipe == 0u);
  BOOST_TEST(recipe < intelligence);
  BOOST_TEST(intelligence < agent);
  BOOST_TEST(contains(text, "temperature = 0.3\n"), text);
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_dropped) {
  auto const r = full_trial();
  auto t = parse(opt::recipe_toml(r.config, &r));
  BOOST_TEST(!t.contains("engine"));
  BOOST_TEST(!t.contains("learning"));
  BOOST_TEST(!t.contains("tools"));
  BOOST_TEST(!t["agent"]["type"]);
  BOOST_TEST(!t["intelligence"]["quantization"]);
  BOOST_TEST(t.size() == 3u);
  BOOST_TEST(t["intelligence"].as_table()->size() == 5u);
  BOOST_TEST(t["agent"].as_table()->size() == 3u);
  // Values of the wrong type are dropped too.
  opt::TrialConfig c;
  c.trial_id = "abcabcabcabc";
  c.params["intelligence.temperature"] = "hot";
  c.params["intelligence.max_tokens"] = 1.5;
  c.params["agent.max_turns"] = "many";
  c.params["tools.tool_set"] = json::array{"read_file", 3};
  c.params["intelligence.model"] = "m";
  auto u = parse(opt::recipe_toml(c, nullptr));
  BOOST_TEST(u["intelligence"].as_table()->size() == 1u);
  BOOST_TEST(!u.contains("agent"));
}

BOOST_AUTO_TEST_CASE(empty_sections_are_omitted) {
  opt::TrialConfig c;
  c.trial_id = "abcabcabcabc";
  c.params["agent.max_turns"] = 5;
  auto text = opt::recipe_toml(c, nullptr);
  auto t = parse(text);
  BOOST_TEST(!contains(text, "[intelligence]"), text);
  BOOST_TEST(t.contains("recipe"));
  BOOST_TEST(t["agent"]["max_turns"].value_or(std::int64_t{0}) == 5);
  // Without a measured trial the description names only the trial.
  auto description = t["recipe"]["description"].value_or(std::string());
  BOOST_TEST(contains(description, "abcabcabcabc"));
  BOOST_TEST(!contains(description, "accuracy"));

  opt::TrialConfig none;
  none.trial_id = "000000000000";
  auto only = parse(opt::recipe_toml(none, nullptr));
  BOOST_TEST(only.size() == 1u);
  BOOST_TEST(only.contains("recipe"));
}

BOOST_AUTO_TEST_CASE(multi_line_prompts_round_trip) {
  auto const r = full_trial();
  auto t = parse(opt::recipe_toml(r.config, &r));
  BOOST_TEST(t["intelligence"]["system_prompt"].value_or(std::string()) ==
             std::string(r.config.params.at("intelligence.system_prompt").as_string()));
  BOOST_TEST(t["agent"]["system_prompt"].value_or(std::string()) ==
             std::string(r.config.params.at("agent.system_prompt").as_string()));
  // Control characters and non-ASCII text too.
  std::string nasty = "caf\xC3\xA9 \x01\x1f\x7f end\n\n";
  opt::TrialConfig c;
  c.trial_id = "abcabcabcabc";
  c.params["intelligence.system_prompt"] = nasty;
  auto u = parse(opt::recipe_toml(c, nullptr));
  BOOST_TEST(u["intelligence"]["system_prompt"].value_or(std::string()) == nasty);
}

BOOST_AUTO_TEST_CASE(export_writes_atomically_into_new_directories) {
  TempDir dir;
  auto const r = full_trial();
  opt::OptimizationRun run;
  run.run_id = "00112233445566ff";
  opt::TrialResult worse = r;
  worse.trial_id = "ffffffffffff";
  worse.accuracy = 0.1;
  run.trials = {worse, r};
  run.best = 1;
  auto target = dir / "a" / "b" / "best.toml";
  auto ok = opt::export_recipe(target, run);
  BOOST_REQUIRE_MESSAGE(ok.has_value(), (ok.has_error() ? ok.error().what() : std::string()));
  BOOST_TEST(read(target) == opt::recipe_toml(r.config, &r));
  // Replacing an existing file leaves nothing else behind.
  run.best = 0;
  BOOST_REQUIRE(opt::export_recipe(target, run).has_value());
  BOOST_TEST(contains(read(target), "optimized-ffffffffffff"));
  std::vector<std::string> names;
  for (auto const& e : fs::directory_iterator(target.parent_path())) names.push_back(e.path().filename().string());
  BOOST_TEST((names == std::vector<std::string>{"best.toml"}));
}

BOOST_AUTO_TEST_CASE(no_best_trial_is_an_error) {
  TempDir dir;
  opt::OptimizationRun run;
  run.run_id = "00112233445566ff";
  auto target = dir / "x" / "best.toml";
  auto none = opt::export_recipe(target, run);
  BOOST_REQUIRE(none.has_error());
  BOOST_TEST((none.error() == Errc::invalid_input));
  BOOST_TEST(contains(none.error().message, run.run_id));
  BOOST_TEST(!fs::exists(target));
  // A failed trial has no recipe either.
  auto failed = full_trial();
  failed.failed = true;
  auto refused = opt::export_recipe(target, failed);
  BOOST_REQUIRE(refused.has_error());
  BOOST_TEST((refused.error() == Errc::invalid_input));
  BOOST_TEST(!fs::exists(target));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_optimize_recipe

#else

BOOST_AUTO_TEST_SUITE(learn_optimize_recipe)
BOOST_AUTO_TEST_SUITE_END()

#endif
