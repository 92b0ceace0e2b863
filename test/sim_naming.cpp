// File and folder names of simulation runs: the sanitiser, transcript stems,
// the resume suffix parser (reference test 89), run folders and tags.
#include <leash/sim/naming.hpp>

#include <boost/test/unit_test.hpp>

#include <leash/sim/detail/time_text.hpp>

#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace test_sim_naming {

using leash::sim::parse_run_folder_name;
using leash::sim::parse_transcript_suffix;
using leash::sim::sanitize_name_part;
using leash::sim::transcript_stem;

// One fixed instant; its local-time stamp is computed the same way as the code under test.
double const when = 1774958400.0;  // 2026-03-31T12:00:00Z

}  // namespace test_sim_naming

using namespace test_sim_naming;

BOOST_AUTO_TEST_SUITE(sim_naming)

BOOST_AUTO_TEST_CASE(sanitiser_keeps_safe_bytes_and_replaces_the_rest) {
  BOOST_TEST(sanitize_name_part("Mary Jane") == "Mary_Jane");
  BOOST_TEST(sanitize_name_part("gpt-4.1") == "gpt-41");
  BOOST_TEST(sanitize_name_part("scripted:example/sim/p.jsonl") == "scripted_example_sim_pjsonl");
  BOOST_TEST(sanitize_name_part("a\\b#c\td\ne") == "a_b_c_d_e");
  BOOST_TEST(sanitize_name_part("../../etc/passwd") == "__etc_passwd");
  BOOST_TEST(sanitize_name_part("Zoë") == "Zoë");
  BOOST_TEST(sanitize_name_part("自行车 shop") == "自行车_shop");
  BOOST_TEST(sanitize_name_part("keep_this-One9") == "keep_this-One9");
  BOOST_TEST(sanitize_name_part("") == "_");
  BOOST_TEST(sanitize_name_part("...") == "_");
  // Whatever goes in, the result is one path component without dots.
  for (std::string const& s :
       std::vector<std::string>{"a/b", "/", "..", "x.y.z", "c:\\d", std::string("n\0l", 3)}) {
    auto out = sanitize_name_part(s);
    BOOST_TEST(!out.empty());
    BOOST_TEST(out.find_first_of("/.\\:") == std::string::npos, out);
    BOOST_TEST(out.find('\0') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(stems_follow_the_reference_shape) {
  BOOST_TEST(transcript_stem("Persona1", "mock-model", "", 1) == "Persona1_mock-model_run1");
  BOOST_TEST(transcript_stem("Persona1", "mock-model", "workflow", 1, 2, "coaching") ==
             "Persona1_mock-model_workflow_run1_s2_coaching");
  BOOST_TEST(transcript_stem("Mary Jane", "gpt-4.1", "", 2, 1, "intake") == "Mary_Jane_gpt-41_run2_s1_intake");
  // A model id with a '/' no longer makes a sub-folder; a session type with one still parses back.
  BOOST_TEST(transcript_stem("Zoë", "meta/llama-3.1", "", 3, 1, "follow/up") ==
             "Zoë_meta_llama-31_run3_s1_follow_up");
  BOOST_TEST(transcript_stem("P", "m", "", 1, 0, "ignored") == "P_m_run1");
}

BOOST_AUTO_TEST_CASE(suffixes_parse_as_in_reference_test_89) {
  auto single = parse_transcript_suffix("Persona1_mock-model_run1.txt");
  BOOST_TEST_REQUIRE(single.has_value());
  BOOST_TEST(single->run == 1);
  BOOST_TEST(!single->session_index.has_value());
  BOOST_TEST(!single->session_type.has_value());

  auto intake = parse_transcript_suffix("Persona1_mock-model_run1_s1_intake.txt");
  BOOST_TEST_REQUIRE(intake.has_value());
  BOOST_TEST(intake->run == 1);
  BOOST_TEST(intake->session_index.value_or(-1) == 1);
  BOOST_TEST(intake->session_type.value_or("") == "intake");

  auto coaching = parse_transcript_suffix("Persona1_mock-model_workflow_run1_s2_coaching.txt");
  BOOST_TEST_REQUIRE(coaching.has_value());
  BOOST_TEST(coaching->run == 1);
  BOOST_TEST(coaching->session_index.value_or(-1) == 2);
  BOOST_TEST(coaching->session_type.value_or("") == "coaching");
}

BOOST_AUTO_TEST_CASE(suffix_parser_reads_what_the_writer_writes) {
  auto name = "3fa9c1_" + transcript_stem("Mary Jane", "run_model", "", 12, 3, "follow up") + ".txt";
  auto s = parse_transcript_suffix(name);
  BOOST_TEST_REQUIRE(s.has_value());
  BOOST_TEST(s->run == 12);
  BOOST_TEST(s->session_index.value_or(-1) == 3);
  BOOST_TEST(s->session_type.value_or("") == "follow_up");

  // "_run" inside a persona or model name is passed over: the first one the rest fits wins.
  auto tricky = parse_transcript_suffix("abc123_Jo_run2x_model_run7.txt");
  BOOST_TEST_REQUIRE(tricky.has_value());
  BOOST_TEST(tricky->run == 7);
  BOOST_TEST(!tricky->session_type.has_value());
  auto typed = parse_transcript_suffix("t_P_m_run4_s1_multi_word_type.txt");
  BOOST_TEST_REQUIRE(typed.has_value());
  BOOST_TEST(typed->session_type.value_or("") == "multi_word_type");
}

BOOST_AUTO_TEST_CASE(suffix_parser_rejects_other_names) {
  for (std::string bad :
       {"Persona1_mock-model_run1.log", "Persona1_mock-model_run1", "Persona1_mock-model.txt",
        "Persona1_mock-model_runx.txt", "Persona1_mock-model_run.txt", "Persona1_mock-model_run1_s1.txt",
        "Persona1_mock-model_run1_s_intake.txt", "Persona1_mock-model_run1_s1_.txt",
        "Persona1_mock-model_run1_sx_intake.txt", "Persona1_mock-model_run1_s1_in.take.txt",
        "Persona1_mock-model_run1_s1_a/b.txt", "Persona1_mock-model_run1_extra.txt",
        "Persona1_mock-model_run99999999999.txt", "Persona1_mock-model_run1.txt.bak", ""})
    BOOST_TEST(!parse_transcript_suffix(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(tags_are_six_hex_digits_and_reproducible) {
  std::mt19937_64 a(42), b(42);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto tag = leash::sim::new_tag(a);
    BOOST_TEST(tag.size() == 6u);
    BOOST_TEST(tag.find_first_not_of("0123456789abcdef") == std::string::npos, tag);
    BOOST_TEST(tag == leash::sim::new_tag(b));
    seen.insert(tag);
  }
  BOOST_TEST(seen.size() > 190u);  // random enough that collisions are rare
  std::mt19937_64 c(7);
  std::mt19937_64 d(42);
  BOOST_TEST(leash::sim::new_tag(c) != leash::sim::new_tag(d));
}

BOOST_AUTO_TEST_CASE(run_folder_names_match_the_reference) {  // reference test 90's folder
  auto stamp = leash::sim::detail::local_stamp(when, true);
  BOOST_TEST(leash::sim::run_folder_name("mock-persona", "mock-agent", 4, 1, when) ==
             "p_mock_persona__a_mock_agent__t4__r1__" + stamp);
  BOOST_TEST(leash::sim::run_folder_token("gpt-4.1") == "gpt_4_1");
  BOOST_TEST(leash::sim::run_folder_token("claude--3..x/y") == "claude_3_x_y");
  BOOST_TEST(leash::sim::run_folder_name("openai/gpt-4.1-mini", "scripted:a/b.jsonl", 6, 3, when) ==
             "p_openai_gpt_4_1_mini__a_scripted_a_b_jsonl__t6__r3__" + stamp);
}

BOOST_AUTO_TEST_CASE(run_folder_names_parse_back) {
  auto parsed = parse_run_folder_name("p_mock_persona__a_mock_agent__t4__r1__20260331_120000");
  BOOST_TEST_REQUIRE(parsed.has_value());
  BOOST_TEST(parsed->persona_model == "mock_persona");
  BOOST_TEST(parsed->provider_model == "mock_agent");
  BOOST_TEST(parsed->turns == 4);
  BOOST_TEST(parsed->runs == 1);
  BOOST_TEST(parsed->stamp == "20260331_120000");

  // Round trip, including tokens that end or start with '_'.
  using Models = std::vector<std::pair<std::string, std::string>>;
  for (auto const& [pm, am] : Models{{"gpt-4.1", "claude-3-opus"}, {"x-", "-y"}, {"-", "."}, {"a__t5", "b__r2"}}) {
    auto name = leash::sim::run_folder_name(pm, am, 10, 250, when);
    auto back = parse_run_folder_name(name);
    BOOST_TEST_REQUIRE(back.has_value(), name);
    BOOST_TEST(back->persona_model == leash::sim::run_folder_token(pm), name);
    BOOST_TEST(back->provider_model == leash::sim::run_folder_token(am), name);
    BOOST_TEST(back->turns == 10);
    BOOST_TEST(back->runs == 250);
    BOOST_TEST(back->stamp == leash::sim::detail::local_stamp(when, true));
  }
}

BOOST_AUTO_TEST_CASE(run_folder_parser_rejects_other_names) {
  for (std::string bad :
       {"", "conversations", "p_a__a_b__t4__r1", "p_a__a_b__t4__r1__2026033_120000",
        "p_a__a_b__t4__r1__20260331-120000", "p_a__a_b__tx__r1__20260331_120000", "p_a__a_b__t4__20260331_120000",
        "q_a__a_b__t4__r1__20260331_120000", "p_a__b__t4__r1__20260331_120000", "p___a_b__t4__r1__20260331_120000",
        "p_a__a___t4__r1__20260331_120000"})
    BOOST_TEST(!parse_run_folder_name(bad).has_value(), bad);
}

BOOST_AUTO_TEST_SUITE_END()
