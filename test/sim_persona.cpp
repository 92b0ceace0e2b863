// Personas from a sheet: template filling, the reference's loading rules
// (test 99), the sheet format, and the shipped example.
#include <leash/sim/persona.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace test_sim_persona {

namespace fs = std::filesystem;
using leash::Errc;
using leash::sim::load_personas;
using leash::sim::PersonaLoad;
using leash_test::why;
using Fields = std::vector<std::pair<std::string, std::string>>;

struct TempDir : leash_test::TempDir {
  TempDir() : leash_test::TempDir("leash-sim-persona") {}
  fs::path write(std::string const& name, std::string const& text) const {
    std::ofstream(path() / name, std::ios::binary) << text;
    return path() / name;
  }
};

// Four rows; "alice" differs from "Alice" only in case.
std::string const sheet_text =
    "Name\tAge\tGoal\n"
    "Alice\t30\tfix a flat\n"
    "Bob\t41\tbook a service\n"
    "alice\t22\tbuy a bell\n"
    "Carol\t55\treturn a helmet\n";

std::string const template_text = "You are {Name}, {Age}. You want to {Goal}.";

std::vector<std::string> names_of(leash::sim::LoadedPersonas const& loaded) {
  std::vector<std::string> out;
  for (auto const& p : loaded.personas) out.push_back(p.name);
  return out;
}

PersonaLoad only(std::vector<std::string> names, std::optional<long> max = std::nullopt) {
  PersonaLoad o;
  o.names = std::move(names);
  o.max_personas = max;
  return o;
}

bool mentions(std::string const& text, std::string const& what) { return text.find(what) != std::string::npos; }

}  // namespace test_sim_persona

using namespace test_sim_persona;

BOOST_AUTO_TEST_SUITE(sim_persona)

BOOST_AUTO_TEST_CASE(template_fills_keys_and_keeps_doubled_braces) {
  Fields f{{"Name", "Zoë"}, {"Age", "19"}, {"Empty", ""}};
  auto r = leash::sim::fill_template("Hi {Name} ({Age}){Empty}! {{not a key}} {Name}", f);
  BOOST_TEST_REQUIRE(r.has_value(), why(r));
  BOOST_TEST(r.value() == "Hi Zoë (19)! {not a key} Zoë");
  BOOST_TEST(leash::sim::fill_template("", f).value() == "");
  BOOST_TEST(leash::sim::fill_template("{{}}", f).value() == "{}");
}

BOOST_AUTO_TEST_CASE(template_errors_name_the_problem) {
  Fields f{{"Name", "A"}};
  auto unknown = leash::sim::fill_template("Hi {Nmae}", f);
  BOOST_TEST_REQUIRE(unknown.has_error());
  BOOST_TEST((unknown.error() == Errc::invalid_input));
  BOOST_TEST(mentions(unknown.error().message, "Nmae"), unknown.error().message);

  auto case_matters = leash::sim::fill_template("{name}", f);
  BOOST_TEST_REQUIRE(case_matters.has_error());
  BOOST_TEST(mentions(case_matters.error().message, "name"));

  for (std::string bad : {"Hi {Name", "{", "a } b", "{}", "{Na{me}"}) {
    auto r = leash::sim::fill_template(bad, f);
    BOOST_TEST_REQUIRE(r.has_error(), bad);
    BOOST_TEST((r.error() == Errc::invalid_input), bad);
  }
}

BOOST_AUTO_TEST_CASE(loads_every_row_in_order_with_columns_and_prompt) {
  TempDir dir;
  auto loaded = load_personas(dir.write("p.tsv", sheet_text), dir.write("t.txt", template_text));
  BOOST_TEST_REQUIRE(loaded.has_value(), why(loaded));
  BOOST_TEST(names_of(loaded.value()) == (std::vector<std::string>{"Alice", "Bob", "alice", "Carol"}));
  BOOST_TEST(loaded.value().warnings.empty());
  auto const& bob = loaded.value().personas[1];
  BOOST_TEST((bob.fields == Fields{{"Name", "Bob"}, {"Age", "41"}, {"Goal", "book a service"}}));
  BOOST_TEST(bob.prompt == "You are Bob, 41. You want to book a service.");
}

BOOST_AUTO_TEST_CASE(name_filter_is_exact_and_case_sensitive) {  // reference test 99
  TempDir dir;
  auto sheet = dir.write("p.tsv", sheet_text);
  auto tmpl = dir.write("t.txt", template_text);

  auto lower = load_personas(sheet, tmpl, only({"alice"}));
  BOOST_TEST_REQUIRE(lower.has_value(), why(lower));
  BOOST_TEST(names_of(lower.value()) == std::vector<std::string>{"alice"});
  BOOST_TEST(lower.value().personas[0].prompt == "You are alice, 22. You want to buy a bell.");

  auto two = load_personas(sheet, tmpl, only({"Carol", "Alice"}));
  BOOST_TEST_REQUIRE(two.has_value(), why(two));
  BOOST_TEST(names_of(two.value()) == (std::vector<std::string>{"Alice", "Carol"}));  // sheet order

  auto partial = load_personas(sheet, tmpl, only({"Ali", "ALICE", "Alice "}));
  BOOST_TEST_REQUIRE(partial.has_value(), why(partial));
  BOOST_TEST(partial.value().personas.empty());
  BOOST_TEST(partial.value().warnings.size() == 3u);
  BOOST_TEST(mentions(partial.value().warnings[0], "\"Ali\""));

  auto unknown = load_personas(sheet, tmpl, only({"Nobody"}));
  BOOST_TEST_REQUIRE(unknown.has_value(), why(unknown));
  BOOST_TEST(unknown.value().personas.empty());
}

BOOST_AUTO_TEST_CASE(max_personas_must_be_positive) {  // reference test 99
  TempDir dir;
  auto sheet = dir.write("p.tsv", sheet_text);
  auto tmpl = dir.write("t.txt", template_text);
  for (long bad : {0L, -1L, -100L}) {
    auto r = load_personas(sheet, tmpl, only({}, bad));
    BOOST_TEST_REQUIRE(r.has_error(), bad);
    BOOST_TEST((r.error() == Errc::invalid_input));
    BOOST_TEST(mentions(r.error().message, "max_personas"), r.error().message);
  }
}

BOOST_AUTO_TEST_CASE(max_personas_counts_after_the_filter) {  // reference test 99
  TempDir dir;
  auto sheet = dir.write("p.tsv", sheet_text);
  auto tmpl = dir.write("t.txt", template_text);

  auto filtered = load_personas(sheet, tmpl, only({"Carol", "alice", "Bob"}, 2));
  BOOST_TEST_REQUIRE(filtered.has_value(), why(filtered));
  BOOST_TEST(names_of(filtered.value()) == (std::vector<std::string>{"Bob", "alice"}));

  auto first = load_personas(sheet, tmpl, only({}, 1));
  BOOST_TEST_REQUIRE(first.has_value(), why(first));
  BOOST_TEST(names_of(first.value()) == std::vector<std::string>{"Alice"});

  auto more_than_there_are = load_personas(sheet, tmpl, only({}, 50));
  BOOST_TEST_REQUIRE(more_than_there_are.has_value());
  BOOST_TEST(more_than_there_are.value().personas.size() == 4u);
}

BOOST_AUTO_TEST_CASE(reading_stops_once_enough_rows_are_kept) {
  TempDir dir;
  // A broken row after the second: never read when two rows are enough.
  auto sheet = dir.write("p.tsv", "Name\tAge\tGoal\nA\t1\tx\nB\t2\ty\nbroken row\n");
  auto tmpl = dir.write("t.txt", template_text);
  auto two = load_personas(sheet, tmpl, only({}, 2));
  BOOST_TEST_REQUIRE(two.has_value(), why(two));
  BOOST_TEST(two.value().personas.size() == 2u);
  auto all = load_personas(sheet, tmpl);
  BOOST_TEST_REQUIRE(all.has_error());
  BOOST_TEST(mentions(all.error().message, "p.tsv:4"), all.error().message);
}

BOOST_AUTO_TEST_CASE(missing_files_are_named) {  // reference test 99
  TempDir dir;
  auto sheet = dir.write("p.tsv", sheet_text);
  auto tmpl = dir.write("t.txt", template_text);

  auto no_sheet = load_personas(dir.path() / "absent.tsv", tmpl);
  BOOST_TEST_REQUIRE(no_sheet.has_error());
  BOOST_TEST((no_sheet.error() == Errc::invalid_input));
  BOOST_TEST(mentions(no_sheet.error().message, (dir.path() / "absent.tsv").string()), no_sheet.error().message);
  BOOST_TEST(mentions(no_sheet.error().message, "does not exist"));

  auto no_template = load_personas(sheet, dir.path() / "absent.txt");
  BOOST_TEST_REQUIRE(no_template.has_error());
  BOOST_TEST((no_template.error() == Errc::invalid_input));
  BOOST_TEST(mentions(no_template.error().message, (dir.path() / "absent.txt").string()),
             no_template.error().message);
  BOOST_TEST(mentions(no_template.error().message, "does not exist"));
}

BOOST_AUTO_TEST_CASE(row_lacking_a_template_key_is_skipped_with_a_warning) {  // reference test 99
  TempDir dir;
  auto sheet = dir.write("p.tsv", "Name\tAge\nDana\t33\nEli\t40\n");
  auto tmpl = dir.write("t.txt", "You are {Name}, {Age}, riding a {Bike}.");
  auto loaded = load_personas(sheet, tmpl);
  BOOST_TEST_REQUIRE(loaded.has_value(), why(loaded));
  BOOST_TEST(loaded.value().personas.empty());
  BOOST_TEST_REQUIRE(loaded.value().warnings.size() == 2u);
  BOOST_TEST(mentions(loaded.value().warnings[0], "Dana"), loaded.value().warnings[0]);
  BOOST_TEST(mentions(loaded.value().warnings[0], "Bike"));
  BOOST_TEST(mentions(loaded.value().warnings[1], "Eli"));

  // An empty name is skipped too; the other rows still load.
  auto with_blank_name =
      load_personas(dir.write("q.tsv", "Name\tAge\n\t5\nFay\t6\n"), dir.write("u.txt", "{Name} {Age}"));
  BOOST_TEST_REQUIRE(with_blank_name.has_value(), why(with_blank_name));
  BOOST_TEST(names_of(with_blank_name.value()) == std::vector<std::string>{"Fay"});
  BOOST_TEST(with_blank_name.value().warnings.size() == 1u);
}

BOOST_AUTO_TEST_CASE(sheet_quoting_crlf_and_blank_lines) {
  TempDir dir;
  std::string text =
      "\xEF\xBB\xBFName\tNote\tAge\r\n"
      "\r\n"
      "\"Mary Jane\"\t\"says \"\"hi\"\"\tthen\nleaves\"\t34\r\n"
      "   \n"
      "Zoë\t5'10\" tall\t19\n"
      "\"Ed\"die\t\t7";  // text after a closing quote is kept; the last line has no newline
  auto loaded = load_personas(dir.write("p.tsv", text), dir.write("t.txt", "{Name}|{Note}|{Age}"));
  BOOST_TEST_REQUIRE(loaded.has_value(), why(loaded));
  auto const& ps = loaded.value().personas;
  BOOST_TEST_REQUIRE(ps.size() == 3u);
  BOOST_TEST(ps[0].name == "Mary Jane");
  BOOST_TEST(ps[0].prompt == "Mary Jane|says \"hi\"\tthen\nleaves|34");
  BOOST_TEST(ps[1].prompt == "Zoë|5'10\" tall|19");
  BOOST_TEST(ps[2].prompt == "Eddie||7");
  BOOST_TEST(ps[0].fields.front().first == "Name");  // the BOM is not part of the first column's name
}

BOOST_AUTO_TEST_CASE(sheet_errors_name_file_and_line) {
  TempDir dir;
  auto tmpl = dir.write("t.txt", "{Name}");

  auto wrong_count = load_personas(dir.write("a.tsv", "Name\tAge\nA\t1\n\n\"B\nb\"\t2\nC\n"), tmpl);
  BOOST_TEST_REQUIRE(wrong_count.has_error());
  BOOST_TEST((wrong_count.error() == Errc::invalid_input));
  BOOST_TEST(mentions(wrong_count.error().message, "a.tsv:6"), wrong_count.error().message);

  auto too_many = load_personas(dir.write("b.tsv", "Name\tAge\nA\t1\t\n"), tmpl);
  BOOST_TEST_REQUIRE(too_many.has_error());
  BOOST_TEST(mentions(too_many.error().message, "b.tsv:2"), too_many.error().message);

  auto unclosed = load_personas(dir.write("c.tsv", "Name\n\"A\nB\n"), tmpl);
  BOOST_TEST_REQUIRE(unclosed.has_error());
  BOOST_TEST(mentions(unclosed.error().message, "c.tsv:2"), unclosed.error().message);

  auto no_name = load_personas(dir.write("d.tsv", "name\tAge\nA\t1\n"), tmpl);
  BOOST_TEST_REQUIRE(no_name.has_error());
  BOOST_TEST(mentions(no_name.error().message, "d.tsv"), no_name.error().message);
  BOOST_TEST(mentions(no_name.error().message, "Name"));

  auto empty = load_personas(dir.write("e.tsv", "\n\n"), tmpl);
  BOOST_TEST_REQUIRE(empty.has_error());
  BOOST_TEST(mentions(empty.error().message, "e.tsv"));

  auto bad_template = load_personas(dir.write("f.tsv", "Name\nA\n"), dir.write("bad.txt", "Hello {Name"));
  BOOST_TEST_REQUIRE(bad_template.has_error());
  BOOST_TEST((bad_template.error() == Errc::invalid_input));
  BOOST_TEST(mentions(bad_template.error().message, "bad.txt"), bad_template.error().message);
}

BOOST_AUTO_TEST_CASE(shipped_example_loads) {
  fs::path const dir = fs::path(LEASH_SOURCE_DIR) / "example" / "sim";
  auto loaded = load_personas(dir / "personas.tsv", dir / "persona_template.txt");
  BOOST_TEST_REQUIRE(loaded.has_value(), why(loaded));
  BOOST_TEST(loaded.value().warnings.empty());
  auto const& ps = loaded.value().personas;
  BOOST_TEST_REQUIRE(ps.size() == 5u);
  BOOST_TEST(names_of(loaded.value()) == (std::vector<std::string>{"Mary Jane", "Zoë", "Harold", "Dev", "Kenji"}));
  for (auto const& p : ps) {
    BOOST_TEST_REQUIRE(p.fields.size() == 5u);
    BOOST_TEST(p.fields[0].first == "Name");
    BOOST_TEST(p.fields[4].first == "Style");
    BOOST_TEST(mentions(p.prompt, "Name: " + p.name + "\n"), p.name);
    BOOST_TEST(mentions(p.prompt, "<END OF CONVERSATION>"));
    BOOST_TEST(p.prompt.find('{') == std::string::npos, p.name);
  }
  BOOST_TEST(mentions(ps[2].prompt, "his \"electric horse\" and"));  // a quoted field with "" inside
}

BOOST_AUTO_TEST_SUITE_END()
