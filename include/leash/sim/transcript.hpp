// leash/sim/transcript.hpp — what a finished session leaves on disk: the
// plain-text transcript a judge reads, and the per-session log.
//
//   std::vector<Turn> turns = …;
//   auto text = format_transcript(turns);          // "user: Hi\n\nchatbot: Hello\n"
//   BOOST_OUTCOME_TRY(save_transcript(turns, dir / (tag + "_" + stem + ".txt")));
//
//   BOOST_OUTCOME_TRY(auto log, SessionLog::open(dir / "logs" / (tag + "_" + stem + ".log")));
//   log.start(start);  for (auto& t : turns) log.turn(t);  log.end(turns.size(), early, seconds);
//
// Reference: VERA-MH's save_conversation_to_file and its logging utilities
// (reference/vera-mh-simulator.md §4, §5.7). Kept: the transcript text byte
// for byte, and the log's "time - LEVEL - message" lines and blocks.
// Changed: the transcript is written atomically (a killed run never leaves a
// half transcript that resume would take as finished); the start block
// prints "-" for a temperature or token limit a speaker does not report
// (the reference's logging breaks on such a client) and says which session
// it is; a log that cannot be written never fails the run, ok() tells.
#ifndef LEASH_SIM_TRANSCRIPT_HPP
#define LEASH_SIM_TRANSCRIPT_HPP

#include <leash/detail/unique_fd.hpp>
#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/sim/speaker.hpp>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace leash::sim {

/// The transcript text: "No conversation recorded." for no turns; otherwise
/// each turn as "user: <response>\n" (persona) or "chatbot: <response>\n"
/// (any other role), a terminating turn followed by
/// "[CONVERSATION ENDED - <role> signaled termination]\n", and a blank line
/// between turns (none after the last).
std::string format_transcript(std::span<Turn const> turns);

/// Writes format_transcript(turns) to `path` as UTF-8, creating its parent
/// directories. The file appears whole or not at all to anyone reading it,
/// even when the process is killed (written beside it, renamed over). With
/// `durable`, the file and its directory are also synced, so it survives a
/// power loss too (several milliseconds on a typical disk).
/// Errc::store_failed names the file and the reason.
result<void> save_transcript(std::span<Turn const> turns, std::filesystem::path const& path, bool durable = true);

/// What the start block of a session log reports.
struct SessionLogStart {
  SpeakerInfo persona;        ///< LLM1
  std::string persona_name;   ///< logged as LLM1's prompt, as the reference does
  SpeakerInfo provider;       ///< LLM2
  int max_turns = 0;          ///< as requested (before the provider-last adjustment)
  bool persona_first = true;  ///< the effective first speaker of this session
  std::string session_type;
  int session_index = 1;  ///< 1-based
  int session_count = 1;
};

/// One session's log: lines "<YYYY-mm-dd HH:MM:SS> - <LEVEL> - <message>"
/// (local time; levels INFO, WARNING, ERROR), each block written and flushed
/// in one piece. Write failures are swallowed — a log never breaks a run —
/// and ok() turns false.
class SessionLog {
 public:
  /// Creates the parent directories and the file (truncating an old one).
  /// `clock` gives seconds since the epoch for the time column (default:
  /// the system clock). Errc::store_failed names the file when it cannot be
  /// opened.
  static result<SessionLog> open(std::filesystem::path const& path, std::function<double()> clock = {});
  /// A log that hands each block, whole, to `sink` instead of writing it (a
  /// runner passes them to the thread that writes its files, which opens
  /// `path`); path() is `path`, ok() stays true.
  static SessionLog to_sink(std::filesystem::path path, std::function<void(std::string)> sink,
                            std::function<double()> clock = {});

  SessionLog(SessionLog&&) noexcept = default;
  SessionLog& operator=(SessionLog&&) noexcept = default;

  /// "====…" (60), "CONVERSATION STARTED", LLM1 model, prompt, temperature
  /// and max_tokens, LLM2 name, model, temperature and max_tokens ("-" when
  /// unknown), "Max Turns: n", "Persona speaks first: true|false",
  /// "Session: i/N type", "====…".
  void start(SessionLogStart const& s);
  /// "TURN n - SPEAKER", "Input: …" ("(none)" for a static first message),
  /// "Response: …", "response_id: …", "logging: <compact JSON>", a WARNING
  /// "EARLY TERMINATION detected by SPEAKER" when flagged, then "----…" (40).
  void turn(Turn const& t);
  /// ERROR lines: the message, then the failure metadata when there is any.
  void error(std::string_view message, json::object const& failure_metadata = {});
  /// "CONVERSATION COMPLETED", "Total Turns: n", "Early Termination: true|false",
  /// "Duration: x.xx seconds" (only when duration_s > 0), between "====…" lines.
  void end(std::size_t total_turns, bool early_termination, double duration_s = 0.0);
  void info(std::string_view message);
  void warning(std::string_view message);

  /// Whether every write so far succeeded.
  bool ok() const noexcept { return ok_; }
  std::filesystem::path const& path() const noexcept { return path_; }

 private:
  SessionLog() = default;
  // A block is built whole, every line with the same time, then written in
  // one call, so a reader (or a crash) never sees half of it.
  std::string stamp() const;
  static void line(std::string& block, std::string const& stamp, std::string_view level, std::string_view message);
  void write(std::string block);

  leash::detail::UniqueFd fd_;
  std::function<void(std::string)> sink_;
  std::filesystem::path path_;
  std::function<double()> clock_;
  bool ok_ = true;
};

}  // namespace leash::sim

#include <leash/sim/impl/transcript.hpp>

#endif
