// Transcripts and session logs: the reference's turn dict and transcript
// text byte for byte, atomic saves, and the per-session log's blocks.
#include <leash/sim/transcript.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace test_sim_transcript {

namespace fs = std::filesystem;
namespace json = leash::json;
using leash::Errc;
using leash::sim::Role;
using leash::sim::SessionLog;
using leash::sim::Turn;
using leash_test::why;

struct TempDir : leash_test::TempDir {
  TempDir() : leash_test::TempDir("leash-sim-transcript") {}
};

std::string read_file(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> entries(fs::path const& dir) {
  std::vector<std::string> names;
  for (auto const& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

Turn make_turn(int n, Role who, std::string response, bool ended = false) {
  Turn t;
  t.turn = n;
  t.speaker = who;
  t.input = "previous";
  t.response = std::move(response);
  t.early_termination = ended;
  return t;
}

}  // namespace test_sim_transcript

using namespace test_sim_transcript;

BOOST_AUTO_TEST_SUITE(sim_transcript)

BOOST_AUTO_TEST_CASE(turn_json_has_the_reference_shape) {  // reference test 58
  Turn t;
  t.turn = 1;
  t.speaker = Role::persona;
  t.input = "Start";
  t.response = "Hello";
  t.logging["tokens"] = 100;
  BOOST_TEST(json::value(t.to_json()) ==
             json::parse(R"({"turn":1,"speaker":"persona","input":"Start","response":"Hello",)"
                         R"("early_termination":false,"logging":{"tokens":100}})"));

  Turn bare;  // no input, no metadata: input null, logging {}
  bare.turn = 2;
  bare.speaker = Role::provider;
  bare.response = "Hi";
  auto o = bare.to_json();
  BOOST_TEST(o.at("input").is_null());
  BOOST_TEST(o.at("logging").as_object().empty());
  BOOST_TEST(o.at("early_termination").as_bool() == false);
}

BOOST_AUTO_TEST_CASE(turn_json_round_trips_and_names_missing_fields) {  // reference test 60
  Turn t = make_turn(3, Role::provider, "Sure — here you go 🚲", true);
  t.logging["model"] = "m";
  t.logging["raw_response"] = "Sure — here you go 🚲 [META]";
  auto back = Turn::from_json(json::value(t.to_json()));
  BOOST_TEST_REQUIRE(back.has_value(), why(back));
  BOOST_TEST((back.value() == t));

  Turn first = make_turn(1, Role::persona, "hi");
  first.input.reset();
  auto again = Turn::from_json(json::value(first.to_json()));
  BOOST_TEST_REQUIRE(again.has_value(), why(again));
  BOOST_TEST(!again.value().input.has_value());

  auto missing = Turn::from_json(json::parse(R"({"speaker":"persona","response":"x"})"));
  BOOST_TEST_REQUIRE(missing.has_error());
  BOOST_TEST((missing.error() == Errc::invalid_input));
  BOOST_TEST(missing.error().message.find("turn") != std::string::npos);
  BOOST_TEST(missing.error().message.find("input") != std::string::npos);
  BOOST_TEST(missing.error().message.find("response") == std::string::npos);

  auto bad_role = Turn::from_json(json::parse(R"({"turn":1,"speaker":"user","input":null,"response":"x"})"));
  BOOST_TEST_REQUIRE(bad_role.has_error());
  BOOST_TEST((bad_role.error() == Errc::invalid_input));
}

BOOST_AUTO_TEST_CASE(empty_history_is_the_fixed_sentence) {
  BOOST_TEST(leash::sim::format_transcript({}) == "No conversation recorded.");
}

BOOST_AUTO_TEST_CASE(transcript_text_is_byte_for_byte) {  // reference tests 62, 63
  std::vector<Turn> two{make_turn(1, Role::persona, "Hello"), make_turn(2, Role::provider, "Hi there!")};
  BOOST_TEST(leash::sim::format_transcript(two) == "user: Hello\n\nchatbot: Hi there!\n");

  std::vector<Turn> ended{make_turn(1, Role::persona, "Hello"), make_turn(2, Role::provider, "How can I help?"),
                          make_turn(3, Role::persona, "Bye <END OF CONVERSATION>", true)};
  BOOST_TEST(leash::sim::format_transcript(ended) ==
             "user: Hello\n\nchatbot: How can I help?\n\nuser: Bye <END OF CONVERSATION>\n"
             "[CONVERSATION ENDED - persona signaled termination]\n");

  // A flagged turn that is not the last (a discarded reply flags the one
  // before it), a provider's marker, and a judge written as the chatbot.
  std::vector<Turn> middle{make_turn(1, Role::provider, "closing", true), make_turn(2, Role::judge, "verdict")};
  BOOST_TEST(leash::sim::format_transcript(middle) ==
             "chatbot: closing\n[CONVERSATION ENDED - provider signaled termination]\n\nchatbot: verdict\n");

  std::vector<Turn> multiline{make_turn(1, Role::persona, "line one\nline two")};
  BOOST_TEST(leash::sim::format_transcript(multiline) == "user: line one\nline two\n");
}

BOOST_AUTO_TEST_CASE(save_creates_nested_folders) {  // reference test 61
  TempDir dir;
  auto path = dir.path() / "run" / "conversations" / "deep" / "abc123_P_m_run1.txt";
  auto saved = leash::sim::save_transcript({}, path);
  BOOST_TEST_REQUIRE(saved.has_value(), why(saved));
  BOOST_TEST(fs::is_directory(path.parent_path()));
  BOOST_TEST(read_file(path) == "No conversation recorded.");
}

BOOST_AUTO_TEST_CASE(unicode_and_emoji_survive_a_save) {  // reference test 64
  TempDir dir;
  std::vector<Turn> turns{make_turn(1, Role::persona, "Zoë here 👋 — ça roule? 自行车"),
                          make_turn(2, Role::provider, "Ja, natürlich! 🚲✨")};
  auto path = dir.path() / "t.txt";
  auto saved = leash::sim::save_transcript(turns, path);
  BOOST_TEST_REQUIRE(saved.has_value(), why(saved));
  auto text = read_file(path);
  BOOST_TEST(text == "user: Zoë here 👋 — ça roule? 自行车\n\nchatbot: Ja, natürlich! 🚲✨\n");
  BOOST_TEST(text == leash::sim::format_transcript(turns));
}

BOOST_AUTO_TEST_CASE(save_is_atomic_and_leaves_no_temporary_file) {
  TempDir dir;
  auto path = dir.path() / "x.txt";
  std::vector<Turn> first{make_turn(1, Role::persona, "first version")};
  std::vector<Turn> second{make_turn(1, Role::persona, "second")};
  BOOST_TEST_REQUIRE(leash::sim::save_transcript(first, path).has_value());
  auto replaced = leash::sim::save_transcript(second, path);
  BOOST_TEST_REQUIRE(replaced.has_value(), why(replaced));
  BOOST_TEST(read_file(path) == "user: second\n");  // replaced whole, no tail of the longer first version
  BOOST_TEST(entries(dir.path()) == std::vector<std::string>{"x.txt"});
}

BOOST_AUTO_TEST_CASE(save_accepts_a_bare_file_name) {
  TempDir dir;
  auto old = fs::current_path();
  fs::current_path(dir.path());
  auto saved = leash::sim::save_transcript({}, "bare.txt");
  fs::current_path(old);
  BOOST_TEST_REQUIRE(saved.has_value(), why(saved));
  BOOST_TEST(read_file(dir.path() / "bare.txt") == "No conversation recorded.");
}

BOOST_AUTO_TEST_CASE(save_failure_names_the_file) {
  TempDir dir;
  std::ofstream(dir.path() / "blocker") << "a file where a folder should be";
  auto path = dir.path() / "blocker" / "t.txt";
  auto saved = leash::sim::save_transcript({}, path);
  BOOST_TEST_REQUIRE(saved.has_error());
  BOOST_TEST((saved.error() == Errc::store_failed));
  BOOST_TEST(saved.error().message.find(path.string()) != std::string::npos, saved.error().message);
}

BOOST_AUTO_TEST_CASE(session_log_writes_the_reference_blocks) {  // reference test 69, §5.7
  TempDir dir;
  auto path = dir.path() / "logs" / "nested" / "abc123_Mary_Jane_m_run1.log";
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "stale content from an earlier run\n";

  double const base = 1767225600.0;  // 2026-01-01T00:00:00Z; each block reads the clock once
  int ticks = 0;
  auto opened = SessionLog::open(path, [&] { return base + 60.0 * ticks++; });
  BOOST_TEST_REQUIRE(opened.has_value(), why(opened));
  auto log = std::move(opened).value();

  leash::sim::SessionLogStart s;
  s.persona.name = "persona-model Mary Jane";
  s.persona.model = "persona-model";
  s.persona.temperature = 0.7;
  s.persona_name = "Mary Jane";
  s.provider.name = "Provider";
  s.provider.model = "scripted";
  s.provider.max_tokens = 512;
  s.max_turns = 4;
  s.persona_first = false;
  s.session_type = "intake";
  s.session_index = 1;
  s.session_count = 2;
  log.start(s);

  Turn first;
  first.turn = 1;
  first.speaker = Role::persona;
  first.response = "Hi";
  first.logging["response_id"] = nullptr;
  first.logging["model"] = "persona-model";
  log.turn(first);

  Turn second = make_turn(2, Role::provider, "Bye [DONE]", true);
  second.input = "Hi";
  second.logging["response_id"] = "resp_42";
  log.turn(second);

  json::object failure;
  failure["attempt"] = 4;
  log.error("LLM call failed after 4 attempts: boom", failure);
  log.warning("careful");
  log.info("note");
  log.end(2, true, 3.14159);
  BOOST_TEST(log.ok());

  auto at = [&](int tick) { return leash::sim::detail::local_stamp(base + 60.0 * tick) + " - "; };
  std::string const eq(60, '='), dash(40, '-');
  std::string expected;
  for (std::string l :
       {eq, std::string("CONVERSATION STARTED"), std::string("LLM1 (Persona) Model: persona-model"),
        std::string("LLM1 Prompt: Mary Jane"), std::string("LLM1 Temperature: 0.7"),
        std::string("LLM1 Max Tokens: -"), std::string("LLM2 (Provider) Name: Provider"),
        std::string("LLM2 Model: scripted"), std::string("LLM2 Temperature: -"),
        std::string("LLM2 Max Tokens: 512"), std::string("Max Turns: 4"),
        std::string("Persona speaks first: false"), std::string("Session: 1/2 intake"), eq})
    expected += at(0) + "INFO - " + l + "\n";
  expected += at(1) + "INFO - TURN 1 - PERSONA\n";
  expected += at(1) + "INFO - Input: (none)\n";
  expected += at(1) + "INFO - Response: Hi\n";
  expected += at(1) + "INFO - response_id: (none)\n";
  expected += at(1) + "INFO - logging: {\"response_id\":null,\"model\":\"persona-model\"}\n";
  expected += at(1) + "INFO - " + dash + "\n";
  expected += at(2) + "INFO - TURN 2 - PROVIDER\n";
  expected += at(2) + "INFO - Input: Hi\n";
  expected += at(2) + "INFO - Response: Bye [DONE]\n";
  expected += at(2) + "INFO - response_id: resp_42\n";
  expected += at(2) + "INFO - logging: {\"response_id\":\"resp_42\"}\n";
  expected += at(2) + "WARNING - EARLY TERMINATION detected by PROVIDER\n";
  expected += at(2) + "INFO - " + dash + "\n";
  expected += at(3) + "ERROR - LLM call failed after 4 attempts: boom\n";
  expected += at(3) + "ERROR - failure metadata: {\"attempt\":4}\n";
  expected += at(4) + "WARNING - careful\n";
  expected += at(5) + "INFO - note\n";
  for (std::string l : {eq, std::string("CONVERSATION COMPLETED"), std::string("Total Turns: 2"),
                        std::string("Early Termination: true"), std::string("Duration: 3.14 seconds"), eq})
    expected += at(6) + "INFO - " + l + "\n";
  BOOST_TEST(read_file(path) == expected);
  BOOST_TEST(ticks == 7);
}

BOOST_AUTO_TEST_CASE(session_log_omits_a_zero_duration) {
  TempDir dir;
  auto opened = SessionLog::open(dir.path() / "s.log");
  BOOST_TEST_REQUIRE(opened.has_value(), why(opened));
  opened.value().end(0, false, 0.0);
  auto text = read_file(dir.path() / "s.log");
  BOOST_TEST(text.find("Total Turns: 0") != std::string::npos);
  BOOST_TEST(text.find("Early Termination: false") != std::string::npos);
  BOOST_TEST(text.find("Duration") == std::string::npos);
  BOOST_TEST(text.find(" - INFO - CONVERSATION COMPLETED\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(session_log_survives_a_move) {
  TempDir dir;
  auto opened = SessionLog::open(dir.path() / "m.log", [] { return 1767225600.0; });
  BOOST_TEST_REQUIRE(opened.has_value(), why(opened));
  SessionLog a = std::move(opened).value();
  SessionLog b = std::move(a);
  b.info("after the move");
  BOOST_TEST(b.ok());
  BOOST_TEST(b.path() == dir.path() / "m.log");
  BOOST_TEST(read_file(dir.path() / "m.log").find("INFO - after the move\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(session_log_swallows_write_failures) {
  // /dev/full accepts the open and fails every write (ENOSPC).
  if (!fs::exists("/dev/full")) return;
  auto opened = SessionLog::open("/dev/full");
  BOOST_TEST_REQUIRE(opened.has_value(), why(opened));
  auto& log = opened.value();
  BOOST_TEST(log.ok());
  log.info("lost");
  log.end(1, false, 1.0);
  BOOST_TEST(!log.ok());
}

BOOST_AUTO_TEST_CASE(session_log_open_failure_names_the_file) {
  TempDir dir;
  std::ofstream(dir.path() / "blocker") << "x";
  auto path = dir.path() / "blocker" / "s.log";
  auto opened = SessionLog::open(path);
  BOOST_TEST_REQUIRE(opened.has_error());
  BOOST_TEST((opened.error() == Errc::store_failed));
  BOOST_TEST(opened.error().message.find(path.string()) != std::string::npos, opened.error().message);
}

// A log into a sink (how the runner hands blocks to its file thread) gives
// the very bytes a file log writes, one whole block per call.
BOOST_AUTO_TEST_CASE(session_log_to_a_sink_gives_the_file_s_bytes) {
  TempDir dir;
  auto clock = [] { return 1767225600.0; };
  auto opened = SessionLog::open(dir.path() / "file.log", clock);
  BOOST_TEST_REQUIRE(opened.has_value(), why(opened));
  std::vector<std::string> blocks;
  auto sunk = SessionLog::to_sink(dir.path() / "sink.log", [&](std::string b) { blocks.push_back(std::move(b)); }, clock);
  BOOST_TEST(sunk.path() == dir.path() / "sink.log");
  for (SessionLog* log : {&opened.value(), &sunk}) {
    log->start({});
    log->turn(make_turn(1, Role::persona, "hi"));
    log->error("broke", {});
    log->end(1, false, 1.5);
    log->warning("careful");
  }
  BOOST_TEST(blocks.size() == 5u);
  std::string joined;
  for (auto const& b : blocks) {
    BOOST_TEST(!b.empty());
    BOOST_TEST(b.back() == '\n');
    joined += b;
  }
  BOOST_TEST(joined == read_file(dir.path() / "file.log"));
  BOOST_TEST(sunk.ok());
  BOOST_TEST(!fs::exists(dir.path() / "sink.log"));
}

BOOST_AUTO_TEST_SUITE_END()
