// The `leash-simulate` program: the README's sample run, flag checks, and a
// run killed halfway (SIGKILL) and resumed against a real HTTP model server.
#include <leash/sim/transcript.hpp>
#include <leash/store/open.hpp>

#include <boost/test/unit_test.hpp>

#include "http_server.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace test_simulate_cli {

namespace fs = std::filesystem;
using leash_test::run_program;
using leash_test::run_sync;

#ifdef LEASH_SIMULATE_PATH

std::string const program = LEASH_SIMULATE_PATH;
std::string const source = LEASH_SOURCE_DIR;

struct TempDir : leash_test::TempDir {
  explicit TempDir(std::string const& name) : leash_test::TempDir("leash-simulate-cli-" + name) {}
};

std::vector<fs::path> transcripts(fs::path const& run) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto const& e : fs::directory_iterator(run / "conversations", ec))
    if (e.path().extension() == ".txt") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

fs::path only_run_folder(fs::path const& output) {
  std::vector<fs::path> found;
  for (auto const& e : fs::directory_iterator(output))
    if (e.is_directory()) found.push_back(e.path());
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  return found[0];
}

std::vector<std::string> sample_args(fs::path const& output) {
  return {"--persona-model", "scripted:" + source + "/example/sim/persona.jsonl#persona-sim",
          "--provider-model", "scripted:" + source + "/example/sim/provider.jsonl#shop-bot",
          "--personas", source + "/example/sim/personas.tsv",
          "--persona-template", source + "/example/sim/persona_template.txt",
          "--runs", "2", "--turns", "6", "--output", output.string()};
}

BOOST_AUTO_TEST_SUITE(simulate_cli)

// The README's simulation: five personas × two runs against the scripted provider.
BOOST_AUTO_TEST_CASE(the_sample_runs_offline_and_records_every_session) {
  TempDir dir("sample");
  auto ran = run_program(program, sample_args(dir.path()));
  BOOST_TEST_REQUIRE(ran.code == 0, ran.out);
  auto run = only_run_folder(dir.path());
  BOOST_TEST(run.filename().string().rfind("p_persona_sim__a_shop_bot__t6__r2__", 0) == 0u);
  auto files = transcripts(run);
  BOOST_REQUIRE_EQUAL(files.size(), 10u);
  std::ifstream in(files[0]);
  std::stringstream text;
  text << in.rdbuf();
  // The scripted persona says its goodbye on turn 5: the session ends there.
  BOOST_TEST(text.str().find("user: Hi! I have a question about my bike") == 0u);
  BOOST_TEST(text.str().find("[CONVERSATION ENDED - persona signaled termination]") != std::string::npos);
  BOOST_TEST(ran.out.find("Completed 10 / 10 conversations") != std::string::npos);

  auto store = leash::open_store("sqlite:" + (run / "runs.db").string());
  BOOST_REQUIRE(store.has_value());
  leash::RunQuery q;
  q.agent = "leash.sim";
  auto n = run_sync(store.value().count_runs(q));
  BOOST_REQUIRE(n.has_value());
  BOOST_TEST(n.value() == 10u);
}

BOOST_AUTO_TEST_CASE(bad_flags_are_refused_with_exit_2) {
  TempDir dir("flags");
  auto args = sample_args(dir.path());
  args.insert(args.end(), {"--sessions", " , ,"});
  auto ran = run_program(program, args);
  BOOST_TEST(ran.code == 2);
  BOOST_TEST(ran.out.find("--sessions names no session") != std::string::npos);

  auto bad_model = sample_args(dir.path());
  bad_model[1] = "carrier-pigeon:fast";
  ran = run_program(program, bad_model);
  BOOST_TEST(ran.code == 2);
  BOOST_TEST(ran.out.find("carrier-pigeon") != std::string::npos);

  auto missing = sample_args(dir.path());
  missing[5] = (dir.path() / "nope.tsv").string();
  ran = run_program(program, missing);
  BOOST_TEST(ran.code == 2);
  BOOST_TEST(ran.out.find("nope.tsv") != std::string::npos);

  auto extra = sample_args(dir.path());
  extra.insert(extra.end(), {"--provider-agent-extra-params", "colour=blue"});
  ran = run_program(program, extra);
  BOOST_TEST(ran.code == 2);
  BOOST_TEST(ran.out.find("unknown key \"colour\"") != std::string::npos);

  ran = run_program(program, {"--help"});
  BOOST_TEST(ran.code == 0);
  for (char const* flag : {"--persona-model", "--provider-model", "--runs", "--turns", "--max-total-words",
                           "--run-id", "--output", "--resume", "--max-concurrent", "--max-personas",
                           "--provider-speaks-first", "--provider-first-message", "--provider-start-prompt",
                           "--user-first-message", "--user-start-prompt", "--sessions", "--debug", "--store"})
    BOOST_TEST(ran.out.find(flag) != std::string::npos, flag);
}

BOOST_AUTO_TEST_CASE(sessions_name_the_files_and_resume_skips_everything_done) {
  TempDir dir("sessions");
  auto args = sample_args(dir.path());
  args.insert(args.end(), {"--sessions", "intake, ,coaching", "--max-personas", "2", "--runs", "1"});
  auto ran = run_program(program, args);
  BOOST_TEST_REQUIRE(ran.code == 0, ran.out);
  auto run = only_run_folder(dir.path());
  auto files = transcripts(run);
  BOOST_REQUIRE_EQUAL(files.size(), 4u);
  std::size_t intake = 0, coaching = 0;
  for (auto const& f : files) {
    intake += f.filename().string().find("_run1_s1_intake.txt") != std::string::npos;
    coaching += f.filename().string().find("_run1_s2_coaching.txt") != std::string::npos;
  }
  BOOST_TEST(intake == 2u);
  BOOST_TEST(coaching == 2u);

  // Everything is done: resuming skips every job, which exits 1.
  auto again = sample_args(run);
  again.insert(again.end(), {"--sessions", "intake,coaching", "--max-personas", "2", "--runs", "1", "--resume"});
  ran = run_program(program, again);
  BOOST_TEST(ran.code == 1, ran.out);
  BOOST_TEST(ran.out.find("2 already done") != std::string::npos);

  // Other settings than the folder's: refused.
  auto other = again;
  other.insert(other.end(), {"--turns", "8"});
  ran = run_program(program, other);
  BOOST_TEST(ran.code == 2);
  BOOST_TEST(ran.out.find("turns does not match") != std::string::npos);
}

/// An OpenAI-compatible chat server whose replies take `delay` each.
leash_test::HttpServer slow_server(std::atomic<int>& delay_ms, std::atomic<int>& requests) {
  return leash_test::HttpServer([&](leash_test::ReceivedRequest const&) {
    int n = ++requests;
    auto r = leash_test::Reply::json(
        R"({"id":"chatcmpl-)" + std::to_string(n) +
        R"(","object":"chat.completion","model":"sim-model","choices":[{"index":0,"finish_reason":"stop",)"
        R"("message":{"role":"assistant","content":"reply )" +
        std::to_string(n) + R"("}}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})");
    r.delay = std::chrono::milliseconds(delay_ms.load());
    return r;
  });
}

// Done when a newcomer can kill a run halfway and resume it: SIGKILL while
// conversations are in flight, then --resume finishes exactly the rest.
BOOST_AUTO_TEST_CASE(a_run_killed_halfway_resumes_without_redoing_or_losing_work) {
  TempDir dir("kill");
  std::atomic<int> delay_ms{60}, requests{0};
  auto server = slow_server(delay_ms, requests);
  std::string model = "openai-compatible:" + server.url("/v1") + "#sim-model";
  auto run = dir.path() / "run";
  std::vector<std::string> args = {"--persona-model", model, "--provider-model", model,
                                   "--personas", source + "/example/sim/personas.tsv",
                                   "--persona-template", source + "/example/sim/persona_template.txt",
                                   "--runs", "2", "--turns", "4", "--max-concurrent", "2",
                                   "--output", dir.path().string(), "--run-id", "run", "--seed", "11"};

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  auto log = (dir.path() / "child.log").string();
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  BOOST_REQUIRE_EQUAL(rc, 0);

  // Kill it once some conversations are on disk and others are not.
  bool killed = false;
  for (int i = 0; i < 3000 && !killed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (transcripts(run).size() >= 3) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE_MESSAGE(killed && WIFSIGNALED(status), "the child finished before it could be killed");
  auto before = transcripts(run);
  BOOST_TEST_REQUIRE(before.size() < 10u);
  std::map<fs::path, fs::file_time_type> written;
  for (auto const& f : before) written[f] = fs::last_write_time(f);

  delay_ms = 0;
  args.push_back("--resume");
  // With --resume, --output is the run folder itself.
  for (std::size_t i = 0; i < args.size(); ++i)
    if (args[i] == "--output") args[i + 1] = run.string();
  auto ran = run_program(program, args);
  BOOST_TEST_REQUIRE(ran.code == 0, ran.out);
  BOOST_TEST(ran.out.find(std::to_string(before.size()) + " already done") != std::string::npos, ran.out);

  auto after = transcripts(run);
  BOOST_TEST(after.size() == 10u);
  // One transcript per persona × run: none twice, none missing.
  std::map<std::string, int> per_job;
  for (auto const& f : after) {
    auto name = f.filename().string().substr(7);  // without the tag
    ++per_job[name];
  }
  BOOST_TEST(per_job.size() == 10u);
  for (auto const& [name, count] : per_job) BOOST_TEST(count == 1, name);
  // What was finished before the kill was not redone.
  for (auto const& [f, t] : written) {
    BOOST_TEST(fs::exists(f));
    BOOST_TEST((fs::last_write_time(f) == t));
  }
  // No half-written files anywhere.
  for (auto const& e : fs::directory_iterator(run / "conversations"))
    BOOST_TEST(e.path().filename().string().find(".tmp.") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

#endif  // LEASH_SIMULATE_PATH

}  // namespace test_simulate_cli
