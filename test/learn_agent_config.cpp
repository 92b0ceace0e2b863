// Without toml++ (LEASH_HAS_TOMLPLUSPLUS undefined: CMake did not find it)
// this suite is empty and agent_config.hpp is not built.
#if defined(LEASH_HAS_TOMLPLUSPLUS)
#include <leash/learn/agent_config.hpp>
#endif
#include <boost/test/unit_test.hpp>

#include "store_kinds.hpp"

#if defined(LEASH_HAS_TOMLPLUSPLUS)

#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace test_learn_agent_config {

namespace fs = std::filesystem;
using leash::Errc;
using leash::learn::AgentConfig;
using leash::learn::AgentConfigEvolver;
using leash::learn::EvolverOptions;
using leash::learn::Outcome;
using leash::learn::StepType;
using leash::learn::Trace;
using leash::learn::TraceStep;

/// Directories named leash-agent-config-*, removed with everything in them.
struct TempDir : leash_test::TempDir {
  TempDir() : leash_test::TempDir("leash-agent-config") {}
};

EvolverOptions options() { return EvolverOptions{}; }  // classify_query

AgentConfigEvolver open(fs::path const& dir, EvolverOptions o = options()) {
  auto opened = AgentConfigEvolver::open(dir, std::move(o));
  BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened.has_error() ? opened.error().what() : std::string()));
  return std::move(opened).value();
}

/// A run as the trace store would give it; fields set one by one. A tool
/// named "" is a tool_call step without a name.
Trace trace(std::string query, std::string agent, std::vector<std::string> tools, Outcome outcome,
            std::optional<double> feedback) {
  Trace t;
  t.query = std::move(query);
  t.agent = std::move(agent);
  t.model = "m";
  t.outcome = outcome;
  t.feedback = feedback;
  for (auto& name : tools) {
    TraceStep step;
    step.type = StepType::tool_call;
    if (!name.empty()) step.input["tool"] = name;
    t.steps.push_back(std::move(step));
  }
  return t;
}

AgentConfig config(std::string name, std::string prompt = "", std::vector<std::string> tools = {"search"}) {
  AgentConfig c;
  c.name = std::move(name);
  c.tools = std::move(tools);
  c.system_prompt = std::move(prompt);
  return c;
}

std::string slurp(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spill(fs::path const& p, std::string const& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string error_text(leash::result<void> const& r) { return r ? std::string() : r.error().what(); }

}  // namespace test_learn_agent_config

using namespace test_learn_agent_config;

BOOST_AUTO_TEST_SUITE(learn_agent_config)

// -- the reference's four cases (§3 AgentConfigEvolver) ------------------------

BOOST_AUTO_TEST_CASE(no_traces_no_recommendations) {
  TempDir dir;
  auto evolver = open(dir.path() / "configs");
  BOOST_TEST(evolver.recommendations().empty());
  BOOST_TEST(fs::is_directory(dir.path() / "configs" / ".history"));  // open() created both
}

BOOST_AUTO_TEST_CASE(varied_tools_give_full_recommendations) {
  TempDir dir;
  auto evolver = open(dir.path());
  evolver.add(trace("def f(): pass", "coder", {"read_file", "edit_file", "run_tests"}, Outcome::success, 0.9));
  evolver.add(trace("def g(): pass", "coder", {"read_file", "run_tests"}, Outcome::success, 0.8));
  evolver.add(trace("def h(): pass", "helper", {"web_search"}, Outcome::failure, 0.2));
  evolver.add(trace("Solve the equation 2x = 4", "mathy", {"calculator"}, Outcome::success, 1.0));
  auto recs = evolver.recommendations();
  BOOST_REQUIRE_EQUAL(recs.size(), 2u);
  BOOST_TEST(recs[0].query_class == "code");
  BOOST_TEST(recs[0].recommended_agent == "coder");
  BOOST_TEST(recs[0].recommended_tools.size() == 4u);
  BOOST_TEST(recs[0].recommended_tools.back() == "web_search");  // failed, low feedback
  BOOST_TEST(recs[0].recommended_max_turns == 5);
  BOOST_TEST(recs[0].sample_count == 3u);
  BOOST_TEST(recs[1].query_class == "math");
  BOOST_TEST(recs[1].recommended_agent == "mathy");
  BOOST_TEST(recs[1].recommended_tools == (std::vector<std::string>{"calculator"}));
  BOOST_TEST(recs[1].sample_count == 1u);
}

BOOST_AUTO_TEST_CASE(write_config_gives_parseable_agent_toml) {
  TempDir dir;
  auto evolver = open(dir.path());
  auto c = config("coder", "Fix the tests.", {"read_file", "run_tests"});
  c.max_turns = 12;
  c.temperature = 0.2;
  BOOST_REQUIRE_MESSAGE(evolver.write_config(c), error_text(evolver.write_config(c)));
  auto text = slurp(dir.path() / "coder.toml");
  BOOST_TEST(text ==
             "[agent]\n"
             "name = \"coder\"\n"
             "tools = [ \"read_file\", \"run_tests\" ]\n"
             "max_turns = 12\n"
             "temperature = 0.2\n"
             "system_prompt = \"Fix the tests.\"\n");
  auto back = leash::learn::parse_agent_config_file(dir.path() / "coder.toml");
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST((back.value() == c));
  BOOST_TEST((evolver.load("coder").value() == c));
}

BOOST_AUTO_TEST_CASE(write_two_versions_and_roll_back) {
  TempDir dir;
  auto evolver = open(dir.path());
  auto v1 = config("agent", "first");
  auto v2 = config("agent", "second");
  v2.max_turns = 20;
  BOOST_REQUIRE(evolver.write_config(v1));
  BOOST_REQUIRE(evolver.write_config(v2));
  BOOST_TEST((evolver.load("agent").value() == v2));
  auto versions = evolver.list_versions("agent").value();
  BOOST_REQUIRE_EQUAL(versions.size(), 2u);
  BOOST_TEST(versions[0].version == 1u);
  BOOST_TEST(!versions[0].current);
  BOOST_TEST(versions[0].path == dir.path() / ".history" / "agent.v1.toml");
  BOOST_TEST(versions[1].version == 2u);
  BOOST_TEST(versions[1].current);
  BOOST_TEST(versions[1].path == dir.path() / "agent.toml");

  BOOST_REQUIRE(evolver.rollback("agent", 1));
  BOOST_TEST((evolver.load("agent").value() == v1));
  // The replaced v2 was archived first: nothing is lost.
  versions = evolver.list_versions("agent").value();
  BOOST_REQUIRE_EQUAL(versions.size(), 3u);
  BOOST_TEST((leash::learn::parse_agent_config_file(versions[1].path).value() == v2));
  BOOST_TEST(versions[2].current);
  BOOST_TEST(versions[2].version == 3u);
}

// -- TOML round trips (§4.6) ------------------------------------------------------

BOOST_AUTO_TEST_CASE(awkward_prompts_round_trip) {
  std::vector<std::string> prompts = {
      "line one\nline two\n\nline four",
      "\nstarts with a newline",
      "ends with a newline\n",
      "she said \"hi\" and \"\"\"bye\"\"\"",
      "single 'quotes' and '''triple''' ones",
      "back\\slash, C:\\path\\to\\file, trailing\\",
      "\\n is not a newline here",
      "ünïcødé, 日本語, emoji 🎉, RTL עברית",
      "tab\tand CRLF\r\nand a bare \r and bell \x07 and DEL \x7f",
      "",
      "x = 1\n[agent]\nname = \"evil\"",  // TOML inside a string stays a string
  };
  TempDir dir;
  auto evolver = open(dir.path());
  for (auto const& p : prompts) {
    auto c = config("prompt-test", p, {"tool \"quoted\"", "ütf", "a\\b"});
    auto text = leash::learn::to_toml(c);
    auto back = leash::learn::parse_agent_config(text, "round trip");
    BOOST_REQUIRE_MESSAGE(back.has_value(), (back ? std::string() : back.error().what()) + "\n" + text);
    BOOST_TEST((back.value() == c), text);
    BOOST_REQUIRE(evolver.write_config(c));
    BOOST_TEST((evolver.load("prompt-test").value() == c), text);
  }
}

BOOST_AUTO_TEST_CASE(numbers_round_trip) {
  for (double t : {0.0, 0.1, 0.3, 0.1 + 0.2, 1.0, 2.0, 1e-7, 123456789.125}) {
    auto c = config("n");
    c.temperature = t;
    c.max_turns = 2147483647;
    auto back = leash::learn::parse_agent_config(leash::learn::to_toml(c));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back.value().temperature == t);
    BOOST_TEST(back.value().max_turns == 2147483647);
  }
  BOOST_TEST(leash::learn::to_toml(config("n")).find("temperature = 0.3\n") != std::string::npos);
  auto whole = config("n");
  whole.temperature = 1.0;
  BOOST_TEST(leash::learn::to_toml(whole).find("temperature = 1.0\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unwritable_configs_refused) {
  TempDir dir;
  auto evolver = open(dir.path());
  auto c = config("a");
  c.system_prompt = "bad utf-8 \xff\xfe";
  BOOST_TEST(evolver.write_config(c).error() == Errc::invalid_config);
  c = config("a");
  c.max_turns = 0;
  BOOST_TEST(evolver.write_config(c).error() == Errc::invalid_config);
  c = config("a");
  c.temperature = std::numeric_limits<double>::quiet_NaN();
  BOOST_TEST(evolver.write_config(c).error() == Errc::invalid_config);
  c.temperature = -1;
  BOOST_TEST(evolver.write_config(c).error() == Errc::invalid_config);
  BOOST_TEST(!fs::exists(dir.path() / "a.toml"));
}

BOOST_AUTO_TEST_CASE(defaults_and_hand_written_files) {
  auto minimal = leash::learn::parse_agent_config("[agent]\nname = \"m\"\n");
  BOOST_REQUIRE(minimal.has_value());
  BOOST_TEST(minimal.value().name == "m");
  BOOST_TEST(minimal.value().tools.empty());
  BOOST_TEST(minimal.value().max_turns == 10);
  BOOST_TEST(minimal.value().temperature == 0.3);
  BOOST_TEST(minimal.value().system_prompt == "");

  // What a person writes: multi-line strings, literal strings, comments, an
  // integer temperature, keys leash does not know, other tables.
  auto hand = leash::learn::parse_agent_config(
      "# coder\n[agent]\nname = 'coder'\ntemperature = 1\nextra = true\n"
      "system_prompt = \"\"\"\nLine one.\nLine \"two\".\"\"\"\ntools = ['a', \"b\"]\n\n[other]\nx = 1\n");
  BOOST_REQUIRE(hand.has_value());
  BOOST_TEST(hand.value().temperature == 1.0);
  BOOST_TEST(hand.value().system_prompt == "Line one.\nLine \"two\".");
  BOOST_TEST(hand.value().tools == (std::vector<std::string>{"a", "b"}));
}

BOOST_AUTO_TEST_CASE(bad_config_text_gives_typed_errors) {
  struct Case {
    std::string text;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"[agent\nname = \"x\"", "line 1"},
      {"name = \"x\"\n", "no [agent] table"},
      {"agent = 3\n", "agent must be a table, not an integer"},
      {"[agent]\ntools = []\n", "[agent].name is missing"},
      {"[agent]\nname = 7\n", "[agent].name must be a string, not an integer"},
      {"[agent]\nname = \"x\"\ntools = \"a\"\n", "[agent].tools must be an array of strings, not a string"},
      {"[agent]\nname = \"x\"\ntools = [\"a\", 2]\n", "[agent].tools[1] must be a string, not an integer"},
      {"[agent]\nname = \"x\"\nmax_turns = \"ten\"\n", "[agent].max_turns must be an integer, not a string"},
      {"[agent]\nname = \"x\"\nmax_turns = 0\n", "[agent].max_turns must be between 1 and"},
      {"[agent]\nname = \"x\"\nmax_turns = 9999999999\n", "not 9999999999"},
      {"[agent]\nname = \"x\"\ntemperature = \"hot\"\n", "[agent].temperature must be a number, not a string"},
      {"[agent]\nname = \"x\"\ntemperature = -0.5\n", "at least 0, not -0.5"},
      {"[agent]\nname = \"x\"\ntemperature = nan\n", "must be a finite number"},
      {"[agent]\nname = \"x\"\nsystem_prompt = 1.5\n", "[agent].system_prompt must be a string, not a float"},
      {"[agent]\nname = \"x\"\nname = \"y\"\n", "line 3"},
  };
  for (auto const& c : cases) {
    auto r = leash::learn::parse_agent_config(c.text, "cfg.toml");
    BOOST_REQUIRE_MESSAGE(r.has_error(), c.text);
    BOOST_TEST(r.error() == Errc::invalid_config);
    BOOST_TEST(r.error().what().find("agent config cfg.toml: ") == 0u, r.error().what());
    BOOST_TEST(r.error().what().find(c.reason) != std::string::npos, r.error().what() + " / wanted: " + c.reason);
  }
}

BOOST_AUTO_TEST_CASE(bad_toml_file_names_the_file) {
  TempDir dir;
  auto evolver = open(dir.path());
  spill(dir.path() / "broken.toml", "[agent]\nname = \"broken\"\ntools = [\"a\",\n");
  auto loaded = evolver.load("broken");
  BOOST_REQUIRE(loaded.has_error());
  BOOST_TEST(loaded.error() == Errc::invalid_config);
  auto what = loaded.error().what();
  BOOST_TEST(what.find((dir.path() / "broken.toml").string()) != std::string::npos, what);
  BOOST_TEST(what.find("line ") != std::string::npos, what);

  auto missing = evolver.load("nobody");
  BOOST_REQUIRE(missing.has_error());
  BOOST_TEST(missing.error() == Errc::store_failed);
  BOOST_TEST(missing.error().what().find("nobody.toml") != std::string::npos, missing.error().what());
}

// -- versions (§4.7) and rollback ---------------------------------------------------

BOOST_AUTO_TEST_CASE(versions_sort_numerically) {
  TempDir dir;
  auto evolver = open(dir.path());
  for (int i = 1; i <= 13; ++i) BOOST_REQUIRE(evolver.write_config(config("agent", "version " + std::to_string(i))));
  auto versions = evolver.list_versions("agent").value();
  BOOST_REQUIRE_EQUAL(versions.size(), 13u);  // v1..v12 archived, the 13th current
  for (std::size_t i = 0; i < versions.size(); ++i) {
    BOOST_TEST(versions[i].version == i + 1);
    BOOST_TEST(versions[i].current == (i == 12));
    if (i < 12) {
      BOOST_TEST(versions[i].path.filename() == "agent.v" + std::to_string(i + 1) + ".toml");
      BOOST_TEST((leash::learn::parse_agent_config_file(versions[i].path).value().system_prompt ==
                  "version " + std::to_string(i + 1)));
    }
  }
  // As strings, v10, v11, v12 sort before v2: the reference would restore v10 here.
  BOOST_REQUIRE(evolver.rollback("agent", 2));
  BOOST_TEST(evolver.load("agent").value().system_prompt == "version 2");
  versions = evolver.list_versions("agent").value();
  BOOST_REQUIRE_EQUAL(versions.size(), 14u);
  BOOST_TEST(versions[12].path.filename() == "agent.v13.toml");  // the replaced 13th
  BOOST_TEST(evolver.load("agent").has_value());
  BOOST_TEST((leash::learn::parse_agent_config_file(versions[12].path).value().system_prompt == "version 13"));
}

BOOST_AUTO_TEST_CASE(versions_of_one_agent_only) {
  TempDir dir;
  auto evolver = open(dir.path());
  BOOST_REQUIRE(evolver.write_config(config("a")));
  BOOST_REQUIRE(evolver.write_config(config("a")));
  BOOST_REQUIRE(evolver.write_config(config("a.v1")));  // its archives are a.v1.v<N>.toml
  BOOST_REQUIRE(evolver.write_config(config("a.v1")));
  spill(dir.path() / ".history" / "a.v01.toml", "junk");  // not a version name
  spill(dir.path() / ".history" / "a.vx.toml", "junk");
  spill(dir.path() / ".history" / "a.v3.toml.tmp.1", "junk");
  auto a = evolver.list_versions("a").value();
  BOOST_REQUIRE_EQUAL(a.size(), 2u);
  BOOST_TEST(a[0].path.filename() == "a.v1.toml");
  auto av1 = evolver.list_versions("a.v1").value();
  BOOST_REQUIRE_EQUAL(av1.size(), 2u);
  BOOST_TEST(av1[0].path.filename() == "a.v1.v1.toml");
  BOOST_TEST(evolver.list_versions("nobody").value().empty());
}

BOOST_AUTO_TEST_CASE(numbering_continues_after_gaps) {
  TempDir dir;
  auto evolver = open(dir.path());
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(evolver.write_config(config("g", std::to_string(i))));
  fs::remove(dir.path() / ".history" / "g.v1.toml");
  auto versions = evolver.list_versions("g").value();
  BOOST_REQUIRE_EQUAL(versions.size(), 2u);
  BOOST_TEST(versions[0].version == 2u);
  BOOST_TEST(versions[1].version == 3u);  // the current file: highest archive + 1
  BOOST_REQUIRE(evolver.write_config(config("g", "3")));
  BOOST_TEST(fs::exists(dir.path() / ".history" / "g.v3.toml"));
  BOOST_TEST(evolver.list_versions("g").value().back().version == 4u);
}

BOOST_AUTO_TEST_CASE(rollback_to_unknown_version_lists_versions) {
  TempDir dir;
  auto evolver = open(dir.path());
  BOOST_REQUIRE(evolver.write_config(config("agent", "one")));
  BOOST_REQUIRE(evolver.write_config(config("agent", "two")));
  auto r = evolver.rollback("agent", 7);
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::invalid_config);
  BOOST_TEST(r.error().what() == "agent 'agent' has no version 7; versions: 1, 2 (current)");
  BOOST_TEST(evolver.load("agent").value().system_prompt == "two");  // untouched

  auto none = evolver.rollback("nobody", 1);
  BOOST_REQUIRE(none.has_error());
  BOOST_TEST(none.error().what() == "agent 'nobody' has no version 1; it has no versions");
}

BOOST_AUTO_TEST_CASE(rollback_to_current_is_a_no_op) {
  TempDir dir;
  auto evolver = open(dir.path());
  BOOST_REQUIRE(evolver.write_config(config("agent", "one")));
  BOOST_REQUIRE(evolver.write_config(config("agent", "two")));
  BOOST_REQUIRE(evolver.rollback("agent", 2));
  BOOST_TEST(evolver.list_versions("agent").value().size() == 2u);  // nothing archived
  BOOST_TEST(evolver.load("agent").value().system_prompt == "two");
}

BOOST_AUTO_TEST_CASE(rollback_refuses_a_broken_archive) {
  TempDir dir;
  auto evolver = open(dir.path());
  BOOST_REQUIRE(evolver.write_config(config("agent", "one")));
  BOOST_REQUIRE(evolver.write_config(config("agent", "two")));
  spill(dir.path() / ".history" / "agent.v1.toml", "[agent\n");
  auto r = evolver.rollback("agent", 1);
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::invalid_config);
  BOOST_TEST(r.error().what().find("agent.v1.toml") != std::string::npos, r.error().what());
  BOOST_TEST(evolver.load("agent").value().system_prompt == "two");
  BOOST_TEST(evolver.list_versions("agent").value().size() == 2u);
}

BOOST_AUTO_TEST_CASE(archives_keep_the_replaced_files_time) {
  TempDir dir;
  auto evolver = open(dir.path());
  BOOST_REQUIRE(evolver.write_config(config("agent", "old")));
  auto then = fs::file_time_type::clock::now() - std::chrono::hours(48);
  fs::last_write_time(dir.path() / "agent.toml", then);
  BOOST_REQUIRE(evolver.write_config(config("agent", "new")));
  auto versions = evolver.list_versions("agent").value();
  BOOST_REQUIRE_EQUAL(versions.size(), 2u);
  BOOST_TEST((versions[0].modified == then));
  BOOST_TEST((versions[1].modified > then));
  // Only the current file and .history: no temporaries left behind.
  std::size_t entries = 0;
  for (auto const& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  BOOST_TEST(entries == 2u);
}

BOOST_AUTO_TEST_CASE(unsafe_agent_names_rejected) {
  TempDir dir;
  auto evolver = open(dir.path());
  std::string const long_name(201, 'a');
  for (std::string name : {std::string(), std::string("a/b"), std::string(".."), std::string("."),
                           std::string(".history"), std::string("../escape"), std::string("a\\b"),
                           std::string("nul\0byte", 8), std::string("line\nbreak"), long_name}) {
    BOOST_TEST(!leash::learn::is_safe_agent_name(name));
    BOOST_TEST(evolver.write_config(config(name)).error() == Errc::invalid_config);
    BOOST_TEST(evolver.load(name).error() == Errc::invalid_config);
    BOOST_TEST(evolver.list_versions(name).error() == Errc::invalid_config);
    BOOST_TEST(evolver.rollback(name, 1).error() == Errc::invalid_config);
  }
  BOOST_TEST(evolver.write_config(config("a/b")).error().what().find("not a safe file name") != std::string::npos);
  for (auto const& name : std::vector<std::string>{"coder", "my agent", "agent.v1", "ünï", "a..b", std::string(200, 'a')})
    BOOST_TEST(leash::learn::is_safe_agent_name(name), name);
  BOOST_TEST(!fs::exists(dir.path().parent_path() / "escape.toml"));
}

// -- the analysis ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(scores_pick_agent_and_order_tools) {
  TempDir dir;
  auto evolver = open(dir.path());
  // "fast": 2 runs, 1 success, feedback 1.0 and 0.0 → 0.6·0.5 + 0.4·0.5 = 0.5
  // "slow": 1 run, success, no feedback (0)       → 0.6·1   + 0.4·0   = 0.6
  evolver.add(trace("hi", "fast", {"x"}, Outcome::success, 1.0));
  evolver.add(trace("hi", "fast", {"y", "y"}, Outcome::failure, 0.0));
  evolver.add(trace("hi", "slow", {"z", ""}, Outcome::success, std::nullopt));
  auto recs = evolver.recommendations();
  BOOST_REQUIRE_EQUAL(recs.size(), 1u);
  BOOST_TEST(recs[0].recommended_agent == "slow");
  // x: 0.4 + 0.4 + 0.2·ln2/10; z: 0.4 + 0 + 0.2·ln2/10; y: 0 + 0 + 0.2·ln3/10
  BOOST_TEST(recs[0].recommended_tools == (std::vector<std::string>{"x", "z", "y"}));
  BOOST_TEST(recs[0].sample_count == 3u);
}

BOOST_AUTO_TEST_CASE(classes_in_lexicographic_order_and_agentless_skipped) {
  TempDir dir;
  auto o = options();
  o.classify = [](std::string_view q) { return std::string(q.substr(0, q.find(':'))); };
  auto evolver = open(dir.path(), o);
  evolver.add(trace("zeta: q", "a", {}, Outcome::success, 1.0));
  evolver.add(trace("Beta: q", "a", {}, Outcome::success, 1.0));
  evolver.add(trace("alpha: q", "a", {}, Outcome::success, 1.0));
  evolver.add(trace("nobody: q", "", {"t"}, Outcome::success, 1.0));
  auto recs = evolver.recommendations();
  BOOST_REQUIRE_EQUAL(recs.size(), 3u);
  BOOST_TEST(recs[0].query_class == "Beta");
  BOOST_TEST(recs[1].query_class == "alpha");
  BOOST_TEST(recs[2].query_class == "zeta");
}

BOOST_AUTO_TEST_CASE(ties_go_to_the_first_added) {
  TempDir dir;
  auto evolver = open(dir.path());
  evolver.add(trace("hi", "zed", {"b-tool", "a-tool"}, Outcome::success, 0.5));
  evolver.add(trace("hi", "abe", {}, Outcome::success, 0.5));
  auto recs = evolver.recommendations();
  BOOST_TEST(recs.at(0).recommended_agent == "zed");
  BOOST_TEST(recs.at(0).recommended_tools == (std::vector<std::string>{"b-tool", "a-tool"}));
}

BOOST_AUTO_TEST_CASE(max_turns_percentile) {
  auto turns_for = [](std::vector<int> const& calls) {
    TempDir dir;
    auto evolver = open(dir.path());
    for (int n : calls) evolver.add(trace("hi", "a", std::vector<std::string>(std::size_t(n), "t"), Outcome::success, 1.0));
    return evolver.recommendations().at(0).recommended_max_turns;
  };
  BOOST_TEST(turns_for({0}) == 5);                          // max(0 + 2, 5)
  BOOST_TEST(turns_for({20, 1, 10, 0, 10, 3, 2, 10}) == 12);  // n 8: sorted[6] = 10
  BOOST_TEST(turns_for({9, 1, 3, 2}) == 11);                 // n 4: sorted[3] = 9
  BOOST_TEST(turns_for({7, 4}) == 9);                        // n 2: sorted[1] = 7
  BOOST_TEST(turns_for({6, 2, 2}) == 8);                     // n 3: ⌊2.25⌋ = 2, sorted[2] = 6
}

BOOST_AUTO_TEST_CASE(agent_filter) {
  TempDir dir;
  auto o = options();
  o.agent = "coder";
  auto evolver = open(dir.path(), o);
  BOOST_TEST(evolver.add(trace("def f(): pass", "coder", {"edit"}, Outcome::failure, 0.1)));
  BOOST_TEST(!evolver.add(trace("def g(): pass", "star", {"magic"}, Outcome::success, 1.0)));
  auto recs = evolver.recommendations();
  BOOST_REQUIRE_EQUAL(recs.size(), 1u);
  BOOST_TEST(recs[0].recommended_agent == "coder");
  BOOST_TEST(recs[0].recommended_tools == (std::vector<std::string>{"edit"}));
  BOOST_TEST(recs[0].sample_count == 1u);
  BOOST_TEST(evolver.traces_seen() == 2u);
  BOOST_TEST(evolver.traces_kept() == 1u);
}

BOOST_AUTO_TEST_CASE(min_quality_applied_only_when_set) {
  TempDir dir;
  auto all = open(dir.path());
  auto o = options();
  o.min_quality = 0.5;
  auto picky = open(dir.path(), o);
  for (auto* e : {&all, &picky}) {
    e->add(trace("hi", "good", {"a"}, Outcome::success, 0.5));
    e->add(trace("hi", "bad", {"b"}, Outcome::failure, 0.4));
    e->add(trace("hi", "silent", {"c"}, Outcome::success, std::nullopt));
  }
  BOOST_TEST(all.recommendations().at(0).sample_count == 3u);
  BOOST_TEST(all.recommendations().at(0).recommended_agent == "good");  // 0.6·1 + 0.4·0.5 beats silent's 0.6
  BOOST_TEST(picky.recommendations().at(0).sample_count == 1u);
  BOOST_TEST(picky.recommendations().at(0).recommended_tools == (std::vector<std::string>{"a"}));
}

BOOST_AUTO_TEST_SUITE_END()

#else

BOOST_AUTO_TEST_SUITE(learn_agent_config)
BOOST_AUTO_TEST_CASE(tomlplusplus_not_available) { BOOST_TEST_MESSAGE("toml++ was not found: nothing to test"); }
BOOST_AUTO_TEST_SUITE_END()

#endif
