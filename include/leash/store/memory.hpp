// leash/store/memory.hpp — runs kept in memory: the default store, for tests
// and for programs that need no durability. Thread-safe.
#ifndef LEASH_STORE_MEMORY_HPP
#define LEASH_STORE_MEMORY_HPP

#include <leash/store/store.hpp>

#include <algorithm>
#include <map>
#include <mutex>

namespace leash {

class MemoryStore final : public StoreInterface {
 public:
  task<void> create_run(State const& s) override;
  task<void> append_iteration(State const& s) override;
  task<void> save_head(State const& s) override;
  task<void> journal(std::string run_id, std::vector<JournaledAction> entries) override;
  task<State> load(std::string run_id) override;
  task<void> append_events(std::string run_id, std::vector<Event> events) override;
  task<json::array> load_events(std::string run_id) override;
  task<void> append_iteration_with_events(State const& s, std::vector<Event> events) override;
  task<std::vector<RunSummary>> list_runs() override;
  /// Keep the loop's events themselves, shared with any sink that keeps them.
  task<void> append_shared_events(std::string run_id, std::vector<SharedEvent> events) override;
  task<void> append_iteration_with_shared_events(State const& s, std::vector<SharedEvent> events) override;

 private:
  struct Run {
    State state;
    std::vector<SharedEvent> events;  ///< kept as events; JSON is built only when read
    std::vector<JournaledAction> journal;  ///< the iteration in flight
    double created_at = 0.0;
    double updated_at = 0.0;
  };
  /// Copies what may change in place; appends what grew since the last write.
  static void merge(State& stored, State const& s);
  /// append_iteration's work, under the lock: merge, retire the journal, stamp.
  static void record(Run& run, State const& s);
  static void add_events(Run& run, std::vector<Event>& events);
  static void add_events(Run& run, std::vector<SharedEvent>& events);
  Error missing(std::string const& id) const {
    return Error{Errc::run_not_found, "no run '" + id + "' in the memory store"};
  }

  std::mutex mutex_;
  std::map<std::string, Run, std::less<>> runs_;
};

inline AnyStore::AnyStore() : impl_(std::make_shared<MemoryStore>()) {}

inline void MemoryStore::merge(State& stored, State const& s) {
  for (auto i = stored.iterations.size(); i < s.iterations.size(); ++i) stored.iterations.push_back(s.iterations[i]);
  for (auto i = stored.artifacts.size(); i < s.artifacts.size(); ++i) stored.artifacts.push_back(s.artifacts[i]);
  for (auto i = stored.failed_approaches.size(); i < s.failed_approaches.size(); ++i)
    stored.failed_approaches.push_back(s.failed_approaches[i]);
  stored.schema_version = s.schema_version;
  stored.goal = s.goal;
  stored.config = s.config;
  stored.tool_schema_hash = s.tool_schema_hash;
  stored.pinned_facts = s.pinned_facts;
  stored.metrics = s.metrics;
  stored.no_progress_streak = s.no_progress_streak;
  stored.plan_invalid_streak = s.plan_invalid_streak;
  stored.state_version = s.state_version;
  stored.pending_approval = s.pending_approval;
  stored.status = s.status;
  stored.reason = s.reason;
  stored.info = s.info;
}

inline auto MemoryStore::create_run(State const& s) -> task<void> {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = runs_.try_emplace(s.run_id);
  if (!inserted) co_return Error{Errc::store_failed, "run '" + s.run_id + "' already exists in the memory store"};
  it->second.state = s;
  it->second.created_at = it->second.updated_at = Tracer::now();
  co_return success();
}

inline void MemoryStore::record(Run& run, State const& s) {
  merge(run.state, s);
  std::erase_if(run.journal, [&](JournaledAction const& j) { return j.iteration < s.iterations.size(); });
  run.updated_at = Tracer::now();
}

inline void MemoryStore::add_events(Run& run, std::vector<Event>& events) {
  run.events.reserve(run.events.size() + events.size());
  for (auto& e : events) run.events.push_back(std::make_shared<Event>(std::move(e)));
}

inline void MemoryStore::add_events(Run& run, std::vector<SharedEvent>& events) {
  if (run.events.empty())
    run.events = std::move(events);
  else
    run.events.insert(run.events.end(), std::make_move_iterator(events.begin()),
                      std::make_move_iterator(events.end()));
}

inline auto MemoryStore::append_iteration(State const& s) -> task<void> {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(s.run_id);
  if (it == runs_.end()) co_return missing(s.run_id);
  record(it->second, s);
  co_return success();
}

inline auto MemoryStore::append_iteration_with_events(State const& s, std::vector<Event> events) -> task<void> {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(s.run_id);
  if (it == runs_.end()) co_return missing(s.run_id);
  record(it->second, s);
  add_events(it->second, events);
  co_return success();
}

inline auto MemoryStore::append_iteration_with_shared_events(State const& s, std::vector<SharedEvent> events)
    -> task<void> {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(s.run_id);
  if (it == runs_.end()) co_return missing(s.run_id);
  record(it->second, s);
  add_events(it->second, events);
  co_return success();
}

inline auto MemoryStore::append_shared_events(std::string run_id, std::vector<SharedEvent> events) -> task<void> {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) co_return missing(run_id);
  add_events(it->second, events);
  co_return success();
}

inline auto MemoryStore::journal(std::string run_id, std::vector<JournaledAction> entries) -> task<void> {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) co_return missing(run_id);
  auto& kept = it->second.journal;
  for (auto& e : entries) {
    auto same = std::find_if(kept.begin(), kept.end(), [&](JournaledAction const& k) {
      return k.iteration == e.iteration && k.position == e.position;
    });
    if (same != kept.end())
      *same = std::move(e);
    else
      kept.push_back(std::move(e));
  }
  co_return success();
}

inline auto MemoryStore::save_head(State const& s) -> task<void> {
  co_return co_await append_iteration(s);
}

inline auto MemoryStore::load(std::string run_id) -> task<State> {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) co_return missing(run_id);
  State out = it->second.state;
  out.in_flight = it->second.journal;
  std::sort(out.in_flight.begin(), out.in_flight.end(),
            [](JournaledAction const& a, JournaledAction const& b) { return a.position < b.position; });
  co_return out;
}

inline auto MemoryStore::append_events(std::string run_id, std::vector<Event> events) -> task<void> {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) co_return missing(run_id);
  add_events(it->second, events);
  co_return success();
}

inline auto MemoryStore::load_events(std::string run_id) -> task<json::array> {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) co_return missing(run_id);
  json::array out;
  out.reserve(it->second.events.size());
  for (auto const& e : it->second.events) out.push_back(e->to_json());
  co_return out;
}

inline auto MemoryStore::list_runs() -> task<std::vector<RunSummary>> {
  std::lock_guard lock(mutex_);
  std::vector<RunSummary> out;
  out.reserve(runs_.size());
  for (auto const& [id, run] : runs_)
    out.push_back(RunSummary{id, run.state.goal, run.state.status, run.state.reason,
                             run.state.iterations.size(), run.created_at, run.updated_at});
  std::stable_sort(out.begin(), out.end(),
                   [](RunSummary const& a, RunSummary const& b) { return a.created_at > b.created_at; });
  co_return out;
}

}  // namespace leash

#endif
