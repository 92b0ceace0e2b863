// leash/sim/impl/runner.hpp — definitions for sim/runner.hpp.
#ifndef LEASH_SIM_IMPL_RUNNER_HPP
#define LEASH_SIM_IMPL_RUNNER_HPP

#include <leash/detail/workers.hpp>
#include <leash/state.hpp>
#include <leash/store/detail/file_io.hpp>
#include <leash/sync_wait.hpp>
#include <leash/sim/detail/file_writer.hpp>
#include <leash/sim/detail/time_text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <utility>

namespace leash::sim {

// ---- results as JSON ----------------------------------------------------------

inline json::object SessionResult::to_json() const {
  json::object o;
  o["index"] = index;
  o["session_type"] = session_type;
  o["turns"] = turns;
  json::array conv;
  conv.reserve(conversation.size());
  for (auto const& t : conversation) conv.push_back(t.to_json());
  o["conversation"] = std::move(conv);
  if (transcript.empty())
    o["filename"] = nullptr;
  else
    o["filename"] = transcript.string();
  if (log_file.empty())
    o["log_file"] = nullptr;
  else
    o["log_file"] = log_file.string();
  o["duration"] = duration_s;
  o["early_termination"] = early_termination;
  o["skipped"] = skipped;
  if (!skip_reason.empty()) o["skip_reason"] = skip_reason;
  if (!error.empty()) o["error"] = error;
  if (!run_id.empty()) o["run_id"] = run_id;
  if (!store_error.empty()) o["store_error"] = store_error;
  return o;
}

inline json::object JobResult::to_json() const {
  json::object o;
  o["index"] = index;
  o["llm1_model"] = persona_model;
  o["llm1_prompt"] = persona_name;
  o["run_number"] = run_number;
  json::array s;
  for (auto const& x : sessions) s.push_back(x.to_json());
  o["sessions"] = std::move(s);
  o["duration"] = duration_s;
  o["skipped"] = skipped;
  if (!skip_reason.empty()) o["skip_reason"] = skip_reason;
  if (!error.empty()) o["error"] = error;
  return o;
}

inline json::object RunManifest::to_json() const {
  json::object o;
  o["persona_model"] = persona_model;
  o["provider_model"] = provider_model;
  o["max_turns"] = max_turns;
  o["runs_per_persona"] = runs_per_persona;
  json::array s;
  for (auto const& x : session_types) s.push_back(json::string(x));
  o["session_types"] = std::move(s);
  o["workflow"] = workflow;
  o["created_at"] = created_at;
  return o;
}

inline result<RunManifest> RunManifest::from_json(json::value const& v) {
  auto const* o = v.if_object();
  if (!o) return Error{Errc::invalid_input, "not a JSON object"};
  RunManifest m;
  auto str = [&](char const* key, std::string& out) -> bool {
    auto const* x = o->if_contains(key);
    if (!x || !x->is_string()) return false;
    out = std::string(x->get_string());
    return true;
  };
  auto num = [&](char const* key, int& out) -> bool {
    auto const* x = o->if_contains(key);
    if (!x || !x->is_int64()) return false;
    out = static_cast<int>(x->get_int64());
    return true;
  };
  if (!str("persona_model", m.persona_model) || !str("provider_model", m.provider_model) ||
      !num("max_turns", m.max_turns) || !num("runs_per_persona", m.runs_per_persona))
    return Error{Errc::invalid_input, "persona_model, provider_model, max_turns and runs_per_persona are required"};
  str("workflow", m.workflow);
  if (auto const* s = o->if_contains("session_types"); s && s->is_array())
    for (auto const& x : s->get_array())
      if (x.is_string()) m.session_types.emplace_back(x.get_string());
  if (auto const* c = o->if_contains("created_at"); c && c->is_number()) m.created_at = c->to_number<double>();
  return m;
}

namespace detail {

inline std::filesystem::path manifest_path(std::filesystem::path const& folder) {
  return folder / "simulation.json";
}

inline std::string mismatch(std::string_view what, std::string_view folder_has, std::string_view asked) {
  return std::string("resume: ") + std::string(what) + " does not match: the folder was run with '" +
         std::string(folder_has) + "', this run asks for '" + std::string(asked) + "'";
}

}  // namespace detail

inline result<void> check_resume(std::filesystem::path const& given, RunnerOptions const& options) {
  // "out/p_…/" (as a shell completes it) names the same folder as "out/p_…".
  auto folder = given.lexically_normal();
  if (folder.has_parent_path() && folder.filename().empty()) folder = folder.parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    return Error{Errc::invalid_config, "resume: " + folder.string() + " is not an existing run folder"};
  auto path = detail::manifest_path(folder);
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code pe;
    auto v = json::parse(text.str(), pe);
    if (pe) return Error{Errc::state_corrupt, path.string() + ": not JSON (" + pe.message() + ")"};
    auto m = RunManifest::from_json(v);
    if (!m) return Error{Errc::state_corrupt, path.string() + ": " + m.error().what()};
    auto const& mf = m.value();
    if (mf.persona_model != options.persona_model)
      return Error{Errc::invalid_config, detail::mismatch("persona model", mf.persona_model, options.persona_model)};
    if (mf.provider_model != options.provider_model)
      return Error{Errc::invalid_config, detail::mismatch("provider model", mf.provider_model, options.provider_model)};
    if (mf.max_turns != options.max_turns)
      return Error{Errc::invalid_config, detail::mismatch("turns", std::to_string(mf.max_turns),
                                                          std::to_string(options.max_turns))};
    if (mf.runs_per_persona != options.runs_per_persona)
      return Error{Errc::invalid_config, detail::mismatch("runs", std::to_string(mf.runs_per_persona),
                                                          std::to_string(options.runs_per_persona))};
    // Sessions and workflow are part of every file name: with others, resume
    // would look for files that were never written (or take others for done).
    auto joined = [](std::vector<std::string> const& v) {
      std::string out;
      for (auto const& x : v) out += (out.empty() ? "" : ",") + x;
      return out.empty() ? std::string("(none)") : out;
    };
    if (mf.session_types != options.session_types)
      return Error{Errc::invalid_config,
                   detail::mismatch("sessions", joined(mf.session_types), joined(options.session_types))};
    if (mf.workflow != options.workflow)
      return Error{Errc::invalid_config, detail::mismatch("workflow", mf.workflow, options.workflow)};
    return success();
  }
  // No manifest (a folder from elsewhere): its name is all there is. Compare
  // in the name's own lossy form.
  auto has = parse_run_folder_name(folder.filename().string());
  if (!has)
    return Error{Errc::invalid_config, "resume: " + folder.string() +
                                           " has no simulation.json and its name is not a run folder's "
                                           "(p_<persona>__a_<provider>__t<turns>__r<runs>__<time>)"};
  auto asked = parse_run_folder_name(run_folder_name(options.persona_model, options.provider_model,
                                                     options.max_turns, options.runs_per_persona, 0.0));
  if (!asked) return Error{Errc::invalid_config, "resume: the models cannot be written as a run folder name"};
  if (has->persona_model != asked->persona_model)
    return Error{Errc::invalid_config, detail::mismatch("persona model", has->persona_model, asked->persona_model)};
  if (has->provider_model != asked->provider_model)
    return Error{Errc::invalid_config, detail::mismatch("provider model", has->provider_model, asked->provider_model)};
  if (has->turns != asked->turns)
    return Error{Errc::invalid_config, detail::mismatch("turns", std::to_string(has->turns), std::to_string(asked->turns))};
  if (has->runs != asked->runs)
    return Error{Errc::invalid_config, detail::mismatch("runs", std::to_string(has->runs), std::to_string(asked->runs))};
  return success();
}

namespace detail {

inline double steady_seconds() noexcept {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline std::string what_of(std::exception_ptr p) {
  try {
    std::rethrow_exception(p);
  } catch (std::exception const& e) {
    return e.what();
  } catch (...) {
    return "an unknown exception";
  }
}

/// Transcripts already on disk, by name without their tag ("<stem>.txt").
inline std::map<std::string, std::filesystem::path> existing_transcripts(std::filesystem::path const& dir) {
  std::map<std::string, std::filesystem::path> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    // An empty file is not a finished transcript (the shortest says "No
    // conversation recorded."): an unsynced write a power loss cut short.
    if (!it->is_regular_file(ec) || it->file_size(ec) == 0) continue;
    auto name = it->path().filename().string();
    if (name.size() < 12 || name.compare(name.size() - 4, 4, ".txt") != 0 || name[6] != '_') continue;
    if (name.find_first_not_of("0123456789abcdef") < 6) continue;
    out.emplace(name.substr(7), it->path());
  }
  return out;
}

/// A session as the run store keeps it: a run of agent "leash.sim" whose
/// head says who talked and how it ended, and whose events are the turns.
struct SessionRecord {
  State state;
  std::vector<Event> events;
};

inline SessionRecord begin_record(RunnerOptions const& o, JobContext const& job, int index, int count,
                                  std::string const& type, std::string const& provider_model,
                                  std::string const& provider_engine, std::filesystem::path const& transcript,
                                  bool persona_first) {
  SessionRecord r;
  auto& s = r.state;
  s.run_id = new_run_id();
  s.goal = "simulated conversation: persona " + job.persona->name + ", run " + std::to_string(job.run_number) +
           ", session " + std::to_string(index) + "/" + std::to_string(count) + " " + type;
  s.info.agent = std::string(simulation_agent);
  s.info.model = provider_model;
  s.info.engine = provider_engine;
  s.info.started_at = now_seconds();
  json::object meta;
  meta["persona"] = job.persona->name;
  meta["persona_model"] = o.persona_model;
  meta["provider_model"] = o.provider_model;
  meta["run_number"] = job.run_number;
  meta["session_index"] = index;
  meta["session_count"] = count;
  meta["session_type"] = type;
  meta["tag"] = job.tag;
  meta["transcript"] = transcript.string();
  meta["persona_first"] = persona_first;
  if (!o.workflow.empty()) meta["workflow"] = o.workflow;
  s.info.metadata = meta;
  r.events.push_back(Event{s.info.started_at, event::session_start, std::move(meta)});
  return r;
}

inline void finish_record(SessionRecord& r, std::vector<Turn> const& turns, double duration_s,
                          std::string const& error) {
  auto& s = r.state;
  double now = now_seconds();
  for (auto const& t : turns) {
    r.events.push_back(Event{now, event::turn, t.to_json()});
    if (auto const* u = t.logging.if_contains("usage"); u && u->is_object()) {
      auto tokens = [&](char const* k) -> std::uint64_t {
        auto const* v = u->get_object().if_contains(k);
        return v && v->is_uint64() ? v->get_uint64() : v && v->is_int64() ? static_cast<std::uint64_t>(v->get_int64()) : 0;
      };
      s.metrics.input_tokens += tokens("prompt_tokens");
      s.metrics.output_tokens += tokens("completion_tokens");
    }
    if (t.speaker == Role::provider) s.info.result = t.response;
    ++s.metrics.llm_calls;
  }
  s.metrics.elapsed_s = duration_s;
  json::object end;
  end["turns"] = turns.size();
  bool early = false;
  for (auto const& t : turns) early = early || t.early_termination;
  end["early_termination"] = early;
  end["duration_s"] = duration_s;
  end["status"] = error.empty() ? "completed" : "failed";
  if (!error.empty()) end["error"] = error;
  r.events.push_back(Event{now, event::session_end, std::move(end)});
  s.status = error.empty() ? Status::success : Status::error;
  s.reason = error.empty() ? "the conversation ended" : error;
  s.info.ended_at = now;
}

}  // namespace detail

template <class MakePersona, class MakeProvider>
struct Runner<MakePersona, MakeProvider>::Shared {
  std::vector<Job> jobs;
  std::size_t next = 0;
  std::vector<JobResult> done;
  std::map<std::string, std::filesystem::path> existing;
  std::filesystem::path transcripts_dir;
  std::filesystem::path logs_dir;
  std::vector<std::string> raw_sessions;
  std::size_t total_jobs = 0;
  std::size_t finished_jobs = 0;
  std::mutex mutex;  // results and progress, should the io_context run on several threads
  /// Transcripts and logs are written here, off the io_context's thread.
  detail::FileWriter writer;
  /// Jobs started, and one message per job finished (a job may finish
  /// after its worker has gone on: its files are written meanwhile).
  std::size_t started_jobs = 0;
  using Signal = boost::asio::experimental::concurrent_channel<void(boost::system::error_code)>;
  std::optional<Signal> finished;

  /// The transcript of (persona, run, session) if it is on disk.
  std::filesystem::path find(RunnerOptions const& o, Persona const& p, int run, int index, std::string_view type) const {
    auto it = existing.find(transcript_stem(p.name, o.persona_model, o.workflow, run, index, type) + ".txt");
    return it == existing.end() ? std::filesystem::path{} : it->second;
  }
};

/// What lets a job's worker go on to the next job: the job's last
/// conversation has ended and its speakers are cleaned up (its files may
/// still be being written).
template <class MakePersona, class MakeProvider>
struct Runner<MakePersona, MakeProvider>::Gate {
  explicit Gate(boost::asio::any_io_executor ex) : opened(std::move(ex), 1) {}
  typename Shared::Signal opened;
  std::atomic<bool> released{false};
  void release() {
    if (!released.exchange(true)) opened.try_send(boost::system::error_code{});
  }
};

/// A session whose conversation is over, waiting for its files.
template <class MakePersona, class MakeProvider>
struct Runner<MakePersona, MakeProvider>::FinishedSession {
  SessionResult sr;
  std::string error;  ///< the conversation's failure, if it failed
  bool talked = false;  ///< it ended well: its transcript is being written
  detail::FileWriter::Session files;
  std::filesystem::path transcript;
  std::filesystem::path log_file;
  std::string label;
};

template <class MakePersona, class MakeProvider>
void Runner<MakePersona, MakeProvider>::progress_line(std::string const& line) {
  if (options_.quiet) return;
  std::ostream& out = options_.progress ? *options_.progress : std::cout;
  // One write of a whole line, under a lock: concurrent jobs never split each
  // other's lines, even on an io_context run by several threads.
  static std::mutex writing;
  std::lock_guard lock(writing);
  out << (line + '\n') << std::flush;
}

template <class MakePersona, class MakeProvider>
template <class S>
boost::asio::awaitable<std::string> Runner<MakePersona, MakeProvider>::call_cleanup(S& speaker) {
  std::string failure;
  try {
    auto r = co_await speaker_traits<S>::cleanup(speaker);
    if (!r) failure = r.error().what();
  } catch (...) {
    failure = "threw " + detail::what_of(std::current_exception());
  }
  co_return failure;
}

template <class MakePersona, class MakeProvider>
boost::asio::awaitable<result<BatchResult>> Runner<MakePersona, MakeProvider>::async_run(
    std::vector<Persona> personas) {
  auto const& o = options_;
  if (o.max_concurrent < 0)
    co_return Error{Errc::invalid_config, "max_concurrent must be 0 (all jobs at once) or more, got " +
                                              std::to_string(o.max_concurrent)};
  if (o.max_turns < 1)
    co_return Error{Errc::invalid_config, "max_turns must be at least 1, got " + std::to_string(o.max_turns)};
  if (o.runs_per_persona < 1)
    co_return Error{Errc::invalid_config,
                    "runs_per_persona must be at least 1, got " + std::to_string(o.runs_per_persona)};
  if (o.folder.empty()) co_return Error{Errc::invalid_config, "the run folder is not set"};
  for (auto const& t : o.session_types)
    if (t.empty()) co_return Error{Errc::invalid_config, "a session type is empty (session types name files)"};
  {
    // Two personas whose names clean up to the same file-name part would
    // share transcript names: resume would take one's files for the other's.
    std::map<std::string, std::string> seen;
    for (auto const& p : personas) {
      auto [it, fresh] = seen.emplace(sanitize_name_part(p.name), p.name);
      if (!fresh)
        co_return Error{Errc::invalid_config, "personas \"" + it->second + "\" and \"" + p.name +
                                                  "\" have the same file name part \"" + it->first +
                                                  "\": give them distinct names"};
    }
  }

  double const started = detail::steady_seconds();
  Shared shared;
  shared.raw_sessions = o.session_types;
  if (shared.raw_sessions.empty()) shared.raw_sessions.push_back("default");
  shared.transcripts_dir = o.folder / "conversations";
  shared.logs_dir = shared.transcripts_dir / "logs";

  std::error_code ec;
  if (o.resume) {
    auto checked = check_resume(o.folder, o);
    if (!checked) co_return checked.error();
  } else if (std::filesystem::exists(detail::manifest_path(o.folder), ec)) {
    co_return Error{Errc::invalid_config, o.folder.string() +
                                              " already holds a simulation (simulation.json): resume it, or "
                                              "choose another folder"};
  }
  std::filesystem::create_directories(shared.logs_dir, ec);
  if (ec) co_return Error{Errc::store_failed, "cannot create " + shared.logs_dir.string() + ": " + ec.message()};
  if (!std::filesystem::exists(detail::manifest_path(o.folder), ec)) {
    RunManifest m;
    m.persona_model = o.persona_model;
    m.provider_model = o.provider_model;
    m.max_turns = o.max_turns;
    m.runs_per_persona = o.runs_per_persona;
    m.session_types = o.session_types;
    m.workflow = o.workflow;
    m.created_at = detail::now_seconds();
    if (auto w = leash::detail::file_io::replace_atomically(detail::manifest_path(o.folder), json::serialize(m.to_json()), 0644))
      co_return Error{Errc::store_failed, "cannot write " + detail::manifest_path(o.folder).string() + ": " + w.message()};
  }
  if (o.resume) {
    // A process killed while writing a transcript leaves its temporary file:
    // not a transcript, and of no use now.
    for (auto it = std::filesystem::directory_iterator(shared.transcripts_dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      if (auto name = it->path().filename().string(); name.find(".txt.tmp.") != std::string::npos) {
        // Only a dead writer's: a live one (the run being resumed, still
        // going) renames its file into place in a moment.
        long pid = std::strtol(name.c_str() + name.rfind('.') + 1, nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
          std::error_code ignored;
          std::filesystem::remove(it->path(), ignored);
        }
      }
    shared.existing = detail::existing_transcripts(shared.transcripts_dir);
  }

  std::mt19937_64 rng(o.seed ? *o.seed : std::random_device{}());
  BatchResult batch;
  std::size_t index = 0;
  for (auto const& p : personas) {
    for (int run = 1; run <= o.runs_per_persona; ++run) {
      Job job;
      job.context.index = ++index;
      job.context.persona = &p;
      job.context.run_number = run;
      job.context.tag = new_tag(rng);
      // Without a prepare_sessions hook the prepared list is the raw one, so a
      // finished job is known before its speakers are built.
      if (o.resume && !speaker_traits<provider_type>::has_prepare_sessions) {
        auto const& sessions = shared.raw_sessions;
        bool finished = true;
        if (sessions.size() == 1) {
          finished = !shared.find(o, p, run, 0, {}).empty();
        } else {
          for (std::size_t i = 0; i < sessions.size() && finished; ++i)
            finished = !shared.find(o, p, run, static_cast<int>(i + 1), sessions[i]).empty();
        }
        if (finished) {
          JobResult skipped;
          skipped.index = job.context.index;
          skipped.persona_model = o.persona_model;
          skipped.persona_name = p.name;
          skipped.run_number = run;
          skipped.skipped = true;
          skipped.skip_reason = "existing";
          skipped.error = "Transcript already exists in output folder";
          batch.jobs.push_back(std::move(skipped));
          continue;
        }
      }
      shared.jobs.push_back(std::move(job));
    }
  }
  shared.total_jobs = index;
  shared.finished_jobs = batch.jobs.size();

  std::size_t n = shared.jobs.size();
  std::size_t workers = o.max_concurrent == 0 ? n : std::min(n, static_cast<std::size_t>(o.max_concurrent));
  auto ex = co_await boost::asio::this_coro::executor;
  shared.finished.emplace(ex, std::max<std::size_t>(n, 1));
  auto make_worker = [&] { return worker(shared); };
  std::exception_ptr failure;
  try {
    co_await leash::detail::run_workers(workers, std::move(make_worker));
  } catch (...) {
    failure = std::current_exception();
  }
  // Jobs finish after their workers have gone on, once their files are
  // written; every one, and every file, before the results are given.
  for (std::size_t k = 0; k < shared.started_jobs; ++k)
    (void)co_await shared.finished->async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
  co_await shared.writer.async_drain();
  if (failure) std::rethrow_exception(failure);
  for (auto& j : shared.done) batch.jobs.push_back(std::move(j));
  for (auto const& j : batch.jobs) {
    if (!j.skipped)
      ++batch.completed;
    else if (j.skip_reason == "existing")
      ++batch.skipped_existing;
    else
      ++batch.skipped_error;
  }
  batch.duration_s = detail::steady_seconds() - started;
  if (n == 0 && batch.jobs.empty()) {
    progress_line("No conversations to run: the persona list is empty");
  } else {
    std::ostringstream s;
    s.precision(2);
    s << std::fixed << "Completed " << batch.completed << " / " << batch.jobs.size() << " conversations in "
      << batch.duration_s << " s (" << batch.skipped_existing << " already done, " << batch.skipped_error
      << " failed)";
    progress_line(s.str());
  }
  co_return batch;
}

template <class MakePersona, class MakeProvider>
result<BatchResult> Runner<MakePersona, MakeProvider>::run(std::vector<Persona> personas) {
  return leash::sync_wait(async_run(std::move(personas)));
}

template <class MakePersona, class MakeProvider>
boost::asio::awaitable<void> Runner<MakePersona, MakeProvider>::worker(Shared& shared) {
  auto ex = co_await boost::asio::this_coro::executor;
  for (;;) {
    Job job;
    {
      std::lock_guard lock(shared.mutex);
      if (shared.next >= shared.jobs.size()) co_return;
      job = shared.jobs[shared.next++];
      ++shared.started_jobs;
    }
    // The job runs on its own; this worker waits only until it lets go (its
    // conversations over), and goes on while the job's files are written.
    auto gate = std::make_shared<Gate>(ex);
    auto finished = [this, &shared, gate, context = job.context](std::exception_ptr failure, JobResult r) {
      if (failure) {
        // run_job catches what speakers and hooks throw; this is what is
        // left (a progress stream that throws, bad_alloc): this job fails,
        // the others go on.
        r = JobResult{};
        r.index = context.index;
        r.persona_model = options_.persona_model;
        r.persona_name = context.persona->name;
        r.run_number = context.run_number;
        r.skipped = true;
        r.skip_reason = "error";
        r.error = detail::what_of(failure);
      }
      {
        std::lock_guard lock(shared.mutex);
        ++shared.finished_jobs;
        shared.done.push_back(std::move(r));
      }
      gate->release();
      shared.finished->try_send(boost::system::error_code{});
    };
    boost::asio::co_spawn(ex, run_job(job, shared, gate), std::move(finished));
    (void)co_await gate->opened.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
}

template <class MakePersona, class MakeProvider>
boost::asio::awaitable<std::string> Runner<MakePersona, MakeProvider>::finish_session(
    FinishedSession& s, std::optional<detail::SessionRecord>& record, std::optional<AnyStore>& store,
    Shared& shared) {
  auto const& o = options_;
  auto files = co_await shared.writer.async_report(s.files);
  SessionResult& sr = s.sr;
  std::string error = s.error;
  if (files.log_opened) sr.log_file = s.log_file;
  if (s.talked) {
    if (!files.transcript_error.empty()) {
      error = files.transcript_error;
      sr.skipped = true;
      sr.skip_reason = "error";
      sr.error = error;
    } else {
      sr.transcript = s.transcript;
    }
  }

  if (record) {
    detail::finish_record(*record, sr.conversation, sr.duration_s, error);

    auto appended = co_await store->append_events(record->state.run_id, std::move(record->events));
    if (!appended) sr.store_error = appended.error().what();
    auto saved = co_await store->save_head(record->state);
    if (!saved && sr.store_error.empty()) sr.store_error = saved.error().what();
    record.reset();
  }

  std::ostringstream line;
  line.precision(2);
  line << std::fixed << s.label << ": ";
  if (!error.empty())
    line << "failed after " << sr.turns << " turns: " << error;
  else
    line << sr.turns << " turns, " << sr.duration_s << " s" << (sr.early_termination ? ", ended early" : "");
  if (!sr.store_error.empty()) line << " (not recorded in the store: " << sr.store_error << ")";
  progress_line(line.str());

  if (!o.keep_conversations) {
    sr.conversation.clear();
    sr.conversation.shrink_to_fit();
  }
  co_return error;
}

template <class MakePersona, class MakeProvider>
boost::asio::awaitable<JobResult> Runner<MakePersona, MakeProvider>::run_job(Job job, Shared& shared,
                                                                             std::shared_ptr<Gate> gate) {
  auto const& o = options_;
  auto const& ctx = job.context;
  Persona const& p = *ctx.persona;
  double const started = detail::steady_seconds();
  JobResult jr;
  jr.index = ctx.index;
  jr.persona_model = o.persona_model;
  jr.persona_name = p.name;
  jr.run_number = ctx.run_number;

  std::optional<AnyStore> store = o.store;  // a shared handle; its calls are not const
  std::optional<persona_type> persona;
  std::optional<provider_type> provider;
  std::optional<SessionLog> log;  // the current session's; cleanup failures go to the last one
  // The current session's run in the store, until it is finished: a session
  // cut short by an exception is finished below as failed, never left running.
  std::optional<detail::SessionRecord> record;
  // The last session, finished once the worker has been let go.
  std::optional<FinishedSession> last;
  auto fail = [&](std::string message) {
    jr.skipped = true;
    jr.skip_reason = "error";
    jr.error = std::move(message);
  };
  auto failed = [&](std::exception_ptr e) {
    std::string what = detail::what_of(e);
    if (log) log->error(what, {});
    fail(what);
    progress_line("conversation " + std::to_string(ctx.index) + "/" + std::to_string(shared.total_jobs) + " \"" +
                  p.name + "\" run " + std::to_string(ctx.run_number) + ": failed: " + what);
  };
  auto label = [&](int i, int count, std::string const& type) {
    std::ostringstream s;
    s << "conversation " << ctx.index << "/" << shared.total_jobs << " \"" << p.name << "\" run " << ctx.run_number
      << " session " << i << "/" << count << " " << type;
    return s.str();
  };

  try {
    auto built_persona = make_persona_(ctx);
    if constexpr (std::is_same_v<decltype(built_persona), persona_type>) {
      persona.emplace(std::move(built_persona));
    } else {
      if (!built_persona) throw std::runtime_error("building the persona failed: " + built_persona.error().what());
      persona.emplace(std::move(built_persona).value());
    }
    auto built_provider = make_provider_(ctx);
    if constexpr (std::is_same_v<decltype(built_provider), provider_type>) {
      provider.emplace(std::move(built_provider));
    } else {
      if (!built_provider) throw std::runtime_error("building the provider failed: " + built_provider.error().what());
      provider.emplace(std::move(built_provider).value());
    }
    using PT = speaker_traits<persona_type>;
    using QT = speaker_traits<provider_type>;

    auto set = co_await PT::setup(*persona);
    if (!set) throw std::runtime_error("persona setup failed: " + set.error().what());
    set = co_await QT::setup(*provider);
    if (!set) throw std::runtime_error("provider setup failed: " + set.error().what());

    auto prepared = QT::prepare_sessions(*provider, shared.raw_sessions);
    if (prepared.empty()) throw std::runtime_error("prepare_sessions returned no sessions");
    int const count = static_cast<int>(prepared.size());
    bool const multi = count > 1;

    bool all_done = o.resume;
    for (int i = 1; i <= count && all_done; ++i)
      all_done = !shared.find(o, p, ctx.run_number, multi ? i : 0, multi ? prepared[i - 1] : std::string()).empty();
    if (all_done) {
      jr.skipped = true;
      jr.skip_reason = "existing";
      jr.error = "Transcript already exists in output folder";
    }

    Conversation<persona_type, provider_type> conversation(*persona, *provider);
    SpeakerInfo persona_info = PT::describe(*persona);
    SpeakerInfo provider_info = QT::describe(*provider);
    std::string provider_model = provider_info.model.empty() ? o.provider_model : provider_info.model;

    for (int i = 1; i <= count && !all_done; ++i) {
      std::string const& type = prepared[i - 1];
      FinishedSession fs;
      SessionResult& sr = fs.sr;
      sr.index = i;
      sr.session_type = type;
      if (o.resume && multi) {
        if (auto found = shared.find(o, p, ctx.run_number, i, type); !found.empty()) {
          // Finished before: not re-entered (the reference does the same).
          sr.skipped = true;
          sr.skip_reason = "existing";
          sr.transcript = found;
          jr.sessions.push_back(std::move(sr));
          continue;
        }
      }
      auto entered = co_await QT::enter_session(*provider, type);
      if (!entered) throw std::runtime_error("enter_session(" + type + ") failed: " + entered.error().what());
      auto first = QT::first_speaker(*provider);
      bool const persona_first = first ? *first == Role::persona : o.persona_first;

      std::string stem = ctx.tag + "_" +
                         transcript_stem(p.name, o.persona_model, o.workflow, ctx.run_number, multi ? i : 0,
                                         multi ? std::string_view(type) : std::string_view());
      fs.transcript = shared.transcripts_dir / (stem + ".txt");
      fs.log_file = shared.logs_dir / (stem + ".log");
      fs.label = label(i, count, type);
      // The log is created and written on the writer's thread, in order.
      log.reset();
      fs.files = shared.writer.begin_session(fs.log_file);
      log.emplace(shared.writer.log(fs.files));
      {
        SessionLogStart start;
        start.persona = persona_info;
        start.persona_name = p.name;
        start.provider = provider_info;
        start.max_turns = o.max_turns;
        start.persona_first = persona_first;
        start.session_type = type;
        start.session_index = i;
        start.session_count = count;
        log->start(start);
      }

      record.reset();
      if (store) {
        record = detail::begin_record(o, ctx, i, count, type, provider_model, provider_info.name, fs.transcript,
                                      persona_first);
        auto created = co_await store->create_run(record->state);
        if (created)
          sr.run_id = record->state.run_id;
        else {
          sr.store_error = created.error().what();
          record.reset();
        }
      }

      double const session_started = detail::steady_seconds();
      // Handed over, not copied: only a failed session reads history().
      auto turns = co_await conversation.async_run_and_take(o.max_turns, o.max_total_words, persona_first);
      sr.duration_s = detail::steady_seconds() - session_started;
      std::vector<Turn> const& said = turns ? turns.value() : conversation.history();
      for (auto const& t : said) sr.early_termination = sr.early_termination || t.early_termination;
      for (auto const& t : said) log->turn(t);

      if (!turns) {
        fs.error = turns.error().what();
        json::object meta = PT::failure_metadata(*persona);
        if (meta.empty()) meta = QT::failure_metadata(*provider);
        log->error(fs.error, meta);
        sr.skipped = true;
        sr.skip_reason = "error";
        sr.error = fs.error;
        sr.turns = said.size();
        sr.conversation = said;
      } else {
        log->end(said.size(), sr.early_termination, sr.duration_s);
        shared.writer.save_transcript(fs.files, format_transcript(said), fs.transcript, o.sync_files);
        fs.talked = true;
        sr.turns = said.size();
        sr.conversation = std::move(turns).value();
      }

      if (i == count) {
        // The job's last session: its worker may go on while its files are
        // written (below).
        last.emplace(std::move(fs));
        break;
      }
      // Later sessions build on this one: its transcript must be there.
      std::string error = co_await finish_session(fs, record, store, shared);
      jr.sessions.push_back(std::move(sr));
      if (!error.empty()) {
        // Later sessions do not run (as the reference).
        fail(error);
        break;
      }
    }
  } catch (...) {
    failed(std::current_exception());
  }
  if (record && !last) {
    detail::finish_record(*record, {}, 0.0, jr.error.empty() ? std::string("the session was cut short") : jr.error);
    (void)co_await store->append_events(record->state.run_id, std::move(record->events));
    (void)co_await store->save_head(record->state);
    record.reset();
  }

  // Always, whatever happened above; a failing cleanup is reported, never
  // thrown. Its progress lines come after the last session's.
  std::vector<std::string> warnings;
  if (persona) {
    auto failure = co_await call_cleanup(*persona);
    if (!failure.empty()) {
      if (log) log->warning("persona cleanup failed: " + failure);
      warnings.push_back("warning: persona cleanup failed for \"" + p.name + "\" run " +
                         std::to_string(ctx.run_number) + ": " + failure);
    }
  }
  if (provider) {
    auto failure = co_await call_cleanup(*provider);
    if (!failure.empty()) {
      if (log) log->warning("provider cleanup failed: " + failure);
      warnings.push_back("warning: provider cleanup failed for \"" + p.name + "\" run " +
                         std::to_string(ctx.run_number) + ": " + failure);
    }
  }
  // Done with the speakers: the next job may talk.
  provider.reset();
  persona.reset();
  gate->release();

  if (last) {
    try {
      std::string error = co_await finish_session(*last, record, store, shared);
      jr.sessions.push_back(std::move(last->sr));
      if (!error.empty()) fail(error);
    } catch (...) {
      failed(std::current_exception());
    }
    if (record) {
      detail::finish_record(*record, {}, 0.0, jr.error.empty() ? std::string("the session was cut short") : jr.error);
      (void)co_await store->append_events(record->state.run_id, std::move(record->events));
      (void)co_await store->save_head(record->state);
      record.reset();
    }
  }
  for (auto const& w : warnings) progress_line(w);
  jr.duration_s = detail::steady_seconds() - started;
  co_return jr;
}

}  // namespace leash::sim

#endif
