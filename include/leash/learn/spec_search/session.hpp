// leash/learn/spec_search/session.hpp — one spec-search session: diagnose the
// student's failures with a teacher, plan typed edits, and keep each edit
// only when the benchmark gate says it helped. Many sessions in a row:
// SessionLoop (learn/session_loop.hpp), since a SpecSearchSession is a Session.
//
//   namespace ss = leash::learn::spec_search;
//   ss::SpecSearchOptions options;
//   options.sessions_dir = home / "learning" / "sessions";
//   ss::SpecSearchSession session(teacher_transport, leash::learn::TraceStore(store),
//                                 ss::ConfigHome(home / "agents"), student, benchmark,
//                                 ss::DatasetScorer(benchmark, student), options);
//   session.set_session_store(sessions);                 // learning_sessions, edit_outcomes, reviews
//   auto s = co_await session.run_session(ss::Trigger::on_demand());   // result<LearningSession>
//   // many: leash::learn::SessionLoop<decltype(session)> loop(std::move(session)); see docs/spec-search.md
//
// A session (reference/openjarvis-learning.md §2.14):
//  1. fewer than min_traces traces → `failed`, "Not enough traces yet: …";
//  2. the baseline snapshot, on the subsample drawn from
//     stable_seed(benchmark_version): the same tasks in every session, so
//     the scores of successive sessions compare (the reference drew a new
//     subsample per session, from a per-process hash);
//  3. `diagnosing`: the teacher (teacher.hpp) reads traces and runs the
//     student, and answers with failure clusters; none → one tool-less call
//     over its answer; still none → `failed`;
//  4. `planning`: clusters with no evidence dropped, one call for edits;
//  5. `executing`, per edit: manual autonomy or a review-tier edit under
//     `tiered` → pending_review (the queue is the SessionStore; `leash review`
//     decides); a manual-tier edit → skipped; else it is applied to the
//     config files, scored, and judged by the gate against the score after
//     the last accepted edit — accepted: applied (and the new baseline),
//     rejected: the files are restored byte for byte (rejected_by_gate);
//  6. `awaiting_review` when an edit waits for a person, else `completed`.
//
// Better than the reference: a rejected edit is really undone (§4 item 1);
// the gate's baseline moves with each accepted edit (§4 item 2); every call
// the session makes — teacher, fallback, planning, scoring, student runs — is
// charged, a failure keeps what was spent, and the teacher's student runs
// and each measurement are held to the session's ceiling (§4 item 3); the
// subsample seed is a stable hash (§4 item 4); an exception or an unreadable
// score while an edit is on disk undoes the edit; the session is saved after
// every decision; a patch that does not apply is rejected, not
// turned into a prompt made of diff text (§4 item 5); outcomes are saved.
// The git checkpoints become fingerprints of the config files (checkpoint_pre
// / checkpoint_post): the files themselves are restored from snapshots.
#ifndef LEASH_LEARN_SPEC_SEARCH_SESSION_HPP
#define LEASH_LEARN_SPEC_SEARCH_SESSION_HPP

#include <leash/error.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/session_loop.hpp>
#include <leash/learn/spec_search/applier.hpp>
#include <leash/learn/spec_search/gate.hpp>
#include <leash/learn/spec_search/plan.hpp>
#include <leash/learn/spec_search/store.hpp>
#include <leash/learn/spec_search/teacher.hpp>
#include <leash/learn/spec_search/types.hpp>
#include <leash/learn/trace_store.hpp>
#include <leash/llm/transport.hpp>
#include <leash/pricing.hpp>
#include <leash/toolset.hpp>

#include <boost/asio/awaitable.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace leash::learn::spec_search {

/// No benchmark: edits are applied without a gate (the reference without a
/// scorer). Spec search is meant to run with one.
struct NoScorer {};

namespace detail {
template <class S>
consteval bool check_scorer_or_none() {
  if constexpr (std::is_same_v<S, NoScorer>)
    return true;
  else
    return check_scorer<S>();
}
}  // namespace detail

/// How a session runs. Defaults are the reference's constructor defaults.
struct SpecSearchOptions {
  AutonomyMode autonomy_mode = AutonomyMode::tiered;
  std::uint64_t min_traces = 20;
  /// Everything one session may spend, USD: teacher, planning, scoring and
  /// the student runs the teacher asks for. (Capped further by a SessionLoop's budget.)
  double max_cost_usd = 5.0;
  std::uint64_t max_tool_calls = 30;  ///< the teacher's turns
  std::uint64_t teacher_max_tokens = 8192;
  std::uint64_t planning_max_tokens = 4096;
  std::optional<double> teacher_temperature;
  std::string benchmark_version = "personal_v1";
  std::size_t subsample_size = 50;
  BenchmarkGate gate;  ///< max_regression 0.05, min_improvement 0
  /// How edits are applied. When `available_tools` is unset it is taken from
  /// `student_tools`, so an edit cannot enable a tool the program lacks.
  ApplyOptions apply;
  /// Only these ops are applied or queued; others are `skipped`. Empty: all
  /// (the reference). Set it to the ops whose files your program reads.
  std::optional<std::vector<EditOp>> allowed_ops;
  /// Sessions' files go to <sessions_dir>/<session id>/: diagnosis.md,
  /// plan.json, session.json, teacher_traces/{diagnose,plan}.jsonl. Empty: none.
  std::filesystem::path sessions_dir;
  /// The student's tools, name → description (tool_descriptions<ToolSet>()).
  std::map<std::string, std::string> student_tools;
  /// Says in the teacher's goal which agent is being improved; empty: all.
  std::string agent;
  Pricing pricing = default_pricing();
  /// Where the teacher's runs are recorded; empty: the trace store's store
  /// (as agent `leash.learn`, which trace listings leave out).
  std::optional<AnyStore> teacher_store;
  bool quiet = true;
};

/// The descriptions of a ToolSet's tools, name → description.
template <class ToolSetT>
std::map<std::string, std::string> tool_descriptions();

/// One session of spec search over the student `Student_` (an EvalAgent: the
/// user's agent as configured by the files under the ConfigHome, read anew
/// for every task) and a Scorer (gate.hpp) or NoScorer. Models
/// learn::Session, so SessionLoop can drive many; each session after the
/// first names the one before it as its parent.
template <class Student_, class Scorer_ = NoScorer>
class SpecSearchSession {
  static_assert(check_eval_agent<Student_>());
  static_assert(detail::check_scorer_or_none<Scorer_>());

 public:
  SpecSearchSession(llm::AnyTransport teacher, TraceStore traces, ConfigHome home, Student_ student,
                    std::vector<EvalSample> benchmark, Scorer_ scorer = {}, SpecSearchOptions options = {});

  /// Keeps sessions and outcomes there (and so makes pending edits reviewable).
  void set_session_store(std::shared_ptr<SessionStore> store) { store_ = std::move(store); }

  /// Runs one session. A session that fails (too few traces, no clusters, a
  /// teacher error, an exception) is a LearningSession with status `failed`
  /// and its error, and keeps what it spent. An error result is returned
  /// for invalid options (the gate's thresholds: Errc::invalid_input;
  /// max_cost_usd: Errc::invalid_config), when a rejected edit could not be
  /// undone (the config files are then not what the store says:
  /// Errc::store_failed, naming the file), and when the session store or
  /// session.json could not be written (the session ran; its record is in
  /// sessions() and, when the store failed, in session.json).
  boost::asio::awaitable<result<LearningSession>> run_session(Trigger trigger, SessionBudget budget = {});

  /// The Session requirement: an on-demand session under `budget`.
  boost::asio::awaitable<result<SessionRecord>> run(SessionBudget budget);

  /// The sessions run so far, oldest first.
  std::vector<LearningSession> const& sessions() const noexcept { return sessions_; }
  SpecSearchOptions& options() noexcept { return options_; }
  ConfigHome const& home() const noexcept { return home_; }
  Student_& student() noexcept { return student_; }
  Scorer_& scorer() noexcept { return scorer_; }

 private:
  struct Run;  // one session's working state
  boost::asio::awaitable<result<void>> diagnose_and_plan(Run& run);
  boost::asio::awaitable<result<void>> execute(Run& run);
  boost::asio::awaitable<result<std::optional<BenchmarkSnapshot>>> measure(Run& run);
  boost::asio::awaitable<result<std::string>> call_teacher(Run& run, std::string system, std::string user,
                                                           std::uint64_t max_tokens, std::string_view log_name);
  result<void> save(Run& run, bool write_session_file);

  llm::AnyTransport teacher_;
  TraceStore traces_;
  ConfigHome home_;
  Student_ student_;
  std::vector<EvalSample> benchmark_;
  Scorer_ scorer_;
  SpecSearchOptions options_;
  std::shared_ptr<SessionStore> store_;
  std::vector<LearningSession> sessions_;
  std::optional<std::string> last_recorded_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/session.hpp>

#endif
