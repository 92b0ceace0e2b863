// leash/learn/trace_store.hpp — every store's runs, read back as traces.
//
// A TraceStore is a view: it owns no data and writes nothing but feedback.
// Listing is newest first with the reference's filters (agent, model,
// outcome, since, until, limit); analyses use for_each, which streams runs
// one at a time (on SQLite a page of rows per query, filtered in SQL) instead
// of loading 10,000 objects per analysis as the reference does.
//
//   leash::learn::TraceStore traces(store);
//   TraceFilter f;
//   f.outcome = leash::Outcome::success;
//   co_await traces.for_each(f, [&](Trace const& t) { miner.add(t); return true; });
#ifndef LEASH_LEARN_TRACE_STORE_HPP
#define LEASH_LEARN_TRACE_STORE_HPP

#include <leash/learn/trace.hpp>
#include <leash/state.hpp>
#include <leash/store/store.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace leash::learn {

/// Which traces to read. Empty fields match everything.
struct TraceFilter {
  std::string agent;
  std::string model;
  std::optional<Outcome> outcome;
  std::optional<double> since;  ///< started at or after (seconds since the epoch)
  std::optional<double> until;  ///< started at or before
  std::optional<std::uint64_t> limit;
  /// Build each trace's steps (reads every iteration; analyses that only need
  /// query, model, outcome and feedback leave it off).
  bool with_steps = true;
  /// Also the learning layer's own cycle records (agent `leash.learn`).
  bool include_learning_records = false;
};

/// A run as a trace: goal → query, RunInfo → agent, model, engine, result,
/// feedback and times, metrics → tokens, latency and cost; each iteration →
/// a `generate` step (the plan, when the planner said something or spent
/// tokens) and a `tool_call` step per action, in order; an ended run with a
/// result → a final `respond` step. Without `with_steps`, no steps.
Trace to_trace(State const& s, bool with_steps = true);

/// Traces over any store (memory, file, SQLite), chosen at runtime.
class TraceStore {
 public:
  template <class T> using task = boost::asio::awaitable<result<T>>;

  explicit TraceStore(AnyStore store) : store_(std::move(store)) {}

  /// Newest first; the limit defaults to 100 as the reference's does.
  task<std::vector<Trace>> list(TraceFilter filter = {});
  /// Calls `visit` with each trace the filter selects, newest first, until it
  /// returns false. No limit unless the filter sets one; one trace in memory
  /// at a time.
  task<void> for_each(TraceFilter filter, std::function<bool(Trace const&)> visit);
  /// How many traces the filter selects.
  task<std::uint64_t> count(TraceFilter filter = {});
  /// One trace with its steps; Errc::run_not_found when there is none.
  task<Trace> get(std::string trace_id);
  /// Full-text search over query, result and agent: every word of `text` must
  /// start a word of one of them (SQLite: FTS5). Newest first.
  task<std::vector<Trace>> search(std::string text, std::uint64_t limit = 20);
  /// Attaches a score in [0, 1] to an ended run (see StoreInterface::set_feedback).
  task<void> set_feedback(std::string trace_id, double score, std::string source = "api");

  AnyStore& store() noexcept { return store_; }

 private:
  static RunQuery query_of(TraceFilter const& f);
  AnyStore store_;
};

}  // namespace leash::learn

#include <leash/learn/impl/trace_store.hpp>

#endif
