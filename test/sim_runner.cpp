// The simulation runner: jobs of personas × runs × sessions, files, hook
// order, the concurrency cap, resume, the run store
// (reference/vera-mh-simulator.md §8.6–§8.9, and what §6 lists as wrong).
#include <leash/sim/runner.hpp>
#include <leash/sim/scripted_speaker.hpp>
#include <leash/store/open.hpp>

#include <boost/test/unit_test.hpp>

#include "support.hpp"
#include "temp_dir.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace test_sim_runner {

namespace fs = std::filesystem;
namespace sim = leash::sim;
namespace asio = boost::asio;
using leash::Errc;
using leash_test::run_sync;
using sim::Role;
using sim::ScriptedSpeaker;

struct TempDir : leash_test::TempDir {
  explicit TempDir(std::string const& name) : leash_test::TempDir("leash-sim-runner-" + name) {}
};

std::string read(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> files_in(fs::path const& dir, std::string const& ext = ".txt") {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto const& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

sim::Persona persona(std::string name) {
  sim::Persona p;
  p.name = std::move(name);
  p.fields = {{"Name", p.name}};
  p.prompt = "You are " + p.name + ".";
  return p;
}

/// Options every test starts from: quiet, seeded, in `dir`.
sim::RunnerOptions options(fs::path const& dir, std::ostream* progress = nullptr) {
  sim::RunnerOptions o;
  o.folder = dir;
  o.persona_model = "mock-persona-model";
  o.provider_model = "mock-provider-model";
  o.max_turns = 4;
  o.runs_per_persona = 1;
  o.seed = 7;
  o.progress = progress;
  o.quiet = progress == nullptr;
  return o;
}

auto scripted_persona = [](sim::JobContext const&) { return ScriptedSpeaker({"Hello", "And then?", "Thanks"}, "mock-persona-model"); };
auto scripted_provider = [](sim::JobContext const&) { return ScriptedSpeaker({"Hi!", "Then this.", "Bye"}, "mock-provider-model"); };

/// A provider that writes down every hook call, in order.
struct Tracker : ScriptedSpeaker {
  std::shared_ptr<std::vector<std::string>> calls;
  std::optional<Role> first;
  int fail_in_session = 0;  // generated replies fail in this session (1-based)
  bool fail_cleanup = false;
  int session = 0;

  explicit Tracker(std::shared_ptr<std::vector<std::string>> c) : ScriptedSpeaker({}, "tracker"), calls(std::move(c)) {}
  asio::awaitable<leash::result<void>> setup() {
    calls->push_back("setup");
    co_return leash::success();
  }
  void enter_session(std::string const& type) {
    ++session;
    calls->push_back("enter:" + type);
    simulate_error(session == fail_in_session);
  }
  std::optional<Role> first_speaker() {
    calls->push_back("first_speaker");
    return first;
  }
  leash::result<void> cleanup() {
    calls->push_back("cleanup");
    if (fail_cleanup) return leash::Error{Errc::store_failed, "cleanup could not close the session"};
    return leash::success();
  }
};

/// A Tracker whose prepare_sessions makes an intake session mandatory.
struct IntakeFirst : Tracker {
  using Tracker::Tracker;
  std::vector<std::string> prepare_sessions(std::vector<std::string> sessions) {
    calls->push_back("prepare:" + std::to_string(sessions.size()));
    if (sessions.empty() || sessions.front() != "intake") sessions.insert(sessions.begin(), "intake");
    return sessions;
  }
};

BOOST_AUTO_TEST_SUITE(sim_runner)

// §8.6 test 65.
BOOST_AUTO_TEST_CASE(defaults) {
  sim::RunnerOptions o;
  BOOST_TEST(o.max_turns == 6);
  BOOST_TEST(o.runs_per_persona == 3);
  BOOST_TEST(o.max_concurrent == 0);
  BOOST_TEST(o.persona_first);
  BOOST_TEST(o.session_types.empty());
}

// §8.6 tests 67, 71, 75, and the transcript on disk.
BOOST_AUTO_TEST_CASE(one_job_writes_its_transcript_and_log) {
  TempDir dir("one");
  auto out = dir.path() / "new" / "folder";
  sim::Runner runner(options(out), scripted_persona, scripted_provider);
  auto batch = runner.run({persona("TestPersona")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_REQUIRE(batch.value().jobs.size() == 1u);
  auto const& job = batch.value().jobs[0];
  BOOST_TEST(job.index == 1u);
  BOOST_TEST(job.persona_model == "mock-persona-model");
  BOOST_TEST(job.persona_name == "TestPersona");
  BOOST_TEST(job.run_number == 1);
  BOOST_TEST(!job.skipped);
  BOOST_TEST(job.duration_s > 0.0);
  BOOST_REQUIRE(job.sessions.size() == 1u);
  auto const& s = job.sessions[0];
  BOOST_TEST(s.turns == 4u);
  BOOST_TEST(s.conversation.size() == 4u);
  BOOST_TEST(s.session_type == "default");
  BOOST_TEST(fs::is_directory(out));
  BOOST_REQUIRE(fs::exists(s.transcript));
  BOOST_TEST(read(s.transcript) == sim::format_transcript(s.conversation));
  BOOST_TEST(read(s.transcript).find("user: Hello\n\nchatbot: Hi!") == 0u);
  auto log = read(s.log_file);
  BOOST_TEST(log.find("CONVERSATION STARTED") != std::string::npos);
  BOOST_TEST(log.find("TURN 1") != std::string::npos);
  BOOST_TEST(log.find("CONVERSATION COMPLETED") != std::string::npos);
  BOOST_TEST(s.log_file.parent_path() == out / "conversations" / "logs");
  BOOST_TEST(batch.value().completed == 1u);
  BOOST_TEST(!batch.value().all_skipped());
  // JSON shape: one entry per job holding sessions[], nothing flat on top.
  auto j = job.to_json();
  BOOST_TEST(j.contains("sessions"));
  BOOST_TEST(!j.contains("turns"));
  BOOST_TEST(!j.contains("conversation"));
  BOOST_TEST(fs::exists(out / "simulation.json"));
}

// §8.6 test 68.
BOOST_AUTO_TEST_CASE(provider_first_runs_an_odd_count) {
  TempDir dir("pfirst");
  auto o = options(dir.path());
  o.persona_first = false;
  o.max_turns = 3;
  sim::Runner runner(o, scripted_persona, scripted_provider);
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  auto const& conv = batch.value().jobs[0].sessions[0].conversation;
  BOOST_REQUIRE(conv.size() == 3u);
  BOOST_TEST((conv.front().speaker == Role::provider));
  BOOST_TEST((conv.back().speaker == Role::provider));
}

// §8.6 test 70 and §6.2: names are sanitised, so a model path or a spaced
// name cannot make sub-folders or unparseable names.
BOOST_AUTO_TEST_CASE(file_names_carry_persona_model_and_run_sanitised) {
  TempDir dir("names");
  auto o = options(dir.path());
  o.persona_model = "claude-3-opus-20240229";
  o.runs_per_persona = 2;
  sim::Runner runner(o, scripted_persona, scripted_provider);
  auto batch = runner.run({persona("Persona")});
  BOOST_REQUIRE(batch.has_value());
  auto name = batch.value().jobs[1].sessions[0].transcript.filename().string();
  BOOST_TEST(name.find("Persona") != std::string::npos);
  BOOST_TEST(name.find("claude-3-opus-20240229") != std::string::npos);
  BOOST_TEST(name.find("run2") != std::string::npos);
  BOOST_TEST(name.size() > 4u);
  BOOST_TEST(name.substr(name.size() - 4) == ".txt");

  TempDir dir2("names2");
  auto o2 = options(dir2.path());
  o2.persona_model = "scripted:models/v1.2 beta";
  sim::Runner runner2(o2, scripted_persona, scripted_provider);
  auto batch2 = runner2.run({persona("Mary Jane")});
  BOOST_REQUIRE(batch2.has_value());
  auto const& t = batch2.value().jobs[0].sessions[0].transcript;
  BOOST_TEST(t.parent_path() == dir2.path() / "conversations");
  auto n = t.filename().string();
  BOOST_TEST(n.find("Mary_Jane_scripted_models_v12_beta_run1.txt") == 7u);
}

// §8.6 test 72: a failing provider skips the job and writes no transcript.
BOOST_AUTO_TEST_CASE(a_failing_speaker_skips_the_job) {
  TempDir dir("fail");
  std::ostringstream progress;
  sim::Runner runner(options(dir.path(), &progress), scripted_persona,
                     [](sim::JobContext const&) { return std::move(ScriptedSpeaker().simulate_error()); });
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  auto const& job = batch.value().jobs[0];
  BOOST_TEST(job.skipped);
  BOOST_TEST(job.skip_reason == "error");
  BOOST_TEST(job.error.find("Simulated API error") != std::string::npos);
  BOOST_TEST(files_in(dir.path() / "conversations").empty());
  BOOST_REQUIRE(job.sessions.size() == 1u);
  BOOST_TEST(job.sessions[0].skipped);
  BOOST_TEST(read(job.sessions[0].log_file).find("Simulated API error") != std::string::npos);
  BOOST_TEST(batch.value().all_skipped());
  BOOST_TEST(batch.value().skipped_error == 1u);
  BOOST_TEST(progress.str().find("failed after 1 turns: Simulated API error") != std::string::npos);
}

// §8.7 tests 76, 78–80.
BOOST_AUTO_TEST_CASE(a_batch_runs_every_persona_and_run) {
  TempDir dir("batch");
  auto o = options(dir.path());
  o.runs_per_persona = 2;
  sim::Runner runner(o, scripted_persona, scripted_provider);
  auto batch = runner.run({persona("A"), persona("B")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_REQUIRE(batch.value().jobs.size() == 4u);
  std::set<std::size_t> indexes;
  for (auto const& j : batch.value().jobs) {
    indexes.insert(j.index);
    BOOST_TEST(!j.sessions.at(0).conversation.empty());
  }
  BOOST_TEST((indexes == std::set<std::size_t>{1, 2, 3, 4}));
  auto files = files_in(dir.path() / "conversations");
  BOOST_TEST(files.size() == 4u);

  TempDir empty_dir("batch-empty");
  sim::Runner empty(options(empty_dir.path()), scripted_persona, scripted_provider);
  auto none = empty.run({});
  BOOST_REQUIRE(none.has_value());
  BOOST_TEST(none.value().jobs.empty());
  BOOST_TEST(!none.value().all_skipped());
}

// §8.7 test 81: factories are called once per job with that job's context.
BOOST_AUTO_TEST_CASE(factories_are_called_once_per_job) {
  TempDir dir("factories");
  auto o = options(dir.path());
  o.runs_per_persona = 2;
  std::vector<std::string> seen;
  auto make_provider = [&](sim::JobContext const& job) {
    seen.push_back(job.persona->name + "#" + std::to_string(job.run_number) + "@" + std::to_string(job.index));
    BOOST_TEST(job.tag.size() == 6u);
    return ScriptedSpeaker();
  };
  sim::Runner runner(o, scripted_persona, make_provider);
  auto batch = runner.run({persona("A"), persona("B")});
  BOOST_REQUIRE(batch.has_value());
  std::sort(seen.begin(), seen.end());
  BOOST_TEST(seen == (std::vector<std::string>{"A#1@1", "A#2@2", "B#1@3", "B#2@4"}));
}

/// A speaker whose replies take a little while, counting jobs in flight
/// between setup and cleanup.
struct Slow {
  ScriptedSpeaker inner;
  std::shared_ptr<std::atomic<int>> live, peak;
  asio::awaitable<leash::result<sim::Reply>> pause_then(bool first, sim::History h) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(2));
    co_await t.async_wait(asio::use_awaitable);
    if (first) co_return co_await inner.start();
    co_return co_await inner.respond(h);
  }
  asio::awaitable<leash::result<sim::Reply>> start() { return pause_then(true, {}); }
  asio::awaitable<leash::result<sim::Reply>> respond(sim::History h) { return pause_then(false, h); }
  void setup() {
    int now = ++*live;
    int before = peak->load();
    while (now > before && !peak->compare_exchange_weak(before, now)) {
    }
  }
  void cleanup() { --*live; }
};

// §8.7 test 77: never more than max_concurrent jobs in flight, and the cap is reached.
BOOST_AUTO_TEST_CASE(the_concurrency_cap_holds) {
  for (int cap : {1, 2, 0}) {
    TempDir dir("cap" + std::to_string(cap));
    auto o = options(dir.path());
    o.runs_per_persona = 3;
    o.max_concurrent = cap;
    auto live = std::make_shared<std::atomic<int>>(0);
    auto peak = std::make_shared<std::atomic<int>>(0);
    sim::Runner runner(o, scripted_persona, [&](sim::JobContext const&) { return Slow{ScriptedSpeaker(), live, peak}; });
    auto batch = runner.run({persona("A"), persona("B")});
    BOOST_REQUIRE(batch.has_value());
    BOOST_TEST(batch.value().jobs.size() == 6u);
    BOOST_TEST(batch.value().completed == 6u);
    BOOST_TEST(live->load() == 0);
    BOOST_TEST(peak->load() == (cap == 0 ? 6 : cap));
  }
}

BOOST_AUTO_TEST_CASE(bad_settings_are_refused) {
  TempDir dir("bad");
  auto o = options(dir.path());
  o.max_concurrent = -1;
  sim::Runner runner(o, scripted_persona, scripted_provider);
  auto batch = runner.run({persona("A")});
  BOOST_REQUIRE(batch.has_error());
  BOOST_TEST((batch.error() == Errc::invalid_config));
  BOOST_TEST(batch.error().what().find("max_concurrent") != std::string::npos);

  auto o2 = options(dir.path());
  o2.max_turns = 0;
  sim::Runner runner2(o2, scripted_persona, scripted_provider);
  BOOST_TEST(runner2.run({persona("A")}).has_error());
}

// §8.9 tests 92–93, 96–97 and §9's hook order: setup once, prepare once, per
// session enter then first_speaker, cleanup at the end.
BOOST_AUTO_TEST_CASE(hooks_run_in_order_and_sessions_stay_separate) {
  TempDir dir("hooks");
  auto o = options(dir.path());
  o.session_types = {"intake", "coaching"};
  o.max_turns = 2;
  auto calls = std::make_shared<std::vector<std::string>>();
  sim::Runner runner(o, scripted_persona, [&](sim::JobContext const&) { return Tracker(calls); });
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(*calls == (std::vector<std::string>{"setup", "enter:intake", "first_speaker", "enter:coaching",
                                                 "first_speaker", "cleanup"}));
  auto const& job = batch.value().jobs.at(0);
  BOOST_REQUIRE(job.sessions.size() == 2u);
  BOOST_TEST(job.sessions[0].transcript.filename().string().find("_s1_intake.txt") != std::string::npos);
  BOOST_TEST(job.sessions[1].transcript.filename().string().find("_s2_coaching.txt") != std::string::npos);
  for (auto const& s : job.sessions) {
    BOOST_TEST(s.turns > 0u);
    BOOST_TEST(s.conversation.size() == s.turns);
    BOOST_TEST(s.conversation.front().turn == 1);  // each session numbers from 1
  }
  BOOST_TEST(files_in(dir.path() / "conversations").size() == 2u);
  BOOST_TEST(files_in(dir.path() / "conversations" / "logs", ".log").size() == 2u);
}

// §8.9 test 94: prepare_sessions decides what runs.
BOOST_AUTO_TEST_CASE(prepare_sessions_decides_the_sessions) {
  TempDir dir("prepare");
  auto o = options(dir.path());
  o.session_types = {"coaching"};
  o.max_turns = 2;
  auto calls = std::make_shared<std::vector<std::string>>();
  sim::Runner runner(o, scripted_persona, [&](sim::JobContext const&) { return IntakeFirst(calls); });
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(*calls == (std::vector<std::string>{"setup", "prepare:1", "enter:intake", "first_speaker",
                                                 "enter:coaching", "first_speaker", "cleanup"}));
  BOOST_TEST(batch.value().jobs.at(0).sessions.size() == 2u);
}

// §8.9 test 95: the provider's first_speaker wins over the runner's setting.
BOOST_AUTO_TEST_CASE(first_speaker_overrides_the_runner) {
  TempDir dir("first");
  auto o = options(dir.path());
  o.max_turns = 3;
  auto calls = std::make_shared<std::vector<std::string>>();
  sim::Runner runner(o, scripted_persona, [&](sim::JobContext const&) {
    Tracker t(calls);
    t.first = Role::provider;
    return t;
  });
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  auto const& conv = batch.value().jobs.at(0).sessions.at(0).conversation;
  BOOST_TEST(conv.size() == 3u);
  BOOST_TEST((conv.front().speaker == Role::provider));
  BOOST_TEST(read(batch.value().jobs[0].sessions[0].log_file).find("Persona speaks first: false") != std::string::npos);
}

// Better than the reference: a failure in session 2 keeps session 1; cleanup still runs.
BOOST_AUTO_TEST_CASE(a_later_failure_keeps_the_finished_sessions) {
  TempDir dir("keep");
  auto o = options(dir.path());
  o.session_types = {"intake", "coaching", "review"};
  o.max_turns = 2;
  auto calls = std::make_shared<std::vector<std::string>>();
  sim::Runner runner(o, scripted_persona, [&](sim::JobContext const&) {
    Tracker t(calls);
    t.fail_in_session = 2;
    return t;
  });
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  auto const& job = batch.value().jobs.at(0);
  BOOST_TEST(job.skipped);
  BOOST_TEST(job.skip_reason == "error");
  BOOST_REQUIRE(job.sessions.size() == 2u);
  BOOST_TEST(!job.sessions[0].skipped);
  BOOST_TEST(fs::exists(job.sessions[0].transcript));
  BOOST_TEST(job.sessions[1].skipped);
  BOOST_TEST(job.sessions[1].transcript.empty());
  BOOST_TEST(calls->back() == "cleanup");
  BOOST_TEST(std::count(calls->begin(), calls->end(), "enter:review") == 0);
}

BOOST_AUTO_TEST_CASE(a_failing_cleanup_is_reported_not_thrown) {
  TempDir dir("cleanup");
  std::ostringstream progress;
  auto calls = std::make_shared<std::vector<std::string>>();
  sim::Runner runner(options(dir.path(), &progress), scripted_persona, [&](sim::JobContext const&) {
    Tracker t(calls);
    t.fail_cleanup = true;
    return t;
  });
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(!batch.value().jobs.at(0).skipped);
  BOOST_TEST(progress.str().find("provider cleanup failed") != std::string::npos);
  BOOST_TEST(read(batch.value().jobs[0].sessions[0].log_file).find("cleanup could not close the session") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_throwing_factory_or_hook_is_a_failed_job) {
  TempDir dir("throw");
  sim::Runner runner(options(dir.path()), scripted_persona, [](sim::JobContext const& job) -> ScriptedSpeaker {
    if (job.run_number == 1) throw std::runtime_error("no provider today");
    return ScriptedSpeaker();
  });
  auto batch = runner.run({persona("A"), persona("B")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(batch.value().skipped_error == 2u);
  for (auto const& j : batch.value().jobs) BOOST_TEST(j.error.find("no provider today") != std::string::npos);
}

// Progress: one whole line per finished session; nothing when quiet.
BOOST_AUTO_TEST_CASE(progress_is_one_line_per_session) {
  TempDir dir("progress");
  std::ostringstream progress;
  auto o = options(dir.path(), &progress);
  o.runs_per_persona = 2;
  o.session_types = {"intake", "coaching"};
  auto live = std::make_shared<std::atomic<int>>(0);
  auto peak = std::make_shared<std::atomic<int>>(0);
  sim::Runner runner(o, scripted_persona, [&](sim::JobContext const&) { return Slow{ScriptedSpeaker(), live, peak}; });
  auto batch = runner.run({persona("A"), persona("B")});
  BOOST_REQUIRE(batch.has_value());
  std::vector<std::string> lines;
  std::istringstream in(progress.str());
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  BOOST_REQUIRE(lines.size() == 9u);  // 4 jobs × 2 sessions, and the summary
  for (std::size_t i = 0; i < 8; ++i) {
    BOOST_TEST(lines[i].rfind("conversation ", 0) == 0u);
    BOOST_TEST(lines[i].find(" turns, ") != std::string::npos);
  }
  BOOST_TEST(lines[8].rfind("Completed 4 / 4 conversations", 0) == 0u);

  TempDir quiet_dir("quiet");
  std::ostringstream silent;
  auto q = options(quiet_dir.path(), &silent);
  q.quiet = true;
  sim::Runner quiet(q, scripted_persona, scripted_provider);
  BOOST_REQUIRE(quiet.run({persona("A")}).has_value());
  BOOST_TEST(silent.str().empty());
}

// §8.8 tests 83–84: finished jobs are skipped on resume only.
BOOST_AUTO_TEST_CASE(resume_skips_finished_jobs) {
  TempDir dir("resume");
  auto o = options(dir.path());
  o.runs_per_persona = 2;
  {
    sim::Runner first(o, scripted_persona, scripted_provider);
    BOOST_REQUIRE(first.run({persona("Persona1")}).has_value());
  }
  auto files = files_in(dir.path() / "conversations");
  BOOST_REQUIRE(files.size() == 2u);
  // Run 2 "was killed": its transcript never appeared.
  for (auto const& f : files)
    if (f.filename().string().find("_run2") != std::string::npos) fs::remove(f);

  o.resume = true;
  sim::Runner again(o, scripted_persona, scripted_provider);
  auto batch = again.run({persona("Persona1")});
  BOOST_REQUIRE(batch.has_value());
  auto const& jobs = batch.value().jobs;
  BOOST_REQUIRE(jobs.size() == 2u);
  BOOST_TEST(jobs[0].skipped);
  BOOST_TEST(jobs[0].skip_reason == "existing");
  BOOST_TEST(jobs[0].run_number == 1);
  BOOST_TEST(!jobs[1].skipped);
  BOOST_TEST(jobs[1].run_number == 2);
  BOOST_TEST(files_in(dir.path() / "conversations").size() == 2u);

  // Without resume, the same folder is refused: a fresh run never mixes
  // its files with an old one's.
  o.resume = false;
  sim::Runner fresh(o, scripted_persona, scripted_provider);
  auto all = fresh.run({persona("Persona1")});
  BOOST_REQUIRE(all.has_error());
  BOOST_TEST((all.error() == Errc::invalid_config));
  BOOST_TEST(all.error().what().find("already holds a simulation") != std::string::npos);
}

// §8.8 tests 85–86 and §6.2: a spaced persona name and a model with dots and
// slashes — the reference writes one form and looks for another; here resume
// finds what it wrote.
BOOST_AUTO_TEST_CASE(resume_finds_sanitised_names) {
  TempDir dir("sanitised");
  auto o = options(dir.path());
  o.persona_model = "openai-compatible:http://127.0.0.1:8080/v1#gpt-4.1 mini";
  {
    sim::Runner first(o, scripted_persona, scripted_provider);
    BOOST_REQUIRE(first.run({persona("Mary Jane"), persona("Zoë O'Neil")}).has_value());
  }
  o.resume = true;
  sim::Runner again(o, scripted_persona, scripted_provider);
  auto batch = again.run({persona("Mary Jane"), persona("Zoë O'Neil")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(batch.value().skipped_existing == 2u);
  BOOST_TEST(batch.value().all_skipped());
}

// §8.8 tests 87–88: multi-session jobs resume session by session.
BOOST_AUTO_TEST_CASE(resume_skips_finished_sessions_one_by_one) {
  TempDir dir("sessions");
  auto o = options(dir.path());
  o.session_types = {"intake", "coaching"};
  o.max_turns = 2;
  auto calls = std::make_shared<std::vector<std::string>>();
  auto make = [&](sim::JobContext const&) { return Tracker(calls); };
  {
    sim::Runner first(o, scripted_persona, make);
    BOOST_REQUIRE(first.run({persona("P")}).has_value());
  }
  std::filesystem::path kept;
  for (auto const& f : files_in(dir.path() / "conversations")) {
    if (f.filename().string().find("_s2_coaching") != std::string::npos)
      fs::remove(f);
    else
      kept = f;
  }
  BOOST_REQUIRE(!kept.empty());

  o.resume = true;
  calls->clear();
  sim::Runner again(o, scripted_persona, make);
  auto batch = again.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  auto const& job = batch.value().jobs.at(0);
  BOOST_TEST(!job.skipped);
  BOOST_REQUIRE(job.sessions.size() == 2u);
  BOOST_TEST(job.sessions[0].skipped);
  BOOST_TEST(job.sessions[0].skip_reason == "existing");
  BOOST_TEST(job.sessions[0].transcript == kept);
  BOOST_TEST(!job.sessions[1].skipped);
  BOOST_TEST(job.sessions[1].turns > 0u);
  // The finished session is not re-entered.
  BOOST_TEST(*calls == (std::vector<std::string>{"setup", "enter:coaching", "first_speaker", "cleanup"}));

  // Everything on disk now: the whole job is skipped, before its speakers exist.
  calls->clear();
  sim::Runner third(o, scripted_persona, make);
  auto done = third.run({persona("P")});
  BOOST_REQUIRE(done.has_value());
  BOOST_TEST(done.value().jobs.at(0).skip_reason == "existing");
  BOOST_TEST(calls->empty());
}

// Better than the reference: a provider that prepends sessions is judged by
// its prepared list in both places.
BOOST_AUTO_TEST_CASE(resume_uses_the_prepared_list) {
  TempDir dir("prepared");
  auto o = options(dir.path());
  o.session_types = {"coaching"};
  o.max_turns = 2;
  auto calls = std::make_shared<std::vector<std::string>>();
  auto make = [&](sim::JobContext const&) { return IntakeFirst(calls); };
  {
    sim::Runner first(o, scripted_persona, make);
    BOOST_REQUIRE(first.run({persona("P")}).has_value());
  }
  BOOST_REQUIRE(files_in(dir.path() / "conversations").size() == 2u);
  o.resume = true;
  calls->clear();
  sim::Runner again(o, scripted_persona, make);
  auto batch = again.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(batch.value().jobs.at(0).skipped);
  BOOST_TEST(batch.value().jobs.at(0).skip_reason == "existing");
  BOOST_TEST(std::count(calls->begin(), calls->end(), "enter:intake") == 0);
  BOOST_TEST(calls->back() == "cleanup");
}

// §8.8 tests 90–91: a resumed folder must match the run's settings.
BOOST_AUTO_TEST_CASE(resume_refuses_a_folder_of_other_settings) {
  TempDir dir("mismatch");
  auto o = options(dir.path());
  {
    sim::Runner first(o, scripted_persona, scripted_provider);
    BOOST_REQUIRE(first.run({persona("P")}).has_value());
  }
  o.resume = true;
  o.persona_model = "different-persona";
  sim::Runner again(o, scripted_persona, scripted_provider);
  auto batch = again.run({persona("P")});
  BOOST_REQUIRE(batch.has_error());
  BOOST_TEST((batch.error() == Errc::invalid_config));
  BOOST_TEST(batch.error().what().find("persona model does not match") != std::string::npos);

  auto turns = options(dir.path());
  turns.resume = true;
  turns.max_turns = 8;
  BOOST_TEST(sim::check_resume(dir.path(), turns).error().what().find("turns does not match") != std::string::npos);

  // A folder without simulation.json is judged by its name.
  auto named = dir.path() / "p_mock_persona__a_mock_agent__t4__r1__20260331_120000";
  fs::create_directories(named);
  auto ok = options(named);
  ok.persona_model = "mock-persona";
  ok.provider_model = "mock.agent";
  BOOST_TEST(sim::check_resume(named, ok).has_value());
  ok.provider_model = "other";
  BOOST_TEST(sim::check_resume(named, ok).error().what().find("provider model does not match") != std::string::npos);
  BOOST_TEST(sim::check_resume(dir.path() / "missing", ok).has_error());
}

// Every session is a run in the store; its turns are events there.
BOOST_AUTO_TEST_CASE(sessions_are_recorded_in_the_run_store) {
  TempDir dir("store");
  auto store = leash::open_store("sqlite:" + (dir.path() / "runs.db").string());
  BOOST_REQUIRE(store.has_value());
  auto o = options(dir.path());
  o.store = store.value();
  o.session_types = {"intake", "coaching"};
  sim::Runner runner(o, scripted_persona, scripted_provider);
  auto batch = runner.run({persona("Zoë")});
  BOOST_REQUIRE(batch.has_value());
  auto const& sessions = batch.value().jobs.at(0).sessions;
  BOOST_REQUIRE(sessions.size() == 2u);
  for (auto const& s : sessions) {
    BOOST_REQUIRE(!s.run_id.empty());
    BOOST_TEST(s.store_error.empty());
    auto state = run_sync(store.value().load(s.run_id));
    BOOST_REQUIRE(state.has_value());
    BOOST_TEST(state.value().info.agent == "leash.sim");
    BOOST_TEST(state.value().info.metadata.at("session_type").as_string() == s.session_type);
    BOOST_TEST(state.value().info.metadata.at("persona").as_string() == "Zoë");
    BOOST_TEST(state.value().info.result == s.conversation.back().response);
    BOOST_TEST((state.value().status == leash::Status::success));
    BOOST_TEST(state.value().metrics.input_tokens == 10u * s.turns);
    auto events = run_sync(store.value().load_events(s.run_id));
    BOOST_REQUIRE(events.has_value());
    BOOST_REQUIRE(events.value().size() == s.turns + 2);
    BOOST_TEST(events.value().front().as_object().at("kind").as_string() == "sim.session.start");
    BOOST_TEST(events.value().back().as_object().at("kind").as_string() == "sim.session.end");
    for (std::size_t i = 0; i < s.turns; ++i) {
      auto const& e = events.value()[i + 1].as_object();
      BOOST_TEST(e.at("kind").as_string() == "sim.turn");
      BOOST_TEST(e.at("response").as_string() == s.conversation[i].response);
    }
  }
  leash::RunQuery q;
  q.agent = "leash.sim";
  auto count = run_sync(store.value().count_runs(q));
  BOOST_REQUIRE(count.has_value());
  BOOST_TEST(count.value() == 2u);
}

// §8.5 test 64 through the runner: unicode and emoji survive byte for byte.
BOOST_AUTO_TEST_CASE(unicode_transcripts_round_trip) {
  TempDir dir("unicode");
  sim::Runner runner(options(dir.path()),
                     [](sim::JobContext const&) { return ScriptedSpeaker({"Grüße! 🚲 Мой велосипед скрипит", "日本語もOK"}); },
                     [](sim::JobContext const&) { return ScriptedSpeaker({"Hola 👋 — ¿qué pasa?", "✓ done"}); });
  auto batch = runner.run({persona("Zoë")});
  BOOST_REQUIRE(batch.has_value());
  auto const& s = batch.value().jobs.at(0).sessions.at(0);
  auto text = read(s.transcript);
  BOOST_TEST(text == sim::format_transcript(s.conversation));
  BOOST_TEST(text.find("user: Grüße! 🚲 Мой велосипед скрипит") != std::string::npos);
  BOOST_TEST(text.find("chatbot: ✓ done") != std::string::npos);
  BOOST_TEST(s.transcript.filename().string().find("Zoë") != std::string::npos);
}

// Large batches may leave the turns out of the results; the files keep them.
BOOST_AUTO_TEST_CASE(conversations_can_be_left_out_of_the_results) {
  TempDir dir("lean");
  auto o = options(dir.path());
  o.keep_conversations = false;
  o.sync_files = true;
  sim::Runner runner(o, scripted_persona, scripted_provider);
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  auto const& s = batch.value().jobs.at(0).sessions.at(0);
  BOOST_TEST(s.conversation.empty());
  BOOST_TEST(s.turns == 4u);
  BOOST_TEST(read(s.transcript).find("user: Hello\n\nchatbot: Hi!") == 0u);
}

// Transcripts are written on the runner's file thread: one that cannot be
// written still fails its session and job as before (the result, the stored
// run, the progress line), later sessions do not run, and the log is kept.
BOOST_AUTO_TEST_CASE(a_transcript_that_cannot_be_written_fails_its_job) {
  for (bool multi : {false, true}) {
    TempDir names_dir(multi ? "names-multi" : "names");
    TempDir dir(multi ? "unwritable-multi" : "unwritable");
    auto o = options(names_dir.path());
    o.runs_per_persona = 2;
    if (multi) o.session_types = {"intake", "coaching"};
    {
      // The same seed makes the same names: learn run 1's first transcript's.
      sim::Runner first(o, scripted_persona, scripted_provider);
      BOOST_REQUIRE(first.run({persona("P")}).has_value());
    }
    fs::path blocked;
    for (auto const& f : files_in(names_dir.path() / "conversations"))
      if (f.filename().string().find("_run1") != std::string::npos && blocked.empty()) blocked = f.filename();
    BOOST_REQUIRE(!blocked.empty());
    // A folder where the transcript should go: it cannot be renamed over.
    fs::create_directories(dir.path() / "conversations" / blocked);

    auto store = leash::open_store("sqlite:" + (dir.path() / "runs.db").string());
    BOOST_REQUIRE(store.has_value());
    std::ostringstream progress;
    o = options(dir.path(), &progress);
    o.runs_per_persona = 2;
    o.max_concurrent = 1;
    o.store = store.value();
    if (multi) o.session_types = {"intake", "coaching"};
    sim::Runner runner(o, scripted_persona, scripted_provider);
    auto batch = runner.run({persona("P")});
    BOOST_REQUIRE(batch.has_value());
    BOOST_TEST(batch.value().completed == 1u);
    BOOST_TEST(batch.value().skipped_error == 1u);
    for (auto const& j : batch.value().jobs) {
      if (j.run_number != 1) {
        BOOST_TEST(!j.skipped);
        continue;
      }
      BOOST_TEST(j.skipped);
      BOOST_TEST(j.skip_reason == "error");
      BOOST_TEST(j.error.find("cannot write transcript") != std::string::npos);
      BOOST_REQUIRE(j.sessions.size() == 1u);  // the second session never ran
      auto const& s = j.sessions[0];
      BOOST_TEST(s.skipped);
      BOOST_TEST(s.transcript.empty());
      BOOST_TEST(s.turns == 4u);
      BOOST_REQUIRE(!s.log_file.empty());
      BOOST_TEST(read(s.log_file).find("CONVERSATION COMPLETED") != std::string::npos);
      auto state = run_sync(store.value().load(s.run_id));
      BOOST_REQUIRE(state.has_value());
      BOOST_TEST((state.value().status == leash::Status::error));
      BOOST_TEST(state.value().reason.find("cannot write transcript") != std::string::npos);
    }
    BOOST_TEST(progress.str().find("failed after 4 turns: cannot write transcript") != std::string::npos);
    // No temporary file is left beside the folder.
    for (auto const& e : fs::directory_iterator(dir.path() / "conversations"))
      BOOST_TEST(e.path().filename().string().find(".tmp.") == std::string::npos);
  }
}

// Cleanup warnings follow the last session's progress line, as they always
// did, though that line now waits for the session's files.
BOOST_AUTO_TEST_CASE(cleanup_warnings_follow_the_session_line) {
  TempDir dir("cleanup-order");
  std::ostringstream progress;
  auto calls = std::make_shared<std::vector<std::string>>();
  sim::Runner runner(options(dir.path(), &progress), scripted_persona, [&](sim::JobContext const&) {
    Tracker t(calls);
    t.fail_cleanup = true;
    return t;
  });
  auto batch = runner.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  auto text = progress.str();
  auto session = text.find(" turns, ");
  auto warning = text.find("warning: provider cleanup failed");
  BOOST_REQUIRE(session != std::string::npos);
  BOOST_REQUIRE(warning != std::string::npos);
  BOOST_TEST(session < warning);
  auto log = read(batch.value().jobs.at(0).sessions.at(0).log_file);
  BOOST_TEST(log.find("CONVERSATION COMPLETED") < log.find("provider cleanup failed"));
}

// An empty transcript (an unsynced write cut short by a power loss) is not done.
BOOST_AUTO_TEST_CASE(resume_redoes_an_empty_transcript) {
  TempDir dir("empty");
  auto o = options(dir.path());
  {
    sim::Runner first(o, scripted_persona, scripted_provider);
    BOOST_REQUIRE(first.run({persona("P")}).has_value());
  }
  auto files = files_in(dir.path() / "conversations");
  BOOST_REQUIRE(files.size() == 1u);
  std::ofstream(files[0], std::ios::trunc).close();
  o.resume = true;
  sim::Runner again(o, scripted_persona, scripted_provider);
  auto batch = again.run({persona("P")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(batch.value().completed == 1u);
  BOOST_TEST(read(batch.value().jobs.at(0).sessions.at(0).transcript).size() > 0u);
}

// Sessions are part of every file name: resuming with others is refused.
BOOST_AUTO_TEST_CASE(resume_refuses_other_sessions) {
  TempDir dir("other-sessions");
  auto o = options(dir.path());
  o.session_types = {"intake", "coaching"};
  o.max_turns = 2;
  {
    sim::Runner first(o, scripted_persona, scripted_provider);
    BOOST_REQUIRE(first.run({persona("P")}).has_value());
  }
  o.resume = true;
  o.session_types = {};
  sim::Runner again(o, scripted_persona, scripted_provider);
  auto batch = again.run({persona("P")});
  BOOST_REQUIRE(batch.has_error());
  BOOST_TEST(batch.error().what().find("sessions does not match") != std::string::npos);
  BOOST_TEST(batch.error().what().find("intake,coaching") != std::string::npos);
  // A trailing slash names the same folder.
  o.session_types = {"intake", "coaching"};
  BOOST_TEST(sim::check_resume(dir.path() / "", o).has_value());
}

BOOST_AUTO_TEST_CASE(personas_that_would_share_file_names_are_refused) {
  TempDir dir("dupes");
  sim::Runner runner(options(dir.path()), scripted_persona, scripted_provider);
  auto batch = runner.run({persona("Dr. Smith"), persona("Dr Smith")});
  BOOST_REQUIRE(batch.has_error());
  BOOST_TEST((batch.error() == Errc::invalid_config));
  BOOST_TEST(batch.error().what().find("Dr. Smith") != std::string::npos);
  BOOST_TEST(batch.error().what().find("Dr Smith") != std::string::npos);

  auto o = options(dir.path());
  o.session_types = {"intake", ""};
  sim::Runner empty(o, scripted_persona, scripted_provider);
  BOOST_TEST(empty.run({persona("P")}).has_error());
}

/// A provider whose discard hook throws (a hook outside respond()).
struct ThrowingHook : ScriptedSpeaker {
  using ScriptedSpeaker::ScriptedSpeaker;
  std::vector<std::string> custom_termination_signals() const { return {"[END]"}; }
  bool should_discard(std::vector<std::string> const&) const { throw std::runtime_error("discard hook broke"); }
};

// A throwing hook fails its session as a value: the job ends with the error,
// the store's run is finished as ERROR (not left running), others go on.
BOOST_AUTO_TEST_CASE(a_throwing_hook_fails_the_session_and_its_stored_run) {
  TempDir dir("hook-throws");
  auto store = leash::open_store("sqlite:" + (dir.path() / "runs.db").string());
  BOOST_REQUIRE(store.has_value());
  auto o = options(dir.path());
  o.store = store.value();
  sim::Runner runner(o, scripted_persona, [](sim::JobContext const& job) {
    return ThrowingHook({job.persona->name == "A" ? "bye [END]" : "fine"});
  });
  auto batch = runner.run({persona("A"), persona("B")});
  BOOST_REQUIRE(batch.has_value());
  BOOST_TEST(batch.value().completed == 1u);
  BOOST_TEST(batch.value().skipped_error == 1u);
  for (auto const& j : batch.value().jobs) {
    if (j.persona_name != "A") continue;
    BOOST_TEST(j.error.find("discard hook broke") != std::string::npos);
    BOOST_REQUIRE(j.sessions.size() == 1u);
    auto state = run_sync(store.value().load(j.sessions[0].run_id));
    BOOST_REQUIRE(state.has_value());
    BOOST_TEST((state.value().status == leash::Status::error));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_sim_runner
