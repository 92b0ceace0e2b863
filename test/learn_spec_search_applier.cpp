// Without toml++ (LEASH_HAS_TOMLPLUSPLUS undefined: CMake did not find it)
// this suite is empty and applier.hpp is not built.
#if defined(LEASH_HAS_TOMLPLUSPLUS)
#include <leash/learn/spec_search/applier.hpp>
#endif
#include <boost/test/unit_test.hpp>

#include "temp_dir.hpp"

#if defined(LEASH_HAS_TOMLPLUSPLUS)

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace test_learn_spec_search_applier {

namespace fs = std::filesystem;
namespace ss = leash::learn::spec_search;
using leash::Errc;
using ss::EditOp;

/// Directories named leash-spec-applier-*, removed with everything in them.
struct TempDir : leash_test::TempDir {
  TempDir() : leash_test::TempDir("leash-spec-applier") {}
};

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

template <class T>
std::string error_text(leash::result<T> const& r) {
  return r ? std::string() : r.error().what();
}

/// An edit from the teacher's JSON (so it is checked like one).
ss::Edit edit(std::string const& json_text) {
  auto e = ss::edit_from_json(leash::json::parse(json_text));
  BOOST_REQUIRE_MESSAGE(e.has_value(), error_text(e));
  return std::move(e).value();
}

/// A hand-written agent file: a comment, keys leash knows, keys it does not,
/// and a sub-table, so the tests see what survives an edit.
std::string const calc_toml =
    "# written by hand\n"
    "[agent]\n"
    "name = \"calc\"\n"
    "tools = [\"calculator\", \"search\"]\n"
    "max_turns = 10\n"
    "temperature = 0.3\n"
    "system_prompt = \"You compute.\\nShow the steps.\\nCheck the result.\\nAnswer briefly.\"\n"
    "max_tokens = 512\n"
    "top_p = 0.9\n"
    "verbose = false\n"
    "stop = [\"END\"]\n"
    "\n"
    "[agent.extra]\n"
    "keep = \"me\"\n";

struct Home {
  TempDir dir;
  ss::ConfigHome home{dir.path()};
  Home() { spill(home.agent_file("calc"), calc_toml); }
  fs::path calc() const { return home.agent_file("calc"); }
};

ss::AppliedEdit applied(ss::ConfigHome const& home, ss::Edit const& e, ss::ApplyOptions const& o = {}) {
  auto r = ss::apply_edit(home, e, o);
  BOOST_REQUIRE_MESSAGE(r.has_value(), error_text(r));
  return std::move(r).value();
}

leash::learn::AgentConfig agent_config(fs::path const& file) {
  auto c = leash::learn::parse_agent_config_file(file);
  BOOST_REQUIRE_MESSAGE(c.has_value(), error_text(c));
  return std::move(c).value();
}

toml::table parsed(fs::path const& file) {
  toml::table doc;
  auto err = leash::learn::detail::parse_toml(slurp(file), file.string(), doc);
  BOOST_REQUIRE_MESSAGE(!err, err.value_or(""));
  return doc;
}

/// Applying `e` fails with `code`, its message contains `words`, and the
/// file is byte for byte what it was.
void refused(ss::ConfigHome const& home, ss::Edit const& e, fs::path const& file, std::string const& words,
             ss::ApplyOptions const& o = {}, Errc code = Errc::invalid_input) {
  bool const existed = fs::exists(file);
  auto const before = existed ? slurp(file) : std::string();
  auto r = ss::apply_edit(home, e, o);
  BOOST_REQUIRE_MESSAGE(r.has_error(), "edit " + e.id + " was applied");
  BOOST_TEST((r.error() == code), r.error());
  BOOST_TEST(r.error().what().find(words) != std::string::npos, r.error().what() << " lacks: " << words);
  BOOST_TEST(r.error().what().find(e.id) != std::string::npos, r.error().what() << " does not name the edit");
  BOOST_TEST(fs::exists(file) == existed);
  if (existed) BOOST_TEST(slurp(file) == before);
}

/// A four-line prompt and diffs against it.
std::string const prompt4 = "You compute.\nShow the steps.\nCheck the result.\nAnswer briefly.";

std::string patch_edit_json(std::string const& diff, std::string const& id = "p1") {
  leash::json::object payload;
  payload["diff"] = diff;
  leash::json::object o;
  o["op"] = "patch_system_prompt";
  o["id"] = id;
  o["target"] = "agents.calc.system_prompt";
  o["payload"] = payload;
  o["rationale"] = "why";
  o["expected_improvement"] = "cluster-1";
  return leash::json::serialize(o);
}

}  // namespace test_learn_spec_search_applier

using namespace test_learn_spec_search_applier;

BOOST_AUTO_TEST_SUITE(learn_spec_search_applier)

// -- the config home ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(files_of_each_op) {
  ss::ConfigHome home("/cfg");
  BOOST_TEST(home.root() == fs::path("/cfg"));
  auto file = [&](std::string const& j) {
    auto f = home.file_of(edit(j));
    BOOST_REQUIRE_MESSAGE(f.has_value(), error_text(f));
    return f.value();
  };
  BOOST_TEST(file(R"({"op":"replace_system_prompt","target":"agents.calc.system_prompt","payload":{"new_content":"x"}})") ==
             fs::path("/cfg/calc.toml"));
  BOOST_TEST(file(R"({"op":"add_tool_to_agent","payload":{"agent":"coder","tool_name":"t"}})") ==
             fs::path("/cfg/coder.toml"));
  BOOST_TEST(file(R"({"op":"set_agent_class","payload":{"new_class":"react"}})") == fs::path("/cfg/default.toml"));
  BOOST_TEST(file(R"({"op":"set_model_param","payload":{"model":"m","param":"p","value":1}})") ==
             fs::path("/cfg/models.toml"));
  BOOST_TEST(file(R"({"op":"set_model_for_query_class","payload":{"query_class":"math","model":"m"}})") ==
             fs::path("/cfg/routing.toml"));
  BOOST_TEST(file(R"({"op":"edit_tool_description","payload":{"tool_name":"t","new_description":"d"}})") ==
             fs::path("/cfg/tools.toml"));
  auto lora = home.file_of(edit(R"({"op":"lora_finetune","id":"l1"})"));
  BOOST_REQUIRE(lora.has_error());
  BOOST_TEST((lora.error() == Errc::invalid_input));
  BOOST_TEST(lora.error().what().find("no applier") != std::string::npos, lora.error().what());
}

BOOST_AUTO_TEST_CASE(unsafe_and_reserved_agent_names_are_refused) {
  TempDir dir;
  auto root = dir.path() / "home";
  fs::create_directories(root);
  ss::ConfigHome home(root);
  spill(dir.path() / "x.toml", calc_toml);  // what "../x" would reach
  auto escape = edit(R"({"op":"replace_system_prompt","id":"esc","payload":{"agent":"../x","new_content":"pwned"}})");
  auto f = home.file_of(escape);
  BOOST_REQUIRE(f.has_error());
  BOOST_TEST((f.error() == Errc::invalid_input));
  refused(home, escape, dir.path() / "x.toml", "not a safe file name");
  refused(home, edit(R"({"op":"set_agent_class","id":"dot","target":"agents..hidden","payload":{"agent":".hidden","new_class":"c"}})"),
          root / ".hidden.toml", "not a safe file name");
  // models.toml is not an agent file, whatever an edit calls its agent.
  refused(home, edit(R"({"op":"set_agent_class","id":"res","payload":{"agent":"models","new_class":"c"}})"),
          home.models_file(), "reserved");
}

BOOST_AUTO_TEST_CASE(agents_lists_agent_files_only) {
  TempDir dir;
  ss::ConfigHome home(dir.path());
  BOOST_TEST(home.agents().empty());
  for (auto name : {"zeta.toml", "alpha.toml", "models.toml", "routing.toml", "tools.toml", "notes.txt"})
    spill(dir.path() / name, "");
  fs::create_directories(dir.path() / "dir.toml");
  BOOST_TEST(home.agents() == (std::vector<std::string>{"alpha", "zeta"}));
  BOOST_TEST(ss::ConfigHome(dir.path() / "missing").agents().empty());
}

BOOST_AUTO_TEST_CASE(fingerprint_follows_the_files) {
  Home h;
  auto const start = h.home.fingerprint();
  BOOST_TEST(start.size() == 64u);
  BOOST_TEST(h.home.fingerprint() == start);  // deterministic
  spill(h.dir.path() / "notes.txt", "not config");
  BOOST_TEST(h.home.fingerprint() == start);  // only *.toml counts

  auto a = applied(h.home, edit(R"({"op":"set_agent_param","id":"e1","target":"agents.calc.max_turns","payload":{"param":"max_turns","value":12}})"));
  auto const after = h.home.fingerprint();
  BOOST_TEST(after != start);
  BOOST_REQUIRE(ss::rollback(a));
  BOOST_TEST(h.home.fingerprint() == start);

  // A new file changes it too, and removing it brings it back.
  auto m = applied(h.home, edit(R"({"op":"set_model_param","id":"e2","payload":{"model":"m","param":"temperature","value":0.1}})"));
  BOOST_TEST(h.home.fingerprint() != start);
  BOOST_REQUIRE(ss::rollback(m));
  BOOST_TEST(h.home.fingerprint() == start);

  // Same bytes under another name is another configuration.
  TempDir other;
  spill(other.path() / "calc2.toml", calc_toml);
  BOOST_TEST(ss::ConfigHome(other.path()).fingerprint() != start);
  // Empty and missing directories: the same, stable value.
  TempDir empty;
  BOOST_TEST(ss::ConfigHome(empty.path()).fingerprint() == ss::ConfigHome(empty.path() / "nope").fingerprint());
  BOOST_TEST(ss::ConfigHome(empty.path()).fingerprint().size() == 64u);
}

// -- snapshots ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(snapshot_and_restore) {
  TempDir dir;
  auto file = dir.path() / "a.toml";
  auto missing = ss::take_snapshot(file);
  BOOST_REQUIRE(missing.has_value());
  BOOST_TEST(!missing.value().bytes.has_value());

  spill(file, "x = 1\n");
  auto snap = ss::take_snapshot(file);
  BOOST_REQUIRE(snap.has_value());
  BOOST_REQUIRE(snap.value().bytes.has_value());
  BOOST_TEST(snap.value().bytes.value() == "x = 1\n");

  spill(file, "x = 2\n");
  BOOST_REQUIRE(ss::restore(snap.value()));
  BOOST_TEST(slurp(file) == "x = 1\n");

  BOOST_REQUIRE(ss::restore(missing.value()));  // it did not exist: removed
  BOOST_TEST(!fs::exists(file));
  BOOST_TEST(ss::restore(missing.value()).has_value());  // already absent is fine

  fs::create_directories(dir.path() / "d.toml");
  auto unreadable = ss::take_snapshot(dir.path() / "d.toml");
  BOOST_REQUIRE(unreadable.has_error());
  BOOST_TEST((unreadable.error() == Errc::store_failed));
}

BOOST_AUTO_TEST_CASE(rollback_restores_bytes_exactly) {
  Home h;
  auto a = applied(h.home, edit(R"({"op":"add_tool_to_agent","id":"t1","target":"agents.calc.tools","payload":{"tool_name":"python"}})"));
  BOOST_TEST(slurp(h.calc()) != calc_toml);
  BOOST_TEST(a.before.file == h.calc());
  BOOST_REQUIRE(a.before.bytes.has_value());
  BOOST_TEST(a.before.bytes.value() == calc_toml);
  BOOST_REQUIRE(ss::rollback(a));
  BOOST_TEST(slurp(h.calc()) == calc_toml);  // the comment and the layout are back too
}

BOOST_AUTO_TEST_CASE(rollback_removes_a_file_the_edit_created) {
  Home h;
  BOOST_REQUIRE(!fs::exists(h.home.routing_file()));
  auto a = applied(h.home, edit(R"({"op":"set_model_for_query_class","id":"r1","payload":{"query_class":"math","model":"qwen"}})"));
  BOOST_TEST(fs::exists(h.home.routing_file()));
  BOOST_TEST(!a.before.bytes.has_value());
  BOOST_REQUIRE(ss::rollback(a));
  BOOST_TEST(!fs::exists(h.home.routing_file()));
}

// -- the ops ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(replace_prompt_round_trips_any_text) {
  Home h;
  std::string const prompt =
      "\nFirst line after a newline.\n"
      "Say \"exactly\" what 'you' mean; a path: C:\\temp\\new\n"
      "\ttabbed, ''' and \"\"\" and # not a comment = [table]\n"
      "unicode: é ✓ 日本\n"
      "\\n is two characters here\n";
  leash::json::object payload;
  payload["new_content"] = prompt;
  leash::json::object o;
  o["op"] = "replace_system_prompt";
  o["id"] = "rp";
  o["target"] = "agents.calc.system_prompt";
  o["payload"] = payload;
  auto a = applied(h.home, edit(leash::json::serialize(o)));
  BOOST_TEST((a.effective.op == EditOp::replace_system_prompt));

  auto c = agent_config(h.calc());
  BOOST_TEST(c.system_prompt == prompt);
  // Everything else in the file is still there.
  BOOST_TEST(c.name == "calc");
  BOOST_TEST(c.tools == (std::vector<std::string>{"calculator", "search"}));
  BOOST_TEST(c.max_turns == 10);
  BOOST_TEST(c.temperature == 0.3);
  auto doc = parsed(h.calc());
  BOOST_TEST(doc["agent"]["max_tokens"].value_or(std::int64_t(0)) == 512);
  BOOST_TEST(doc["agent"]["top_p"].value_or(0.0) == 0.9);
  BOOST_TEST(doc["agent"]["verbose"].value_or(true) == false);
  BOOST_TEST(doc["agent"]["stop"][0].value_or(std::string()) == "END");
  BOOST_TEST(doc["agent"]["extra"]["keep"].value_or(std::string()) == "me");
  // Floats are written in their shortest exact form, not toml++'s 17 digits.
  BOOST_TEST(slurp(h.calc()).find("temperature = 0.3\n") != std::string::npos, slurp(h.calc()));

  // Applying a second edit to the rewritten file works as well.
  auto again = edit(R"({"op":"replace_system_prompt","id":"rp2","target":"agents.calc.system_prompt","payload":{"new_content":"short"}})");
  applied(h.home, again);
  BOOST_TEST(agent_config(h.calc()).system_prompt == "short");
}

BOOST_AUTO_TEST_CASE(small_patch_stays_a_patch) {
  Home h;
  auto const diff =
      "--- a/system_prompt\n"
      "+++ b/system_prompt\n"
      "@@ -1,3 +1,3 @@\n"
      " You compute.\n"
      "-Show the steps.\n"
      "+Show every step.\n"
      " Check the result.\n";
  auto e = edit(patch_edit_json(diff));
  auto a = applied(h.home, e);
  BOOST_TEST((a.effective.op == EditOp::patch_system_prompt));
  BOOST_TEST(leash::json::serialize(a.effective.payload) == leash::json::serialize(e.payload));
  BOOST_TEST(agent_config(h.calc()).system_prompt == "You compute.\nShow every step.\nCheck the result.\nAnswer briefly.");
}

BOOST_AUTO_TEST_CASE(large_patch_becomes_replace_with_the_patched_text) {
  Home h;
  auto const diff =
      "@@ -1,4 +1,4 @@\n"
      "-You compute.\n"
      "-Show the steps.\n"
      "-Check the result.\n"
      "+You are a calculator.\n"
      "+Show the working.\n"
      "+Verify the result twice.\n"
      " Answer briefly.\n";
  auto e = edit(patch_edit_json(diff, "big"));
  auto a = applied(h.home, e);
  std::string const patched = "You are a calculator.\nShow the working.\nVerify the result twice.\nAnswer briefly.";
  BOOST_TEST((a.effective.op == EditOp::replace_system_prompt));
  BOOST_TEST(a.effective.id == "big");
  BOOST_TEST(a.effective.target == e.target);
  BOOST_TEST(a.effective.rationale == e.rationale);
  BOOST_TEST(a.effective.expected_improvement == e.expected_improvement);
  BOOST_TEST((a.effective.risk_tier == ss::risk_tier_of(EditOp::replace_system_prompt)));
  BOOST_TEST((a.effective.pillar == ss::pillar_of(EditOp::replace_system_prompt)));
  BOOST_TEST(ss::agent_of(a.effective) == "calc");
  auto const* content = a.effective.payload.if_contains("new_content");
  BOOST_REQUIRE(content);
  BOOST_TEST(content->as_string() == patched);  // the patched prompt, not the diff
  BOOST_TEST(!a.effective.payload.contains("diff"));
  BOOST_TEST(ss::check_edit(a.effective).has_value());
  BOOST_TEST(agent_config(h.calc()).system_prompt == patched);
}

BOOST_AUTO_TEST_CASE(patch_threshold_is_an_option) {
  Home h;
  auto const diff = "@@ -2 +2 @@\n-Show the steps.\n+Show every step.\n";  // 1 of 4 lines
  ss::ApplyOptions strict;
  strict.max_patch_change = 0.2;
  auto a = applied(h.home, edit(patch_edit_json(diff)), strict);
  BOOST_TEST((a.effective.op == EditOp::replace_system_prompt));
}

BOOST_AUTO_TEST_CASE(patch_with_wrong_context_is_refused) {
  Home h;
  auto const diff =
      "@@ -1,3 +1,3 @@\n"
      " You compute.\n"
      "-Show the stepz.\n"
      "+Show every step.\n"
      " Check the result.\n";
  refused(h.home, edit(patch_edit_json(diff, "ctx")), h.calc(), "hunk 1");
  refused(h.home, edit(patch_edit_json(diff, "ctx")), h.calc(), "'Show the stepz.'");
}

BOOST_AUTO_TEST_CASE(a_bad_diff_never_becomes_the_prompt) {
  Home h;
  std::string const junk = "Please make the prompt more careful about units.";
  refused(h.home, edit(patch_edit_json(junk, "junk")), h.calc(), "no hunk");
  BOOST_TEST(agent_config(h.calc()).system_prompt == prompt4);

  auto resolved = ss::resolve_prompt_patch(edit(patch_edit_json(junk, "junk")), prompt4);
  BOOST_REQUIRE(resolved.has_error());
  BOOST_TEST((resolved.error() == Errc::invalid_input));
  BOOST_TEST(resolved.error().what().find("junk") != std::string::npos);
  // Nor does a diff against another text, however large.
  auto other = ss::resolve_prompt_patch(edit(patch_edit_json("@@ -1 +1 @@\n-Hello\n+Bye\n")), prompt4);
  BOOST_TEST(other.has_error());
}

BOOST_AUTO_TEST_CASE(resolve_prompt_patch_rule) {
  auto small = ss::resolve_prompt_patch(edit(patch_edit_json("@@ -4 +4 @@\n-Answer briefly.\n+Answer in one line.\n")), prompt4);
  BOOST_REQUIRE(small.has_value());
  BOOST_TEST((small.value().op == EditOp::patch_system_prompt));
  // Exactly half stays a patch ("more than" the fraction becomes a replace).
  auto half = ss::resolve_prompt_patch(
      edit(patch_edit_json("@@ -3,2 +3,2 @@\n-Check the result.\n-Answer briefly.\n+Check it.\n+Be brief.\n")), prompt4);
  BOOST_REQUIRE(half.has_value());
  BOOST_TEST((half.value().op == EditOp::patch_system_prompt));
  auto big = ss::resolve_prompt_patch(
      edit(patch_edit_json("@@ -2,3 +2,3 @@\n-Show the steps.\n-Check the result.\n-Answer briefly.\n+a\n+b\n+c\n")),
      prompt4);
  BOOST_REQUIRE(big.has_value());
  BOOST_TEST((big.value().op == EditOp::replace_system_prompt));
  BOOST_TEST(big.value().payload.at("new_content").as_string() == "You compute.\na\nb\nc");
  // Other ops pass through.
  auto other = edit(R"({"op":"set_agent_class","id":"c","payload":{"new_class":"react"}})");
  auto same = ss::resolve_prompt_patch(other, prompt4);
  BOOST_REQUIRE(same.has_value());
  BOOST_TEST((same.value().op == EditOp::set_agent_class));
}

BOOST_AUTO_TEST_CASE(set_agent_class_writes_class) {
  Home h;
  auto a = applied(h.home, edit(R"({"op":"set_agent_class","id":"k","target":"agents.calc","payload":{"new_class":"react"}})"));
  BOOST_TEST(parsed(h.calc())["agent"]["class"].value_or(std::string()) == "react");
  BOOST_TEST(agent_config(h.calc()).tools.size() == 2u);
  BOOST_REQUIRE(ss::rollback(a));
  BOOST_TEST(slurp(h.calc()) == calc_toml);
}

BOOST_AUTO_TEST_CASE(set_agent_param_known_and_existing_keys) {
  Home h;
  applied(h.home, edit(R"({"op":"set_agent_param","id":"a","target":"agents.calc","payload":{"param":"max_turns","value":25}})"));
  applied(h.home, edit(R"({"op":"set_agent_param","id":"b","target":"agents.calc","payload":{"param":"temperature","value":0}})"));
  applied(h.home, edit(R"({"op":"set_agent_param","id":"c","target":"agents.calc","payload":{"param":"max_tokens","value":2048}})"));
  applied(h.home, edit(R"({"op":"set_agent_param","id":"d","target":"agents.calc","payload":{"param":"top_p","value":1}})"));
  applied(h.home, edit(R"({"op":"set_agent_param","id":"e","target":"agents.calc","payload":{"param":"verbose","value":true}})"));
  applied(h.home, edit(R"({"op":"set_agent_param","id":"f","target":"agents.calc","payload":{"param":"stop","value":["END","STOP"]}})"));
  auto c = agent_config(h.calc());
  BOOST_TEST(c.max_turns == 25);
  BOOST_TEST(c.temperature == 0.0);
  auto doc = parsed(h.calc());
  BOOST_TEST(doc["agent"]["temperature"].is_floating_point());
  BOOST_TEST(doc["agent"]["max_tokens"].value_or(std::int64_t(0)) == 2048);
  BOOST_TEST(doc["agent"]["top_p"].is_floating_point());  // a float stays a float
  BOOST_TEST(doc["agent"]["top_p"].value_or(0.0) == 1.0);
  BOOST_TEST(doc["agent"]["verbose"].value_or(false) == true);
  BOOST_TEST(doc["agent"]["stop"].as_array()->size() == 2u);
  BOOST_TEST(doc["agent"]["stop"][1].value_or(std::string()) == "STOP");
}

BOOST_AUTO_TEST_CASE(set_agent_param_refusals_leave_the_file_alone) {
  Home h;
  auto param = [](std::string const& id, std::string const& p, std::string const& v) {
    return edit(R"({"op":"set_agent_param","id":")" + id + R"(","target":"agents.calc","payload":{"param":")" + p +
                R"(","value":)" + v + "}}");
  };
  refused(h.home, param("n1", "name", "\"other\""), h.calc(), "name cannot be changed");
  refused(h.home, param("n2", "tools", "[\"a\"]"), h.calc(), "add_tool_to_agent");
  refused(h.home, param("n3", "system_prompt", "\"sneaky\""), h.calc(), "review tier");
  refused(h.home, param("n4", "class", "\"x\""), h.calc(), "set_agent_class");
  refused(h.home, param("n5", "unknown_knob", "3"), h.calc(), "has no [agent].unknown_knob");
  refused(h.home, param("n6", "max_turns", "0"), h.calc(), "max_turns must be an integer");
  refused(h.home, param("n7", "max_turns", "\"ten\""), h.calc(), "max_turns must be an integer");
  refused(h.home, param("n8", "max_turns", "2.5"), h.calc(), "max_turns must be an integer");
  refused(h.home, param("n9", "max_turns", "3000000000"), h.calc(), "max_turns must be an integer");
  refused(h.home, param("t1", "temperature", "-0.1"), h.calc(), "temperature must be a finite number");
  refused(h.home, param("t2", "temperature", "\"hot\""), h.calc(), "temperature must be a finite number");
  refused(h.home, param("k1", "max_tokens", "\"many\""), h.calc(), "must be an integer");
  refused(h.home, param("k2", "max_tokens", "1.5"), h.calc(), "must be an integer");
  refused(h.home, param("k3", "verbose", "1"), h.calc(), "must be a boolean");
  refused(h.home, param("k4", "stop", "\"END\""), h.calc(), "must be an array");
  refused(h.home, param("k5", "extra", "1"), h.calc(), "does not change");
}

BOOST_AUTO_TEST_CASE(few_shot_exemplars_replace_the_list) {
  Home h;
  applied(h.home, edit(R"({"op":"edit_few_shot_exemplars","id":"fs1","target":"agents.calc","payload":{"exemplars":[
      {"input":"2+2","output":"4"},{"input":"say \"hi\"\nthen stop","output":"hi"}]}})"));
  auto doc = parsed(h.calc());
  auto const* list = doc["agent"]["few_shot"].as_array();
  BOOST_REQUIRE(list);
  BOOST_REQUIRE(list->size() == 2u);
  BOOST_TEST((*list)[1].as_table()->get("input")->value_or(std::string()) == "say \"hi\"\nthen stop");
  BOOST_TEST((*list)[0].as_table()->get("output")->value_or(std::string()) == "4");
  // Written as an array of inline tables inside [agent].
  BOOST_TEST(slurp(h.calc()).find("few_shot = [ { input = \"2+2\", output = \"4\" }") != std::string::npos,
             slurp(h.calc()));

  applied(h.home, edit(R"({"op":"edit_few_shot_exemplars","id":"fs2","target":"agents.calc","payload":{"exemplars":[
      {"input":"3*3","output":"9"}]}})"));
  auto again = parsed(h.calc());
  BOOST_REQUIRE(again["agent"]["few_shot"].as_array()->size() == 1u);
  BOOST_TEST(again["agent"]["few_shot"][0]["input"].value_or(std::string()) == "3*3");
  BOOST_TEST(agent_config(h.calc()).name == "calc");
}

BOOST_AUTO_TEST_CASE(add_tool_appends_in_order) {
  Home h;
  auto a = applied(h.home, edit(R"({"op":"add_tool_to_agent","id":"t","target":"agents.calc.tools","payload":{"tool_name":"python"}})"));
  BOOST_TEST(agent_config(h.calc()).tools == (std::vector<std::string>{"calculator", "search", "python"}));
  BOOST_TEST((a.effective.op == EditOp::add_tool_to_agent));
}

BOOST_AUTO_TEST_CASE(add_tool_refusals) {
  Home h;
  refused(h.home, edit(R"({"op":"add_tool_to_agent","id":"dup","payload":{"agent":"calc","tool_name":"search"}})"), h.calc(),
          "already enabled");
  ss::ApplyOptions o;
  o.available_tools = std::vector<std::string>{"calculator", "search", "python"};
  refused(h.home, edit(R"({"op":"add_tool_to_agent","id":"na","payload":{"agent":"calc","tool_name":"shell"}})"), h.calc(),
          "not available", o);
  auto ok = ss::apply_edit(h.home, edit(R"({"op":"add_tool_to_agent","id":"ok","payload":{"agent":"calc","tool_name":"python"}})"), o);
  BOOST_TEST(ok.has_value(), error_text(ok));

  // No tools list: every tool is on already, and adding one would restrict the agent.
  spill(h.home.agent_file("open"), "[agent]\nname = \"open\"\n");
  refused(h.home, edit(R"({"op":"add_tool_to_agent","id":"all","payload":{"agent":"open","tool_name":"search"}})"),
          h.home.agent_file("open"), "every tool");
}

BOOST_AUTO_TEST_CASE(remove_tool_keeps_the_others_in_order) {
  Home h;
  spill(h.calc(), "[agent]\nname = \"calc\"\ntools = [\"a\", \"b\", \"c\"]\n");
  applied(h.home, edit(R"({"op":"remove_tool_from_agent","id":"r","payload":{"agent":"calc","tool_name":"b"}})"));
  BOOST_TEST(agent_config(h.calc()).tools == (std::vector<std::string>{"a", "c"}));
}

BOOST_AUTO_TEST_CASE(remove_tool_refusals) {
  Home h;
  refused(h.home, edit(R"({"op":"remove_tool_from_agent","id":"ne","payload":{"agent":"calc","tool_name":"python"}})"), h.calc(),
          "not enabled");
  spill(h.calc(), "[agent]\nname = \"calc\"\ntools = [\"calculator\"]\n");
  // An empty list would enable every tool: removing the last one is refused.
  refused(h.home, edit(R"({"op":"remove_tool_from_agent","id":"last","payload":{"agent":"calc","tool_name":"calculator"}})"),
          h.calc(), "every tool");

  spill(h.calc(), "[agent]\nname = \"calc\"\ntools = []\n");
  auto remove_search = edit(R"({"op":"remove_tool_from_agent","id":"all","payload":{"agent":"calc","tool_name":"search"}})");
  refused(h.home, remove_search, h.calc(), "available_tools");
  // With the ToolSet's tools known, "every tool but search" can be written out.
  ss::ApplyOptions o;
  o.available_tools = std::vector<std::string>{"calculator", "search", "python"};
  applied(h.home, remove_search, o);
  BOOST_TEST(agent_config(h.calc()).tools == (std::vector<std::string>{"calculator", "python"}));
}

BOOST_AUTO_TEST_CASE(set_model_param_creates_and_keeps) {
  Home h;
  auto first = applied(h.home, edit(R"({"op":"set_model_param","id":"m1","payload":{"model":"gpt-4o:mini","param":"temperature","value":0.2}})"));
  BOOST_TEST(!first.before.bytes.has_value());
  applied(h.home, edit(R"({"op":"set_model_param","id":"m2","payload":{"model":"llama3.1","param":"max_tokens","value":4096}})"));
  applied(h.home, edit(R"({"op":"set_model_param","id":"m3","payload":{"model":"gpt-4o:mini","param":"stream","value":false}})"));
  auto doc = parsed(h.home.models_file());
  auto const* mini = doc["models"]["gpt-4o:mini"].as_table();
  BOOST_REQUIRE(mini);
  BOOST_TEST(mini->get("temperature")->value_or(0.0) == 0.2);
  BOOST_TEST(mini->get("stream")->value_or(true) == false);
  BOOST_TEST(doc["models"]["llama3.1"]["max_tokens"].value_or(std::int64_t(0)) == 4096);  // a dotted id is one key
  BOOST_TEST(slurp(h.home.models_file()).find("[models.\"gpt-4o:mini\"]") != std::string::npos,
             slurp(h.home.models_file()));
}

BOOST_AUTO_TEST_CASE(shared_files_keep_their_other_content) {
  Home h;
  spill(h.home.routing_file(),
        "# routes\n[routing]\ndefault = \"small\"\n[routing.policy_map]\ncode = \"coder-7b\"\n[other]\nx = [1, 2]\n");
  auto a = applied(h.home, edit(R"({"op":"set_model_for_query_class","id":"r","payload":{"query_class":"math","model":"qwen-math"}})"));
  auto doc = parsed(h.home.routing_file());
  BOOST_TEST(doc["routing"]["policy_map"]["math"].value_or(std::string()) == "qwen-math");
  BOOST_TEST(doc["routing"]["policy_map"]["code"].value_or(std::string()) == "coder-7b");
  BOOST_TEST(doc["routing"]["default"].value_or(std::string()) == "small");
  BOOST_TEST(doc["other"]["x"][1].value_or(std::int64_t(0)) == 2);
  applied(h.home, edit(R"({"op":"set_model_for_query_class","id":"r2","payload":{"query_class":"code","model":"coder-14b"}})"));
  BOOST_TEST(parsed(h.home.routing_file())["routing"]["policy_map"]["code"].value_or(std::string()) == "coder-14b");

  // Something other than a table where one is needed: refused, file unchanged.
  spill(h.home.tools_file(), "tools = \"not a table\"\n");
  refused(h.home, edit(R"({"op":"edit_tool_description","id":"td","payload":{"tool_name":"t","new_description":"d"}})"),
          h.home.tools_file(), "not a table");
}

BOOST_AUTO_TEST_CASE(edit_tool_description_escapes) {
  Home h;
  std::string const desc = "Evaluates \"arithmetic\" # not a comment\nback\\slash; [x] = y";
  leash::json::object payload;
  payload["tool_name"] = "calculator";
  payload["new_description"] = desc;
  leash::json::object o;
  o["op"] = "edit_tool_description";
  o["id"] = "td";
  o["payload"] = payload;
  applied(h.home, edit(leash::json::serialize(o)));
  auto doc = parsed(h.home.tools_file());
  BOOST_TEST(doc["tools"]["calculator"]["description"].value_or(std::string()) == desc);
  BOOST_TEST(doc.size() == 1u);
}

// -- refusals common to every op -------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_agent_file_is_refused) {
  Home h;
  refused(h.home, edit(R"({"op":"set_agent_class","id":"ghost","payload":{"agent":"ghost","new_class":"x"}})"),
          h.home.agent_file("ghost"), "no configuration file");
}

BOOST_AUTO_TEST_CASE(broken_files_are_refused) {
  Home h;
  spill(h.calc(), "[agent\nname = \"calc\"\n");
  refused(h.home, edit(R"({"op":"set_agent_class","id":"bad","payload":{"agent":"calc","new_class":"x"}})"), h.calc(),
          "not valid TOML");
  spill(h.calc(), "[other]\nname = \"calc\"\n");
  refused(h.home, edit(R"({"op":"set_agent_class","id":"noagent","payload":{"agent":"calc","new_class":"x"}})"), h.calc(),
          "no [agent] table");
  // Already not a valid agent config (max_turns 0): an edit that leaves it so is refused.
  spill(h.calc(), "[agent]\nname = \"calc\"\nmax_turns = 0\n");
  refused(h.home, edit(R"({"op":"set_agent_class","id":"inv","payload":{"agent":"calc","new_class":"x"}})"), h.calc(),
          "no longer be valid");
}

BOOST_AUTO_TEST_CASE(malformed_and_unapplicable_edits) {
  Home h;
  ss::Edit e;
  e.id = "raw";
  e.op = EditOp::add_tool_to_agent;
  e.target = "agents.calc.tools";  // no tool_name: check_edit refuses it
  refused(h.home, e, h.calc(), "tool_name");
  ss::Edit lora;
  lora.id = "lora";
  lora.op = EditOp::lora_finetune;
  auto r = ss::apply_edit(h.home, lora);
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((r.error() == Errc::invalid_input));
  BOOST_TEST(r.error().what().find("no applier") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_refused_before_writing) {
  Home h;
  ss::Edit e;
  e.id = "utf";
  e.op = EditOp::replace_system_prompt;
  e.target = "agents.calc.system_prompt";
  e.payload["new_content"] = std::string("bad \xff byte");
  refused(h.home, e, h.calc(), "read back");
}

// -- unified diffs ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(diff_finds_a_moved_hunk) {
  std::string const text = "a\nb\nc\nd\ne\nf\ng\n";
  // Stated at line 1, really at line 4: found by searching nearby.
  auto r = ss::apply_unified_diff(text, "@@ -1,3 +1,3 @@\n d\n-e\n+E\n f\n");
  BOOST_REQUIRE_MESSAGE(r.has_value(), error_text(r));
  BOOST_TEST(r.value() == "a\nb\nc\nd\nE\nf\ng\n");
}

BOOST_AUTO_TEST_CASE(diff_applies_several_hunks) {
  std::string const text = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
  auto const diff =
      "--- a\n+++ b\n"
      "@@ -1,2 +1,3 @@\n 1\n+1.5\n 2\n"
      "@@ -8,2 +9,1 @@\n 8\n-9\n";
  auto r = ss::apply_unified_diff(text, diff);
  BOOST_REQUIRE_MESSAGE(r.has_value(), error_text(r));
  BOOST_TEST(r.value() == "1\n1.5\n2\n3\n4\n5\n6\n7\n8\n");
}

BOOST_AUTO_TEST_CASE(diff_checks_context_and_removed_lines) {
  std::string const text = "alpha\nbeta\ngamma\n";
  auto removed = ss::apply_unified_diff(text, "@@ -1,2 +1,2 @@\n alpha\n-BETA\n+b\n");
  BOOST_REQUIRE(removed.has_error());
  BOOST_TEST((removed.error() == Errc::invalid_input));
  BOOST_TEST(removed.error().what().find("hunk 1") != std::string::npos, removed.error().what());
  BOOST_TEST(removed.error().what().find("'beta'") != std::string::npos, removed.error().what());

  auto second = ss::apply_unified_diff(text, "@@ -1 +1 @@\n-alpha\n+A\n@@ -3 +3 @@\n context\n-gamma\n+G\n");
  BOOST_REQUIRE(second.has_error());
  BOOST_TEST(second.error().what().find("hunk 2") != std::string::npos, second.error().what());
  // Hunks apply in order: a later hunk cannot match above an earlier one.
  auto backwards = ss::apply_unified_diff(text, "@@ -3 +3 @@\n-gamma\n+G\n@@ -1 +1 @@\n-alpha\n+A\n");
  BOOST_TEST(backwards.has_error());
}

BOOST_AUTO_TEST_CASE(diff_edge_cases) {
  // Insertion at the very start, and into an empty text.
  auto start = ss::apply_unified_diff("x\n", "@@ -0,0 +1 @@\n+first\n");
  BOOST_REQUIRE_MESSAGE(start.has_value(), error_text(start));
  BOOST_TEST(start.value() == "first\nx\n");
  auto empty = ss::apply_unified_diff("", "@@ -0,0 +1,2 @@\n+a\n+b\n");
  BOOST_REQUIRE(empty.has_value());
  BOOST_TEST(empty.value() == "a\nb\n");
  // "\ No newline at end of file" on the new side.
  auto no_eol = ss::apply_unified_diff("a\nb\n", "@@ -2 +2 @@\n-b\n+B\n\\ No newline at end of file\n");
  BOOST_REQUIRE(no_eol.has_value());
  BOOST_TEST(no_eol.value() == "a\nB");
  // ... and on the old side, the new one gaining a newline.
  auto gains = ss::apply_unified_diff("a\nb", "@@ -2 +2 @@\n-b\n\\ No newline at end of file\n+B\n");
  BOOST_REQUIRE(gains.has_value());
  BOOST_TEST(gains.value() == "a\nB\n");
  // A text without a final newline keeps it that way when the diff says nothing.
  auto keeps = ss::apply_unified_diff("a\nb", "@@ -1 +1 @@\n-a\n+A\n");
  BOOST_REQUIRE(keeps.has_value());
  BOOST_TEST(keeps.value() == "A\nb");
  // An empty line in a hunk is an empty context line; blank lines between hunks are spacing.
  auto blank = ss::apply_unified_diff("a\n\nb\nc\n", "@@ -1,3 +1,3 @@\n a\n\n-b\n+B\n\n@@ -4 +4 @@\n-c\n+C\n");
  BOOST_REQUIRE_MESSAGE(blank.has_value(), error_text(blank));
  BOOST_TEST(blank.value() == "a\n\nB\nC\n");
  // A header without numbers is searched for.
  auto bare = ss::apply_unified_diff("x\ny\nz\n", "@@ @@\n y\n-z\n+Z\n");
  BOOST_REQUIRE(bare.has_value());
  BOOST_TEST(bare.value() == "x\ny\nZ\n");
  // Not a diff, or a stray line inside one.
  BOOST_TEST(ss::apply_unified_diff("a\n", "").has_error());
  auto stray = ss::apply_unified_diff("a\n", "@@ -1 +1 @@\n-a\n+b\n```\n");
  BOOST_REQUIRE(stray.has_error());
  BOOST_TEST(stray.error().what().find("not part of hunk 1") != std::string::npos, stray.error().what());
  // A pure insertion past the end of the text.
  BOOST_TEST(ss::apply_unified_diff("a\n", "@@ -5,0 +6 @@\n+z\n").has_error());
}

BOOST_AUTO_TEST_CASE(changed_line_fraction_is_positional) {
  BOOST_TEST(ss::changed_line_fraction("", "") == 0.0);
  BOOST_TEST(ss::changed_line_fraction("a\nb\n", "a\nb") == 0.0);  // a final newline is not a line
  BOOST_TEST(ss::changed_line_fraction("a\nb\nc\nd", "a\nX\nc\nd") == 0.25);
  BOOST_TEST(ss::changed_line_fraction("a\nb", "a\nb\nc\nd") == 0.5);
  BOOST_TEST(ss::changed_line_fraction("", "x") == 1.0);
  // Inserting one line at the top shifts every line: positional, as the reference counts.
  BOOST_TEST(ss::changed_line_fraction("a\nb\nc", "new\na\nb\nc") == 1.0);
}

BOOST_AUTO_TEST_SUITE_END()

#else

BOOST_AUTO_TEST_SUITE(learn_spec_search_applier)
BOOST_AUTO_TEST_CASE(tomlplusplus_not_available) { BOOST_TEST_MESSAGE("toml++ was not found: nothing to test"); }
BOOST_AUTO_TEST_SUITE_END()

#endif
