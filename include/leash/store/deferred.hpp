// leash/store/deferred.hpp — Durability::exit for any store: a run's writes
// are held back until it ends, then made at once.
//
//   auto store = leash::open_store("sqlite:runs.db?durability=exit");   // or
//   leash::AnyStore store = leash::DeferredStore::wrap(leash::AnyStore(sqlite));
//
// What the wrapped store receives:
//   create_run       at once (the run is listed as started from the beginning);
//   append_iteration, append_iteration_with_events, journal, append_events
//                    nothing while the run goes on: the events and the journal
//                    entries of the iteration in flight are kept here (a
//                    record is not: the loop hands over its whole State each
//                    time, and the store writes what is past its counts);
//   save_head, or any write whose State has a status (every ending, including
//   AWAITING_APPROVAL)
//                    the journal kept, then every record and event in one
//                    append_iteration_with_events (one SQLite transaction);
//   everything else  passed through (reads see what was written).
// The loop calls save_head when a run ends and when a granted approval is
// cleared before its action runs, so an approval is never usable twice.
//
// The cost of a step is then a few moves in memory; the price is that a
// crash loses the steps since the run's start (see durability.hpp). A write
// that fails keeps what was held, so a later one can still make it.
// Thread-safe: any number of loops may share one DeferredStore.
#ifndef LEASH_STORE_DEFERRED_HPP
#define LEASH_STORE_DEFERRED_HPP

#include <leash/store/durability.hpp>
#include <leash/store/store.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace leash {

class DeferredStore final : public StoreInterface {
 public:
  explicit DeferredStore(AnyStore inner) : inner_(std::move(inner)) {}
  /// `inner` behind a DeferredStore, as an AnyStore.
  static AnyStore wrap(AnyStore inner) { return AnyStore(std::make_shared<DeferredStore>(std::move(inner))); }

  task<void> create_run(State const& s) override { return inner_.create_run(s); }
  task<void> append_iteration(State const& s) override { return write(s, {}); }
  task<void> append_iteration_with_events(State const& s, std::vector<Event> events) override {
    return write(s, share(std::move(events)));
  }
  task<void> append_iteration_with_shared_events(State const& s, std::vector<SharedEvent> events) override {
    return write(s, std::move(events));
  }
  task<void> save_head(State const& s) override { return flush(s, {}); }
  task<void> journal(std::string run_id, std::vector<JournaledAction> entries) override;
  task<State> load(std::string run_id) override { return inner_.load(std::move(run_id)); }
  task<void> append_events(std::string run_id, std::vector<Event> events) override {
    return append_shared_events(std::move(run_id), share(std::move(events)));
  }
  task<void> append_shared_events(std::string run_id, std::vector<SharedEvent> events) override;
  task<json::array> load_events(std::string run_id) override { return inner_.load_events(std::move(run_id)); }
  task<std::vector<RunSummary>> list_runs() override { return inner_.list_runs(); }
  task<void> scan_runs(RunQuery query, std::function<bool(State&&)> visit) override {
    return inner_.scan_runs(std::move(query), std::move(visit));
  }
  task<std::uint64_t> count_runs(RunQuery query) override { return inner_.count_runs(std::move(query)); }
  task<void> set_feedback(std::string run_id, double score, std::string source) override {
    return inner_.set_feedback(std::move(run_id), score, std::move(source));
  }

  /// How many runs have writes held back (started here, not yet ended or paused).
  std::size_t held_runs() const;
  /// Drops what is held for `run_id` unwritten. For a run that will never
  /// end here (its loop was cancelled or destroyed mid-run); otherwise what
  /// is held stays until the run's next ending write.
  void discard(std::string_view run_id);
  /// The store written to.
  AnyStore const& inner() const noexcept { return inner_; }

 private:
  /// What a run in progress has not written yet.
  struct Held {
    std::vector<SharedEvent> events;       ///< shared with the sinks that keep them: no copy
    std::vector<JournaledAction> journal;  ///< by (iteration, position), the latest of each
    std::uint64_t recorded = 0;            ///< iterations in the State of the last write
  };

  task<void> write(State const& s, std::vector<SharedEvent> events);
  task<void> flush(State const& s, std::vector<SharedEvent> events);
  static std::vector<SharedEvent> share(std::vector<Event> events);
  /// Entries of iterations already recorded are settled: the record holds them.
  static void drop_recorded(std::vector<JournaledAction>& journal, std::uint64_t recorded);
  static void upsert(std::vector<JournaledAction>& journal, JournaledAction entry);

  AnyStore inner_;
  mutable std::mutex mutex_;
  std::map<std::string, Held, std::less<>> held_;
};

// ------------------------------------------------------------------ definitions

inline void DeferredStore::drop_recorded(std::vector<JournaledAction>& journal, std::uint64_t recorded) {
  std::erase_if(journal, [&](JournaledAction const& e) { return e.iteration < recorded; });
}

inline void DeferredStore::upsert(std::vector<JournaledAction>& journal, JournaledAction entry) {
  for (auto& e : journal)
    if (e.iteration == entry.iteration && e.position == entry.position) {
      e = std::move(entry);
      return;
    }
  journal.push_back(std::move(entry));
}

inline std::vector<SharedEvent> DeferredStore::share(std::vector<Event> events) {
  std::vector<SharedEvent> out;
  out.reserve(events.size());
  for (auto& e : events) out.push_back(std::make_shared<Event>(std::move(e)));
  return out;
}

inline auto DeferredStore::write(State const& s, std::vector<SharedEvent> events) -> task<void> {
  if (s.status) co_return co_await flush(s, std::move(events));
  std::lock_guard lock(mutex_);
  Held& h = held_[s.run_id];
  // Fewer iterations than last time: a new attempt at the run (resumed from
  // the store after an earlier one never ended here); the old one's held
  // writes belong to no state any more.
  if (s.iterations.size() < h.recorded) h = Held{};
  h.recorded = s.iterations.size();
  if (h.events.empty())
    h.events = std::move(events);
  else
    h.events.insert(h.events.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  drop_recorded(h.journal, s.iterations.size());
  co_return success();
}

inline auto DeferredStore::flush(State const& s, std::vector<SharedEvent> events) -> task<void> {
  Held h;
  {
    std::lock_guard lock(mutex_);
    if (auto it = held_.find(s.run_id); it != held_.end()) {
      h = std::move(it->second);
      held_.erase(it);
    }
  }
  h.events.insert(h.events.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
  drop_recorded(h.journal, s.iterations.size());
  // Held back again on failure, ahead of anything held since, so a later
  // write can still make it.
  auto keep = [&](std::vector<JournaledAction> journal) {
    std::lock_guard lock(mutex_);
    Held& back = held_[s.run_id];
    h.events.insert(h.events.end(), std::make_move_iterator(back.events.begin()),
                    std::make_move_iterator(back.events.end()));
    back.events = std::move(h.events);
    for (auto& e : back.journal) upsert(journal, std::move(e));
    back.journal = std::move(journal);
  };
  // The in-flight iteration's calls first, then the record: entries of
  // iterations the record holds are settled by it (a store may delete them
  // then or at its next journal write; load never returns them).
  if (!h.journal.empty()) {
    auto journaled = co_await inner_.journal(s.run_id, h.journal);
    if (journaled.has_error()) {
      keep(std::move(h.journal));
      co_return journaled.error();
    }
  }
  std::vector<SharedEvent> batch = h.events;  // the pointers: kept if the write fails
  auto written = co_await inner_.append_iteration_with_shared_events(s, std::move(batch));
  if (written.has_error()) {
    keep(std::move(h.journal));
    co_return written.error();
  }
  co_return success();
}

inline auto DeferredStore::journal(std::string run_id, std::vector<JournaledAction> entries) -> task<void> {
  std::lock_guard lock(mutex_);
  Held& h = held_[run_id];
  for (auto& e : entries) upsert(h.journal, std::move(e));
  co_return success();
}

inline auto DeferredStore::append_shared_events(std::string run_id, std::vector<SharedEvent> events)
    -> task<void> {
  {
    std::lock_guard lock(mutex_);
    if (auto it = held_.find(run_id); it != held_.end()) {
      auto& held = it->second.events;
      held.insert(held.end(), std::make_move_iterator(events.begin()), std::make_move_iterator(events.end()));
      co_return success();
    }
  }
  // Not in progress here (after its end: loop.end): straight through.
  co_return co_await inner_.append_shared_events(std::move(run_id), std::move(events));
}

inline void DeferredStore::discard(std::string_view run_id) {
  std::lock_guard lock(mutex_);
  if (auto it = held_.find(run_id); it != held_.end()) held_.erase(it);
}

inline std::size_t DeferredStore::held_runs() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

}  // namespace leash

#endif
