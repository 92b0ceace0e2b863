// Tests of leash/learn/spec_search/config.hpp: the [learning.spec_search]
// table (reference/openjarvis-learning.md §1.5; §3 "Orchestrator [4]:
// from_config keeps paper defaults (max_regression 0.01)"), its type, range
// and unknown-key errors, and the session loop's stops built from it.
//
// Without toml++ or SQLite (LEASH_HAS_TOMLPLUSPLUS / LEASH_HAS_SQLITE
// undefined: CMake did not find them) this suite is empty: config.hpp reads
// TOML, and session.hpp, which holds SpecSearchOptions, includes the SQLite
// session store.
#if defined(LEASH_HAS_TOMLPLUSPLUS) && defined(LEASH_HAS_SQLITE)
#include <leash/learn/spec_search/config.hpp>
#endif
#include <boost/test/unit_test.hpp>

#include "error_text.hpp"
#include "temp_dir.hpp"

#if defined(LEASH_HAS_TOMLPLUSPLUS) && defined(LEASH_HAS_SQLITE)

#include <climits>
#include <fstream>
#include <string>
#include <vector>

namespace test_learn_spec_search_config {

namespace ss = leash::learn::spec_search;
using leash::Errc;
using leash::learn::CostBudget;
using leash::learn::SessionHistory;
using leash::learn::SessionRecord;
using leash::learn::Stagnation;
using leash::learn::StopKind;
using leash_test::why;

/// `body` under a [learning.spec_search] header.
std::string table(std::string const& body) { return "[learning.spec_search]\n" + body + "\n"; }

/// The error of parsing `text`, which must fail with Errc::invalid_config.
std::string error_of(std::string const& text) {
  auto r = ss::parse_spec_search_config(text);
  BOOST_TEST_REQUIRE(r.has_error(), "expected an error for:\n" << text);
  BOOST_TEST((r.error() == Errc::invalid_config), r.error());
  return r.error().what();
}

bool contains(std::string const& haystack, std::string const& needle) {
  return haystack.find(needle) != std::string::npos;
}

void check_defaults(ss::SpecSearchConfig const& c) {
  BOOST_TEST(c.teacher_model == "claude-opus-4-6");
  BOOST_TEST(ss::to_string(c.session.autonomy_mode) == "tiered");
  BOOST_TEST(c.session.min_traces == 20u);
  BOOST_TEST(c.session.max_cost_usd == 5.0);
  BOOST_TEST(c.session.max_tool_calls == 30u);
  BOOST_TEST(c.stagnation_k == 5);
  BOOST_TEST(c.max_total_cost_usd == 50.0);
  BOOST_TEST(c.stagnation_eps == 0.001);
  BOOST_TEST(c.session.gate.max_regression == 0.01);  // the paper's, not the gate's 0.05
  BOOST_TEST(c.session.gate.min_improvement == 0.0);
  BOOST_TEST(c.session.subsample_size == 50u);
  BOOST_TEST(c.session.benchmark_version == "personal_v1");
}

BOOST_AUTO_TEST_SUITE(learn_spec_search_config)

BOOST_AUTO_TEST_CASE(defaults_without_the_table,
                     *boost::unit_test::description("no table, an empty one, or other tables only: the reference's "
                                                    "config defaults, max_regression 0.01"))
{
  check_defaults(ss::SpecSearchConfig{});
  for (std::string text : {std::string(), std::string("[learning]\nmin_improvement = 0.02\n[learning.routing]\npolicy = 1\n"),
                           table(""), std::string("[agent]\nname = \"x\"\n")}) {
    auto r = ss::parse_spec_search_config(text);
    BOOST_TEST_REQUIRE(r.has_value(), why(r));
    check_defaults(r.value());
  }
  // The constructors keep the reference's 0.05: only a config gets 0.01.
  BOOST_TEST(ss::SpecSearchOptions{}.gate.max_regression == 0.05);
  BOOST_TEST(ss::BenchmarkGate{}.max_regression == 0.05);
  BOOST_TEST(ss::config_session_defaults().gate.max_regression == ss::config_max_regression);
}

BOOST_AUTO_TEST_CASE(every_key_is_read)
{
  auto r = ss::parse_spec_search_config(table(R"(teacher_model = "gpt-5"
autonomy_mode = "auto"
min_traces = 7
max_cost_per_session_usd = 2.5
max_tool_calls_per_diagnosis = 12
stagnation_k = 3
max_total_cost_usd = 20.25
stagnation_eps = 0.01
max_regression = 0.2
min_improvement = 0.005
benchmark_subsample_size = 0
benchmark_version = "personal_v2")"));
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  auto const& c = r.value();
  BOOST_TEST(c.teacher_model == "gpt-5");
  BOOST_TEST((c.session.autonomy_mode == ss::AutonomyMode::automatic));
  BOOST_TEST(c.session.min_traces == 7u);
  BOOST_TEST(c.session.max_cost_usd == 2.5);
  BOOST_TEST(c.session.max_tool_calls == 12u);
  BOOST_TEST(c.stagnation_k == 3);
  BOOST_TEST(c.max_total_cost_usd == 20.25);
  BOOST_TEST(c.stagnation_eps == 0.01);
  BOOST_TEST(c.session.gate.max_regression == 0.2);
  BOOST_TEST(c.session.gate.min_improvement == 0.005);
  BOOST_TEST(c.session.subsample_size == 0u);
  BOOST_TEST(c.session.benchmark_version == "personal_v2");

  // The same with the dotted form and the other modes.
  for (std::string mode : {"tiered", "manual"}) {
    auto m = ss::parse_spec_search_config("learning.spec_search.autonomy_mode = \"" + mode + "\"\n");
    BOOST_TEST_REQUIRE(m.has_value(), why(m));
    BOOST_TEST(ss::to_string(m.value().session.autonomy_mode) == mode);
  }
}

BOOST_AUTO_TEST_CASE(integers_are_accepted_for_floats)
{
  auto r = ss::parse_spec_search_config(table(R"(max_cost_per_session_usd = 7
max_total_cost_usd = 100
stagnation_eps = 0
max_regression = 0
min_improvement = 1)"));
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  auto const& c = r.value();
  BOOST_TEST(c.session.max_cost_usd == 7.0);
  BOOST_TEST(c.max_total_cost_usd == 100.0);
  BOOST_TEST(c.stagnation_eps == 0.0);
  BOOST_TEST(c.session.gate.max_regression == 0.0);
  BOOST_TEST(c.session.gate.min_improvement == 1.0);
}

BOOST_AUTO_TEST_CASE(floats_are_refused_for_integers)
{
  for (std::string key : {"min_traces", "max_tool_calls_per_diagnosis", "stagnation_k", "benchmark_subsample_size"}) {
    auto e = error_of(table(key + " = 20.0"));
    BOOST_TEST(e == "config: [learning.spec_search]." + key + ": must be an integer, not a float");
  }
}

BOOST_AUTO_TEST_CASE(each_wrong_type_is_named)
{
  struct Case {
    std::string line, message;
  };
  std::vector<Case> const cases{
      {"teacher_model = 3", "teacher_model: must be a string, not an integer"},
      {"autonomy_mode = true", "autonomy_mode: must be a string, not a boolean"},
      {"min_traces = \"20\"", "min_traces: must be an integer, not a string"},
      {"max_cost_per_session_usd = \"5\"", "max_cost_per_session_usd: must be a number, not a string"},
      {"max_tool_calls_per_diagnosis = [30]", "max_tool_calls_per_diagnosis: must be an integer, not an array"},
      {"stagnation_k = false", "stagnation_k: must be an integer, not a boolean"},
      {"max_total_cost_usd = { usd = 50 }", "max_total_cost_usd: must be a number, not a table"},
      {"stagnation_eps = \"0.001\"", "stagnation_eps: must be a number, not a string"},
      {"max_regression = 1979-05-27", "max_regression: must be a number, not a date"},
      {"min_improvement = true", "min_improvement: must be a number, not a boolean"},
      {"benchmark_subsample_size = \"50\"", "benchmark_subsample_size: must be an integer, not a string"},
      {"benchmark_version = 1", "benchmark_version: must be a string, not an integer"},
  };
  for (auto const& c : cases) BOOST_TEST(error_of(table(c.line)) == "config: [learning.spec_search]." + c.message);
}

BOOST_AUTO_TEST_CASE(each_range_is_checked)
{
  struct Case {
    std::string line, message;
  };
  std::vector<Case> const cases{
      {"teacher_model = \"\"", "teacher_model: must not be empty"},
      {"autonomy_mode = \"autonomous\"", "autonomy_mode: must be \"auto\", \"tiered\" or \"manual\", not \"autonomous\""},
      {"autonomy_mode = \"Tiered\"", "autonomy_mode: must be \"auto\", \"tiered\" or \"manual\", not \"Tiered\""},
      {"min_traces = -1", "min_traces: must be an integer >= 0, not -1"},
      {"max_cost_per_session_usd = 0", "max_cost_per_session_usd: must be a finite number of USD > 0, not 0"},
      {"max_cost_per_session_usd = -2.5", "max_cost_per_session_usd: must be a finite number of USD > 0, not -2.5"},
      {"max_cost_per_session_usd = inf", "max_cost_per_session_usd: must be a finite number of USD > 0, not "},
      {"max_tool_calls_per_diagnosis = 0", "max_tool_calls_per_diagnosis: must be an integer >= 1, not 0"},
      {"stagnation_k = 0", "stagnation_k: must be an integer from 1 to " + std::to_string(INT_MAX) + ", not 0"},
      {"stagnation_k = 2147483648",
       "stagnation_k: must be an integer from 1 to " + std::to_string(INT_MAX) + ", not 2147483648"},
      {"max_total_cost_usd = 0.0", "max_total_cost_usd: must be a finite number of USD > 0, not 0"},
      {"max_total_cost_usd = nan", "max_total_cost_usd: must be a finite number of USD > 0, not "},
      {"stagnation_eps = -0.5", "stagnation_eps: must be a finite number >= 0, not -0.5"},
      {"stagnation_eps = inf", "stagnation_eps: must be a finite number >= 0, not "},
      {"max_regression = -0.01", "max_regression: BenchmarkGate: max_regression must be a finite number >= 0, not -0.01"},
      {"max_regression = inf", "max_regression: BenchmarkGate: max_regression must be a finite number >= 0, not "},
      {"min_improvement = -1", "min_improvement: BenchmarkGate: min_improvement must be a finite number >= 0, not -1"},
      {"min_improvement = nan", "min_improvement: BenchmarkGate: min_improvement must be a finite number >= 0, not "},
      {"benchmark_subsample_size = -5", "benchmark_subsample_size: must be an integer >= 0, not -5"},
      {"benchmark_version = \"\"", "benchmark_version: must not be empty"},
  };
  for (auto const& c : cases) {
    auto e = error_of(table(c.line));
    BOOST_TEST(e.starts_with("config: [learning.spec_search]." + c.message), e << "\n  wanted: " << c.message);
  }
  // Boundaries that pass.
  auto edges = ss::parse_spec_search_config(
      table("min_traces = 0\nmax_tool_calls_per_diagnosis = 1\nstagnation_k = 2147483647\nstagnation_eps = 0.0\n"
            "max_cost_per_session_usd = 1e-9"));
  BOOST_TEST_REQUIRE(edges.has_value(), why(edges));
  BOOST_TEST(edges.value().stagnation_k == INT_MAX);
  BOOST_TEST(edges.value().session.min_traces == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_named_with_the_close_match)
{
  struct Case {
    std::string key, guess;
  };
  std::vector<Case> const cases{
      {"min_trace", "min_traces"},
      {"teacher_modle", "teacher_model"},
      {"Stagnation-K", "stagnation_k"},
      {"max_regresion", "max_regression"},
      {"benchmark_versoin", "benchmark_version"},
      {"max_cost_usd", "max_cost_per_session_usd"},  // SpecSearchOptions' name
      {"subsample_size", "benchmark_subsample_size"},
      {"max_tool_calls", "max_tool_calls_per_diagnosis"},
  };
  for (auto const& c : cases) {
    // A typo among valid keys still fails: it must not leave a default in place.
    auto e = error_of(table("min_traces = 3\n" + c.key + " = 1"));
    BOOST_TEST(e == "config: [learning.spec_search]." + c.key + ": unknown key; did you mean \"" + c.guess + "\"?");
  }
  auto far = error_of(table("colour = \"blue\""));
  BOOST_TEST(contains(far, "config: [learning.spec_search].colour: unknown key (the keys are: teacher_model, "), far);
  BOOST_TEST(contains(far, "benchmark_version)"), far);
  // A sub-table is a key of the table too.
  auto sub = error_of("[learning.spec_search.reward]\nalpha = 0.5\n");
  BOOST_TEST(contains(sub, "[learning.spec_search].reward: unknown key"), sub);
}

BOOST_AUTO_TEST_CASE(tables_of_the_wrong_kind)
{
  BOOST_TEST(error_of("learning = 3\n") == "config: [learning]: must be a table, not an integer");
  BOOST_TEST(error_of("[learning]\nspec_search = \"on\"\n") ==
             "config: [learning.spec_search]: must be a table, not a string");
  BOOST_TEST(error_of("[[learning.spec_search]]\nmin_traces = 1\n") ==
             "config: [learning.spec_search]: must be a table, not an array");
}

BOOST_AUTO_TEST_CASE(a_syntax_error_gives_its_line)
{
  auto r = ss::parse_spec_search_config("[learning.spec_search]\nmin_traces = 20\nstagnation_k = = 5\n", "jarvis.toml");
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST((r.error() == Errc::invalid_config));
  auto const e = r.error().what();
  BOOST_TEST(e.starts_with("jarvis.toml: line 3, column "), e);
}

BOOST_AUTO_TEST_CASE(loaded_from_a_file)
{
  leash_test::TempDir dir("leash-spec-search-config");
  auto const file = dir / "config.toml";
  std::ofstream(file) << "[learning.spec_search]\nmin_traces = 4\nstagnation_k = 2\n";
  auto r = ss::load_spec_search_config(file);
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  BOOST_TEST(r.value().session.min_traces == 4u);
  BOOST_TEST(r.value().stagnation_k == 2);

  std::ofstream(file) << "[learning.spec_search]\nmin_traces = 4.5\n";
  auto bad = ss::load_spec_search_config(file);
  BOOST_TEST_REQUIRE(bad.has_error());
  BOOST_TEST(bad.error().what() == file.string() + ": [learning.spec_search].min_traces: must be an integer, not a float");

  auto missing = ss::load_spec_search_config(dir / "absent.toml");
  BOOST_TEST_REQUIRE(missing.has_error());
  BOOST_TEST((missing.error() == Errc::invalid_config));
  BOOST_TEST(missing.error().what().starts_with((dir / "absent.toml").string() + ": cannot read it: "),
             missing.error().what());
}

BOOST_AUTO_TEST_CASE(stops_from_a_matching_k)
{
  auto def = ss::stops_from(ss::SpecSearchConfig{});  // K = 5, the default
  BOOST_TEST_REQUIRE(def.has_value(), why(def));
  BOOST_TEST(def.value().get<Stagnation<5>>().eps == 0.001);
  BOOST_TEST(def.value().get<CostBudget>().max_total_usd() == 50.0);

  auto cfg = ss::parse_spec_search_config(
      table("stagnation_k = 2\nstagnation_eps = 0.01\nmax_total_cost_usd = 3"));
  BOOST_TEST_REQUIRE(cfg.has_value(), why(cfg));
  auto stops = ss::stops_from<2>(cfg.value());
  BOOST_TEST_REQUIRE(stops.has_value(), why(stops));
  auto& list = stops.value();
  BOOST_TEST(list.validate().has_value());
  BOOST_TEST(list.improvement_eps() == 0.01);
  BOOST_TEST(list.get<CostBudget>().max_total_usd() == 3.0);

  // Two sessions that improve by less than eps: stagnation after K = 2.
  SessionHistory h(list.improvement_eps());
  h.add(SessionRecord{0.005, 0.5, false, {}, {}});
  BOOST_TEST(!list.evaluate(h).has_value());
  h.add(SessionRecord{0.009, 0.5, false, {}, {}});
  auto stop = list.evaluate(h);
  BOOST_TEST_REQUIRE(stop.has_value());
  BOOST_TEST((stop.value().kind == StopKind::stagnation));
  // The budget from the file sets the ceiling.
  BOOST_TEST(list.remaining_usd(h).value() == 2.0);
}

BOOST_AUTO_TEST_CASE(stops_from_a_mismatching_k)
{
  auto cfg = ss::parse_spec_search_config(table("stagnation_k = 3"));
  BOOST_TEST_REQUIRE(cfg.has_value(), why(cfg));
  auto r = ss::stops_from<5>(cfg.value());
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST((r.error() == Errc::invalid_config));
  BOOST_TEST(r.error().what() ==
             "stops_from<5>: the config's stagnation_k is 3, but Stagnation<K> fixes K at compile time; "
             "call stops_from<3>(config) or set stagnation_k = 5");

  // Values changed after parsing are checked by the stops themselves.
  ss::SpecSearchConfig bad_eps;
  bad_eps.stagnation_eps = -1;
  auto e = ss::stops_from(bad_eps);
  BOOST_TEST_REQUIRE(e.has_error());
  BOOST_TEST((e.error() == Errc::invalid_config));
  ss::SpecSearchConfig bad_budget;
  bad_budget.max_total_cost_usd = 0;
  auto b = ss::stops_from(bad_budget);
  BOOST_TEST_REQUIRE(b.has_error());
  BOOST_TEST((b.error() == Errc::invalid_config));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_spec_search_config

#endif
