// Tests of leash/learn/spec_search/teacher.hpp: each diagnostic tool over a
// real SQLite store and real config files (called directly, as the loop
// calls them), then whole teacher runs with scripted teachers: an answer
// after tool calls, a teacher that never stops, options that cannot work and
// a cost limit with a priced model.
//
// Without toml++ or SQLite this suite is empty (the config home needs toml++).
#if defined(LEASH_HAS_TOMLPLUSPLUS) && defined(LEASH_HAS_SQLITE)
#include <leash/learn/spec_search/teacher.hpp>
#include <leash/llm/scripted.hpp>
#include <leash/store/open.hpp>
#endif
#include <boost/test/unit_test.hpp>

#if defined(LEASH_HAS_TOMLPLUSPLUS) && defined(LEASH_HAS_SQLITE)
#include "recorded_run.hpp"
#include "scripted_teacher.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace test_learn_spec_search_teacher {

namespace fs = std::filesystem;
namespace json = leash::json;
namespace learn = leash::learn;
namespace ss = leash::learn::spec_search;
using leash::Errc;
using leash_test::call;
using leash_test::reply;
using leash_test::run_sync;
using leash_test::teacher;
using leash_test::Teacher;
using leash_test::read_text;
using leash_test::write_text;

std::string repeat(std::string_view piece, std::size_t n) {
  std::string out;
  out.reserve(piece.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += piece;
  return out;
}

/// Whether `s` is well-formed UTF-8 (no cut character, no stray continuation byte).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

/// `cut` is `original` cut at no more than `cap` bytes with the "more bytes"
/// note the teacher's tools add, and the note counts the bytes left out.
void check_cut(std::string_view cut, std::string_view original, std::size_t cap) {
  BOOST_TEST(valid_utf8(cut));
  auto note = cut.rfind("... [");
  BOOST_REQUIRE(note != std::string_view::npos);
  auto kept = cut.substr(0, note);
  BOOST_TEST(kept.size() <= cap);
  BOOST_TEST(kept.size() + 4 > cap);  // at most one character backed off
  BOOST_TEST(original.starts_with(kept));
  BOOST_TEST(cut.substr(note) == "... [" + std::to_string(original.size() - kept.size()) + " more bytes]");
}

std::string text(json::value const& v) { return std::string(v.as_string()); }

/// An ended (or, without a status, running) run as the store holds it: one
/// iteration that said something and called `search`.
leash::State stored_run(std::string id, std::string goal, std::string agent, std::optional<leash::Status> status,
                        double started_at, std::string result) {
  leash_test::RecordedRun r;
  r.id = std::move(id);
  r.goal = std::move(goal);
  r.agent = std::move(agent);
  r.model = "student-model";
  r.status = status;
  r.started_at = started_at;
  r.result = std::move(result);
  return leash_test::recorded_run(std::move(r));
}

// r3: a query of 3,001 bytes and a result of 7,502 whose cuts fall inside a
// character, 25 iterations (51 steps) and one tool output over 1,000 bytes.
std::string const long_query = "x" + repeat("€", 1000);
std::string const long_result = "ab" + repeat("€", 2500);
std::string const long_output = repeat("é", 1500);

leash::State long_run() {
  auto s = stored_run("r3", long_query, "calc", leash::Status::budget_exhausted, 1030, long_result);
  s.iterations.clear();
  for (std::size_t i = 0; i < 25; ++i) {
    leash::IterationRecord it;
    it.index = i;
    it.plan_text = "step " + std::to_string(i);
    it.output_tokens = 5;
    leash::ActionRecord a;
    a.tool = "lookup";
    a.args_excerpt = R"({"n":)" + std::to_string(i) + "}";
    a.result_excerpt = i == 0 ? long_output : "ok";
    it.actions.push_back(a);
    s.iterations.push_back(it);
  }
  return s;
}

learn::EvalSample sample(std::string id, std::string query, std::string expected, std::string category) {
  learn::EvalSample s;
  s.id = std::move(id);
  s.query = std::move(query);
  s.expected = std::move(expected);
  if (!category.empty()) s.metadata["category"] = std::move(category);
  return s;
}

constexpr char const* calc_toml =
    "[agent]\nname = \"calc\"\ntools = [\"lookup\"]\nmax_turns = 5\nsystem_prompt = \"Answer briefly.\"\n";
constexpr char const* tools_toml = "[tools.calculator]\ndescription = \"Evaluate arithmetic exactly (override).\"\n";

/// A config home (calc.toml, tools.toml, a non-TOML file, a subdirectory),
/// a SQLite store with six runs (one of them the learning layer's own) and a
/// context over both.
struct Fixture {
  leash_test::TempDir dir{"leash-teacher"};
  fs::path home = dir.path() / "agents";
  leash::AnyStore store;
  std::shared_ptr<ss::TeacherContext> context;

  Fixture() {
    fs::create_directories(home / "archive");
    write_text(home / "calc.toml", calc_toml);
    write_text(home / "tools.toml", tools_toml);
    write_text(home / "notes.txt", "not configuration");
    write_text(home / "archive" / "old.toml", "[agent]\nname = \"old\"\n");
    auto opened = leash::open_store("sqlite:" + (dir.path() / "leash.db").string());
    BOOST_REQUIRE(opened.has_value());
    store = opened.value();
    using leash::Status;
    std::vector<leash::State> runs = {
        stored_run("r0", "Fix the failing tests in parser", "calc", Status::success, 1000, "All green."),
        stored_run("r1", "What is 6 * 7?", "calc", Status::no_progress, 1010, "About 40."),
        stored_run("r2", "Summarise the quarterly report", "writer", Status::success, 1020, "A summary."),
        long_run(),
        stored_run("r4", "Translate the readme", "calc", std::nullopt, 1040, ""),
        stored_run("l0", "diagnose the student", std::string(learn::learning_agent), Status::success, 1050,
                   "a diagnosis"),
    };
    for (auto const& s : runs) BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
    BOOST_REQUIRE(run_sync(store.set_feedback("r0", 0.9, "thumbs")).has_value());
    context = std::make_shared<ss::TeacherContext>(learn::TraceStore(store), ss::ConfigHome(home));
    context->student_tools = {{"calculator", "Evaluate an arithmetic expression."},
                              {"lookup", "Look up a fact."}};
  }
};

std::vector<std::string> ids_of(json::value const& listing) {
  std::vector<std::string> out;
  for (auto const& t : listing.as_array()) out.push_back(text(t.at("trace_id")));
  return out;
}

json::value listed(std::shared_ptr<ss::TeacherContext> const& c, ss::ListTracesArgs const& a = {}) {
  auto r = run_sync(ss::ListTracesTool{{c}}(a));
  BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : ""));
  return r.value();
}

using V = std::vector<std::string>;

// ---- scripted teachers ----------------------------------------------------------

/// A teacher that only ever calls list_traces, each time with another limit
/// (so the no-progress policy never sees a repeat): `n` calls, the last repeating.
Teacher endless_teacher(int n) {
  std::vector<leash::llm::Completion> replies;
  for (int i = 1; i <= n; ++i) replies.push_back(call("list_traces", {{"limit", i}}, "call-" + std::to_string(i)));
  return teacher(std::move(replies));
}

/// A student that answers "42" for 120 tokens and 1 cent, remembering what it was asked.
struct StudentLog {
  std::vector<learn::EvalSample> asked;
};

std::function<boost::asio::awaitable<leash::result<learn::Answer>>(learn::EvalSample const&)> student(
    std::shared_ptr<StudentLog> log) {
  return [log](learn::EvalSample const& s) -> boost::asio::awaitable<leash::result<learn::Answer>> {
    log->asked.push_back(s);
    learn::Answer a;
    a.text = "42";
    a.tokens = 120;
    a.cost_usd = 0.01;
    a.run_id = "student-run-" + std::to_string(log->asked.size());
    a.status = leash::Status::success;
    co_return a;
  };
}

BOOST_AUTO_TEST_SUITE(learn_spec_search_teacher)

// ---- list_traces ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(list_traces_lists_newest_first_with_every_field_and_no_learning_records) {
  Fixture f;
  auto all = listed(f.context);
  BOOST_TEST(ids_of(all) == (V{"r4", "r3", "r2", "r1", "r0"}), boost::test_tools::per_element());
  auto const& r0 = all.as_array().back().as_object();
  for (auto key : {"trace_id", "agent", "model", "query", "outcome", "feedback", "result"})
    BOOST_TEST(r0.contains(key), key);
  BOOST_TEST(text(r0.at("agent")) == "calc");
  BOOST_TEST(text(r0.at("model")) == "student-model");
  BOOST_TEST(text(r0.at("query")) == "Fix the failing tests in parser");
  BOOST_TEST(text(r0.at("outcome")) == "success");
  BOOST_TEST(r0.at("feedback").as_double() == 0.9);
  BOOST_TEST(text(r0.at("result")) == "All green.");
  auto const& r4 = all.as_array().front().as_object();
  BOOST_TEST(text(r4.at("outcome")) == "unknown");  // still running
  BOOST_TEST(r4.at("feedback").is_null());
  BOOST_TEST(!r4.contains("steps"));  // a listing has no steps

  // A listing cuts the query and the result at 200 bytes, on a character.
  auto const& r3 = all.as_array()[1].as_object();
  check_cut(text(r3.at("query")), long_query, 200);
  check_cut(text(r3.at("result")), long_result, 200);
}

BOOST_AUTO_TEST_CASE(list_traces_honours_agent_outcome_and_limit) {
  Fixture f;
  ss::ListTracesArgs a;
  a.agent = "calc";
  BOOST_TEST(ids_of(listed(f.context, a)) == (V{"r4", "r3", "r1", "r0"}), boost::test_tools::per_element());
  a.outcome = "failure";
  BOOST_TEST(ids_of(listed(f.context, a)) == (V{"r3", "r1"}), boost::test_tools::per_element());
  a.outcome = "success";
  BOOST_TEST(ids_of(listed(f.context, a)) == (V{"r0"}), boost::test_tools::per_element());
  a.agent.reset();
  BOOST_TEST(ids_of(listed(f.context, a)) == (V{"r2", "r0"}), boost::test_tools::per_element());
  a.outcome = "unknown";
  BOOST_TEST(ids_of(listed(f.context, a)) == (V{"r4"}), boost::test_tools::per_element());
  a.outcome.reset();
  a.agent = "nobody";
  BOOST_TEST(listed(f.context, a).as_array().empty());
  ss::ListTracesArgs two;
  two.limit = 2;
  BOOST_TEST(ids_of(listed(f.context, two)) == (V{"r4", "r3"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(list_traces_refuses_an_unknown_outcome) {
  Fixture f;
  for (auto bad : {"failed", "SUCCESS", ""}) {
    ss::ListTracesArgs a;
    a.outcome = bad;
    auto r = run_sync(ss::ListTracesTool{{f.context}}(a));
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST((r.error() == Errc::invalid_arguments), bad);
    BOOST_TEST(r.error().what().find("success, failure or unknown") != std::string::npos, r.error().what());
  }
}

BOOST_AUTO_TEST_CASE(limits_are_capped_at_100_traces_20_search_hits_and_50_tasks) {
  Fixture f;
  for (int i = 0; i < 105; ++i) {
    auto s = stored_run("bulk-" + std::to_string(i), "bulk task number " + std::to_string(i), "bulk",
                        leash::Status::success, 2000 + i, "done");
    BOOST_REQUIRE(run_sync(f.store.create_run(s)).has_value());
  }
  BOOST_TEST(listed(f.context).as_array().size() == 20u);  // the default
  ss::ListTracesArgs many;
  many.limit = 1000;
  auto capped = listed(f.context, many);
  BOOST_TEST(capped.as_array().size() == 100u);
  BOOST_TEST(text(capped.as_array().front().at("trace_id")) == "bulk-104");  // newest first

  ss::SearchTracesArgs search;
  search.query = "bulk";
  auto found = run_sync(ss::SearchTracesTool{{f.context}}(search));
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(found.value().as_array().size() == 20u);  // the default is the maximum
  search.limit = 1000;
  found = run_sync(ss::SearchTracesTool{{f.context}}(search));
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(found.value().as_array().size() == 20u);
  search.limit = 3;
  found = run_sync(ss::SearchTracesTool{{f.context}}(search));
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(found.value().as_array().size() == 3u);

  for (int i = 0; i < 60; ++i)
    f.context->benchmark.push_back(sample("t" + std::to_string(i), "task " + std::to_string(i), "x", "reasoning"));
  ss::ListPersonalBenchmarkTool bench{{f.context}};
  BOOST_TEST(bench(ss::LimitArgs{}).as_array().size() == 50u);
  ss::LimitArgs limit;
  limit.limit = 500;
  BOOST_TEST(bench(limit).as_array().size() == 50u);
  limit.limit = 4;
  BOOST_TEST(bench(limit).as_array().size() == 4u);
}

// ---- get_trace ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(get_trace_gives_a_run_in_full_with_its_steps) {
  Fixture f;
  ss::TraceIdArgs a;
  a.trace_id = "r0";
  auto got = run_sync(ss::GetTraceTool{{f.context}}(a));
  BOOST_REQUIRE_MESSAGE(got.has_value(), (got.has_error() ? got.error().what() : ""));
  auto const& t = got.value().as_object();
  BOOST_TEST(text(t.at("trace_id")) == "r0");
  BOOST_TEST(text(t.at("agent")) == "calc");
  BOOST_TEST(text(t.at("query")) == "Fix the failing tests in parser");
  BOOST_TEST(text(t.at("result")) == "All green.");
  BOOST_TEST(text(t.at("outcome")) == "success");
  BOOST_TEST(text(t.at("status")) == "SUCCESS");
  BOOST_TEST(t.at("feedback").as_double() == 0.9);
  BOOST_TEST(t.at("total_tokens").to_number<std::uint64_t>() == 120u);
  BOOST_TEST(t.at("latency_seconds").as_double() == 2.0);
  BOOST_TEST(!t.contains("steps_not_shown"));
  auto const& steps = t.at("steps").as_array();
  BOOST_REQUIRE(steps.size() == 3u);  // generate, tool_call, respond
  BOOST_TEST(text(steps[0].at("type")) == "generate");
  BOOST_TEST(text(steps[1].at("type")) == "tool_call");
  auto input = json::parse(text(steps[1].at("input"))).as_object();
  BOOST_TEST(text(input.at("tool")) == "search");
  BOOST_TEST(text(input.at("args").at("q")) == "x");
  auto output = json::parse(text(steps[1].at("output"))).as_object();
  BOOST_TEST(text(output.at("content")) == "found");
  BOOST_TEST(text(steps[2].at("type")) == "respond");
  BOOST_TEST(steps[1].as_object().contains("duration_seconds"));

  a.trace_id = "r4";  // running: no status yet
  got = run_sync(ss::GetTraceTool{{f.context}}(a));
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got.value().at("status").is_null());
}

BOOST_AUTO_TEST_CASE(get_trace_cuts_query_result_steps_and_step_fields_at_the_reference_sizes) {
  Fixture f;
  ss::TraceIdArgs a;
  a.trace_id = "r3";
  auto got = run_sync(ss::GetTraceTool{{f.context}}(a));
  BOOST_REQUIRE(got.has_value());
  auto const& t = got.value().as_object();
  check_cut(text(t.at("query")), long_query, 2000);
  check_cut(text(t.at("result")), long_result, 6000);
  // 25 iterations → 25 generate + 25 tool_call steps + the answer = 51.
  auto const& steps = t.at("steps").as_array();
  BOOST_TEST(steps.size() == 20u);
  BOOST_TEST(t.at("steps_not_shown").to_number<std::uint64_t>() == 31u);
  auto output = text(steps[1].at("output"));  // the first tool call's 3,000-byte output
  BOOST_TEST(output.find("more bytes]") != std::string::npos);
  BOOST_TEST(output.size() < 1100u);
  BOOST_TEST(valid_utf8(output));
  BOOST_TEST(valid_utf8(json::serialize(got.value())));
}

BOOST_AUTO_TEST_CASE(get_trace_of_an_unknown_id_is_run_not_found) {
  Fixture f;
  ss::TraceIdArgs a;
  a.trace_id = "no-such-run";
  auto got = run_sync(ss::GetTraceTool{{f.context}}(a));
  BOOST_REQUIRE(got.has_error());
  BOOST_TEST((got.error() == Errc::run_not_found), got.error().what());
}

// ---- search_traces ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(search_traces_finds_by_query_result_and_agent_but_not_learning_records) {
  Fixture f;
  auto search = [&](std::string q) {
    ss::SearchTracesArgs a;
    a.query = std::move(q);
    auto r = run_sync(ss::SearchTracesTool{{f.context}}(a));
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : ""));
    return r.value();
  };
  auto quarterly = search("quarterly");
  BOOST_TEST(ids_of(quarterly) == (V{"r2"}), boost::test_tools::per_element());
  auto const& r2 = quarterly.as_array()[0].as_object();
  for (auto key : {"trace_id", "agent", "model", "query", "outcome", "feedback", "result"})
    BOOST_TEST(r2.contains(key), key);
  BOOST_TEST(!r2.contains("steps"));
  BOOST_TEST(ids_of(search("green")) == (V{"r0"}), boost::test_tools::per_element());   // the result
  BOOST_TEST(ids_of(search("writer")) == (V{"r2"}), boost::test_tools::per_element());  // the agent
  BOOST_TEST(search("diagnose").as_array().empty());  // the learning layer's own run
  BOOST_TEST(search("zebra").as_array().empty());
}

// ---- the configuration ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(get_current_config_gives_every_toml_file_of_the_home) {
  Fixture f;
  auto got = ss::GetCurrentConfigTool{{f.context}}(ss::NoTeacherArgs{});
  BOOST_REQUIRE(got.has_value());
  auto const& files = got.value().as_object();
  BOOST_TEST(files.size() == 2u);  // not notes.txt, not archive/old.toml
  BOOST_TEST(text(files.at("calc.toml")) == calc_toml);
  BOOST_TEST(text(files.at("tools.toml")) == tools_toml);

  write_text(f.home / "models.toml", "[models.student]\ntemperature = 0.2\n");
  got = ss::GetCurrentConfigTool{{f.context}}(ss::NoTeacherArgs{});
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(got.value().as_object().size() == 3u);
  BOOST_TEST(text(got.value().at("models.toml")).find("temperature") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(get_current_config_of_a_missing_home_is_an_error) {
  Fixture f;
  auto c = std::make_shared<ss::TeacherContext>(learn::TraceStore(f.store), ss::ConfigHome(f.dir.path() / "none"));
  auto got = ss::GetCurrentConfigTool{{c}}(ss::NoTeacherArgs{});
  BOOST_REQUIRE(got.has_error());
  BOOST_TEST((got.error() == Errc::store_failed), got.error().what());
}

BOOST_AUTO_TEST_CASE(get_agent_prompt_reads_the_agent_file_and_refuses_unsafe_names) {
  Fixture f;
  ss::GetAgentPromptTool tool{{f.context}};
  ss::AgentArgs a;
  a.agent = "calc";
  auto got = tool(a);
  BOOST_REQUIRE_MESSAGE(got.has_value(), (got.has_error() ? got.error().what() : ""));
  BOOST_TEST(got.value() == "Answer briefly.");

  for (auto unsafe : {"../calc", "a/b", "", ".hidden", "..\\calc"}) {
    a.agent = unsafe;
    auto refused = tool(a);
    BOOST_REQUIRE(refused.has_error());
    BOOST_TEST((refused.error() == Errc::invalid_arguments), unsafe);
  }
  a.agent = "nobody";  // a safe name without a file
  BOOST_TEST(tool(a).has_error());
}

BOOST_AUTO_TEST_CASE(get_tool_description_prefers_the_override_in_tools_toml) {
  Fixture f;
  ss::GetToolDescriptionTool tool{{f.context}};
  auto describe = [&](std::string name) {
    ss::ToolNameArgs a;
    a.tool_name = std::move(name);
    return tool(a);
  };
  auto calculator = describe("calculator");
  BOOST_REQUIRE(calculator.has_value());
  BOOST_TEST(calculator.value() == "Evaluate arithmetic exactly (override).");
  auto lookup = describe("lookup");  // no override: the compiled description
  BOOST_REQUIRE(lookup.has_value());
  BOOST_TEST(lookup.value() == "Look up a fact.");
  auto unknown = describe("shell");
  BOOST_REQUIRE(unknown.has_error());
  BOOST_TEST((unknown.error() == Errc::invalid_arguments));
  BOOST_TEST(unknown.error().what().find("shell") != std::string::npos, unknown.error().what());

  fs::remove(f.home / "tools.toml");
  calculator = describe("calculator");
  BOOST_REQUIRE(calculator.has_value());
  BOOST_TEST(calculator.value() == "Evaluate an arithmetic expression.");

  write_text(f.home / "tools.toml", "[tools.calculator\ndescription = ");
  auto broken = describe("calculator");
  BOOST_REQUIRE(broken.has_error());
  BOOST_TEST((broken.error() == Errc::invalid_config), broken.error().what());
  BOOST_TEST(broken.error().what().find("tools.toml") != std::string::npos, broken.error().what());
}

BOOST_AUTO_TEST_CASE(list_available_tools_lists_the_compiled_descriptions) {
  Fixture f;
  auto tools = ss::ListAvailableToolsTool{{f.context}}(ss::NoTeacherArgs{}).as_array();
  BOOST_REQUIRE(tools.size() == 2u);
  BOOST_TEST(text(tools[0].at("name")) == "calculator");
  BOOST_TEST(text(tools[0].at("description")) == "Evaluate an arithmetic expression.");
  BOOST_TEST(text(tools[1].at("name")) == "lookup");
  BOOST_TEST(text(tools[1].at("description")) == "Look up a fact.");
  f.context->student_tools.clear();
  BOOST_TEST(ss::ListAvailableToolsTool{{f.context}}(ss::NoTeacherArgs{}).as_array().empty());
}

BOOST_AUTO_TEST_CASE(list_personal_benchmark_gives_id_query_expected_and_category) {
  Fixture f;
  f.context->benchmark = {sample("a1", "What is 6 * 7?", "42", "arith"), sample("f1", "Capital of Peru?", "Lima", "")};
  auto tasks = ss::ListPersonalBenchmarkTool{{f.context}}(ss::LimitArgs{}).as_array();
  BOOST_REQUIRE(tasks.size() == 2u);
  BOOST_TEST(text(tasks[0].at("id")) == "a1");
  BOOST_TEST(text(tasks[0].at("query")) == "What is 6 * 7?");
  BOOST_TEST(text(tasks[0].at("expected")) == "42");
  BOOST_TEST(text(tasks[0].at("category")) == "arith");
  BOOST_TEST(text(tasks[1].at("id")) == "f1");
  BOOST_TEST(!tasks[1].as_object().contains("category"));  // none in its metadata
}

// ---- run_student_on_task ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(run_student_on_task_runs_the_student_and_charges_the_context) {
  Fixture f;
  auto log = std::make_shared<StudentLog>();
  f.context->run_student = student(log);
  ss::RunStudentOnTaskTool tool{{f.context}};
  ss::StudentTaskArgs a;
  a.query = "What is 6 * 7?";
  a.expected = "42";
  auto first = run_sync(tool(a));
  BOOST_REQUIRE_MESSAGE(first.has_value(), (first.has_error() ? first.error().what() : ""));
  auto const& o = first.value().as_object();
  BOOST_TEST(text(o.at("answer")) == "42");
  BOOST_TEST(text(o.at("expected")) == "42");
  BOOST_TEST(text(o.at("status")) == "SUCCESS");
  BOOST_TEST(text(o.at("run_id")) == "student-run-1");
  BOOST_TEST(o.at("tokens").to_number<std::uint64_t>() == 120u);
  BOOST_REQUIRE(log->asked.size() == 1u);
  BOOST_TEST(log->asked[0].query == "What is 6 * 7?");
  BOOST_TEST(log->asked[0].expected == "42");
  BOOST_TEST(log->asked[0].id == "teacher-task-1");

  ss::StudentTaskArgs no_expected;
  no_expected.query = "What is 2 + 2?";
  auto second = run_sync(tool(no_expected));
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(!second.value().as_object().contains("expected"));
  BOOST_TEST(log->asked[1].id == "teacher-task-2");
  BOOST_TEST(log->asked[1].expected == "");

  BOOST_TEST(f.context->student_runs == 2u);
  BOOST_TEST(f.context->student_tokens == 240u);
  BOOST_TEST(f.context->student_cost_usd == 0.02, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(run_student_on_task_cuts_a_long_answer_and_ignores_an_unknown_cost) {
  Fixture f;
  std::string const long_answer = "z" + repeat("€", 2500);
  f.context->run_student = [&](learn::EvalSample const&) -> boost::asio::awaitable<leash::result<learn::Answer>> {
    learn::Answer a;
    a.text = long_answer;
    a.tokens = 7;  // no cost: the student's model has no price
    co_return a;
  };
  ss::StudentTaskArgs a;
  a.query = "Say a lot.";
  auto got = run_sync(ss::RunStudentOnTaskTool{{f.context}}(a));
  BOOST_REQUIRE(got.has_value());
  check_cut(text(got.value().at("answer")), long_answer, 6000);
  BOOST_TEST(got.value().at("status").is_null());
  BOOST_TEST(f.context->student_runs == 1u);
  BOOST_TEST(f.context->student_tokens == 7u);
  BOOST_TEST(f.context->student_cost_usd == 0.0);
}

BOOST_AUTO_TEST_CASE(run_student_on_task_says_when_there_is_no_student) {
  Fixture f;
  ss::StudentTaskArgs a;
  a.query = "What is 6 * 7?";
  auto got = run_sync(ss::RunStudentOnTaskTool{{f.context}}(a));
  BOOST_REQUIRE(got.has_error());
  BOOST_TEST((got.error() == Errc::tool_failed));
  BOOST_TEST(got.error().what().find("cannot be run") != std::string::npos, got.error().what());
  BOOST_TEST(f.context->student_runs == 0u);
}

BOOST_AUTO_TEST_CASE(a_student_that_fails_is_the_tools_error_and_still_counts_as_a_run) {
  Fixture f;
  f.context->run_student = [](learn::EvalSample const&) -> boost::asio::awaitable<leash::result<learn::Answer>> {
    co_return leash::Error{Errc::llm_server_error, "the student's model is down"};
  };
  ss::StudentTaskArgs a;
  a.query = "What is 6 * 7?";
  auto got = run_sync(ss::RunStudentOnTaskTool{{f.context}}(a));
  BOOST_REQUIRE(got.has_error());
  BOOST_TEST((got.error() == Errc::llm_server_error));
  BOOST_TEST(f.context->student_runs == 1u);
  BOOST_TEST(f.context->student_tokens == 0u);
}

// ---- the tool set -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_teacher_has_the_nine_reference_tools) {
  std::set<std::string> names;
  for (auto const& schema : ss::TeacherTools::schemas()) names.insert(text(schema.at("name")));
  BOOST_TEST(names == (std::set<std::string>{"list_traces", "get_trace", "search_traces", "get_current_config",
                                             "get_agent_prompt", "get_tool_description", "list_available_tools",
                                             "list_personal_benchmark", "run_student_on_task"}),
             boost::test_tools::per_element());
}

// ---- run_teacher ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_teacher_that_calls_tools_then_answers_succeeds_and_is_recorded) {
  Fixture f;
  auto log = std::make_shared<StudentLog>();
  f.context->run_student = student(log);
  auto both = call("list_available_tools", {});
  both.tool_calls.push_back({"call-bench", "list_personal_benchmark", json::value(json::object{{"limit", 5}})});
  auto t = teacher({call("list_traces", {{"agent", "calc"}, {"outcome", "failure"}}),
                    call("get_trace", {{"trace_id", "r1"}}),
                    both,
                    call("run_student_on_task", {{"query", "What is 6 * 7?"}, {"expected", "42"}}),
                    reply("The student guesses arithmetic: the calculator is not enabled.")});
  t->record_requests();
  ss::TeacherOptions o;
  o.store = f.store;
  o.trace_file = f.dir.path() / "teacher_traces" / "diagnose.jsonl";  // its directory is made
  o.run_metadata["session_id"] = "s-1";
  auto ran = run_sync(ss::run_teacher(f.context, leash::llm::AnyTransport(t), "Find why the student fails.",
                                      "You are the teacher.", o));
  BOOST_REQUIRE_MESSAGE(ran.has_value(), (ran.has_error() ? ran.error().what() : ""));
  auto const& r = ran.value();
  BOOST_TEST((r.status == leash::Status::success), r.reason);
  BOOST_TEST(r.text == "The student guesses arithmetic: the calculator is not enabled.");
  BOOST_TEST(r.iterations == 5u);
  BOOST_TEST(r.tool_calls == 5u);  // one reply called two tools
  BOOST_TEST(r.tokens == 4u * 1050u + 1200u);
  BOOST_TEST(r.cost_usd == 0.0);  // the default table has no price for "teacher"
  BOOST_TEST(!r.run_id.empty());
  BOOST_TEST(t->calls() == 5u);
  for (auto const& request : t->requests()) BOOST_TEST(request.max_tokens == 8192u);  // the reference's default

  // The student ran once, charged to the context.
  BOOST_REQUIRE(log->asked.size() == 1u);
  BOOST_TEST(log->asked[0].query == "What is 6 * 7?");
  BOOST_TEST(f.context->student_runs == 1u);
  BOOST_TEST(f.context->student_tokens == 120u);

  // The JSON lines: one object per event, from loop.start to loop.end, one
  // action.executed per tool call.
  std::ifstream lines(o.trace_file);
  std::vector<std::string> kinds;
  for (std::string line; std::getline(lines, line);) {
    auto event = json::parse(line).as_object();
    kinds.push_back(text(event.at("kind")));
  }
  BOOST_REQUIRE(!kinds.empty());
  BOOST_TEST(kinds.front() == "loop.start");
  BOOST_TEST(kinds.back() == "loop.end");
  BOOST_TEST(std::count(kinds.begin(), kinds.end(), "action.executed") == 5);

  // In the store: a learning record, role teacher, with the caller's metadata,
  // and the tools' results as its steps.
  learn::TraceStore traces(f.store);
  auto got = run_sync(traces.get(r.run_id));
  BOOST_REQUIRE(got.has_value());
  auto const& trace = got.value();
  BOOST_TEST(trace.agent == std::string(learn::learning_agent));
  BOOST_TEST(trace.agent == "leash.learn");
  BOOST_TEST(text(trace.metadata.at("role")) == "teacher");
  BOOST_TEST(text(trace.metadata.at("session_id")) == "s-1");
  BOOST_TEST(trace.query == "Find why the student fails.");
  BOOST_TEST(trace.model == "teacher");
  std::vector<learn::TraceStep> calls;
  for (auto const& s : trace.steps)
    if (s.type == learn::StepType::tool_call) calls.push_back(s);
  BOOST_REQUIRE(calls.size() == 5u);
  BOOST_TEST(calls[0].tool() == "list_traces");
  BOOST_TEST(text(calls[0].output.at("status")) == "ok");
  auto listed_content = text(calls[0].output.at("content"));
  BOOST_TEST(listed_content.find("\"r3\"") != std::string::npos, listed_content);
  BOOST_TEST(listed_content.find("\"r0\"") == std::string::npos, listed_content);  // a success
  BOOST_TEST(calls[1].tool() == "get_trace");
  BOOST_TEST(text(calls[1].output.at("content")).find("About 40.") != std::string::npos);
  BOOST_TEST(calls[4].tool() == "run_student_on_task");
  BOOST_TEST(text(calls[4].output.at("content")).find("student-run-1") != std::string::npos);

  // Left out of the traces spec search mines, unless asked for.
  learn::TraceFilter filter;
  filter.with_steps = false;
  auto listing = run_sync(traces.list(filter));
  BOOST_REQUIRE(listing.has_value());
  for (auto const& tr : listing.value()) BOOST_TEST(tr.trace_id != r.run_id);
  filter.include_learning_records = true;
  listing = run_sync(traces.list(filter));
  BOOST_REQUIRE(listing.has_value());
  BOOST_TEST(std::count_if(listing.value().begin(), listing.value().end(),
                           [&](learn::Trace const& tr) { return tr.trace_id == r.run_id; }) == 1);
}

BOOST_AUTO_TEST_CASE(a_tool_error_is_fed_back_and_the_teacher_goes_on) {
  Fixture f;  // no student
  auto t = teacher({call("get_trace", {{"trace_id", "missing"}}), call("run_student_on_task", {{"query", "q"}}),
                    reply("I could not look.")});
  t->record_requests();
  ss::TeacherOptions o;
  o.max_tokens = 1000;
  o.temperature = 0.25;
  auto ran = run_sync(ss::run_teacher(f.context, leash::llm::AnyTransport(t), "goal", "Diagnose carefully.", o));
  BOOST_REQUIRE(ran.has_value());
  BOOST_TEST((ran.value().status == leash::Status::success), ran.value().reason);
  BOOST_TEST(ran.value().text == "I could not look.");
  BOOST_TEST(ran.value().tool_calls == 2u);
  BOOST_TEST(ran.value().run_id.empty() == false);
  // What the teacher read back names the errors.
  auto requests = t->requests();
  BOOST_REQUIRE(requests.size() == 3u);
  BOOST_TEST(requests[0].max_tokens == 1000u);
  BOOST_TEST(requests[0].temperature.value() == 0.25);
  BOOST_TEST(requests[0].tools.size() == 9u);
  BOOST_REQUIRE(!requests[0].messages.empty());
  BOOST_TEST(requests[0].messages[0].content.find("Diagnose carefully.") != std::string::npos);
  std::string seen;
  for (auto const& m : requests.back().messages) seen += m.content + "\n";
  BOOST_TEST(seen.find("cannot be run") != std::string::npos, seen);
}

BOOST_AUTO_TEST_CASE(a_teacher_that_never_stops_calling_tools_stops_at_max_turns) {
  Fixture f;
  auto t = endless_teacher(10);
  ss::TeacherOptions o;
  o.max_turns = 3;
  auto ran = run_sync(ss::run_teacher(f.context, leash::llm::AnyTransport(t), "goal", "instructions", o));
  BOOST_REQUIRE_MESSAGE(ran.has_value(), (ran.has_error() ? ran.error().what() : ""));
  auto const& r = ran.value();
  BOOST_TEST((r.status != leash::Status::success));
  BOOST_TEST((r.status == leash::Status::budget_exhausted), r.reason);
  BOOST_TEST(r.reason.find("max_iterations (3)") != std::string::npos, r.reason);
  BOOST_TEST(r.iterations == 3u);
  BOOST_TEST(r.tool_calls == 3u);
  BOOST_TEST(t->calls() == 3u);
  BOOST_TEST(r.text == "Looking.");  // what it last said, not an answer
}

BOOST_AUTO_TEST_CASE(options_that_cannot_work_are_invalid_config) {
  Fixture f;
  auto t = teacher({reply("never asked")});
  auto refused = [&](ss::TeacherOptions o, std::string_view what) {
    auto ran = run_sync(ss::run_teacher(f.context, leash::llm::AnyTransport(t), "goal", "instructions", o));
    BOOST_REQUIRE(ran.has_error());
    BOOST_TEST((ran.error() == Errc::invalid_config), what);
    return ran.error().what();
  };
  ss::TeacherOptions zero_turns;
  zero_turns.max_turns = 0;
  BOOST_TEST(refused(zero_turns, "0 turns").find("max_turns") != std::string::npos);
  ss::TeacherOptions zero_tokens;
  zero_tokens.max_tokens = 0;
  BOOST_TEST(refused(zero_tokens, "0 tokens a call").find("max_tokens") != std::string::npos);
  for (double cost : {0.0, -1.0, std::nan("")}) {
    ss::TeacherOptions o;
    o.max_cost_usd = cost;
    BOOST_TEST(refused(o, "cost " + std::to_string(cost)).find("max_cost_usd") != std::string::npos);
  }
  auto no_context = run_sync(ss::run_teacher(nullptr, leash::llm::AnyTransport(t), "goal", "instructions"));
  BOOST_REQUIRE(no_context.has_error());
  BOOST_TEST((no_context.error() == Errc::invalid_config));
  BOOST_TEST(t->calls() == 0u);
}

BOOST_AUTO_TEST_CASE(a_cost_limit_with_a_priced_model_stops_the_teacher_before_it_overspends) {
  Fixture f;
  auto t = endless_teacher(30);
  t->record_requests();
  ss::TeacherOptions o;
  o.pricing.as_of = "2026-12-01";
  // $150 in, $1,000 out per million: each scripted call (1,000 in, 50 out) costs $0.20.
  o.pricing.models["teacher"] = {150.0, 1000.0};
  o.max_cost_usd = 1.0;
  auto ran = run_sync(ss::run_teacher(f.context, leash::llm::AnyTransport(t), "goal", "instructions", o));
  BOOST_REQUIRE_MESSAGE(ran.has_value(), (ran.has_error() ? ran.error().what() : ""));
  auto const& r = ran.value();
  BOOST_TEST((r.status == leash::Status::budget_exhausted), r.reason);
  BOOST_TEST(r.reason.find("cost_limit ($1.00)") != std::string::npos, r.reason);
  BOOST_TEST(t->calls() < 30u);  // the cost stopped it, not the turns
  BOOST_TEST(t->calls() >= 2u);
  BOOST_TEST(r.cost_usd == 0.2 * double(t->calls()), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(r.cost_usd <= o.max_cost_usd);
  BOOST_TEST(r.tokens == 1050u * t->calls());
  // Before each call the loop allowed only the output the budget had left.
  auto requests = t->requests();
  BOOST_REQUIRE(requests.size() == t->calls());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    BOOST_TEST(requests[i].max_tokens < 8192u, i);
    BOOST_TEST(0.2 * double(i) + double(requests[i].max_tokens) * 1000.0 / 1e6 <= o.max_cost_usd + 1e-9, i);
    if (i > 0) BOOST_TEST(requests[i].max_tokens < requests[i - 1].max_tokens, i);
  }

  // A limit below the cost of one call's input: no call is made at all.
  auto pricey = endless_teacher(30);
  o.max_cost_usd = 0.01;
  ran = run_sync(ss::run_teacher(f.context, leash::llm::AnyTransport(pricey), "goal", "instructions", o));
  BOOST_REQUIRE(ran.has_value());
  BOOST_TEST((ran.value().status == leash::Status::budget_exhausted), ran.value().reason);
  BOOST_TEST(pricey->calls() == 0u);
  BOOST_TEST(ran.value().cost_usd == 0.0);
  BOOST_TEST(ran.value().tool_calls == 0u);
}

BOOST_AUTO_TEST_CASE(a_teacher_without_a_store_runs_in_memory) {
  Fixture f;
  auto t = teacher({reply("Nothing to see.")});
  auto ran = run_sync(ss::run_teacher(f.context, leash::llm::AnyTransport(t), "goal", "instructions"));
  BOOST_REQUIRE(ran.has_value());
  BOOST_TEST((ran.value().status == leash::Status::success), ran.value().reason);
  BOOST_TEST(ran.value().text == "Nothing to see.");
  BOOST_TEST(ran.value().tool_calls == 0u);
  BOOST_TEST(ran.value().iterations == 1u);
  learn::TraceFilter all;
  all.include_learning_records = true;
  BOOST_TEST(run_sync(learn::TraceStore(f.store).count(all)).value() == 6u);  // the fixture's runs only
}

BOOST_AUTO_TEST_CASE(the_teacher_stops_when_its_calls_and_the_student_runs_reach_the_ceiling) {
  Fixture f;
  f.context->max_cost_usd = 1.0;
  ss::TeacherSpending policy{f.context};
  leash::State s;
  s.metrics.cost_usd = 0.4;
  f.context->student_cost_usd = 0.5;
  BOOST_TEST((policy.before_iteration(s).kind == leash::DecisionKind::proceed));
  f.context->student_cost_usd = 0.6;  // 0.4 + 0.6 = the ceiling
  auto stop = policy.before_iteration(s);
  BOOST_TEST((stop.kind == leash::DecisionKind::stop));
  BOOST_TEST((stop.status.value() == leash::Status::budget_exhausted));
  BOOST_TEST(stop.reason.find("$1.00") != std::string::npos, stop.reason);
  json::object args;
  BOOST_TEST((policy.before_action(s, leash::ActionView{"run_student_on_task", args}).kind == leash::DecisionKind::stop));
}

BOOST_AUTO_TEST_CASE(the_teacher_never_sees_a_secret_in_the_config_files) {
  Fixture f;
  std::ofstream(f.context->home.models_file())
      << "[models.\"gpt-4o\"]\ntemperature = 0.2\napi_key = \"sk-live-123\"\n\"base_url\" = \"http://10.0.0.1\"\n"
         "# api_key = \"sk-in-a-comment\" stays a comment\n";
  auto shown = ss::GetCurrentConfigTool{{f.context}}(ss::NoTeacherArgs{});
  BOOST_REQUIRE(shown.has_value());
  auto text = std::string(shown.value().as_object().at("models.toml").as_string());
  BOOST_TEST(text.find("sk-live-123") == std::string::npos, text);
  BOOST_TEST(text.find("10.0.0.1") == std::string::npos, text);
  BOOST_TEST(text.find("api_key = \"[redacted]\"") != std::string::npos, text);
  BOOST_TEST(text.find("temperature = 0.2") != std::string::npos, text);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_spec_search_teacher

#endif
