// leash/store/store.hpp — where runs live: the Store requirement and AnyStore,
// the runtime-chosen store.
//
// Stores are append-only where it matters: the loop hands over the whole
// State, and the store writes only what is new since it last saw the run (the
// last iteration, new summaries, new failed approaches) plus the small head
// (config, metrics, streaks, status, pending approval). Per-iteration cost
// stays flat.
//
// A model of Store has these members, each returning asio::awaitable<result<…>>:
//   create_run(State const&)                 a new run; its id is State::run_id
//   append_iteration(State const&)           iterations, summaries and failed
//                                            approaches past the stored counts are
//                                            appended, the head replaced, and journal
//                                            entries of recorded iterations dropped,
//                                            all at once (a crash leaves all or none)
//   save_head(State const&)                  the same contract; called when mostly
//                                            the head changed (status, approval)
//   journal(std::string run_id, std::vector<JournaledAction>)
//                                            upserts entries keyed by (iteration,
//                                            position), durably, before the loop goes on
//   load(std::string run_id) -> State        with in_flight = journal entries of
//                                            iterations not yet recorded, in order
//   append_events(std::string run_id, std::vector<Event>)  (the batch is moved in)
//   load_events(std::string run_id) -> json::array          each Event::to_json()
//   list_runs() -> std::vector<RunSummary>   newest first
// and optionally
//   append_iteration_with_events(State const&, std::vector<Event>)
//                                            both in one write; the loop uses it when present
//
// A store that finds its data corrupt, truncated or tampered returns
// Errc::state_corrupt; data written by a newer leash, Errc::state_version_unsupported;
// both name the file and the reason. Missing runs are Errc::run_not_found.
#ifndef LEASH_STORE_STORE_HPP
#define LEASH_STORE_STORE_HPP

#include <leash/error.hpp>
#include <leash/state.hpp>
#include <leash/trace.hpp>

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace leash {

/// One line of `list_runs`.
struct RunSummary {
  std::string run_id;
  std::string goal;
  std::optional<Status> status;  ///< empty while running
  std::string reason;
  std::uint64_t iterations = 0;
  double created_at = 0.0;
  double updated_at = 0.0;
};

/// Which runs a scan visits, newest first. Learning reads runs back through
/// it (learn/trace_store.hpp); every field left empty matches every run.
struct RunQuery {
  std::string agent;               ///< RunInfo::agent equals this
  std::string model;               ///< RunInfo::model equals this
  std::string exclude_agent;       ///< RunInfo::agent is not this (learning leaves out its own records)
  std::optional<Outcome> outcome;  ///< outcome_of(status) equals this
  std::optional<double> since;     ///< started at or after (seconds since the epoch)
  std::optional<double> until;     ///< started at or before
  /// Every word of it (a run of letters and digits) starts a word of the
  /// goal, the result or the agent name, in any case (SQLite: an FTS5 prefix
  /// query). No words: no text filter.
  std::string text;
  std::optional<std::uint64_t> limit;
  /// Also read each run's iterations (the steps of a trace). Without them a
  /// scan reads one row per run.
  bool with_iterations = false;
};

/// Whether `s` (with `started_at` its start) is one `q` selects; the text
/// filter included. Stores that cannot filter in their own engine use this.
bool run_matches(RunQuery const& q, State const& s, double started_at);

/// The runtime store interface; AnyStore holds one.
class StoreInterface {
 public:
  template <class T> using task = boost::asio::awaitable<result<T>>;
  virtual ~StoreInterface() = default;
  virtual task<void> create_run(State const& s) = 0;
  virtual task<void> append_iteration(State const& s) = 0;
  virtual task<void> save_head(State const& s) = 0;
  virtual task<void> journal(std::string run_id, std::vector<JournaledAction> entries) = 0;
  virtual task<State> load(std::string run_id) = 0;
  virtual task<void> append_events(std::string run_id, std::vector<Event> events) = 0;
  virtual task<json::array> load_events(std::string run_id) = 0;
  /// append_iteration, then append_events of the events that led to it. A
  /// store that can do both in one write (one SQLite transaction) overrides
  /// this; the loop calls it once per iteration.
  virtual task<void> append_iteration_with_events(State const& s, std::vector<Event> events) {
    auto stored = co_await append_iteration(s);
    if (stored.has_error()) co_return stored.error();
    if (events.empty()) co_return success();
    co_return co_await append_events(s.run_id, std::move(events));
  }
  virtual task<std::vector<RunSummary>> list_runs() = 0;
  /// The loop hands its events over as the Tracer built them, shared with any
  /// sink that keeps them (MemorySink). The defaults turn them into owned
  /// events (moved where nothing else holds them, else copied) and call
  /// append_events / append_iteration_with_events; a store that keeps events
  /// in memory overrides them to keep the pointers (MemoryStore).
  virtual task<void> append_shared_events(std::string run_id, std::vector<SharedEvent> events);
  virtual task<void> append_iteration_with_shared_events(State const& s, std::vector<SharedEvent> events);

  /// Calls `visit` with each run `query` selects, newest first, until it
  /// returns false. Each State holds the head (goal, status, metrics, info)
  /// and, when query.with_iterations, the iterations; its other histories may
  /// be left empty. Runs are streamed, one held at a time. The default loads
  /// run by run and filters with run_matches; the SQLite store filters, orders
  /// and limits in SQL.
  virtual task<void> scan_runs(RunQuery query, std::function<bool(State&&)> visit);
  /// How many runs `query` selects (its limit applies).
  virtual task<std::uint64_t> count_runs(RunQuery query);
  /// Attaches a verdict on an ended run: `score` in [0, 1] (thumbs up/down:
  /// 1/0), who gave it (`source`: "cli", "judge", "api", …). A later call
  /// replaces it. A run that has not ended (no status: running, or stopped by
  /// a crash and not resumed) is refused with Errc::invalid_input: the loop
  /// writing its head would not know of it. Errc::invalid_input also for a
  /// score outside [0, 1] or NaN; Errc::run_not_found for an unknown run.
  virtual task<void> set_feedback(std::string run_id, double score, std::string source);
};

namespace detail {
template <class T> using store_task = boost::asio::awaitable<result<T>>;

/// Shared events as owned ones: moved out where the batch holds the only
/// reference (each was built non-const by the Tracer), copied otherwise.
inline std::vector<Event> unshare_events(std::vector<SharedEvent>& events) {
  std::vector<Event> out;
  out.reserve(events.size());
  for (auto& e : events) {
    if (e.use_count() == 1) {
      // use_count() is a relaxed load: order what the other holders did
      // before they let go ahead of the move.
      std::atomic_thread_fence(std::memory_order_acquire);
      out.push_back(std::move(const_cast<Event&>(*e)));
    } else {
      out.push_back(Event{e->ts, e->kind, json::object(e->fields, json::storage_ptr())});
    }
    e.reset();
  }
  events.clear();
  return out;
}

template <class S>
concept records_with_events = requires(S& s, State const& st, std::vector<Event> ev) {
  s.append_iteration_with_events(st, std::move(ev));
};
template <class S>
concept takes_shared_events = requires(S& s, State const& st, std::string id, std::vector<SharedEvent> ev) {
  s.append_iteration_with_shared_events(st, std::move(ev));
  s.append_shared_events(id, std::move(ev));
};
}  // namespace detail

/// The Store requirement (see the top of this file).
template <class S>
concept Store = requires(S& s, State const& st, std::string id, std::vector<Event> ev) {
  { s.create_run(st) } -> std::same_as<detail::store_task<void>>;
  { s.append_iteration(st) } -> std::same_as<detail::store_task<void>>;
  { s.save_head(st) } -> std::same_as<detail::store_task<void>>;
  { s.journal(id, std::vector<JournaledAction>{}) } -> std::same_as<detail::store_task<void>>;
  { s.load(id) } -> std::same_as<detail::store_task<State>>;
  { s.append_events(id, std::move(ev)) } -> std::same_as<detail::store_task<void>>;
  { s.load_events(id) } -> std::same_as<detail::store_task<json::array>>;
  { s.list_runs() } -> std::same_as<detail::store_task<std::vector<RunSummary>>>;
};

template <class S>
consteval bool check_store() {
  static_assert(Store<S>,
                "leash::Store: the store type needs create_run, append_iteration, save_head, journal, load, "
                "append_events, load_events and list_runs returning asio::awaitable<leash::result<...>> "
                "(see leash/store/store.hpp), or use leash::AnyStore");
  return true;
}

/// A store chosen at runtime. Default-constructed, it is a fresh in-memory store.
class AnyStore {
 public:
  template <class T> using task = StoreInterface::task<T>;

  AnyStore();
  explicit AnyStore(std::shared_ptr<StoreInterface> impl) : impl_(std::move(impl)) {}

  task<void> create_run(State const& s) { return impl_->create_run(s); }
  task<void> append_iteration(State const& s) { return impl_->append_iteration(s); }
  task<void> save_head(State const& s) { return impl_->save_head(s); }
  task<void> journal(std::string run_id, std::vector<JournaledAction> entries) {
    return impl_->journal(std::move(run_id), std::move(entries));
  }
  task<State> load(std::string run_id) { return impl_->load(std::move(run_id)); }
  task<void> append_events(std::string run_id, std::vector<Event> events) {
    return impl_->append_events(std::move(run_id), std::move(events));
  }
  task<json::array> load_events(std::string run_id) { return impl_->load_events(std::move(run_id)); }
  task<void> append_iteration_with_events(State const& s, std::vector<Event> events) {
    return impl_->append_iteration_with_events(s, std::move(events));
  }
  task<std::vector<RunSummary>> list_runs() { return impl_->list_runs(); }
  task<void> append_shared_events(std::string run_id, std::vector<SharedEvent> events) {
    return impl_->append_shared_events(std::move(run_id), std::move(events));
  }
  task<void> append_iteration_with_shared_events(State const& s, std::vector<SharedEvent> events) {
    return impl_->append_iteration_with_shared_events(s, std::move(events));
  }
  task<void> scan_runs(RunQuery query, std::function<bool(State&&)> visit) {
    return impl_->scan_runs(std::move(query), std::move(visit));
  }
  task<std::uint64_t> count_runs(RunQuery query) { return impl_->count_runs(std::move(query)); }
  task<void> set_feedback(std::string run_id, double score, std::string source) {
    return impl_->set_feedback(std::move(run_id), score, std::move(source));
  }

  StoreInterface& get() noexcept { return *impl_; }

 private:
  std::shared_ptr<StoreInterface> impl_;
};

/// A new run id: UTC time plus 64 random bits ("20261123T101500Z-1f2e3d4c5b6a7980").
std::string new_run_id();

}  // namespace leash

#include <leash/store/impl/store.hpp>
// Last: AnyStore's default (a MemoryStore) needs the full store interface.
#include <leash/store/memory.hpp>

#endif
