// leash/sim/runner.hpp — many simulated conversations at once: personas ×
// runs × sessions, on one io_context, with a concurrency cap, transcripts and
// logs on disk, every turn in the run store, and resume.
//
//   auto personas = leash::sim::load_personas("personas.tsv", "template.txt");
//   leash::sim::RunnerOptions o;
//   o.folder = "out/p_…";  o.persona_model = "gpt-4o-mini";  o.provider_model = "my-bot";
//   o.runs_per_persona = 2;  o.session_types = {"intake", "coaching"};  o.max_concurrent = 8;
//   leash::sim::Runner runner(o,
//       [&](leash::sim::JobContext const& job) { return LlmSpeaker(persona_transport, …job.persona->prompt…); },
//       [&](leash::sim::JobContext const&) { return MyProvider{…}; });
//   auto batch = runner.run(personas->personas);   // or co_await runner.async_run(…)
//
// A job is one persona × one run number. Its hooks run in the reference's
// order (reference/vera-mh-simulator.md §5.5): setup once → prepare_sessions
// once → for each prepared session enter_session, first_speaker, the turns →
// cleanup, always, whatever failed (its errors are logged, never thrown).
// max_turns and max_total_words apply per session.
//
// Files: <folder>/conversations/<tag>_<stem>.txt (sim/transcript.hpp format),
// <folder>/conversations/logs/<tag>_<stem>.log, and <folder>/simulation.json
// (the settings, checked on resume). Each session is also a run in
// RunnerOptions::store (agent "leash.sim"; its turns as sim.* events).
//
// Where this differs from the reference, on purpose:
// * name parts are sanitised (sim/naming.hpp) and resume matches the very
//   names it writes, so it always finds its files (§6.2);
// * finished jobs and sessions are recognised from the *prepared* session
//   list in both places (the reference uses the raw list for whole jobs);
// * a job that fails keeps the sessions it completed (the reference drops
//   them);
// * setup() is called on both speakers, persona first (the reference calls
//   the provider's only); cleanup() on both, as the reference;
// * progress is one line per finished session, written whole (never
//   interleaved), and silent with `quiet`;
// * a resumed run whose models, turns, runs, sessions or workflow differ is
//   refused, checked against simulation.json (the folder name when that is
//   missing); a fresh run into a folder that already holds one is refused.
// * two personas whose names sanitise alike are refused (they would share
//   file names).
#ifndef LEASH_SIM_RUNNER_HPP
#define LEASH_SIM_RUNNER_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/sim/conversation.hpp>
#include <leash/sim/naming.hpp>
#include <leash/sim/persona.hpp>
#include <leash/sim/speaker.hpp>
#include <leash/sim/transcript.hpp>
#include <leash/store/store.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace leash::sim {

/// The trace events of a simulated session (kept in the run store).
namespace event {
inline constexpr std::string_view session_start = "sim.session.start";
inline constexpr std::string_view turn = "sim.turn";
inline constexpr std::string_view session_end = "sim.session.end";
}  // namespace event

/// RunInfo::agent of the runs that record simulated sessions.
inline constexpr std::string_view simulation_agent = "leash.sim";

/// What a speaker factory is told about the job it builds speakers for.
struct JobContext {
  std::size_t index = 0;  ///< 1-based, over all jobs (skipped ones included)
  Persona const* persona = nullptr;
  int run_number = 1;     ///< 1-based
  std::string tag;        ///< the job's 6-hex file-name tag
};

struct RunnerOptions {
  /// The run folder: transcripts in <folder>/conversations, logs in
  /// <folder>/conversations/logs. Created when missing.
  std::filesystem::path folder;
  /// Names for file names, results and the resume check (llm1_model and the
  /// provider's model); leash-simulate passes the transports' model ids.
  std::string persona_model;
  std::string provider_model;
  std::string workflow;  ///< optional, part of file names when set
  int max_turns = 6;     ///< per session, before adjust_turns
  int runs_per_persona = 3;
  std::optional<std::size_t> max_total_words;  ///< per session
  bool persona_first = true;  ///< unless the provider's first_speaker says otherwise
  /// Sessions in order, before the provider's prepare_sessions; empty: one
  /// session named "default".
  std::vector<std::string> session_types;
  bool resume = false;
  /// Jobs in flight at once: 0 means all of them; negative is an error.
  int max_concurrent = 0;
  bool quiet = false;
  std::ostream* progress = nullptr;  ///< where progress lines go; null: std::cout
  /// Where every session is recorded as a run (agent "leash.sim"); none: not recorded.
  std::optional<AnyStore> store;
  /// Seeds the file-name tags; empty: std::random_device.
  std::optional<std::uint64_t> seed;
  /// Transcripts always appear whole or not at all when a process is killed
  /// (written beside, renamed over), which is what resume relies on. With
  /// `sync_files` they are also synced to disk and survive a power loss,
  /// at several milliseconds each. Files are written on a thread of the
  /// runner's own, in order, while the conversations go on; a job holds its
  /// place under max_concurrent until its last conversation has ended and
  /// its speakers are cleaned up, and is finished (results, store, progress)
  /// once its files are written; the run returns when every file is.
  bool sync_files = false;
  /// Keep every session's turns in the results (SessionResult::conversation).
  /// Off for very large batches: the transcripts and the store still have them.
  bool keep_conversations = true;
};

/// One session of a job (the reference's session entry).
struct SessionResult {
  int index = 0;  ///< 1-based over the prepared list
  std::string session_type;
  std::size_t turns = 0;
  std::vector<Turn> conversation;    ///< empty unless RunnerOptions::keep_conversations
  std::filesystem::path transcript;  ///< empty when none was written
  std::filesystem::path log_file;    ///< empty when none was opened
  double duration_s = 0.0;
  bool early_termination = false;
  bool skipped = false;
  std::string skip_reason;  ///< "existing" or "error"
  std::string error;
  std::string run_id;       ///< the store's run, when recorded
  std::string store_error;  ///< recording in the store failed (the files are still written)

  json::object to_json() const;
};

/// One persona × run (the reference's job result, merged shape).
struct JobResult {
  std::size_t index = 0;
  std::string persona_model;  ///< llm1_model
  std::string persona_name;   ///< llm1_prompt
  int run_number = 0;
  std::vector<SessionResult> sessions;  ///< kept even when a later session failed
  double duration_s = 0.0;
  bool skipped = false;
  std::string skip_reason;  ///< "existing" or "error"
  std::string error;

  json::object to_json() const;
};

struct BatchResult {
  /// Jobs skipped as already done first, then the others in completion order.
  std::vector<JobResult> jobs;
  std::size_t completed = 0;
  std::size_t skipped_existing = 0;
  std::size_t skipped_error = 0;
  double duration_s = 0.0;
  /// Every job was skipped, and there was at least one (leash-simulate exits 1).
  bool all_skipped() const noexcept { return !jobs.empty() && completed == 0; }
};

/// The settings a run folder was written with (<folder>/simulation.json).
struct RunManifest {
  std::string persona_model;
  std::string provider_model;
  int max_turns = 0;
  int runs_per_persona = 0;
  std::vector<std::string> session_types;
  std::string workflow;
  double created_at = 0.0;

  json::object to_json() const;
  static result<RunManifest> from_json(json::value const& v);
};

/// Refuses to resume `folder` with `options` when its models, turns or runs
/// differ (Errc::invalid_config naming the setting, the folder's value and
/// the asked one). The folder must exist; it is judged by simulation.json,
/// else by its name (run_folder_name), else refused.
result<void> check_resume(std::filesystem::path const& folder, RunnerOptions const& options);

/// A factory's speaker type: what it returns, unwrapped from result<…>.
namespace detail {
struct SessionRecord;
template <class T> struct unwrap_result { using type = T; };
template <class T> struct unwrap_result<result<T>> { using type = T; };
template <class F>
using made_speaker_t = typename unwrap_result<std::remove_cvref_t<std::invoke_result_t<F&, JobContext const&>>>::type;
}  // namespace detail

/// Runs jobs of conversations between the speakers two factories build, per
/// job: `make_persona(JobContext const&)` and `make_provider(JobContext const&)`,
/// each returning a Speaker or result<Speaker>.
template <class MakePersona, class MakeProvider>
class Runner {
 public:
  using persona_type = detail::made_speaker_t<MakePersona>;
  using provider_type = detail::made_speaker_t<MakeProvider>;
  static_assert(check_speaker<persona_type>());
  static_assert(check_speaker<provider_type>());

  Runner(RunnerOptions options, MakePersona make_persona, MakeProvider make_provider)
      : options_(std::move(options)), make_persona_(std::move(make_persona)), make_provider_(std::move(make_provider)) {}

  /// Every persona × run, at most max_concurrent at once, on the caller's
  /// executor. One job's failure never stops another; it is a skipped
  /// JobResult with the error. The batch itself fails only for settings
  /// that cannot work (Errc::invalid_config: negative max_concurrent,
  /// max_turns or runs below 1, an empty session type, two personas whose
  /// names make the same file name, a resume that does not match its
  /// folder, a fresh run into a folder that already holds one) or a folder
  /// that cannot be created.
  boost::asio::awaitable<result<BatchResult>> async_run(std::vector<Persona> personas);

  /// As async_run, on an io_context of its own.
  result<BatchResult> run(std::vector<Persona> personas);

  RunnerOptions const& options() const noexcept { return options_; }

 private:
  struct Job {
    JobContext context;
  };
  struct Shared;
  struct Gate;
  struct FinishedSession;
  boost::asio::awaitable<void> worker(Shared& shared);
  boost::asio::awaitable<JobResult> run_job(Job job, Shared& shared, std::shared_ptr<Gate> gate);
  boost::asio::awaitable<std::string> finish_session(FinishedSession& s, std::optional<detail::SessionRecord>& record,
                                                     std::optional<AnyStore>& store, Shared& shared);
  template <class S>
  static boost::asio::awaitable<std::string> call_cleanup(S& speaker);
  void progress_line(std::string const& line);

  RunnerOptions options_;
  MakePersona make_persona_;
  MakeProvider make_provider_;
};

}  // namespace leash::sim

#include <leash/sim/impl/runner.hpp>

#endif
