// leash/sim/persona.hpp — simulated users from a sheet: one row per persona,
// its columns filled into a prompt template.
//
//   PersonaLoad opts;
//   opts.names = {"Mary Jane"};                    // exact; empty: every row
//   BOOST_OUTCOME_TRY(auto loaded, load_personas("example/sim/personas.tsv",
//                                                "example/sim/persona_template.txt", opts));
//   for (auto const& w : loaded.warnings) std::cerr << w << '\n';
//   for (auto const& p : loaded.personas) use(p.name, p.prompt);
//
// The sheet is tab-separated with a header row and a "Name" column; the
// template says {Column} where a column's value goes and {{ / }} for literal
// braces.
//
// Reference: VERA-MH's load_prompts_from_csv (reference/vera-mh-simulator.md
// §5.10, test 99). Kept: exact case-sensitive name filter, max_personas
// counted after the filter and > 0, rows in file order, a row lacking a
// template key skipped with a warning, the row's columns kept beside the
// prompt. Changed: errors are values (Errc::invalid_input naming the file,
// the line or the key) instead of exceptions; warnings are returned rather
// than printed; a malformed template fails the load once rather than every
// row; the sheet and template paths are parameters, not fixed data files.
#ifndef LEASH_SIM_PERSONA_HPP
#define LEASH_SIM_PERSONA_HPP

#include <leash/error.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leash::sim {

/// One simulated user.
struct Persona {
  std::string name;                                         ///< the "Name" column
  std::vector<std::pair<std::string, std::string>> fields;  ///< the row's columns, in sheet order
  std::string prompt;                                       ///< the filled template
};

/// `tmpl` with each {Key} replaced by the value of the field named Key
/// (exact, case-sensitive); "{{" and "}}" are literal braces. An unknown key
/// is Errc::invalid_input naming it; an unclosed '{', a lone '}' or an empty
/// "{}" is Errc::invalid_input too.
result<std::string> fill_template(std::string_view tmpl,
                                  std::vector<std::pair<std::string, std::string>> const& fields);

/// Which rows load_personas keeps.
struct PersonaLoad {
  std::vector<std::string> names;    ///< exact, case-sensitive filter; empty: all
  std::optional<long> max_personas;  ///< counted after the filter; <= 0 is an error
};

struct LoadedPersonas {
  std::vector<Persona> personas;
  std::vector<std::string> warnings;  ///< rows skipped, and why; requested names not found
};

/// Reads the personas of `sheet`, each prompt filled from `template_file`.
///
/// The sheet: tab-separated, a header row naming the columns (one of them
/// "Name"), UTF-8 (a leading BOM is ignored), LF or CRLF line ends, blank
/// lines skipped. A field may be double-quoted, with "" for a quote inside,
/// so it can hold tabs and newlines. Rows are read in order and reading
/// stops once max_personas rows are kept.
///
/// Errc::invalid_input: max_personas <= 0; a missing sheet or template ("…
/// does not exist"); no "Name" column; a row with a different number of
/// columns than the header, or an unterminated quote ("FILE:LINE: …"); a
/// malformed template. A row whose template needs a column it lacks, or
/// whose name is empty, is skipped with a warning.
result<LoadedPersonas> load_personas(std::filesystem::path const& sheet,
                                     std::filesystem::path const& template_file, PersonaLoad const& options = {});

}  // namespace leash::sim

#include <leash/sim/impl/persona.hpp>

#endif
