// Tests of leash/learn/optimize/store.hpp, on real SQLite files. Without
// SQLite (LEASH_HAS_SQLITE undefined) the suite is empty.
#if defined(LEASH_HAS_SQLITE)
#include <leash/learn/optimize/store.hpp>
#include <leash/store/open.hpp>
#endif
#include <boost/test/unit_test.hpp>

#if defined(LEASH_HAS_SQLITE)

#include "support.hpp"
#include "temp_dir.hpp"
#include "raw_sqlite.hpp"

#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace test_learn_optimize_store {

namespace json = leash::json;
namespace opt = leash::learn::optimize;
namespace fs = std::filesystem;
using leash::Errc;
using leash_test::run_sync;
using leash_test::TempDir;

/// A clock the test moves by hand.
struct Clock {
  double now = 1000.0;
};

opt::OptimizationStore open_store(fs::path const& path, Clock* clock = nullptr) {
  opt::OptimizationStoreOptions o;
  if (clock) o.clock = [clock] { return clock->now; };
  auto opened = opt::OptimizationStore::open(path, o);
  BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened.has_error() ? opened.error().what() : std::string()));
  return std::move(opened).value();
}

using leash_test::RawDb;

opt::SearchSpace space() {
  opt::SearchSpace s;
  opt::SearchDimension t;
  t.name = "intelligence.temperature";
  t.type = opt::DimensionType::continuous;
  t.low = 0.0;
  t.high = 1.0;
  t.description = "Sampling temperature";
  t.primitive = "intelligence";
  opt::SearchDimension m;
  m.name = "intelligence.model";
  m.values = {json::value("small"), json::value("large"), json::value(4)};
  m.primitive = "intelligence";
  opt::SearchDimension p;
  p.name = "agent.system_prompt";
  p.type = opt::DimensionType::text;
  s.dimensions = {t, m, p};
  s.fixed["agent.max_turns"] = 8;
  s.constraints = {"Keep the prompt short", "No \"quotes\"\nplease"};
  return s;
}

std::vector<opt::ObjectiveSpec> objectives() {
  auto o = opt::default_objectives();
  opt::ObjectiveSpec ttft;
  ttft.metric = "ttft_seconds";
  ttft.direction = opt::ObjectiveSpec::Direction::minimize;
  ttft.weight = 0.5;
  o.push_back(ttft);
  return o;
}

opt::TrialResult trial(std::string id, double accuracy) {
  opt::TrialResult r;
  r.trial_id = id;
  r.config.trial_id = id;
  r.config.params["intelligence.temperature"] = 0.3;
  r.config.params["agent.system_prompt"] = "line one\nline \"two\"";
  r.config.reasoning = "try a cooler model";
  r.accuracy = accuracy;
  r.mean_latency_seconds = 2.5;
  r.total_cost_usd = 0.0125;
  r.total_energy_joules = 31.75;
  r.total_tokens = 12345;
  r.samples_evaluated = 50;
  r.analysis = "decent";
  r.failure_modes = {"timeouts", "format errors"};
  r.metrics["ttft_seconds"] = 0.4;
  r.metrics["nested"] = json::parse(R"({"a":[1,2.5,"x"]})");
  return r;
}

opt::OptimizationRun new_run(std::string id) {
  opt::OptimizationRun r;
  r.run_id = std::move(id);
  return r;
}

void begin(opt::OptimizationStore& store, std::string const& id) {
  auto ok = store.begin_run(new_run(id), space(), objectives(), "gpt-5-mini", "supergpqa+gaia");
  BOOST_REQUIRE_MESSAGE(ok.has_value(), (ok.has_error() ? ok.error().what() : std::string()));
}

opt::StoredRun get(opt::OptimizationStore& store, std::string const& id) {
  auto got = store.get_run(id);
  BOOST_REQUIRE_MESSAGE(got.has_value(), (got.has_error() ? got.error().what() : std::string()));
  BOOST_REQUIRE(got.value().has_value());
  return *std::move(got).value();
}

bool contains(std::string const& text, std::string const& part) { return text.find(part) != std::string::npos; }

BOOST_AUTO_TEST_SUITE(learn_optimize_store)

BOOST_AUTO_TEST_CASE(open_creates_its_tables_in_wal_mode) {
  TempDir dir;
  auto path = dir / "sub" / "opt.db";
  { auto store = open_store(path); }
  RawDb raw(path);
  BOOST_TEST(raw.text("PRAGMA journal_mode") == "wal");
  for (auto const* table : {"optimization_schema", "optimization_runs", "optimization_trials"})
    BOOST_TEST(raw.text(std::string("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '") + table +
                          "'") == table);
  BOOST_TEST(raw.text("SELECT name FROM sqlite_master WHERE type = 'index' AND name = "
                        "'optimization_trials_by_run'") == "optimization_trials_by_run");
  BOOST_TEST(raw.text("SELECT version FROM optimization_schema WHERE component = 'optimization'") == "1");
  // The run store's schema version is not touched.
  BOOST_TEST(raw.text("PRAGMA user_version") == "0");
  // Opening again is fine (no migration runs twice).
  auto again = opt::OptimizationStore::open(path);
  BOOST_TEST(again.has_value());
}

BOOST_AUTO_TEST_CASE(a_newer_schema_is_refused) {
  TempDir dir;
  auto path = dir / "opt.db";
  { auto store = open_store(path); }
  RawDb(path).exec("UPDATE optimization_schema SET version = 99 WHERE component = 'optimization'");
  auto opened = opt::OptimizationStore::open(path);
  BOOST_REQUIRE(opened.has_error());
  BOOST_TEST((opened.error() == Errc::state_version_unsupported));
}

BOOST_AUTO_TEST_CASE(the_run_row_exists_before_any_trial) {
  TempDir dir;
  Clock clock;
  auto store = open_store(dir / "opt.db", &clock);
  begin(store, "run1");
  auto run = get(store, "run1");
  BOOST_TEST(run.status == "running");
  BOOST_TEST(run.trials.empty());
  BOOST_TEST(run.optimizer_model == "gpt-5-mini");
  BOOST_TEST(run.benchmark == "supergpqa+gaia");
  BOOST_TEST(run.created_at == 1000.0);
  BOOST_TEST(run.updated_at == 1000.0);
  BOOST_TEST(!run.best_trial_id.has_value());
  BOOST_TEST(!run.recipe_path.has_value());
  BOOST_TEST(run.frontier_ids.empty());
  // Visible to another connection right away.
  BOOST_TEST(RawDb(dir / "opt.db").text("SELECT status FROM optimization_runs WHERE run_id = 'run1'") == "running");
  // Beginning it twice is refused.
  auto twice = store.begin_run(new_run("run1"), space(), objectives(), "m", "b");
  BOOST_REQUIRE(twice.has_error());
  BOOST_TEST((twice.error() == Errc::invalid_input));
  // A trial of a run never begun is refused.
  auto orphan = store.save_trial("nope", trial("aaaaaaaaaaaa", 0.5));
  BOOST_REQUIRE(orphan.has_error());
  BOOST_TEST((orphan.error() == Errc::run_not_found));
}

BOOST_AUTO_TEST_CASE(search_space_and_objectives_are_restored) {
  TempDir dir;
  auto store = open_store(dir / "opt.db");
  begin(store, "run1");
  auto run = get(store, "run1");
  auto const want = space();
  BOOST_REQUIRE(run.search_space.dimensions.size() == want.dimensions.size());
  for (std::size_t i = 0; i < want.dimensions.size(); ++i) {
    auto const& a = run.search_space.dimensions[i];
    auto const& b = want.dimensions[i];
    BOOST_TEST(a.name == b.name);
    BOOST_TEST((a.type == b.type));
    BOOST_TEST((a.values == b.values));
    BOOST_TEST((a.low == b.low));
    BOOST_TEST((a.high == b.high));
    BOOST_TEST(a.description == b.description);
    BOOST_TEST(a.primitive == b.primitive);
  }
  BOOST_TEST((run.search_space.fixed == want.fixed));
  BOOST_TEST((run.search_space.constraints == want.constraints));
  BOOST_TEST((run.objectives == objectives()));
}

BOOST_AUTO_TEST_CASE(a_trial_round_trips_every_field) {
  TempDir dir;
  Clock clock;
  auto store = open_store(dir / "opt.db", &clock);
  begin(store, "run1");
  auto ok = trial("0123456789ab", 0.82);
  opt::TrialFeedback fb;
  fb.summary_text = "mostly right";
  fb.failure_patterns = {"timeouts"};
  fb.primitive_ratings = {{"intelligence", "high"}, {"agent", "low"}};
  fb.suggested_changes = {"raise max_turns"};
  fb.target_primitive = "agent";
  auto bad = trial("ba0ba0ba0ba0", 0.0);
  bad.failed = true;
  bad.error = "the trial runner failed: boom";
  bad.metrics = {};
  bad.total_cost_usd = std::nan("");
  clock.now = 1001.0;
  BOOST_REQUIRE(store.save_trial("run1", ok, opt::feedback_to_json(fb), "initial").has_value());
  clock.now = 1002.0;
  BOOST_REQUIRE(store.save_trial("run1", bad, {}, "next").has_value());

  auto run = get(store, "run1");
  BOOST_REQUIRE(run.trials.size() == 2u);
  auto const& a = run.trials[0];
  BOOST_TEST(a.result.trial_id == ok.trial_id);
  BOOST_TEST(a.result.config.trial_id == ok.config.trial_id);
  BOOST_TEST((a.result.config.params == ok.config.params));
  BOOST_TEST(a.result.config.reasoning == ok.config.reasoning);
  BOOST_TEST(a.result.accuracy == ok.accuracy);
  BOOST_TEST(a.result.mean_latency_seconds == ok.mean_latency_seconds);
  BOOST_TEST(a.result.total_cost_usd == ok.total_cost_usd);
  BOOST_TEST(a.result.total_energy_joules == ok.total_energy_joules);
  BOOST_TEST(a.result.total_tokens == ok.total_tokens);
  BOOST_TEST(a.result.samples_evaluated == ok.samples_evaluated);
  BOOST_TEST(a.result.analysis == ok.analysis);
  BOOST_TEST((a.result.failure_modes == ok.failure_modes));
  BOOST_TEST((a.result.metrics == ok.metrics));
  BOOST_TEST(!a.result.failed);
  BOOST_TEST(a.result.error.empty());
  BOOST_TEST(a.proposal_kind == "initial");
  BOOST_TEST(a.created_at == 1001.0);
  auto back = opt::feedback_from_json(a.feedback);
  BOOST_TEST(back.summary_text == fb.summary_text);
  BOOST_TEST((back.failure_patterns == fb.failure_patterns));
  BOOST_TEST((back.primitive_ratings == fb.primitive_ratings));
  BOOST_TEST((back.suggested_changes == fb.suggested_changes));
  BOOST_TEST(back.target_primitive == fb.target_primitive);
  BOOST_TEST(back.parsed);

  auto const& b = run.trials[1];
  BOOST_TEST(b.result.failed);
  BOOST_TEST(b.result.error == bad.error);
  BOOST_TEST(b.result.metrics.empty());
  BOOST_TEST(std::isnan(b.result.total_cost_usd));  // NaN (not measured) stays NaN
  BOOST_TEST(b.feedback.empty());
  BOOST_TEST(b.proposal_kind == "next");
  BOOST_TEST(run.updated_at == 1002.0);

  // NaN inside JSON cannot be written, and nothing is.
  auto nan_metric = trial("cccccccccccc", 0.1);
  nan_metric.metrics["ttft_seconds"] = std::nan("");
  auto refused = store.save_trial("run1", nan_metric);
  BOOST_REQUIRE(refused.has_error());
  BOOST_TEST((refused.error() == Errc::invalid_input));
  BOOST_TEST(get(store, "run1").trials.size() == 2u);
}

BOOST_AUTO_TEST_CASE(saving_a_trial_again_updates_it_in_place) {
  TempDir dir;
  Clock clock;
  auto store = open_store(dir / "opt.db", &clock);
  begin(store, "run1");
  BOOST_REQUIRE(store.save_trial("run1", trial("aaaaaaaaaaaa", 0.5)).has_value());
  BOOST_REQUIRE(store.save_trial("run1", trial("bbbbbbbbbbbb", 0.6)).has_value());
  clock.now = 1005.0;
  auto changed = trial("aaaaaaaaaaaa", 0.9);
  changed.analysis = "re-analysed";
  BOOST_REQUIRE(store.save_trial("run1", changed, {}, "merge").has_value());

  auto run = get(store, "run1");
  BOOST_REQUIRE(run.trials.size() == 2u);
  BOOST_TEST(run.trials[0].result.trial_id == "aaaaaaaaaaaa");  // keeps its place
  BOOST_TEST(run.trials[0].result.accuracy == 0.9);
  BOOST_TEST(run.trials[0].result.analysis == "re-analysed");
  BOOST_TEST(run.trials[0].proposal_kind == "merge");
  BOOST_TEST(run.trials[0].created_at == 1000.0);
  BOOST_TEST(run.trials[0].updated_at == 1005.0);
  BOOST_TEST(run.trials[1].result.trial_id == "bbbbbbbbbbbb");
  BOOST_TEST(RawDb(dir / "opt.db").text("SELECT COUNT(*) FROM optimization_trials") == "2");

  // The same trial id in another run is another trial.
  begin(store, "run2");
  BOOST_REQUIRE(store.save_trial("run2", trial("aaaaaaaaaaaa", 0.1)).has_value());
  BOOST_TEST(get(store, "run2").trials.size() == 1u);
  BOOST_TEST(get(store, "run1").trials[0].result.accuracy == 0.9);
}

BOOST_AUTO_TEST_CASE(finish_run_keeps_created_at_and_restores_best_and_frontier) {
  TempDir dir;
  Clock clock;
  auto store = open_store(dir / "opt.db", &clock);
  begin(store, "run1");
  opt::OptimizationRun run = new_run("run1");
  run.trials = {trial("aaaaaaaaaaaa", 0.5), trial("bbbbbbbbbbbb", 0.9), trial("cccccccccccc", 0.7)};
  for (auto const& t : run.trials) BOOST_REQUIRE(store.save_trial("run1", t).has_value());
  run.best = 1;
  run.frontier = {1, 2};
  run.status = "completed";
  run.reason = "patience";
  clock.now = 2000.0;
  BOOST_REQUIRE(store.finish_run(run).has_value());

  auto back = get(store, "run1");
  BOOST_TEST(back.status == "completed");
  BOOST_TEST(back.reason == "patience");
  BOOST_TEST(back.created_at == 1000.0);
  BOOST_TEST(back.updated_at == 2000.0);
  BOOST_REQUIRE(back.best_trial_id.has_value());
  BOOST_TEST(*back.best_trial_id == "bbbbbbbbbbbb");
  BOOST_REQUIRE(back.best() != nullptr);
  BOOST_TEST(back.best()->result.accuracy == 0.9);
  BOOST_TEST((back.frontier_ids == std::vector<std::string>{"bbbbbbbbbbbb", "cccccccccccc"}));
  auto as_run = back.to_optimization_run();
  BOOST_REQUIRE(as_run.best.has_value());
  BOOST_TEST(*as_run.best == 1u);
  BOOST_TEST((as_run.frontier == std::vector<std::size_t>{1, 2}));
  BOOST_TEST(as_run.trials.size() == 3u);

  // Finishing again (a later save) still keeps created_at.
  clock.now = 3000.0;
  run.status = "failed";
  BOOST_REQUIRE(store.finish_run(run).has_value());
  back = get(store, "run1");
  BOOST_TEST(back.created_at == 1000.0);
  BOOST_TEST(back.status == "failed");

  // An unknown run, or no status, is refused.
  auto unknown = store.finish_run(new_run("zzz"));
  BOOST_REQUIRE(unknown.has_error());
  BOOST_TEST((unknown.error() == Errc::invalid_input));  // no status
  auto ghost = new_run("zzz");
  ghost.status = "completed";
  unknown = store.finish_run(ghost);
  BOOST_REQUIRE(unknown.has_error());
  BOOST_TEST((unknown.error() == Errc::run_not_found));
}

BOOST_AUTO_TEST_CASE(save_progress_writes_trials_feedback_and_kinds) {
  TempDir dir;
  auto store = open_store(dir / "opt.db");
  opt::OptimizationRun run = new_run("run9");
  run.trials = {trial("aaaaaaaaaaaa", 0.5), trial("bbbbbbbbbbbb", 0.8)};
  run.feedback.resize(2);
  run.feedback[1].summary_text = "better";
  run.feedback[1].target_primitive = "intelligence";
  run.proposal_kinds = {"initial", "targeted:intelligence"};
  run.best = 1;
  run.frontier = {1};
  // Not begun: save_progress begins it, still running.
  BOOST_REQUIRE(opt::save_progress(store, run).has_value());
  auto back = get(store, "run9");
  BOOST_TEST(back.status == "running");
  BOOST_REQUIRE(back.trials.size() == 2u);
  BOOST_TEST(back.trials[0].feedback.empty());
  BOOST_TEST(opt::feedback_from_json(back.trials[1].feedback).summary_text == "better");
  BOOST_TEST(back.trials[1].proposal_kind == "targeted:intelligence");
  BOOST_TEST((back.frontier_ids == std::vector<std::string>{"bbbbbbbbbbbb"}));
  // More trials and the end.
  run.trials.push_back(trial("cccccccccccc", 0.95));
  run.feedback.emplace_back();
  run.proposal_kinds.push_back("merge");
  run.best = 2;
  run.status = "completed";
  run.reason = "max_trials";
  BOOST_REQUIRE(opt::save_progress(store, run).has_value());
  back = get(store, "run9");
  BOOST_TEST(back.status == "completed");
  BOOST_TEST(back.reason == "max_trials");
  BOOST_TEST(back.trials.size() == 3u);
  BOOST_TEST(back.best_trial_id.value_or("") == "cccccccccccc");
}

BOOST_AUTO_TEST_CASE(list_runs_newest_first_with_a_limit) {
  TempDir dir;
  Clock clock;
  auto store = open_store(dir / "opt.db", &clock);
  for (int i = 0; i < 5; ++i) {
    clock.now = 1000.0 + i;
    begin(store, "run" + std::to_string(i));
  }
  BOOST_REQUIRE(store.save_trial("run1", trial("aaaaaaaaaaaa", 0.5)).has_value());
  BOOST_REQUIRE(store.save_trial("run1", trial("bbbbbbbbbbbb", 0.5)).has_value());
  // Updating an old run does not move it: the order is by creation.
  clock.now = 5000.0;
  BOOST_REQUIRE(store.set_recipe_path("run1", "recipes/best.toml").has_value());
  auto all = store.list_runs();
  BOOST_REQUIRE(all.has_value());
  BOOST_REQUIRE(all.value().size() == 5u);
  for (int i = 0; i < 5; ++i) BOOST_TEST(all.value()[i].run_id == "run" + std::to_string(4 - i));
  auto const& r1 = all.value()[3];
  BOOST_TEST(r1.trials == 2u);
  BOOST_TEST(r1.recipe_path.value_or("") == "recipes/best.toml");
  BOOST_TEST(r1.created_at == 1001.0);
  BOOST_TEST(r1.updated_at == 5000.0);
  BOOST_TEST(r1.optimizer_model == "gpt-5-mini");
  auto two = store.list_runs(2);
  BOOST_REQUIRE(two.has_value());
  BOOST_REQUIRE(two.value().size() == 2u);
  BOOST_TEST(two.value()[0].run_id == "run4");
  BOOST_TEST(two.value()[1].run_id == "run3");
  // Same created_at: the later begun first.
  clock.now = 9000.0;
  begin(store, "tie-a");
  begin(store, "tie-b");
  auto ties = store.list_runs(2).value();
  BOOST_TEST(ties[0].run_id == "tie-b");
  BOOST_TEST(ties[1].run_id == "tie-a");

  auto missing = store.set_recipe_path("nope", "x.toml");
  BOOST_REQUIRE(missing.has_error());
  BOOST_TEST((missing.error() == Errc::run_not_found));
}

BOOST_AUTO_TEST_CASE(a_missing_run_is_an_empty_optional) {
  TempDir dir;
  auto store = open_store(dir / "opt.db");
  auto got = store.get_run("nope");
  BOOST_REQUIRE(got.has_value());
  BOOST_TEST(!got.value().has_value());
}

BOOST_AUTO_TEST_CASE(corrupt_json_is_state_corrupt_naming_the_run) {
  TempDir dir;
  auto path = dir / "opt.db";
  auto store = open_store(path);
  begin(store, "run1");
  BOOST_REQUIRE(store.save_trial("run1", trial("aaaaaaaaaaaa", 0.5)).has_value());
  BOOST_TEST(store.get_run("run1").has_value());

  RawDb(path).exec("UPDATE optimization_trials SET metrics = '{not json' WHERE trial_id = 'aaaaaaaaaaaa'");
  auto got = store.get_run("run1");
  BOOST_REQUIRE(got.has_error());
  BOOST_TEST((got.error() == Errc::state_corrupt));
  BOOST_TEST(contains(got.error().message, "run1"), got.error().message);
  BOOST_TEST(contains(got.error().message, "aaaaaaaaaaaa"), got.error().message);
  BOOST_TEST(contains(got.error().message, "metrics"), got.error().message);

  begin(store, "run2");
  RawDb(path).exec("UPDATE optimization_runs SET objectives = '[{\"metric\":\"x\",\"direction\":\"sideways\"}]' "
                   "WHERE run_id = 'run2'");
  got = store.get_run("run2");
  BOOST_REQUIRE(got.has_error());
  BOOST_TEST((got.error() == Errc::state_corrupt));
  BOOST_TEST(contains(got.error().message, "run2"), got.error().message);

  begin(store, "run3");
  RawDb(path).exec("UPDATE optimization_runs SET search_space = '[]' WHERE run_id = 'run3'");
  got = store.get_run("run3");
  BOOST_REQUIRE(got.has_error());
  BOOST_TEST((got.error() == Errc::state_corrupt));
  // Listing does not read the JSON, so it still works.
  BOOST_TEST(store.list_runs().has_value());
}

BOOST_AUTO_TEST_CASE(shares_a_file_with_the_leash_run_store) {
  TempDir dir;
  auto path = dir / "runs.db";
  auto run_store = leash::open_store("sqlite:" + path.string());
  BOOST_REQUIRE(run_store.has_value());
  leash::State s;
  s.run_id = "leash-run-1";
  s.goal = "fix the tests";
  BOOST_REQUIRE(run_sync(run_store.value().create_run(s)).has_value());

  {
    auto store = open_store(path);
    begin(store, "opt1");
    BOOST_REQUIRE(store.save_trial("opt1", trial("aaaaaaaaaaaa", 0.5)).has_value());
  }
  // The run store keeps working, before and after a reopening.
  BOOST_REQUIRE(run_sync(run_store.value().create_run([] {
                  leash::State t;
                  t.run_id = "leash-run-2";
                  t.goal = "g2";
                  return t;
                }())).has_value());
  auto loaded = run_sync(run_store.value().load("leash-run-1"));
  BOOST_REQUIRE(loaded.has_value());
  BOOST_TEST(loaded.value().goal == "fix the tests");
  auto reopened = leash::open_store("sqlite:" + path.string());
  BOOST_REQUIRE_MESSAGE(reopened.has_value(), (reopened.has_error() ? reopened.error().what() : std::string()));
  auto runs = run_sync(reopened.value().list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_TEST(runs.value().size() == 2u);

  // And the optimization store reads its rows back, with the run store open.
  auto store = open_store(path);
  BOOST_TEST(get(store, "opt1").trials.size() == 1u);
  RawDb raw(path);
  BOOST_TEST(raw.text("PRAGMA user_version") != "0");  // the run store's own version, untouched by us
  BOOST_TEST(raw.text("SELECT COUNT(*) FROM runs") == "2");

  // Opened the other way round: optimization tables first, then the run store.
  auto other = dir / "other.db";
  { auto first = open_store(other); begin(first, "o"); }
  auto late = leash::open_store("sqlite:" + other.string());
  BOOST_REQUIRE_MESSAGE(late.has_value(), (late.has_error() ? late.error().what() : std::string()));
  BOOST_REQUIRE(run_sync(late.value().create_run(s)).has_value());
  auto again = open_store(other);
  BOOST_TEST(get(again, "o").status == "running");
}

/// A runner that measures by a table of accuracies, failing where told.
struct FakeRunner {
  int calls = 0;
  boost::asio::awaitable<leash::result<opt::TrialResult>> run_trial(opt::TrialConfig const& config) {
    ++calls;
    if (calls == 2) co_return leash::Error(Errc::tool_failed, "benchmark crashed");
    opt::TrialResult r;
    r.accuracy = 0.25 * calls;
    r.config = config;
    co_return r;
  }
};

BOOST_AUTO_TEST_CASE(recording_runner_saves_each_trial_as_it_is_measured) {
  TempDir dir;
  auto store = open_store(dir / "opt.db");
  std::string const id = opt::engine_run_id(42);
  BOOST_TEST(id.size() == 16u);
  BOOST_TEST(opt::engine_run_id(42) == id);
  begin(store, id);
  opt::RecordingRunner<FakeRunner> runner(FakeRunner{}, store, id);
  static_assert(opt::TrialRunner<opt::RecordingRunner<FakeRunner>>);
  opt::TrialConfig c1;
  c1.trial_id = "aaaaaaaaaaaa";
  opt::TrialConfig c2;
  c2.trial_id = "bbbbbbbbbbbb";
  auto first = run_sync(runner.run_trial(c1));
  BOOST_REQUIRE(first.has_value());
  BOOST_TEST(first.value().accuracy == 0.25);
  BOOST_TEST(get(store, id).trials.size() == 1u);  // on disk already
  auto second = run_sync(runner.run_trial(c2));
  BOOST_REQUIRE(second.has_error());  // passed on unchanged
  auto back = get(store, id);
  BOOST_REQUIRE(back.trials.size() == 2u);
  BOOST_TEST(back.trials[0].result.trial_id == "aaaaaaaaaaaa");
  BOOST_TEST(back.trials[1].result.failed);
  BOOST_TEST(contains(back.trials[1].result.error, "benchmark crashed"));
  BOOST_TEST(!runner.last_save_error().has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_learn_optimize_store

#endif
