// leash — the command line for people operating loops: list runs, explain
// one, approve or deny a pending action, dump a run's trace.
//
//   leash runs    STORE
//   leash show    STORE RUN
//   leash approve STORE RUN TOKEN [--note TEXT]
//   leash deny    STORE RUN TOKEN [--note TEXT]
//   leash trace   STORE RUN
//   leash feedback STORE RUN SCORE [--source NAME]
//   leash review  STORE                                    edits waiting for a person
//   leash review  STORE show    SESSION EDIT
//   leash review  STORE approve SESSION EDIT --home DIR
//   leash review  STORE reject  SESSION EDIT [--note TEXT]
//
// STORE is a store spec (sqlite:PATH, file:DIR). `approve` and `deny` only
// record the decision in the store: the program that owns the tools runs (or
// drops) the action on its next resume. This tool never runs an agent's tools.
// `review approve` is different: a spec-search edit is a change to
// configuration files, so it is applied here, to the config home DIR, before
// the decision is recorded (learning sessions live in SQLite only).
#include <leash/approval.hpp>
#include <leash/explain.hpp>
#include <leash/store/open.hpp>
#ifdef LEASH_HAS_SQLITE
#include <leash/learn/spec_search/store.hpp>
#endif
#ifdef LEASH_HAS_TOMLPLUSPLUS
#include <leash/learn/spec_search/applier.hpp>
#endif

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

namespace {

/// Exit codes (also in `leash --help` and docs/cli.md).
enum Exit : int {
  ok = 0,
  usage = 2,           ///< bad command line
  store_error = 3,     ///< the store cannot be opened or read (missing, corrupt, newer)
  run_missing = 4,     ///< no run with that id
  not_approvable = 5,  ///< no pending approval, wrong token, or expired
  not_ended = 6,       ///< feedback for a run that has not ended
  apply_failed = 7,    ///< review approve: the edit could not be applied; nothing recorded
};

constexpr char const* exit_codes_help =
    "Exit codes: 0 done; 2 bad command line; 3 store cannot be opened or read "
    "(missing, corrupt, written by a newer leash); 4 no such run (review: no such session or edit); "
    "5 nothing to approve (no pending approval, wrong token, or the request expired; review: the edit "
    "is not pending review); 6 feedback refused: the run has not ended; 7 review approve could not "
    "apply the edit to the config home (nothing was recorded).";

/// Runs a store call to completion on a private io_context.
template <class T>
T wait(boost::asio::awaitable<T> a) {
  boost::asio::io_context io;
  std::optional<T> out;
  boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await std::move(a)); },
                        boost::asio::detached);
  io.run();
  return std::move(*out);
}

std::string local_time(double epoch_s) {
  std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

int fail(int code, std::string const& message) {
  std::cerr << "leash: " << message << '\n';
  return code;
}

int code_for(leash::Error const& e) {
  return e == leash::Errc::run_not_found ? run_missing : store_error;
}

std::optional<leash::AnyStore> open(std::string const& spec, int& code) {
  auto store = leash::open_store(spec);
  if (store.has_error()) {
    code = store.error() == leash::Errc::invalid_store_spec ? usage : store_error;
    std::cerr << "leash: " << store.error().what() << '\n';
    return std::nullopt;
  }
  return std::move(store).value();
}

int list_runs(std::string const& spec) {
  int code = ok;
  auto store = open(spec, code);
  if (!store) return code;
  auto runs = wait(store->list_runs());
  if (runs.has_error()) return fail(store_error, runs.error().what());
  if (runs.value().empty()) {
    std::cout << "no runs in " << spec << '\n';
    return ok;
  }
  std::printf("%-34s %-18s %6s  %-19s  %s\n", "RUN", "STATUS", "ITERS", "UPDATED", "GOAL");
  for (auto const& r : runs.value()) {
    std::string status = r.status ? std::string(leash::to_string(*r.status)) : "RUNNING/STOPPED";
    std::string goal = r.goal.substr(0, leash::utf8_prefix(r.goal, 60));
    std::printf("%-34s %-18s %6llu  %-19s  %s\n", r.run_id.c_str(), status.c_str(),
                static_cast<unsigned long long>(r.iterations), local_time(r.updated_at).c_str(), goal.c_str());
  }
  return ok;
}

int show(std::string const& spec, std::string const& run) {
  int code = ok;
  auto store = open(spec, code);
  if (!store) return code;
  auto state = wait(store->load(run));
  if (state.has_error()) return fail(code_for(state.error()), state.error().what());
  auto const& s = state.value();
  std::optional<leash::LoopResult> last;
  if (s.status)
    last = leash::LoopResult::make(*s.status, s.reason, s.iterations.size(), s.metrics, s.run_id, std::nullopt);
  auto report = leash::explain(s, last);
  if (!s.in_flight.empty())
    report.warnings.push_back(std::to_string(s.in_flight.size()) +
                              " call(s) of an unfinished iteration are journaled; the next resume records them");
  std::cout << "run " << s.run_id << "\ngoal: " << s.goal << "\n\n" << report.render();
  if (auto const& p = s.pending_approval) {
    std::cout << "\n## Pending approval\n"
              << "- action: " << p->tool << ' ' << leash::json::serialize(p->args) << '\n'
              << "- reason: " << p->reason << '\n'
              << "- requested: " << local_time(p->created_at) << ", expires "
              << local_time(p->created_at + p->ttl_s) << '\n'
              << "- token id: " << p->token_sha256.substr(0, 16) << '\n';
    if (p->decision)
      std::cout << "- decision recorded: " << (p->decision->approved ? "APPROVED" : "DENIED") << " ("
                << p->decision->note << "); the owning program applies it on its next resume\n";
    else
      std::cout << "- decide with: leash approve|deny " << spec << ' ' << s.run_id << " TOKEN\n";
  }
  return ok;
}

int decide(std::string const& spec, std::string const& run, std::string const& token, bool approve,
           std::string note) {
  int code = ok;
  auto store = open(spec, code);
  if (!store) return code;
  auto loaded = wait(store->load(run));
  if (loaded.has_error()) return fail(code_for(loaded.error()), loaded.error().what());
  leash::State s = std::move(loaded).value();
  if (!s.pending_approval) return fail(not_approvable, "run '" + run + "' has no pending approval");
  auto& p = *s.pending_approval;
  if (!leash::token_matches(token, p.token_sha256))
    return fail(not_approvable, "the token does not match the pending request of run '" + run + "'");
  if (leash::Tracer::now() - p.created_at > p.ttl_s)
    return fail(not_approvable, "the request expired at " + local_time(p.created_at + p.ttl_s) +
                                    "; the next resume ends the run PENDING_EXPIRED and plans again");
  if (note.empty()) note = approve ? "approved via leash approve" : "denied via leash deny";
  p.decision = leash::RecordedDecision{approve, note, leash::Tracer::now()};
  auto saved = wait(store->save_head(s));
  if (saved.has_error()) return fail(store_error, saved.error().what());
  std::cout << (approve ? "approved" : "denied") << ": " << p.tool << ' ' << leash::json::serialize(p.args)
            << "\nrecorded in " << spec << "; the program that owns run " << run
            << " applies it on its next resume\n";
  return ok;
}

int trace(std::string const& spec, std::string const& run) {
  int code = ok;
  auto store = open(spec, code);
  if (!store) return code;
  auto events = wait(store->load_events(run));
  if (events.has_error()) return fail(code_for(events.error()), events.error().what());
  for (auto const& e : events.value()) std::cout << leash::json::serialize(e) << '\n';
  return ok;
}

/// SCORE as a number in [0, 1], or thumbs: up/down (1/0).
std::optional<double> parse_score(std::string const& text, std::string& source) {
  if (text == "up" || text == "thumbs-up") {
    if (source.empty()) source = "thumbs";
    return 1.0;
  }
  if (text == "down" || text == "thumbs-down") {
    if (source.empty()) source = "thumbs";
    return 0.0;
  }
  double v = 0.0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !(v >= 0.0 && v <= 1.0)) return std::nullopt;
  return v;
}

int feedback(std::string const& spec, std::string const& run, std::string const& score_text, std::string source) {
  auto score = parse_score(score_text, source);
  if (!score)
    return fail(usage, "SCORE must be a number from 0 to 1, or up/down (thumbs), not '" + score_text + "'");
  if (source.empty()) source = "cli";
  int code = ok;
  auto store = open(spec, code);
  if (!store) return code;
  auto set = wait(store->set_feedback(run, *score, source));
  if (set.has_error())
    return fail(set.error() == leash::Errc::invalid_input ? not_ended : code_for(set.error()), set.error().what());
  std::cout << "run " << run << ": feedback " << *score << " (" << source << ")\n";
  return ok;
}

// ---- leash review: spec-search edits waiting for a person ------------------------

/// The SQLite file of a `sqlite:PATH` spec (options after '?' do not concern
/// the session tables); empty, with `code` set, for any other spec.
std::string sessions_file(std::string const& spec, int& code) {
  constexpr std::string_view scheme = "sqlite:";
  if (spec.rfind(scheme, 0) != 0) {
    code = usage;
    std::cerr << "leash: review: learning sessions live in SQLite; STORE must be sqlite:PATH, not '" << spec << "'\n";
    return {};
  }
  std::string path = spec.substr(scheme.size());
  path = path.substr(0, path.find('?'));
  if (path.empty()) {
    code = usage;
    std::cerr << "leash: review: '" << spec << "' names no file after 'sqlite:'\n";
    return {};
  }
  return path;
}

#ifdef LEASH_HAS_SQLITE
namespace ss = leash::learn::spec_search;

/// Opens the session tables of an existing file; reviewing never creates a database.
std::optional<ss::SessionStore> open_sessions(std::string const& spec, int& code) {
  auto path = sessions_file(spec, code);
  if (path.empty()) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    code = store_error;
    std::cerr << "leash: review: no database file '" << path << "'\n";
    return std::nullopt;
  }
  auto store = ss::SessionStore::open(path);
  if (store.has_error()) {
    code = store_error;
    std::cerr << "leash: " << store.error().what() << '\n';
    return std::nullopt;
  }
  return std::move(store).value();
}

int review_list(std::string const& spec) {
  int code = ok;
  auto store = open_sessions(spec, code);
  if (!store) return code;
  auto pending = store->pending_reviews();
  if (pending.has_error()) return fail(store_error, pending.error().what());
  if (pending.value().empty()) {
    std::cout << "no edits waiting for review in " << spec << '\n';
    return ok;
  }
  std::printf("%-34s %-10s %-26s %-30s %-6s  %s\n", "SESSION", "EDIT", "OP", "TARGET", "TIER", "RATIONALE");
  for (auto const& p : pending.value()) {
    auto const& e = p.outcome.edit;
    std::string rationale = e.rationale.substr(0, leash::utf8_prefix(e.rationale, 60));
    for (char& c : rationale)
      if (c == '\n' || c == '\t') c = ' ';  // one line per edit
    std::printf("%-34s %-10s %-26s %-30s %-6s  %s\n", p.session_id.c_str(), e.id.c_str(),
                std::string(ss::to_string(e.op)).c_str(), e.target.c_str(),
                std::string(ss::to_string(e.risk_tier)).c_str(), rationale.c_str());
  }
  return ok;
}

/// The stored outcome of `edit` in `session`; nullopt (with `code` set) when
/// either is missing or unreadable.
std::optional<ss::EditOutcome> find_outcome(ss::SessionStore& store, std::string const& spec,
                                            std::string const& session, std::string const& edit, int& code) {
  auto got = store.get_session(session);
  if (got.has_error()) {
    code = fail(code_for(got.error()), got.error().what());
    return std::nullopt;
  }
  if (!got.value()) {
    code = fail(run_missing, "no learning session '" + session + "' in " + spec);
    return std::nullopt;
  }
  for (auto& o : got.value()->edit_outcomes)
    if (o.edit.id == edit) return std::move(o);
  code = fail(run_missing, "learning session '" + session + "' has no edit '" + edit + "'");
  return std::nullopt;
}

int review_show(std::string const& spec, std::string const& session, std::string const& edit) {
  int code = ok;
  auto store = open_sessions(spec, code);
  if (!store) return code;
  auto outcome = find_outcome(*store, spec, session, edit, code);
  if (!outcome) return code;
  std::cout << leash::json::serialize(ss::to_json(outcome->edit)) << '\n';
  return ok;
}

int review_decide(std::string const& spec, std::string const& session, std::string const& edit, bool approve,
                  std::string const& note, std::string const& home) {
  int code = ok;
  auto store = open_sessions(spec, code);
  if (!store) return code;
  auto outcome = find_outcome(*store, spec, session, edit, code);
  if (!outcome) return code;
  if (outcome->status != ss::OutcomeStatus::pending_review)
    return fail(not_approvable, "edit '" + edit + "' of session '" + session + "' is not pending review (it is " +
                                    std::string(ss::to_string(outcome->status)) + ")");
  std::string applied_to;
#ifdef LEASH_HAS_TOMLPLUSPLUS
  std::optional<ss::AppliedEdit> applied;
  if (approve) {
    // Applied first: an approval on record must mean the files have the edit.
    auto done = ss::apply_edit(ss::ConfigHome(home), outcome->edit);
    if (done.has_error())
      return fail(apply_failed, "cannot apply edit '" + edit + "' to " + home + ": " + done.error().what() +
                                    "; nothing was recorded");
    applied = std::move(done).value();
    applied_to = applied->before.file.string();
  }
#else
  (void)home;
  if (approve)
    return fail(apply_failed, "this build of leash has no toml++, so it cannot apply edits; nothing was recorded");
#endif
  auto resolved = store->resolve_review(session, edit, approve, note);
  if (resolved.has_error()) {
    std::string undo;
#ifdef LEASH_HAS_TOMLPLUSPLUS
    // The decision is not on record, so the files must not keep the edit either.
    if (applied) {
      auto back = ss::rollback(*applied);
      undo = back ? "; the edit was undone in " + applied_to
                  : "; undoing the edit in " + applied_to + " failed too: " + back.error().what();
    }
#endif
    int const why = resolved.error() == leash::Errc::run_not_found   ? run_missing
                    : resolved.error() == leash::Errc::invalid_input ? not_approvable
                                                                     : store_error;
    return fail(why, resolved.error().what() + undo);
  }
  auto const& e = outcome->edit;
  std::cout << (approve ? "approved" : "rejected") << ": edit " << e.id << " (" << ss::to_string(e.op) << ' '
            << e.target << ") of session " << session << '\n';
  if (approve) std::cout << "applied to " << applied_to << '\n';
  std::cout << "recorded in " << spec << '\n';
  return ok;
}
#else
int no_sqlite(std::string const& spec) {
  int code = ok;
  if (sessions_file(spec, code).empty()) return code;
  return fail(usage, "this build has no SQLite, where learning sessions live (install libsqlite3-dev and rebuild)");
}
#endif

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"leash: look at and steer stored agent runs", "leash"};
  app.footer(std::string("STORE is a store spec: sqlite:PATH or file:DIR (review: sqlite:PATH only).\n") +
             exit_codes_help);
  app.require_subcommand(1);

  std::string spec, run, token, note;
  auto* runs = app.add_subcommand("runs", "List the runs of a store, newest first");
  runs->add_option("STORE", spec, "Store spec")->required();
  auto* show_cmd = app.add_subcommand("show", "Explain a run: status, reason, decision chain, pending approval");
  show_cmd->add_option("STORE", spec, "Store spec")->required();
  show_cmd->add_option("RUN", run, "Run id")->required();
  auto* approve = app.add_subcommand("approve", "Record approval of a run's pending action (it runs on resume)");
  auto* deny = app.add_subcommand("deny", "Record denial of a run's pending action (the run ends on resume)");
  for (auto* cmd : {approve, deny}) {
    cmd->add_option("STORE", spec, "Store spec")->required();
    cmd->add_option("RUN", run, "Run id")->required();
    cmd->add_option("TOKEN", token, "The approval token the run returned")->required();
    cmd->add_option("--note", note, "Why (kept with the decision and in the trace)");
  }
  auto* trace_cmd = app.add_subcommand("trace", "Print a run's trace events as JSON lines");
  trace_cmd->add_option("STORE", spec, "Store spec")->required();
  trace_cmd->add_option("RUN", run, "Run id")->required();
  std::string score, source;
  auto* feedback_cmd =
      app.add_subcommand("feedback", "Attach a score to an ended run, for learning (leash::learn reads it)");
  feedback_cmd->add_option("STORE", spec, "Store spec")->required();
  feedback_cmd->add_option("RUN", run, "Run id")->required();
  feedback_cmd->add_option("SCORE", score, "0 to 1, or up/down for thumbs (1/0)")->required();
  feedback_cmd->add_option("--source", source, "Who scored it (default: cli, or thumbs for up/down)");
  std::string session, edit, home;
  auto* review = app.add_subcommand(
      "review", "Spec-search edits waiting for a person: list them, or show, approve or reject one");
  review->add_option("STORE", spec, "sqlite:PATH (learning sessions live in SQLite)")->required();
  review->require_subcommand(0, 1);
  auto* review_show_cmd = review->add_subcommand("show", "Print one edit as JSON");
  auto* review_approve = review->add_subcommand(
      "approve", "Apply a pending edit to the config home DIR, then record it as applied (nothing is recorded "
                 "if it cannot be applied)");
  auto* review_reject = review->add_subcommand("reject", "Record a pending edit as rejected; no file changes");
  for (auto* cmd : {review_show_cmd, review_approve, review_reject}) {
    cmd->add_option("SESSION", session, "Learning session id")->required();
    cmd->add_option("EDIT", edit, "Edit id")->required();
  }
  review_approve->add_option("--home", home, "The config home the edit applies to (the agents' TOML files)")
      ->required();
  review_reject->add_option("--note", note, "Why (kept as the outcome's error; default: rejected by reviewer)");

  try {
    app.parse(argc, argv);
  } catch (CLI::Success const& e) {
    return app.exit(e);
  } catch (CLI::ParseError const& e) {
    app.exit(e);
    return usage;
  }
  if (*runs) return list_runs(spec);
  if (*show_cmd) return show(spec, run);
  if (*approve) return decide(spec, run, token, true, note);
  if (*deny) return decide(spec, run, token, false, note);
  if (*trace_cmd) return trace(spec, run);
  if (*feedback_cmd) return feedback(spec, run, score, source);
#ifdef LEASH_HAS_SQLITE
  if (*review_show_cmd) return review_show(spec, session, edit);
  if (*review_approve) return review_decide(spec, session, edit, true, note, home);
  if (*review_reject) return review_decide(spec, session, edit, false, note, home);
  if (*review) return review_list(spec);
#else
  if (*review) return no_sqlite(spec);
#endif
  return usage;
}
