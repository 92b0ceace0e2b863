// Tests of leash/learn/optimize/search_space.hpp. The TOML loader's cases
// run only when toml++ was found (LEASH_HAS_TOMLPLUSPLUS); the rest always.
#include <leash/learn/optimize/search_space.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace test_learn_optimize_search_space {

namespace json = leash::json;
namespace opt = leash::learn::optimize;
using leash::Errc;
using opt::DimensionType;
using opt::SearchDimension;
using opt::SearchSpace;
using opt::ValidationMode;

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

SearchDimension dim(std::string name, DimensionType type) {
  SearchDimension d;
  d.name = std::move(name);
  d.type = type;
  return d;
}

/// A small space with one dimension of each kind, plus one fixed parameter.
SearchSpace space() {
  SearchSpace s;
  auto model = dim("intelligence.model", DimensionType::categorical);
  model.values = {json::value("small"), json::value("large"), json::value(4)};
  auto temperature = dim("intelligence.temperature", DimensionType::continuous);
  temperature.low = 0.0;
  temperature.high = 1.0;
  auto turns = dim("agent.max_turns", DimensionType::integer);
  turns.low = 1;
  turns.high = 30;
  auto tools = dim("tools.tool_set", DimensionType::subset);
  tools.values = {json::value("read_file"), json::value("edit_file"), json::value("run_tests")};
  auto prompt = dim("intelligence.system_prompt", DimensionType::text);
  s.dimensions = {model, temperature, turns, tools, prompt};
  s.fixed["engine.backend"] = "vllm";
  return s;
}

/// The error of `key` in `errors`, "" when there is none.
std::string error_of(std::vector<opt::ProposalError> const& errors, std::string const& key) {
  for (auto const& e : errors)
    if (e.key == key) return e.message;
  return {};
}

std::string change_of(std::vector<opt::ProposalChange> const& changes, std::string const& key) {
  for (auto const& c : changes)
    if (c.key == key) return c.message;
  return {};
}

BOOST_AUTO_TEST_SUITE(learn_optimize_search_space)

// -- names ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(dimension_type_names) {
  for (auto t : {DimensionType::categorical, DimensionType::continuous, DimensionType::integer, DimensionType::subset,
                 DimensionType::text})
    BOOST_TEST((opt::dimension_type_from_string(opt::to_string(t)) == t));
  BOOST_TEST(opt::to_string(DimensionType::subset) == "subset");
  BOOST_TEST(opt::to_string(DimensionType::categorical) == "categorical");
  BOOST_TEST(!opt::dimension_type_from_string("Categorical").has_value());
  BOOST_TEST(!opt::dimension_type_from_string("float").has_value());
  BOOST_TEST(SearchDimension{}.type == DimensionType::categorical);
}

BOOST_AUTO_TEST_CASE(primitive_is_the_text_before_the_first_dot) {
  BOOST_TEST(opt::primitive_of("intelligence.model") == "intelligence");
  BOOST_TEST(opt::primitive_of("a.b.c") == "a");
  BOOST_TEST(opt::primitive_of("plain") == "");
  BOOST_TEST(opt::primitive_of("") == "");
  BOOST_TEST(opt::primitive_of(".x") == "");
  BOOST_TEST(opt::primitive_of("x.") == "x");
}

// -- the default space -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(default_space_dimensions_and_ranges) {
  auto s = opt::default_search_space();
  BOOST_TEST(s.check().has_value());
  BOOST_REQUIRE(s.dimensions.size() == 6u);
  BOOST_TEST(s.constraints.size() == 2u);
  BOOST_TEST(s.fixed.empty());
  for (auto const& d : s.dimensions) {
    BOOST_TEST(d.primitive == opt::primitive_of(d.name));
    BOOST_TEST(!d.description.empty());
  }

  auto const* model = s.find("intelligence.model");
  BOOST_REQUIRE(model);
  BOOST_TEST(model->type == DimensionType::categorical);
  BOOST_TEST(model->values.size() >= 3u);
  for (auto const& v : model->values) BOOST_TEST(v.is_string());

  auto const* temperature = s.find("intelligence.temperature");
  BOOST_REQUIRE(temperature);
  BOOST_TEST(temperature->type == DimensionType::continuous);
  BOOST_TEST(temperature->low.value_or(-1) == 0.0);
  BOOST_TEST(temperature->high.value_or(-1) == 1.0);

  auto const* max_tokens = s.find("intelligence.max_tokens");
  BOOST_REQUIRE(max_tokens);
  BOOST_TEST(max_tokens->type == DimensionType::integer);
  BOOST_TEST(max_tokens->low.value_or(-1) == 256.0);
  BOOST_TEST(max_tokens->high.value_or(-1) == 8192.0);

  auto const* prompt = s.find("intelligence.system_prompt");
  BOOST_REQUIRE(prompt);
  BOOST_TEST(prompt->type == DimensionType::text);

  auto const* turns = s.find("agent.max_turns");
  BOOST_REQUIRE(turns);
  BOOST_TEST(turns->type == DimensionType::integer);
  BOOST_TEST(turns->low.value_or(-1) == 1.0);
  BOOST_TEST(turns->high.value_or(-1) == 30.0);
  BOOST_TEST(turns->primitive == "agent");

  auto const* tools = s.find("tools.tool_set");
  BOOST_REQUIRE(tools);
  BOOST_TEST(tools->type == DimensionType::subset);
  BOOST_TEST(tools->values.size() >= 3u);
  BOOST_TEST((s.find("nope") == nullptr));
}

BOOST_AUTO_TEST_CASE(default_space_copies_are_independent) {
  auto a = opt::default_search_space();
  a.dimensions[0].values.clear();
  a.constraints.clear();
  auto b = opt::default_search_space();
  BOOST_TEST(!b.dimensions[0].values.empty());
  BOOST_TEST(b.constraints.size() == 2u);
}

// -- the prompt --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(prompt_groups_by_sorted_primitive) {
  auto s = space();
  s.dimensions.push_back(dim("seed", DimensionType::text));  // no dot: "other"
  auto derived = dim("zeta.knob", DimensionType::text);      // primitive left empty: derived from the name
  s.dimensions.push_back(derived);
  s.dimensions[0].primitive = "intelligence";
  std::string p = s.to_prompt();

  BOOST_TEST(p.rfind("# Search Space\n", 0) == 0u);
  auto agent = p.find("\n## Agent\n");
  auto intelligence = p.find("\n## Intelligence\n");
  auto other = p.find("\n## Other\n");
  auto tools = p.find("\n## Tools\n");
  auto zeta = p.find("\n## Zeta\n");
  BOOST_REQUIRE(agent != std::string::npos);
  BOOST_REQUIRE(intelligence != std::string::npos);
  BOOST_REQUIRE(other != std::string::npos);
  BOOST_REQUIRE(tools != std::string::npos);
  BOOST_REQUIRE(zeta != std::string::npos);
  BOOST_TEST(agent < intelligence);
  BOOST_TEST(intelligence < other);
  BOOST_TEST(other < tools);
  BOOST_TEST(tools < zeta);
  // "seed" is listed under Other, "agent.max_turns" under Agent.
  BOOST_TEST(p.find("**seed**") > other);
  BOOST_TEST(p.find("**seed**") < tools);
  BOOST_TEST(p.find("**agent.max_turns**") > agent);
  BOOST_TEST(p.find("**agent.max_turns**") < intelligence);
  // Within a primitive, declaration order.
  BOOST_TEST(p.find("**intelligence.model**") < p.find("**intelligence.temperature**"));
  BOOST_TEST(p.find("**intelligence.temperature**") < p.find("**intelligence.system_prompt**"));
}

BOOST_AUTO_TEST_CASE(prompt_shows_type_description_and_what_is_allowed) {
  auto s = space();
  s.dimensions[1].description = "how random the sampling is";
  s.dimensions[1].high = 1.5;
  std::string p = s.to_prompt();
  BOOST_TEST(contains(p, "- **intelligence.temperature** (continuous): how random the sampling is\n  Range: [0, 1.5]\n"));
  BOOST_TEST(contains(p, "- **intelligence.model** (categorical)\n  Options: [\"small\", \"large\", 4]\n"));
  BOOST_TEST(contains(p, "- **agent.max_turns** (integer)\n  Range: [1, 30], whole numbers\n"));
  BOOST_TEST(contains(p, "- **tools.tool_set** (subset)\n  Options (any subset, as a JSON array): [\"read_file\", "
                         "\"edit_file\", \"run_tests\"]\n"));
  BOOST_TEST(contains(p, "- **intelligence.system_prompt** (text)\n  Free-form text\n"));
}

BOOST_AUTO_TEST_CASE(prompt_open_ranges) {
  SearchSpace s;
  auto a = dim("a.any", DimensionType::integer);
  auto b = dim("a.floor", DimensionType::integer);
  b.low = 2;
  auto c = dim("a.ceiling", DimensionType::integer);
  c.high = 9;
  s.dimensions = {a, b, c};
  std::string p = s.to_prompt();
  BOOST_TEST(contains(p, "**a.any** (integer)\n  Any whole number\n"));
  BOOST_TEST(contains(p, "**a.floor** (integer)\n  Range: at least 2, whole numbers\n"));
  BOOST_TEST(contains(p, "**a.ceiling** (integer)\n  Range: at most 9, whole numbers\n"));
}

BOOST_AUTO_TEST_CASE(prompt_fixed_sorted_and_constraints) {
  auto s = space();
  s.fixed["zz.last"] = 2.5;
  s.fixed["aa.first"] = json::array{1, "x"};
  s.constraints = {"keep prompts short", "prefer small models"};
  std::string p = s.to_prompt();
  auto fixed = p.find("\n## Fixed Parameters\n");
  auto constraints = p.find("\n## Constraints\n");
  BOOST_REQUIRE(fixed != std::string::npos);
  BOOST_REQUIRE(constraints != std::string::npos);
  BOOST_TEST(fixed > p.find("**tools.tool_set**"));  // after every dimension
  BOOST_TEST(fixed < constraints);
  auto first = p.find("- aa.first = [1, \"x\"]\n");
  auto middle = p.find("- engine.backend = \"vllm\"\n");
  auto last = p.find("- zz.last = 2.5\n");
  BOOST_REQUIRE(first != std::string::npos);
  BOOST_REQUIRE(middle != std::string::npos);
  BOOST_REQUIRE(last != std::string::npos);
  BOOST_TEST(first < middle);
  BOOST_TEST(middle < last);
  BOOST_TEST(contains(p.substr(constraints), "- keep prompts short\n- prefer small models\n"));
}

BOOST_AUTO_TEST_CASE(prompt_without_fixed_or_constraints_has_no_such_sections) {
  auto s = space();
  s.fixed.clear();
  std::string p = s.to_prompt();
  BOOST_TEST(!contains(p, "## Fixed Parameters"));
  BOOST_TEST(!contains(p, "## Constraints"));
  std::string empty = SearchSpace{}.to_prompt();
  BOOST_TEST(empty.rfind("# Search Space\n", 0) == 0u);
  BOOST_TEST(!contains(empty, "## "));
}

// -- checking the space itself ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(space_check_names_the_dimension_at_fault) {
  auto fails = [](SearchSpace const& s, std::string const& part) {
    auto r = s.check();
    BOOST_TEST_REQUIRE(r.has_error());
    BOOST_TEST((r.error() == Errc::invalid_config));
    BOOST_TEST(contains(r.error().message, part), r.error().message << " lacks " << part);
  };
  BOOST_TEST(space().check().has_value());

  auto s = space();
  s.dimensions[2].name = "";
  fails(s, "#3");
  s = space();
  s.dimensions[3].name = "intelligence.model";
  fails(s, "#4 \"intelligence.model\": the name is used by an earlier dimension");
  s = space();
  s.dimensions[0].values.clear();
  fails(s, "\"intelligence.model\": categorical dimension needs values");
  s = space();
  s.dimensions[3].values.clear();
  fails(s, "\"tools.tool_set\": subset dimension needs values");
  s = space();
  s.dimensions[1].high.reset();
  fails(s, "\"intelligence.temperature\": continuous dimension needs both low and high");
  s = space();
  s.dimensions[1].low.reset();
  fails(s, "continuous dimension needs both low and high");
  s = space();
  s.dimensions[1].low = 2.0;
  fails(s, "low (2) is greater than high (1)");
  s = space();
  s.dimensions[2].low = 40;
  fails(s, "\"agent.max_turns\": low (40) is greater than high (30)");
  s = space();
  s.dimensions[1].high = std::numeric_limits<double>::infinity();
  fails(s, "high must be a finite number");
  s = space();
  s.dimensions[2].low = 0.5;
  fails(s, "low must be a whole number");
  s = space();
  s.dimensions[2].high = 1e300;
  fails(s, "high must be a whole number of magnitude at most 2^53");

  // Optional bounds of an integer dimension, no values for text: fine.
  s = space();
  s.dimensions[2].low.reset();
  s.dimensions[2].high.reset();
  s.dimensions[4].values.clear();
  BOOST_TEST(s.check().has_value());
}

// -- validating proposals ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(valid_proposal_has_no_errors) {
  auto s = space();
  auto p = obj(R"({"intelligence.model": "large", "intelligence.temperature": 0.25, "agent.max_turns": 12,
                   "tools.tool_set": ["run_tests", "read_file"], "intelligence.system_prompt": "Be brief."})");
  BOOST_TEST(s.check_proposal(p).empty());
  BOOST_TEST(s.check_proposal(json::object{}).empty());  // leaving everything out is allowed
  auto v = s.validate(p, ValidationMode::strict);
  BOOST_REQUIRE(v.has_value());
  auto expected = p;
  expected["engine.backend"] = "vllm";
  BOOST_TEST(json::value(v.value()) == json::value(expected));
}

BOOST_AUTO_TEST_CASE(unknown_keys) {
  auto s = space();
  auto errors = s.check_proposal(obj(R"({"temperature": 0.3, "gpu.count": 2})"));
  BOOST_REQUIRE(errors.size() == 2u);
  BOOST_TEST(errors[0].key == "temperature");
  BOOST_TEST(contains(errors[0].message, "not a parameter"));
  BOOST_TEST(contains(errors[0].message, "did you mean \"intelligence.temperature\"?"));
  BOOST_TEST(errors[1].key == "gpu.count");
  BOOST_TEST(contains(errors[1].message, "the parameters are: intelligence.model, intelligence.temperature, "
                                         "agent.max_turns, tools.tool_set, intelligence.system_prompt"));
  // A fixed parameter is known, whatever its value: it is overwritten.
  BOOST_TEST(s.check_proposal(obj(R"({"engine.backend": 17})")).empty());
}

BOOST_AUTO_TEST_CASE(categorical_errors) {
  auto s = space();
  auto errors = s.check_proposal(obj(R"({"intelligence.model": "medium"})"));
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(errors[0].key == "intelligence.model");
  BOOST_TEST(errors[0].message == R"("medium" is not an option; must be one of ["small", "large", 4])");
  BOOST_TEST(!s.check_proposal(obj(R"({"intelligence.model": ["small"]})")).empty());
  BOOST_TEST(!s.check_proposal(obj(R"({"intelligence.model": "4"})")).empty());  // a string is not the number
  // Numbers compare by value.
  BOOST_TEST(s.check_proposal(obj(R"({"intelligence.model": 4.0})")).empty());
}

BOOST_AUTO_TEST_CASE(continuous_errors) {
  auto s = space();
  auto errors = s.check_proposal(
      obj(R"({"intelligence.temperature": "0.5"})"));
  BOOST_REQUIRE(errors.size() == 1u);
  BOOST_TEST(errors[0].message == R"(must be a number in [0, 1], not "0.5")");
  BOOST_TEST(error_of(s.check_proposal(obj(R"({"intelligence.temperature": 1.5})")), "intelligence.temperature") ==
             "1.5 is outside the allowed range: must be a number in [0, 1]");
  BOOST_TEST(contains(error_of(s.check_proposal(obj(R"({"intelligence.temperature": -0.1})")),
                               "intelligence.temperature"),
                      "-0.1 is outside"));
  BOOST_TEST(!s.check_proposal(obj(R"({"intelligence.temperature": true})")).empty());
  BOOST_TEST(!s.check_proposal(obj(R"({"intelligence.temperature": null})")).empty());
  // Bounds are inclusive; an integer is a number.
  BOOST_TEST(s.check_proposal(obj(R"({"intelligence.temperature": 1})")).empty());
  BOOST_TEST(s.check_proposal(obj(R"({"intelligence.temperature": 0.0})")).empty());
  // Not finite.
  json::object p;
  p["intelligence.temperature"] = std::numeric_limits<double>::quiet_NaN();
  BOOST_TEST(contains(error_of(s.check_proposal(p), "intelligence.temperature"), "must be a number in [0, 1]"));
  p["intelligence.temperature"] = std::numeric_limits<double>::infinity();
  BOOST_TEST(contains(error_of(s.check_proposal(p), "intelligence.temperature"), "outside the allowed range"));
}

BOOST_AUTO_TEST_CASE(integer_errors) {
  auto s = space();
  BOOST_TEST(error_of(s.check_proposal(obj(R"({"agent.max_turns": 2.5})")), "agent.max_turns") ==
             "must be a whole number in [1, 30], not 2.5");
  BOOST_TEST(error_of(s.check_proposal(obj(R"({"agent.max_turns": 31})")), "agent.max_turns") ==
             "31 is outside the allowed range: must be a whole number in [1, 30]");
  BOOST_TEST(contains(error_of(s.check_proposal(obj(R"({"agent.max_turns": 0})")), "agent.max_turns"), "outside"));
  BOOST_TEST(contains(error_of(s.check_proposal(obj(R"({"agent.max_turns": "5"})")), "agent.max_turns"),
                      "must be a whole number in [1, 30], not \"5\""));
  BOOST_TEST(s.check_proposal(obj(R"({"agent.max_turns": 30.0})")).empty());  // whole, written as a float
  BOOST_TEST(s.check_proposal(obj(R"({"agent.max_turns": 1})")).empty());
}

BOOST_AUTO_TEST_CASE(subset_errors) {
  auto s = space();
  auto msg = [&](std::string_view p) { return error_of(s.check_proposal(obj(p)), "tools.tool_set"); };
  BOOST_TEST(msg(R"({"tools.tool_set": ["read_file", "browse"]})") ==
             R"(not options: "browse"; allowed: a JSON array of distinct options from ["read_file", "edit_file", )"
             R"("run_tests"])");
  BOOST_TEST(contains(msg(R"({"tools.tool_set": ["read_file", "read_file"]})"),
                      "listed more than once: \"read_file\"; allowed:"));
  BOOST_TEST(contains(msg(R"({"tools.tool_set": ["x", "edit_file", "edit_file"]})"),
                      "not options: \"x\"; listed more than once: \"edit_file\""));
  BOOST_TEST(contains(msg(R"({"tools.tool_set": "read_file"})"), "must be an array, even for one option"));
  BOOST_TEST(contains(msg(R"({"tools.tool_set": 3})"), "must be a JSON array of distinct options"));
  BOOST_TEST(msg(R"({"tools.tool_set": []})").empty());  // the empty subset is a subset
  BOOST_TEST(msg(R"({"tools.tool_set": ["run_tests", "edit_file", "read_file"]})").empty());
}

BOOST_AUTO_TEST_CASE(text_errors) {
  auto s = space();
  BOOST_TEST(error_of(s.check_proposal(obj(R"({"intelligence.system_prompt": 3})")), "intelligence.system_prompt") ==
             "must be a string, not 3");
  BOOST_TEST(!s.check_proposal(obj(R"({"intelligence.system_prompt": ["a"]})")).empty());
  BOOST_TEST(s.check_proposal(obj(R"({"intelligence.system_prompt": ""})")).empty());
  // A long wrong value is quoted only in part.
  json::object p;
  p["intelligence.system_prompt"] = json::array(500, json::value(12345));
  auto message = error_of(s.check_proposal(p), "intelligence.system_prompt");
  BOOST_TEST(message.rfind("must be a string, not [12345, 12345", 0) == 0u);
  BOOST_TEST(message.size() < 120u);
  BOOST_TEST(message.ends_with("…"));
}

BOOST_AUTO_TEST_CASE(errors_follow_the_proposal_order_one_per_key) {
  auto s = space();
  auto errors = s.check_proposal(obj(R"({"zzz": 1, "agent.max_turns": 99.5, "intelligence.model": "x",
                                        "intelligence.temperature": 0.5})"));
  BOOST_REQUIRE(errors.size() == 3u);
  BOOST_TEST(errors[0].key == "zzz");
  BOOST_TEST(errors[1].key == "agent.max_turns");
  BOOST_TEST(errors[2].key == "intelligence.model");
}

BOOST_AUTO_TEST_CASE(strict_validation_lists_every_problem) {
  auto s = space();
  auto p = obj(R"({"agent.max_turns": 0, "intelligence.model": "x", "intelligence.temperature": 0.5})");
  auto v = s.validate(p, ValidationMode::strict);
  BOOST_REQUIRE(v.has_error());
  BOOST_TEST((v.error() == Errc::invalid_input));
  BOOST_TEST(contains(v.error().message, "(2 problems)"));
  BOOST_TEST(contains(v.error().message, "- `agent.max_turns`: 0 is outside the allowed range"));
  BOOST_TEST(contains(v.error().message, "- `intelligence.model`: \"x\" is not an option"));
  BOOST_TEST(!contains(v.error().message, "intelligence.temperature"));
}

BOOST_AUTO_TEST_CASE(strict_validation_returns_canonical_values) {
  auto s = space();
  auto v = s.validate(obj(R"({"agent.max_turns": 7.0, "intelligence.model": 4.0, "tools.tool_set": []})"),
                      ValidationMode::strict);
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v.value().at("agent.max_turns").is_int64());
  BOOST_TEST(v.value().at("agent.max_turns").as_int64() == 7);
  BOOST_TEST(v.value().at("intelligence.model").is_int64());  // the option as the space writes it
  BOOST_TEST(v.value().at("tools.tool_set").as_array().empty());
}

BOOST_AUTO_TEST_CASE(format_errors_as_a_list) {
  std::vector<opt::ProposalError> errors{{"a.b", "must be a string, not 3"}, {"c", "not a parameter"}};
  BOOST_TEST(opt::format_proposal_errors(errors) == "- `a.b`: must be a string, not 3\n- `c`: not a parameter\n");
  BOOST_TEST(opt::format_proposal_errors({}) == "");
}

// -- repairing proposals ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(clamp_numbers_into_range) {
  auto s = space();
  auto c = s.clamp_proposal(obj(R"({"intelligence.temperature": 1.7, "agent.max_turns": -4})"));
  BOOST_TEST(c.params.at("intelligence.temperature").to_number<double>() == 1.0);
  BOOST_TEST(c.params.at("agent.max_turns").as_int64() == 1);
  BOOST_TEST(change_of(c.changes, "intelligence.temperature") == "clamped 1.7 to 1 (range [0, 1])");
  BOOST_TEST(change_of(c.changes, "agent.max_turns") == "clamped -4 to 1 (range [1, 30])");
  c = s.clamp_proposal(obj(R"({"intelligence.temperature": -0.5})"));
  BOOST_TEST(c.params.at("intelligence.temperature").to_number<double>() == 0.0);
}

BOOST_AUTO_TEST_CASE(clamp_rounds_integers) {
  auto s = space();
  auto c = s.clamp_proposal(obj(R"({"agent.max_turns": 12.4})"));
  BOOST_TEST(c.params.at("agent.max_turns").as_int64() == 12);
  BOOST_TEST(change_of(c.changes, "agent.max_turns") == "rounded 12.4 to 12");
  c = s.clamp_proposal(obj(R"({"agent.max_turns": 12.5})"));
  BOOST_TEST(c.params.at("agent.max_turns").as_int64() == 13);
  c = s.clamp_proposal(obj(R"({"agent.max_turns": 45.6})"));
  BOOST_TEST(c.params.at("agent.max_turns").as_int64() == 30);
  BOOST_TEST(change_of(c.changes, "agent.max_turns") == "rounded 45.6 and clamped it to 30 (range [1, 30])");
  c = s.clamp_proposal(obj(R"({"agent.max_turns": 0.4})"));
  BOOST_TEST(c.params.at("agent.max_turns").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(clamp_drops_what_cannot_be_repaired) {
  auto s = space();
  auto c = s.clamp_proposal(obj(R"({"bogus": 1, "intelligence.model": "medium", "intelligence.temperature": "hot",
                                    "agent.max_turns": null, "intelligence.system_prompt": 5, "tools.tool_set": {"a": 1},
                                    "engine.backend": "tgi"})"));
  BOOST_TEST(c.params.size() == 1u);  // only the fixed parameter stays, untouched (overwritten later)
  BOOST_TEST(c.params.at("engine.backend") == json::value("tgi"));
  BOOST_REQUIRE(c.changes.size() == 6u);
  BOOST_TEST(c.changes[0].key == "bogus");
  BOOST_TEST(c.changes[0].message == "dropped: not a parameter of this search space");
  BOOST_TEST(change_of(c.changes, "intelligence.model") == "dropped: \"medium\" is not an option");
  BOOST_TEST(change_of(c.changes, "intelligence.temperature") == "dropped: \"hot\" is not a number");
  BOOST_TEST(change_of(c.changes, "agent.max_turns") == "dropped: null is not a number");
  BOOST_TEST(change_of(c.changes, "intelligence.system_prompt") == "dropped: 5 is not a string");
  BOOST_TEST(change_of(c.changes, "tools.tool_set") == "dropped: {\"a\": 1} is not an array of options");
}

BOOST_AUTO_TEST_CASE(clamp_cleans_subsets) {
  auto s = space();
  auto c = s.clamp_proposal(obj(R"({"tools.tool_set": ["read_file", "browse", "read_file", "run_tests", 7]})"));
  BOOST_TEST(json::value(c.params.at("tools.tool_set")) == json::parse(R"(["read_file", "run_tests"])"));
  BOOST_TEST(change_of(c.changes, "tools.tool_set") == "removed \"browse\", 7 (not options) and repeats of \"read_file\"");
  c = s.clamp_proposal(obj(R"({"tools.tool_set": "edit_file"})"));
  BOOST_TEST(json::value(c.params.at("tools.tool_set")) == json::parse(R"(["edit_file"])"));
  BOOST_TEST(change_of(c.changes, "tools.tool_set") == "wrapped \"edit_file\" in an array");
}

BOOST_AUTO_TEST_CASE(clamp_keeps_valid_values_without_changes) {
  auto s = space();
  auto p = obj(R"({"intelligence.model": "small", "intelligence.temperature": 0.7, "agent.max_turns": 3,
                   "tools.tool_set": ["edit_file"], "intelligence.system_prompt": "hi"})");
  auto c = s.clamp_proposal(p);
  BOOST_TEST(c.changes.empty());
  BOOST_TEST(json::value(c.params) == json::value(p));
  // Canonical forms are not changes.
  c = s.clamp_proposal(obj(R"({"agent.max_turns": 3.0})"));
  BOOST_TEST(c.changes.empty());
  BOOST_TEST(c.params.at("agent.max_turns").is_int64());
}

BOOST_AUTO_TEST_CASE(clamp_non_finite_numbers) {
  auto s = space();
  json::object p;
  p["intelligence.temperature"] = std::numeric_limits<double>::infinity();
  p["agent.max_turns"] = -std::numeric_limits<double>::infinity();
  auto c = s.clamp_proposal(p);
  BOOST_TEST(c.params.at("intelligence.temperature").to_number<double>() == 1.0);
  BOOST_TEST(c.params.at("agent.max_turns").as_int64() == 1);

  // Without a bound on that side there is nothing to clamp to: dropped.
  auto open = space();
  open.dimensions[2].high.reset();
  json::object q;
  q["agent.max_turns"] = std::numeric_limits<double>::infinity();
  c = open.clamp_proposal(q);
  BOOST_TEST(!c.params.contains("agent.max_turns"));
  BOOST_TEST(change_of(c.changes, "agent.max_turns") == "dropped: inf is not a finite number");
  q["agent.max_turns"] = std::numeric_limits<double>::quiet_NaN();
  c = open.clamp_proposal(q);
  BOOST_TEST(!c.params.contains("agent.max_turns"));
  // An unbounded integer stays within 2^53, so it is exact.
  q["agent.max_turns"] = 1e300;
  c = open.clamp_proposal(q);
  BOOST_TEST(c.params.at("agent.max_turns").as_int64() == 9007199254740992LL);
}

BOOST_AUTO_TEST_CASE(clamp_mode_validation_never_fails_and_is_valid) {
  auto s = space();
  std::mt19937 rng(7);
  std::vector<json::value> junk = {json::value(nullptr), json::value(true), json::value(-3), json::value(0.5),
                                   json::value(99.9), json::value("small"), json::value("x"),
                                   json::parse(R"(["read_file", "x", "read_file"])"), json::parse(R"({"k": 1})")};
  std::vector<std::string> keys = {"intelligence.model", "intelligence.temperature", "agent.max_turns",
                                   "tools.tool_set", "intelligence.system_prompt", "engine.backend", "other"};
  for (int round = 0; round < 200; ++round) {
    json::object p;
    for (auto const& k : keys)
      if (rng() % 2) p[k] = junk[rng() % junk.size()];
    auto v = s.validate(p, ValidationMode::clamp);
    BOOST_REQUIRE(v.has_value());
    BOOST_TEST(s.check_proposal(v.value()).empty(), json::serialize(p));
    BOOST_TEST(v.value().at("engine.backend") == json::value("vllm"));
  }
}

// -- fixed parameters -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fixed_overwrites_every_proposal) {
  auto s = space();
  s.fixed["intelligence.model"] = "large";  // a dimension may be fixed too
  auto p = obj(R"({"intelligence.model": "small", "engine.backend": "tgi", "agent.max_turns": 4})");
  for (auto mode : {ValidationMode::strict, ValidationMode::clamp}) {
    auto v = s.validate(p, mode);
    BOOST_REQUIRE(v.has_value());
    BOOST_TEST(v.value().at("intelligence.model") == json::value("large"));
    BOOST_TEST(v.value().at("engine.backend") == json::value("vllm"));
    BOOST_TEST(v.value().at("agent.max_turns").as_int64() == 4);
  }
  // Added when the proposal leaves them out.
  auto v = s.validate(json::object{}, ValidationMode::strict);
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v.value().size() == 2u);
  auto applied = s.apply_fixed(obj(R"({"x": 1, "engine.backend": 2})"));
  BOOST_TEST(applied.at("engine.backend") == json::value("vllm"));
  BOOST_TEST(applied.at("x") == json::value(1));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_optimize_search_space

// -- the [optimize] TOML -----------------------------------------------------------------

#if defined(LEASH_HAS_TOMLPLUSPLUS)

namespace test_learn_optimize_search_space {

using opt::ObjectiveSpec;

/// A file under the temporary directory, removed at the end of the test.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(std::string const& text) {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("leash-optimize-" + std::to_string(rd()) + std::to_string(rd()) + ".toml");
    std::ofstream(path) << text;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

constexpr char const* full_config = R"(
[optimize]
benchmark = "ignored because benchmarks is given"

[[optimize.search]]
name = "intelligence.model"
values = ["small", "large"]
description = "which model"

[[optimize.search]]
name = "intelligence.temperature"
type = "continuous"
low = 0
high = 0.8

[[optimize.search]]
name = "agent.max_turns"
type = "integer"
low = 2
high = 12

[[optimize.search]]
name = "tools.tool_set"
type = "subset"
values = ["read_file", "run_tests"]

[[optimize.search]]
name = "seed"
type = "categorical"
values = [1, 2.5, true]

[[optimize.search]]
name = "intelligence.system_prompt"
type = "text"

[optimize.fixed]
"engine.backend" = "vllm"
intelligence.max_tokens = 2048
[optimize.fixed.learning]
routing_policy = "heuristic"

[optimize.constraints]
rules = ["one", "two"]

[[optimize.objectives]]
metric = "accuracy"

[[optimize.objectives]]
metric = "total_cost_usd"
direction = "minimize"
weight = 0.5

[[optimize.benchmarks]]
name = "gsm8k"

[[optimize.benchmarks]]
benchmark = "mmlu"
max_samples = 40
weight = 2
)";

leash::Error load_error(std::string const& text) {
  auto r = opt::optimize_config_from_toml_string(text, "bad.toml");
  BOOST_REQUIRE_MESSAGE(r.has_error(), "expected an error from:\n" << text);
  BOOST_TEST((r.error() == Errc::invalid_config));
  BOOST_TEST(contains(r.error().message, "optimize config bad.toml: "), r.error().message);
  return r.error();
}

void fails_with(std::string const& text, std::string const& part) {
  auto e = load_error(text);
  BOOST_TEST(contains(e.message, part), "'" << e.message << "' lacks '" << part << "'");
}

BOOST_AUTO_TEST_SUITE(learn_optimize_search_space)

BOOST_AUTO_TEST_CASE(toml_builds_the_whole_config) {
  auto r = opt::optimize_config_from_toml_string(full_config, "full.toml");
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : std::string()));
  auto const& c = r.value();
  auto const& dims = c.search_space.dimensions;
  BOOST_REQUIRE(dims.size() == 6u);

  BOOST_TEST(dims[0].name == "intelligence.model");
  BOOST_TEST(dims[0].type == DimensionType::categorical);  // the default type
  BOOST_TEST(dims[0].description == "which model");
  BOOST_TEST(dims[0].primitive == "intelligence");
  BOOST_TEST(json::value(json::array(dims[0].values.begin(), dims[0].values.end())) ==
             json::parse(R"(["small", "large"])"));

  BOOST_TEST(dims[1].type == DimensionType::continuous);
  BOOST_TEST(dims[1].low.value_or(-1) == 0.0);  // a TOML integer is a number too
  BOOST_TEST(dims[1].high.value_or(-1) == 0.8);
  BOOST_TEST(dims[1].description == "");

  BOOST_TEST(dims[2].type == DimensionType::integer);
  BOOST_TEST(dims[2].low.value_or(-1) == 2.0);
  BOOST_TEST(dims[2].high.value_or(-1) == 12.0);
  BOOST_TEST(dims[2].primitive == "agent");

  BOOST_TEST(dims[3].type == DimensionType::subset);
  BOOST_TEST(dims[3].values.size() == 2u);

  BOOST_TEST(dims[4].primitive == "");  // no dot
  BOOST_REQUIRE(dims[4].values.size() == 3u);
  BOOST_TEST(dims[4].values[0].is_int64());
  BOOST_TEST(dims[4].values[1].is_double());
  BOOST_TEST(dims[4].values[2].is_bool());

  BOOST_TEST(dims[5].type == DimensionType::text);

  // Nested tables become dotted names.
  BOOST_TEST(json::value(c.search_space.fixed) ==
             json::parse(R"({"engine.backend": "vllm", "intelligence.max_tokens": 2048,
                             "learning.routing_policy": "heuristic"})"));
  BOOST_TEST(c.search_space.constraints == (std::vector<std::string>{"one", "two"}));

  BOOST_REQUIRE(c.objectives.size() == 2u);
  BOOST_TEST(c.objectives[0].metric == "accuracy");
  BOOST_TEST(c.objectives[0].direction == ObjectiveSpec::Direction::maximize);
  BOOST_TEST(c.objectives[0].weight == 1.0);
  BOOST_TEST(c.objectives[1].metric == "total_cost_usd");
  BOOST_TEST(c.objectives[1].direction == ObjectiveSpec::Direction::minimize);
  BOOST_TEST(c.objectives[1].weight == 0.5);

  BOOST_REQUIRE(c.benchmarks.size() == 2u);  // `benchmarks` wins over `benchmark`
  BOOST_TEST(c.benchmarks[0].benchmark == "gsm8k");
  BOOST_TEST(c.benchmarks[0].max_samples == 200u);
  BOOST_TEST(c.benchmarks[0].weight == 1.0);
  BOOST_TEST(c.benchmarks[1].benchmark == "mmlu");
  BOOST_TEST(c.benchmarks[1].max_samples == 40u);
  BOOST_TEST(c.benchmarks[1].weight == 2.0);

  // The loaded space works as one.
  auto v = c.search_space.validate(obj(R"({"intelligence.temperature": 0.9, "seed": 2.5})"), ValidationMode::clamp);
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v.value().at("intelligence.temperature").to_number<double>() == 0.8);
  BOOST_TEST(v.value().at("engine.backend") == json::value("vllm"));
  BOOST_TEST(contains(c.search_space.to_prompt(), "## Other"));
}

BOOST_AUTO_TEST_CASE(toml_single_benchmark_and_defaults) {
  auto r = opt::optimize_config_from_toml_string("[optimize]\nbenchmark = \"gsm8k\"\n");
  BOOST_REQUIRE(r.has_value());
  BOOST_REQUIRE(r.value().benchmarks.size() == 1u);
  BOOST_TEST(r.value().benchmarks[0].benchmark == "gsm8k");
  BOOST_TEST(r.value().benchmarks[0].max_samples == 50u);
  BOOST_TEST(r.value().benchmarks[0].weight == 1.0);
  BOOST_TEST((r.value().objectives == opt::default_objectives()));
  BOOST_TEST(r.value().search_space.dimensions.empty());
  BOOST_TEST(r.value().search_space.fixed.empty());
  BOOST_TEST(r.value().search_space.constraints.empty());

  r = opt::optimize_config_from_toml_string("[optimize]\nbenchmark = \"gsm8k\"\nmax_samples = 7\n");
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().benchmarks.at(0).max_samples == 7u);

  r = opt::optimize_config_from_toml_string("[optimize]\n");
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r.value().benchmarks.empty());
  // Keys leash does not know are ignored.
  r = opt::optimize_config_from_toml_string("[optimize]\nmax_trials = 20\n[other]\nx = 1\n");
  BOOST_TEST(r.has_value());
}

BOOST_AUTO_TEST_CASE(toml_syntax_and_layout_errors) {
  fails_with("[optimize\n", "line 1");
  fails_with("[other]\nx = 1\n", "no [optimize] table");
  fails_with("optimize = 3\n", "optimize must be a table, not an integer");
  fails_with("[optimize]\nsearch = 3\n", "[optimize]: search must be an array, not an integer");
  fails_with("[optimize]\nsearch = [1]\n", "[optimize]: search #1 must be a table, not an integer");
  fails_with("[optimize]\nfixed = [1]\n", "fixed must be a table, not an array");
  fails_with("[optimize]\nconstraints = [\"x\"]\n", "constraints must be a table, not an array");
  fails_with("[optimize.constraints]\nrules = \"x\"\n", "[optimize.constraints]: rules must be an array, not a string");
  fails_with("[optimize.constraints]\nrules = [\"x\", 2]\n", "rules #2 must be a string, not an integer");
  fails_with("[optimize.fixed]\n\"a.b\" = 1\na.b = 2\n", "fixed parameter \"a.b\" is given twice");
  fails_with("[optimize]\nobjectives = 1\n", "objectives must be an array");
  fails_with("[optimize]\nbenchmarks = \"x\"\n", "benchmarks must be an array");
}

BOOST_AUTO_TEST_CASE(toml_dimension_errors_name_the_dimension) {
  fails_with("[[optimize.search]]\ntype = \"text\"\n", "[[optimize.search]] #1: name is missing");
  fails_with("[[optimize.search]]\nname = 3\n", "[[optimize.search]] #1: name must be a string, not an integer");
  fails_with("[[optimize.search]]\nname = \"a.x\"\ntype = \"float\"\nlow = 0\nhigh = 1\n",
             "[[optimize.search]] #1 \"a.x\": unknown type \"float\" (the types are categorical, continuous, integer, "
             "subset and text)");
  fails_with("[[optimize.search]]\nname = \"a.x\"\ntype = 1\n", "\"a.x\": type must be a string, not an integer");
  fails_with("[[optimize.search]]\nname = \"a.x\"\nvalues = \"big\"\n", "\"a.x\": values must be an array, not a string");
  fails_with("[[optimize.search]]\nname = \"a.x\"\ntype = \"continuous\"\nlow = \"0\"\nhigh = 1\n",
             "\"a.x\": low must be a number, not a string");
  fails_with("[[optimize.search]]\nname = \"a.x\"\nvalues = [1]\ndescription = 2\n",
             "\"a.x\": description must be a string, not an integer");

  std::string const two = "[[optimize.search]]\nname = \"a.ok\"\nvalues = [1]\n[[optimize.search]]\nname = \"a.x\"\n";
  fails_with(two + "type = \"continuous\"\nlow = 0\n", "#2 \"a.x\": continuous dimension needs both low and high");
  fails_with(two + "type = \"continuous\"\n", "#2 \"a.x\": continuous dimension needs both low and high");
  fails_with(two + "type = \"continuous\"\nlow = 2\nhigh = 1.5\n", "#2 \"a.x\": low (2) is greater than high (1.5)");
  fails_with(two + "type = \"integer\"\nlow = 9\nhigh = 3\n", "#2 \"a.x\": low (9) is greater than high (3)");
  fails_with(two + "type = \"integer\"\nlow = 0.5\nhigh = 3\n", "#2 \"a.x\": integer dimension's low must be a whole");
  fails_with(two + "type = \"continuous\"\nlow = 0\nhigh = inf\n", "#2 \"a.x\": high must be a finite number");
  fails_with(two, "#2 \"a.x\": categorical dimension needs values");
  fails_with(two + "values = []\n", "#2 \"a.x\": categorical dimension needs values");
  fails_with(two + "type = \"subset\"\n", "#2 \"a.x\": subset dimension needs values");
  fails_with(two + "type = \"categorical\"\n", "categorical dimension needs values");
  fails_with("[[optimize.search]]\nname = \"a.x\"\nvalues = [1]\n[[optimize.search]]\nname = \"a.x\"\nvalues = [2]\n",
             "#2 \"a.x\": the name is used by an earlier dimension");
  fails_with("[[optimize.search]]\nname = \"\"\nvalues = [1]\n", "#1 \"\": the name is empty");
}

BOOST_AUTO_TEST_CASE(toml_objective_and_benchmark_errors) {
  fails_with("[[optimize.objectives]]\ndirection = \"minimize\"\n", "[[optimize.objectives]] #1: metric is missing");
  fails_with("[[optimize.objectives]]\nmetric = \"\"\n", "[[optimize.objectives]] #1: metric is missing or empty");
  fails_with("[[optimize.objectives]]\nmetric = \"accuracy\"\n[[optimize.objectives]]\nmetric = \"cost\"\n"
             "direction = \"down\"\n",
             "[[optimize.objectives]] #2: direction must be \"maximize\" or \"minimize\", not \"down\"");
  fails_with("[[optimize.objectives]]\nmetric = \"accuracy\"\nweight = -1\n",
             "[[optimize.objectives]] #1: weight must be a finite number of at least 0, not -1");
  fails_with("[[optimize.objectives]]\nmetric = \"accuracy\"\nweight = nan\n", "weight must be a finite number");
  fails_with("[[optimize.objectives]]\nmetric = \"accuracy\"\nweight = \"1\"\n", "weight must be a number, not a string");

  fails_with("[[optimize.benchmarks]]\nmax_samples = 3\n", "[[optimize.benchmarks]] #1: name (or benchmark) is missing");
  fails_with("[[optimize.benchmarks]]\nname = 3\n", "[[optimize.benchmarks]] #1: name must be a string");
  fails_with("[[optimize.benchmarks]]\nname = \"a\"\nmax_samples = 0\n",
             "[[optimize.benchmarks]] #1: max_samples must be at least 1, not 0");
  fails_with("[[optimize.benchmarks]]\nname = \"a\"\nmax_samples = 2.5\n", "max_samples must be an integer, not a float");
  fails_with("[[optimize.benchmarks]]\nname = \"a\"\nweight = -0.5\n", "weight must be a finite number of at least 0");
  fails_with("[optimize]\nbenchmark = \"\"\n", "[optimize]: benchmark is empty");
  fails_with("[optimize]\nbenchmark = 1\n", "[optimize]: benchmark must be a string, not an integer");
  fails_with("[optimize]\nbenchmark = \"a\"\nmax_samples = -2\n", "[optimize]: max_samples must be at least 1, not -2");
}

BOOST_AUTO_TEST_CASE(toml_load_from_file) {
  TempFile f(full_config);
  auto r = opt::load_optimize_config(f.path);
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : std::string()));
  BOOST_TEST(r.value().search_space.dimensions.size() == 6u);

  TempFile bad("[[optimize.search]]\nname = \"a.t\"\ntype = \"continuous\"\n");
  auto e = opt::load_optimize_config(bad.path);
  BOOST_REQUIRE(e.has_error());
  BOOST_TEST((e.error() == Errc::invalid_config));
  BOOST_TEST(contains(e.error().message, bad.path.string()));  // the file
  BOOST_TEST(contains(e.error().message, "\"a.t\""));           // the dimension
  BOOST_TEST(contains(e.error().message, "needs both low and high"));  // the problem

  auto missing = opt::load_optimize_config(f.path.string() + ".missing");
  BOOST_REQUIRE(missing.has_error());
  BOOST_TEST((missing.error() == Errc::invalid_config));
  BOOST_TEST(contains(missing.error().message, f.path.string() + ".missing: cannot read it"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_optimize_search_space

#endif
