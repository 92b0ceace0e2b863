// Tests of leash/learn/spec_search/session.hpp: whole spec-search sessions
// over a real SQLite store, real config files, a scripted teacher and a
// student that is a real leash Loop (the example calculator agent) reading
// its configuration from the files the session edits.
//
// Without toml++ or SQLite this suite is empty (the appliers need toml++).
#if defined(LEASH_HAS_TOMLPLUSPLUS) && defined(LEASH_HAS_SQLITE)
#include <leash/learn/apply_config.hpp>
#include <leash/learn/spec_search/session.hpp>
#include <leash/llm/scripted.hpp>
#include <leash/store/open.hpp>

#include "../example/calc_agent.hpp"
#endif
#include <boost/test/unit_test.hpp>

#if defined(LEASH_HAS_TOMLPLUSPLUS) && defined(LEASH_HAS_SQLITE)
#include "scripted_teacher.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#include <cmath>
#include <deque>
#include <limits>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace test_learn_spec_search_session {

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

/// The calculator agent reading <home>/calc.toml for every task, as a user's
/// program would: the session's edits reach it through the file only.
struct CalcStudent {
  fs::path home;
  leash::AnyStore store;

  boost::asio::awaitable<leash::result<learn::Answer>> operator()(learn::EvalSample const& sample) {
    auto agent = learn::loop_agent([this](learn::EvalSample const& s) -> std::unique_ptr<calc_agent::Agent> {
      auto config = learn::parse_agent_config_file(home / "calc.toml");
      if (!config) return nullptr;
      leash::LoopOptions options;
      options.quiet = true;
      options.agent_name = "calc";
      options.observe = calc_agent::observe;
      if (!learn::apply_agent_config<calc_agent::Tools>(config.value(), options)) return nullptr;
      return std::make_unique<calc_agent::Agent>(s.query, leash::AnyPlanner(calc_agent::OfflinePlanner(s.query)),
                                                 calc_agent::Tools{}, leash::DefaultPolicies{},
                                                 leash::ExitList<leash::Success<calc_agent::Answered>>{}, store,
                                                 std::move(options));
    });
    co_return co_await agent(sample);
  }
};

learn::EvalSample sample(std::string id, std::string query, std::string expected, std::string cluster) {
  learn::EvalSample s;
  s.id = std::move(id);
  s.query = std::move(query);
  s.expected = std::move(expected);
  s.metadata["cluster"] = std::move(cluster);
  s.metadata["category"] = "reasoning";
  return s;
}

std::vector<learn::EvalSample> benchmark() {
  return {sample("a1", "What is 6 * 7?", "42", "arith"),     sample("a2", "What is 12 + 30?", "42", "arith"),
          sample("a3", "What is 100 / 4?", "25", "arith"),   sample("a4", "What is (2 + 3) * 4?", "20", "arith"),
          sample("f1", "What is the capital of France?", "Paris", "facts"),
          sample("f2", "What is the capital of Japan?", "Tokyo", "facts"),
          sample("f3", "What is the capital of Peru?", "Lima", "facts"),
          sample("f4", "What is the capital of Kenya?", "Nairobi", "facts")};
}

constexpr char const* clusters_reply =
    "Arithmetic questions fail: the calculator is not enabled.\n"
    "```json\n"
    "[{\"id\": \"arith\", \"description\": \"arithmetic answered by guessing\", \"student_failure_rate\": 1.0,\n"
    "  \"teacher_success_rate\": 1.0, \"skill_gap\": \"no calculator\", \"sample_trace_ids\": []},\n"
    " {\"id\": \"noise\", \"description\": \"one odd run\", \"student_failure_rate\": 0, \"teacher_success_rate\": 0}]\n"
    "```";

/// One helpful edit (the calculator), one harmful (dropping lookup, which
/// the capitals need), one review-tier prompt edit, one LoRA.
constexpr char const* plan_reply = R"({"edits": [
  {"id": "add-calculator", "op": "add_tool_to_agent", "target": "agents.calc.tools",
   "payload": {"agent": "calc", "tool_name": "calculator"}, "expected_improvement": "arith",
   "rationale": "arithmetic needs the calculator"},
  {"id": "drop-lookup", "op": "remove_tool_from_agent", "target": "agents.calc.tools",
   "payload": {"agent": "calc", "tool_name": "lookup"}, "expected_improvement": "arith",
   "rationale": "fewer tools, fewer wrong calls"},
  {"id": "prompt", "op": "replace_system_prompt", "target": "agents.calc.system_prompt",
   "payload": {"agent": "calc", "new_content": "Always use a tool."}, "expected_improvement": "arith"},
  {"id": "lora", "op": "lora_finetune", "target": "models.student", "payload": {}},
  {"id": "broken", "op": "add_tool_to_agent", "payload": {"agent": "calc"}}
]})";

/// A config home with calc.toml, a SQLite store, and traces of the student
/// as it is (one run per benchmark task).
struct Fixture {
  leash_test::TempDir dir{"leash-spec-search"};
  fs::path home = dir.path() / "agents";
  leash::AnyStore store;
  std::shared_ptr<ss::SessionStore> sessions;

  Fixture() {
    fs::create_directories(home);
    write_text(home / "calc.toml",
          "[agent]\nname = \"calc\"\ntools = [\"lookup\"]\nmax_turns = 5\ntemperature = 0.3\n"
          "system_prompt = \"Answer briefly.\"\n");
    auto opened = leash::open_store("sqlite:" + (dir.path() / "leash.db").string());
    BOOST_REQUIRE(opened.has_value());
    store = opened.value();
    auto s = ss::SessionStore::open(dir.path() / "leash.db");
    BOOST_REQUIRE_MESSAGE(s.has_value(), (s.has_error() ? s.error().what() : ""));
    sessions = std::make_shared<ss::SessionStore>(std::move(s).value());
    CalcStudent student{home, store};
    for (auto const& s : benchmark()) BOOST_REQUIRE(run_sync(student(s)).has_value());
  }

  ss::SpecSearchOptions options() const {
    ss::SpecSearchOptions o;
    o.min_traces = 8;
    o.sessions_dir = dir.path() / "sessions";
    o.student_tools = ss::tool_descriptions<calc_agent::Tools>();
    o.agent = "calc";
    o.pricing.as_of = "2026-12-01";
    o.pricing.models["teacher"] = {1.0, 2.0};  // USD per million tokens in, out
    return o;
  }
};

BOOST_AUTO_TEST_SUITE(learn_spec_search_session)

BOOST_AUTO_TEST_CASE(a_helpful_edit_is_kept_and_a_harmful_one_is_rolled_back_on_disk) {
  Fixture f;
  auto t = teacher({call("list_traces", {{"limit", 5}}),
                    call("run_student_on_task", {{"query", "What is 6 * 7?"}, {"expected", "42"}}),
                    reply(clusters_reply), reply(plan_reply)});
  CalcStudent student{f.home, leash::AnyStore{}};  // benchmark runs are not history
  ss::DatasetScorer scorer(benchmark(), student);
  ss::SpecSearchSession session(leash::llm::AnyTransport(t), learn::TraceStore(f.store), ss::ConfigHome(f.home),
                                student, benchmark(), scorer, f.options());
  session.set_session_store(f.sessions);

  auto ran = run_sync(session.run_session(ss::Trigger::on_demand()));
  BOOST_REQUIRE_MESSAGE(ran.has_value(), (ran.has_error() ? ran.error().what() : ""));
  auto const& s = ran.value();
  BOOST_TEST(!s.error.has_value(), s.error.value_or(""));

  BOOST_TEST((s.status == ss::SessionStatus::awaiting_review));  // the prompt edit waits for a person

  // Before: capitals right, arithmetic guessed. After: both right.
  BOOST_TEST(s.benchmark_before.value().cluster_scores.at("arith") == 0.0);
  BOOST_TEST(s.benchmark_before.value().cluster_scores.at("facts") == 1.0);
  BOOST_TEST(s.benchmark_after.value().overall_score == 1.0);

  BOOST_REQUIRE(s.edit_outcomes.size() == 4u);  // the broken edit never made the plan
  auto const& add = s.edit_outcomes[0];
  auto const& drop = s.edit_outcomes[1];
  BOOST_TEST(add.edit.id == "add-calculator");
  BOOST_TEST((add.status == ss::OutcomeStatus::applied));
  BOOST_TEST(add.benchmark_delta.value() == 0.5);
  BOOST_TEST(add.applied_at.has_value());
  BOOST_TEST(drop.edit.id == "drop-lookup");
  BOOST_TEST((drop.status == ss::OutcomeStatus::rejected_by_gate));
  BOOST_TEST(drop.cluster_deltas.at("facts") == -1.0);
  BOOST_TEST(drop.error.value().find("facts") != std::string::npos, drop.error.value());
  BOOST_TEST((s.edit_outcomes[2].status == ss::OutcomeStatus::pending_review));
  BOOST_TEST((s.edit_outcomes[3].status == ss::OutcomeStatus::skipped));

  // On disk: the calculator is there, lookup is back, the prompt untouched.
  auto config = learn::parse_agent_config_file(f.home / "calc.toml");
  BOOST_REQUIRE(config.has_value());
  BOOST_TEST((config.value().tools == std::vector<std::string>{"lookup", "calculator"}));
  BOOST_TEST(config.value().system_prompt == "Answer briefly.");
  BOOST_TEST(s.checkpoint_post.value() == ss::ConfigHome(f.home).fingerprint());
  BOOST_TEST(s.checkpoint_post.value() != s.checkpoint_pre);

  // Every call is charged once: three teacher-loop calls (1000 in, 50 / 50 /
  // 200 out) and the planning call (1000 in, 200 out) at $1 in and $2 out per
  // million tokens; the student runs and scoring cost nothing (the offline
  // planner has no price).
  BOOST_TEST(s.teacher_cost_usd == 0.0011 + 0.0011 + 0.0014 + 0.0014, boost::test_tools::tolerance(1e-12));

  // The files of the session, and the store.
  auto dir = f.dir.path() / "sessions" / s.id;
  auto diagnosis = read_text(dir / "diagnosis.md");
  BOOST_TEST(diagnosis.find("2 tool calls") != std::string::npos, diagnosis);  // list_traces, run_student_on_task
  BOOST_TEST(diagnosis.find("calculator is not enabled") != std::string::npos);
  BOOST_TEST(fs::exists(dir / "teacher_traces" / "diagnose.jsonl"));
  BOOST_TEST(fs::exists(dir / "teacher_traces" / "plan.jsonl"));
  auto plan = json::parse(read_text(dir / "plan.json")).as_object();
  BOOST_TEST(plan.at("edits").as_array().size() == 4u);
  auto const& clusters = plan.at("failure_clusters").as_array();
  BOOST_REQUIRE(clusters.size() == 2u);
  BOOST_TEST(clusters[1].at("skill_gap").as_string().starts_with("dropped: insufficient evidence"));
  auto saved = ss::session_from_json(json::parse(read_text(dir / "session.json")));
  BOOST_TEST((saved.value().status == ss::SessionStatus::awaiting_review));
  auto stored = f.sessions->get_session(s.id);
  BOOST_REQUIRE(stored.has_value());
  BOOST_REQUIRE(stored.value().has_value());
  BOOST_TEST(stored.value().value().edit_outcomes.size() == 4u);
  auto pending = f.sessions->pending_reviews();
  BOOST_REQUIRE(pending.has_value());
  BOOST_REQUIRE(pending.value().size() == 1u);
  BOOST_TEST(pending.value()[0].outcome.edit.id == "prompt");

  // The teacher's run is in the store as a learning record, not as a trace to mine.
  learn::TraceStore traces(f.store);
  learn::TraceFilter all;
  all.with_steps = false;
  BOOST_TEST(run_sync(traces.count(all)).value() == 8u);  // the fixture's runs (this student records nowhere)
  all.include_learning_records = true;
  BOOST_TEST(run_sync(traces.count(all)).value() == 8u + 1u);
}

BOOST_AUTO_TEST_CASE(too_few_traces_fail_the_session_with_counts_and_no_files) {
  Fixture f;
  auto o = f.options();
  o.min_traces = 20;
  CalcStudent student{f.home, leash::AnyStore{}};
  ss::SpecSearchSession session(leash::llm::AnyTransport(teacher({reply("unused")})), learn::TraceStore(f.store),
                                ss::ConfigHome(f.home), student, benchmark(), ss::NoScorer{}, o);
  session.set_session_store(f.sessions);
  auto ran = run_sync(session.run_session(ss::Trigger::user_flag("run-1")));
  BOOST_REQUIRE(ran.has_value());
  BOOST_TEST((ran.value().status == ss::SessionStatus::failed));
  BOOST_TEST(ran.value().error.value().starts_with("Not enough traces yet: have 8, need 20"), ran.value().error.value());
  BOOST_TEST(!fs::exists(f.dir.path() / "sessions" / ran.value().id / "session.json"));
  auto stored = f.sessions->list_sessions(ss::SessionStatus::failed);
  BOOST_TEST(stored.value().size() == 1u);
}

BOOST_AUTO_TEST_CASE(no_clusters_after_the_fallback_fails_the_session_and_keeps_its_cost) {
  Fixture f;
  auto t = teacher({reply("I looked around and everything seems fine.")});  // repeats for the fallback call
  CalcStudent student{f.home, leash::AnyStore{}};
  ss::SpecSearchSession session(leash::llm::AnyTransport(t), learn::TraceStore(f.store), ss::ConfigHome(f.home),
                                student, benchmark(), ss::NoScorer{}, f.options());
  auto ran = run_sync(session.run_session(ss::Trigger::on_demand()));
  BOOST_REQUIRE(ran.has_value());
  BOOST_TEST((ran.value().status == ss::SessionStatus::failed));
  BOOST_TEST(ran.value().error.value() == "diagnosis produced no actionable clusters");
  // The teacher's answer and the fallback call, 1000 in and 200 out each.
  BOOST_TEST(ran.value().teacher_cost_usd == 2 * 0.0014, boost::test_tools::tolerance(1e-12));
}

/// Scores handed out in order: the gate's baseline must move with each
/// accepted edit.
/// NaN: the scorer fails; -1: it throws.
struct ScriptedScorer {
  std::shared_ptr<std::deque<double>> scores;
  double cost_usd = 0.0;
  boost::asio::awaitable<leash::result<ss::BenchmarkSnapshot>> score(ss::ScoreRequest const&) {
    ss::BenchmarkSnapshot s;
    s.cost_usd = cost_usd;
    double next = scores->front();
    if (std::isnan(next)) {
      scores->pop_front();
      co_return leash::Error{Errc::tool_failed, "the benchmark server is down"};
    }
    if (next == -1.0) {
      scores->pop_front();
      throw std::runtime_error("scorer bug");
    }
    s.overall_score = scores->front();
    s.cluster_scores["all"] = s.overall_score;
    scores->pop_front();
    co_return s;
  }
};

BOOST_AUTO_TEST_CASE(the_gate_compares_with_the_last_accepted_state_not_the_start) {
  Fixture f;
  constexpr char const* two_params = R"({"edits": [
    {"id": "turns", "op": "set_agent_param", "payload": {"agent": "calc", "param": "max_turns", "value": 6}},
    {"id": "temperature", "op": "set_agent_param", "payload": {"agent": "calc", "param": "temperature", "value": 0.9}}
  ]})";
  auto t = teacher({reply(clusters_reply), reply(two_params)});
  // Start 0.5; the first edit reaches 0.8; the second falls to 0.6 — better
  // than the start (the reference would keep it), worse than the state it changes.
  auto scores = std::make_shared<std::deque<double>>(std::deque<double>{0.5, 0.8, 0.6});
  CalcStudent student{f.home, leash::AnyStore{}};
  ss::SpecSearchSession session(leash::llm::AnyTransport(t), learn::TraceStore(f.store), ss::ConfigHome(f.home),
                                student, benchmark(), ScriptedScorer{scores}, f.options());
  auto before = read_text(f.home / "calc.toml");
  auto ran = run_sync(session.run_session(ss::Trigger::on_demand()));
  BOOST_REQUIRE(ran.has_value());
  auto const& s = ran.value();
  BOOST_TEST((s.status == ss::SessionStatus::completed));
  BOOST_REQUIRE(s.edit_outcomes.size() == 2u);
  BOOST_TEST((s.edit_outcomes[0].status == ss::OutcomeStatus::applied));
  BOOST_TEST((s.edit_outcomes[1].status == ss::OutcomeStatus::rejected_by_gate));
  BOOST_TEST(s.edit_outcomes[1].benchmark_delta.value() == 0.6 - 0.8, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.benchmark_after.value().overall_score == 0.8);
  auto config = learn::parse_agent_config_file(f.home / "calc.toml").value();
  BOOST_TEST(config.max_turns == 6);
  BOOST_TEST(config.temperature == 0.3);  // the rejected edit is undone
  BOOST_TEST(read_text(f.home / "calc.toml") != before);
  BOOST_TEST(scores->empty());  // no extra scoring: the after-score is the last accepted one
}

constexpr char const* one_param = R"({"edits": [
  {"id": "temperature", "op": "set_agent_param", "payload": {"agent": "calc", "param": "temperature", "value": 0.9}}
]})";

/// One edit measured by a scorer that gives `after`; the edit must be undone.
void edit_is_undone_when_measuring_gives(double after, std::string const& says) {
  Fixture f;
  auto scores = std::make_shared<std::deque<double>>(std::deque<double>{0.5, after});
  CalcStudent student{f.home, leash::AnyStore{}};
  ss::SpecSearchSession session(leash::llm::AnyTransport(teacher({reply(clusters_reply), reply(one_param)})),
                                learn::TraceStore(f.store), ss::ConfigHome(f.home), student, benchmark(),
                                ScriptedScorer{scores}, f.options());
  session.set_session_store(f.sessions);
  auto before = read_text(f.home / "calc.toml");
  auto ran = run_sync(session.run_session(ss::Trigger::on_demand()));
  BOOST_REQUIRE_MESSAGE(ran.has_value(), (ran.has_error() ? ran.error().what() : ""));
  auto const& s = ran.value();
  BOOST_TEST((s.status == ss::SessionStatus::completed));
  BOOST_REQUIRE(s.edit_outcomes.size() == 1u);
  BOOST_TEST((s.edit_outcomes[0].status == ss::OutcomeStatus::rejected_by_gate));
  BOOST_TEST(s.edit_outcomes[0].error.value().find(says) != std::string::npos, s.edit_outcomes[0].error.value());
  BOOST_TEST(read_text(f.home / "calc.toml") == before);
  BOOST_TEST(s.checkpoint_post.value() == s.checkpoint_pre);
  auto stored = f.sessions->get_session(s.id).value();  // saved: the store accepts what the session holds
  BOOST_TEST(stored.value().edit_outcomes.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_edit_that_cannot_be_measured_is_undone) {
  edit_is_undone_when_measuring_gives(std::numeric_limits<double>::quiet_NaN(), "the benchmark server is down");
}

BOOST_AUTO_TEST_CASE(an_edit_whose_measurement_throws_is_undone) {
  edit_is_undone_when_measuring_gives(-1.0, "measuring it threw: scorer bug");
}

BOOST_AUTO_TEST_CASE(an_edit_scored_outside_the_unit_interval_is_undone) {
  edit_is_undone_when_measuring_gives(85.0, "scores must be in [0, 1]");
}

BOOST_AUTO_TEST_CASE(an_edit_the_budget_cannot_measure_is_skipped_untouched) {
  Fixture f;
  auto o = f.options();
  o.max_cost_usd = 0.5;
  // The baseline costs $0.30: $0.20 (minus the teacher's few tenths of a
  // cent) is left, less than a second measurement would cost.
  auto scores = std::make_shared<std::deque<double>>(std::deque<double>{0.5, 0.9});
  CalcStudent student{f.home, leash::AnyStore{}};
  ss::SpecSearchSession session(leash::llm::AnyTransport(teacher({reply(clusters_reply), reply(one_param)})),
                                learn::TraceStore(f.store), ss::ConfigHome(f.home), student, benchmark(),
                                ScriptedScorer{scores, 0.30}, o);
  auto before = read_text(f.home / "calc.toml");
  auto ran = run_sync(session.run_session(ss::Trigger::on_demand()));
  BOOST_REQUIRE(ran.has_value());
  auto const& s = ran.value();
  BOOST_REQUIRE(s.edit_outcomes.size() == 1u);
  BOOST_TEST((s.edit_outcomes[0].status == ss::OutcomeStatus::skipped));
  BOOST_TEST(s.edit_outcomes[0].error.value().find("not enough budget left to measure it") != std::string::npos,
             s.edit_outcomes[0].error.value());
  BOOST_TEST(read_text(f.home / "calc.toml") == before);
  BOOST_TEST(scores->size() == 1u);  // the edit was never scored
  BOOST_TEST(s.teacher_cost_usd < 0.5);
}

BOOST_AUTO_TEST_CASE(manual_autonomy_applies_nothing) {
  Fixture f;
  auto t = teacher({reply(clusters_reply), reply(plan_reply)});
  auto o = f.options();
  o.autonomy_mode = ss::AutonomyMode::manual;
  CalcStudent student{f.home, leash::AnyStore{}};
  auto before = read_text(f.home / "calc.toml");
  ss::SpecSearchSession session(leash::llm::AnyTransport(t), learn::TraceStore(f.store), ss::ConfigHome(f.home),
                                student, benchmark(), ss::NoScorer{}, o);
  auto ran = run_sync(session.run_session(ss::Trigger::on_demand()));
  BOOST_REQUIRE(ran.has_value());
  for (auto const& out : ran.value().edit_outcomes)
    BOOST_TEST((out.status == ss::OutcomeStatus::pending_review), out.edit.id);
  BOOST_TEST((ran.value().status == ss::SessionStatus::awaiting_review));
  BOOST_TEST(read_text(f.home / "calc.toml") == before);
}

BOOST_AUTO_TEST_CASE(a_session_loop_runs_sessions_until_they_stagnate) {
  Fixture f;
  // Every call gets the same reply: clusters (for the diagnosis) and an
  // empty plan (for the planning call), so nothing changes from session to session.
  auto t = teacher({reply(std::string(clusters_reply) + "\n{\"edits\": []}")});
  CalcStudent student{f.home, leash::AnyStore{}};
  ss::SpecSearchSession session(leash::llm::AnyTransport(t), learn::TraceStore(f.store), ss::ConfigHome(f.home),
                                student, benchmark(), ss::DatasetScorer(benchmark(), student), f.options());
  session.set_session_store(f.sessions);
  using Stops = learn::StopList<learn::SessionFailed, learn::Stagnation<2>, learn::CostBudget>;
  learn::SessionLoop<decltype(session), Stops> loop(std::move(session));
  auto r = loop.run();
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST((r.value().stop_reason.kind == learn::StopKind::stagnation), r.value().stop_reason.message);
  BOOST_TEST(r.value().sessions.size() == 3u);  // 0.5 improves on 0; then two sessions without improvement
  BOOST_TEST(r.value().best_overall_score == 0.5);
  auto const& sessions = loop.session().sessions();
  BOOST_REQUIRE(sessions.size() == 3u);
  BOOST_TEST(!sessions[0].parent_session_id.has_value());
  BOOST_TEST(sessions[1].parent_session_id.value() == sessions[0].id);
  BOOST_TEST(sessions[2].parent_session_id.value() == sessions[1].id);
  // Three sessions, each a teacher answer and a planning call (1000 in, 200 out).
  BOOST_TEST(r.value().total_cost_usd == 3 * 2 * 0.0014, boost::test_tools::tolerance(1e-12));
  auto stored = f.sessions->list_sessions();
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST(stored.value().size() == 3u);
  BOOST_TEST(f.sessions->get_session(sessions[2].id).value().value().parent_session_id.value() == sessions[1].id);
}

#if defined(LEASH_LEARN_PATH) && defined(LEASH_CLI_PATH)
// The README's spec search (scripts/spec-search-demo.sh), with the real
// programs and the shipped teacher script.
BOOST_AUTO_TEST_CASE(leash_learn_spec_search_keeps_the_calculator_and_leash_review_applies_the_prompt) {
  using leash_test::run_program;
  leash_test::TempDir dir("leash-spec-search-cli");
  auto shipped = fs::path(LEASH_SOURCE_DIR) / "example" / "learn";
  auto configs = dir.path() / "agents";
  fs::create_directories(configs);
  fs::copy_file(shipped / "agents" / "calc.toml", configs / "calc.toml");
  std::string store = "sqlite:" + (dir.path() / "runs.db").string();
  for (std::string q : {"calculate 6*7", "calculate 12+30", "what is the capital of France?"})
    BOOST_REQUIRE(run_program(LEASH_LEARN_PATH, {"ask", store, q, "--configs", configs.string()}).code <= 1);

  std::vector<std::string> args = {"spec-search", store, "--configs", configs.string(), "--min-traces", "3",
                                   "--teacher-model", "scripted:" + (shipped / "teacher.jsonl").string() + "#teacher",
                                   "--dataset", (shipped / "eval.jsonl").string(), "--json"};
  auto searched = run_program(LEASH_LEARN_PATH, args);
  BOOST_REQUIRE_MESSAGE(searched.code == 0, searched.out);
  auto session = ss::session_from_json(json::parse(searched.out));
  BOOST_REQUIRE(session.has_value());
  auto const& s = session.value();
  BOOST_TEST((s.status == ss::SessionStatus::awaiting_review));
  BOOST_TEST(s.benchmark_before.value().overall_score == 0.4);
  BOOST_TEST(s.benchmark_after.value().overall_score == 1.0);
  BOOST_REQUIRE(s.edit_outcomes.size() == 3u);
  BOOST_TEST((s.edit_outcomes[0].status == ss::OutcomeStatus::applied));
  BOOST_TEST((s.edit_outcomes[1].status == ss::OutcomeStatus::rejected_by_gate));
  BOOST_TEST((s.edit_outcomes[2].status == ss::OutcomeStatus::pending_review));
  auto config = learn::parse_agent_config_file(configs / "calc.toml").value();
  BOOST_TEST((config.tools == std::vector<std::string>{"lookup", "calculator"}));
  BOOST_TEST(config.system_prompt == "Answer with the result only.");

  auto approved = run_program(LEASH_CLI_PATH, {"review", store, "approve", s.id, "prompt-show-work", "--home",
                                               configs.string()});
  BOOST_TEST(approved.code == 0, approved.out);
  config = learn::parse_agent_config_file(configs / "calc.toml").value();
  BOOST_TEST(config.system_prompt.find("Use the calculator") == 0u, config.system_prompt);
  auto listed = run_program(LEASH_CLI_PATH, {"review", store});
  BOOST_TEST(listed.out.find("prompt-show-work") == std::string::npos, listed.out);

  // Too few runs: the session fails, exit code 1, and says how many it has.
  args[5] = "50";
  auto early = run_program(LEASH_LEARN_PATH, args);
  BOOST_TEST(early.code == 1, early.out);
  BOOST_TEST(early.out.find("Not enough traces yet") != std::string::npos, early.out);
}
#endif

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_spec_search_session

#endif
