// leash/sim/naming.hpp — the names a simulation run gives its files and
// folders, and the parsers that read them back on resume.
//
//   std::mt19937_64 rng(seed);
//   auto stem = transcript_stem("Mary Jane", "gpt-4.1", "", 2, 1, "intake");
//       // "Mary_Jane_gpt-41_run2_s1_intake"
//   auto file = new_tag(rng) + "_" + stem + ".txt";     // "3fa9c1_Mary_Jane_…"
//   auto s = parse_transcript_suffix(file);             // run 2, session 1, "intake"
//   auto dir = run_folder_name("gpt-4.1", "claude-x", 6, 3, now);
//       // "p_gpt_4_1__a_claude_x__t6__r3__20260531_142500"
//
// Reference: VERA-MH's file naming and resume matcher
// (reference/vera-mh-simulator.md §5.5, §5.6, §5.8). Kept: the stem's shape
// "<persona>_<model>[_<workflow>]_run<N>[_s<i>_<type>]", the "<tag>_" prefix
// of six hex digits, the run folder "p_…__a_…__t…__r…__<stamp>" and the
// suffix pattern. Changed: every part of a name is sanitised
// (sanitize_name_part). The reference writes persona, model and session type
// raw — so a model id with '/' makes sub-folders and a persona "Mary Jane" is
// never found again by its own resume matcher, which looks for "Mary_Jane"
// (§6.2, an open bug there); here writer and matcher agree by construction.
// Repeated underscores in run folder model tokens are collapsed, so "__"
// only ever separates fields and the folder name parses back unambiguously.
#ifndef LEASH_SIM_NAMING_HPP
#define LEASH_SIM_NAMING_HPP

#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace leash::sim {

/// `part` made safe as (a piece of) one path component and unambiguous when
/// parsed back: ASCII letters, digits, '-' and '_' are kept, as is every byte
/// >= 0x80 (the UTF-8 of non-ASCII names: "Zoë" stays "Zoë"); '.' is removed
/// (the reference's rule; it also keeps ".txt" the only dot of a file name);
/// any other byte (space, '/', '\\', ':', '#', control characters, …) becomes
/// '_'. An empty result is "_", so a part never vanishes from a name.
///   "Mary Jane" → "Mary_Jane", "gpt-4.1" → "gpt-41",
///   "scripted:example/sim/p.jsonl" → "scripted_example_sim_pjsonl".
std::string sanitize_name_part(std::string_view part);

/// "<persona>_<model>[_<workflow>]_run<run>[_s<session_index>_<session_type>]",
/// every part sanitised; the workflow only when non-empty, the session suffix
/// only when session_index > 0. Files are "<tag>_<stem>.txt" (transcripts)
/// and "<tag>_<stem>.log" (session logs).
std::string transcript_stem(std::string_view persona, std::string_view persona_model, std::string_view workflow,
                            int run, int session_index = 0, std::string_view session_type = {});

/// A fresh file tag: six lowercase hex digits drawn from `rng` (seed it to
/// make names reproducible).
std::string new_tag(std::mt19937_64& rng);

/// What the end of a transcript file name says.
struct TranscriptSuffix {
  int run = 0;
  std::optional<int> session_index;  ///< with session_type, or neither
  std::optional<std::string> session_type;
};

/// Reads "…_run<N>.txt" or "…_run<N>_s<i>_<type>.txt" (the type without '.'
/// or '/'); the leftmost "_run" that makes the rest match is taken, as the
/// reference's pattern search does. Anything else, or a number that does not
/// fit an int, gives nothing.
std::optional<TranscriptSuffix> parse_transcript_suffix(std::string_view file_name);

/// A model id as it appears in a run folder name: sanitised, '-' and '.'
/// turned into '_' ("gpt-4.1" → "gpt_4_1"), repeated '_' collapsed.
std::string run_folder_token(std::string_view model);

/// "p_<persona model>__a_<provider model>__t<turns>__r<runs>__<YYYYmmdd_HHMMSS>",
/// the models as run_folder_token, the stamp the local time of `when`
/// (seconds since the epoch; 0: now).
std::string run_folder_name(std::string_view persona_model, std::string_view provider_model, int turns, int runs,
                            double when);

/// The fields of a run folder name; the models in their folder form (compare
/// them with run_folder_token of a model id).
struct RunFolderName {
  std::string persona_model, provider_model;
  int turns = 0, runs = 0;
  std::string stamp;  ///< "YYYYmmdd_HHMMSS"
};

/// The inverse of run_folder_name; nothing for a name not of that shape.
std::optional<RunFolderName> parse_run_folder_name(std::string_view name);

}  // namespace leash::sim

#include <leash/sim/impl/naming.hpp>

#endif
